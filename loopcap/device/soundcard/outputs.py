"""The default output's changes, as the sound server tells them.

The app follows the default output while it waits (headphones plugged in,
a Bluetooth headset connected: see
:meth:`~loopcap.app.controller.Controller`).  soundcard has no event for
that, so the app used to list the devices every 2 s: about 10 wake-ups of
its threads and of libpulse's each time (measured, with the sink asleep),
half of all the waiting app's wake-ups.  PulseAudio (and pipewire-pulse)
post a *server* change event whenever the default sink changes, whether
set by the user, by a policy module or because the default sink went away;
:class:`OutputWatcher` listens to those alone (a sink posts change events
each time it sleeps or wakes), so the devices are listed only when that
happens.

Threads: :class:`OutputWatcher` keeps a pulsectl connection on a thread of
its own, asleep in ``poll()`` between events (a pulsectl connection must
not be shared between threads).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from loopcap.device.soundcard.apps import _connect, _pulsectl

__all__ = ["OutputWatcher"]


class OutputWatcher:
    """Calls ``on_change`` (from its own thread: it must not block) each
    time the server says its default output may have changed, and once when
    the connection is lost.

    :attr:`changed` is set at each such event, for the caller to clear once
    it has looked.  :attr:`quiet` is True while the watcher runs and no
    change waits to be looked at: then nothing needs polling.

    Lifecycle: :meth:`start` (raises DeviceError without a server), then
    :meth:`close` once (idempotent; from any thread).
    """

    def __init__(self, on_change: Callable[[], None]) -> None:
        self._on_change = on_change
        self.changed = threading.Event()
        self._stop = threading.Event()
        #: Guards _pulse: the thread frees the connection when it is lost, and
        #: waking a freed one aborts the process (libpulse asserts).
        self._lock = threading.Lock()
        self._pulse: Any = None
        self._thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        """The watcher listens (it has not been closed and its connection holds)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    @property
    def quiet(self) -> bool:
        return self.alive and not self.changed.is_set()

    def start(self) -> OutputWatcher:
        self._pulse = _connect()
        try:
            self._pulse.event_mask_set("server")
            self._pulse.event_callback_set(self._event)
        except Exception:
            self._pulse.close()
            raise
        self._thread = threading.Thread(target=self._run, name="loopcap-output-watch", daemon=True)
        self._thread.start()
        return self

    def _event(self, event: Any) -> None:
        # pulsectl allows no call from its callback: stop listening, tell after.
        raise _pulsectl().PulseLoopStop

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._pulse.event_listen()  # until an event, or close()
                if not self._stop.is_set():
                    self.changed.set()
                    self._on_change()
        except Exception:  # the server went away: the caller polls again
            pass
        finally:
            with self._lock:
                pulse, self._pulse = self._pulse, None
            try:
                pulse.close()
            except Exception:  # nothing left to release
                pass
            if not self._stop.is_set():
                self.changed.set()
                self._on_change()

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        with self._lock:
            if self._pulse is not None:
                try:
                    self._pulse.event_listen_stop()  # thread-safe: wakes event_listen()
                except Exception:  # closing
                    pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
