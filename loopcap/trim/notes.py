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
5. *The note*: the longest region, grown by the rules here (:func:`_grow`).
   Other regions (a notification sound, a click) are left out; the few
   sounds near the note are judged by ear (:mod:`loopcap.trim.looks`).

Times are in seconds, levels in dBFS, positions in samples (frames).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .around import plays_around, quiet_ends, settle_edge
from .background import (
    BACKGROUND_REASON,
    note_by_floor,
    note_over_background,
    sounds_at_an_end,
    spans_capture,
)
from .cutoff import CUT_OFF_REASON, STARTED_REASON, cut_off
from .edges import FloorLook, leave_out_edge_sounds
from .fragments import could_be_speech, join_fragments, merge_across
from .levels import (
    clear_chunks,
    estimate_floor_db,
    floor_top_db,
    levels_in_blocks,
    quietest,
    to_db,
)
from .looks import brightness, low_share, voicelike
from .params import Bounds, Reader, TrimParams, hop_frames
from .regions import bridged_by_floor, extend_edges, find_regions, refine_edges
from .release import release_end
from .spectrum import (
    LONG_DB,
    LONG_FRAME_S,
    SPECTRAL_FLOOR_FRAMES,
    SPECTRAL_FLOOR_REACH_S,
    SPECTRAL_FRAME_CHUNKS,
    extend_by_spectrum,
    floor_reach,
)

__all__ = ["find_bounds", "find_notes", "VOICE_PAUSE_S"]

#: Where the floor by itself reaches past ``edge_db`` over its quietest
#: (its 95th percentile over ``edge_window_s``: an unsteady floor, a fan's
#: rumble), a note's quiet edges must stand this far (dB) above that.
FLOOR_TOP_MARGIN_DB = 1.0

#: A sound this long (s) is the note without a voice test: notification
#: sounds last at most 1.5 s.
SURELY_NOTE_S = 2.0

#: In a single note (:func:`find_bounds`), a sound that could be a voice
#: joins the note across a silent pause up to this long (s), longer than
#: ``max_pause_s``: where the note's quiet syllables are buried under a hum
#: or hiss, its pauses are heard longer than they are.
VOICE_PAUSE_S = 3.0

#: In a capture of several notes (:func:`find_notes`), a voice joins a note
#: across a silent pause up to this long (s): where the notes' own floors
#: are buried under the device's hiss, a pause inside a note and the gap
#: between two notes are the same sound, and a pause is heard up to 0.3 s
#: longer than it is (its quiet syllables under the hiss).  Two notes saved
#: together are the price; a note is never cut to split it (decided for
#: issue 15).  At ``max_pause_s`` (1.7 s) the split benchmark cut 9 notes of
#: 1,120 in two (four draws), at pauses heard as 1.53-1.78 s; at 2.0 s, one.
SPLIT_PAUSE_S = 2.0


def _grow(
    regions: list[tuple[int, int]],
    core: int,
    bridged: Callable[[int, int], bool],
    params: TrimParams,
    pauses_are_silent: bool,
    bright: Callable[[int, int], float],
    voice: Callable[[int, int], bool],
    voice_gap: int = 0,
    widened: Callable[[tuple[int, int], int], bool] | None = None,
) -> tuple[int, int]:
    """Join to the note (``regions[core]``) its neighbours that belong to it:
    those across any gap the note's own floor bridges; and, where the note's
    pauses are silent, those across a pause up to ``max_pause_s`` that are
    not brighter than speech (``bright_hz``: a click, a shutter or a chime's
    noise is) and could be a voice (``voice``).

    A bright sound (a click) ends the note there; one that fails only the
    voice test (a chime, a thump, or a fragment of speech too short to
    judge, however short) is stepped over: it joins only if a voice beyond
    it, still within ``max_pause_s`` of the note, does.
    Across a longer silent pause, up to ``voice_gap`` chunks, only a sound
    that could be a voice joins.  ``widened(sound, side)`` judges a sound
    that fails the voice test together with the quiet audible runs beyond
    it (``side`` -1: before it, 1: after it, away from the note)."""
    max_gap = round(params.max_pause_s / params.hop_s)

    def joins(gap_a: int, gap_b: int, other: tuple[int, int], side: int) -> bool | None:
        """True: joins; False: ends the note; None: step over it."""
        if gap_b - gap_a <= 0 or bridged(gap_a, gap_b):
            return True
        if not pauses_are_silent:
            return False  # the note's pauses would show its own floor; this gap has none
        if gap_b - gap_a > max(max_gap, voice_gap) or bright(*other) > params.bright_hz:
            return False
        if gap_b - gap_a > max_gap:
            return voice(*other)  # a longer pause: only a voice bridges it
        # A sound too short to judge well (a syllable of the note heard only
        # in part over a hum, or a dull thump) never ends the note (issue 15:
        # a 55 ms fragment cut 7.8 s of a quiet note over a whine); a bright
        # click does, above.
        if voice(*other):
            return True
        # Heard with the quiet syllables beyond it (never the note's own
        # speech), a piece of the note whose loud part is too short to judge
        # sounds like a voice again; a chime still does not (issue 15: 3.6 s
        # of a quiet note's last sentence after a pause left out).
        return True if widened is not None and widened(other, side) else None

    a, b = regions[core]
    i = core - 1
    while i >= 0 and (verdict := joins(regions[i][1], a, regions[i], -1)) is not False:
        if verdict:
            a = regions[i][0]
        i -= 1
    j = core + 1
    while j < len(regions) and (verdict := joins(b, regions[j][0], regions[j], 1)) is not False:
        if verdict:
            b = regions[j][1]
        j += 1
    return a, b


class _Segmenter:
    """The segmenting shared by :func:`find_bounds` and :func:`find_notes`:
    the capture's floor, its sounds (regions) and the rules that join sounds
    into a note.  Built once per capture; regions are chunk indices."""

    def __init__(
        self,
        powers: np.ndarray,
        samplerate: int,
        frames: int,
        params: TrimParams,
        read: Reader | None,
    ) -> None:
        self.powers, self.samplerate, self.frames, self.params = powers, samplerate, frames, params
        quiet = quietest(powers, params)  # one scan of the whole capture
        self.read = read
        self.floor = estimate_floor_db(powers, params, quiet)
        self.regions = find_regions(None, self.floor, params, powers)
        self.hop = hop_frames(samplerate, params)
        self.bridged = bridged_by_floor(powers, self.floor, params)
        self.bright = brightness(read, quiet, self.hop, samplerate)
        self.voice = voicelike(read, quiet, self.hop, samplerate, params)
        self.low_share = low_share(read, quiet, self.hop, samplerate)
        #: The last note's span (chunks) before sounds at its edges were
        #: left out (:meth:`bounds` with ``edge_sounds``).
        self.outer = (0, 0)
        # Quiet edges are taken in while they stand edge_db over the floor,
        # and over what an unsteady floor (a fan's rumble) reaches by itself.
        self.edge_threshold = self.floor + params.edge_db
        top = floor_top_db(powers, self.regions, params, params.edge_window_s)
        self.steady = True
        if top is not None and top > self.edge_threshold:
            self.edge_threshold = top + FLOOR_TOP_MARGIN_DB
            self.steady = False

    def longest(self, among: list[int]) -> int:
        return max(among, key=lambda i: (self.regions[i][1] - self.regions[i][0], -i))

    def voiced(self, among: list[int], tries: int = 4) -> int:
        """The longest of ``among`` that could be a voice (of its ``tries``
        longest; else the longest): the note, rather than a notification
        sound longer than the note's separate sentences.  A sound longer
        than ``SURELY_NOTE_S`` (no notification sound is) needs no test."""
        order = sorted(among, key=lambda i: (self.regions[i][0] - self.regions[i][1], i))
        a, b = self.regions[order[0]]
        if len(order) == 1 or (b - a) * self.params.hop_s >= SURELY_NOTE_S:
            return order[0]
        for i in order[:tries]:
            if self.voice(*self.regions[i]):
                return i
        return order[0]

    def grow(
        self, core: int, lo: int = 0, hi: int | None = None, voice_gap: int = 0, widen: bool = False
    ) -> tuple[int, int, int, int]:
        """The note around ``regions[core]``, joining only regions ``lo..hi-1``
        (and voices up to ``voice_gap`` chunks away; with ``widen``, short
        sounds judged with the quiet runs beyond them: see :func:`_grow`).

        Returns its span in chunks and the first and last region it holds.
        """
        hi = len(self.regions) if hi is None else hi
        ca, cb = self.regions[core]
        # Can the note's own noise floor be above the capture's?  A phone's
        # microphone floor lies at most ``note_snr_db`` below the speech;
        # where the capture's floor is further down than that (digital
        # silence, dither) the note's pauses are never silent, and a silent
        # gap ends the note.  Otherwise (a quiet note over a hissy device) its
        # pauses can look like silence, and only their length and sound tell
        # them from what is around.
        peak = max(lv.max() for _, lv in levels_in_blocks(self.powers, self.params, a=ca, b=cb))
        silent_pauses = bool(peak - self.floor < self.params.note_snr_db)
        if silent_pauses and (cb - ca) * self.params.hop_s >= 1.0:
            # The note's own floor may show after all: a sound whose quietest
            # stretch lies far below its speech (``own_floor_depth_db``: a
            # pause, not a quiet syllable) yet clearly above the capture's
            # floor carries that floor through its pauses, long ones too.
            inner = self.powers[ca:cb]
            qa, qb = quietest(inner, self.params)
            own = float(to_db(np.array([inner[qa:qb].mean()], np.float32))[0])
            p = self.params
            if self.floor + p.close_db <= own <= peak - p.own_floor_depth_db:
                silent_pauses = False
        part = self.regions[lo:hi]
        a, b = _grow(
            part,
            core - lo,
            self.bridged,
            self.params,
            silent_pauses,
            self.bright,
            self.voice,
            voice_gap,
            self.widened if widen else None,
        )
        first = lo + next(i for i, r in enumerate(part) if r[0] == a)
        last = lo + next(i for i, r in enumerate(part) if r[1] == b)
        return a, b, first, last

    def widened(self, sound: tuple[int, int], side: int) -> bool:
        """Whether ``sound`` could be a voice with the quiet audible runs on
        its ``side`` (-1: before, 1: after; see :func:`extend_edges`)."""
        a, b = sound
        ea, eb = extend_edges(self.powers, a, b, self.edge_threshold, self.params)
        wa, wb = (ea, b) if side < 0 else (a, eb)
        return (wa, wb) != (a, b) and self.voice(wa, wb)

    def bounds(
        self, a: int, b: int, lo: int = 0, hi: int | None = None, edge_sounds: bool = False
    ) -> Bounds:
        """Chunk span [a, b) -> the note's Bounds: quiet edges taken in (never
        past chunks ``lo``/``hi``, a neighbouring note's edge), edges refined,
        (``edge_sounds``) a chime or click over the note's own floor at
        either edge left out, padded."""
        p = self.params
        hi = len(self.powers) if hi is None else hi
        ea, eb = extend_edges(self.powers, a, b, self.edge_threshold, p)
        a, b = max(ea, lo), min(eb, hi)
        ra, rb = refine_edges(self.powers, a, b, self.floor + p.close_db, p)
        a, b = max(ra, lo), min(rb, hi)
        if edge_sounds:
            # The floor's spectrum where it is alone (whole frames only).
            n = len(self.powers)
            floor_at = clear_chunks(n, self.regions, p, SPECTRAL_FLOOR_FRAMES)
            floor_at = floor_at[floor_at < n - 2 * SPECTRAL_FRAME_CHUNKS]
            a, b = extend_by_spectrum(
                self.read, floor_at, self.hop, self.samplerate, a, b, lo, hi, SPECTRAL_FLOOR_REACH_S
            )
            if self.steady:
                # ...and over a steady floor, on longer frames too (a fading
                # syllable a few dB over a hum's hiss).
                a, b = extend_by_spectrum(
                    self.read,
                    floor_at,
                    self.hop,
                    self.samplerate,
                    a,
                    b,
                    lo,
                    hi,
                    SPECTRAL_FLOOR_REACH_S,
                    LONG_FRAME_S,
                    LONG_DB,
                )
            # ...and a word-final stop's release after its closure.
            b = release_end(self.read, floor_at, self.hop, self.samplerate, b, hi)

            def reach(own_at: tuple[int, int], start: int, bound: int) -> int:
                return floor_reach(self.read, self.hop, self.samplerate, own_at, start, bound)

            def audible(start: int, bound: int) -> int:
                lo_, hi_ = min(start, bound), max(start, bound)
                s_reach = abs(start - bound) * p.hop_s
                wa, wb = extend_by_spectrum(
                    self.read, floor_at, self.hop, self.samplerate, start, start, lo_, hi_, s_reach
                )
                return wa if bound < start else wb

            self.outer = (a, b)
            look = None if self.read is None else FloorLook(self.read, self.hop, self.samplerate)
            a, b = leave_out_edge_sounds(
                self.powers,
                a,
                b,
                self.floor,
                p,
                self.low_share,
                self.bright,
                reach,
                audible,
                look=look,
            )
        pad = round(p.pad_s * self.samplerate)
        start = max(0, a * self.hop - pad, lo * self.hop)
        end = min(self.frames, b * self.hop + pad, hi * self.hop)
        return Bounds(start, end, self.floor, self.samplerate)


def find_bounds(
    powers: np.ndarray,
    samplerate: int,
    frames: int,
    params: TrimParams | None = None,
    read: Reader | None = None,
) -> Bounds | None:
    """The note's bounds from chunk powers, or None when there is no sound.

    The note grows from the longest sound.  ``read`` gives access to the
    audio so that the few sounds near the note can be judged (clicks and
    bright bursts are left out); without it only timing and levels decide.
    A note that runs into the capture's end (or start) with silence on its
    other side is kept up to that end, with a ``reason`` that says so
    (:mod:`loopcap.trim.cutoff`).
    """
    params = params or TrimParams()
    seg = _Segmenter(powers, samplerate, frames, params, read)
    if not seg.regions:
        return None
    # The note grows from the longest sound that could be a voice, and
    # bridges longer silent pauses to voices (a quiet note over a hum: its
    # quiet syllables are under the hum, its pauses heard longer than they
    # are; issue 15).  The splitter bridges less (SPLIT_PAUSE_S): there a
    # longer pause may be the gap to the next note.
    voice_gap = round(VOICE_PAUSE_S / params.hop_s)
    core = seg.voiced(list(range(len(seg.regions))))
    a, b, _, _ = seg.grow(core, voice_gap=voice_gap, widen=True)
    found = seg.bounds(a, b, edge_sounds=True)
    hop = seg.hop
    # The sounds at the note's edges count here, left out or not: a click
    # on music's first beat is still sound at the capture's start.
    span = seg.outer
    # Or a floor that is not steady (it rises over its quietest again and
    # again) and sounds at one end: music that swells from a quiet moment
    # at the other end (a pad), which is then the capture's "floor".
    unsteady = not seg.steady and sounds_at_an_end(powers, seg.floor, params)
    spans = unsteady or spans_capture(powers, seg.floor, span, seg.regions, params)
    model = None
    if not spans and not quiet_ends(powers, seg.floor, params):
        # Quiet at an end, yet a background may play all around the note: a
        # video's voice that begins just after the capture does, in a pause
        # between its sentences (issue 15: its words joined to the note).
        model = note_over_background(powers, params, seg.floor)
        spans = model[0] is not None and plays_around(powers, seg.floor, model[0], params)
    touches = found.start == 0 or found.end == frames
    if seg.steady and (spans or touches):
        # Silence at one end, and the note runs to the other without a
        # pause longer than a speaker's between words: the stop was pressed
        # while it still played (or the capture started late).  Its quiet
        # edge is trimmed as always; the cut one stays at the capture's end,
        # and the user is told.
        fa, fb = found.start // hop, -(-found.end // hop)
        cut = cut_off(powers, seg.floor, (fa, fb), params)
        if cut == 1 and (spans or found.end == frames):
            return Bounds(found.start, frames, seg.floor, samplerate, CUT_OFF_REASON)
        if cut == -1 and (spans or found.start == 0):
            return Bounds(0, found.end, seg.floor, samplerate, STARTED_REASON)
    if spans:
        # Sound at both ends: a background under the note (music, a hum, a
        # video's voice; issue 15), or a note that fills the capture.
        over, probe, (lo, hi), release = model or note_over_background(powers, params, seg.floor)
        if over is not None:
            # Its quiet edges over the background's spectrum, measured on the
            # probes (a fading syllable above what the music has there).
            n = len(powers)
            spread = np.linspace(0, probe - 2 * SPECTRAL_FRAME_CHUNKS, SPECTRAL_FLOOR_FRAMES // 2)
            floor_at = np.concatenate([spread, n - probe + spread]).astype(np.int64)
            a, b = extend_by_spectrum(read, floor_at, hop, samplerate, *over, lo, hi)
            # ...and never short of a word-final stop's release after it.
            b = max(b, release)
            start, end = a * hop, min(frames, b * hop)
            if model is not None:
                # The segmenter's edges, found too: each stands where it
                # agrees with the model's, or where the model's walk ran on
                # into a sound the segmenter left out (see settle_edge).
                fa, fb = found.start // hop, -(-found.end // hop)
                if settle_edge(powers, seg.floor, a, fa, -1, params) == fa:
                    start = found.start
                if settle_edge(powers, seg.floor, b, fb, 1, params) == fb:
                    end = found.end
            return Bounds(start, end, seg.floor, samplerate)
        # Nothing stands clear of it by its level; but the note's own floor,
        # heard where the background pauses, may still say where it is.
        piece = note_by_floor(powers, seg.floor, params)
        if piece is not None:
            return Bounds(piece[0] * hop, min(frames, piece[1] * hop), seg.floor, samplerate)
        # Nothing stands clear of it: keep the whole capture (the note found
        # may be a piece of the background, or a piece of the note), and
        # say why.
        return Bounds(0, frames, seg.floor, samplerate, BACKGROUND_REASON)
    return found


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
    Notes never overlap.
    """
    params = params or TrimParams()
    seg = _Segmenter(powers, samplerate, frames, params, read)
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
