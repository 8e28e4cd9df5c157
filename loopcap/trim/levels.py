"""Short-time power of a capture: chunk powers, levels and the capture's floor.

Pure numpy, no I/O.  Steps 1-3 of the trimmer (see :mod:`loopcap.trim.notes`):

1. *Chunk powers*: mean square per ``hop_s`` chunk, averaged over channels
   (streamable: :class:`loopcap.trim.meter.LevelMeter` takes blocks of any size).
2. *Levels*: chunk powers averaged over ``frame_s``, in dBFS.
3. *Floor*: the quietest ``floor_window_s`` of the capture (lowest mean power
   over a sliding window); digital zero counts as ``MIN_DB``.

Whole captures (an hour at 2.5 ms is 1.44 million chunks) are scanned in
pieces of ``SCAN_CHUNKS`` so that memory does not grow with their length
beyond the chunk powers themselves.

Why numpy and not scipy here (measured for issue 11, an hour's 1.44 million
chunks): ``scipy.ndimage.correlate1d`` is ~6x slower than ``np.convolve`` for
the 4-chunk frame that every level uses; ``uniform_filter1d`` (a running sum)
is ~4x slower there and leaves a residue (~1e-16) in digital silence after a
loud stretch where the cumulative sums below give exactly 0; and importing
``scipy.ndimage`` adds ~19 MiB to the process, where ``loopcap record``'s peak
RSS is held under 80 MB (docs/benchmarks.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from .params import MIN_DB, TrimParams, window_chunks

__all__ = [
    "SCAN_CHUNKS",
    "chunk_powers",
    "square_sums",
    "powers_of_sums",
    "all_finite",
    "moving_mean",
    "to_db",
    "levels_db",
    "levels_in_blocks",
    "quietest",
    "estimate_floor_db",
    "floor_top_db",
    "floor_spread_db",
    "clear_chunks",
    "clear_between",
    "percentile_of",
    "median_of",
]

#: Chunks handled at once where a whole capture is scanned: an hour at 2.5 ms
#: is 1.44 million chunks; levels for all of them at once would be 6 MB more.
SCAN_CHUNKS = 1 << 16


#: numpy 2's ``vecdot``: a chunk's sum of squares as one BLAS dot product,
#: against ``einsum``'s loop 13% less time for an hour's 2,800 blocks
#: (49 -> 43 ms, its ``errstate`` included) and closer to the exact sum (mean
#: relative error 3.5e-8 against 5.4e-8); numpy 1 has only ``einsum``.
_vecdot = getattr(np, "vecdot", None)


def chunk_powers(x: np.ndarray, hop: int, out: np.ndarray | None = None) -> np.ndarray:
    """Mean square per chunk of ``hop`` samples, averaged over channels.

    ``x`` is (samples,) or (samples, channels); its length must be a multiple
    of ``hop`` (see :class:`~loopcap.trim.meter.LevelMeter` for arbitrary
    blocks).  NaN and infinite samples count as silence so they cannot poison
    the levels.  Returns float32, one power per chunk: written into ``out``
    (float32, one item per chunk) when given, so that a caller keeping them
    all needs no copy.
    """
    sums, rows = square_sums(x, hop, out)
    return powers_of_sums(sums, rows)


def square_sums(
    x: np.ndarray, hop: int, out: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The first half of :func:`chunk_powers`: the sum of squares per chunk
    (float32, into ``out`` when given) and the rows (chunk x samples of all
    channels) they are of; :func:`powers_of_sums` makes them powers."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    rows = x.reshape(-1, hop * x.shape[1])  # one row per chunk, channels interleaved
    # One pass of multiply-add per row: ~10x faster than square-then-sum.
    # float32 is plenty for levels (to -140 dB) and halves the memory per hour.
    if _vecdot is not None:
        # Squares that overflow and signalling NaNs (a damaged file) count as
        # silence (powers_of_sums); vecdot, unlike einsum, would warn of them.
        with np.errstate(over="ignore", invalid="ignore"):
            return _vecdot(rows, rows, out=out), rows
    return np.einsum("ij,ij->i", rows, rows, out=out), rows


def powers_of_sums(sums: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """:func:`square_sums`' sums -> the chunks' powers, in place: divided by
    the samples in a row; a chunk with NaN or infinite samples (or squares
    that overflow) gets the power of its finite samples."""
    width = rows.shape[1]
    sums /= width
    if not all_finite(sums):
        bad = ~np.isfinite(sums)
        if bad.any():
            fixed = np.nan_to_num(rows[bad], nan=0.0, posinf=0.0, neginf=0.0)
            np.clip(fixed, -1e15, 1e15, out=fixed)
            fixed64 = fixed.astype(np.float64)
            sums[bad] = np.minimum(np.einsum("ij,ij->i", fixed64, fixed64) / width, 3e38)
    return sums


def all_finite(x: np.ndarray) -> bool:
    """Whether every item of ``x`` (none negative: sums of squares, powers)
    is finite, from one maximum (a NaN carries into it; a sum could
    overflow, and warn, where every item is finite)."""
    return math.isfinite(np.maximum.reduce(x, axis=None))


def moving_mean(x: np.ndarray, n: int) -> np.ndarray:
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
    # Long windows: differences of a float64 cumulative sum (O(1) per item,
    # and exactly 0 over a run of digital silence, however loud before it).
    c = np.concatenate(([0.0], np.cumsum(x, dtype=np.float64)))
    means = np.empty(size)  # float64, as the sums it comes from
    first, last = h, size - n + h  # items whose window lies wholly inside
    if last >= first:
        means[first : last + 1] = (c[n : size + 1] - c[: size - n + 1]) / n
    for i in [*range(0, min(first, size)), *range(max(last + 1, first, 0), size)]:
        lo, hi = max(i - h, 0), min(i - h + n, size)
        means[i] = (c[hi] - c[lo]) / (hi - lo)
    return means


def to_db(power: np.ndarray, in_place: bool = False) -> np.ndarray:
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
    mean = moving_mean(powers, window_chunks(frame_s or params.frame_s, params))
    return to_db(mean, in_place=mean is not powers and mean.dtype == np.float32)


def levels_in_blocks(
    powers: np.ndarray,
    params: TrimParams,
    frame_s: float | None = None,
    a: int = 0,
    b: int | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start, levels)`` over chunks [a, b) in pieces of ``SCAN_CHUNKS``,
    equal to the matching slices of :func:`levels_db` of the whole array."""
    n = window_chunks(frame_s or params.frame_s, params)
    b = len(powers) if b is None else b
    for s in range(a, b, SCAN_CHUNKS):
        e = min(b, s + SCAN_CHUNKS)
        # The window of an item reaches at most n chunks either way: with that
        # margin, the items of [s, e) see what they would in the whole array.
        lo, hi = max(0, s - n), min(len(powers), e + n)
        yield s, levels_db(powers[lo:hi], params, frame_s)[s - lo : e - lo]


def quietest(powers: np.ndarray, params: TrimParams) -> tuple[int, int]:
    """[start, end) of the quietest ``floor_window_s`` of the capture (chunks);
    the first such stretch where several tie (digital silence).

    "Quietest" is by the float32 sums ``np.convolve(powers, ones, "valid")``
    gives, to the bit; they are found as :func:`_least_window` says."""
    n = window_chunks(params.floor_window_s, params)
    if len(powers) <= n:
        return 0, len(powers)
    ones = np.ones(n, np.float32)
    best, best_i = np.inf, 0
    # One running-sum buffer for every piece: a fresh one each time was a
    # fresh mapping of 0.5 MB, its pages faulted in anew (an hour: 16 -> 9 ms).
    scratch = np.empty(min(len(powers), SCAN_CHUNKS + n - 1) + 1)
    for s in range(0, len(powers) - n + 1, SCAN_CHUNKS):  # window starts s.. in pieces
        piece = powers[s : min(len(powers), s + SCAN_CHUNKS + n - 1)]
        found = _least_window(piece.astype(np.float32, copy=False), ones, best, scratch)
        if found is not None and found[1] < best:
            best, best_i = found[1], s + found[0]
    return best_i, best_i + n


#: Pieces shorter than this (chunks) are summed window by window outright.
_DIRECT_CHUNKS = 4096
#: How far (relative) a float32 sum of a window's powers may lie from the
#: exact sum: 40 terms rounded at most 39 times, 2.3e-6; with a margin.
_F32_SUM_REL = 1e-5
#: ...and absolute, for sums among float32's subnormals (flushed or not).
_F32_SUM_ABS = 1e-35


def _least_window(
    piece: np.ndarray, ones: np.ndarray, best: float, scratch: np.ndarray | None = None
) -> tuple[int, float] | None:
    """(index, sum) of the first window of ``piece`` (float32, ``len(ones)``
    chunks a window) with the least sum as ``np.convolve(piece, ones,
    "valid")`` computes it; None when no sum can lie under ``best``.

    The float32 sums of an hour's 1.44 million windows cost 14 ms, a 20th of
    reading the hour.  Exact float64 window sums from a running sum (cheaper:
    no product per term) bound every window's float32 sum from both sides
    (:data:`_F32_SUM_REL`, and the running sum's rounding: at most
    ``len(piece)`` ulps of its total); the float32 sums are then taken only
    where a window's lower bound lies at or under the least upper bound: every
    other window's sum lies strictly above the least, so the window found is
    the one the sums of every window give.  ``scratch``: float64, at least
    ``len(piece) + 1`` items, overwritten (else a buffer of its own)."""
    n = len(ones)
    m = len(piece) - n + 1
    if len(piece) < _DIRECT_CHUNKS:
        return _first_least(np.convolve(piece, ones, "valid"), 0)
    c = np.empty(len(piece) + 1) if scratch is None else scratch[: len(piece) + 1]
    c[0] = 0.0
    np.cumsum(piece, dtype=np.float64, out=c[1:])
    total = float(c[-1])
    if not math.isfinite(total) or float(piece.min()) < 0.0:
        return _first_least(np.convolve(piece, ones, "valid"), 0)  # no bound holds
    approx = np.subtract(c[n:], c[:m], out=c[:m])
    err = 8.0 * len(piece) * np.finfo(np.float64).eps * total
    top = (float(approx.min()) + err) * (1 + _F32_SUM_REL) + _F32_SUM_ABS
    # A window's lower bound, (approx - err) * (1 - rel) - abs, at or under
    # top: the same as approx at or under this.
    near = np.flatnonzero(approx <= (top + _F32_SUM_ABS) / (1 - _F32_SUM_REL) + err)
    if (float(approx[near].min()) - err) * (1 - _F32_SUM_REL) - _F32_SUM_ABS > best:
        return None  # no window here can be quieter than one found before
    if len(near) > _DIRECT_CHUNKS:
        return _first_least(np.convolve(piece, ones, "valid"), 0)
    # Runs of nearby candidates, each summed as one slice.
    cuts = np.flatnonzero(np.diff(near) > n) + 1
    found: tuple[int, float] | None = None
    for group in np.split(near, cuts):
        g0, g1 = int(group[0]), int(group[-1]) + 1
        here = _first_least(np.convolve(piece[g0 : g1 + n - 1], ones, "valid"), g0)
        if found is None or here[1] < found[1]:
            found = here
    return found


def _first_least(sums: np.ndarray, offset: int) -> tuple[int, float]:
    i = int(np.argmin(sums))
    return offset + i, float(sums[i])


def estimate_floor_db(
    powers: np.ndarray, params: TrimParams, quiet: tuple[int, int] | None = None
) -> float:
    """The capture's floor in dBFS: the lowest mean level over any
    ``floor_window_s`` (``quiet``: that stretch, if already found by
    :func:`quietest`); ``MIN_DB`` for an empty capture."""
    if len(powers) == 0:
        return MIN_DB
    a, b = quiet or quietest(powers, params)
    return float(to_db(np.array([max(float(powers[a:b].mean()), 0.0)]))[0])


#: The floor's spread is measured this far (s) from every sound: a note's
#: own floor before and after its voice is not the capture's.
FLOOR_CLEAR_S = 1.0
#: ...on at most this many chunks (spread evenly): the percentile of an
#: hour's 1.44 million levels would cost more than the rest of the analysis.
FLOOR_SAMPLE = 1 << 14


def clear_chunks(
    n: int, regions: list[tuple[int, int]], params: TrimParams, count: int = FLOOR_SAMPLE
) -> np.ndarray:
    """About ``count`` chunk indices, spread evenly over the capture's ``n``
    chunks, that lie ``FLOOR_CLEAR_S`` or more before its first sound or
    after its last (``regions``): where the floor is alone.  Not between
    sounds: a quiet note over a hum may be heard as a few fragments seconds
    apart, and its quiet syllables between them are no floor.  Empty when
    too few chunks (under ``floor_window_s``) are."""
    clear = window_chunks(FLOOR_CLEAR_S, params)
    keep = np.ones(n, bool)
    if regions:
        keep[max(0, regions[0][0] - clear) : regions[-1][1] + clear] = False
    return _spread(keep, count, params)


def clear_between(
    n: int,
    regions: list[tuple[int, int]],
    note: tuple[int, int],
    params: TrimParams,
    count: int = FLOOR_SAMPLE,
) -> np.ndarray:
    """As :func:`clear_chunks`, but between the first sound and the last,
    half ``FLOOR_CLEAR_S`` or more from each sound and from the ``note``
    (chunks): where :func:`clear_chunks` finds nothing (a click just after
    the capture starts, a chime just before it ends), the floor is still
    alone between such a sound and the note (issue 15: without the floor's
    spectrum, a note's quiet first 16 ms over a hum were cut).  The note's
    quiet syllables between its fragments lie in ``note``."""
    if not regions:
        return np.zeros(0, np.int64)
    keep = np.zeros(n, bool)
    keep[regions[0][0] : regions[-1][1]] = True
    clear = window_chunks(FLOOR_CLEAR_S, params) // 2
    for a, b in [*regions, note]:
        keep[max(0, a - clear) : b + clear] = False
    return _spread(keep, count, params)


def _spread(keep: np.ndarray, count: int, params: TrimParams) -> np.ndarray:
    """About ``count`` of the chunks where ``keep`` holds, spread evenly;
    empty when fewer than ``floor_window_s`` of them do."""
    n = len(keep)
    free = int(np.count_nonzero(keep))
    if free < window_chunks(params.floor_window_s, params):
        return np.zeros(0, np.int64)
    # Every stride-th chunk, never an index array as long as the capture
    # (an hour's would be 11 MB of int64).
    idx = np.arange(0, n, max(1, free // max(1, count)))
    return idx[keep[idx]]


def floor_top_db(
    powers: np.ndarray,
    regions: list[tuple[int, int]],
    params: TrimParams,
    frame_s: float,
    percentile: float = 95.0,
) -> float | None:
    """How high the capture's floor reaches over ``frame_s`` windows (dBFS,
    its ``percentile``), where it is alone (:func:`clear_chunks`); None
    where no such stretch exists.

    Hiss and hum are steady (within a dB of their quietest 0.1 s over 50 ms);
    a fan's rumble or low-passed noise is not, and rises several dB above
    it again and again: a note's quiet edge must stand above that."""
    found = floor_spread_db(powers, regions, params, frame_s, (percentile,))
    return None if found is None else found[0]


def floor_spread_db(
    powers: np.ndarray,
    regions: list[tuple[int, int]],
    params: TrimParams,
    frame_s: float,
    percentiles: tuple[float, ...] = (50.0, 95.0),
) -> list[float] | None:
    """:func:`floor_top_db` at each of ``percentiles`` (dBFS), the windows
    taken once; None where the floor is nowhere alone."""
    n = len(powers)
    idx = clear_chunks(n, regions, params)
    if len(idx) == 0:
        return None
    w = min(window_chunks(frame_s, params), n)
    starts = np.clip(idx - w // 2, 0, n - w)
    windows = np.lib.stride_tricks.sliding_window_view(powers, w)[starts]
    values = windows.mean(axis=1, dtype=np.float64)
    found = np.array([percentile_of(values, q) for q in percentiles], np.float32)
    return [float(v) for v in to_db(found)]


def percentile_of(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` of a 1-D float array without NaN, to the
    bit (its default "linear" method: the same index, weight and
    interpolation, in the array's own dtype), from a partition around the
    two values it needs.

    ``np.percentile`` asks ``np.unique`` for those two indices, and there
    (numpy 2.4) that imports ``numpy.ma`` on the first call in a process:
    6 ms, 0.02x of reading an hour's capture."""
    n = len(values)
    if n == 0:
        raise ValueError("percentile of no values")
    virtual = (n - 1) * (q / 100)
    if virtual >= n - 1:
        return float(values.max())
    i = max(0, math.floor(virtual))
    lo, hi = np.partition(values, (i, i + 1))[[i, i + 1]]
    # numpy weighs in the array's dtype (float32 levels give float32 sums).
    gamma = values.dtype.type(virtual - i)
    diff = hi - lo
    # numpy's _lerp: from the nearer end, so that gamma 1 gives ``hi`` exactly.
    return float(hi - diff * (1 - gamma) if gamma >= 0.5 else lo + diff * gamma)


def median_of(values: np.ndarray, axis: int | None = None) -> np.ndarray:
    """``np.median(values, axis=axis)`` to the bit (the middle value, or the
    mean of the two middle values in ``values``' dtype), without the
    ``numpy.ma`` import that ``np.median`` makes at its first call in a
    process (6 ms; see :func:`percentile_of`).  Values with NaN go to
    ``np.median`` itself."""
    x = np.asarray(values)
    if x.size == 0 or not np.issubdtype(x.dtype, np.floating) or np.isnan(x).any():
        return np.asarray(np.median(values, axis=axis))
    if axis is None:
        x, axis = x.reshape(-1), 0
    size = x.shape[axis]
    h = size // 2
    part = np.moveaxis(np.partition(x, [h - 1, h] if size % 2 == 0 else [h], axis=axis), axis, 0)
    if size % 2:
        return np.asarray(part[h])
    # np.mean of the two: their sum in the dtype, halved (exactly, in any).
    return np.asarray((part[h - 1] + part[h]) / 2)
