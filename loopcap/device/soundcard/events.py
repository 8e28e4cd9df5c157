"""A sound server's events, heard on a thread of its own.

Both the default output's watcher (:mod:`~loopcap.device.soundcard.outputs`)
and the app's stream watcher (:mod:`~loopcap.device.soundcard.apps`) wait
for the server to post an event: a pulsectl connection subscribed to a few
facilities, asleep in ``poll()`` in between, so nothing wakes while nothing
changes.  :class:`EventListener` is that loop, its start and its close,
once; the two watchers say what an event and a lost connection mean.

Threads: the connection lives on the listener's thread once started (a
pulsectl connection must not be shared between threads); only
``event_listen_stop()``, which pulsectl makes thread-safe, is called from
another, under a lock, so that :meth:`EventListener.close` never wakes a
connection that thread has freed (libpulse aborts in
``pa_mainloop_wakeup``: measured on quit after the server was killed).
"""

from __future__ import annotations

import threading
from typing import Any, Self

from loopcap.device.soundcard.connection import NO_SERVER
from loopcap.errors import DeviceError

__all__ = ["EventListener", "connect", "pulsectl_module", "CLIENT_NAME"]

#: How loopcap's pulsectl connections name themselves to the sound server.
CLIENT_NAME = "loopcap-apps"


def pulsectl_module() -> Any:
    """pulsectl, imported lazily: Windows and macOS have neither it nor
    libpulse.  Raises DeviceError when it cannot be imported."""
    try:
        import pulsectl  # noqa: PLC0415 - lazy: Linux only, and connects nothing yet
    except ImportError as exc:
        raise DeviceError(
            f"the pulsectl package cannot be imported ({exc}): reinstall loopcap "
            "(pip install loopcap) and try again"
        ) from None
    return pulsectl


def connect() -> Any:
    """A new pulsectl connection (the caller closes it).  Raises
    DeviceError when no sound server is reachable."""
    pulsectl = pulsectl_module()
    try:
        return pulsectl.Pulse(CLIENT_NAME)
    except Exception as exc:  # pulsectl.PulseError and libpulse's own failures
        raise DeviceError(f"{NO_SERVER} ({exc})") from None


class EventListener:
    """Listens to the server's events of ``facilities`` (pulsectl's event
    mask names, such as ``"server"`` or ``"sink_input"``).

    Subclasses implement :meth:`_started` (on the caller's thread, in
    :meth:`start`), :meth:`_heard` (on the listener's thread, after each
    burst of events) and :meth:`_lost` (on the listener's thread, once, when
    the connection failed or :meth:`_heard` raised, unless the listener was
    closed).  None of them may block.

    Lifecycle: :meth:`start` (raises DeviceError without a server, or what
    :meth:`_started` raises), then :meth:`close` once (idempotent; from any
    thread, the listener's own included).
    """

    #: The listener thread's name, for logs and debuggers.
    thread_name = "loopcap-events"

    def __init__(self, *facilities: str) -> None:
        self._facilities = facilities
        self._stop = threading.Event()
        #: Guards _pulse: the thread frees the connection when it is lost.
        self._lock = threading.Lock()
        self._pulse: Any = None
        self._thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        """The listener listens (it has not been closed and its connection holds)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> Self:
        self._pulse = connect()
        try:
            self._pulse.event_mask_set(*self._facilities)
            self._pulse.event_callback_set(self._event)
            self._started(self._pulse)
        except Exception:
            self._pulse.close()
            raise
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def _started(self, pulse: Any) -> None:
        """The connection is subscribed; the thread starts after this."""

    def _heard(self, pulse: Any) -> None:
        """A burst of events was heard (the connection may be used here)."""
        raise NotImplementedError

    def _lost(self, exc: BaseException | None) -> None:
        """The connection is gone: ``exc`` says why (None if it just ended)."""
        raise NotImplementedError

    @staticmethod
    def _event(event: Any) -> None:
        # pulsectl allows no call from its callback: stop listening, act
        # after (every event of the burst is read first).
        raise pulsectl_module().PulseLoopStop

    def _run(self) -> None:
        lost: BaseException | None = None
        try:
            while not self._stop.is_set():
                self._pulse.event_listen()  # until an event, or close()
                if not self._stop.is_set():
                    self._heard(self._pulse)
        except Exception as exc:  # the server went away (or pulsectl failed)
            lost = exc
        finally:
            with self._lock:
                pulse, self._pulse = self._pulse, None
            try:
                pulse.close()
            except Exception:  # nothing left to release
                pass
            if not self._stop.is_set():
                self._lost(lost)

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        with self._lock:
            if self._pulse is not None:
                try:
                    self._pulse.event_listen_stop()  # thread-safe: wakes event_listen()
                except Exception:  # already closed
                    pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
