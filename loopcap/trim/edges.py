"""Another app's sound against the note's edge: a chime or a click that
overlaps the note's own floor before its voice (the lead-in) or after it
(the tail).  Pure numpy, no I/O.

Where the note's own floor (its microphone's noise) is audible over the
capture's, a sound that overlaps it is not separated from the note by any
silence, and the segmenter keeps it with the note (issue 15: 3 of 17
notification sounds and clicks near the note kept).  Here the note's span is
looked at once more: its first and last stretch of sound, up to the first
(last) dip to the note's own floor that lasts ``DIP_S``, is left out when it
is clearly no voice: a click or a shutter (``CLICK_HZ``) or a chime
(``CHIME_SHARE``).  The cut goes where that
sound has faded into the note's floor: the note's first (last) moment that
can be told from it.

Spans are chunk indices ``[a, b)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .levels import levels_db, quietest, to_db
from .params import Reader, TrimParams, window_chunks

__all__ = [
    "leave_out_edge_sounds",
    "extend_by_spectrum",
    "floor_reach",
    "SPECTRAL_FLOOR_FRAMES",
    "SPECTRAL_FLOOR_REACH_S",
    "SPECTRAL_FRAME_CHUNKS",
]

#: A dip to the note's own floor this long (s) ends a sound at the edge: as
#: long as a stop consonant's closure, so a syllable's parts are not taken
#: apart.
DIP_S = 0.03
#: ...a dip: levels over ``EDGE_S`` at most this far (dB) over that floor.
DIP_DB = 4.0
EDGE_S = 0.05
#: ...and so must its last (first) this long (s) next to the dip: a chime
#: that runs into the note's first syllable is kept.
NEAR_DIP_S = 0.15
#: A sound at the edge is a click or a shutter when its RMS frequency lies
#: above this (Hz): clicks, shutters 8,700-12,600 Hz in the benchmark's
#: captures, the note's own last or first sounds (an "s" included) at most
#: 4,100 Hz.
CLICK_HZ = 6000.0
#: ...or a chime when it lasts at least ``MIN_CHIME_S`` and less than this
#: share of its power (and of its part next to the dip) lies under 400 Hz:
#: notification sounds 0-4.7% there, the note's own quiet syllables under a
#: hiss at least 5.5% over the whole or the part (``voice_low_share`` is
#: 8%: a looser test, for sounds across a pause, not inside the note).
CHIME_SHARE = 0.05
MIN_CHIME_S = 0.05
#: Inside the dip after a sound at the note's start, a moment this far (dB)
#: under the note's own floor comes before the note: the floor, once
#: begun, goes on.
DROP_DB = 3.0
#: At most this many sounds are left out at either edge.
MAX_EDGE_SOUNDS = 4
#: The note's quietest stretch is its own floor when it lies this far (dB)
#: under its loudest moment (over ``EDGE_S``).
OWN_FLOOR_DEPTH_DB = 30.0
#: Sounds at the edge longer than this (s) are left as they are.
MAX_EDGE_SOUND_S = 3.0
#: Only notes at least this long (s) have a floor to measure.
MIN_NOTE_S = 1.0
#: The note's floor is sought under a sound left out at its edge only when
#: that sound lasts this many chunks (0.05 s at the default hop): half of it
#: must hold a few spectrum frames.  A click's span is cut where it ends.
MIN_REACH_CHUNKS = 20
#: A floor followed under a sound must stop this far (s) short of the
#: sound's outer half; and where the note's floor is buried, the cut goes
#: this far outside where the note stands over the capture's floor.
REACH_MARGIN_S = 0.02


def leave_out_edge_sounds(
    powers: np.ndarray,
    a: int,
    b: int,
    floor_db: float,
    params: TrimParams,
    low_share: Callable[[int, int], float],
    bright: Callable[[int, int], float],
    reach: Callable[[tuple[int, int], int, int], int] | None = None,
    audible: Callable[[int, int], int] | None = None,
) -> tuple[int, int]:
    """The note [a, b) without a chime or click at either edge (see the
    module); ``low_share`` and ``bright`` judge a span of chunks.

    ``reach(own_at, start, bound)``, when given, says how far from chunk
    ``start`` towards ``bound`` the note's floor, alone over the chunks
    ``own_at`` (the dip), goes on under a sound left out (see
    :func:`floor_reach`): a chime that overlaps the note's first or last
    moments.  The sound's outer half is never taken.  ``audible(start,
    bound)``, when given, says how far from chunk ``start`` towards ``bound``
    the note stands over the capture floor's spectrum (see
    :func:`extend_by_spectrum`): where the note's floor is buried, the cut
    goes there, ``REACH_MARGIN_S`` out, rather than to the dip's far end,
    which may hold the sound's faded tail."""
    if (b - a) * params.hop_s < MIN_NOTE_S:
        return a, b
    inner = powers[a:b]
    # The note's own floor from the middle half of its span: its pauses,
    # never the quiet end of a chime at its edge.
    quarter = (b - a) // 4
    middle = inner[quarter : len(inner) - quarter]
    qa, qb = quietest(middle, params)
    own = float(to_db(np.array([middle[qa:qb].mean()], np.float32))[0])
    edge = levels_db(inner, params, frame_s=EDGE_S)
    # A floor lies far under the note's loudest: else the quietest stretch is
    # a weak syllable (a note without pauses), and only the capture's floor
    # can tell where a sound at the edge ends.  Where the note's floor is
    # buried under the capture's, a dip is that too.
    audible_own = floor_db + params.close_db <= own <= float(edge.max()) - OWN_FLOOR_DEPTH_DB
    reference = own if audible_own else floor_db
    # The note's quietest lies under the capture's floor: its own floor is
    # buried there (a note without pauses, a steady sound, has none).
    buried = own < floor_db + params.close_db
    low = np.concatenate(([0], (edge <= reference + DIP_DB).astype(np.int8), [0]))
    d = np.diff(low)
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    need = window_chunks(DIP_S, params)
    dips = [(int(s), int(e)) for s, e in zip(starts, ends, strict=True) if e - s >= need]
    # A "dip" at the span's very edge is no dip between two sounds but the
    # faded end of a sound there (a chime decaying to the note's floor's
    # level after the note has ended).
    if dips and dips[-1][1] >= b - a:
        dips.pop()
    if dips and dips[0][0] <= 0:
        dips.pop(0)
    if not dips:
        return a, b
    longest = window_chunks(MAX_EDGE_SOUND_S, params)
    shortest = window_chunks(MIN_CHIME_S, params)

    near = window_chunks(NEAR_DIP_S, params)
    margin = window_chunks(REACH_MARGIN_S, params)

    def other(x: int, y: int, x2: int, y2: int) -> bool:
        """Whether [x, y) is a click or a chime, and so is its part [x2, y2)
        next to the dip (no syllable there, just before the dip)."""
        if y - x <= 0 or y - x > longest:
            return False
        if bright(x, y) > CLICK_HZ:
            return True  # a click, a shutter
        return (
            y - x >= shortest and low_share(x, y) < CHIME_SHARE and low_share(x2, y2) < CHIME_SHARE
        )

    # From each end, sound by sound (a double click, a two-tone chime), up
    # to the first that could be the note's.
    na, nb = a, b
    k = 0
    while k < len(dips) and k < MAX_EDGE_SOUNDS:
        x, y = na, a + dips[k][0]
        if y <= x or not other(x, y, max(x, y - near), y):
            break
        na = y
        k += 1
    if k and audible_own:
        na = _floor_onset(powers, edge, a, dips[k - 1], own, params, forwards=True)
        if reach is not None and dips[0][0] >= MIN_REACH_CHUNKS:
            # The note's floor followed under the sound's end, before the
            # dip; where it goes on into the sound's outer half, the sound
            # fills every band (a shutter) and the floor cannot be followed.
            half = a + dips[0][0] // 2
            under = reach((na, a + dips[k - 1][1]), na, half)
            if under > half + margin:  # else the sound fills every band
                na = min(na, under)
    elif k and audible is not None and buried:
        # The note's floor is buried: the dip holds the capture's floor and
        # perhaps the sound's faded tail; the note begins where the dip's
        # end stands over the floor's spectrum (less a margin).
        d0, d1 = a + dips[k - 1][0], a + dips[k - 1][1]
        na = max(na, min(d1, audible(d1, d0) - margin))
    j = len(dips) - 1
    while j >= 0 and len(dips) - 1 - j < MAX_EDGE_SOUNDS:
        x, y = a + dips[j][1], nb
        if y <= x or not other(x, y, x, min(y, x + near)):
            break
        nb = x
        j -= 1
    if j < len(dips) - 1 and audible_own:
        nb = _floor_onset(powers, edge, a, dips[j + 1], own, params, forwards=False)
        if reach is not None and b - a - dips[-1][1] >= MIN_REACH_CHUNKS:
            half = b - (b - a - dips[-1][1]) // 2
            under = reach((a + dips[j + 1][0], nb), nb, half)
            if under < half - margin:
                nb = max(nb, under)
    elif j < len(dips) - 1 and audible is not None and buried:
        d0, d1 = a + dips[j + 1][0], a + dips[j + 1][1]
        nb = min(nb, max(d0, audible(d0, d1) + margin))
    return (na, nb) if nb > na else (a, b)


def _floor_onset(
    powers: np.ndarray,
    edge: np.ndarray,
    a: int,
    dip: tuple[int, int],
    own: float,
    params: TrimParams,
    forwards: bool,
) -> int:
    """Where the note's own (audible) floor begins in a dip after a sound at
    its start (``forwards``; else where it ends, before a sound at its end):
    past the last (first) moment of the dip ``DROP_DB`` under that floor,
    the first (last) 10 ms ``DROP_DB`` under it no more.  Without such a
    moment (the sound faded straight into the note's floor), the dip's
    start (end)."""
    lo, hi = a + dip[0], a + dip[1]
    under = np.flatnonzero(edge[dip[0] : dip[1]] < own - DROP_DB)
    if len(under) == 0:
        return lo if forwards else hi
    short = levels_db(powers[lo:hi], params)
    if forwards:
        after = np.flatnonzero(short[under[-1] :] >= own - DROP_DB)
        return lo + int(under[-1]) + (int(after[0]) if len(after) else 0)
    before = np.flatnonzero(short[: under[0] + 1] >= own - DROP_DB)
    return lo + (int(before[-1]) + 1 if len(before) else int(under[0]))


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
#: A spectrum frame lasts about this long (s; a power of two of samples).
_SPECTRAL_FRAME_S = 0.01
#: ...at most this many chunks of the default 2.5 ms: a floor frame must
#: lie whole in the capture.
SPECTRAL_FRAME_CHUNKS = 8


def _window(n: int) -> np.ndarray:
    """A 4-term Blackman-Harris window: sidelobes 92 dB down, so that a hum's
    strong low harmonics do not leak into the bands above them."""
    t = 2 * np.pi * np.arange(n) / n
    return 0.35875 - 0.48829 * np.cos(t) + 0.14128 * np.cos(2 * t) - 0.01168 * np.cos(3 * t)


def _band_powers(y: np.ndarray, starts: np.ndarray, n: int, edges: np.ndarray) -> np.ndarray:
    """Power per band (columns) of the windowed ``n``-sample frames of mono
    ``y`` starting at ``starts`` (rows); frames past ``y`` are zero."""
    pad = np.concatenate([y, np.zeros(n)])
    frames = np.lib.stride_tricks.sliding_window_view(pad, n)[starts] * _window(n)
    spectra = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    bins = np.searchsorted(np.fft.rfftfreq(n, 1.0), edges)  # edges in cycles/sample
    return np.add.reduceat(spectra, bins[:-1], axis=1)[:, : len(edges) - 1]


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
) -> tuple[int, int]:
    """The note [a, b) (chunks) widened, never past chunks ``lo``/``hi``
    nor further than ``reach_s`` seconds,
    over the chunks next to it where some band (``SPECTRAL_BANDS_HZ``)
    stands ``SPECTRAL_DB`` over the most the capture's floor reaches there,
    measured on frames starting at the chunks ``floor_at`` (where the floor
    is alone): the quiet edge of a note over a floor whose power lies
    elsewhere.  Without a reader or such chunks, [a, b)."""
    if read is None or len(floor_at) == 0:
        return a, b
    n = 1 << max(6, int(np.ceil(np.log2(_SPECTRAL_FRAME_S * samplerate))))
    edges = np.array([f for f in SPECTRAL_BANDS_HZ if f < samplerate / 2] + [samplerate / 2])
    if len(edges) < 2:
        return a, b
    edges = edges / samplerate

    def mono(x: np.ndarray) -> np.ndarray:
        y = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        return y.mean(axis=1) if y.ndim == 2 else y

    # Each floor frame read with the next ``phases`` chunks' frames: every
    # phase of a hum's period, not just the one the spacing falls on.
    phases = SPECTRAL_FRAME_CHUNKS
    floor = np.concatenate(
        [mono(read(int(c) * hop, int(c) * hop + n + phases * hop)) for c in floor_at]
    )
    size = n + phases * hop
    starts = np.array(
        [k * size + j * hop for k in range(len(floor_at)) for j in range(phases)], np.int64
    )
    starts = starts[starts + n <= len(floor)]
    if len(starts) == 0:
        return a, b
    bands = _band_powers(floor, starts, n, edges)
    # A band where the floor has (next to) nothing, a hum's highs, holds only
    # rounding noise that flickers far over its own tiny level: no band's
    # limit lies more than SPECTRAL_RANGE_DB under the floor's whole power.
    total = _band_powers(floor, starts, n, np.array([0.0, 0.5])).max()
    limit = np.maximum(bands.max(axis=0), total * 10 ** (-SPECTRAL_RANGE_DB / 10))
    limit = limit * 10 ** (SPECTRAL_DB / 10)
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
        return (_band_powers(y, starts, n, edges) > limit).any(axis=1)

    def walk(first: int, last: int, forwards: bool) -> int:
        """How many chunks, from the edge outwards, hold the note: in blocks
        of ``_WALK_BLOCK`` chunks, so that memory stays small and a walk
        that stops soon reads little."""
        taken, gap, i = 0, 0, 0
        while i < last - first:
            size = min(_WALK_BLOCK, last - first - i)
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
    n = 1 << max(6, int(np.ceil(np.log2(_SPECTRAL_FRAME_S * samplerate))))
    edges = np.array([f for f in FLOOR_BANDS_HZ if f < samplerate / 2] + [samplerate / 2])
    edges = edges / samplerate
    if len(edges) < 2 or (own_at[1] - own_at[0]) * hop < n:
        return start

    def mono(x: np.ndarray) -> np.ndarray:
        y = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        return y.mean(axis=1) if y.ndim == 2 else y

    own = mono(read(own_at[0] * hop, own_at[1] * hop))
    level = np.median(_band_powers(own, np.arange(0, len(own) - n + 1, hop), n, edges), axis=0)
    need = level * 10 ** (-FLOOR_FADE_DB / 10)
    forwards = bound > start
    c0, c1 = (start, bound) if forwards else (bound, start)
    lead = min(n, c0 * hop)
    y = mono(read(c0 * hop - lead, c1 * hop + n))
    k = np.arange(c1 - c0)
    # Forwards a chunk holds the floor if the frame starting at it does;
    # backwards, if the frame ending with it does.
    starts = np.maximum(0, lead + (k * hop if forwards else (k + 1) * hop - n))
    held = (_band_powers(y, starts, n, edges) >= need).all(axis=1)
    if not forwards:
        held = held[::-1]
    dip = max(1, round(SPECTRAL_DIP_S * samplerate / hop))
    taken, gap = 0, 0
    for i, hit in enumerate(held.tolist(), 1):
        if hit:
            taken, gap = i, 0
        else:
            gap += 1
            if gap > dip:
                break
    return start + taken if forwards else start - taken
