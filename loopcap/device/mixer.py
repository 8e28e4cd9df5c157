"""One application's playback streams mixed onto one timeline (pure numpy).

An application may play through several streams at once, and a browser
closes an idle stream about 5 s after playback stops and opens a new one for
the next sound (Chromium's ``kStreamCloseDelaySeconds``).  Each of its
streams is recorded by a record stream of its own; :class:`Mixer` puts what
they deliver on one timeline of frame positions, counted from the monotonic
time ``epoch``:

- while a stream flows its data is contiguous: each read is added at the
  stream's cursor, right after its previous data;
- the first data of a stream, and its first after it delivered nothing
  (:data:`GAP_S`) or fell behind the wall clock (:data:`LATE_S`), is placed
  by its arrival (:func:`~loopcap.device.base.run_start`: the run cannot
  have begun later than its arrival minus its length);
- the mix is handed over (:meth:`Mixer.take`) up to a margin behind now
  (:meth:`Mixer.safe_until`), never past the cursor of a stream that flows,
  as blocks stamped with the monotonic time of their last frame, which is
  what the writer needs to place them (it appends a block that arrives
  within ``CONTIGUOUS_S`` of the previous one, and places the first of a
  run by its stamps);
- where the application plays nothing the mix holds nothing, and nothing is
  handed over (the writer keeps the wall clock through silence), except a
  pause shorter than :data:`FILL_S` between two sounds, which is handed over
  as zeros: the writer would otherwise append the second sound right after
  the first, closing the pause.

Not thread-safe: one owner (the capture thread reading the streams).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np

from loopcap.device.base import HANDOVER_S, run_start

__all__ = ["Mixer", "FILL_S", "GAP_S", "LATE_S", "MARGIN_S"]

#: A pause between two sounds of the mix shorter than this (s) is handed over
#: as zeros.  The writer takes a block arriving within 2 * HANDOVER_S
#: (``CONTIGUOUS_S``) of the previous one as following it; a longer pause is
#: left out and the writer places the next sound by its stamp.
FILL_S = 2 * HANDOVER_S
#: An empty read this long (s) after a stream's last data ends its run: it
#: stopped delivering (fragments come every 10-20 ms while it flows).
GAP_S = 0.1
#: Data whose end falls this far (s) behind its arrival, placed at the
#: stream's cursor, starts a new run instead: the stream paused between two
#: reads (reads come every HANDOVER_S; more than that plus a fragment's
#: latency cannot be data waiting in the queue).
LATE_S = HANDOVER_S + 0.1
#: The mix is handed over up to this long (s) behind now: a stream that has
#: only just started may deliver audio of that age at the next read.
MARGIN_S = 0.1


@dataclass
class _Sub:
    """One stream's place on the timeline: None while it is not flowing."""

    cursor: int | None = None
    last_t: float = 0.0


class Mixer:
    """Streams (any hashable key each) mixed on the timeline of ``epoch``.

    Feed every read of every stream to :meth:`add` (an empty read too: it
    tells that the stream stopped), tell :meth:`end` when a stream is gone,
    and call :meth:`take` to get the mix.  Units: frames and monotonic
    seconds.
    """

    def __init__(self, samplerate: int, channels: int, epoch: float) -> None:
        self.samplerate = samplerate
        self.channels = channels
        self.epoch = epoch
        self._subs: dict[Hashable, _Sub] = {}
        self._base = 0  # the position of _buf[0]: all before it is handed over
        self._buf = np.zeros((0, channels), np.float32)
        self._has = np.zeros(0, bool)  # which frames of _buf any stream covered
        self._delivered_end: int | None = None
        #: Frames a stream delivered for a place already handed over (dropped).
        self.dropped = 0
        #: Frames a run was moved later because its place was handed over.
        self.shifted = 0

    # ------------------------------------------------------------ positions

    def position(self, t: float) -> int:
        """The frame position of monotonic time ``t``."""
        return round((t - self.epoch) * self.samplerate)

    def time_of(self, position: int) -> float:
        """The monotonic time of frame position ``position``."""
        return self.epoch + position / self.samplerate

    @property
    def flowing(self) -> int:
        """How many streams are in a run (delivering)."""
        return sum(1 for s in self._subs.values() if s.cursor is not None)

    @property
    def holding(self) -> bool:
        """Whether audio waits to be handed over."""
        return bool(self._has.any())

    # ------------------------------------------------------------ input

    def add(self, key: Hashable, frames: np.ndarray, t: float) -> None:
        """What stream ``key`` delivered at one read, which took place at
        monotonic time ``t`` (float32 frames x channels; may be empty)."""
        sub = self._subs.setdefault(key, _Sub())
        n = len(frames)
        if n == 0:
            if sub.cursor is not None and t - sub.last_t >= GAP_S:
                sub.cursor = None
            return
        if sub.cursor is not None and t - self.time_of(sub.cursor + n) > LATE_S:
            sub.cursor = None
        if sub.cursor is None:
            start = self.position(run_start([(t, n)], self.samplerate))
            if start < self._base:
                # Its place is handed over already: a little late rather
                # than lost (MARGIN_S makes this rare and short).
                self.shifted += self._base - start
                start = self._base
            sub.cursor = start
        self._put(sub.cursor, frames)
        sub.cursor += n
        sub.last_t = t

    def end(self, key: Hashable) -> None:
        """Stream ``key`` is gone; what it delivered stays in the mix."""
        self._subs.pop(key, None)

    def _put(self, position: int, frames: np.ndarray) -> None:
        offset = position - self._base
        if offset < 0:  # (only after a forced take: see safe_until)
            self.dropped += min(-offset, len(frames))
            frames = frames[-offset:]
            offset = 0
        if not len(frames):
            return
        need = offset + len(frames)
        if need > len(self._buf):
            grow = need - len(self._buf)
            self._buf = np.concatenate([self._buf, np.zeros((grow, self.channels), np.float32)])
            self._has = np.concatenate([self._has, np.zeros(grow, bool)])
        self._buf[offset:need] += frames
        self._has[offset:need] = True

    # ------------------------------------------------------------ output

    def safe_until(self, now: float) -> int:
        """The position up to which the mix is complete at monotonic ``now``:
        :data:`MARGIN_S` behind it, and not past a flowing stream's cursor."""
        until = self.position(now - MARGIN_S)
        for sub in self._subs.values():
            if sub.cursor is not None:
                until = min(until, sub.cursor)
        return until

    def take(self, until: int | None = None) -> list[tuple[np.ndarray, float]]:
        """Hand over the mix before position ``until`` (None: all of it, for
        a stop), as blocks of (frames, monotonic time of the last frame).

        Several blocks only where a pause of :data:`FILL_S` or more lies
        between sounds; none where nothing played.
        """
        size = len(self._has)
        k = size if until is None else max(0, min(until - self._base, size))
        out: list[tuple[int, list[np.ndarray]]] = []  # (start, pieces)
        end = self._delivered_end
        fill = round(FILL_S * self.samplerate)
        if k:
            edges = np.diff(self._has[:k].astype(np.int8), prepend=0, append=0)
            starts = np.flatnonzero(edges == 1)
            stops = np.flatnonzero(edges == -1)
            for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
                p = self._base + a
                chunk = self._buf[a:b].copy()
                if end is not None and 0 <= p - end < fill:
                    pieces = [np.zeros((p - end, self.channels), np.float32), chunk]
                    if out and out[-1][0] + sum(len(x) for x in out[-1][1]) == end:
                        out[-1][1].extend(pieces)
                    else:
                        out.append((end, pieces))
                else:
                    out.append((p, [chunk]))
                end = self._base + b
        self._delivered_end = end
        new_base = self._base + k if until is None else max(self._base + k, until)
        drop = new_base - self._base
        self._buf = self._buf[drop:]
        self._has = self._has[drop:]
        self._base = new_base
        blocks = []
        for start, pieces in out:
            frames = np.concatenate(pieces) if len(pieces) > 1 else pieces[0]
            blocks.append((frames, self.time_of(start + len(frames))))
        return blocks
