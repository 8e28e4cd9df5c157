"""Sounds in a capture, from its levels: regions, and where their edges lie.

Pure numpy, no I/O.  Step 4 of the trimmer (see :mod:`loopcap.trim.notes`):
runs of chunks above ``floor + open_db``, each widened while the level stays
above ``floor + close_db`` (hysteresis), merged when the silence between
them is shorter than ``merge_gap_s``.  Also the tests on a gap between two
sounds (is it bridged by a note's own floor?) and on a note's edges (quiet
runs next to it, the exact chunk where it becomes audible).

Regions and spans are chunk indices, ``[start, end)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .levels import levels_db, levels_in_blocks, to_db
from .params import TrimParams, window_chunks

__all__ = ["find_regions", "bridged_by_floor", "extend_edges", "refine_edges"]


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
    pieces: Iterable[tuple[int, np.ndarray]]
    if levels is not None:
        pieces = [(0, levels)]
        total = len(levels)
    elif powers is None:
        raise TypeError("find_regions needs levels or powers")
    else:
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

    loud_spans = [(a, b) for a, b, _, _ in merge([r for r in runs if r[2]])]
    quiet_spans = [(a, b) for a, b, n, is_loud in merge(runs) if not is_loud and n >= long_run]
    return sorted(loud_spans + quiet_spans)


def bridged_by_floor(
    powers: np.ndarray, floor_db: float, params: TrimParams
) -> Callable[[int, int], bool]:
    """Whether a gap [a, b) is spanned by something standing above the floor
    over a long window: a note's own noise floor a few dB over the capture's,
    too weak for the short frames.  Computed per gap, on that gap only."""
    n = window_chunks(params.presence_window_s, params)
    threshold = floor_db + params.presence_db

    def bridged(a: int, b: int) -> bool:
        if n <= 1 or b <= a:
            return b <= a
        lo, hi = max(0, a - n), min(len(powers), b + n)
        levels = levels_db(powers[lo:hi], params, frame_s=params.presence_window_s)
        return bool((levels[a - lo : b - lo] > threshold).all())

    return bridged


def extend_edges(
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


def refine_edges(
    powers: np.ndarray, a: int, b: int, threshold_db: float, params: TrimParams
) -> tuple[int, int]:
    """Move the edges from smoothed levels to the raw chunks: the smoothing
    window blurs an edge by up to half a frame either way."""
    n = window_chunks(params.frame_s, params)
    m = max(n, round(params.edge_window_s / params.hop_s))  # how far inside to look
    lo = max(0, a - n)
    hits = np.flatnonzero(to_db(powers[lo : a + m]) > threshold_db)
    if len(hits):
        a = lo + int(hits[0])
    lo = max(0, b - m)
    hits = np.flatnonzero(to_db(powers[lo : b + n]) > threshold_db)
    if len(hits):
        b = lo + int(hits[-1]) + 1
    return a, b
