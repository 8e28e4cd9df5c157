"""A stand-in ``org.freedesktop.Notifications`` server for tests, on a private bus.

python-dbusmock's ``notification_daemon`` template needs dbus-python, which
does not build here, so this is the same service in a few lines of
dbus-fast: ``GetCapabilities`` (with "actions" and "body"), ``Notify``
(recorded: app name, summary, body, actions, hints, as plain Python values),
``CloseNotification``, ``GetServerInformation``, and the signals
``ActionInvoked`` and ``NotificationClosed`` (sent by :meth:`invoke` and
:meth:`close_notification`, as a user's click or dismissal would).

``with NotificationServer(bus.address) as server`` (``bus`` a
:class:`dbusrig.PrivateBus`): the service runs on its own
:class:`loopcap.app.desktop.bus.SessionBus` in the test process;
``server.wait_for(n, timeout)`` waits for the n-th Notify.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Annotated, Any

from dbus_fast.annotations import DBusSignature
from dbus_fast.service import ServiceInterface, dbus_method, dbus_signal

from loopcap.app.desktop.bus import SessionBus

__all__ = ["NotificationServer", "Notified", "NAME", "PATH"]

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"

Str = Annotated[str, DBusSignature("s")]
UInt = Annotated[int, DBusSignature("u")]
Int = Annotated[int, DBusSignature("i")]
Strs = Annotated[list[str], DBusSignature("as")]
Hints = Annotated[dict[str, Any], DBusSignature("a{sv}")]
ActionArgs = Annotated[list[Any], DBusSignature("us")]
ClosedArgs = Annotated[list[Any], DBusSignature("uu")]
Info = Annotated[list[str], DBusSignature("ssss")]


@dataclass(frozen=True)
class Notified:
    """One Notify call as the server received it."""

    id: int
    app_name: str
    summary: str
    body: str
    actions: tuple[str, ...]
    hints: dict[str, Any]
    icon: str
    timeout_ms: int


class _Service(ServiceInterface):
    def __init__(self, server: NotificationServer) -> None:
        super().__init__(NAME)
        self.server = server

    @dbus_method()
    def GetCapabilities(self) -> Strs:  # noqa: N802 (D-Bus names)
        return list(self.server.capabilities)

    @dbus_method()
    def Notify(  # noqa: N802
        self,
        app_name: Str,
        replaces_id: UInt,
        app_icon: Str,
        summary: Str,
        body: Str,
        actions: Strs,
        hints: Hints,
        expire_timeout: Int,
    ) -> UInt:
        plain = {k: getattr(v, "value", v) for k, v in hints.items()}
        return self.server._record(
            app_name, summary, body, tuple(actions), plain, app_icon, expire_timeout
        )

    @dbus_method()
    def CloseNotification(self, id: UInt):  # noqa: N802, A002 (no reply value)
        self.NotificationClosed(id, 3)

    @dbus_method()
    def GetServerInformation(self) -> Info:  # noqa: N802
        return ["loopcap-standin", "loopcap", "1.0", "1.2"]

    @dbus_signal()
    def ActionInvoked(self, id: int, action_key: str) -> ActionArgs:  # noqa: N802, A002
        return [id, action_key]

    @dbus_signal()
    def NotificationClosed(self, id: int, reason: int) -> ClosedArgs:  # noqa: N802, A002
        return [id, reason]


class NotificationServer:
    """The stand-in service, owning ``org.freedesktop.Notifications`` on ``address``."""

    def __init__(self, address: str, capabilities: tuple[str, ...] = ("actions", "body")) -> None:
        self.address = address
        self.capabilities = capabilities
        self.calls: list[Notified] = []
        self._cond = threading.Condition()
        self._bus: SessionBus | None = None
        self._service = _Service(self)

    def _record(self, app, summary, body, actions, hints, icon, timeout) -> int:
        with self._cond:
            call = Notified(len(self.calls) + 1, app, summary, body, actions, hints, icon, timeout)
            self.calls.append(call)
            self._cond.notify_all()
            return call.id

    def start(self) -> NotificationServer:
        self._bus = SessionBus(self.address).connect()
        bus = self._bus

        async def export() -> None:
            bus.bus.export(PATH, self._service)
            await bus.bus.request_name(NAME)

        bus.run(export())
        return self

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[Notified]:
        """The calls so far once there are ``count`` (or the timeout passed)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.calls) < count and time.monotonic() < deadline:
                self._cond.wait(max(0.0, deadline - time.monotonic()))
            return list(self.calls)

    def invoke(self, id: int, action: str = "default") -> None:  # noqa: A002
        """Send ActionInvoked, as a click on the notification does."""
        self._emit(lambda: self._service.ActionInvoked(id, action))

    def close_notification(self, id: int, reason: int = 2) -> None:  # noqa: A002
        self._emit(lambda: self._service.NotificationClosed(id, reason))

    def _emit(self, send) -> None:
        if self._bus is None:
            raise RuntimeError("the stand-in is not running")

        async def emit() -> None:
            send()

        self._bus.run(emit())

    def stop(self) -> None:
        bus, self._bus = self._bus, None
        if bus is not None:
            bus.close()

    def __enter__(self) -> NotificationServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
