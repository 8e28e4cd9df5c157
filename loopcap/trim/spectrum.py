"""The note's quiet edges by their spectrum: where a floor or a sound at the
edge has its power elsewhere than the note.  Pure numpy, no I/O: the audio
is read through the caller's :data:`~loopcap.trim.params.Reader`.

- :func:`extend_by_spectrum`: the note reaches as far as some band stands
  over the most the capture's floor reaches there (a fading "s" over a hum
  whose upper bands are empty; the note's own floor over a quieter device).
- :func:`floor_reach`: the note's own floor followed under a sound at its
  edge (a chime that overlaps the note's first or last moments), band by
  band.

Spans are chunk indices ``[a, b)``; ``hop`` is samples per chunk.
"""

from __future__ import annotations

import functools

import numpy as np

from .levels import median_of
from .params import Reader

__all__ = [
    "extend_by_spectrum",
    "floor_limit",
    "band_powers",
    "mono",
    "taken_until_gap",
    "floor_reach",
    "SPECTRAL_FLOOR_FRAMES",
    "SPECTRAL_FLOOR_REACH_S",
    "SPECTRAL_FRAME_CHUNKS",
]

#: The bands (Hz) in which a note's quiet edge is sought over the floor's
#: spectrum: where a hiss is weak or a hum has nothing at all, a fading "s"
#: or "f" stands far above the floor though its broadband level does not
#: (issue 15: a note's last 0.2 s under a 50 Hz hum).
SPECTRAL_BANDS_HZ = (400.0, 800.0, 1600.0, 3200.0, 6400.0, 12800.0)
#: ...by this much (dB) over the most the floor reaches in that band (over
#: ``SPECTRAL_FLOOR_FRAMES`` frames spread over where it is alone).
SPECTRAL_FLOOR_FRAMES = 16
SPECTRAL_DB = 6.0
#: ...where no band counts as further under the floor's whole power than
#: this (dB).
SPECTRAL_RANGE_DB = 60.0
#: ...within this much (s) of the note's edge found so far (over a
#: background: music reaches over its own probes now and then),
SPECTRAL_REACH_S = 0.6
#: ...or this much over a steady floor, where the note's own floor, once it
#: stands above the capture's in some band, carries the note through its
#: pauses (a quiet note over a hum, most of whose syllables never rise
#: 12 dB over it).
SPECTRAL_FLOOR_REACH_S = 10.0
#: ...across dips of up to this long (s).
SPECTRAL_DIP_S = 0.02
#: Chunks looked at in one go by the spectral walk.
_WALK_BLOCK = 256
#: ...the first of them this many: most walks stop within a few chunks.
_FIRST_BLOCK = 32
#: A spectrum frame lasts about this long (s; a power of two of samples).
SPECTRAL_FRAME_S = 0.01
#: Over a steady floor the walk then goes on over frames this long (s),
#: where some band stands ``LONG_DB`` (dB) over the most the floor reaches
#: there: over 40 ms a floor's band flickers far less than over 10 ms, and
#: a fading syllable a few dB over a hum's hiss shows (issue 15: the last
#: 0.23 s of a note over a 60 Hz hum, 4-5 dB over it at 1-4 kHz, were cut).
LONG_FRAME_S = 0.04
LONG_DB = 3.0
#: ...at most this many chunks of the default 2.5 ms: a floor frame must
#: lie whole in the capture.
SPECTRAL_FRAME_CHUNKS = 8


@functools.lru_cache(maxsize=8)
def _window(n: int) -> np.ndarray:
    """A 4-term Blackman-Harris window: sidelobes 92 dB down, so that a hum's
    strong low harmonics do not leak into the bands above them.  Cached (a
    note asks for the same one or two lengths again and again): never
    written to."""
    t = 2 * np.pi * np.arange(n) / n
    w = 0.35875 - 0.48829 * np.cos(t) + 0.14128 * np.cos(2 * t) - 0.01168 * np.cos(3 * t)
    w.flags.writeable = False
    return w


def mono(x: np.ndarray) -> np.ndarray:
    """Frames (or frames x channels) -> float64 mono: the channels' mean,
    NaN and infinite samples as 0.  The same values, to the bit, as
    ``np.nan_to_num`` of the float64 frames and then their mean; for one or
    two channels without NaN or infinities (all but a damaged file) in two
    passes instead of six."""
    x = np.asarray(x)
    if (x.ndim == 1 or 1 <= x.shape[1] <= 2) and np.isfinite(x).all():
        if x.ndim == 1:
            return x.astype(np.float64)
        y = x[:, 0].astype(np.float64)
        if x.shape[1] == 2:
            y += x[:, 1]  # the mean's sum of two, then its division
            y /= 2
        return y
    y = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    return y.mean(axis=1) if y.ndim == 2 else y


def _spectra(y: np.ndarray, starts: np.ndarray, n: int) -> np.ndarray:
    """Power spectra (rows) of the windowed ``n``-sample frames of mono ``y``
    starting at ``starts``; frames past ``y`` are zero."""
    pad = np.concatenate([y, np.zeros(n)])
    frames = np.lib.stride_tricks.sliding_window_view(pad, n)[starts] * _window(n)
    return np.abs(np.fft.rfft(frames, axis=1)) ** 2


def _bands(spectra: np.ndarray, n: int, edges: np.ndarray) -> np.ndarray:
    """Power per band (columns) of :func:`_spectra`'s rows, ``edges`` in
    cycles per sample."""
    bins = np.searchsorted(np.fft.rfftfreq(n, 1.0), edges)
    return np.add.reduceat(spectra, bins[:-1], axis=1)[:, : len(edges) - 1]


def band_powers(y: np.ndarray, starts: np.ndarray, n: int, edges: np.ndarray) -> np.ndarray:
    """Power per band (columns) of the windowed ``n``-sample frames of mono
    ``y`` starting at ``starts`` (rows); frames past ``y`` are zero."""
    return _bands(_spectra(y, starts, n), n, edges)


def floor_limit(
    read: Reader | None,
    floor_at: np.ndarray,
    hop: int,
    samplerate: int,
    frame_s: float = SPECTRAL_FRAME_S,
    over_db: float = SPECTRAL_DB,
) -> tuple[int, np.ndarray, np.ndarray] | None:
    """What stands out of the capture's floor, band by band: the frame
    length ``n`` (samples, a power of two of about ``frame_s``), the band
    edges (``SPECTRAL_BANDS_HZ`` in cycles per sample) and each band's limit,
    ``over_db`` over the most the floor reaches there on frames starting at
    the chunks ``floor_at`` (where the floor is alone), each read at every
    phase of a hum's period.  None without a reader, such chunks or bands."""
    if read is None or len(floor_at) == 0:
        return None
    n = 1 << max(6, int(np.ceil(np.log2(frame_s * samplerate))))
    edges = np.array([f for f in SPECTRAL_BANDS_HZ if f < samplerate / 2] + [samplerate / 2])
    if len(edges) < 2:
        return None
    edges = edges / samplerate

    # Each floor frame read with the next ``phases`` chunks' frames: every
    # phase of a hum's period, not just the one the spacing falls on.
    phases = SPECTRAL_FRAME_CHUNKS
    size = n + phases * hop
    parts = [mono(read(int(c) * hop, int(c) * hop + size)) for c in floor_at]
    parts = [y for y in parts if len(y) == size]  # whole frames only
    if not parts:
        return None
    floor = np.concatenate(parts)
    floor_at = floor_at[: len(parts)]
    starts = np.array(
        [k * size + j * hop for k in range(len(floor_at)) for j in range(phases)], np.int64
    )
    starts = starts[starts + n <= len(floor)]
    if len(starts) == 0:
        return None
    spectra = _spectra(floor, starts, n)
    bands = _bands(spectra, n, edges)
    # A band where the floor has (next to) nothing, a hum's highs, holds only
    # rounding noise that flickers far over its own tiny level: no band's
    # limit lies more than SPECTRAL_RANGE_DB under the floor's whole power.
    total = _bands(spectra, n, np.array([0.0, 0.5])).max()
    limit = np.maximum(bands.max(axis=0), total * 10 ** (-SPECTRAL_RANGE_DB / 10))
    limit = limit * 10 ** (over_db / 10)
    return n, edges, limit


def extend_by_spectrum(
    read: Reader | None,
    floor_at: np.ndarray,
    hop: int,
    samplerate: int,
    a: int,
    b: int,
    lo: int,
    hi: int,
    reach_s: float = SPECTRAL_REACH_S,
    frame_s: float = SPECTRAL_FRAME_S,
    over_db: float = SPECTRAL_DB,
) -> tuple[int, int]:
    """The note [a, b) (chunks) widened, never past chunks ``lo``/``hi``
    nor further than ``reach_s`` seconds,
    over the chunks next to it where some band (``SPECTRAL_BANDS_HZ``)
    stands ``over_db`` over the most the capture's floor reaches there,
    measured on frames (of about ``frame_s``) starting at the chunks
    ``floor_at`` (where the floor is alone): the quiet edge of a note over a
    floor whose power lies elsewhere.  Without a reader or such chunks,
    [a, b)."""
    found = floor_limit(read, floor_at, hop, samplerate, frame_s, over_db)
    if read is None or found is None:
        return a, b
    n, edges, limit = found
    reach = max(1, round(reach_s * samplerate / hop))
    dip = max(1, round(SPECTRAL_DIP_S * samplerate / hop))

    def above(c0: int, c1: int, forwards: bool) -> np.ndarray:
        """Whether each chunk of [c0, c1) holds more than the floor."""
        # A frame's worth of audio either side, so that no frame is cut off
        # short: a hum stopped dead splashes into every band.
        lead = min(n, c0 * hop)
        y = mono(read(c0 * hop - lead, c1 * hop + n))
        k = np.arange(c1 - c0)
        # Forwards a chunk holds the note if the frame starting at it does;
        # backwards, if the frame ending with it does: never past the note.
        starts = np.maximum(0, lead + (k * hop if forwards else (k + 1) * hop - n))
        return np.greater(band_powers(y, starts, n, edges), limit).any(axis=1)

    def walk(first: int, last: int, forwards: bool) -> int:
        """How many chunks, from the edge outwards, hold the note: in blocks
        of ``_FIRST_BLOCK`` chunks doubling up to ``_WALK_BLOCK``, so that
        memory stays small and a walk that stops soon reads little."""
        taken, gap, i, block = 0, 0, 0, _FIRST_BLOCK
        while i < last - first:
            size = min(block, last - first - i)
            block = min(2 * block, _WALK_BLOCK)
            if forwards:
                hits = above(first + i, first + i + size, True)
            else:
                hits = above(last - i - size, last - i, False)[::-1]
            for hit in hits.tolist():
                i += 1
                if hit:
                    taken, gap = i, 0
                else:
                    gap += 1
                    if gap > dip:
                        return taken
        return taken

    # The outermost chunk found holds the note's first (last) sample
    # somewhere inside it: the cut goes on its inner side, never outside the
    # note (a cut between a note's first sample and its audible start is
    # exact).
    a -= max(0, walk(max(lo, a - reach), a, forwards=False) - 1)
    b += max(0, walk(b, min(hi, b + reach), forwards=True) - 1)
    return a, b


#: Bands (Hz) in which the note's own floor is followed under a sound at its
#: edge: a phone's floor has most of its power low, a chime next to none.
FLOOR_BANDS_HZ = (100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0, 6400.0, 12800.0)
#: The note's floor goes on where every band holds at least its level there
#: (powers add: under a chime each band holds the floor's power and more)
#: less this (dB): a 10 ms frame of noise in a narrow band flickers.
FLOOR_FADE_DB = 10.0


def floor_reach(
    read: Reader | None,
    hop: int,
    samplerate: int,
    own_at: tuple[int, int],
    start: int,
    bound: int,
) -> int:
    """How far the note's own floor goes on from chunk ``start`` towards
    ``bound`` (either side; under a sound at the note's edge): its level per
    band (``FLOOR_BANDS_HZ``) measured over the chunks ``own_at``, where it
    is alone (a dip between that sound and the voice), and the walk goes on
    while every band holds at least that less ``FLOOR_FADE_DB``, across gaps
    of ``SPECTRAL_DIP_S``.  Where the sound fills every band as much as the
    floor does, the walk goes on to ``bound``: the note may be there."""
    if read is None or start == bound:
        return start
    n = 1 << max(6, int(np.ceil(np.log2(SPECTRAL_FRAME_S * samplerate))))
    edges = np.array([f for f in FLOOR_BANDS_HZ if f < samplerate / 2] + [samplerate / 2])
    edges = edges / samplerate
    if len(edges) < 2 or (own_at[1] - own_at[0]) * hop < n:
        return start

    own = mono(read(own_at[0] * hop, own_at[1] * hop))
    level = median_of(band_powers(own, np.arange(0, len(own) - n + 1, hop), n, edges), axis=0)
    need = level * 10 ** (-FLOOR_FADE_DB / 10)
    forwards = bound > start
    c0, c1 = (start, bound) if forwards else (bound, start)
    lead = min(n, c0 * hop)
    y = mono(read(c0 * hop - lead, c1 * hop + n))
    k = np.arange(c1 - c0)
    # Forwards a chunk holds the floor if the frame starting at it does;
    # backwards, if the frame ending with it does.
    starts = np.maximum(0, lead + (k * hop if forwards else (k + 1) * hop - n))
    held = np.asarray((band_powers(y, starts, n, edges) >= need).all(axis=1))
    if not forwards:
        held = held[::-1]
    taken = taken_until_gap(held, max(1, round(SPECTRAL_DIP_S * samplerate / hop)))
    return start + taken if forwards else start - taken


def taken_until_gap(hits: np.ndarray, gap: int) -> int:
    """How many of ``hits`` are taken: up to the last True before more than
    ``gap`` False in a row."""
    taken, quiet = 0, 0
    for i, hit in enumerate(hits.tolist(), 1):
        if hit:
            taken, quiet = i, 0
        else:
            quiet += 1
            if quiet > gap:
                break
    return taken
