"""The segmenter shared by the single-note and the split trimmer: the
capture's floor, its sounds (regions) and the rules that join sounds into a
note (:class:`Segmenter`).  Pure numpy, no I/O; positions are chunk indices
unless a name says frames, levels are dBFS, times seconds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .edges import leave_out_edge_sounds
from .levels import (
    clear_between,
    clear_chunks,
    estimate_floor_db,
    floor_spread_db,
    levels_db,
    levels_in_blocks,
    quietest,
)
from .looks import FloorLook, brightness, low_share, voicelike
from .ownfloor import quietest_db
from .params import Bounds, Reader, TrimParams, hop_frames, window_chunks
from .regions import bridged_by_floor, extend_edges, find_regions, refine_edges
from .release import release_end
from .room import INSIDE_S, with_room
from .silentedge import silent_edges
from .spectrum import (
    LONG_DB,
    LONG_FRAME_S,
    SPECTRAL_FLOOR_FRAMES,
    SPECTRAL_FLOOR_REACH_S,
    SPECTRAL_FRAME_CHUNKS,
    extend_by_spectrum,
    floor_reach,
)

__all__ = ["Segmenter"]

#: Where the floor by itself reaches past ``edge_db`` over its quietest
#: (its 95th percentile over ``edge_window_s``: an unsteady floor, a fan's
#: rumble), a note's quiet edges must stand this far (dB) above that.
FLOOR_TOP_MARGIN_DB = 1.0

#: ...but where the floor's median (over ``edge_window_s``, where it is
#: alone) lies within this many dB of its quietest, the floor is steady and
#: what rises over it there is a sound that formed no region of its own: a
#: quiet click, or the note's quiet last words after a pause, which raised
#: the edge threshold over the note's own quiet end (issue 15: 1.6 s of a
#: note over a hiss cut).  In seeds 1-18, of the floors that reach past
#: ``edge_db``: hiss with such a sound in it 0.2-0.4 dB, a quiet pad and a
#: whine 0.5 and 0.8 dB; fans and other music 1.1 dB and more.
FLOOR_STEADY_MEDIAN_DB = 1.0

#: A sound this long (s) is the note without a voice test: notification
#: sounds last at most 1.5 s.
SURELY_NOTE_S = 2.0

#: A sound that is bright over its first moments (a click or a shutter, as
#: :class:`~loopcap.trim.looks.Brightness` reads them: its first second)
#: yet goes on past them for ``CLICK_VOICE_S`` (s) or more, not bright and
#: like a voice after ``CLICK_LEAD_S`` (s), is a voice whose lead-in a click
#: overlaps: it joins the note as a voice would, and the click at the
#: note's edge is left out as ever (:mod:`loopcap.trim.edges`).  A click
#: lasts well under a second (a camera's shutter 0.32 s); where the note's
#: longest sound lay after its first sentence and a shutter overlapped that
#: sentence's lead-in, the whole sentence was left out (seed 3 mix045 of
#: the accuracy benchmark, the note played twice: 5.9 s of it cut).
CLICK_LEAD_S = 1.0
CLICK_VOICE_S = 0.5


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

    A bright sound (a click) ends the note there, unless a voice goes on in
    it past its first second (``CLICK_LEAD_S``); one that fails only the
    voice test (a chime, a thump, or a fragment of speech too short to
    judge, however short) is stepped over: it joins only if a voice beyond
    it, still within ``max_pause_s`` of the note, does.
    Across a longer silent pause, up to ``voice_gap`` chunks, only a sound
    that could be a voice joins (by itself, or with ``widened``).
    ``widened(sound, side)`` judges a sound that fails the voice test
    together with the quiet audible runs beyond it (``side`` -1: before it,
    1: after it, away from the note)."""
    max_gap = round(params.max_pause_s / params.hop_s)
    lead = round(CLICK_LEAD_S / params.hop_s)

    def led_by_a_click(other: tuple[int, int]) -> bool:
        """Whether a bright sound is a voice whose lead-in a click overlaps
        (see ``CLICK_LEAD_S``)."""
        rest = (other[0] + lead, other[1])
        if (rest[1] - rest[0]) * params.hop_s < CLICK_VOICE_S:
            return False
        return bright(*rest) <= params.bright_hz and voice(*rest)

    def joins(gap_a: int, gap_b: int, other: tuple[int, int], side: int) -> bool | None:
        """True: joins; False: ends the note; None: step over it."""
        if gap_b - gap_a <= 0 or bridged(gap_a, gap_b):
            return True
        if not pauses_are_silent:
            return False  # the note's pauses would show its own floor; this gap has none
        if gap_b - gap_a > max(max_gap, voice_gap):
            return False
        if bright(*other) > params.bright_hz:
            return led_by_a_click(other)
        if gap_b - gap_a > max_gap:
            # A longer pause: only a voice bridges it, heard (``widened``)
            # with its quiet syllables beyond it too (issue 15: a quiet
            # note's second sentence over a whine, 4.1 s, left out: its
            # pause of 1.2 s was heard as 2.3 s, and the first sound after
            # it, 11 ms, was too short to judge).
            return voice(*other) or (widened is not None and widened(other, side))
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


class Segmenter:
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
        self._silent: dict[int, bool] = {}  # pauses_silent, per core
        # Quiet edges are taken in while they stand edge_db over the floor,
        # and over what an unsteady floor (a fan's rumble) reaches by itself.
        self.edge_threshold = self.floor + params.edge_db
        spread = floor_spread_db(powers, self.regions, params, params.edge_window_s)
        self.steady = True
        if spread is not None:
            mid, top = spread
            if top > self.edge_threshold and mid > self.floor + FLOOR_STEADY_MEDIAN_DB:
                self.edge_threshold = top + FLOOR_TOP_MARGIN_DB
                self.steady = False

    def _voice_at(self, edge: int, inwards: int) -> bool:
        """Whether the sound (region) that reaches within ``INSIDE_S`` of
        chunk ``edge`` (going ``inwards``: 1 from a start, -1 from an end)
        could be a voice, as :func:`~loopcap.trim.looks.voicelike` judges it
        (on its first 3 s: at the end of a long sound, its beginning);
        False where none reaches there."""
        near = window_chunks(INSIDE_S, self.params)
        for r in self.regions if inwards > 0 else reversed(self.regions):
            if (
                (r[1] > edge and r[0] < edge + near)
                if inwards > 0
                else (r[0] < edge and r[1] > edge - near)
            ):
                return self.voice(*r)
        return False

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
        part = self.regions[lo:hi]
        a, b = _grow(
            part,
            core - lo,
            self.bridged,
            self.params,
            self.pauses_silent(core),
            self.bright,
            self.voice,
            voice_gap,
            self.widened if widen else None,
        )
        first = lo + next(i for i, r in enumerate(part) if r[0] == a)
        last = lo + next(i for i, r in enumerate(part) if r[1] == b)
        return a, b, first, last

    def pauses_silent(self, core: int) -> bool:
        """Whether the note grown from ``regions[core]`` may have pauses as
        silent as the capture's floor.

        A phone's microphone floor lies at most ``note_snr_db`` below the
        speech; where the capture's floor is further down than that (digital
        silence, dither) the note's pauses are never silent, and a silent gap
        ends the note.  Otherwise (a quiet note over a hissy device) its
        pauses can look like silence, and only their length and sound tell
        them from what is around."""
        if core in self._silent:
            return self._silent[core]
        ca, cb = self.regions[core]
        peak = max(lv.max() for _, lv in levels_in_blocks(self.powers, self.params, a=ca, b=cb))
        silent = bool(peak - self.floor < self.params.note_snr_db)
        if silent and (cb - ca) * self.params.hop_s >= 1.0:
            # The note's own floor may show after all: a sound whose quietest
            # stretch lies far below its speech (``own_floor_depth_db``: a
            # pause, not a quiet syllable) yet clearly above the capture's
            # floor carries that floor through its pauses, long ones too.
            inner = self.powers[ca:cb]
            own = quietest_db(inner, self.params)[1]
            p = self.params
            if self.floor + p.close_db <= own <= peak - p.own_floor_depth_db:
                silent = False
        self._silent[core] = silent
        return silent

    def quiet_voices(self, core: int, a: int, b: int) -> tuple[int, int]:
        """The note [a, b) (chunks) grown from ``regions[core]``, widened over
        quiet voices beyond its quiet edges (see :meth:`quiet_voice`), one
        after another: a quiet note's last words over a hiss, which never
        formed a sound of their own (issue 15: 1.6 s of a note cut after a
        pause of 0.6 s).  Only where the note's pauses may be silent (see
        :meth:`pauses_silent`): elsewhere a silent gap ends the note; and
        only over a steady floor: over music or a fan, what rises over its
        quietest by itself can be as loud and look like a voice (a pad's
        chord with a drum, 1.3 s before a note, was taken in)."""
        if not self.steady or not self.pauses_silent(core):
            return a, b
        for side in (1, -1):
            while True:
                ea, eb = extend_edges(self.powers, a, b, self.edge_threshold, self.params)
                found = self.quiet_voice(eb if side > 0 else ea, side)
                if found is None:
                    break
                a, b = (a, found[1]) if side > 0 else (found[0], b)
                if found[2]:
                    break  # a sound that did not join the note ends it there
        return a, b

    def quiet_voice(self, edge: int, side: int) -> tuple[int, int, bool] | None:
        """The first stretch after chunk ``edge`` (``side`` 1; before it, -1)
        within ``max_pause_s`` that stands ``edge_db`` over the floor (over
        ``edge_window_s``, as far as :func:`extend_edges` takes it), rises
        ``close_db`` over it somewhere (audible: the last words that needed
        this rose 7.7 dB, where the swells of quiet music pads that could be
        voices rose 3.4-3.8 dB, seeds 1-18), is not brighter than speech and
        could be a voice: its span and whether a sound in it that did not
        join the note (bright, or no voice) cut it short there; None if
        there is none."""
        p = self.params
        n = len(self.powers)
        reach = round(p.max_pause_s / p.hop_s)
        lo, hi = (edge, min(n, edge + reach)) if side > 0 else (max(0, edge - reach), edge)
        if hi <= lo:
            return None
        margin = window_chunks(p.edge_window_s, p)
        c0, c1 = max(0, lo - margin), min(n, hi + margin)
        smooth = levels_db(self.powers[c0:c1], p, frame_s=p.edge_window_s)
        audible = np.flatnonzero(smooth[lo - c0 : hi - c0] > self.edge_threshold)
        if len(audible) == 0:
            return None
        at = lo + int(audible[0] if side > 0 else audible[-1])
        qa, qb = extend_edges(self.powers, at, at + 1, self.edge_threshold, p)
        qa, qb = (max(qa, edge), qb) if side > 0 else (qa, min(qb, edge))
        # A sound within it that did not join the note: further than
        # ``voice_gap`` from it, it may still be the same voice's loudest
        # syllable (issue 15: a quiet note's last sentence over a hum, 3.5 s,
        # cut); a click or what sounds like no voice ends the stretch there.
        cut = False
        for r in self.regions:
            if r[0] < qb and r[1] > qa and (self.bright(*r) > p.bright_hz or not self.voice(*r)):
                qa, qb = (qa, min(qb, r[0])) if side > 0 else (max(qa, r[1]), qb)
                cut = True
        if qb <= qa:
            return None
        # (its own levels only: never a sound's just beyond it)
        top = max(lv.max() for _, lv in levels_in_blocks(self.powers[qa:qb], p, p.edge_window_s))
        if top < self.floor + p.close_db or self.bright(qa, qb) > p.bright_hz:
            return None
        return (qa, qb, cut) if self.voice(qa, qb) else None

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
        either edge left out, room kept where the voice rises out of the
        capture's floor (:mod:`~loopcap.trim.room`), the edges moved in to
        the sample over digital silence (:mod:`~loopcap.trim.silentedge`),
        padded."""
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
            if len(floor_at) == 0:
                # ...or, with sounds near both ends, between them and the note.
                floor_at = clear_between(n, self.regions, (a, b), p, SPECTRAL_FLOOR_FRAMES)
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
            b = release_end(self.read, floor_at, self.hop, self.samplerate, b, hi, self.bright)

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
        # Room where the voice rises out of the capture's floor: not where a
        # sound at the edge was left out (its faded end lies there), nor
        # where what rises there is no voice (a chime kept, seeds 8 and 18:
        # room beyond it was 30 ms more of the capture's floor).
        left = (a != self.outer[0], b != self.outer[1]) if edge_sounds else (False, False)
        edges = (a, b)

        def clear(side: int) -> bool:
            return not left[side] and self._voice_at(edges[side], 1 - 2 * side)

        a, b = with_room(self.powers, a, b, self.floor, p, lo, hi, clear)
        start, end = max(a * self.hop, lo * self.hop), min(self.frames, b * self.hop, hi * self.hop)
        if self.read is not None:
            # To the sample over digital silence: the edge chunks hold up to
            # 2.5 ms of it (an edge at the capture's own start or end stays).
            s, e = silent_edges(self.read, start, end, self.floor, self.powers, self.hop)
            start, end = (start if start == 0 else s), (end if end == self.frames else e)
        pad = round(p.pad_s * self.samplerate)
        start = max(0, start - pad, lo * self.hop)
        end = min(self.frames, end + pad, hi * self.hop)
        return Bounds(start, end, self.floor, self.samplerate)
