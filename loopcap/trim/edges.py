"""Another app's sound against the note's edge: a chime or a click that
overlaps the note's own floor before its voice (the lead-in) or after it
(the tail).  Pure numpy, no I/O.

Where the note's own floor (its microphone's noise) is audible over the
capture's, a sound that overlaps it is not separated from the note by any
silence, and the segmenter keeps it with the note (issue 15: 3 of 17
notification sounds and clicks near the note kept).  Here the note's span is
looked at once more: its first and last stretch of sound, up to the first
(last) dip to the note's own floor that lasts ``DIP_S``, is left out when it
is clearly no voice: a click or a shutter
(:data:`~loopcap.trim.edgefloor.CLICK_HZ`), a chime
(``CHIME_SHARE``, ``SHORT_CHIME_S``), a burst of noise (``NOISE_HZ``) or a
dark knock (``KNOCK_S``).  The cut goes where the note's own floor begins
(ends): followed under the sound's end band by band
(:func:`~loopcap.trim.spectrum.floor_reach`) where the sound leaves room for
it, else where the sound has faded into it.  And where the note's
floor stops altogether (its level halfway down to the capture's floor), the
note is not, and what lies beyond is another sound, whatever it sounds
like (a knock after a short silence).

Where the note's floor stands
:data:`~loopcap.trim.edgefloor.SEEN_OWN_DB` over the capture's, its
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
edge, too short for a dip after it, is left out
(:data:`~loopcap.trim.edgefloor.EDGE_CLICK_S`).  Where a sound is left out
and the note's floor is heard, the cut goes a chunk further in: the chunk
that holds the sound's last moments and the note's first (:func:`_inward`).

Levels are dBFS, durations seconds (the constants' ``_S``).

Spans are chunk indices ``[a, b)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .edgefloor import (
    CLICK_HZ,
    GONE_MIN_DB,
    MAX_EDGE_SOUND_S,
    OWN_FLOOR_DEPTH_DB,
    edge_clicks,
    floor_gone,
    floor_held,
    floor_measured,
    floor_onset,
    level_reach,
)
from .levels import levels_db, to_db
from .looks import ALONE_S, HELD_GAP_S, FloorEdge, FloorLook
from .ownfloor import quietest_db
from .params import TrimParams, window_chunks

__all__ = ["leave_out_edge_sounds"]

#: A dip to the note's own floor this long (s) ends a sound at the edge: as
#: long as a stop consonant's closure, so a syllable's parts are not taken
#: apart.
DIP_S = 0.03
#: ...a dip: levels over ``EDGE_S`` at most this far (dB) over that floor.
DIP_DB = 4.0
EDGE_S = 0.05
#: ...and so must its last (first) this long (s) next to the dip: a chime
#: that runs into the note's first syllable is kept.  That part ends
#: (begins) ``EDGE_S / 2`` short of the dip: a dip by 50 ms levels begins
#: that long after the sound has ended, and the note's own floor there, with
#: a voice's share under 400 Hz, is no part of it (seed 5 mix039: a chime's
#: part 5.5% with it).
NEAR_DIP_S = 0.15
#: A sound at the edge is a click or a shutter when its RMS frequency lies
#: above ``CLICK_HZ`` (:mod:`~loopcap.trim.edgefloor`), or a burst of noise
#: when it lies above this (Hz) and less of its power than a voice's
#: (``voice_low_share``) lies under 400 Hz: freedesktop's trash-empty 5,200
#: Hz and 5% there, the note's own first and last sounds at most 3,650 Hz in
#: the benchmark's captures (seeds 1-9).
NOISE_HZ = 4600.0
#: A sound at the note's start no longer than ``FRICATIVE_S`` (s), under
#: ``FRICATIVE_HZ`` and followed by a dip no longer than ``FRICATIVE_GAP_S``
#: (s) is the note's first fricative, its vowel just after, however little
#: of it lies under 400 Hz: an "s" over a hiss 5,950-6,700 Hz, 10-55 ms
#: before a dip of 30-65 ms (seed 22 case002, case024; seed 6 case034,
#: mix025; seed 16 case059), clicks and shutters at least 9,800 Hz (seeds
#: 1-22).  At the note's end a sound like it after a short dip is another's
#: (seed 18 mix022: 52 ms at 5,960 Hz after a dip of 38 ms).
FRICATIVE_S = 0.06
FRICATIVE_HZ = 7500.0
FRICATIVE_GAP_S = 0.07
#: ...or a chime when it lasts at least ``MIN_CHIME_S`` and less than this
#: share of its power (and of its part next to the dip) lies under 400 Hz:
#: notification sounds 0-4.7% there, the note's own quiet syllables under a
#: hiss at least 5.5% over the whole or the part (``voice_low_share`` is
#: 8%: a looser test, for sounds across a pause, not inside the note).
CHIME_SHARE = 0.05
MIN_CHIME_S = 0.05
#: ...or a short chime when it lasts at least ``SHORT_CHIME_S``, less than
#: ``SHORT_CHIME_SHARE`` of its power lies under 400 Hz and its RMS
#: frequency lies under ``SHORT_CHIME_HZ``: a tone between 400 Hz and a few
#: kHz (freedesktop's dialog-information, 40-45 ms of it before the dip:
#: 0.3-2.1% under 400 Hz, 870-885 Hz), where the note's own short sounds
#: with so little under 400 Hz are its fricatives (3,900 Hz and brighter)
#: in the benchmark's captures (seeds 1-18).
SHORT_CHIME_S = 0.03
SHORT_CHIME_SHARE = 0.025
SHORT_CHIME_HZ = 2000.0
#: ...or a knock (a thud, a tap) when it lasts ``SHORT_CHIME_S`` to
#: ``KNOCK_S`` (s), its RMS frequency lies under ``KNOCK_HZ``, it reaches
#: its peak within ``KNOCK_RISE_S`` (s) of rising to ``KNOCK_DB`` (dB) under
#: it, and lies ``KNOCK_DB`` under it from ``KNOCK_FALL_S`` (s) after it to
#: its end: freedesktop's device-added and device-removed (two dark thuds,
#: 35-160 ms each before a dip, 820-1,070 Hz: within 2.5 ms of their peak,
#: 20.7-28 dB under it 20 ms later), where the note's own sounds that rise
#: and fall that fast are brighter (1,225 Hz and over) or take 5 ms to their
#: peak (syllables at twice their speed), and its dark ones that rise that
#: fast lie at most 19.6 dB under their peak 20 ms later, in the
#: benchmark's captures (seeds 1-18).  The rise bounds it too: a thud's
#: onset can lie just under ``KNOCK_DB`` 5 ms before its peak
#: (device-added's second thud, 20.1 dB, seed 13): at 20.5 dB that thud
#: takes 5 ms to its peak and is kept.
KNOCK_S = 0.2
KNOCK_HZ = 1100.0
KNOCK_RISE_S = 0.0025
KNOCK_DB = 20.0
KNOCK_FALL_S = 0.02
#: ...and a few knocks (device-added's two thuds, 0.16 s apart, in one
#: sound where the dip between them lies over the note's floor): at most
#: ``MAX_KNOCKS``, each ``KNOCK_APART_S`` (s) after the one before (the
#: note's own sounds that rise that fast twice do so 20-23 ms apart), each
#: adding ``KNOCK_S`` to how long they may last.
MAX_KNOCKS = 2
KNOCK_APART_S = 0.1
#: At most this many sounds are left out at either edge.
MAX_EDGE_SOUNDS = 4
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
#: ...but after the note, where its voice is heard into the dip, this far
#: (s): a voice fades more slowly than it begins, and its clean last
#: moments go on under the capture's floor (seed 1 mix045: 30 ms past where
#: it stood over a hiss).
FADE_MARGIN_S = 0.05
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
    narrowed: tuple[bool, bool] = (False, False),
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
    ``narrowed``: the span's start (end) was already cut where the note's
    floor stops.
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
    (qa, qb), own = quietest_db(middle, params)
    edge = levels_db(inner, params, frame_s=EDGE_S)
    # A floor lies far under the note's loudest: else the quietest stretch is
    # a weak syllable (a note without pauses), and only the capture's floor
    # can tell where a sound at the edge ends.  Where the note's floor is
    # buried under the capture's, a dip is that too.
    audible_own = floor_db + params.close_db <= own <= float(edge.max()) - OWN_FLOOR_DEPTH_DB
    # Dips lie at the note's floor where it lies far under its loudest, even
    # a few dB over the capture's (a hum's): a click's lead-in is one.
    at_floor = own > float(edge.max()) - OWN_FLOOR_DEPTH_DB  # dips at the capture's floor
    reference = floor_db if at_floor else own
    # The note's quietest lies under the capture's floor: its own floor is
    # buried there (a note without pauses, a steady sound, has none).
    buried = own < floor_db + params.close_db
    gone = (own + floor_db) / 2
    if own - floor_db >= GONE_MIN_DB and not floor_held(middle[qa:qb], gone, floor_db, params):
        # Nor is a quietest stretch that falls halfway to the capture's floor
        # the note's floor: a quiet syllable and a gap between words.
        audible_own, reference, at_floor = False, floor_db, True
    if audible_own and own - floor_db >= GONE_MIN_DB and not any(narrowed):
        # The note's floor, once begun, goes on to its last sample: where
        # the level falls halfway to the capture's floor, the note is not
        # (yet, or any more), and a sound beyond that is another's.
        na, nb = floor_gone(powers, a, b, gone, params)
        if (na, nb) != (a, b):
            return leave_out_edge_sounds(
                powers,
                na,
                nb,
                floor_db,
                params,
                low_share,
                bright,
                reach,
                audible,
                (na != a, nb != b),
                look,
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
    if look is not None and floor_measured(
        look, powers, a, b, quarter, (qa, qb), floor_db, edge, params
    ):
        walks = [
            look.edge(a, b, params, True, narrowed[0]),
            look.edge(a, b, params, False, narrowed[1]),
        ]
    lead_walk, tail_walk = walks
    # "edge": the floor reaches the edge, whatever lies over it is the note's;
    # "floor": it stops short of the edge, what lies beyond is not the note's.
    lead_at = lead_walk[1] if lead_walk is not None and lead_walk[0] != "fills" else None
    tail_at = tail_walk[1] if tail_walk is not None and tail_walk[0] != "fills" else None
    if not dips:
        na = a if lead_at is None else lead_at
        nb = b if tail_at is None else tail_at
        if nb <= na:
            return a, b
        return _inward(a, b, *edge_clicks(powers, na, nb, params, bright), buried)
    longest = window_chunks(MAX_EDGE_SOUND_S, params)
    shortest = window_chunks(MIN_CHIME_S, params)
    short = window_chunks(SHORT_CHIME_S, params)
    knock_long = window_chunks(KNOCK_S, params)
    apart = window_chunks(KNOCK_APART_S, params)

    def knocked(x: int, y: int) -> bool:
        """Whether [x, y) is one knock or a few (see ``KNOCK_S``): each
        rises to its peak and falls from it as a knock does, and each after
        the first comes ``KNOCK_APART_S`` after the one before."""
        lv = to_db(powers[x:y].astype(np.float32))
        over = lv > float(lv.max()) - KNOCK_DB
        rise = window_chunks(KNOCK_RISE_S, params)
        fall = window_chunks(KNOCK_FALL_S, params)
        peaks: list[int] = []
        i = 0
        while i < len(lv) and over[i:].any():
            start = i + int(np.argmax(over[i:]))
            peak = start + int(np.argmax(lv[start : start + fall]))
            if peak - start > rise or (peaks and peak - peaks[-1] < apart):
                return False
            peaks.append(peak)
            i = peak + fall
        return 1 <= len(peaks) <= MAX_KNOCKS and y - x <= len(peaks) * knock_long

    near = window_chunks(NEAR_DIP_S, params)
    smear = window_chunks(EDGE_S / 2, params)
    margin = window_chunks(REACH_MARGIN_S, params)
    fade = window_chunks(FADE_MARGIN_S, params)
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
        if y - x >= short and hz < KNOCK_HZ and knocked(x, y):
            return True  # a knock, a thud
        if y - x < shortest:
            # A short chime (its part next to the dip is the whole).
            return y - x >= short and hz < SHORT_CHIME_HZ and low_share(x, y) < SHORT_CHIME_SHARE
        return low_share(x, y) < CHIME_SHARE and low_share(x2, y2) < CHIME_SHARE

    def fricative(x: int, y: int, dip: tuple[int, int]) -> bool:
        """Whether [x, y), before ``dip``, is the note's first fricative
        (see ``FRICATIVE_S``)."""
        short_gap = dip[1] - dip[0] <= window_chunks(FRICATIVE_GAP_S, params)
        if y - x > window_chunks(FRICATIVE_S, params) or not short_gap:
            return False
        return bright(x, y) < FRICATIVE_HZ

    # From each end, sound by sound (a double click, a two-tone chime), up
    # to the first that could be the note's.
    na, nb = a, b
    k = 0 if lead_at is None else len(dips)
    while k < len(dips) and k < MAX_EDGE_SOUNDS:
        x, y = na, a + dips[k][0]
        h = min(smear, (y - x) // 2)
        if y <= x or fricative(x, y, dips[k]) or not other(x, y, max(x, y - h - near), y - h):
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
        na = runs[0][0] if runs else floor_onset(powers, edge, a, dips[k - 1], own, params, True)
    elif k and audible_own:
        na = floor_onset(powers, edge, a, dips[k - 1], own, params, forwards=True)
        if reach is not None and dips[0][0] >= MIN_REACH_CHUNKS:
            # The note's floor followed under the sound's end, before the
            # dip; where it goes on into the sound's outer half, the sound
            # fills every band (a shutter) and the floor cannot be followed.
            half = a + dips[0][0] // 2
            under = reach((na, a + dips[k - 1][1]), na, half)
            if under > half + margin:  # else the sound fills every band
                na = min(na, under)
    elif k and audible is not None and (buried or at_floor):
        # The note's floor is buried, or not told from its quiet syllables
        # (it lies less than OWN_FLOOR_DEPTH_DB under its loudest, or is not
        # held), and the dips were looked for at the capture's floor: the dip holds that
        # floor and perhaps the sound's faded tail; the note begins where
        # the dip's end stands over the floor's spectrum or, over 10 ms, its
        # level (less a margin): a faint first syllable under the hiss
        # stays.  (Issue 15: else the cut went just after a click left out,
        # and the 0.4-0.6 s of the capture's floor up to the note stayed.)
        d0, d1 = a + dips[k - 1][0], a + dips[k - 1][1]
        heard = min(audible(d1, d0), level_reach(powers, d1, d0, floor_db, params))
        na = max(na, min(d1, heard - margin))
        if buried and look is not None:
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
        h = min(smear, (y - x) // 2)
        if y <= x or not other(x, y, x + h, min(y, x + h + near)):
            break
        nb = x
        j -= 1
    if tail_at is not None:
        nb = tail_at
    elif j < len(dips) - 1 and audible_own and look is not None and tail_walk is not None:
        d0, d1 = a + dips[j + 1][0], a + dips[j + 1][1]
        runs = look.alone(d0, min(b, d1 + window_chunks(EDGE_S / 2, params)), alone, False)
        nb = runs[-1][1] if runs else floor_onset(powers, edge, a, dips[j + 1], own, params, False)
    elif j < len(dips) - 1 and audible_own:
        nb = floor_onset(powers, edge, a, dips[j + 1], own, params, forwards=False)
        if reach is not None and b - a - dips[-1][1] >= MIN_REACH_CHUNKS:
            half = b - (b - a - dips[-1][1]) // 2
            under = reach((a + dips[j + 1][0], nb), nb, half)
            if under < half - margin:
                nb = max(nb, under)
    elif j < len(dips) - 1 and audible is not None and (buried or at_floor):
        d0, d1 = a + dips[j + 1][0], a + dips[j + 1][1]
        heard = max(audible(d0, d1), level_reach(powers, d0, d1, floor_db, params))
        nb = min(nb, max(d0, heard + (fade if heard > d0 else margin)))
        if buried and look is not None:
            r1 = min(d1, d0 + window_chunks(BURIED_REF_S, params))
            if look.measure(d0, r1):
                nb = min(nb, look.reach(r1, d1, window_chunks(HELD_GAP_S, params)))
    if nb <= na:
        return a, b
    return _inward(a, b, *edge_clicks(powers, na, nb, params, bright), buried)


def _inward(a: int, b: int, na: int, nb: int, buried: bool) -> tuple[int, int]:
    """The note [na, nb) found in [a, b), a chunk further in at an edge
    where a sound was left out, unless the note's floor is buried there:
    that chunk holds the sound's last (first) moments and the note's first
    (last) ones, and its floor is no voice (seed 39 mix015: a click over
    the note's first sample, 0.8 ms of it kept).  Where the floor is
    buried, the cut lies at the voice's faint onset, a margin out already
    (``REACH_MARGIN_S``), and stays (seed 39 mix021: 1.2 ms of a knock
    kept over a hum)."""
    if buried or nb - na <= 2:
        return na, nb
    return na + (na > a), nb - (nb < b)
