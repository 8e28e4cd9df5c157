"""A stand-in for the XDG desktop portal's global shortcuts, on a private bus.

:class:`PortalStandIn` owns ``org.freedesktop.portal.Desktop`` on a
:class:`tests.dbusrig.PrivateBus` and answers, at
``/org/freedesktop/portal/desktop``, what loopcap calls:
``org.freedesktop.host.portal.Registry.Register`` (unless ``registry=False``:
an older portal), ``org.freedesktop.portal.GlobalShortcuts`` (unless
``shortcuts=False``: GNOME 47, wlroots) with ``CreateSession``,
``BindShortcuts`` and ``ListShortcuts`` answered through a Request object's
``Response`` signal sent after the method's reply, as the real portal does,
and ``org.freedesktop.portal.Session.Close`` on each session.  It records
every call (:attr:`PortalStandIn.calls`) and lets a test press a shortcut
(:meth:`PortalStandIn.press`), hold it (repeated pairs) or change its binding
as the desktop's settings would (:meth:`PortalStandIn.change`).

It is raw dbus-fast (a message handler, not ServiceInterfaces) because a
portal needs the caller's unique name to build Request and Session paths.
Runs on its own :class:`loopcap.app.desktop.bus.SessionBus` (its own loop
thread); every public method is called from the test's thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from loopcap.app.desktop.bus import SessionBus

__all__ = ["PortalStandIn", "PORTAL_NAME", "PORTAL_PATH"]

PORTAL_NAME = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"
REGISTRY = "org.freedesktop.host.portal.Registry"
SHORTCUTS = "org.freedesktop.portal.GlobalShortcuts"
REQUEST = "org.freedesktop.portal.Request"
SESSION = "org.freedesktop.portal.Session"
PROPERTIES = "org.freedesktop.DBus.Properties"


class PortalStandIn:
    """``with PortalStandIn(bus.address) as portal``: the portal is on the bus.

    ``bind_response``: the Response code of BindShortcuts (0 bound, 1 the
    user cancelled the dialog); ``bind_delay_s``: how long the "dialog"
    takes.  ``triggers``: what the "desktop" binds, {id: trigger description};
    by default each preferred trigger is taken as offered.
    """

    def __init__(
        self,
        address: str,
        *,
        registry: bool = True,
        shortcuts: bool = True,
        bind_response: int = 0,
        bind_delay_s: float = 0.0,
        triggers: dict[str, str] | None = None,
    ) -> None:
        self.address = address
        self.registry = registry
        self.shortcuts = shortcuts
        self.bind_response = bind_response
        self.bind_delay_s = bind_delay_s
        self.triggers = triggers
        #: (interface.member, sender, body) of every call, in order.
        self.calls: list[tuple[str, str, list[Any]]] = []
        #: session handle -> {id: trigger description} bound in it.
        self.sessions: dict[str, dict[str, str]] = {}
        self.closed: list[str] = []
        self._lock = threading.Lock()
        self._sb: SessionBus | None = None

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> PortalStandIn:
        self._sb = SessionBus(self.address).connect()
        bus = self._sb.bus
        bus.add_message_handler(self._on_message)

        async def own() -> int:
            return int((await bus.request_name(PORTAL_NAME)).value)

        reply = self._sb.run(own(), 5.0)
        if reply != 1:  # RequestNameReply.PRIMARY_OWNER
            raise RuntimeError(f"the stand-in could not own {PORTAL_NAME} ({reply})")
        return self

    def stop(self) -> None:
        sb, self._sb = self._sb, None
        if sb is not None:
            sb.close()

    def __enter__(self) -> PortalStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what a test does -----------------------------------------------------------

    def members(self) -> list[str]:
        """The calls' interface.member, in order."""
        with self._lock:
            return [c[0] for c in self.calls]

    def wait_for(self, member: str, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if member in self.members():
                return True
            time.sleep(0.01)
        return False

    def press(
        self, shortcut_id: str, repeats: int = 1, interval_s: float = 0.03, pairs: bool = True
    ) -> float:
        """Press ``shortcut_id`` in every session: Activated then Deactivated,
        ``repeats`` times ``interval_s`` apart (a held key's repeats; with
        ``pairs=False`` the repeats are Activated alone, then one
        Deactivated).  Returns the monotonic time the first Activated was sent."""
        first = 0.0
        for i in range(repeats):
            t = self.signal("Activated", shortcut_id)
            first = first or t
            if pairs or i == repeats - 1:
                time.sleep(interval_s / 2)
                self.signal("Deactivated", shortcut_id)
            if i < repeats - 1:
                time.sleep(interval_s / 2 if pairs else interval_s)
        return first

    def signal(self, member: str, shortcut_id: str) -> float:
        """Send one Activated or Deactivated for ``shortcut_id`` to every
        session; returns the monotonic time just before it was sent."""
        from dbus_fast import Message

        sessions = list(self.sessions)
        stamp = int(time.monotonic() * 1000)
        msgs = [
            Message.new_signal(
                PORTAL_PATH, SHORTCUTS, member, "osta{sv}", [s, shortcut_id, stamp, {}]
            )
            for s in sessions
        ]
        return self._send(msgs)

    def change(self, shortcut_id: str, trigger_description: str) -> None:
        """The user binds ``shortcut_id`` to another key in the desktop's
        settings: ShortcutsChanged to every session."""
        from dbus_fast import Message

        msgs = []
        for session, bound in self.sessions.items():
            bound[shortcut_id] = trigger_description
            msgs.append(
                Message.new_signal(
                    PORTAL_PATH,
                    SHORTCUTS,
                    "ShortcutsChanged",
                    "oa(sa{sv})",
                    [session, _shortcut_list(bound)],
                )
            )
        self._send(msgs)

    def _send(self, msgs: list[Any]) -> float:
        if self._sb is None:
            raise RuntimeError("the stand-in is not started")
        bus = self._sb.bus

        async def send() -> None:
            for m in msgs:
                bus.send(m)

        t = time.monotonic()
        self._sb.run(send(), 5.0)
        return t

    # -- on the stand-in's loop thread ------------------------------------------------

    def _on_message(self, msg: Any) -> Any:
        from dbus_fast import Message, MessageType

        if msg.message_type != MessageType.METHOD_CALL or msg.destination not in (
            PORTAL_NAME,
            self._sb.bus.unique_name if self._sb else None,
        ):
            return None
        with self._lock:
            self.calls.append((f"{msg.interface}.{msg.member}", msg.sender, list(msg.body)))
        iface, member = msg.interface, msg.member
        if iface == SESSION and member == "Close" and msg.path in self.sessions:
            self.sessions.pop(msg.path, None)
            self.closed.append(msg.path)
            return Message.new_method_return(msg)
        if msg.path != PORTAL_PATH:
            return _error(msg, "UnknownObject", f"no object {msg.path}")
        if iface == REGISTRY and self.registry and member == "Register":
            return Message.new_method_return(msg)
        if iface == PROPERTIES and member == "Get":
            if msg.body[0] == SHORTCUTS and self.shortcuts and msg.body[1] == "version":
                from dbus_fast import Variant

                return Message.new_method_return(msg, "v", [Variant("u", 2)])
            return _error(msg, "InvalidArgs", f"no interface {msg.body[0]}")
        if iface == SHORTCUTS and self.shortcuts:
            return self._shortcuts_call(msg)
        return _error(msg, "UnknownMethod", f"no method {iface}.{member}")

    def _shortcuts_call(self, msg: Any) -> Any:
        from dbus_fast import Message, Variant

        sender = msg.sender.lstrip(":").replace(".", "_")
        options = msg.body[-1]
        token = options["handle_token"].value if "handle_token" in options else "t"
        handle = f"{PORTAL_PATH}/request/{sender}/{token}"
        delay = 0.0
        if msg.member == "CreateSession":
            stoken = options["session_handle_token"].value
            session = f"{PORTAL_PATH}/session/{sender}/{stoken}"
            self.sessions[session] = {}
            code, results = 0, {"session_handle": Variant("s", session)}
        elif msg.member == "BindShortcuts":
            session, wanted = msg.body[0], msg.body[1]
            bound = self.sessions.setdefault(session, {})
            for sid, info in wanted:
                offered = info["preferred_trigger"].value if "preferred_trigger" in info else ""
                bound[sid] = (self.triggers or {}).get(sid, offered)
            code, delay = self.bind_response, self.bind_delay_s
            results = {"shortcuts": Variant("a(sa{sv})", _shortcut_list(bound))}
            if code != 0:
                self.sessions[session] = {}
        elif msg.member == "ListShortcuts":
            bound = self.sessions.get(msg.body[0], {})
            code, results = 0, {"shortcuts": Variant("a(sa{sv})", _shortcut_list(bound))}
        else:
            return _error(msg, "UnknownMethod", f"no method {msg.member}")
        response = Message.new_signal(handle, REQUEST, "Response", "ua{sv}", [code, results])
        response.destination = msg.sender
        bus = self._sb.bus if self._sb else None
        if bus is not None:  # after the reply, as the real portal
            asyncio.get_running_loop().call_later(max(delay, 0.001), bus.send, response)
        return Message.new_method_return(msg, "o", [handle])


def _shortcut_list(bound: dict[str, str]) -> list[Any]:
    from dbus_fast import Variant

    return [
        [sid, {"description": Variant("s", sid), "trigger_description": Variant("s", trig)}]
        for sid, trig in bound.items()
    ]


def _error(msg: Any, name: str, text: str) -> Any:
    from dbus_fast import Message

    return Message.new_error(msg, f"org.freedesktop.DBus.Error.{name}", text)
