"""The note's own floor next to a sound at its edge (see
:mod:`~loopcap.trim.edges`): whether it can be followed by its spectrum,
where it stops, where it begins (ends) in a dip, how far a faint first
(last) moment stands over the capture's floor, and a click on the note's
very edge.  Pure numpy, no I/O.

Spans are chunk indices ``[a, b)`` (``hop_s`` each, see
:class:`~loopcap.trim.params.TrimParams`); ``powers`` one mean square per
chunk; levels (``floor_db``, ``gone``, ``edge``) dBFS; the constants' ``_DB``
are dB, their ``_S`` seconds, ``_HZ`` hertz.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .levels import levels_db, median_of, quietest, to_db
from .looks import FloorLook
from .ownfloor import GONE_S, floor_begins, floor_ends, gone_runs
from .params import MIN_DB, TrimParams, window_chunks
from .spectrum import taken_until_gap

__all__ = [
    "floor_measured",
    "edge_clicks",
    "level_reach",
    "floor_gone",
    "floor_held",
    "floor_onset",
    "quietest_over",
]

#: A sound at the edge is a click or a shutter when its RMS frequency lies
#: above this (Hz): clicks, shutters 8,700-12,600 Hz in the benchmark's
#: captures, the note's own last or first sounds (an "s" included) at most
#: 4,100 Hz, but for an "s" over a hiss just before its vowel (see
#: :data:`~loopcap.trim.edges.FRICATIVE_HZ`).
CLICK_HZ = 6000.0
#: Inside the dip after a sound at the note's start, a moment this far (dB)
#: under the note's own floor comes before the note: the floor, once
#: begun, goes on.
DROP_DB = 3.0
#: Where the note's floor is buried, its faint first (last) moments in a
#: dip next to a sound left out are what stands this far (dB) over the
#: capture's floor over 10 ms (half the ground truth's "audible"), across
#: gaps of ``HEARD_GAP_S`` (s).
HEARD_DB = 3.0
HEARD_GAP_S = 0.2
#: Where the note's floor stands this far (dB) over the capture's, a
#: stretch of :data:`~loopcap.trim.ownfloor.GONE_S` (s) whose 10 ms level
#: lies halfway (in dB) between the two has none of the note: it has not
#: begun or has ended there.
GONE_MIN_DB = 12.0
#: The note's quietest stretch is its own floor when it lies this far (dB)
#: under its loudest moment (its levels over 50 ms, the ``edge`` levels its
#: callers pass).
OWN_FLOOR_DEPTH_DB = 30.0
#: Sounds at the edge longer than this (s) are left as they are.
MAX_EDGE_SOUND_S = 3.0
#: The note's floor is followed by its spectrum (:class:`FloorLook`) where
#: its quietest stretch stands this far (dB) over the capture's floor: some
#: of its bands then stand clear of it...
SEEN_OWN_DB = 3.0
#: ...and where at least ``CHECK_SHARE`` of ``CHECK_FRAMES`` frames spread
#: over the middle half of the note hold it (else that stretch is not its
#: floor: a long chime's faded end reaching into the middle).
CHECK_FRAMES = 48
CHECK_SHARE = 0.9
#: The note's floor is steady: over its quietest stretch the levels of its
#: ``TREND_PARTS`` parts lie within ``TREND_DB`` (dB) of each other, where
#: a chime's faded end falls all along (seed 9 mix009).
TREND_PARTS = 4
TREND_DB = 3.0
#: A stretch fades when its level falls (rises) by more than this (dB)
#: from each part to the next: a chime's end 2.2-2.4 dB (seed 9 mix009);
#: a syllable's end falling into the note's floor stops there (seed 4
#: case107: 4.0, 3.7, then 0.1 dB).
FADE_STEP_DB = 1.0
#: ...and a steady stretch stands in for a fading quietest one only from
#: ``STEADY_OVER_DB`` to ``STEADY_NEAR_DB`` (dB) over it: the note's floor
#: lay 6.6 dB over a chime's faded end (seed 9 mix009); a note without
#: pauses has only syllables steady, 31 dB over its quietest (seed 11
#: mix003), and a syllable's end falling into a pause lies 2.5-3 dB under
#: the steady syllables near it (seed 4 case107, seed 13 case025).
STEADY_OVER_DB = 5.0
STEADY_NEAR_DB = 10.0
#: A click on the note's very edge: at most ``EDGE_CLICK_S`` (s) long,
#: ``CLICK_RISE_DB`` (dB) over the ``CLICK_NEXT_S`` (s) next to it inside,
#: brighter than ``CLICK_HZ``; it is left out up to where it has faded to
#: ``CLICK_FADED_DB`` (dB) over that.
EDGE_CLICK_S = 0.02
CLICK_RISE_DB = 10.0
CLICK_NEXT_S = 0.03
CLICK_FADED_DB = 3.0
#: ...and past its faded end, at most ``CLICK_GAP_CHUNKS`` chunks after it
#: (before it, at the note's end) more than ``CLICK_GAP_DB`` (dB) under that
#: level and still brighter than ``CLICK_HZ``, with the chunk next to that:
#: the note's floor begins (ends) inside that chunk (seed 2 mix039, seed 3
#: mix021: a click 4-6 ms before the note's first sample, its last 2-4 ms
#: kept; a dark chunk there is the note's floor flickering, seed 10 mix003).
CLICK_GAP_CHUNKS = 2
CLICK_GAP_DB = 3.0
#: ...or, where that faded end lies under the capture's floor too (a hum's
#: trough), brighter than this (Hz) as it is, with the floor's own power in
#: it (seed 3 mix021: 5,360 Hz, the click 9,800 Hz above the hum; the hum's
#: own chunks under its level at most 451 Hz).
CLICK_FADED_HZ = 4000.0


def floor_measured(
    look: FloorLook,
    powers: np.ndarray,
    a: int,
    b: int,
    quarter: int,
    quiet: tuple[int, int],
    floor_db: float,
    edge: np.ndarray,
    params: TrimParams,
) -> bool:
    """Whether the note [a, b)'s own floor can be followed by its spectrum:
    its quietest stretch in the middle half (``quiet``, from ``a + quarter``)
    stands ``SEEN_OWN_DB`` over the capture's floor and far under the note's
    loudest (``edge``: its 50 ms levels), and frames across the middle hold
    it; where the middle has no such stretch (a note without pauses) or
    only an unsteady one (a word's fading end), its quietest steady stretch
    in its first or last quarter (before its first word, after its last)
    may stand in.  Measures it into ``look``."""
    middle = powers[a + quarter : b - quarter]
    qa, qb = quiet
    if floor_db <= MIN_DB + 1.0:
        # Over digital silence the note's floor is never buried: a silent
        # quietest stretch is a gap between the note and a sound joined to
        # it, and the floor is the quietest stretch with sound.
        qa, qb = quietest_over(middle, floor_db + SEEN_OWN_DB, params)
    # The floor is checked on frames across the middle half...
    lo, hi = a + quarter, b - quarter
    if fading(middle[qa:qb]):
        # A floor is steady; a stretch whose level falls (rises) all along
        # is a sound's faded end reaching into the middle of a short note
        # (seed 9 mix009: a chime's last 0.1 s, 9 dB down over it; a
        # syllable's end and a short pause, seed 13 mix039, is none): the
        # floor is the quietest steady stretch, checked on the middle half's
        # own middle, out of that sound's reach.
        stand_in = quietest_steady(middle, params, (qa, qb))
        if stand_in != (qa, qb):
            qa, qb = stand_in
            lo, hi = lo + quarter // 2, hi - quarter // 2
    unsteady = not steady(middle[qa:qb])
    seen = float(to_db(np.array([middle[qa:qb].mean()], np.float32))[0])
    deepest = float(edge.max()) - OWN_FLOOR_DEPTH_DB
    base = a + quarter
    if seen > deepest or unsteady:
        # A note without pauses: its floor is heard only before its first
        # word and after its last (seed 37 mix039: a chime over its last
        # 33 ms, the floor 25 dB over a dither there and nowhere in its
        # middle, and the chime's end kept).  Nor is an unsteady stretch
        # its floor where a steady one lies there (seed 38 case000: a
        # word's fading end into a gap, 12 dB over the floor at its start
        # and 5 dB at its end; the floor as measured there stopped 0.1 s
        # inside the note's first sample and 0.27 s inside its last).
        outer = _outer_floor(powers, a, b, quarter, floor_db, params)
        if outer is not None:
            (base, qa, qb), seen = outer
        elif not unsteady:
            return False
    if not floor_db + SEEN_OWN_DB <= seen <= deepest:
        return False
    if not look.measure(base + qa, base + qb):
        return False
    # The floor goes on under the whole note (frames at the capture's
    # floor are a gap, not the note).
    at = np.linspace(lo, hi - 1, CHECK_FRAMES).astype(np.int64)
    w = window_chunks(params.frame_s, params)
    level = to_db(np.array([powers[c : c + w].mean() for c in at], np.float32))
    return look.held_share(at[level > floor_db + SEEN_OWN_DB]) >= CHECK_SHARE


def _parts(powers: np.ndarray) -> np.ndarray | None:
    """The mean power of each of ``TREND_PARTS`` equal parts of ``powers``
    (float64); None where a part would hold no chunk."""
    k = len(powers) // TREND_PARTS
    if k == 0:
        return None
    return powers[: k * TREND_PARTS].astype(np.float64).reshape(TREND_PARTS, k).mean(axis=1)


def _holds(parts: np.ndarray) -> bool:
    """Whether the parts' levels lie within ``TREND_DB`` of each other."""
    if parts.min() <= 0.0:
        return bool(parts.max() <= 0.0)
    return bool(10.0 * np.log10(parts.max() / parts.min()) <= TREND_DB)


def steady(powers: np.ndarray) -> bool:
    """Whether the level of ``powers`` (a stretch of chunks) holds: its
    ``TREND_PARTS`` parts' levels lie within ``TREND_DB`` of each other."""
    parts = _parts(powers)
    return parts is None or _holds(parts)


def _outer_floor(
    powers: np.ndarray, a: int, b: int, quarter: int, floor_db: float, params: TrimParams
) -> tuple[tuple[int, int, int], float] | None:
    """The note [a, b)'s floor in its first or last ``quarter`` chunks
    (where it is quieter): the quietest ``floor_window_s`` that stands
    ``SEEN_OWN_DB`` over the capture's floor all along and is steady, as
    ``((offset, qa, qb), level)`` with ``[offset + qa, offset + qb)`` its
    chunks; None where neither quarter holds one."""
    found: tuple[tuple[int, int, int], float] | None = None
    for at in (a, b - quarter):
        part = powers[at : at + quarter]
        qa, qb = quietest_over(part, floor_db + SEEN_OWN_DB, params)
        if qb - qa < window_chunks(params.floor_window_s, params) or not steady(part[qa:qb]):
            continue
        level = float(to_db(np.array([part[qa:qb].mean()], np.float32))[0])
        if level > floor_db + SEEN_OWN_DB and (found is None or level < found[1]):
            found = ((at, qa, qb), level)
    return found


def fading(powers: np.ndarray) -> bool:
    """Whether the level of ``powers`` (a stretch of chunks) falls (or
    rises) all along, by more than ``FADE_STEP_DB`` from each of its
    ``TREND_PARTS`` parts to the next and more than ``TREND_DB`` in all: a
    sound's faded end, no floor (a quiet syllable going into a pause rises
    and falls, or stops falling at the floor)."""
    parts = _parts(powers)
    if parts is None or _holds(parts):
        return False
    step = 10.0 * np.diff(np.log10(np.maximum(parts, 1e-30)))
    return bool((step < -FADE_STEP_DB).all() or (step > FADE_STEP_DB).all())


def quietest_steady(
    powers: np.ndarray, params: TrimParams, found: tuple[int, int]
) -> tuple[int, int]:
    """The quietest ``floor_window_s`` of ``powers`` that is :func:`steady`;
    ``found`` where none is."""
    n = window_chunks(params.floor_window_s, params)
    k = n // TREND_PARTS
    if len(powers) <= n or k == 0:
        return found
    p = powers.astype(np.float64)
    sums = np.convolve(p, np.ones(n), "valid")
    parts = np.convolve(p, np.ones(k), "valid")
    # Each window's parts: the sums of k chunks at offsets 0, k, 2k, ...
    each = np.stack([parts[j * k : j * k + len(sums)] for j in range(TREND_PARTS)])
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = 10.0 * np.log10(each.max(axis=0) / each.min(axis=0))
    ok = spread <= TREND_DB
    if not ok.any():
        return found
    i = int(np.argmin(np.where(ok, sums, np.inf)))
    # ...and near the quietest's level: else the note has no steady floor
    # in its middle (no pause; a steady stretch far above is a syllable).
    # A sound's faded end lies under the note's floor (the note never falls
    # under its own floor while it goes on); a syllable's end falling into
    # a pause does not.
    least = float(powers[found[0] : found[1]].astype(np.float64).sum())
    over = 10.0 * np.log10(sums[i] / least) if least > 0.0 else np.inf
    if not STEADY_OVER_DB <= over <= STEADY_NEAR_DB:
        return found
    return i, i + n


def edge_clicks(
    powers: np.ndarray, a: int, b: int, params: TrimParams, bright: Callable[[int, int], float]
) -> tuple[int, int]:
    """[a, b) without a click on its very edge: a bright transient of at most
    ``EDGE_CLICK_S`` that stands ``CLICK_RISE_DB`` over the ``CLICK_NEXT_S``
    next to it inside, and is over by then."""
    w = window_chunks(EDGE_CLICK_S, params)
    m = window_chunks(CLICK_NEXT_S, params)
    if b - a < 4 * (w + m):
        return a, b
    lv = to_db(powers[a:b].astype(np.float32))
    na, nb = a, b
    # A faded end under the capture's floor too (a hum's trough) is judged
    # as it is: above the floor's, nothing of it is left (seed 3 mix021).
    under = getattr(bright, "under_floor", None)

    def faded(x: int, y: int) -> bool:
        return bright(x, y) > CLICK_HZ or (under is not None and under(x, y) > CLICK_FADED_HZ)

    def over_floor(x: int, y: int) -> bool:
        # A chunk of the faded end that stands over the floor: where the
        # faded end reached only in the floor's trough, the note may begin
        # in the chunk right after it, which stays (seed 3 mix021: the cut
        # lay 3.1 ms into the note's own floor; now 0.6 ms).
        return any(bright(z, z + 1) > CLICK_HZ for z in range(x, y))

    next_db = float(median_of(lv[w : w + m]))
    loud = np.flatnonzero(lv[:w] > next_db + CLICK_RISE_DB)
    if len(loud) and bright(a, a + int(loud[-1]) + 1) > CLICK_HZ:
        # ...to where it has faded to the level next to it.
        end = int(loud[-1]) + 1
        while end < w and lv[end] > next_db + CLICK_FADED_DB:
            end += 1
        # ...and past its faded end under the note's level there, still
        # bright: the note had not begun, and its first sample lies in the
        # chunk after it.
        gap = end
        while (
            gap < min(w, end + CLICK_GAP_CHUNKS)
            and lv[gap] < next_db - CLICK_GAP_DB
            and faded(a + gap, a + gap + 1)
        ):
            gap += 1
        if end < w:  # faded within EDGE_CLICK_S: a click, left out
            past = 1 if over_floor(a + end, a + gap) else 0
            na = a + (min(w, gap + past) if gap > end else end)
    tail = lv[len(lv) - w :]
    next_db = float(median_of(lv[len(lv) - w - m : len(lv) - w]))
    loud = np.flatnonzero(tail > next_db + CLICK_RISE_DB)
    if len(loud) and bright(b - w + int(loud[0]), b) > CLICK_HZ:
        start = int(loud[0])
        while start > 0 and tail[start - 1] > next_db + CLICK_FADED_DB:
            start -= 1
        gap = start
        while (
            gap > max(0, start - CLICK_GAP_CHUNKS)
            and tail[gap - 1] < next_db - CLICK_GAP_DB
            and faded(b - w + gap - 1, b - w + gap)
        ):
            gap -= 1
        if start > 0:
            past = 1 if over_floor(b - w + gap, b - w + start) else 0
            nb = b - w + (max(0, gap - past) if gap < start else start)
    return na, nb


def level_reach(
    powers: np.ndarray, start: int, bound: int, floor_db: float, params: TrimParams
) -> int:
    """How far from chunk ``start`` towards ``bound`` (either side) the 10 ms
    level stays ``HEARD_DB`` over the capture's floor, across gaps of
    ``HEARD_GAP_S``: a faint syllable's end, audible over the hiss though
    its 50 ms level lies in a dip."""
    lo, hi = min(start, bound), max(start, bound)
    heard = levels_db(powers[lo:hi], params) >= floor_db + HEARD_DB
    if start > bound:
        heard = heard[::-1]
    taken = taken_until_gap(heard, window_chunks(HEARD_GAP_S, params))
    return start + taken if start < bound else start - taken


def floor_gone(
    powers: np.ndarray, a: int, b: int, gone: float, params: TrimParams
) -> tuple[int, int]:
    """[a, b) narrowed to the note: up to the nearest stretches on either
    side, ``GONE_S`` or longer, whose 10 ms level lies under ``gone``
    (dBFS), where the note's floor has stopped."""
    runs = gone_runs(levels_db(powers[a:b], params), gone, params)
    if not runs:
        return a, b
    # The note is the longest stretch between such runs; what lies beyond
    # them is left out only where it is shorter than the note and no
    # longer than a sound at its edge can be.
    bounds = [0, *[x for r in runs for x in r], b - a]
    pieces = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]
    p0, p1 = max(pieces, key=lambda p: p[1] - p[0])
    longest = window_chunks(MAX_EDGE_SOUND_S, params)
    before = [r for r in runs if r[1] <= p0 and r[0] <= min(p1 - p0, longest)]
    after = [r for r in runs if r[0] >= p1 and b - a - r[1] <= min(p1 - p0, longest)]
    # To the chunk (see :func:`~loopcap.trim.ownfloor.floor_begins`).
    na = a + floor_begins(powers[a:b], before[-1], gone, params) if before else a
    nb = a + floor_ends(powers[a:b], after[0], gone, params) if after else b
    return (na, nb) if nb > na else (a, b)


def floor_held(powers: np.ndarray, gone: float, floor_db: float, params: TrimParams) -> bool:
    """Whether the note's quietest stretch (``powers``) is its own floor by
    :func:`floor_gone`'s measure: no stretch of ``GONE_S`` or longer in it
    falls under ``gone`` (dBFS).  Over a floor (``floor_db``), a note
    without pauses has no floor of its own there: its quietest stretch is a
    quiet syllable and a short gap between words at the capture's floor,
    and the note's floor is buried (seed 21 case072: a syllable 12.5 dB
    over the hiss taken for it, the first word cut at the next dip)."""
    if floor_db <= MIN_DB + 1.0:
        # Over digital silence the note's floor is never buried (see
        # :func:`floor_measured`): a silent gap there lies between the note
        # and a sound joined to it.
        return True
    under = levels_db(powers, params) < gone
    need = window_chunks(GONE_S, params)
    if len(under) < need:
        return True
    # A run of ``need`` chunks under ``gone``: a window of ``need`` wholly
    # under it.
    whole = np.convolve(under.astype(np.float32), np.ones(need, np.float32), "valid")
    return not bool((whole >= need - 0.5).any())


def floor_onset(
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


def quietest_over(powers: np.ndarray, above_db: float, params: TrimParams) -> tuple[int, int]:
    """The quietest ``floor_window_s`` of ``powers`` whose every 10 ms level
    lies over ``above_db``: the note's own floor in a pause, not a silent gap
    between the note and a sound joined to it; else the quietest."""
    n = window_chunks(params.floor_window_s, params)
    if len(powers) <= n:
        return 0, len(powers)
    over = (levels_db(powers, params) > above_db).astype(np.float32)
    whole = np.convolve(over, np.ones(n, np.float32), "valid") >= n - 0.5
    if not whole.any():
        return quietest(powers, params)
    sums = np.convolve(powers.astype(np.float32), np.ones(n, np.float32), "valid")
    i = int(np.argmin(np.where(whole, sums, np.inf)))
    return i, i + n
