"""The note's own floor: its microphone's noise, heard from its first sample
to its last where it stands over the capture's floor.  Where a background
pauses (a video's voice between its sentences) the level falls to the
capture's floor, and the note's never does: that bounds the note where the
level alone cannot tell its quiet syllables from the background's
(issue 15).  Used by the background model (:mod:`loopcap.trim.background`)
and, where nothing stands clear of the background, to find the note alone.

Pure numpy, no I/O.  Positions are chunk indices ``[start, end)``; levels
in dBFS; times in seconds.
"""

from __future__ import annotations

import numpy as np

from .levels import levels_db, quietest, to_db
from .params import TrimParams, window_chunks
from .runs import runs_of

__all__ = [
    "floor_limits",
    "note_by_floor",
    "quietest_db",
    "gone_runs",
    "floor_begins",
    "floor_ends",
]

#: The note's loudest moment is measured over this window (s), as the
#: background model's short levels are.
PEAK_S = 0.05
#: The note's own floor (the quietest ``floor_window_s`` of the middle half
#: of its core: a pause where the background pauses too) counts where it
#: stands this far (dB) over the capture's floor...
OWN_CLEAR_DB = 12.0
#: ...and this far (dB) under the note's loudest moment (over ``PEAK_S``):
#: else it is a quiet syllable or the background, not the note's floor.
OWN_DEPTH_DB = 30.0
#: Where it counts, a stretch this long (s) whose 10 ms level lies halfway
#: (in dB) between it and the capture's floor holds none of the note.
GONE_S = 0.01
#: A note with no pause in its core is heard at its floor only beside it:
#: the quietest ``floor_window_s`` within this far (s) before its core and
#: within this far after it (the note's lead-in and tail; a capture's note
#: has 0.1-0.5 s of its floor before its first syllable and after its last
#: in the accuracy benchmark)...
BESIDE_S = 0.5
#: ...where the two lie within this far (dB) of each other, as one
#: microphone's noise does on both sides (seed 29 mix040: 4.1 dB apart, a
#: video's word fading into the lead-in); the lower of the two is taken.
AGREE_DB = 6.0
#: Where nothing stands clear of the background by its level, the note is
#: the longest stretch between the background's pauses only where it is
#: this many times as long as the next: else which one it is is a guess.
LONGEST_RATIO = 2.0


def quietest_db(powers: np.ndarray, params: TrimParams) -> tuple[tuple[int, int], float]:
    """The quietest ``floor_window_s`` of ``powers`` (chunks [start, end),
    see :func:`~loopcap.trim.levels.quietest`) and its mean level (dBFS)."""
    qa, qb = quietest(powers, params)
    return (qa, qb), float(to_db(np.array([powers[qa:qb].mean()], np.float32))[0])


def gone_runs(short: np.ndarray, gone: float, params: TrimParams) -> list[tuple[int, int]]:
    """The runs [start, end) (chunks) of ``GONE_S`` or longer where the 10 ms
    levels ``short`` (dBFS) lie under ``gone`` (dBFS): the note's own floor
    is not there."""
    need = window_chunks(GONE_S, params)
    return [(s, e) for s, e in runs_of(short < gone) if e - s >= need]


# To the chunk: a 10 ms level spreads half a frame either side, so the floor
# begins after the last chunk under ``gone`` near a run's end (ends before
# the first near its start); the chunk next to it holds the floor's first
# (last) sample somewhere inside, and the cut lies on its inner side, never
# outside the note.


def floor_begins(powers: np.ndarray, run: tuple[int, int], gone: float, params: TrimParams) -> int:
    """The chunk where the note's floor begins after ``run`` (of
    :func:`gone_runs`, chunks into ``powers``)."""
    s, e = run
    half = window_chunks(params.frame_s, params) // 2
    under = np.flatnonzero(to_db(powers[s : min(len(powers), e + half)].astype(np.float32)) < gone)
    return s + int(under[-1]) + 2 if len(under) else e


def floor_ends(powers: np.ndarray, run: tuple[int, int], gone: float, params: TrimParams) -> int:
    """The chunk where the note's floor ends before ``run`` (of
    :func:`gone_runs`, chunks into ``powers``)."""
    s, e = run
    s0 = max(0, s - window_chunks(params.frame_s, params) // 2)
    under = np.flatnonzero(to_db(powers[s0:e].astype(np.float32)) < gone)
    return s0 + int(under[0]) - 1 if len(under) else s


def floor_limits(
    powers: np.ndarray,
    core: tuple[int, int],
    floor_db: float,
    params: TrimParams,
    own_db: float | None = None,
) -> tuple[int, int]:
    """Chunks [lo, hi) outside which the note cannot lie: where its own floor
    (its microphone's noise, from its first sample to its last; ``own_db``,
    else the quietest ``floor_window_s`` of the middle half of ``core``, or
    where no floor shows there, of its lead-in and tail: :func:`_beside`) is
    heard over the capture's floor (``floor_db``, dBFS), the nearest
    stretches either side of its ``core`` (chunks) where the level falls
    halfway to the capture's floor (``GONE_S`` of 10 ms levels) hold none
    of it.  A
    background with pauses (a video's voice between its sentences) falls
    there, the note never does: its edges stop at the first such stretch,
    wherever the background's level would carry the walk on (issue 15: a
    video's voice kept for seconds beside the note).

    The whole capture where the note's floor is not heard (buried under a
    hiss or hum, or a background that never pauses), and where the level
    falls that far inside the core too (a note whose floor is not
    continuous): unsure, nothing is ruled out."""
    n = len(powers)
    ca, cb = core
    quarter = (cb - ca) // 4
    # The note's floor from the middle half of its core: a pause of the
    # note where the background pauses too, never its quiet edges.
    middle = powers[ca + quarter : cb - quarter]
    measured = own_db is None
    if own_db is None:
        if len(middle) <= window_chunks(params.floor_window_s, params):
            return 0, n
        own_db = quietest_db(middle, params)[1]
    peak = float(levels_db(powers[ca:cb], params, frame_s=PEAK_S).max())
    if not _heard(own_db, floor_db, peak):
        # A note with no pause (one sentence) shows no floor in its core;
        # where the background pauses beside it, its lead-in and tail may
        # (seed 29 mix040: a video's words kept 1.1 s before the note and
        # 0.8 s after it).
        beside = _beside(powers, core, floor_db, peak, params) if measured else None
        if beside is None:
            return 0, n
        own_db = beside
    gone = (own_db + floor_db) / 2
    runs = gone_runs(levels_db(powers, params), gone, params)
    # The note's floor, once heard, goes on to its last sample: a stretch of
    # none of it inside the core says otherwise (a note whose pauses are
    # digital silence, or a floor measured too high where the background
    # filled the note's pauses), and nothing is ruled out.
    if any(s < cb and e > ca for s, e in runs):
        return 0, n
    before = [r for r in runs if r[1] <= ca]
    after = [r for r in runs if r[0] >= cb]
    lo = min(ca, floor_begins(powers, before[-1], gone, params)) if before else 0
    hi = max(cb, floor_ends(powers, after[0], gone, params)) if after else n
    return lo, hi


def _heard(own_db: float, floor_db: float, peak: float) -> bool:
    """Whether a level ``own_db`` (dBFS) can be the note's own floor: it
    stands ``OWN_CLEAR_DB`` over the capture's floor (``floor_db``) and
    ``OWN_DEPTH_DB`` under the note's loudest moment (``peak``)."""
    return own_db - floor_db >= OWN_CLEAR_DB and own_db <= peak - OWN_DEPTH_DB


def _beside(
    powers: np.ndarray, core: tuple[int, int], floor_db: float, peak: float, params: TrimParams
) -> float | None:
    """The note's own floor (dBFS) as heard beside its ``core`` (chunks),
    for a note with no pause in its core: the quietest ``floor_window_s``
    within ``BESIDE_S`` before the core and within ``BESIDE_S`` after it,
    the lower of the two, where both can be its floor (:func:`_heard`) and
    lie within ``AGREE_DB`` of each other; else None."""
    n = len(powers)
    ca, cb = core
    reach = window_chunks(BESIDE_S, params)
    sides = [powers[max(0, ca - reach) : ca], powers[cb : min(n, cb + reach)]]
    if any(len(side) <= window_chunks(params.floor_window_s, params) for side in sides):
        return None
    before, after = (quietest_db(side, params)[1] for side in sides)
    if abs(before - after) > AGREE_DB:
        return None
    if not (_heard(before, floor_db, peak) and _heard(after, floor_db, peak)):
        return None
    return min(before, after)


def note_by_floor(
    powers: np.ndarray, floor_db: float, params: TrimParams
) -> tuple[int, int] | None:
    """The note's span (chunks) by its own floor alone, where nothing stands
    clear of the background by its level (a video's voice as loud as the
    note): the capture's floor (``floor_db``, dBFS) shows, over 10 ms, in
    the background's pauses and never inside the note, whose own floor goes
    on from its first sample to its last.  The note is the longest stretch
    between such pauses, where it is ``LONGEST_RATIO`` times as long as any
    other and holds the capture's loudest moment (over ``PEAK_S``); within
    it, the note reaches as far as its floor is heard (:func:`floor_limits`,
    the floor measured on the middle half of that stretch).  None where any
    of this fails: the capture is then kept whole."""
    short = levels_db(powers, params)
    need = window_chunks(GONE_S, params)
    gaps = [(s, e) for s, e in runs_of(short < floor_db + params.close_db) if e - s >= need]
    n = len(powers)
    cuts = [0, *[x for g in gaps for x in g], n]
    pieces = sorted(
        ((cuts[i], cuts[i + 1]) for i in range(0, len(cuts), 2) if cuts[i + 1] > cuts[i]),
        key=lambda q: q[0] - q[1],
    )
    if len(pieces) < 2:
        return None
    (pa, pb), (qa, qb) = pieces[0], pieces[1]
    loudest = int(np.argmax(levels_db(powers, params, frame_s=PEAK_S)))
    if pb - pa < LONGEST_RATIO * (qb - qa) or not pa <= loudest < pb:
        return None
    quarter = (pb - pa) // 4
    middle = powers[pa + quarter : pb - quarter]
    if len(middle) <= window_chunks(params.floor_window_s, params):
        return None
    own = quietest_db(middle, params)[1]
    lo, hi = floor_limits(powers, (pa + quarter, pb - quarter), floor_db, params, own)
    if (lo, hi) == (0, n):
        return None
    return max(lo, pa), min(hi, pb)
