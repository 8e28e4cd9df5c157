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

Each client of pipewire-pulse learns the new default on its own, so the
connection soundcard lists the devices on may still name the old one when
this watcher's event arrives (measured on a private PipeWire 0.3.65 server: 1 of
10 reads made at once named the old default; CI once saw the app stay on the
old output).  The watcher is therefore not :attr:`~OutputWatcher.quiet` for
:data:`SETTLE_S` after an event: the devices are listed again at each watch
until then.

Threads: :class:`OutputWatcher` keeps a pulsectl connection on a thread of
its own, asleep in ``poll()`` between events (a pulsectl connection must
not be shared between threads).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from loopcap.device.soundcard.events import EventListener

__all__ = ["OutputWatcher", "SETTLE_S"]

#: How long (s) after the server's event the devices are listed again at each
#: watch, until every connection knows the new default (see above).
SETTLE_S = 10.0


class OutputWatcher(EventListener):
    """Calls ``on_change`` (from its own thread: it must not block) each
    time the server says its default output may have changed, and once when
    the connection is lost.

    :attr:`changed` is set at each such event, for the caller to clear once
    it has looked.  :attr:`quiet` is True while the watcher runs, no change
    waits to be looked at and the last event is :data:`SETTLE_S` old: then
    nothing needs polling.

    Lifecycle: :meth:`start` (raises DeviceError without a server), then
    :meth:`close` once (idempotent; from any thread).
    """

    thread_name = "loopcap-output-watch"

    def __init__(self, on_change: Callable[[], None]) -> None:
        # Server events alone: a sink posts change events each time it
        # sleeps or wakes.
        super().__init__("server")
        self._on_change = on_change
        self.changed = threading.Event()
        #: time.monotonic() of the last event (-inf: none yet).
        self._heard_at = float("-inf")

    @property
    def quiet(self) -> bool:
        settled = time.monotonic() - self._heard_at >= SETTLE_S
        return self.alive and not self.changed.is_set() and settled

    def _heard(self, pulse: Any) -> None:
        self._heard_at = time.monotonic()
        self.changed.set()
        self._on_change()

    def _lost(self, exc: BaseException | None) -> None:
        # The caller polls again.
        self.changed.set()
        self._on_change()
