"""One application's sound through per-process capture streams that are
polled: the part the flexaudio (Windows, and Linux on PipeWire) and catap
(macOS) backends share.

A backend names the processes of the app that may play now (:meth:`_scan`),
opens one capture stream per process (:meth:`_open`) and hands over what a
stream delivered since the last poll (:meth:`_poll`).  :class:`PolledAppStream`
follows the app: it scans every :data:`SCAN_S`, opens a stream for each new
process, keeps a stream while its process is listed or still runs (a browser
closes an idle output stream about 5 s after playback stops and opens a new
one in the same process: a stream kept open records the new one from its
first fragment, where a process found by the scan loses what it played
before it was found), and closes the stream of a process that is gone.
What the streams deliver goes onto one timeline through
:class:`~loopcap.device.mixer.Mixer`, stamped with the monotonic time of
each poll.

A run's first :data:`PLACE_S` of polls is placed as one
(:func:`~loopcap.device.base.run_start` over all their arrivals): placed by
its first poll alone, a run lands up to a poll interval late, and two notes'
distance was off by that much.  Exact zeros before a run, or more than
:data:`QUIET_S` of them, count as nothing delivered (a process tap delivers
zeros while its process is quiet): nothing is handed over while none plays.

Lifecycle: made by the source's ``open`` on the reader thread (the capture
thread); :meth:`read` there (it blocks); :meth:`drain` from any thread;
:meth:`close` once (idempotent).  Each stream is polled at most every
:data:`POLL_S` (one chunk = 20 ms); with none open the reader sleeps until
the next scan.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from loopcap.device.base import DRAIN_LAG_S, HANDOVER_S, DeviceInfo, Stream, run_start
from loopcap.device.mixer import GAP_S, Mixer
from loopcap.errors import DeviceError
from loopcap.log import logger

__all__ = [
    "PolledAppSource",
    "PolledAppStream",
    "POLL_S",
    "SCAN_S",
    "PLACE_S",
    "QUIET_S",
    "pid_alive",
]

#: How often (s) each open stream is polled: one chunk of audio.
POLL_S = 0.02
#: How often (s) the processes are listed to find the app's new ones.  A
#: process found by a scan has played up to this long before it was found
#: (measured on PipeWire: found 0.107 s after it started, its first 0.101 s
#: were not recorded); a listing costs ~1.8 ms of CPU (measured with
#: flexaudio on PipeWire), 0.7 % of a core at this rate.
SCAN_S = 0.25
#: A run's polls within this long (s) of its first are placed together.
PLACE_S = 0.2
#: A run that delivered only exact zeros this long (s) ends: the process is
#: quiet (a process tap delivers zeros then, where PipeWire delivers nothing).
QUIET_S = 1.0


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (POSIX; False on Windows, where
    signal 0 would terminate it: there the listing alone tells)."""
    if sys.platform == "win32":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        return True
    except OSError:
        return False
    return True


@dataclass
class _Run:
    """One stream's state on the timeline."""

    handle: Any
    running: bool = False  # in a run the mixer has placed
    last_t: float = 0.0  # when it last delivered (zeros too)
    sound_t: float = 0.0  # when it last delivered anything but zeros
    pending: list[tuple[float, np.ndarray]] = field(default_factory=list)


class PolledAppStream:
    """The mix of an application's processes; nothing while none plays.

    Subclasses implement :meth:`_scan`, :meth:`_open`, :meth:`_poll`,
    :meth:`_close` (all called on the reader thread) and may override
    :meth:`_alive`.
    """

    HANDOVER_S = HANDOVER_S
    DRAIN_LAG_S = DRAIN_LAG_S
    POLL_S = POLL_S
    SCAN_S = SCAN_S
    #: The clock of every stamp (monotonic s); tests put a fake one here.
    _now = staticmethod(time.monotonic)

    def __init__(self, name: str, samplerate: int, channels: int) -> None:
        self.app = name
        self.samplerate = samplerate
        self.channels = channels
        self._wake = threading.Event()
        self._drain_requested = threading.Event()
        self._drain_at = 0.0
        self._closed = False
        self._close_lock = threading.Lock()
        self._runs: dict[Hashable, _Run] = {}
        self._out: deque[tuple[np.ndarray, float]] = deque()
        self._next_scan = 0.0
        self._next_take = 0.0
        self._mixer = Mixer(samplerate, channels, epoch=self._now())

    # ------------------------------------------------------------ the backend's part

    def _scan(self) -> dict[Hashable, Any] | None:
        """The app's processes now, key -> what :meth:`_open` needs; None when
        the listing failed this time (nothing is closed then)."""
        raise NotImplementedError

    def _open(self, key: Hashable, target: Any) -> Any:
        """A capture stream for ``target``, or None when it cannot be had now
        (it is tried again at the next scan).  Raises DeviceError when no
        process of this system can be captured."""
        raise NotImplementedError

    def _poll(self, handle: Any) -> tuple[np.ndarray, bool]:
        """What ``handle`` delivered since the last poll (float32 frames x
        channels), and whether it still runs."""
        raise NotImplementedError

    def _close(self, handle: Any) -> None:
        raise NotImplementedError

    def _alive(self, key: Hashable) -> bool:
        """Whether the process of ``key``, no longer listed, still runs."""
        return False

    # ------------------------------------------------------------ following

    def _follow(self) -> None:
        wanted = self._scan()
        if wanted is None:
            return
        for key in [k for k in self._runs if k not in wanted and not self._alive(k)]:
            self._end(key)
            logger.debug("the app's process {} is gone", key)
        for key, target in wanted.items():
            if key in self._runs:
                continue
            handle = self._open(key, target)
            if handle is not None:
                self._runs[key] = _Run(handle)
                logger.debug("recording the app's process {}", key)

    def _end(self, key: Hashable) -> None:
        run = self._runs.pop(key)
        try:
            frames, _alive = self._poll(run.handle)  # what it still holds
        except DeviceError:
            frames = np.zeros((0, self.channels), np.float32)
        self._deliver(key, run, frames, self._now())
        self._place(key, run)
        self._close(run.handle)
        self._mixer.end(key)

    # ------------------------------------------------------------ placing

    def _deliver(self, key: Hashable, run: _Run, frames: np.ndarray, t: float) -> None:
        in_run = run.running or bool(run.pending)
        if len(frames) and not frames.any():
            # Exact zeros: nothing before a run (the process is quiet); inside
            # one they are part of the sound (a voice note's pauses are often
            # digital silence: dropped, they split the note in two runs, each
            # placed by its arrival, a few ms apart), up to QUIET_S of them.
            if not in_run:
                return
            if t - run.sound_t >= QUIET_S:
                self._end_run(key, run)
                return
        elif len(frames):
            run.sound_t = t
        if not len(frames):
            if in_run and t - run.last_t >= GAP_S:
                self._end_run(key, run)  # it stopped delivering
            return
        run.last_t = t
        if run.running:
            self._mixer.add(key, frames, t)
            return
        run.pending.append((t, frames))
        if t - run.pending[0][0] >= PLACE_S:
            self._place(key, run)

    def _end_run(self, key: Hashable, run: _Run) -> None:
        self._place(key, run)
        run.running = False
        self._mixer.end(key)  # the next sound starts a run of its own

    def _place(self, key: Hashable, run: _Run) -> None:
        """Put a run's pending polls on the timeline, placed by all their
        arrivals."""
        if not run.pending:
            return
        start = run_start([(t, len(f)) for t, f in run.pending], self.samplerate)
        frames = np.concatenate([f for _, f in run.pending])
        run.pending.clear()
        self._mixer.add(key, frames, start + len(frames) / self.samplerate)
        run.running = True

    def _poll_all(self) -> None:
        for key, run in list(self._runs.items()):
            frames, alive = self._poll(run.handle)
            self._deliver(key, run, frames, self._now())
            if not alive:
                logger.debug("the capture of the app's process {} ended", key)
                self._place(key, run)
                self._close(run.handle)
                self._mixer.end(key)
                del self._runs[key]

    def _take(self, drain: bool) -> list[tuple[np.ndarray, float]]:
        if drain:
            for key, run in self._runs.items():
                self._place(key, run)
            return self._mixer.take(None)
        until = self._mixer.safe_until(self._now())
        for run in self._runs.values():
            if run.pending:  # not placed yet: its start is not handed over
                bound = run_start([(t, len(f)) for t, f in run.pending], self.samplerate)
                until = min(until, self._mixer.position(bound - 0.05))
        return self._mixer.take(until)

    # ------------------------------------------------------------ the Stream

    def read(self) -> tuple[np.ndarray, float]:
        while True:
            if self._out:
                return self._out.popleft()
            now = self._now()
            drain = self._drain_requested.is_set()
            if drain and now < self._drain_at:
                time.sleep(self._drain_at - now)  # the stop's last audio is in flight
                continue
            if now >= self._next_scan:
                self._next_scan = now + self.SCAN_S
                self._follow()
            self._poll_all()
            now = self._now()
            if drain or now >= self._next_take:
                self._next_take = now + self.HANDOVER_S
                self._out.extend(self._take(drain))
                if drain:
                    self._drain_requested.clear()
                    if not self._out:
                        return np.zeros((0, self.channels), np.float32), self._now()
                if self._out:
                    continue
            if self._drain_requested.is_set():
                continue
            # Poll each chunk as it comes; with nothing open (and nothing
            # held) sleep until the next scan.
            busy = self._runs or self._mixer.holding
            wait = self.POLL_S if busy else max(0.0, self._next_scan - self._now())
            self._wake.wait(wait)
            self._wake.clear()

    def drain(self) -> None:
        """Ask :meth:`read` to return all it holds, after :attr:`DRAIN_LAG_S`
        for the audio still in flight.  Thread-safe, never blocks."""
        self._drain_at = self._now() + self.DRAIN_LAG_S
        self._drain_requested.set()
        self._wake.set()

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        for run in self._runs.values():
            try:
                self._close(run.handle)
            except Exception as exc:  # a foreign error while releasing: nothing to save
                logger.debug("closing a capture of the app failed: {}", exc)
        self._runs.clear()


class PolledAppSource:
    """The sound of the applications matching ``name``, through a backend's
    :class:`PolledAppStream` subclass (``stream_class``, set by each backend).
    Holds nothing open: each :meth:`open` starts a stream of its own."""

    stream_class: type[PolledAppStream]

    def __init__(self, name: str, channels: int = 2) -> None:
        self.app = name
        key = name.strip().lower()
        self.info = DeviceInfo(
            id=f"app:{key}", name=f"{name.strip()} (app)", channels=channels, default=False
        )

    def open(self, samplerate: int) -> Stream:
        return self.stream_class(self.app, samplerate, self.info.channels)
