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
(``CHIME_SHARE``) or a burst of noise (``NOISE_HZ``).  The cut goes where
the note's own floor begins (ends): followed under the sound's end band by
band (:func:`~loopcap.trim.spectrum.floor_reach`) where the sound leaves
room for it, else where the sound has faded into it.  And where the note's
floor stops altogether (its level halfway down to the capture's floor), the
note is not, and what lies beyond is another sound, whatever it sounds
like (a knock after a short silence).

Where the note's floor stands ``SEEN_OWN_DB`` over the capture's, its
spectrum decides first (:meth:`~loopcap.trim.looks.FloorLook.edge`): followed
outwards, 10 ms frame by frame, from where it is alone nearest either edge,
while every band holds it.  Where a band it held alone empties, the note
has begun (ended), whatever lies beyond: a knock over the note's first
sample, the far half of a short chime (the note's edge may lie anywhere
under it, its middle too).  Where it is alone up to the edge, whatever lies
over it inside is the note's (a click over its floor before the floor
stops).  Where a sound drowns every band for long, or the floor goes on
under it to its first sample, where the note began cannot be told: the
sound is left out by its look as above, up to where the floor is alone.
Where the note's floor is buried, the floors as they are just next to its
voice are followed out into the dip the same way: a sound's faded tail
beyond where the note began is left out.  Last, a bright click on the very
edge, too short for a dip after it, is left out (``EDGE_CLICK_S``).

Spans are chunk indices ``[a, b)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .levels import levels_db, median_of, quietest, to_db
from .looks import ALONE_S, HELD_GAP_S, FloorEdge, FloorLook
from .params import MIN_DB, TrimParams, window_chunks
from .spectrum import taken_until_gap

__all__ = ["leave_out_edge_sounds"]

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
#: ...or a burst of noise when its RMS frequency lies above this (Hz) and
#: less of its power than a voice's (``voice_low_share``) lies under 400 Hz:
#: freedesktop's trash-empty 5,200 Hz and 5% there, the note's own first and
#: last sounds at most 3,650 Hz in the benchmark's captures (seeds 1-9).
NOISE_HZ = 4600.0
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
#: Where the note's floor is buried, its faint first (last) moments in a
#: dip next to a sound left out are what stands this far (dB) over the
#: capture's floor over 10 ms (half the ground truth's "audible"), across
#: gaps of ``HEARD_GAP_S`` (s).
HEARD_DB = 3.0
HEARD_GAP_S = 0.2
#: Where the note's floor stands this far (dB) over the capture's, a
#: stretch of ``GONE_S`` (s) whose 10 ms level lies halfway (in dB) between
#: the two has none of the note: it has not begun or has ended there.
GONE_MIN_DB = 12.0
GONE_S = 0.01
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
#: The note's floor is followed by its spectrum (:class:`FloorLook`) where
#: its quietest stretch stands this far (dB) over the capture's floor: some
#: of its bands then stand clear of it...
SEEN_OWN_DB = 3.0
#: ...and where at least ``CHECK_SHARE`` of ``CHECK_FRAMES`` frames spread
#: over the middle half of the note hold it (else that stretch is not its
#: floor: a long chime's faded end reaching into the middle).
CHECK_FRAMES = 48
CHECK_SHARE = 0.9
#: A click on the note's very edge: at most ``EDGE_CLICK_S`` (s) long,
#: ``CLICK_RISE_DB`` (dB) over the ``CLICK_NEXT_S`` (s) next to it inside,
#: brighter than ``CLICK_HZ``; it is left out up to where it has faded to
#: ``CLICK_FADED_DB`` (dB) over that.
EDGE_CLICK_S = 0.02
CLICK_RISE_DB = 10.0
CLICK_NEXT_S = 0.03
CLICK_FADED_DB = 3.0
#: Where the note's floor is buried, the floors as they are over this long
#: (s) next to its voice are followed outwards in the dip.
BURIED_REF_S = 0.1


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
    narrowed: bool = False,
    look: FloorLook | None = None,
) -> tuple[int, int]:
    """The note [a, b) without a chime or click at either edge (see the
    module); ``low_share`` and ``bright`` judge a span of chunks.

    ``reach(own_at, start, bound)``, when given, says how far from chunk
    ``start`` towards ``bound`` the note's floor, alone over the chunks
    ``own_at`` (the dip), goes on under a sound left out (see
    :func:`~loopcap.trim.spectrum.floor_reach`): a chime that overlaps the
    note's first or last moments.  The sound's outer half is never taken.
    ``audible(start, bound)``, when given, says how far from chunk ``start``
    towards ``bound`` the note stands over the capture floor's spectrum (see
    :func:`~loopcap.trim.spectrum.extend_by_spectrum`): where the note's
    floor is buried, the cut goes there, ``REACH_MARGIN_S`` out, rather than
    to the dip's far end, which may hold the sound's faded tail.
    ``narrowed``: the span was already cut where the note's floor stops.
    ``look``, when given, reads the audio's spectrum at the edges (see
    :class:`~loopcap.trim.looks.FloorLook`): where the note's own floor
    begins and ends decides first."""
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
    # Dips lie at the note's floor where it lies far under its loudest, even
    # a few dB over the capture's (a hum's): a click's lead-in is one.
    reference = own if own <= float(edge.max()) - OWN_FLOOR_DEPTH_DB else floor_db
    # The note's quietest lies under the capture's floor: its own floor is
    # buried there (a note without pauses, a steady sound, has none).
    buried = own < floor_db + params.close_db
    if audible_own and own - floor_db >= GONE_MIN_DB and not narrowed:
        # The note's floor, once begun, goes on to its last sample: where
        # the level falls halfway to the capture's floor, the note is not
        # (yet, or any more), and a sound beyond that is another's.
        na, nb = _floor_gone(powers, a, b, (own + floor_db) / 2, params)
        if (na, nb) != (a, b):
            return leave_out_edge_sounds(
                powers, na, nb, floor_db, params, low_share, bright, reach, audible, True, look
            )
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
    # Where the note's own floor stands over the capture's, its spectrum
    # tells where the note is: followed outwards from where it is alone
    # nearest either edge (see FloorLook.edge).
    walks: list[FloorEdge | None] = [None, None]
    if look is not None and _floor_measured(
        look, powers, a, b, quarter, (qa, qb), floor_db, edge, params
    ):
        walks = [look.edge(a, b, params, True), look.edge(a, b, params, False)]
    lead_walk, tail_walk = walks
    # "edge": the floor reaches the edge, whatever lies over it is the note's;
    # "floor": it stops short of the edge, what lies beyond is not the note's.
    lead_at = lead_walk[1] if lead_walk is not None and lead_walk[0] != "fills" else None
    tail_at = tail_walk[1] if tail_walk is not None and tail_walk[0] != "fills" else None
    if not dips:
        na = a if lead_at is None else lead_at
        nb = b if tail_at is None else tail_at
        return _edge_clicks(powers, na, nb, params, bright) if nb > na else (a, b)
    longest = window_chunks(MAX_EDGE_SOUND_S, params)
    shortest = window_chunks(MIN_CHIME_S, params)

    near = window_chunks(NEAR_DIP_S, params)
    margin = window_chunks(REACH_MARGIN_S, params)
    alone = window_chunks(ALONE_S, params)

    def other(x: int, y: int, x2: int, y2: int) -> bool:
        """Whether [x, y) is a click or a chime, and so is its part [x2, y2)
        next to the dip (no syllable there, just before the dip)."""
        if y - x <= 0 or y - x > longest:
            return False
        hz = bright(x, y)
        if hz > CLICK_HZ:
            return True  # a click, a shutter
        if hz > NOISE_HZ and low_share(x, y) < params.voice_low_share:
            return True  # a noise burst (paper crumpled), no voice
        return (
            y - x >= shortest and low_share(x, y) < CHIME_SHARE and low_share(x2, y2) < CHIME_SHARE
        )

    # From each end, sound by sound (a double click, a two-tone chime), up
    # to the first that could be the note's.
    na, nb = a, b
    k = 0 if lead_at is None else len(dips)
    while k < len(dips) and k < MAX_EDGE_SOUNDS:
        x, y = na, a + dips[k][0]
        if y <= x or not other(x, y, max(x, y - near), y):
            break
        na = y
        k += 1
    if lead_at is not None:
        na = lead_at
    elif k and audible_own and look is not None and lead_walk is not None:
        # The floor cannot be followed under the sound (it fills every band,
        # or drowns them): the cut goes where the floor is alone after it.
        d0, d1 = a + dips[k - 1][0], a + dips[k - 1][1]
        runs = look.alone(max(a, d0 - window_chunks(EDGE_S / 2, params)), d1, alone, True)
        na = runs[0][0] if runs else _floor_onset(powers, edge, a, dips[k - 1], own, params, True)
    elif k and audible_own:
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
        # end stands over the floor's spectrum or, over 10 ms, its level
        # (less a margin): a faint first syllable under the hiss stays.
        d0, d1 = a + dips[k - 1][0], a + dips[k - 1][1]
        heard = min(audible(d1, d0), _level_reach(powers, d1, d0, floor_db, params))
        na = max(na, min(d1, heard - margin))
        if look is not None:
            # The note's floor and the capture's, as they are just before
            # its voice (``BURIED_REF_S``), followed outwards: a sound's faded
            # tail beyond where the note began holds no part of it in some
            # band (the note's floor over a hum's empty highs).
            r0 = max(d0, d1 - window_chunks(BURIED_REF_S, params))
            if look.measure(r0, d1):
                na = max(na, look.reach(r0, d0, window_chunks(HELD_GAP_S, params)))
    j = len(dips) - 1 if tail_at is None else -1
    while j >= 0 and len(dips) - 1 - j < MAX_EDGE_SOUNDS:
        x, y = a + dips[j][1], nb
        if y <= x or not other(x, y, x, min(y, x + near)):
            break
        nb = x
        j -= 1
    if tail_at is not None:
        nb = tail_at
    elif j < len(dips) - 1 and audible_own and look is not None and tail_walk is not None:
        d0, d1 = a + dips[j + 1][0], a + dips[j + 1][1]
        runs = look.alone(d0, min(b, d1 + window_chunks(EDGE_S / 2, params)), alone, False)
        nb = runs[-1][1] if runs else _floor_onset(powers, edge, a, dips[j + 1], own, params, False)
    elif j < len(dips) - 1 and audible_own:
        nb = _floor_onset(powers, edge, a, dips[j + 1], own, params, forwards=False)
        if reach is not None and b - a - dips[-1][1] >= MIN_REACH_CHUNKS:
            half = b - (b - a - dips[-1][1]) // 2
            under = reach((a + dips[j + 1][0], nb), nb, half)
            if under < half - margin:
                nb = max(nb, under)
    elif j < len(dips) - 1 and audible is not None and buried:
        d0, d1 = a + dips[j + 1][0], a + dips[j + 1][1]
        heard = max(audible(d0, d1), _level_reach(powers, d0, d1, floor_db, params))
        nb = min(nb, max(d0, heard + margin))
        if look is not None:
            r1 = min(d1, d0 + window_chunks(BURIED_REF_S, params))
            if look.measure(d0, r1):
                nb = min(nb, look.reach(r1, d1, window_chunks(HELD_GAP_S, params)))
    if nb <= na:
        return a, b
    return _edge_clicks(powers, na, nb, params, bright)


def _floor_measured(
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
    it.  Measures it into ``look``."""
    middle = powers[a + quarter : b - quarter]
    qa, qb = quiet
    if floor_db <= MIN_DB + 1.0:
        # Over digital silence the note's floor is never buried: a silent
        # quietest stretch is a gap between the note and a sound joined to
        # it, and the floor is the quietest stretch with sound.
        qa, qb = _quietest_over(middle, floor_db + SEEN_OWN_DB, params)
    seen = float(to_db(np.array([middle[qa:qb].mean()], np.float32))[0])
    if not floor_db + SEEN_OWN_DB <= seen <= float(edge.max()) - OWN_FLOOR_DEPTH_DB:
        return False
    if not look.measure(a + quarter + qa, a + quarter + qb):
        return False
    # The floor goes on under the whole note (frames at the capture's
    # floor are a gap, not the note).
    at = np.linspace(a + quarter, b - quarter - 1, CHECK_FRAMES).astype(np.int64)
    w = window_chunks(params.frame_s, params)
    level = to_db(np.array([powers[c : c + w].mean() for c in at], np.float32))
    return look.held_share(at[level > floor_db + SEEN_OWN_DB]) >= CHECK_SHARE


def _edge_clicks(
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
    next_db = float(median_of(lv[w : w + m]))
    loud = np.flatnonzero(lv[:w] > next_db + CLICK_RISE_DB)
    if len(loud) and bright(a, a + int(loud[-1]) + 1) > CLICK_HZ:
        # ...to where it has faded to the level next to it.
        end = int(loud[-1]) + 1
        while end < w and lv[end] > next_db + CLICK_FADED_DB:
            end += 1
        if end < w:
            na = a + end
    tail = lv[len(lv) - w :]
    next_db = float(median_of(lv[len(lv) - w - m : len(lv) - w]))
    loud = np.flatnonzero(tail > next_db + CLICK_RISE_DB)
    if len(loud) and bright(b - w + int(loud[0]), b) > CLICK_HZ:
        start = int(loud[0])
        while start > 0 and tail[start - 1] > next_db + CLICK_FADED_DB:
            start -= 1
        if start > 0:
            nb = b - w + start
    return na, nb


def _level_reach(
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


def _floor_gone(
    powers: np.ndarray, a: int, b: int, gone: float, params: TrimParams
) -> tuple[int, int]:
    """[a, b) narrowed to the note: up to the nearest stretches on either
    side, ``GONE_S`` or longer, whose 10 ms level lies under ``gone``
    (dBFS), where the note's floor has stopped."""
    short = levels_db(powers[a:b], params)
    low = np.concatenate(([0], (short < gone).astype(np.int8), [0]))
    d = np.diff(low)
    need = window_chunks(GONE_S, params)
    runs = [
        (int(s), int(e))
        for s, e in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True)
        if e - s >= need
    ]
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
    # To the chunk: a 10 ms level spreads a frame's half either side, so the
    # floor begins after the last chunk under ``gone`` near the run's end,
    # and ends at the first such chunk near its start; the chunk next to it
    # holds the floor's first (last) sample somewhere inside, and the cut
    # goes on its inner side, never outside the note.
    half = window_chunks(params.frame_s, params) // 2
    chunk = to_db(powers[a:b].astype(np.float32)) < gone
    na, nb = a, b
    if before:
        s, e = before[-1]
        under = np.flatnonzero(chunk[s : min(len(chunk), e + half)])
        na = a + s + int(under[-1]) + 2 if len(under) else a + e
    if after:
        s, e = after[0]
        lo = max(0, s - half)
        under = np.flatnonzero(chunk[lo:e])
        nb = a + lo + int(under[0]) - 1 if len(under) else a + s
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


def _quietest_over(powers: np.ndarray, above_db: float, params: TrimParams) -> tuple[int, int]:
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
