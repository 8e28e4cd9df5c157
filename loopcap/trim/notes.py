"""Find a voice note's boundaries in a capture: pure numpy, no I/O.

The capture's floor (digital zero, dither, hiss or hum) is estimated from the
capture itself, so a quiet note over a hissy device is judged against that
hiss, not against a fixed threshold.  Steps, all on short-time power:

1. *Chunk powers*: mean square per ``hop_s`` chunk, averaged over channels
   (streamable: :class:`LevelMeter` takes blocks of any size).
2. *Levels*: chunk powers averaged over ``frame_s``, in dBFS.
3. *Floor*: the quietest ``floor_window_s`` of the capture (lowest mean power
   over a sliding window); digital zero counts as ``MIN_DB``.
4. *Regions*: runs of chunks above ``floor + open_db``, each widened while the
   level stays above ``floor + close_db`` (hysteresis), merged when the silence
   between them is shorter than ``merge_gap_s``.
5. *The note*: the longest region.  Other regions (a notification sound, a
   click) are left out.

Times are in seconds, levels in dBFS, positions in samples (frames).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .voice import voice_measure

__all__ = [
    "TrimParams",
    "Bounds",
    "LevelMeter",
    "chunk_powers",
    "levels_db",
    "estimate_floor_db",
    "find_regions",
    "levels_in_blocks",
    "find_bounds",
    "bounds_of_array",
    "find_notes",
    "notes_of_array",
    "Reader",
    "MIN_DB",
]

#: Level given to digital silence, in dBFS (below any real device's floor).
MIN_DB = -140.0


@dataclass(frozen=True)
class TrimParams:
    """The ``[trim]`` table of the config."""

    #: Analysis resolution: one level every ``hop_s`` seconds.
    hop_s: float = 0.0025
    #: Window over which a level is averaged, in seconds.
    frame_s: float = 0.01
    #: Length of the quietest stretch that defines the capture's floor, in s.
    floor_window_s: float = 0.1
    #: A sound begins where the level rises this far above the floor (dB).
    open_db: float = 12.0
    #: ...and extends while it stays this far above the floor (dB): the
    #: note's audible boundary.
    close_db: float = 6.0
    #: Sounds that never reach ``open_db`` count if ``close_db`` above the
    #: floor for this long in all (s): a quiet note never clear of the hiss.
    open_after_s: float = 0.2
    #: Sounds separated by less silence than this are one sound (seconds).
    merge_gap_s: float = 0.6
    #: A sound this close to the note (s) is part of it (a pause between
    #: sentences), unless it is shorter than ``min_sound_s`` (a click).
    max_pause_s: float = 1.7
    min_sound_s: float = 0.08
    #: Over ``presence_window_s`` seconds, a level this far (dB) above the
    #: floor is the note's own noise floor: it joins whatever it spans.
    presence_window_s: float = 0.25
    presence_db: float = 1.5
    #: How far (dB) a voice note's own noise floor lies below its speech at
    #: most: over a capture floor further down than that, its pauses are
    #: never silent.
    note_snr_db: float = 65.0
    #: ...but where a sound's quietest ``floor_window_s`` lies this far (dB)
    #: below its loudest moment and ``close_db`` over the capture's floor, that
    #: is the note's own floor showing in a pause: its pauses are not silent.
    own_floor_depth_db: float = 35.0
    #: Sounds whose RMS frequency lies above this (Hz) are clicks or noise
    #: bursts, never joined to the note across a pause.
    bright_hz: float = 2400.0
    #: ...and across a silent pause only sounds that could be a voice join
    #: it: at least this share of their power under 400 Hz (a voice's pitch;
    #: chimes lie higher) and a pitch period at least this clear (0..1; a
    #: thump or a knock has none).  See :mod:`loopcap.trim.voice`.
    voice_low_share: float = 0.08
    voice_periodicity: float = 0.3
    #: The note's quiet edges (a fading last syllable, its own floor) reach as
    #: far as levels over ``edge_window_s`` seconds stay ``edge_db`` above the floor.
    edge_window_s: float = 0.05
    edge_db: float = 3.0
    #: In a capture of several notes (``split``), a sound is a note only if
    #: it lasts at least this long (s) and could be a voice; others are other
    #: sounds.
    min_note_s: float = 0.5
    #: Kept before the note's first and after its last audible moment (s).
    pad_s: float = 0.0


@dataclass(frozen=True)
class Bounds:
    """The note's span in samples, ``start`` inclusive, ``end`` exclusive."""

    start: int
    end: int
    floor_db: float
    samplerate: int

    @property
    def start_s(self) -> float:
        return self.start / self.samplerate

    @property
    def end_s(self) -> float:
        return self.end / self.samplerate

    @property
    def kept_s(self) -> float:
        return (self.end - self.start) / self.samplerate


def hop_frames(samplerate: int, params: TrimParams) -> int:
    return max(1, round(params.hop_s * samplerate))


def chunk_powers(x: np.ndarray, hop: int) -> np.ndarray:
    """Mean square per chunk of ``hop`` samples, averaged over channels.

    ``x`` is (samples,) or (samples, channels); its length must be a multiple
    of ``hop`` (see :class:`LevelMeter` for arbitrary blocks).  NaN and
    infinite samples count as silence so they cannot poison the levels.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    width = hop * x.shape[1]
    rows = x.reshape(-1, width)  # one row per chunk, channels interleaved
    # One pass of multiply-add per row: ~10x faster than square-then-sum.
    # float32 is plenty for levels (to -140 dB) and halves the memory per hour.
    powers = np.einsum("ij,ij->i", rows, rows)
    powers /= width
    bad = ~np.isfinite(powers)
    if bad.any():  # NaN/inf samples (or squares that overflow) count as silence
        fixed = np.nan_to_num(rows[bad], nan=0.0, posinf=0.0, neginf=0.0)
        np.clip(fixed, -1e15, 1e15, out=fixed)
        fixed64 = fixed.astype(np.float64)
        powers[bad] = np.minimum(np.einsum("ij,ij->i", fixed64, fixed64) / width, 3e38)
    return powers


class LevelMeter:
    """Streaming chunk powers: feed blocks of any length, read ``powers``.

    Memory grows by one float32 per ``hop`` samples (6 MB for an hour at
    2.5 ms), never with the audio itself: the powers go straight into one
    buffer, sized once when ``expected_frames`` is known (a file's length),
    else grown by half as needed.  Single-threaded.
    """

    def __init__(
        self,
        samplerate: int,
        params: TrimParams | None = None,
        expected_frames: int | None = None,
    ) -> None:
        self.samplerate = samplerate
        self.params = params or TrimParams()
        self.hop = hop_frames(samplerate, self.params)
        self._carry: np.ndarray | None = None
        capacity = (expected_frames or 0) // self.hop + 1
        self._buf = np.empty(max(capacity, 1024), np.float32)
        self._n = 0  # powers in the buffer
        self.frames = 0

    def _append(self, powers: np.ndarray) -> None:
        need = self._n + len(powers)
        if need > len(self._buf):
            grown = np.empty(max(need, len(self._buf) * 3 // 2), np.float32)
            grown[: self._n] = self._buf[: self._n]
            self._buf = grown
        self._buf[self._n : need] = powers
        self._n = need

    def feed(self, block: np.ndarray) -> None:
        block = np.asarray(block, dtype=np.float32)
        if block.ndim == 1:
            block = block[:, None]
        self.frames += len(block)
        if self._carry is not None and len(self._carry):
            block = np.concatenate([self._carry, block])
        usable = len(block) - len(block) % self.hop
        if usable:
            self._append(chunk_powers(block[:usable], self.hop))
        self._carry = block[usable:]

    def _last_partial(self) -> np.ndarray:
        """The power of the last, partial chunk: its mean over the samples it has."""
        c = self._carry
        pad = np.zeros((self.hop - len(c), c.shape[1]), np.float32)
        return chunk_powers(np.concatenate([c, pad]), self.hop) * self.hop / len(c)

    def finish(self) -> None:
        """No more blocks: fold the last partial chunk in for good, so that
        :attr:`powers` is a view of the buffer, never a copy."""
        if self._carry is not None and len(self._carry):
            self._append(self._last_partial())
            self._carry = None

    def find_bounds(self, read: Reader | None = None) -> Bounds | None:
        """The note's bounds in what was fed so far (see :func:`find_bounds`)."""
        return find_bounds(self.powers, self.samplerate, self.frames, self.params, read)

    def find_notes(self, read: Reader | None = None) -> list[Bounds]:
        """Every note in what was fed so far (see :func:`find_notes`)."""
        return find_notes(self.powers, self.samplerate, self.frames, self.params, read)

    @property
    def powers(self) -> np.ndarray:
        """One power per chunk fed so far (a view; a copy while a partial chunk
        is pending and :meth:`finish` has not been called)."""
        view = self._buf[: self._n]
        if self._carry is not None and len(self._carry):
            return np.concatenate([view, self._last_partial()])
        return view


def _moving_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Centered moving mean over ``n`` items, same length (edges use what exists).

    Item ``i`` averages ``x[i - n // 2 : i - n // 2 + n]`` clipped to the array.
    Cumulative sums and slices only: no index arrays as long as the input.
    """
    if n <= 1 or len(x) == 0:
        return x.astype(np.float32)
    size, h = len(x), n // 2
    if n <= 64 and size >= n:
        # Short windows: a direct convolution in float32, no float64 copies.
        full = np.convolve(x.astype(np.float32, copy=False), np.ones(n, np.float32))
        out = full[n - 1 - h : n - 1 - h + size]
        for i in [*range(0, h), *range(size - n + h + 1, size)]:
            lo, hi = max(i - h, 0), min(i - h + n, size)
            out[i] = x[lo:hi].sum() / (hi - lo)
        out[h : size - n + h + 1] /= n
        return out
    c = np.concatenate(([0.0], np.cumsum(x, dtype=np.float64)))
    out = np.empty(size)
    first, last = h, size - n + h  # items whose window lies wholly inside
    if last >= first:
        out[first : last + 1] = (c[n : size + 1] - c[: size - n + 1]) / n
    for i in [*range(0, min(first, size)), *range(max(last + 1, first, 0), size)]:
        lo, hi = max(i - h, 0), min(i - h + n, size)
        out[i] = (c[hi] - c[lo]) / (hi - lo)
    return out


def _to_db(power: np.ndarray, in_place: bool = False) -> np.ndarray:
    """Power -> dB (floored at ``MIN_DB``), float32; ``in_place`` reuses a
    float32 ``power`` array the caller no longer needs."""
    if in_place and isinstance(power, np.ndarray) and power.dtype == np.float32:
        out = np.maximum(power, np.float32(1e-30), out=power)
    else:
        out = np.maximum(np.asarray(power, dtype=np.float32), np.float32(1e-30))
    np.log10(out, out=out)
    out *= 10
    return np.maximum(out, np.float32(MIN_DB), out=out)


def levels_db(powers: np.ndarray, params: TrimParams, frame_s: float | None = None) -> np.ndarray:
    """Levels in dBFS, one per chunk, averaged over ``frame_s``."""
    n = max(1, round((frame_s or params.frame_s) / params.hop_s))
    mean = _moving_mean(powers, n)
    return _to_db(mean, in_place=mean is not powers and mean.dtype == np.float32)


#: Chunks handled at once where a whole capture is scanned: an hour at 2.5 ms
#: is 1.44 million chunks; levels for all of them at once would be 6 MB more.
SCAN_CHUNKS = 1 << 16


def levels_in_blocks(
    powers: np.ndarray,
    params: TrimParams,
    frame_s: float | None = None,
    a: int = 0,
    b: int | None = None,
):
    """Yield ``(start, levels)`` over chunks [a, b) in pieces of ``SCAN_CHUNKS``,
    equal to the matching slices of :func:`levels_db` of the whole array."""
    n = max(1, round((frame_s or params.frame_s) / params.hop_s))
    b = len(powers) if b is None else b
    for s in range(a, b, SCAN_CHUNKS):
        e = min(b, s + SCAN_CHUNKS)
        # The window of an item reaches at most n chunks either way: with that
        # margin, the items of [s, e) see what they would in the whole array.
        lo, hi = max(0, s - n), min(len(powers), e + n)
        yield s, levels_db(powers[lo:hi], params, frame_s)[s - lo : e - lo]


def _quietest(powers: np.ndarray, params: TrimParams) -> tuple[int, int]:
    """[start, end) of the quietest ``floor_window_s`` of the capture."""
    n = max(1, round(params.floor_window_s / params.hop_s))
    if len(powers) <= n:
        return 0, len(powers)
    ones = np.ones(n, np.float32)
    best, best_i = np.inf, 0
    for s in range(0, len(powers) - n + 1, SCAN_CHUNKS):  # window starts s.. in pieces
        piece = powers[s : min(len(powers), s + SCAN_CHUNKS + n - 1)]
        sums = np.convolve(piece.astype(np.float32, copy=False), ones, "valid")
        i = int(np.argmin(sums))
        if sums[i] < best:
            best, best_i = float(sums[i]), s + i
    return best_i, best_i + n


def estimate_floor_db(
    powers: np.ndarray, params: TrimParams, quiet: tuple[int, int] | None = None
) -> float:
    """The capture's floor: the lowest mean level over any ``floor_window_s``
    (``quiet``: that stretch, if already found by :func:`_quietest`)."""
    if len(powers) == 0:
        return MIN_DB
    a, b = quiet or _quietest(powers, params)
    return float(_to_db(np.array([max(float(powers[a:b].mean()), 0.0)]))[0])


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    if not mask.any():
        return []
    # int8 throughout: a Python [0] here would make the padded copy (and its
    # diff) int64, 16 bytes per chunk: 23 MB for an hour of audio.
    edge = np.zeros(1, np.int8)
    d = np.diff(np.concatenate([edge, mask.astype(np.int8), edge]))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def find_regions(
    levels: np.ndarray | None,
    floor_db: float,
    params: TrimParams,
    powers: np.ndarray | None = None,
) -> list[tuple[int, int]]:
    """Sounds as [start, end) chunk indices: audible runs (above ``close_db``)
    that somewhere open the gate (``open_db``), merged across gaps shorter than
    ``merge_gap_s``; and, at least ``merge_gap_s`` from those, groups of runs
    that never open it but are audible for ``open_after_s`` in all.  From
    ``levels``, or (``levels`` None) from ``powers``, their levels computed
    piece by piece (memory independent of length)."""
    if levels is not None:
        pieces = [(0, levels)]
        total = len(levels)
    else:
        assert powers is not None
        pieces = levels_in_blocks(powers, params)
        total = len(powers)
    runs: list[tuple[int, int, bool]] = []  # audible runs: start, end, loud
    pending: tuple[int, bool] | None = None  # a run reaching the end of the last piece
    for s, lv in pieces:
        audible = lv > floor_db + params.close_db
        loud = lv > floor_db + params.open_db
        if pending is not None and not (len(audible) and audible[0]):
            runs.append((pending[0], s, pending[1]))
            pending = None
        for a, b in _runs(audible):
            start, is_loud = s + a, bool(loud[a:b].any())
            if a == 0 and pending is not None:  # the run goes on from the last piece
                start, is_loud = pending[0], is_loud or pending[1]
                pending = None
            if b == len(audible) and s + b < total:
                pending = (start, is_loud)
            else:
                runs.append((start, s + b, is_loud))
    if pending is not None:
        runs.append((pending[0], total, pending[1]))
    # The runs that open the gate, merged across short gaps; and, apart from
    # them, groups of runs (merged the same way) none of which opens it but
    # that are audible for ``open_after_s`` in all: a quiet note never clear
    # of the hiss, wherever a louder sound may be.
    gap = round(params.merge_gap_s / params.hop_s)
    long_run = max(1, round(params.open_after_s / params.hop_s))

    def merge(chosen: list[tuple[int, int, bool]]) -> list[list]:
        groups: list[list] = []  # start, end, audible chunks, any loud
        for a, b, is_loud in chosen:
            if groups and a - groups[-1][1] < gap:
                g = groups[-1]
                g[1], g[2], g[3] = b, g[2] + b - a, g[3] or is_loud
            else:
                groups.append([a, b, b - a, is_loud])
        return groups

    loud = [(a, b) for a, b, _, _ in merge([r for r in runs if r[2]])]
    quiet = [(a, b) for a, b, n, is_loud in merge(runs) if not is_loud and n >= long_run]
    return sorted(loud + quiet)


def _bridged(powers: np.ndarray, floor_db: float, params: TrimParams) -> Callable[[int, int], bool]:
    """Whether a gap [a, b) is spanned by something standing above the floor
    over a long window: a note's own noise floor a few dB over the capture's,
    too weak for the short frames.  Computed per gap, on that gap only."""
    n = max(1, round(params.presence_window_s / params.hop_s))
    threshold = floor_db + params.presence_db

    def bridged(a: int, b: int) -> bool:
        if n <= 1 or b <= a:
            return b <= a
        lo, hi = max(0, a - n), min(len(powers), b + n)
        levels = levels_db(powers[lo:hi], params, frame_s=params.presence_window_s)
        return bool((levels[a - lo : b - lo] > threshold).all())

    return bridged


def _grow(
    regions: list[tuple[int, int]],
    core: int,
    bridged: Callable[[int, int], bool],
    params: TrimParams,
    pauses_are_silent: bool,
    bright: Callable[[int, int], float],
    voice: Callable[[int, int], bool],
) -> tuple[int, int]:
    """Join to the note (``regions[core]``) its neighbours that belong to it:
    those across any gap the note's own floor bridges; and, where the note's
    pauses are silent, those across a pause up to ``max_pause_s`` that last at
    least ``min_sound_s``, are not brighter than speech (``bright_hz``: a
    click, a shutter or a chime's noise is) and could be a voice (``voice``).

    A sound that is none of these ends the note there; one that fails only
    the voice test (a chime, a thump, or a fragment of speech too short to
    judge) is stepped over: it joins only if a voice beyond it, still within
    ``max_pause_s`` of the note, does."""
    max_gap = round(params.max_pause_s / params.hop_s)
    min_len = round(params.min_sound_s / params.hop_s)

    def joins(gap_a: int, gap_b: int, other: tuple[int, int]) -> bool | None:
        """True: joins; False: ends the note; None: step over it."""
        if gap_b - gap_a <= 0 or bridged(gap_a, gap_b):
            return True
        if not pauses_are_silent:
            return False  # the note's pauses would show its own floor; this gap has none
        if not (
            gap_b - gap_a <= max_gap
            and other[1] - other[0] >= min_len
            and bright(*other) <= params.bright_hz
        ):
            return False
        return True if voice(*other) else None

    a, b = regions[core]
    i = core - 1
    while i >= 0 and (verdict := joins(regions[i][1], a, regions[i])) is not False:
        if verdict:
            a = regions[i][0]
        i -= 1
    j = core + 1
    while j < len(regions) and (verdict := joins(b, regions[j][0], regions[j])) is not False:
        if verdict:
            b = regions[j][1]
        j += 1
    return a, b


def _refine(
    powers: np.ndarray, a: int, b: int, threshold_db: float, params: TrimParams
) -> tuple[int, int]:
    """Move the edges from smoothed levels to the raw chunks: the smoothing
    window blurs an edge by up to half a frame either way."""
    n = max(1, round(params.frame_s / params.hop_s))
    m = max(n, round(params.edge_window_s / params.hop_s))  # how far inside to look
    lo = max(0, a - n)
    hits = np.flatnonzero(_to_db(powers[lo : a + m]) > threshold_db)
    if len(hits):
        a = lo + int(hits[0])
    lo = max(0, b - m)
    hits = np.flatnonzero(_to_db(powers[lo : b + n]) > threshold_db)
    if len(hits):
        b = lo + int(hits[-1]) + 1
    return a, b


#: ``read(start, end)`` -> frames [start, end) of the audio (float32, frames x
#: channels): lets the trimmer look closer at a few short sounds.
Reader = Callable[[int, int], np.ndarray]

#: At most this much of a sound (s) is read to judge its brightness.
_BRIGHT_READ_S = 1.0


def _rms_hz(x: np.ndarray, samplerate: int) -> tuple[float, float]:
    """(power, first-difference power) of ``x``, all channels."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 2:
        return 0.0, 0.0
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    return float(np.mean(np.square(x))), float(np.mean(np.square(np.diff(x, axis=0))))


def _brightness(
    read: Reader | None, quiet: tuple[int, int], hop: int, samplerate: int
) -> Callable[[int, int], float]:
    """A sound's RMS frequency in Hz, above the floor's: from the power of its
    first difference over its power (``4 sin^2(pi f / rate)`` for a tone).
    About 300-1500 Hz for speech through a 16 kHz codec; clicks, shutters and
    hiss bursts lie far above.  Without a reader every sound counts as speech."""
    if read is None:
        return lambda a, b: 0.0
    limit = round(_BRIGHT_READ_S * samplerate)
    fp, fd = _rms_hz(read(quiet[0] * hop, min(quiet[1] * hop, quiet[0] * hop + limit)), samplerate)

    def bright(a: int, b: int) -> float:
        start = a * hop
        p, d = _rms_hz(read(start, min(b * hop, start + limit)), samplerate)
        p, d = p - fp, d - fd
        if p <= 0:
            return 0.0
        ratio = min(max(d / p, 0.0), 4.0)
        return samplerate / math.pi * math.asin(math.sqrt(ratio) / 2)

    return bright


#: At most this much of a sound (s) is read to judge whether it is a voice.
_VOICE_READ_S = 3.0


def _voicelike(
    read: Reader | None, quiet: tuple[int, int], hop: int, samplerate: int, params: TrimParams
) -> Callable[[int, int], bool]:
    """Whether the sound in chunks [a, b) could be a voice (its first
    ``_VOICE_READ_S``; see :mod:`loopcap.trim.voice`).  Without a reader every
    sound could be."""
    if read is None:
        return lambda a, b: True
    floor = read(quiet[0] * hop, quiet[1] * hop)
    limit = round(_VOICE_READ_S * samplerate)
    seen: dict[tuple[int, int], bool] = {}  # a split asks again as notes grow

    def voice(a: int, b: int) -> bool:
        start = a * hop
        end = min(b * hop, start + limit)
        if (start, end) not in seen:
            m = voice_measure(read(start, end), floor, samplerate)
            seen[start, end] = (
                m.low_share >= params.voice_low_share and m.periodicity >= params.voice_periodicity
            )
        return seen[start, end]

    return voice


def _extend(
    powers: np.ndarray, a: int, b: int, threshold_db: float, params: TrimParams
) -> tuple[int, int]:
    """Take in quiet audible runs next to the note (a last consonant, the
    note's own floor rising just above the capture's) within ``merge_gap_s``.

    Levels over ``edge_window_s`` are computed near the note only.
    """
    gap = round(params.merge_gap_s / params.hop_s)
    margin = max(4 * gap, round(10.0 / params.hop_s))
    while True:
        lo, hi = max(0, a - margin), min(len(powers), b + margin)
        smooth = levels_db(powers[lo:hi], params, frame_s=params.edge_window_s)
        audible = smooth > threshold_db
        na, nb = a - lo, b - lo
        while True:  # forwards: the next audible run within the gap, to its end
            after = np.flatnonzero(audible[nb : nb + gap])
            if len(after) == 0:
                break
            start = nb + int(after[0])
            quiet = np.flatnonzero(~audible[start:])
            end = start + int(quiet[0]) if len(quiet) else len(audible)
            if end <= nb:
                break
            nb = end
        while True:  # backwards, the same
            before = np.flatnonzero(audible[max(0, na - gap) : na])
            if len(before) == 0:
                break
            last = max(0, na - gap) + int(before[-1])
            quiet = np.flatnonzero(~audible[: last + 1])
            first = int(quiet[-1]) + 1 if len(quiet) else 0
            if first >= na:
                break
            na = first
        reached_edge = (na == 0 and lo > 0) or (nb == len(audible) and hi < len(powers))
        a, b = lo + na, lo + nb
        if not reached_edge:
            return a, b
        margin *= 4  # the run goes on past what was looked at: look further


class _Segmenter:
    """The segmenting shared by :func:`find_bounds` and :func:`find_notes`:
    the capture's floor, its sounds (regions) and the rules that join sounds
    into a note.  Built once per capture; regions are chunk indices."""

    def __init__(
        self,
        powers: np.ndarray,
        samplerate: int,
        frames: int,
        params: TrimParams,
        read: Reader | None,
    ) -> None:
        self.powers, self.samplerate, self.frames, self.params = powers, samplerate, frames, params
        quiet = _quietest(powers, params)  # one scan of the whole capture
        self.floor = estimate_floor_db(powers, params, quiet)
        self.regions = find_regions(None, self.floor, params, powers)
        self.hop = hop_frames(samplerate, params)
        self.bridged = _bridged(powers, self.floor, params)
        self.bright = _brightness(read, quiet, self.hop, samplerate)
        self.voice = _voicelike(read, quiet, self.hop, samplerate, params)

    def longest(self, among: list[int]) -> int:
        return max(among, key=lambda i: (self.regions[i][1] - self.regions[i][0], -i))

    def grow(self, core: int, lo: int = 0, hi: int | None = None) -> tuple[int, int, int, int]:
        """The note around ``regions[core]``, joining only regions ``lo..hi-1``.

        Returns its span in chunks and the first and last region it holds.
        """
        hi = len(self.regions) if hi is None else hi
        ca, cb = self.regions[core]
        # Can the note's own noise floor be above the capture's?  A phone's
        # microphone floor lies at most ``note_snr_db`` below the speech;
        # where the capture's floor is further down than that (digital
        # silence, dither) the note's pauses are never silent, and a silent
        # gap ends the note.  Otherwise (a quiet note over a hissy device) its
        # pauses can look like silence, and only their length and sound tell
        # them from what is around.
        peak = max(lv.max() for _, lv in levels_in_blocks(self.powers, self.params, a=ca, b=cb))
        silent_pauses = bool(peak - self.floor < self.params.note_snr_db)
        if silent_pauses and (cb - ca) * self.params.hop_s >= 1.0:
            # The note's own floor may show after all: a sound whose quietest
            # stretch lies far below its speech (``own_floor_depth_db``: a
            # pause, not a quiet syllable) yet clearly above the capture's
            # floor carries that floor through its pauses, long ones too.
            inner = self.powers[ca:cb]
            qa, qb = _quietest(inner, self.params)
            own = float(_to_db(np.array([inner[qa:qb].mean()], np.float32))[0])
            p = self.params
            if self.floor + p.close_db <= own <= peak - p.own_floor_depth_db:
                silent_pauses = False
        part = self.regions[lo:hi]
        a, b = _grow(
            part, core - lo, self.bridged, self.params, silent_pauses, self.bright, self.voice
        )
        first = lo + next(i for i, r in enumerate(part) if r[0] == a)
        last = lo + next(i for i, r in enumerate(part) if r[1] == b)
        return a, b, first, last

    def bounds(self, a: int, b: int, lo: int = 0, hi: int | None = None) -> Bounds:
        """Chunk span [a, b) -> the note's Bounds: quiet edges taken in (never
        past chunks ``lo``/``hi``, a neighbouring note's edge), edges refined,
        padded."""
        p = self.params
        hi = len(self.powers) if hi is None else hi
        ea, eb = _extend(self.powers, a, b, self.floor + p.edge_db, p)
        a, b = max(ea, lo), min(eb, hi)
        ra, rb = _refine(self.powers, a, b, self.floor + p.close_db, p)
        a, b = max(ra, lo), min(rb, hi)
        pad = round(p.pad_s * self.samplerate)
        start = max(0, a * self.hop - pad, lo * self.hop)
        end = min(self.frames, b * self.hop + pad, hi * self.hop)
        return Bounds(start, end, self.floor, self.samplerate)


def find_bounds(
    powers: np.ndarray,
    samplerate: int,
    frames: int,
    params: TrimParams | None = None,
    read: Reader | None = None,
) -> Bounds | None:
    """The note's bounds from chunk powers, or None when there is no sound.

    The note grows from the longest sound.  ``read`` gives access to the
    audio so that the few sounds near the note can be judged (clicks and
    bright bursts are left out); without it only timing and levels decide.
    """
    seg = _Segmenter(powers, samplerate, frames, params or TrimParams(), read)
    if not seg.regions:
        return None
    a, b, _, _ = seg.grow(seg.longest(list(range(len(seg.regions)))))
    return seg.bounds(a, b)


def find_notes(
    powers: np.ndarray,
    samplerate: int,
    frames: int,
    params: TrimParams | None = None,
    read: Reader | None = None,
) -> list[Bounds]:
    """Every note in a capture of consecutive notes, in time order.

    The same segmenting as :func:`find_bounds`, repeated: the longest sound
    not yet taken seeds a note, which grows by the same rules but never into
    another note.  A grown sound is a note if it lasts ``min_note_s``, is
    not brighter than speech (``bright_hz``) and could be a voice (see
    :mod:`loopcap.trim.voice`); otherwise (a notification sound, a click) it is
    left out.  Notes never overlap.
    """
    params = params or TrimParams()
    seg = _Segmenter(powers, samplerate, frames, params, read)
    owner: list[int | None] = [None] * len(seg.regions)  # note index, or -1 for "not a note"
    spans: list[tuple[int, int]] = []
    min_len = params.min_note_s / params.hop_s
    while free := [i for i, o in enumerate(owner) if o is None]:
        core = seg.longest(free)
        lo = core
        while lo > 0 and owner[lo - 1] is None:
            lo -= 1
        hi = core + 1
        while hi < len(owner) and owner[hi] is None:
            hi += 1
        a, b, first, last = seg.grow(core, lo, hi)
        is_note = b - a >= min_len and seg.bright(a, b) <= params.bright_hz and seg.voice(a, b)
        mark = len(spans) if is_note else -1
        for i in range(first, last + 1):
            owner[i] = mark
        if is_note:
            spans.append((a, b))
    spans.sort()
    notes = []
    for k, (a, b) in enumerate(spans):
        # A note's quiet edges may reach halfway to its neighbours, no further.
        lo = 0 if k == 0 else (spans[k - 1][1] + a) // 2
        hi = None if k == len(spans) - 1 else (b + spans[k + 1][0]) // 2
        notes.append(seg.bounds(a, b, lo, hi))
    return notes


def _meter_of_array(
    x: np.ndarray, samplerate: int, params: TrimParams | None
) -> tuple[LevelMeter, Reader]:
    """A LevelMeter fed with an array held in memory, and a reader of it."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    meter = LevelMeter(samplerate, params)
    meter.feed(x)
    return meter, lambda a, b: x[a:b]


def bounds_of_array(
    x: np.ndarray, samplerate: int, params: TrimParams | None = None
) -> Bounds | None:
    """The note's bounds in an array held in memory (frames or frames x channels)."""
    meter, read = _meter_of_array(x, samplerate, params)
    return meter.find_bounds(read)


def notes_of_array(
    x: np.ndarray, samplerate: int, params: TrimParams | None = None
) -> list[Bounds]:
    """Every note in an array held in memory (see :func:`find_notes`)."""
    meter, read = _meter_of_array(x, samplerate, params)
    return meter.find_notes(read)
