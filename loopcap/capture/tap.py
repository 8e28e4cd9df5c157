"""The running capture every recording is taken from, with a pre-roll ring.

A :class:`Tap` opens the loopback device and keeps reading it.  While no
recording runs, its blocks go into a ring holding the last ``preroll_s``
seconds (at least :data:`MIN_RING_S`); a recording then takes the ring's
blocks and the live ones after them (:meth:`Tap.begin`), and the session
decides where its position 0 lies (:func:`loopcap.session.align_start`).

The desktop app keeps one tap open between recordings: the timeline is true
from the first moment of every recording (no device warm-up), and what played
just before the hotkey is at hand, so a late press still catches the note's
first syllable.  ``loopcap record`` opens a tap of its own for one recording
(pre-roll 0: the ring then only serves to time the stream).

Threads: the capture thread (reads, see :mod:`loopcap.capture.reader`) and
the router thread here, which moves blocks into the ring or into the current
recording's queue.  :meth:`begin`, :meth:`end`, :meth:`flush` and
:meth:`watch` may be called from any thread.

Lifecycle: :meth:`start` once (or ``with Tap(...) as tap: tap.start()``),
then :meth:`close` (idempotent; ``with`` calls it).
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from collections.abc import Callable

from loopcap.capture.reader import END, Block, Capture
from loopcap.device import HANDOVER_S, Source
from loopcap.errors import LoopcapError
from loopcap.log import logger

__all__ = ["Tap", "MIN_RING_S", "ARM_LEAD_S"]

#: An armed capture begins this long (s) before the sound that started it
#: (plus the pre-roll): the trimmer then finds the note's true first sample.
ARM_LEAD_S = 0.5
#: Seconds of audio the ring keeps at least, even with the pre-roll off: an
#: armed capture starts :data:`ARM_LEAD_S` before the sound that woke it, and
#: the block holding that moment may come up to a hand-over later, as may
#: the block after it.
MIN_RING_S = ARM_LEAD_S + 2 * HANDOVER_S


class Tap:
    """Owns a running :class:`~loopcap.capture.reader.Capture` and routes its blocks."""

    def __init__(self, source: Source, samplerate: int, preroll_s: float) -> None:
        self.source = source
        self.samplerate = samplerate
        self.preroll_s = preroll_s
        self.capture = Capture(source, samplerate)
        self._lock = threading.Lock()
        self._ring: collections.deque[Block] = collections.deque()
        self._ring_frames = 0
        self._target: queue.Queue | None = None
        self._watcher: Callable[[Block], None] | None = None
        self._router = threading.Thread(target=self._route, name="loopcap-router", daemon=True)
        self.ended = threading.Event()  # set when the capture has ended (error or close)
        self._on_end: list[Callable[[], None]] = []
        self._flowing = threading.Event()  # set at the first block
        #: When the device was open (monotonic s): no recording reaches back
        #: before it.  Set by start().
        self.opened_at = float("inf")

    @property
    def channels(self) -> int:
        return self.capture.channels

    @property
    def error(self) -> LoopcapError | None:
        return self.capture.error

    @property
    def flowing(self) -> bool:
        """True once the device has delivered audio."""
        return self._flowing.is_set()

    def start(self) -> None:
        """Open the device; returns once it is open (never waits for audio).

        Raises DeviceError if it cannot be opened.  A device may deliver
        nothing for a long time: a sink that sleeps (loopcap's streams let
        it), WASAPI loopback in silence, an idle PulseAudio null sink that
        renders 2 s at a time.  The recordings placed on it keep the wall
        clock regardless (see :class:`~loopcap.writer.partial.PartialWriter`),
        so nothing here waits for the first audio: a start is immediate.
        """
        self.capture.start()
        self.capture.opened.wait()
        if self.capture.error is not None:
            raise self.capture.error
        self.opened_at = time.monotonic()
        self._router.start()

    def close(self) -> None:
        """Stop the capture (it ends by itself; never blocks).  Idempotent."""
        self.capture.stop()

    def __enter__(self) -> Tap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def when_ended(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` once :attr:`ended` is set (on the router thread; at
        once if it is already), so a watcher can sleep instead of polling."""
        with self._lock:
            if not self.ended.is_set():
                self._on_end.append(fn)
                return
        fn()

    # ------------------------------------------------------------ recording

    def begin(self) -> tuple[queue.Queue, list[Block]]:
        """Start routing live blocks to a new queue; return it and the ring's
        blocks (oldest first), which are not put on it.

        Atomic: no block is in both, none is missed between them.  The ring
        is emptied.  The caller decides what of the ring's audio it keeps.
        """
        target: queue.Queue = queue.Queue()
        with self._lock:
            ring = list(self._ring)
            self._ring.clear()
            self._ring_frames = 0
            self._target = target
        return target, ring

    def flush(self) -> None:
        """Have the audio captured until now routed at once (a recording is
        stopping).  Never blocks."""
        self.capture.flush()

    def end(self) -> None:
        """Stop routing to the current recording's queue (END is put on it)."""
        with self._lock:
            target, self._target = self._target, None
        if target is not None:
            target.put(END)

    def watch(self, watcher: Callable[[Block], None] | None) -> None:
        """Show every block to ``watcher`` (None: stop), on the router thread.

        It first sees the ring's blocks (what played in the last
        ``preroll_s``), then each block as it arrives, idle or recording.
        It must return quickly; an exception it raises is logged and it is
        dropped.
        """
        with self._lock:
            self._watcher = watcher
            if watcher is not None:
                for block in list(self._ring):
                    self._show(watcher, block)

    def _show(self, watcher: Callable[[Block], None], block: Block) -> None:
        try:
            watcher(block)
        except Exception:
            logger.exception("a block watcher failed; it is dropped")
            self._watcher = None

    # ------------------------------------------------------------ thread

    def _route(self) -> None:
        limit = round(max(self.preroll_s, MIN_RING_S) * self.samplerate)
        while True:
            block = self.capture.queue.get()
            if block is END or len(block.frames):
                self._flowing.set()
            with self._lock:
                if block is END:
                    target, self._target = self._target, None
                    if target is not None:
                        target.put(END)
                    break
                if not len(block.frames):  # a drain's "nothing more": the recording's only
                    if self._target is not None:
                        self._target.put(block)
                    continue
                if self._watcher is not None:
                    self._show(self._watcher, block)
                if self._target is not None:
                    self._target.put(block)
                else:
                    self._ring.append(block)
                    self._ring_frames += len(block.frames)
                    while self._ring and self._ring_frames - len(self._ring[0].frames) >= limit:
                        self._ring_frames -= len(self._ring.popleft().frames)
        logger.debug(f"capture ended at {time.monotonic():.3f}: {self.capture.error}")
        with self._lock:
            self.ended.set()
            callbacks, self._on_end = self._on_end, []
        for fn in callbacks:
            fn()
