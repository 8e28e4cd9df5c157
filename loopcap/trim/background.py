"""A sound that plays throughout the capture, under the note: music in
another tab, a hum louder than the device's floor, a video's voice.

Pure numpy, no I/O.  The segmenter (:mod:`loopcap.trim.segmenter`) measures the
capture's floor as its quietest stretch and treats everything well above it
as sound.  Under music or another voice that floor is a quiet moment of the
background, the background itself is "sound" from the first sample to the
last, and the note grows over the whole capture (issue 15: 4 of 6 captures
with music or a tone at about -45 dBFS kept whole, one cut in the wrong
place).

Here the background is modelled from where the note is not: its median
level and the highest it reaches over ``EDGE_S`` and ``CORE_S`` windows,
measured on the capture's first and last ``PROBE_S`` (the lead-in and the
tail a capture has around its note), or on longer probes, up to
``MAX_PROBE_S``, while they hold nothing of the note.  The note is what
stands ``OPEN_DB`` above the most the background reaches, with the
stretches within ``max_pause_s`` that rise above it at all; its edges reach
as far as the level stays ``CLOSE_DB`` over the background's median, then
``PAD_S`` further: what lies there is the note's own floor, buried under the
background, and keeping it costs nothing while cutting a syllable would.
Its start, though, lies no earlier than where it rises out of the
background: its first syllables stand over what the background reaches
(``RISE_PCT``), and its onset before them keeps falling (``RISE_DB``); a
word of a video's voice just before it rises on its own (:func:`~loopcap.trim.runs.rises`).
Its end lies no later than ``FADE_ON_S`` past where its last syllables'
fade stops falling the same way.
A word-final stop's release ("t", "k") comes after its closure, a silence
longer than a syllable's dips, and stands no higher over the background than
the last syllable's fading end: where the walk stopped just after a syllable
that faded from the note's loudest, a sound rising within ``CLOSURE_S`` is
taken in, ``RELEASE_S`` of it (:func:`_release`).

Where the note's own floor is heard over the capture's (a background that
pauses, a video's voice between its words, over digital silence, dither or
a quiet hiss), the note ends where that floor does
(:func:`~loopcap.trim.ownfloor.floor_limits`):
the background's words next to the note, which the level alone cannot tell
from the note's quiet ones, are left out up to their first pause.

Only captures whose lead-in and tail both sound (:func:`spans_capture`), or
around whose note a background plays though the capture's ends are quiet
(:mod:`loopcap.trim.around`), are looked at this way, so a note between
silences is trimmed as it always was.
Where nothing stands clear of the background, the note may still be found by
its own floor alone (:func:`~loopcap.trim.ownfloor.note_by_floor`); else the caller keeps the whole
capture and says why (:data:`BACKGROUND_REASON`).

Positions are chunk indices ``[start, end)``; levels in dBFS.
"""

from __future__ import annotations

import numpy as np

from .levels import levels_db, median_of, percentile_of
from .ownfloor import floor_limits
from .params import TrimParams, window_chunks
from .release import CLOSURE_S, RELEASE_S
from .runs import merge, reach, rises, runs_of, walk

__all__ = [
    "BACKGROUND_REASON",
    "busy_ends",
    "spans_capture",
    "sounds_at_an_end",
    "note_over_background",
    "loudest_group",
]

#: Why a capture is kept whole when its note cannot be told from what plays
#: around it: one line for the user.
BACKGROUND_REASON = (
    "kept whole: something plays throughout the capture (music, a hum or another "
    "voice) and the note could not be told apart from it"
)

#: The capture's first and last stretch (s) taken for the background at
#: first: captures have a lead-in and a tail around the note (the pre-roll).
PROBE_S = 0.3
#: Probes are doubled up to this length (s) while they hold nothing of the note.
MAX_PROBE_S = 2.4
#: ...that is, while the note's loudest quarter second stands this far (dB)
#: over the most they reach.
PROBE_CLEAR_DB = 6.0
#: Longer probes are refused when what they leave out of the note found with
#: shorter ones comes this close (dB) to the note's loudest quarter second:
#: a sentence of the note in a long lead-in, not the background.
NOTE_NEAR_DB = 8.0
#: Captures shorter than three times this (s) count as sounding at both
#: ends only when both probes sound; longer ones also when the note found
#: reaches into a probe, or when one probe sounds and the capture's first
#: and last sounds lie this close to its ends.
NEAR_END_S = 1.0
#: A probe "sounds" when this share of its chunks is ``edge_db`` over the
#: capture's floor (over ``EDGE_S``): a background, or the note itself
#: reaching the edge.  Hiss, hum and dither stay within a dB of the floor.
BUSY_SHARE = 0.5
#: Levels for the background model, over windows of this length (s): long
#: enough that a drum hit counts as one event, short enough for a syllable.
EDGE_S = 0.05
#: Levels for the note's core, over windows of this length (s).
CORE_S = 0.25
#: The walk to the note's edges starts from its moments this close (dB) to
#: its loudest.
LOUD_DB = 20.0
#: The note's core stands this far (dB) above the most the background reaches.
OPEN_DB = 6.0
#: ...and stretches within ``max_pause_s`` of it join when they stand this
#: far above it (dB): quieter syllables after a pause.
JOIN_DB = 1.0
#: The note's edges reach as far as the level stays this far (dB) over the
#: background's median level.
CLOSE_DB = 3.0
#: ...across dips under that of up to this long (s): a syllable fading out.
DIP_S = 0.1
#: ...and where a sound rises over that within ``CLOSURE_S`` (s) after the
#: note's last syllable, ``RELEASE_S`` (s) of it is the note's too: a
#: word-final stop's release ("t", "k"), its voice silent for 0.05-0.25 s
#: (the closure; both from :mod:`~loopcap.trim.release`) before a burst and
#: its breath that may stand no higher over the background than the
#: syllable's fading end did (issue 15: the "t" of "right" and "left" cut,
#: 10-64 ms of audible speech, under a video's voice and music).
#: ...where that syllable faded within this long (s) from this close (dB)
#: to the note's loudest, and from ``OPEN_DB`` over the most the background
#: reaches (over ``EDGE_S``): the walk ended on the note, not on the
#: background.
FADE_DB = 15.0
FADE_S = 0.2
#: ...then this much further (s): the note's own floor before its voice,
#: buried under the background (a phone's note has 0.1 s or more of it).
#: Not past an end found ``FADE_ON_S`` after the fade stopped falling (with
#: the probes that found the note or with grown ones): that limit already
#: holds the floor, and the walk ran on into the background (seeds 1-38: a
#: video's voice or music after the note, 76 captures 7-280 ms nearer the
#: note's end, none cut).
PAD_S = 0.08
#: The note begins no earlier than where it rises out of the background:
#: its first syllables are those that stand over this percentile of the
#: background's short levels (over ``EDGE_S``) on the probes, what the
#: background reaches barring a few of its loudest moments (at its 99th
#: percentile, seeds 1-37: a first syllable 4 dB over a video's words cut,
#: 128 ms of it audible; seed 25 mix046).  Its last syllables are those
#: that stand over the most the background reaches there: the fade's limit
#: (``FADE_ON_S``) keeps the quiet ones beyond, where a video's word at the
#: 96th-100th percentile just after the note was one of them (seeds 1-37:
#: 14 captures 0.03-0.4 s nearer the note's end, none cut)...
RISE_PCT = 95.0
#: ...across dips under that of up to this long (s): the gap before a
#: syllable, a stop's closure (issue 15: a note's first syllable as loud as
#: the video's voice beside it, 0.1-0.15 s before its next one)...
GAP_S = 0.2
#: ...and, before them, its onset, as long as the level keeps falling
#: towards the background's median: it never rises this far (dB) over the
#: lowest it has come to.  A word of a video's voice or a chord of music
#: just before the note is a rise of its own, and the walk over the
#: background's median takes it in whenever it never falls to that median
#: (issue 15: 0.1-0.9 s of a video's voice kept before the note).  Its
#: end likewise, after its last syllables, where its level stops falling...
RISE_DB = 6.0
#: ...then this much further (s), no further than the walk over the
#: background's median: a voice fades out more slowly than it sets in, and
#: its fade goes on under the background's words beside it (issue 15: a
#: video's voice just after the note, 0.1-1.5 s of it kept; seeds 1-23:
#: the voice's fade, to 40 dB under its peak, lasted up to 0.3 s past
#: where the level stopped falling, 0.25 s cut it in two captures).
FADE_ON_S = 0.45
#: Each probe grows on its own by these factors in turn (see :func:`_probed`).
GROW_BY = (2.0, 1.5)
#: A note found over a background must peak this far (dB) over its median;
#: else nothing stands clear of it and the capture is kept whole.
MIN_SNR_DB = 15.0


def spans_capture(
    powers: np.ndarray,
    floor_db: float,
    span: tuple[int, int],
    regions: list[tuple[int, int]],
    params: TrimParams,
) -> bool:
    """Whether something sounds at both ends of the capture: its first and
    last ``PROBE_S`` each sound (``BUSY_SHARE``) or the note found (``span``,
    chunks, its quiet edges taken in) reaches that end (``TOUCH_S``); or one of them sounds and the
    first and last sounds (``regions``) lie within ``NEAR_END_S`` of the
    ends.  A note between silences, with or without a chime beside it, never
    does."""
    n = len(powers)
    probe = window_chunks(PROBE_S, params)
    if n < 3 * probe or not regions:
        return False
    a, b = span
    busy_head, busy_tail = busy_ends(powers, floor_db, params)
    if busy_head and busy_tail:
        return True
    near = window_chunks(NEAR_END_S, params)
    if n < 3 * near:
        return False  # a short capture: a note and its lead-in, nothing more
    if (busy_head or a < probe) and (busy_tail or n - b < probe):
        return True
    # One end sounds, and sounds begin and end near both: music whose
    # plucked notes leave a quiet moment at one end.
    return (busy_head or busy_tail) and regions[0][0] < near and n - regions[-1][1] < near


def busy_ends(powers: np.ndarray, floor_db: float, params: TrimParams) -> tuple[bool, bool]:
    """Whether the capture's first and its last ``PROBE_S`` sound
    (``BUSY_SHARE`` of each ``edge_db`` over the floor); neither does in a
    capture shorter than three probes."""
    n = len(powers)
    probe = window_chunks(PROBE_S, params)
    if n < 3 * probe:
        return False, False

    def busy(lo: int, hi: int) -> bool:
        lv = levels_db(powers[lo:hi], params, frame_s=EDGE_S)
        return bool(np.mean(lv > floor_db + params.edge_db) >= BUSY_SHARE)

    return busy(0, probe), busy(n - probe, n)


def sounds_at_an_end(powers: np.ndarray, floor_db: float, params: TrimParams) -> bool:
    """Whether the capture's first or last ``PROBE_S`` sounds (see :func:`busy_ends`)."""
    return any(busy_ends(powers, floor_db, params))


def _grow_core(
    edge: np.ndarray, threshold: float, join: float, max_gap: int
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The note's core: runs above ``threshold`` joined across gaps up to
    ``max_gap`` chunks, the group with the most such chunks; then runs above
    ``join`` within ``max_gap`` of it, one after another.  Returns the core
    and that group: the note's loudest stretch, where it stands clear of the
    background (the core may take in some of the background too)."""
    groups = merge(runs_of(edge > threshold), max_gap)
    if not groups:
        return None
    ga, gb, _ = max(groups, key=lambda g: g[2])
    return reach(runs_of(edge > join), ga, gb, max_gap), (ga, gb)


def note_over_background(
    powers: np.ndarray, params: TrimParams, floor_db: float | None = None
) -> tuple[tuple[int, int] | None, int, tuple[int, int], int, tuple[int, int] | None]:
    """The note's span (chunks) as what stands above the background, the
    length of the probes (chunks, at either end) the background was measured
    on, the chunks [lo, hi) outside which the note cannot lie (see
    :func:`floor_limits`; the whole capture unless ``floor_db``, the
    capture's floor in dBFS, is given), and the chunk up to which the note
    reaches at least, however its quiet end is found (a word-final stop's
    release, :func:`_release`; 0 where none), and its loudest group (see
    :func:`loudest_group`); the span and the group are None where nothing
    stands clear of the background.

    The background is measured on the capture's ends, ``PROBE_S`` first and
    then twice, four and eight times as long: the longest probes that still
    hold nothing of the note give the best picture of it (a short probe may
    fall in a pause of a video's voice or between two drum hits).  A probe
    holds something of the note when the note found reaches into it, or when
    the probe comes within ``PROBE_CLEAR_DB`` of the note's loudest.  Where
    none do, the note's onset and fade, or unequal probes, may (see
    :func:`_probed`); its edges may then stand further in, found with one
    probe grown longer than the other."""
    edge = levels_db(powers, params, frame_s=EDGE_S)
    # Core and joins on longer windows: over a quarter second a background
    # (a drum hit, a syllable of another voice) varies far less than over
    # 50 ms, while the note's speech stays well above it.
    long = levels_db(powers, params, frame_s=CORE_S)
    best_probe, found = _probed(edge, long, params)
    limits = (0, len(powers))
    if found is None:
        return None, best_probe, limits, 0, None
    best, best_core, best_end, best_start, best_median = found
    # The most the background reaches on the short levels, on the probes.
    reach = max(float(edge[:best_probe].max()), float(edge[len(edge) - best_probe :].max()))
    release = _release(edge, best[0], best_end, best_median + CLOSE_DB, reach + OPEN_DB, params)
    best = (best_start, best[1])
    if floor_db is not None:
        limits = floor_limits(powers, best_core, floor_db, params)
        best = (max(best[0], limits[0]), min(best[1], limits[1]))
    return best, best_probe, limits, min(release, limits[1]), best_core


def _probed(
    edge: np.ndarray, long: np.ndarray, params: TrimParams
) -> tuple[int, tuple[tuple[int, int], tuple[int, int], int, int, float] | None]:
    """The probes' length (chunks, at either end) the background is best
    measured on, and what :func:`_over_probes` finds with them: the note's
    span, its loudest group, where the walk to its end stopped, where it
    begins and the background's median; None where nothing stands clear of
    the background (see :func:`note_over_background`).  Where no equal
    probes hold nothing of the note, they may by its onset and fade, then
    unequal ones (the shortest first: a note near one of the capture's
    ends), by its walk or by its onset and fade, then any where only its
    buried floor would reach into them (see :func:`_over_probes`).

    Then each probe grows on its own, by each factor of ``GROW_BY`` in
    turn (from where the other left it; the first probe first, then the
    last first: one grown may keep the other from growing, seeds 1-23: 5
    captures better), up to ``MAX_PROBE_S`` while it
    still holds nothing of the note: a note that lies nearer one of the
    capture's ends leaves more of the background at the other, and the
    longer that probe, the more of the background's loudest words it holds.
    The note's start found with those probes stands where it is later (issue
    15: a video's voice whose words, louder than the short probes reached,
    joined the note as its quiet syllables after a pause, 0.4-1.5 s of it
    kept before the note), its end where it is earlier but no earlier than
    its fade (see :func:`~loopcap.trim.runs.rises`) found with them: their
    walk over the median, which no longer joins the background's next word,
    stopped a little short of the note's last syllable fading under it
    (within 40 dB of its peak) in two captures.  Probes that double only,
    and then grow by half, each found edges the other did not (seeds 1-23:
    18 captures better, none worse), also where only the note's buried
    floor was let into the probes (issue 15: a video's voice that pauses
    after the note, 2.1 s of its words kept before it)."""
    best: tuple[tuple[int, int], tuple[int, int], int, int, float, int] | None = None
    first = window_chunks(PROBE_S, params)
    best_probes = (first, first)
    # Where no probes hold nothing of the note by its walk over the median,
    # they may still by its onset and fade (see :func:`_over_probes`).
    mode = (False, False)  # (relaxed, touch) of the probes that found ``best``
    for relaxed in (False, True):
        probe_s = PROBE_S
        while probe_s <= MAX_PROBE_S + 1e-9:
            probe = window_chunks(probe_s, params)
            probe_s *= 2
            found, near = _tried(edge, long, (probe, probe), best, params, relaxed)
            if near:
                break
            if found is not None:
                best, best_probes, mode = found, (probe, probe), (relaxed, False)
        if best is not None:
            break
    # Else a probe shorter at one end than at the other, the shortest first:
    # a note near one of the capture's ends.
    longest = window_chunks(MAX_PROBE_S, params)
    lengths = [first * 2**k for k in range(4) if first * 2**k <= longest + 1]
    pairs = sorted(((h, t) for h in lengths for t in lengths if h != t), key=lambda q: (sum(q), q))
    for relaxed, (h, t) in ((r, q) for r in (False, True) for q in pairs if best is None):
        best, best_probes = _tried(edge, long, (h, t), None, params, relaxed)[0], (h, t)
        mode = (relaxed, False)
    # Else the same where only the note's own floor, buried (``PAD_S``),
    # would reach into a probe; the probes then grow the same way.
    for h, t in (q for q in [(f, f) for f in lengths] + pairs if best is None):
        best, best_probes = _tried(edge, long, (h, t), None, params, True, True)[0], (h, t)
        mode = (True, True)
    if best is None:
        return first, None
    # The note's start stands where it is latest, its end where it is
    # earliest but no earlier than its fade, over probes grown each way,
    # tried as the probes that found the note were; grown probes whose
    # loudest group is another sound (their top rose over the note's) found
    # another note, and are not taken.
    start, end = best[3], best[2]
    group = best[1]
    fades = {best[5]}  # the fades' limits (FADE_ON_S on) an end may stop at
    for factor, sides in ((f, o) for f in GROW_BY for o in ((0, 1), (1, 0))):
        grown, grown_probes = best, best_probes
        for side in sides:
            while round(grown_probes[side] * factor) <= longest + 1:
                probes = list(grown_probes)
                probes[side] = round(probes[side] * factor)
                found, _ = _tried(edge, long, (probes[0], probes[1]), grown, params, *mode)
                if found is None or found[1][1] <= group[0] or found[1][0] >= group[1]:
                    break
                grown, grown_probes = found, (probes[0], probes[1])
        start, end = max(start, grown[3]), min(end, grown[5])
        fades.add(grown[5])
    # Never past a stretch within NOTE_NEAR_DB of the note's loudest: the
    # note's own sentences, not the background (a long note over a video's
    # voice, its first 26 s as loud as the rest within 2.5 dB, left out by
    # a start found where a grown probe's top rose; seed 9 long010 of the
    # long notes).
    # (Its quarter seconds wholly outside the note so found: those nearer
    # hear its onset or its fade.)
    loud_db = float(long[group[0] : group[1]].max()) - NOTE_NEAR_DB
    core = round(CORE_S / params.hop_s)

    def loud(a: int, b: int) -> bool:
        return b > a and float(long[a:b].max()) >= loud_db

    if loud(best[3], start - core):
        start = best[3]
    if loud(end + core, best[2]):
        end = best[2]
    if start >= end:
        start, end = best[3], best[2]
    # The end at the fade's limit holds the floor already (see PAD_S).
    pad = 0 if end in fades else round(PAD_S / params.hop_s)
    span = (best[0][0], end + pad)
    return min(best_probes), (span, best[1], end, start, best[4])


def _tried(
    edge: np.ndarray,
    long: np.ndarray,
    probes: tuple[int, int],
    best: tuple[tuple[int, int], tuple[int, int], int, int, float, int] | None,
    params: TrimParams,
    relaxed: bool = False,
    touch: bool = False,
) -> tuple[tuple[tuple[int, int], tuple[int, int], int, int, float, int] | None, bool]:
    """What :func:`_over_probes` finds with ``probes`` (chunks at the
    capture's start and end), in the order :func:`_probed` keeps: the note's
    span, its loudest group, where the walk to its end stopped, where it
    begins, the background's median and where its fade ends, ``FADE_ON_S``
    on (None where it fails), and whether
    what the longer probes drop of the note found before (``best``) comes
    within ``NOTE_NEAR_DB`` of the note's loudest: a sentence of the note
    itself (its first words in a long lead-in), not the background; then
    the answer is None too."""
    found = _over_probes(edge, long, probes, params, relaxed, touch)
    if found is None:
        return None, False
    (a, b), median, core, end, start, fade = found
    if best is not None:
        peak = float(long[a:b].max())
        dropped = [long[best[0][0] : a], long[b : best[0][1]]]
        if any(len(d) and float(d.max()) >= peak - NOTE_NEAR_DB for d in dropped):
            return None, True
    return ((a, b), core, end, start, median, fade), False


def loudest_group(powers: np.ndarray, params: TrimParams) -> tuple[int, int] | None:
    """The note's loudest group (chunks [start, end)) as
    :func:`note_over_background` finds it: its stretches ``OPEN_DB`` over
    the most the background reaches, across pauses up to ``max_pause_s``;
    None where nothing stands clear of the background.  Where the model
    has run, its answer holds the group: no need to run it again."""
    return note_over_background(powers, params)[4]


def _over_probes(
    edge: np.ndarray,
    long: np.ndarray,
    probes: tuple[int, int],
    params: TrimParams,
    relaxed: bool = False,
    touch: bool = False,
) -> tuple[tuple[int, int], float, tuple[int, int], int, int, int] | None:
    """The note's span as far as the level stays over the background's
    median, that median, the note's loudest group (see :func:`_grow_core`),
    where the walk to its end stopped (before ``PAD_S``; no later than its
    fade), where the note begins, where it rises out of the background
    (:func:`~loopcap.trim.runs.rises`, with ``PAD_S``), and where its fade
    ends, ``FADE_ON_S`` on (chunk, see :func:`~loopcap.trim.runs.rises`),
    the background measured on the first and last ``probes`` chunks (the
    median on as many at each end, the shorter probe's length:
    else the longer probe would weigh its end's pauses more); None where
    that fails (see :func:`note_over_background`).  ``relaxed``: the probes
    need hold nothing of the note between its onset and its fade only, the
    span then starting at its onset; with ``touch``, only its own floor
    (``PAD_S``) beyond them may lie in the probes."""
    n = len(edge)
    head, tail = probes
    if head + tail + min(probes) > n:
        return None
    max_gap = round(params.max_pause_s / params.hop_s)
    outside = np.zeros(n, bool)
    outside[:head] = outside[n - tail :] = True
    even = min(probes)
    median = float(median_of(np.concatenate([edge[:even], edge[n - even :]])))
    top = float(long[outside].max())
    grown = _grow_core(long, top + OPEN_DB, top + JOIN_DB, max_gap)
    if grown is None:
        return None
    (a, b), group = grown
    peak = float(long[a:b].max())
    if peak - top < PROBE_CLEAR_DB or float(edge[a:b].max()) - median < MIN_SNR_DB:
        return None
    # From the core's loudest moments outwards, on the short levels.
    loud = np.flatnonzero(edge[a:b] > float(edge[a:b].max()) - LOUD_DB)
    a, b = a + int(loud[0]), a + int(loud[-1]) + 1
    loudest = (a, b)
    dip = round(DIP_S / params.hop_s)
    a, b = walk(edge, a, b, median + CLOSE_DB, long, top + JOIN_DB, max_gap, dip)
    pad = round(PAD_S / params.hop_s)
    if not relaxed and (a - pad < head or n - b - pad < tail):
        return None
    # The note's start: where it rises out of the background (the walk over
    # the median may take in the background's words just before it).
    clear = max(median + CLOSE_DB, percentile_of(edge[outside], RISE_PCT))
    clear_end = max(clear, float(edge[outside].max()))
    gap = round(GAP_S / params.hop_s)
    start, fade = rises(
        edge,
        long,
        a,
        loudest,
        (clear, clear_end),
        top + JOIN_DB,
        median + CLOSE_DB,
        max_gap,
        gap,
        RISE_DB,
    )
    fade += window_chunks(FADE_ON_S, params)
    end = min(b, fade)
    if relaxed:
        # The walk over the median ran into a probe (a video's voice that
        # runs on into the note's lead-in or from its tail without a pause
        # to the median): the note is where it rises out of the background
        # and fades into it, and the probes hold none of it there, nor
        # anything within NOTE_NEAR_DB of its loudest (else they may hold
        # its first or last words: a note that fills the capture).
        margin = 0 if touch else pad
        if start - margin < head or n - end - margin < tail or peak - top < NOTE_NEAR_DB:
            return None
        a = start
    return (a - pad, end + pad), median, group, end, start - pad, fade


def _release(
    edge: np.ndarray, a: int, b: int, close: float, clear: float, params: TrimParams
) -> int:
    """Where a word-final stop's release after the note [a, b) (chunks; ``b``
    where the walk on its short levels, ``edge``, stopped) ends, or 0: the
    first chunk within ``CLOSURE_S`` after ``b`` whose level stands over
    ``close`` again, and ``RELEASE_S`` of what follows.  Only after the
    note's own last syllable, which fades to ``close`` within ``FADE_S`` of
    ``b`` from within ``FADE_DB`` of the note's loudest and from over
    ``clear`` (dBFS; as the note's core stands clear of the background:
    ``OPEN_DB`` over the most it reaches): a walk that ended on the
    background's sound has no closure after it."""
    fade = edge[max(a, b - window_chunks(FADE_S, params)) : b]
    if len(fade) == 0:
        return 0
    top = float(fade.max())
    if top < max(clear, float(edge[a:b].max()) - FADE_DB):
        return 0
    over = np.flatnonzero(edge[b : b + window_chunks(CLOSURE_S, params) + 1] > close)
    if len(over) == 0:
        return 0
    return min(len(edge), b + int(over[0]) + window_chunks(RELEASE_S, params))
