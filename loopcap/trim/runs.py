"""Runs of chunks over a level, and the walks over them that find a
note's edges over a background (:mod:`loopcap.trim.background`).  Pure
numpy, no I/O.

Positions are chunk indices, runs ``[start, end)``; levels in dBFS.
"""

from __future__ import annotations

import numpy as np

__all__ = ["runs_of", "merge", "reach", "walk", "descend", "rises"]


def runs_of(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    edge = np.zeros(1, np.int8)
    d = np.diff(np.concatenate([edge, mask.astype(np.int8), edge]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def merge(runs: list[tuple[int, int]], gap: int) -> list[list[int]]:
    """``runs`` (sorted) joined across gaps up to ``gap`` chunks:
    [start, end, chunks in the runs] each."""
    groups: list[list[int]] = []
    for a, b in runs:
        if groups and a - groups[-1][1] <= gap:
            groups[-1][1], groups[-1][2] = b, groups[-1][2] + b - a
        else:
            groups.append([a, b, b - a])
    return groups


def reach(runs: list[tuple[int, int]], a: int, b: int, gap: int) -> tuple[int, int]:
    """[a, b) widened over the ``runs`` (sorted) that lie within ``gap``
    chunks of it, one after another, outwards."""
    for s, e in reversed(runs):
        if s >= a:
            continue
        if a - e > gap:
            break
        a = s
    for s, e in runs:
        if e <= b:
            continue
        if s - b > gap:
            break
        b = e
    return a, b


def walk(
    edge: np.ndarray,
    a: int,
    b: int,
    close: float,
    long: np.ndarray,
    join: float,
    max_gap: int,
    dip: int,
) -> tuple[int, int]:
    """Widen [a, b) while the short levels stay over ``close``, across dips
    under it of up to ``dip`` chunks (a fading syllable), and over stretches
    within ``max_gap`` whose long level is over ``join`` (a quieter syllable
    after a pause), until neither takes in more.  Runs are listed once, so an
    hour of music costs a pass, not a pass per run."""
    close_runs = [(g[0], g[1]) for g in merge(runs_of(edge > close), dip)]
    join_runs = runs_of(long > join)
    while True:
        na, nb = reach(close_runs, a, b, 0)
        na, nb = reach(join_runs, na, nb, max_gap)
        if (na, nb) == (a, b):
            return a, b
        a, b = na, nb


def descend(edge: np.ndarray, i: int, step: int, close: float, rise: float) -> int:
    """From chunk ``i`` (the note's last chunk standing clear of the
    background, on its short levels ``edge``), the last chunk ``step`` (-1
    outwards before, +1 after) as far as the level stays over ``close``
    (dBFS) and keeps falling: never ``rise`` (dB) over the lowest it has
    reached since ``i``.  A syllable's onset and its fading end are one
    continuous slope; a sound that rises again is another."""
    n = len(edge)
    low = float(edge[i])
    j = i + step
    while 0 <= j < n and edge[j] > close and edge[j] <= low + rise:
        low = min(low, float(edge[j]))
        j += step
    return j - step


def rises(
    edge: np.ndarray,
    long: np.ndarray,
    walked: int,
    loud: tuple[int, int],
    clear: tuple[float, float],
    join: float,
    close: float,
    max_gap: int,
    gap: int,
    rise: float,
) -> tuple[int, int]:
    """Where the note begins, no earlier than ``walked`` (where the walk
    over the background's median stopped), and where its last syllables'
    fade stops falling (chunks [start, end)), from its loudest moments
    ``loud`` (chunks) outwards: over its syllables, whose short levels
    (``edge``) stand over ``clear`` (dBFS: what the background reaches;
    before the note, then after it), across dips under that of up to
    ``gap`` chunks, and quieter ones within
    ``max_gap`` chunks whose ``long`` levels stand over ``join`` (see
    :func:`walk`); then over its onset and its fade as long as the level
    keeps falling towards ``close`` (never ``rise`` dB over the lowest, see
    :func:`descend`).  A video's voice or music just before or after the
    note rises again: a sound of its own, left out."""
    # A quieter syllable after a pause joins as in the walk, by its long
    # level, but only where its short levels stand clear too: a quarter
    # second's level near the note's onset holds some of the note.
    joins = np.where(edge > clear[0], long, -np.inf)
    a, b = walk(edge, *loud, clear[0], joins, join, max_gap, gap)
    if clear[1] > clear[0]:
        # After the note, on its own bar (see background.RISE_PCT).
        joins = np.where(edge > clear[1], long, -np.inf)
        b = walk(edge, *loud, clear[1], joins, join, max_gap, gap)[1]
    start = max(walked, descend(edge, max(a, walked), -1, close, rise))
    return start, descend(edge, b - 1, 1, close, rise) + 1
