"""A capture kept running between recordings, with a pre-roll ring buffer.

The desktop app opens the loopback device once and keeps it open: the timeline
is then true from the first moment of every recording (no device warm-up),
and the last ``preroll_s`` seconds heard while idle are at hand when the
hotkey is pressed, so a late press still catches the note's first syllable.

Threads: the capture thread (reads, see :mod:`loopcap.capture.reader`) and the
router thread here, which moves blocks either into the ring (idle) or into the
queue of the current recording.  :meth:`begin` and :meth:`end` may be called
from any thread.
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from collections.abc import Callable

from loguru import logger

from loopcap.capture.reader import END, Block, Capture
from loopcap.device import Source
from loopcap.errors import LoopcapError

__all__ = ["Tap", "MIN_RING_S"]

#: Seconds of audio the ring keeps at least (see :meth:`Tap._route`).
MIN_RING_S = 1.0


class Tap:
    """Owns a running :class:`~loopcap.capture.Capture` and routes its blocks."""

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

    @property
    def channels(self) -> int:
        return self.capture.channels

    @property
    def error(self) -> LoopcapError | None:
        return self.capture.error

    def start(self, warmup_s: float = 3.0) -> None:
        """Open the device and wait (up to ``warmup_s``) for its first audio.

        Raises DeviceError if it cannot be opened.  An idle PulseAudio sink can
        take ~2 s to deliver anything; a recording begun before that would
        place the late first batch by its arrival time (measured: the end of a
        sound played in the first seconds was lost), so the tap is ready only
        once audio flows.
        """
        self.capture.start()
        self.capture.opened.wait()
        if self.capture.error is not None:
            raise self.capture.error
        self._router.start()
        self._flowing.wait(warmup_s)

    def close(self) -> None:
        self.capture.stop()

    def when_ended(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` once :attr:`ended` is set (on the router thread; at
        once if it is already), so a watcher can sleep instead of polling."""
        with self._lock:
            if not self.ended.is_set():
                self._on_end.append(fn)
                return
        fn()

    # ------------------------------------------------------------ recording

    def begin(self, t_start: float) -> tuple[queue.Queue, float]:
        """Start routing to a new queue; returns it and the timeline's t0.

        The queue first receives the ring's blocks from ``t_start - preroll_s``
        on, then live blocks.  ``t0`` is where position 0 of the file lies.
        """
        target: queue.Queue = queue.Queue()
        with self._lock:
            t_from = t_start - self.preroll_s
            first_t = None
            for block in self._ring:
                block_start = block.t - len(block.frames) / self.samplerate
                if block.t > t_from:
                    target.put(block)
                    if first_t is None:
                        first_t = block_start
            self._ring.clear()
            self._ring_frames = 0
            self._target = target
        return target, (t_start if first_t is None else first_t)

    def flush(self) -> None:
        """Have the audio captured until now routed at once (a recording is
        stopping).  Never blocks."""
        self.capture.flush()

    def end(self) -> None:
        """Stop routing to the current recording's queue."""
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
        # The ring keeps at least MIN_RING_S even with the pre-roll off: an
        # armed capture starts a little before the sound that woke it.
        limit = round(max(self.preroll_s, MIN_RING_S) * self.samplerate)
        while True:
            block = self.capture.queue.get()
            self._flowing.set()
            with self._lock:
                if block is END:
                    target, self._target = self._target, None
                    if target is not None:
                        target.put(END)
                    break
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
