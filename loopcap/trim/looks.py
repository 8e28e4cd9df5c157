"""The closer looks at a few sounds: how bright, and could it be a voice.

Levels and timing cannot tell a sentence after a pause from a click or a
chime after a silence; the audio can.  The segmenter (:mod:`loopcap.trim.segmenter`)
asks these questions of the few sounds near a note only, reading at most
``_BRIGHT_READ_S``/``_VOICE_READ_S`` of each through the caller's ``read``
(:data:`~loopcap.trim.params.Reader`).  Without a reader every sound counts
as speech.  Pure numpy, no I/O of its own.

Spans are chunk indices ``[a, b)``; ``hop`` is samples per chunk; the
capture's quietest stretch ``quiet`` (chunks) stands for its floor.

:class:`FloorLook` looks at a note's edges: where its own floor (its
microphone's noise, in every band) is, alone or under another sound, and
where it begins or ends (issue 15: a knock or the far half of a chime over
the note's first or last sample).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import numpy as np

from .levels import median_of
from .params import Reader, TrimParams
from .spectrum import FLOOR_BANDS_HZ, band_powers, mono, taken_until_gap
from .voice import VoiceFloor, voice_floor, voice_measure

__all__ = ["Brightness", "brightness", "voicelike", "low_share", "FloorLook", "FloorEdge"]


#: At most this much of a sound (s) is read to judge its brightness.
_BRIGHT_READ_S = 1.0


def _rms_hz(x: np.ndarray, samplerate: int) -> tuple[float, float]:
    """(power, first-difference power) of ``x``, all channels."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 2:
        return 0.0, 0.0
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    return float(np.mean(np.square(x))), float(np.mean(np.square(np.diff(x, axis=0))))


#: A span under the floor's level is judged bright (:meth:`Brightness.under_floor`)
#: only this many times as bright as the floor: a hiss's own quiet chunks
#: are as bright as it.
UNDER_FLOOR_BRIGHTER = 2.0


class Brightness:
    """A sound's RMS frequency in Hz, above the floor's: from the power of its
    first difference over its power (``4 sin^2(pi f / rate)`` for a tone).
    About 300-1500 Hz for speech through a 16 kHz codec; clicks, shutters and
    hiss bursts lie far above.  Without a reader every sound counts as speech.

    Called with a span of chunks ``(a, b)``; :meth:`under_floor` judges a span
    quieter than the floor, which the call takes for none (0 Hz)."""

    def __init__(
        self, read: Reader | None, quiet: tuple[int, int], hop: int, samplerate: int
    ) -> None:
        self.read, self.hop, self.samplerate = read, hop, samplerate
        self.limit = round(_BRIGHT_READ_S * samplerate)
        self.fp, self.fd = 0.0, 0.0
        if read is not None:
            start = quiet[0] * hop
            end = min(quiet[1] * hop, start + self.limit)
            self.fp, self.fd = _rms_hz(read(start, end), samplerate)
        #: The floor's own RMS frequency (Hz).
        self.floor_hz = self._hz(self.fp, self.fd)

    def _hz(self, p: float, d: float) -> float:
        if p <= 0:
            return 0.0
        ratio = min(max(d / p, 0.0), 4.0)
        return self.samplerate / math.pi * math.asin(math.sqrt(ratio) / 2)

    def _powers(self, a: int, b: int) -> tuple[float, float]:
        assert self.read is not None
        start = a * self.hop
        return _rms_hz(self.read(start, min(b * self.hop, start + self.limit)), self.samplerate)

    def __call__(self, a: int, b: int) -> float:
        if self.read is None:
            return 0.0
        p, d = self._powers(a, b)
        return self._hz(p - self.fp, d - self.fd)

    def under_floor(self, a: int, b: int) -> float:
        """The RMS frequency (Hz) of a span quieter than the floor, as it is
        (nothing to take the floor's from), where it is at least
        ``UNDER_FLOOR_BRIGHTER`` times as bright as the floor itself; else 0:
        a click's faded end in a hum's trough (seed 3 mix021: 5,360 Hz, 16 dB
        under a hum of 451 Hz, whose own chunks under its level all lie
        darker than that), never a hiss's own quiet chunk."""
        if self.read is None:
            return 0.0
        p, d = self._powers(a, b)
        if p <= 0 or p >= self.fp:
            return 0.0
        hz = self._hz(p, d)
        return hz if hz > UNDER_FLOOR_BRIGHTER * self.floor_hz else 0.0


def brightness(
    read: Reader | None, quiet: tuple[int, int], hop: int, samplerate: int
) -> Brightness:
    """The :class:`Brightness` of spans of a capture whose quietest stretch
    ``quiet`` (chunks) stands for its floor."""
    return Brightness(read, quiet, hop, samplerate)


#: At most this much of a sound (s) is read to judge whether it is a voice.
_VOICE_READ_S = 3.0


def voicelike(
    read: Reader | None, quiet: tuple[int, int], hop: int, samplerate: int, params: TrimParams
) -> Callable[[int, int], bool]:
    """Whether the sound in chunks [a, b) could be a voice (its first
    ``_VOICE_READ_S``; see :mod:`loopcap.trim.voice`).  Without a reader every
    sound could be."""
    if read is None:
        return lambda a, b: True
    # The floor's spectrum and autocorrelation, once per capture: a split
    # asks about many sounds against the same floor.
    floor = voice_floor(read(quiet[0] * hop, quiet[1] * hop), samplerate)
    limit = round(_VOICE_READ_S * samplerate)
    seen: dict[tuple[int, int], bool] = {}  # a split asks again as notes grow

    def voice(a: int, b: int) -> bool:
        start = a * hop
        end = min(b * hop, start + limit)
        if (start, end) not in seen:
            m = voice_measure(read(start, end), floor, samplerate)
            seen[start, end] = (
                m.low_share >= params.voice_low_share and m.periodicity >= params.voice_periodicity
            )
        return seen[start, end]

    return voice


def low_share(
    read: Reader | None, quiet: tuple[int, int], hop: int, samplerate: int
) -> Callable[[int, int], float]:
    """The share of a sound's power (above the floor's) under 400 Hz, over
    its first ``_VOICE_READ_S`` (see :mod:`loopcap.trim.voice`): at least
    10% for speech, at most 5.4% for chimes and bells.  Without a reader,
    1.0 (every sound could be a voice)."""
    if read is None:
        return lambda a, b: 1.0
    limit = round(_VOICE_READ_S * samplerate)
    floors: list[VoiceFloor] = []  # measured at the first question: most notes ask none

    def share(a: int, b: int) -> float:
        if not floors:
            floors.append(voice_floor(read(quiet[0] * hop, quiet[1] * hop), samplerate))
        start = a * hop
        x = read(start, min(b * hop, start + limit))
        return voice_measure(x, floors[0], samplerate).low_share

    return share


# ---------------------------------------------------------------------------
# The note's own floor by its spectrum (issue 15, third version): where it
# is, alone or under another sound at the note's edge.

#: A frame holds the floor when every band (``FLOOR_BANDS_HZ``: a phone's
#: floor has power in all of them, a chime or a knock in a few) holds at
#: least the least the floor's quietest stretch holds there less ``HELD_DB``
#: (dB; powers add, so a sound over the floor never takes a band under it),
#: and holds it alone when no band stands ``CLEAR_DB`` (dB) over the most it
#: holds there.
HELD_DB = 3.0
CLEAR_DB = 6.0
#: A spectrum frame lasts about this long (s; a power of two of samples).
LOOK_FRAME_S = 0.01
#: Frames this close (s) are taken from one read of the audio.
BATCH_S = 10.0
#: The floor's quietest stretch must hold at least this many whole frames.
MIN_REF_FRAMES = 8
#: The floor is alone over a stretch of at least this long (s).
ALONE_S = 0.02
#: Followed outwards from where it is alone, the floor has stopped after
#: this long (s) without a frame that holds it.
HELD_GAP_S = 0.005
#: ...but under a sound that drowns every band where its level is steady
#: (over its quietest stretch its most at most ``STEADY_DB`` over its least:
#: a band of one or two FFT bins flickers by 20 dB and more) it cannot be
#: seen, and where it stopped there is anyone's guess when that lasts more
#: than ``BLIND_S`` (s).
STEADY_DB = 12.0
BLIND_S = 0.05
#: A stop, not a sound's quiet onset: a band empty just outside held the
#: floor alone over ``STOP_S`` (s) just inside; and the stop lies more than
#: ``STOP_MARGIN_S`` (s) inside the sounds at the edge, else the floor may
#: have gone on under them to their first sample.
STOP_S = 0.01
STOP_MARGIN_S = 0.02
#: The floor is followed at most this far (s) from the note's edge.
MAX_EDGE_S = 3.0
#: A stretch where the floor is alone, with nothing over its levels beyond
#: it towards the edge but more than this long (s) of frames under them, is
#: a sound's fade passing through the floor's levels, not the floor reaching
#: the edge: the floor stops within a frame or two, at the note's first or
#: last sample (seed 41 mix015: a noise burst over the note's tail, its
#: fading end taken for the floor alone, was kept whole; 37.5 ms of frames
#: under them there.  At the 4,729 other such edges of seeds 1-41, a
#: floor's flicker: at most 22.5 ms, 10 ms at all but 14; but seed 9
#: case078, 250 ms, whose cut stays where it was).
FADED_S = 0.025
#: Where it is alone is sought this far (s) from the edge first, then twice
#: as far each time, this much (s) at most at once: it is most often alone
#: within a few tens of ms of the edge, and the spectra of all 3 s at both
#: edges cost about 10 ms, 0.03x of reading an hour's capture.
SCAN_FIRST_S = 0.08
SCAN_MAX_S = 1.28

#: What the walk found at one edge of a note: ``("edge", c)`` the floor is
#: alone right at the edge c (whatever lies over it is the note's);
#: ``("floor", c)`` it stops at chunk c short of the edge (what lies beyond is
#: not the note's); ``("fills", c)`` it cannot be told where under a sound at
#: the edge it stopped, c where it is alone next to that sound.
FloorEdge = tuple[Literal["edge", "floor", "fills"], int]


class FloorLook:
    """Band powers (``FLOOR_BANDS_HZ``) of 10 ms frames of the audio at a
    note's edges, read through the caller's ``read``: where the note's own
    floor is, alone or under another sound.  ``hop`` is samples per chunk;
    spans are chunk indices ``[a, b)``.  One per note, on the caller's
    thread."""

    def __init__(self, read: Reader, hop: int, samplerate: int) -> None:
        self.read, self.hop, self.samplerate = read, hop, samplerate
        self.n = 1 << max(6, int(np.ceil(np.log2(LOOK_FRAME_S * samplerate))))
        edges = [f for f in FLOOR_BANDS_HZ if f < samplerate / 2] + [samplerate / 2]
        self.edges = np.array(edges) / samplerate
        #: Per band, the least (less ``HELD_DB``) and the most (plus
        #: ``CLEAR_DB``) the floor holds: set by :meth:`measure`.
        self.lo = np.zeros(len(edges) - 1)
        self.hi = np.zeros(len(edges) - 1)

    def bands(self, c0: int, c1: int, forwards: bool) -> np.ndarray:
        """Band powers (one row per chunk of [c0, c1)) of the frame starting
        at each chunk (``forwards``) or ending with it."""
        hop, n = self.hop, self.n
        if c1 <= c0:
            return np.zeros((0, len(self.edges) - 1))
        lead = min(n, c0 * hop)
        y = mono(self.read(c0 * hop - lead, c1 * hop + n))
        k = np.arange(c1 - c0)
        starts = np.maximum(0, lead + (k * hop if forwards else (k + 1) * hop - n))
        return band_powers(y, starts, n, self.edges)

    def measure(self, r0: int, r1: int) -> bool:
        """Take the floor's levels from its quietest stretch [r0, r1) (the
        frames wholly inside it); False when it holds too few."""
        whole = r1 - r0 - -(-self.n // self.hop)
        if whole < MIN_REF_FRAMES:
            return False
        p = self.bands(r0, r0 + whole, True)
        self.lo = p.min(axis=0) * 10 ** (-HELD_DB / 10)
        self.hi = p.max(axis=0) * 10 ** (CLEAR_DB / 10)
        return True

    def bands_at(self, chunks: np.ndarray) -> np.ndarray:
        """Band powers (one row per chunk) of the frame starting at each of
        ``chunks``: the rows :meth:`bands` gives for them one by one, from
        one read of the audio where they lie within ``BATCH_S`` of each
        other (a read per frame cost a long capture's trim 0.1x of its
        read time), else one read each."""
        chunks = np.asarray(chunks, dtype=np.int64)
        if len(chunks) == 0:
            return np.zeros((0, len(self.edges) - 1))
        c0, c1 = int(chunks.min()), int(chunks.max()) + 1
        if (c1 - c0) * self.hop > BATCH_S * self.samplerate:
            return np.concatenate([self.bands(int(c), int(c) + 1, True) for c in chunks])
        hop, n = self.hop, self.n
        lead = min(n, c0 * hop)
        x = np.asarray(self.read(c0 * hop - lead, c1 * hop + n))
        x = x[:, None] if x.ndim == 1 else x
        starts = lead + (chunks - c0) * hop
        # Only the frames' own samples go on (to mono, float64), not the
        # seconds between them; a frame past the audio's end is zero there.
        short = int(starts.max()) + n - len(x)
        if short > 0:
            x = np.concatenate([x, np.zeros((short, x.shape[1]), x.dtype)])
        y = mono(x[starts[:, None] + np.arange(n)].reshape(-1, x.shape[1]))
        return band_powers(y, np.arange(len(chunks)) * n, n, self.edges)

    def held_share(self, chunks: np.ndarray) -> float:
        """The share of the frames starting at ``chunks`` that hold the floor
        (1.0 for none)."""
        if len(chunks) == 0:
            return 1.0
        return float(np.mean((self.bands_at(chunks) >= self.lo).all(axis=1)))

    def alone(self, c0: int, c1: int, min_chunks: int, forwards: bool) -> list[tuple[int, int]]:
        """The run of at least ``min_chunks`` in [c0, c1) where the floor is
        alone nearest c0 (``forwards``: frames starting at each chunk) or
        nearest c1 (frames ending with each chunk), in a list (empty: none).
        Only that run is sought, from that end of the span (see
        :meth:`_nearest_alone`): the runs further in are never read."""
        run, _ = self._nearest_alone(c0, c1, min_chunks, forwards, whole=True)
        return [] if run is None else [run]

    def _nearest_alone(
        self, c0: int, c1: int, min_chunks: int, forwards: bool, whole: bool
    ) -> tuple[tuple[int, int] | None, np.ndarray]:
        """The run of :meth:`alone` and the band rows read on the way, in the
        order read: from c0 on (``forwards``) or from c1 back.  The audio is
        read ``SCAN_FIRST_S`` first, then twice as much each time (at most
        ``SCAN_MAX_S``), and no further than the run (``whole``: its far end;
        else the run's far end is as far as was read once it is long enough).
        Each row is the one :meth:`bands` gives for its chunk over the whole
        span (a frame's spectrum does not depend on its neighbours)."""
        first = max(1, round(SCAN_FIRST_S * self.samplerate / self.hop))
        most = max(first, round(SCAN_MAX_S * self.samplerate / self.hop))
        total, done, block = c1 - c0, 0, first
        rows: list[np.ndarray] = []
        flags: list[np.ndarray] = []
        while done < total:
            size = min(block, total - done)
            block = min(2 * block, most)
            if forwards:
                p = self.bands(c0 + done, c0 + done + size, True)
            else:
                p = self.bands(c1 - done - size, c1 - done, False)[::-1]
            done += size
            rows.append(p)
            flags.append(np.asarray((p >= self.lo).all(axis=1) & (p <= self.hi).all(axis=1)))
            seen = np.concatenate(flags)
            d = np.diff(np.concatenate(([0], seen.astype(np.int8), [0])))
            for x, y in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True):
                open_end = y == len(seen) and done < total  # may go on past what was read
                if open_end and (whole or y - x < min_chunks):
                    break
                if y - x >= min_chunks:
                    run = (c0 + int(x), c0 + int(y)) if forwards else (c1 - int(y), c1 - int(x))
                    return run, np.concatenate(rows)
        return None, np.concatenate(rows) if rows else np.zeros((0, len(self.edges) - 1))

    def reach(self, start: int, bound: int, gap: int) -> int:
        """How far from chunk ``start`` towards ``bound`` (either side) frames
        hold the floor, across ``gap`` chunks that do not: outwards a chunk
        holds it when the frame on its inner side does."""
        if start == bound:
            return start
        if bound < start:
            held = np.asarray((self.bands(bound, start, False) >= self.lo).all(axis=1))
            return start - taken_until_gap(held[::-1], gap)
        held = np.asarray((self.bands(start, bound, True) >= self.lo).all(axis=1))
        return start + taken_until_gap(held, gap)

    def _edge_run(
        self, a: int, b: int, near: int, need: int, at_start: bool, params: TrimParams
    ) -> tuple[tuple[int, int] | None, np.ndarray]:
        """The run where the floor is alone nearest the note [a, b)'s edge
        (within ``near`` chunks; at least ``need`` long), and the band rows
        read from the edge inwards.  A run with nothing over the floor's
        levels beyond it but more than :data:`FADED_S` of frames under them
        is a sound's fade: the run sought is the one past that sound."""
        far = a + near if at_start else b - near
        if at_start:
            run, rows = self._nearest_alone(a, far, need, True, whole=False)
        else:
            run, rows = self._nearest_alone(far, b, need, False, whole=False)
        if run is None:
            return run, rows
        outer, inner = (run[0] - a, run[1] - a) if at_start else (b - run[1], b - run[0])
        beyond = rows[:outer]
        under = int(np.count_nonzero(~(beyond >= self.lo).all(axis=1)))
        if (beyond > self.hi).any() or under <= round(FADED_S / params.hop_s):
            return run, rows
        # The sound the fade comes from: where it stands over the most the
        # floor holds in all bands together (a band or two of a noise's fade
        # flicker over it well before, then back under).
        if at_start:
            rest = self.bands(run[1], far, True)
        else:
            rest = self.bands(far, run[0], False)[::-1]
        loud = np.flatnonzero(rest.sum(axis=1) > self.hi.sum())
        if len(loud) == 0:
            return run, rows  # no sound further in: the floor's own
        sound = inner + int(loud[0])  # chunks from the edge
        rows = np.concatenate([rows[:inner], rest[: loud[0]]])
        if at_start:
            run, read = self._nearest_alone(a + sound, far, need, True, whole=False)
        else:
            run, read = self._nearest_alone(far, b - sound, need, False, whole=False)
        return run, np.concatenate([rows, read])

    def edge(
        self, a: int, b: int, params: TrimParams, at_start: bool, closed: bool = False
    ) -> FloorEdge | None:
        """Where the note [a, b) begins (``at_start``; else ends) by its floor
        (see :data:`FloorEdge`): followed outwards, frame by frame, from the
        stretch nearest the edge (within ``MAX_EDGE_S``) where it is alone;
        None without such a stretch.  ``closed``: that edge is where the
        note's floor has stopped by its level, and nothing of it goes on
        beyond (a stop within ``STOP_MARGIN_S`` of it is the floor's own)."""
        near = min(round(MAX_EDGE_S / params.hop_s), (b - a) // 2)
        need = max(1, round(ALONE_S / params.hop_s))
        gap = max(1, round(HELD_GAP_S / params.hop_s))
        few = max(1, round(STOP_S / params.hop_s))
        margin = max(1, round(STOP_MARGIN_S / params.hop_s))
        blind = max(1, round(BLIND_S / params.hop_s))
        lo, hi = self.lo, self.hi
        # Outwards a chunk holds the floor when the frame on its inner side
        # does: where the floor stops, that frame has little of it.
        run, read = self._edge_run(a, b, near, need, at_start, params)
        if run is None:
            return None
        if at_start:
            s = run[0]
            if not (read[: s - a] > hi).any():  # the frames starting at a..s-1
                return ("edge", a)  # nothing but the floor (or less) before it
            p = self.bands(a, s + few, False)  # row i: the frame ending with chunk a + i
            walk = p[: s - a][::-1]
        else:
            s = run[1]
            if not (read[: b - s] > hi).any():  # the frames ending with b-1..s
                return ("edge", b)
            p = self.bands(s - few, b, True)  # row i: the frame starting at chunk s - few + i
            walk = p[few:]
        t = taken_until_gap(np.asarray((walk >= lo).all(axis=1)), gap)
        steady = hi / np.maximum(lo, 1e-300) < 10 ** ((STEADY_DB + HELD_DB + CLEAR_DB) / 10)
        unseen = ~((walk[:t] <= hi) & steady).any(axis=1)
        d = np.diff(np.concatenate(([0], unseen.astype(np.int8), [0])))
        longest_unseen = int(np.max(np.flatnonzero(d == -1) - np.flatnonzero(d == 1), initial=0))
        q = s - t if at_start else s + t
        # Where the floor is held up to the edge itself there is no frame
        # beyond it to see it stop in: a sound over it there fills it.
        # But where it stops right where it was alone (no sound over it in
        # between) and a whole frame beyond that lies inside the span, its
        # stop is seen as it is however near the edge (seed 9 mix015: a
        # chime over the 24 ms before the note's first sample).
        beyond = abs(q - (a if at_start else b))
        seen = t <= few and beyond > -(-self.n // self.hop)
        near_edge = beyond <= (0 if closed else margin) and not seen
        if near_edge or longest_unseen > blind:
            return ("fills", s)
        if at_start:
            out, inside = p[q - 1 - a], p[q - a : q - a + few]
        else:
            out, inside = p[few + t], p[t : few + t]
        if not ((out < lo) & (median_of(inside, axis=0) <= hi)).any():
            return ("fills", s)
        # The last frame that held the floor may have held a sound's part
        # alone past its first (last) sample: the cut goes half a frame in.
        back = self.n // (2 * self.hop)
        return ("floor", q + back if at_start else q - back)
