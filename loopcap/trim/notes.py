"""Find a voice note's boundaries in a capture: pure numpy, no I/O.

The capture's floor (digital zero, dither, hiss or hum) is estimated from the
capture itself, so a quiet note over a hissy device is judged against that
hiss, not against a fixed threshold.  Steps, all on short-time power:

1. *Chunk powers*: mean square per ``hop_s`` chunk, averaged over channels
   (streamable: :class:`~loopcap.trim.meter.LevelMeter` takes blocks of any
   size).  See :mod:`loopcap.trim.levels`.
2. *Levels*: chunk powers averaged over ``frame_s``, in dBFS.
3. *Floor*: the quietest ``floor_window_s`` of the capture (lowest mean power
   over a sliding window); digital zero counts as ``MIN_DB``.
4. *Regions*: runs of chunks above ``floor + open_db``, each widened while the
   level stays above ``floor + close_db`` (hysteresis), merged when the silence
   between them is shorter than ``merge_gap_s``.  See :mod:`loopcap.trim.regions`.
5. *The note*: the longest region, grown by the rules of
   :mod:`loopcap.trim.segmenter`.
   Other regions (a notification sound, a click) are left out; the few
   sounds near the note are judged by ear (:mod:`loopcap.trim.looks`).

Times are in seconds, levels in dBFS, positions in samples (frames).
"""

from __future__ import annotations

import numpy as np

from .apart import NEAR_DB, WIDEN_LEAD_S, WIDEN_MARGIN_S, beyond_by_speech, widened_over_pauses
from .around import (
    AGREE_S,
    paused_after,
    paused_before,
    plays_around,
    plays_beside,
    quiet_sides,
    settle_edge,
)
from .background import (
    BACKGROUND_REASON,
    CORE_S,
    loudest_group,
    note_over_background,
    sounds_at_an_end,
    spans_capture,
)
from .cutoff import CUT_OFF_REASON, STARTED_REASON, cut_off
from .fragments import could_be_speech, join_fragments, merge_across
from .judge import (
    LEAD_OVER_S,
    LEAD_S,
    MARGIN_OVER_S,
    MARGIN_S,
    REACH_S,
    bounds_of_speech,
    hears_speech,
    phrases_heard,
)
from .levels import levels_db, quietest
from .ownfloor import note_by_floor
from .params import Bounds, Reader, TrimParams
from .regions import extend_edges
from .segmenter import SURELY_NOTE_S, Segmenter
from .spectrum import (
    SPECTRAL_FLOOR_FRAMES,
    SPECTRAL_FRAME_CHUNKS,
    extend_by_spectrum,
)
from .steady import PLAYS_DB, steady_throughout

__all__ = ["find_bounds", "find_notes", "NO_VOICE_REASON", "VOICE_PAUSE_S"]

#: In a single note (:func:`find_bounds`), a sound that could be a voice
#: joins the note across a silent pause up to this long (s), longer than
#: ``max_pause_s``: where the note's quiet syllables are buried under a hum
#: or hiss, its pauses are heard longer than they are.  A minute's note
#: pauses up to 2.5 s now and then; over hiss one such pause was heard as
#: 3.1 s, and at 3 s the note's last 15 s were cut (seed 5 long011 of the
#: accuracy benchmark's long notes).  At 4 s none of the 5,760 captures of
#: seeds 1-32 moved.
VOICE_PAUSE_S = 4.0

#: Where nothing stands clear of a background by its level, the voice
#: detector bounds the capture only where what it hears holds every moment
#: within this many dB of the loudest (over ``CORE_S``): a sentence of the
#: note it missed, a few dB quieter than the loudest, keeps it whole.
LOUDEST_DB = 6.0

#: Why a capture is kept whole when its clearest sound is not a voice and
#: the detector hears one elsewhere: one line for the user.
NO_VOICE_REASON = (
    "kept whole: the clearest sound is not a voice, and the voice heard elsewhere "
    "is too quiet to be told from the floor"
)

#: In a capture of several notes (:func:`find_notes`), a voice joins a note
#: across a silent pause up to this long (s): where the notes' own floors
#: are buried under the device's hiss, a pause inside a note and the gap
#: between two notes are the same sound, and a pause is heard up to 0.3 s
#: longer than it is (its quiet syllables under the hiss).  Two notes saved
#: together are the price; a note is never cut to split it (decided for
#: issue 15).  At ``max_pause_s`` (1.7 s) the split benchmark cut 9 notes of
#: 1,120 in two (four draws), at pauses heard as 1.53-1.78 s; at 2.0 s, one.
SPLIT_PAUSE_S = 2.0


def find_bounds(
    powers: np.ndarray,
    samplerate: int,
    frames: int,
    params: TrimParams | None = None,
    read: Reader | None = None,
) -> Bounds | None:
    """The note's bounds from chunk powers, or None when there is no sound
    (a steady sound over a moment of digital silence at the capture's end
    or start is kept, with a ``reason``: :mod:`loopcap.trim.steady`).

    The note grows from the longest sound.  ``read`` gives access to the
    audio so that the few sounds near the note can be judged (clicks and
    bright bursts are left out); without it only timing and levels decide.
    A note that runs into the capture's end (or start) with silence on its
    other side is kept up to that end, with a ``reason`` that says so
    (:mod:`loopcap.trim.cutoff`).
    """
    params = params or TrimParams()
    seg = Segmenter(powers, samplerate, frames, params, read)
    if not seg.regions:
        # Silence; or one steady sound over a moment of silence (steady.py).
        return steady_throughout(seg.floor, frames, samplerate, params, read, powers, seg.hop)
    # The note grows from the longest sound that could be a voice, and
    # bridges longer silent pauses to voices (a quiet note over a hum: its
    # quiet syllables are under the hum, its pauses heard longer than they
    # are; issue 15).  The splitter bridges less (SPLIT_PAUSE_S): there a
    # longer pause may be the gap to the next note.
    voice_gap = round(VOICE_PAUSE_S / params.hop_s)
    core = seg.voiced(list(range(len(seg.regions))))
    a, b, first, last = seg.grow(core, voice_gap=voice_gap, widen=True)
    within_gap = (a, b)
    a, b, first, last = _far_voices(seg, (a, b, first, last), read)
    # Where voices further out joined, the detector has listened: what it
    # hears beyond them joins too, as where something plays under the note
    # (a quiet note's last sentence that never rose into a sound of its own).
    far = (a, b) != within_gap
    grown = (a, b)
    a, b = seg.quiet_voices(core, a, b)
    found = seg.bounds(a, b, edge_sounds=True)
    hop = seg.hop
    fa, fb = found.start // hop, -(-found.end // hop)  # the note's span in chunks
    # The sounds at the note's edges count here, left out or not: a click
    # on music's first beat is still sound at the capture's start.
    span = seg.outer
    # Or a floor that is not steady (it rises over its quietest again and
    # again) and sounds at one end: music that swells from a quiet moment
    # at the other end (a pad), which is then the capture's "floor".
    unsteady = not seg.steady and sounds_at_an_end(powers, seg.floor, params)
    spans = unsteady or spans_capture(powers, seg.floor, span, seg.regions, params)
    model = None
    quiet = quiet_sides(powers, seg.floor, params)
    if not spans and quiet[0] != quiet[1]:
        # Silent at one end only: a video's voice may still play up to the
        # note from the other (its words joined to the note across pauses
        # at the capture's floor), though nothing plays around it.
        one = note_over_background(powers, params, seg.floor)[0]
        if one is not None:
            found = _one_side(found, one, seg)
    if not spans and not any(quiet):
        # Quiet at an end, yet a background may play all around the note: a
        # video's voice that begins just after the capture does, in a pause
        # between its sentences (issue 15: its words joined to the note).
        model = note_over_background(powers, params, seg.floor)
        spans = model[0] is not None and plays_around(powers, seg.floor, model[0], params)
        if model[0] is not None and not spans:
            found = _one_side(found, model[0], seg)
    touches = found.start == 0 or found.end == frames
    if seg.steady and (spans or touches):
        # Silence at one end, and the note runs to the other without a
        # pause longer than a speaker's between words: the stop was pressed
        # while it still played (or the capture started late).  Its quiet
        # edge is trimmed as always; the cut one stays at the capture's end,
        # and the user is told.
        cut = cut_off(powers, seg.floor, (fa, fb), params)
        if cut == 1 and (spans or found.end == frames):
            return Bounds(found.start, frames, seg.floor, samplerate, CUT_OFF_REASON)
        if cut == -1 and (spans or found.start == 0):
            return Bounds(0, found.end, seg.floor, samplerate, STARTED_REASON)
    if spans:
        # Sound at both ends: a background under the note (music, a hum, a
        # video's voice; issue 15), or a note that fills the capture.
        over_model = model or note_over_background(powers, params, seg.floor)
        if (over := over_model[0]) is not None:
            # A long note's sentences beyond a pause longer than the model
            # bridges, where they stand as clear and the detector hears
            # speech in them (apart.py).
            over = _widened(seg, over, over_model, read)
            start, end = _over_edges(over, over_model, found, seg, model is not None, read)
            # Where the walks ran on past the speech a voice detector hears
            # (music over the background's median, issue 15), the edges are
            # bounded to that speech, with margins over the worst measured
            # (MARGIN_OVER_S, LEAD_OVER_S: its own edges are coarse); only
            # where the note's loudest part lies inside those bounds (else
            # the detector missed some of the note).
            start, end = _bounded_to_speech(seg, start, end, read, over_model[4])
            return _beyond(Bounds(start, end, seg.floor, samplerate), seg, read)
        # Nothing stands clear of it by its level; but the note's own floor,
        # heard where the background pauses, may still say where it is.
        piece = note_by_floor(powers, seg.floor, params)
        if piece is not None:
            return Bounds(piece[0] * hop, min(frames, piece[1] * hop), seg.floor, samplerate)
        # Nothing stands clear of it by its level either; but the voice
        # detector may still hear where the speech is: the capture is
        # bounded to it, by the wider margins MARGIN_S and LEAD_S (where
        # nothing stands clear it may have missed some of the note), where
        # the capture's loudest moments lie inside, and every sound the
        # segmenter joined to its note as a voice (the end moved out to them
        # where they end within REACH_S past the speech; else it may have
        # missed some of the note: a quieter sentence; seeds 1-21: six
        # captures of 17 kept whole bounded, no speech cut).  Every
        # voice-like sound outside was tried too: music that looks like a
        # voice kept 3 of the 6 whole.
        bounded = bounds_of_speech(read, frames, samplerate, hop, (0, -(-frames // hop)))
        if bounded is not None:
            joined = [seg.regions[i] for i in range(first, last + 1) if i != core]
            inside = [_loudest(powers, params)] + [v for v in joined if seg.voice(*v)]
            held = (min(v[0] for v in inside), max(v[1] for v in inside))
            bounded = _reaching(bounded, held, samplerate, hop)
        if bounded is not None:
            start, end = bounded[0] * hop, min(frames, bounded[1] * hop)
            return Bounds(start, end, seg.floor, samplerate)
        # Nothing stands clear of it: keep the whole capture (the note found
        # may be a piece of the background, or a piece of the note), and
        # say why.
        return Bounds(0, frames, seg.floor, samplerate, BACKGROUND_REASON)
    if seg.floor > PLAYS_DB or not seg.steady:
        # Something plays under the note though not so that it sounds at
        # both of the capture's ends: a steady pad taken for the capture's
        # floor (louder than a device's), or a floor that is not steady (a
        # fan, a tone that starts after the capture).  The segmenter joins
        # what rises over it near the note (a pad's swell, up to 0.85 s on
        # seeds 1-21 of the accuracy benchmark); the detector bounds the
        # note's edges here too, by the same rules.  A note between
        # silences or over a device's floor never loads it.
        start, end = _bounded_to_speech(seg, found.start, found.end, read)
        # A stretch the segmenter joined to the note as a voice (a quiet
        # sentence across a pause, quiet last words) that the detector
        # missed is doubt, not background: the edge does not move across it.
        voices = [seg.regions[i] for i in range(first, last + 1) if i != core]
        voices += [(a, grown[0]), (grown[1], b)]
        hop = seg.hop
        if any(v[0] < start // hop and _voice(seg, v, grown) for v in voices):
            start = found.start
        if any(v[1] > -(-end // hop) and _voice(seg, v, grown) for v in voices):
            end = found.end
        if (start, end) != (found.start, found.end):
            found = Bounds(start, end, seg.floor, samplerate, found.reason)
        return _beyond(found, seg, read)
    if far:
        return _beyond(found, seg, read)
    if _voice_elsewhere(seg, grown, found, read):
        return Bounds(0, frames, seg.floor, samplerate, NO_VOICE_REASON)
    return found


def _voice_elsewhere(
    seg: Segmenter, grown: tuple[int, int], found: Bounds, read: Reader | None
) -> bool:
    """Whether the note found (``grown``, chunks; ``found``, its bounds) is
    a sound shorter than ``SURELY_NOTE_S`` that could not be a voice (a
    notification sound) while the voice detector hears speech wholly
    outside it: a note too quiet to rise over the capture's floor anywhere
    (seed 36 case068 of the accuracy benchmark, a note at -32 dBFS under a
    hum: a notification sound kept as the note, all 7 s of the note cut)."""
    a, b = grown
    if read is None or (b - a) * seg.params.hop_s >= SURELY_NOTE_S or seg.voice(a, b):
        return False
    phrases = phrases_heard(read, seg.frames, seg.samplerate) or []
    return any(z <= found.start or s >= found.end for s, z in phrases)


def _far_voices(
    seg: Segmenter, grown: tuple[int, int, int, int], read: Reader | None
) -> tuple[int, int, int, int]:
    """The note grown by the segmenter (``grown``: its span in chunks, its
    first and last region) widened over the sounds beyond it, further than
    ``VOICE_PAUSE_S``, one after another outwards, that could be a voice,
    are not brighter than speech, peak within ``NEAR_DB`` of the note's
    loudest (quarter seconds) and in which the voice detector hears speech;
    the first that is not ends the widening.  As it is without a reader.

    A quiet note over a hum (its voice 5-8 dB over it, its own floor
    buried) rises over the capture's floor by ``open_db`` only in its
    loudest words: 7 s lay between two of them, and the note's last 29 s
    were cut (seed 9 long015 of the long notes)."""
    a, b, first, last = grown
    if read is None or b <= a:
        return grown
    p, hop, sr = seg.params, seg.hop, seg.samplerate

    def peak_db(x: int, y: int) -> float:
        return float(levels_db(seg.powers[x:y], p, frame_s=CORE_S).max())

    note_db: list[float] = []  # the note's loudest, measured once, if asked

    def joins(r: tuple[int, int]) -> bool | None:
        """True: joins; False: ends the widening; None: stepped over (a
        sound too short to judge as a voice joins only with one beyond)."""
        if seg.bright(*r) > p.bright_hz:
            return False
        if not seg.voice(*r):
            return None
        note_db[:] = note_db or [peak_db(a, b)]
        if peak_db(*r) < note_db[0] - NEAR_DB:
            return False
        return hears_speech(read, r[0] * hop, min(seg.frames, r[1] * hop), sr)

    j = last + 1
    while j < len(seg.regions) and (verdict := joins(seg.regions[j])) is not False:
        if verdict:
            last, b = j, seg.regions[j][1]
        j += 1
    j = first - 1
    while j >= 0 and (verdict := joins(seg.regions[j])) is not False:
        if verdict:
            first, a = j, seg.regions[j][0]
        j -= 1
    return a, b, first, last


def _one_side(found: Bounds, over: tuple[int, int], seg: Segmenter) -> Bounds:
    """The note's edges (``found``, the segmenter's) where something plays
    on one side of it only (``over``: its span in chunks as the background
    model finds it): a video's voice that pauses at one of the capture's
    ends.  Where it plays before the note, the start moves in to the
    model's, whose walk leaves out the background's words that the
    segmenter joined to the note across pauses at the capture's floor
    (issue 15: 0.55-2.1 s of a video's voice kept), where such a pause
    lies between (see :func:`~loopcap.trim.around.paused_before`).  Where it plays after
    the note, the end moves in only to the first such pause after the
    model's end (see :func:`~loopcap.trim.around.paused_after`): that end
    stands no earlier than the note's fade, not its last quiet syllables
    (seeds 1-23, the end moved to the model's: the note cut short in five
    captures, its speech in two; to the pause: 1.3 s of a video's voice
    left out in one, none worse)."""
    before, after = plays_beside(seg.powers, seg.floor, over, seg.params)
    hop = seg.hop
    # What would be left out must be quieter than the note by NEAR_DB: a
    # video's words lay 8.1-15.9 dB under it (seeds 1-31 of the accuracy
    # benchmark).  A long note that began 0.3 s into the capture had its
    # first sentences, as loud as the rest, measured as the background at
    # that end, and lost 4.5 s (seed 7 long007 of the long notes).
    # (Its quarter seconds wholly outside the model's note: those nearer
    # hear the note's onset.)
    level = levels_db(seg.powers, seg.params, frame_s=CORE_S)
    near = float(level[over[0] : over[1]].max()) - NEAR_DB
    core = round(CORE_S / seg.params.hop_s)

    def quieter(a: int, b: int) -> bool:
        return b <= a or float(level[a:b].max()) < near

    before = before and quieter(found.start // hop, over[0] - core)
    after = after and quieter(over[1] + core, -(-found.end // hop))
    # Within AGREE_S, both found the same edge: the outer one stands.
    agree = round(AGREE_S * seg.samplerate)
    # And what lies before the model's start must be parted from it by a
    # pause at the capture's floor (see paused_before): a note's first
    # sentence, as loud as its last words but for a louder sound over its
    # tail, ran on into them and lost 2.8 s (seed 42 mix021).
    start = found.start
    if before and over[0] * hop > found.start + agree:
        lo = found.start // hop
        if paused_before(seg.powers, seg.floor, lo, over[0], seg.params) is not None:
            start = over[0] * hop
    end = found.end
    if after:
        fb = -(-found.end // hop)
        pause = paused_after(seg.powers, seg.floor, over[1], fb, seg.params)
        if pause is not None:
            end = min(found.end, max(over[1], pause) * hop)
    if (start, end) == (found.start, found.end) or start >= end:
        return found
    return Bounds(start, end, seg.floor, seg.samplerate, found.reason)


def _voice(seg: Segmenter, stretch: tuple[int, int], grown: tuple[int, int]) -> bool:
    """Whether ``stretch`` (chunks [a, b)) of the note is a voice as the
    segmenter joined it: a quiet voice it took in beyond the grown note
    ``grown``, or a sound in it that could be a voice."""
    a, b = stretch
    if b <= a:
        return False
    if b <= grown[0] or a >= grown[1]:
        return True  # taken in by quiet_voices, as a voice
    return bool(seg.voice(a, b))


def _loudest(powers: np.ndarray, params: TrimParams) -> tuple[int, int]:
    """Chunks [first, last + 1) of the capture's loudest moments: its
    levels over ``CORE_S`` within ``LOUDEST_DB`` of its loudest."""
    level = levels_db(powers, params, frame_s=CORE_S)
    loud = np.flatnonzero(level >= float(level.max()) - LOUDEST_DB)
    return int(loud[0]), int(loud[-1]) + 1


def _reaching(
    bounded: tuple[int, int],
    loud: tuple[int, int] | None,
    samplerate: int,
    hop: int,
    margin_s: float = MARGIN_S,
    lead_s: float = LEAD_S,
) -> tuple[int, int] | None:
    """The bounds (chunks [lo, hi), from
    :func:`~loopcap.trim.judge.bounds_of_speech`, ``lo`` lying ``lead_s``
    (s) before the speech heard and ``hi`` ``margin_s`` past it) that hold
    ``loud`` (chunks [a, b): the note's loudest part): where it ends past
    ``hi`` but within ``REACH_S`` past the speech heard, ``hi`` moves out
    to its end, and where it begins before ``lo`` but within ``LEAD_S``
    before that speech, ``lo`` moves out to ``LEAD_S`` before it (the
    detector rose late there: the note's quieter onset before its loudest
    part is kept, as with ``LEAD_S`` everywhere); None where it begins or
    ends further out (the detector may have missed some of the note:
    nothing is bounded)."""
    lo, hi = bounded
    if loud is None:
        return None
    reach = hi + round((REACH_S - margin_s) * samplerate / hop)
    before = lo - round((LEAD_S - lead_s) * samplerate / hop)
    if loud[0] < before or loud[1] > reach:
        return None
    return (before if loud[0] < lo else lo), max(hi, loud[1])


def _widened(
    seg: Segmenter,
    over: tuple[int, int],
    model: tuple[object, int, tuple[int, int], int, object],
    read: Reader | None,
) -> tuple[int, int]:
    """``over`` widened over the note's sentences beyond a long pause (see
    :func:`~loopcap.trim.apart.widened_over_pauses`); as it is without a
    reader."""
    if read is None:
        return over
    hop, sr = seg.hop, seg.samplerate
    return widened_over_pauses(
        seg.powers,
        seg.params,
        over,
        model[1],
        model[2],
        lambda a, b: hears_speech(read, a * hop, min(seg.frames, b * hop), sr),
    )


def _beyond(b: Bounds, seg: Segmenter, read: Reader | None) -> Bounds:
    """``b`` (a note found where something plays under it) widened over the
    speech the detector hears beyond it (see
    :func:`~loopcap.trim.apart.beyond_by_speech`); as it is without a
    reader, with a ``reason``, or where nothing is heard."""
    if read is None or b.reason:
        return b
    phrases = phrases_heard(read, seg.frames, seg.samplerate)
    if not phrases:
        return b
    level = levels_db(seg.powers, seg.params, frame_s=CORE_S)
    hop = seg.hop

    def peak_db(a: int, z: int) -> float:
        return float(level[a // hop : max(a // hop + 1, z // hop)].max())

    span = beyond_by_speech(
        (b.start, b.end), phrases, seg.frames, seg.samplerate, WIDEN_LEAD_S, WIDEN_MARGIN_S, peak_db
    )
    if span == (b.start, b.end):
        return b
    return Bounds(span[0], span[1], b.floor_db, b.samplerate)


def _bounded_to_speech(
    seg: Segmenter,
    start: int,
    end: int,
    read: Reader | None,
    loud: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """The note's edges (frames [start, end)) bounded to the speech a voice
    detector hears (see :func:`~loopcap.trim.judge.bounds_of_speech`):
    where the walks ran on past it (music over the background's median,
    issue 15), with margins (its own edges are coarse); only where
    the note's loudest group (``loud``, chunks, as the background model
    found it; else found here; else the capture's loudest moments, see
    :func:`_loudest`) lies inside those bounds, or ends within
    ``REACH_S`` past the speech heard (then the end is bounded where it
    ends), or begins within ``LEAD_S`` before it (then the start is
    bounded ``LEAD_S`` before that speech; see :func:`_reaching`), else
    the detector missed some of the note.  It only ever moves an edge
    inwards, and never past the other.

    The end is bounded ``MARGIN_OVER_S`` past the speech heard, the start
    ``LEAD_OVER_S`` before it: under what plays there, the voice's faint
    edges lie nearer it than over a device's floor.

    Its quieter sentences joined to that group (at ``JOIN_DB``) are not
    asked to lie inside too: over music, what joins there is mostly the
    music's swell the walks ran on into, the very thing bounded (seeds
    1-21: 20 of the bounded captures lost, none better)."""
    hop = seg.hop
    edges = (start // hop, -(-end // hop))  # in chunks
    margin = MARGIN_OVER_S
    bounded = bounds_of_speech(read, seg.frames, seg.samplerate, hop, edges, margin, LEAD_OVER_S)
    if bounded is not None:
        # Over a pad taken for the capture's floor the background model may
        # find nothing standing clear of it: then the capture's loudest
        # moments are held inside instead, as where nothing stands clear
        # (seed 23 mix012: 266 ms of a pad's swell kept before the note,
        # bounded nowhere; seed 7 mix012: 54 ms).
        loud = loud or loudest_group(seg.powers, seg.params) or _loudest(seg.powers, seg.params)
        bounded = _reaching(bounded, loud, seg.samplerate, hop, margin, LEAD_OVER_S)
    if bounded is not None:
        a, b = max(start, bounded[0] * hop), min(end, bounded[1] * hop)
        if a < b:
            start, end = a, b
    return start, end


def _over_edges(
    over: tuple[int, int],
    model: tuple[object, int, tuple[int, int], int, object],
    found: Bounds,
    seg: Segmenter,
    settle: bool,
    read: Reader | None,
) -> tuple[int, int]:
    """The note's edges (frames [start, end)) over a background, from the
    background model's answer (see
    :func:`~loopcap.trim.background.note_over_background`; ``over``, its
    span, not None): its quiet edges over the background's spectrum, never
    short of a word-final stop's release, and where ``settle``, the
    segmenter's edges (``found``) where they stand (see
    :func:`~loopcap.trim.around.settle_edge`)."""
    _, probe, (lo, hi), release, _ = model
    powers, hop, params = seg.powers, seg.hop, seg.params
    # Its quiet edges over the background's spectrum, measured on the
    # probes (a fading syllable above what the music has there).
    n = len(powers)
    spread = np.linspace(0, probe - 2 * SPECTRAL_FRAME_CHUNKS, SPECTRAL_FLOOR_FRAMES // 2)
    floor_at = np.concatenate([spread, n - probe + spread]).astype(np.int64)
    a, b = extend_by_spectrum(read, floor_at, hop, seg.samplerate, *over, lo, hi)
    # ...and never short of a word-final stop's release after it.
    b = max(b, release)
    start, end = a * hop, min(seg.frames, b * hop)
    if settle:
        # The segmenter's edges, found too: each stands where it agrees
        # with the model's, or where the model's walk ran on into a sound
        # the segmenter left out (see settle_edge).
        fa, fb = found.start // hop, -(-found.end // hop)  # the note's span in chunks
        if settle_edge(powers, seg.floor, a, fa, -1, params) == fa:
            start = found.start
        if settle_edge(powers, seg.floor, b, fb, 1, params) == fb:
            end = found.end
    return start, end


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
    left out, unless it could be a fragment of speech too short for the
    voice test: that joins the nearest note (:mod:`loopcap.trim.fragments`).
    Notes never overlap.  Where no sound stands out, a steady sound over a
    moment of digital silence at the capture's end or start is one note,
    with a ``reason`` (:mod:`loopcap.trim.steady`).
    """
    params = params or TrimParams()
    seg = Segmenter(powers, samplerate, frames, params, read)
    if not seg.regions:
        one = steady_throughout(seg.floor, frames, samplerate, params, read, powers, seg.hop)
        return [] if one is None else [one]
    owner: list[int | None] = [None] * len(seg.regions)  # note index, or -1 for "not a note"
    spans: list[tuple[int, int]] = []
    min_len = params.min_note_s / params.hop_s
    split_gap = round(SPLIT_PAUSE_S / params.hop_s)
    while free := [i for i, o in enumerate(owner) if o is None]:
        core = seg.longest(free)
        lo = core
        while lo > 0 and owner[lo - 1] is None:
            lo -= 1
        hi = core + 1
        while hi < len(owner) and owner[hi] is None:
            hi += 1
        a, b, first, last = seg.grow(core, lo, hi, voice_gap=split_gap)
        is_note = b - a >= min_len and seg.bright(a, b) <= params.bright_hz and seg.voice(a, b)
        mark = len(spans) if is_note else -1
        for i in range(first, last + 1):
            owner[i] = mark
        if is_note:
            spans.append((a, b))
    # A sound left in no note that could still be a fragment of speech (a
    # quiet note's syllable over a hum, too short for the voice test) joins
    # the nearest note: audio a split file must not lose (see fragments.py).
    orphans = [
        r
        for r, o in zip(seg.regions, owner, strict=True)
        if o == -1 and seg.bright(*r) <= params.bright_hz
    ]
    spans.sort()
    reach = [extend_edges(powers, a, b, seg.edge_threshold, params) for a, b in spans]
    if spans and orphans:
        speech = could_be_speech(read, quietest(powers, params), seg.hop, samplerate, params)
        if fragments := [r for r in orphans if speech(*r)]:
            far = round(VOICE_PAUSE_S / params.hop_s)  # as a single note bridges
            spans, grown = join_fragments(spans, fragments, far)
            reach = [extend_edges(powers, a, b, seg.edge_threshold, params) for a, b in spans]
            # Where fragments were heard between two notes, the notes are one
            # when their quiet edges come within SPLIT_PAUSE_S of each other:
            # the fragments were its speech, and a note is never cut.
            spans, reach = merge_across(spans, reach, grown, split_gap)
    # Two neighbours part halfway between how far each note's quiet edges
    # reach, or, where they meet, halfway between the notes: a note's quiet
    # syllables beyond the middle of the gap are still its own (issue 15).
    parts = []
    for (_, b), (a, _), (_, eb), (ea, _) in zip(spans, spans[1:], reach, reach[1:], strict=False):
        parts.append((eb + ea) // 2 if eb <= ea else (b + a) // 2)
    notes = []
    for k, (a, b) in enumerate(spans):
        lo = 0 if k == 0 else parts[k - 1]
        hi_edge = None if k == len(spans) - 1 else parts[k]
        notes.append(seg.bounds(a, b, lo, hi_edge))
    return notes
