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

from dataclasses import dataclass

import numpy as np

__all__ = [
    "TrimParams",
    "Bounds",
    "LevelMeter",
    "chunk_powers",
    "levels_db",
    "estimate_floor_db",
    "find_regions",
    "find_bounds",
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
    #: Sounds separated by less silence than this are one sound (seconds).
    merge_gap_s: float = 0.6
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
    powers = np.einsum("ij,ij->i", rows, rows).astype(np.float64) / width
    bad = ~np.isfinite(powers)
    if bad.any():  # NaN/inf samples (or squares that overflow) count as silence
        fixed = np.nan_to_num(rows[bad], nan=0.0, posinf=0.0, neginf=0.0)
        np.clip(fixed, -1e15, 1e15, out=fixed)
        powers[bad] = (
            np.einsum("ij,ij->i", fixed.astype(np.float64), fixed.astype(np.float64)) / width
        )
    return powers


class LevelMeter:
    """Streaming chunk powers: feed blocks of any length, read ``powers``.

    Memory grows by one float per ``hop`` samples (11 MB for an hour at
    2.5 ms), never with the audio itself.  Single-threaded.
    """

    def __init__(self, samplerate: int, params: TrimParams = TrimParams()) -> None:
        self.samplerate = samplerate
        self.hop = hop_frames(samplerate, params)
        self._carry: np.ndarray | None = None
        self._parts: list[np.ndarray] = []
        self.frames = 0

    def feed(self, block: np.ndarray) -> None:
        block = np.asarray(block, dtype=np.float32)
        if block.ndim == 1:
            block = block[:, None]
        self.frames += len(block)
        if self._carry is not None and len(self._carry):
            block = np.concatenate([self._carry, block])
        usable = len(block) - len(block) % self.hop
        if usable:
            self._parts.append(chunk_powers(block[:usable], self.hop))
        self._carry = block[usable:]

    @property
    def powers(self) -> np.ndarray:
        if len(self._parts) > 1:  # join once, keep only the joined copy
            self._parts = [np.concatenate(self._parts)]
        parts = list(self._parts)
        if self._carry is not None and len(self._carry):
            c = self._carry
            pad = np.zeros((self.hop - len(c), c.shape[1]), np.float32)
            # The last partial chunk: its mean over the samples it has.
            parts.append(chunk_powers(np.concatenate([c, pad]), self.hop) * self.hop / len(c))
        if len(parts) == 1:
            return parts[0]
        return np.concatenate(parts) if parts else np.zeros(0)


def _moving_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Centered moving mean over ``n`` items, same length (edges use what exists).

    Item ``i`` averages ``x[i - n // 2 : i - n // 2 + n]`` clipped to the array.
    Cumulative sums and slices only: no index arrays as long as the input.
    """
    if n <= 1 or len(x) == 0:
        return x.astype(np.float64)
    size, h = len(x), n // 2
    c = np.concatenate(([0.0], np.cumsum(x, dtype=np.float64)))
    out = np.empty(size)
    first, last = h, size - n + h  # items whose window lies wholly inside
    if last >= first:
        out[first : last + 1] = (c[n : size + 1] - c[: size - n + 1]) / n
    for i in [*range(0, min(first, size)), *range(max(last + 1, first, 0), size)]:
        lo, hi = max(i - h, 0), min(i - h + n, size)
        out[i] = (c[hi] - c[lo]) / (hi - lo)
    return out


def _to_db(power: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.maximum(10 * np.log10(np.maximum(power, 0)), MIN_DB)


def levels_db(powers: np.ndarray, params: TrimParams) -> np.ndarray:
    """Levels in dBFS, one per chunk, averaged over ``frame_s``."""
    n = max(1, round(params.frame_s / params.hop_s))
    return _to_db(_moving_mean(powers, n))


def estimate_floor_db(powers: np.ndarray, params: TrimParams) -> float:
    """The capture's floor: the lowest mean level over any ``floor_window_s``."""
    if len(powers) == 0:
        return MIN_DB
    n = max(1, round(params.floor_window_s / params.hop_s))
    if len(powers) <= n:
        return float(_to_db(np.array([powers.mean()]))[0])
    c = np.concatenate([[0.0], np.cumsum(powers, dtype=np.float64)])
    window_means = (c[n:] - c[:-n]) / n
    return float(_to_db(np.array([max(window_means.min(), 0.0)]))[0])


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    if not mask.any():
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def find_regions(levels: np.ndarray, floor_db: float, params: TrimParams) -> list[tuple[int, int]]:
    """Sounds as [start, end) chunk indices: hysteresis, then merging."""
    loud = levels > floor_db + params.open_db
    audible = levels > floor_db + params.close_db
    regions = []
    for a, b in _runs(audible):
        if loud[a:b].any():  # an audible run that somewhere opens the gate
            regions.append((a, b))
    gap = round(params.merge_gap_s / params.hop_s)
    merged: list[tuple[int, int]] = []
    for a, b in regions:
        if merged and a - merged[-1][1] < gap:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def _refine(
    powers: np.ndarray, a: int, b: int, threshold_db: float, params: TrimParams
) -> tuple[int, int]:
    """Move the edges from smoothed levels to the raw chunks: the smoothing
    window blurs an edge by up to half a frame either way."""
    n = max(1, round(params.frame_s / params.hop_s))
    lo = max(0, a - n)
    hits = np.flatnonzero(_to_db(powers[lo : a + n]) > threshold_db)
    if len(hits):
        a = lo + int(hits[0])
    lo = max(0, b - n)
    hits = np.flatnonzero(_to_db(powers[lo : b + n]) > threshold_db)
    if len(hits):
        b = lo + int(hits[-1]) + 1
    return a, b


def find_bounds(
    powers: np.ndarray, samplerate: int, frames: int, params: TrimParams = TrimParams()
) -> Bounds | None:
    """The note's bounds from chunk powers, or None when there is no sound."""
    levels = levels_db(powers, params)
    floor = estimate_floor_db(powers, params)
    regions = find_regions(levels, floor, params)
    if not regions:
        return None
    a, b = max(regions, key=lambda r: (r[1] - r[0], -r[0]))
    a, b = _refine(powers, a, b, floor + params.close_db, params)
    hop = hop_frames(samplerate, params)
    pad = round(params.pad_s * samplerate)
    start = max(0, a * hop - pad)
    end = min(frames, b * hop + pad)
    return Bounds(start, end, floor, samplerate)
