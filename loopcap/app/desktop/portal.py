"""Global shortcuts through the XDG desktop portal (``org.freedesktop.portal.GlobalShortcuts``).

Where the session bus offers it (KDE Plasma 5.27+, GNOME 48+, Hyprland; on
Wayland or X11), this is how loopcap hears its keys: pynput hears nothing on
Wayland (pynput #331).  :class:`PortalShortcuts` registers the app ID,
creates a session and binds the ids ``toggle``, ``cancel`` and ``arm``,
offering the ``[hotkeys]`` values as preferred triggers; the desktop decides
what is finally bound, and the user's later changes in its settings are kept
(``ShortcutsChanged`` only updates what :meth:`PortalShortcuts.bindings`
reports: nothing re-binds them).

The calls, in order (xdg-desktop-portal's documentation):

1. ``org.freedesktop.host.portal.Registry.Register(app_id, {})``: since
   xdg-desktop-portal 1.21 an app outside a sandbox has no app ID otherwise,
   and ``CreateSession`` then fails with "An app id is required"
   (flatpak/xdg-desktop-portal PR #1817; electron #51875 broke on GNOME 50
   without it).  It must come before any other portal call on the same
   connection, once per connection (PR #1521).  Older portals have no
   Registry: go on without it.
2. ``CreateSession`` and ``BindShortcuts`` answer with a Request object path;
   the result arrives later as that object's ``Response`` signal.  The path is
   ``/org/freedesktop/portal/desktop/request/SENDER/TOKEN`` (SENDER: the
   unique name without ':' and with '.' as '_'), so the match is added before
   the call, as the portal's Request documentation asks.
3. ``Activated``/``Deactivated`` for the session: one press is one action,
   whatever the desktop repeats (:class:`PressFilter`).

Threading: :meth:`~PortalShortcuts.start` and :meth:`~PortalShortcuts.close`
run on any thread but the bus's loop thread and wait there; signals are
handled on the loop thread (:class:`~loopcap.app.desktop.bus.SessionBus`),
where ``post(action)`` is called directly: ``post`` must not block (it only
enqueues for the controller).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from typing import Any

from loopcap.app.desktop.bus import DesktopUnavailable, SessionBus
from loopcap.app.desktop.keys import PressFilter, portal_trigger
from loopcap.config import HotkeysConfig
from loopcap.log import logger

__all__ = [
    "PortalShortcuts",
    "PressFilter",
    "portal_trigger",
    "ACTIONS",
    "PORTAL_NAME",
    "PORTAL_PATH",
    "START_TIMEOUT_S",
]

PORTAL_NAME = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"
REGISTRY_IFACE = "org.freedesktop.host.portal.Registry"
SHORTCUTS_IFACE = "org.freedesktop.portal.GlobalShortcuts"
REQUEST_IFACE = "org.freedesktop.portal.Request"
SESSION_IFACE = "org.freedesktop.portal.Session"

#: The shortcut ids, with the description the desktop shows beside each.
ACTIONS = {
    "toggle": "Start a capture; pressed again, stop and save it",
    "cancel": "Stop the capture and move it to the trash folder",
    "arm": "Arm: capture the next sound, stop after silence",
}

#: How long :meth:`PortalShortcuts.start` waits for the portal, in seconds.
#: Binding may show the desktop's confirmation dialog (KDE, GNOME): when the
#: user takes longer, start returns and the bindings arrive later.
START_TIMEOUT_S = 5.0

# D-Bus errors that say "no such interface here": an older portal, or none.
_MISSING = (
    "org.freedesktop.DBus.Error.UnknownInterface",
    "org.freedesktop.DBus.Error.UnknownMethod",
    "org.freedesktop.DBus.Error.UnknownObject",
    "org.freedesktop.DBus.Error.InvalidArgs",  # Properties.Get of a missing interface
)
_NO_SERVICE = (
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
)


class PortalShortcuts:
    """The app's global shortcuts session on the desktop portal.

    ``session_bus``: a connected :class:`SessionBus` (shared with the other
    desktop services; this object registers the app ID on it, so it must
    make the connection's first portal call).  ``post(action)`` is called
    on the bus's loop thread, once per press; it must not block.

    Lifecycle: :meth:`start` once, then :meth:`close` (idempotent).
    """

    def __init__(
        self,
        session_bus: SessionBus,
        app_id: str,
        hotkeys_config: HotkeysConfig,
        post: Callable[[str], object],
    ) -> None:
        self.session_bus = session_bus
        self.app_id = app_id
        self.config = hotkeys_config
        self.post = post
        self.registered: bool | None = None  # None: the portal has no Registry
        self.version = 0
        self.session: str | None = None
        self.pending_bind = False  # True while the desktop's dialog waits for the user
        self._bindings: dict[str, str] = {}  # replaced whole, never mutated: read anywhere
        self._filter = PressFilter()
        self._owner: str | None = None  # the portal's unique name
        self._responses: dict[str, asyncio.Future[tuple[int, dict[str, Any]]]] = {}
        self._early: dict[str, tuple[int, dict[str, Any]]] = {}
        self._handler_added = False
        self._closed = False

    # -- the public surface ---------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT_S, bind: bool = True) -> PortalShortcuts:
        """Register, create the session and bind the shortcuts (or, with
        ``bind=False``, only list what the desktop has bound for this app,
        as doctor does).  Raises :class:`DesktopUnavailable` with a plain
        reason when the portal or its GlobalShortcuts is missing, or the user
        cancels.  Waits at most ``timeout`` s for the portal; a bind dialog
        still open then is left to finish (:attr:`pending_bind`)."""
        try:
            self.session_bus.run(self._start(timeout, bind), timeout + 1.0)
        except DesktopUnavailable:
            self.close()
            raise
        except Exception as exc:  # TimeoutError, a broken connection
            self.close()
            raise DesktopUnavailable(f"the desktop portal does not answer ({exc})") from None
        return self

    def bindings(self) -> dict[str, str]:
        """{shortcut id: the desktop's description of its trigger} for what is
        bound now ("" where the desktop gave no description).  Any thread."""
        return dict(self._bindings)

    def close(self) -> None:
        """Close the portal session (``org.freedesktop.portal.Session.Close``)
        and stop listening.  Idempotent; any thread but the bus's loop."""
        if self._closed:
            return
        self._closed = True
        if self.session_bus.bus is None:
            return
        try:
            self.session_bus.run(self._close(), 2.0)
        except Exception as exc:  # the bus went away first: the session went with it
            logger.debug(f"closing the portal session: {exc}")

    # -- on the loop thread ---------------------------------------------------------

    async def _start(self, timeout: float, bind: bool) -> None:
        bus = self.session_bus.bus
        if bus is None:
            raise DesktopUnavailable("no session bus")
        deadline = time.monotonic() + timeout
        bus.add_message_handler(self._on_message)
        self._handler_added = True
        sender = bus.unique_name.lstrip(":").replace(".", "_")
        # Every Response and every GlobalShortcuts signal from the portal: one
        # match each, before any call (a Response can be quick).
        await self._add_match(
            f"type='signal',sender='{PORTAL_NAME}',interface='{REQUEST_IFACE}',member='Response'"
        )
        await self._add_match(
            f"type='signal',sender='{PORTAL_NAME}',interface='{SHORTCUTS_IFACE}',"
            f"path='{PORTAL_PATH}'"
        )
        await self._register()
        self._owner = await self._name_owner()
        self.version = await self._shortcuts_version()
        token = "loopcap_" + secrets.token_hex(4)
        reply = await self._request(
            sender,
            "CreateSession",
            "a{sv}",
            [{"handle_token": _v("s", token), "session_handle_token": _v("s", token)}],
            deadline,
        )
        session = reply.get("session_handle")
        session = getattr(session, "value", session)
        if not session:
            raise DesktopUnavailable("the desktop portal created no shortcuts session")
        self.session = str(session)
        await self._add_match(
            f"type='signal',sender='{PORTAL_NAME}',interface='{SESSION_IFACE}',"
            f"member='Closed',path='{self.session}'"
        )
        if bind:
            await self._bind(sender, deadline)
        else:
            token = "loopcap_" + secrets.token_hex(4)
            listed = await self._request(
                sender,
                "ListShortcuts",
                "oa{sv}",
                [self.session, {"handle_token": _v("s", token)}],
                deadline,
            )
            self._bindings = _bound(listed)

    async def _bind(self, sender: str, deadline: float) -> None:
        shortcuts = []
        for sid, description in ACTIONS.items():
            hotkey = getattr(self.config, sid)
            if not hotkey:
                continue  # "" turns the hotkey off: not bound here either
            info = {"description": _v("s", description)}
            trigger = portal_trigger(hotkey)
            if trigger:
                info["preferred_trigger"] = _v("s", trigger)
            shortcuts.append([sid, info])
        if not shortcuts:
            return
        token = "loopcap_" + secrets.token_hex(4)
        path = await self._call_request(
            sender,
            "BindShortcuts",
            "oa(sa{sv})sa{sv}",
            [self.session, shortcuts, "", {"handle_token": _v("s", token)}],
        )
        future = self._response_future(path)
        try:
            code, results = await asyncio.wait_for(
                asyncio.shield(future), max(0.1, deadline - time.monotonic())
            )
        except TimeoutError:
            # The desktop's dialog is still open (KDE and GNOME ask on the first
            # bind): take its answer whenever it comes.
            self.pending_bind = True
            logger.info("the desktop asks to confirm loopcap's shortcuts: see its dialog")
            future.add_done_callback(self._late_bind)
            return
        self._bound_or_raise(code, results)

    def _late_bind(self, future: asyncio.Future[tuple[int, dict[str, Any]]]) -> None:
        self.pending_bind = False
        if future.cancelled() or self._closed:
            return
        try:
            self._bound_or_raise(*future.result())
        except DesktopUnavailable as exc:
            logger.warning(f"{exc}; `loopcap toggle` still starts and stops a capture")

    def _bound_or_raise(self, code: int, results: dict[str, Any]) -> None:
        if code == 1:
            raise DesktopUnavailable("the shortcuts were not bound: the dialog was cancelled")
        if code != 0:
            raise DesktopUnavailable(f"the desktop portal did not bind shortcuts (response {code})")
        self._bindings = _bound(results)
        names = ", ".join(f"{k} = {v or '(no key)'}" for k, v in self._bindings.items())
        logger.info(f"hotkeys through the desktop portal: {names or 'none bound'}")

    async def _register(self) -> None:
        reply = await self._call(
            REGISTRY_IFACE, "Register", "sa{sv}", [self.app_id, {}], PORTAL_PATH
        )
        error = _error(reply)
        if error is None:
            self.registered = True
        elif error[0] in _NO_SERVICE:
            raise DesktopUnavailable("no XDG desktop portal on the session bus")
        elif error[0] in _MISSING:
            self.registered = None  # xdg-desktop-portal before 1.19 has no Registry
            logger.debug("the desktop portal has no host Registry: going on without it")
        else:  # a sandboxed app, or already registered on this connection
            self.registered = False
            logger.debug(f"the portal did not register {self.app_id}: {error[1]}")

    async def _shortcuts_version(self) -> int:
        reply = await self._call(
            "org.freedesktop.DBus.Properties",
            "Get",
            "ss",
            [SHORTCUTS_IFACE, "version"],
            PORTAL_PATH,
        )
        error = _error(reply)
        if error is not None:
            if error[0] in _NO_SERVICE:
                raise DesktopUnavailable("no XDG desktop portal on the session bus")
            raise DesktopUnavailable(
                "the desktop portal has no global shortcuts (GNOME 47 and older, "
                "xdg-desktop-portal-wlr)"
            )
        value = reply.body[0]
        return int(getattr(value, "value", value))

    async def _request(
        self, sender: str, member: str, signature: str, body: list[Any], deadline: float
    ) -> dict[str, Any]:
        path = await self._call_request(sender, member, signature, body)
        try:
            code, results = await asyncio.wait_for(
                self._response_future(path), max(0.1, deadline - time.monotonic())
            )
        except TimeoutError:
            raise DesktopUnavailable(f"the desktop portal did not answer {member}") from None
        if code != 0:
            what = "cancelled" if code == 1 else f"failed (response {code})"
            raise DesktopUnavailable(f"the desktop portal's {member} was {what}")
        return results

    async def _call_request(self, sender: str, member: str, signature: str, body: list[Any]) -> str:
        """Call a method that answers with a Request handle; returns the handle.
        The future for its Response exists before the call is sent."""
        options = body[-1]
        token = getattr(options.get("handle_token"), "value", "")
        expected = f"{PORTAL_PATH}/request/{sender}/{token}"
        self._response_future(expected)
        reply = await self._call(SHORTCUTS_IFACE, member, signature, body, PORTAL_PATH)
        error = _error(reply)
        if error is not None:
            self._responses.pop(expected, None)
            if error[0] in _NO_SERVICE:
                raise DesktopUnavailable("no XDG desktop portal on the session bus")
            if "app id" in error[1].lower():
                raise DesktopUnavailable(
                    f"the desktop portal wants an app ID: is {self.app_id}.desktop "
                    "installed (`loopcap install-desktop`)? " + error[1]
                )
            raise DesktopUnavailable(f"the desktop portal refused {member}: {error[1]}")
        handle = str(reply.body[0])
        if handle != expected:  # portals before 0.9 made up their own path
            self._responses[handle] = self._responses.pop(expected)
            await self._add_match(
                f"type='signal',interface='{REQUEST_IFACE}',member='Response',path='{handle}'"
            )
        return handle

    def _response_future(self, path: str) -> asyncio.Future[tuple[int, dict[str, Any]]]:
        future = self._responses.get(path)
        if future is None:
            future = self._responses[path] = asyncio.get_running_loop().create_future()
            if path in self._early:
                future.set_result(self._early.pop(path))
        return future

    def _on_message(self, msg: Any) -> None:
        """Every message the connection receives (the loop thread); ours are
        the portal's signals.  Never blocks, never raises."""
        try:
            if msg.message_type.name != "SIGNAL":
                return None
            if self._owner is not None and msg.sender != self._owner:
                return None
            if msg.interface == REQUEST_IFACE and msg.member == "Response":
                future = self._responses.pop(msg.path, None)
                code, results = int(msg.body[0]), dict(msg.body[1])
                if future is None:
                    self._early[msg.path] = (code, results)
                elif not future.done():
                    future.set_result((code, results))
            elif msg.interface == SHORTCUTS_IFACE and msg.body and msg.body[0] == self.session:
                self._on_shortcut_signal(msg.member, msg.body)
            elif msg.interface == SESSION_IFACE and msg.member == "Closed":
                if msg.path == self.session:
                    logger.warning("the desktop closed loopcap's shortcuts session")
                    self.session = None
                    self._bindings = {}
        except Exception as exc:  # a malformed signal must not end the bus's loop
            logger.debug(f"portal signal not understood: {exc!r}")
        return None

    def _on_shortcut_signal(self, member: str, body: list[Any]) -> None:
        if member == "Activated":
            sid = body[1]
            if sid in ACTIONS and self._filter.activated(sid, time.monotonic()):
                self.post(sid)
        elif member == "Deactivated":
            self._filter.deactivated(body[1], time.monotonic())
        elif member == "ShortcutsChanged":
            # The user changed the bindings in the desktop's settings: respect
            # them (report them), never bind again over them.
            self._bindings = _bound({"shortcuts": body[1]})
            logger.info(f"the desktop changed loopcap's shortcuts: {self._bindings}")

    async def _close(self) -> None:
        bus = self.session_bus.bus
        session, self.session = self.session, None
        if bus is not None and session:
            await self._call(SESSION_IFACE, "Close", "", [], session)
        if bus is not None and self._handler_added:
            bus.remove_message_handler(self._on_message)
            self._handler_added = False
        for future in self._responses.values():
            future.cancel()
        self._responses.clear()

    async def _call(
        self, interface: str, member: str, signature: str, body: list[Any], path: str
    ) -> Any:
        bus = self.session_bus.bus
        return await _bus_call(bus, PORTAL_NAME, path, interface, member, signature, body)

    async def _add_match(self, rule: str) -> None:
        await _bus_call(self.session_bus.bus, *_DBUS, "AddMatch", "s", [rule])

    async def _name_owner(self) -> str | None:
        reply = await _bus_call(self.session_bus.bus, *_DBUS, "GetNameOwner", "s", [PORTAL_NAME])
        if _error(reply) is not None:
            raise DesktopUnavailable("no XDG desktop portal on the session bus")
        return str(reply.body[0])


_DBUS = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")


async def _bus_call(
    bus: Any, dest: str, path: str, iface: str, member: str, sig: str, body: list[Any]
) -> Any:
    """One method call; returns the reply (an error reply too: see :func:`_error`)."""
    from dbus_fast import Message

    msg = Message(
        destination=dest, path=path, interface=iface, member=member, signature=sig, body=body
    )
    return await bus.call(msg)


def _v(signature: str, value: Any) -> Any:
    from dbus_fast import Variant

    return Variant(signature, value)


def _error(reply: Any) -> tuple[str, str] | None:
    """(error name, text) of an error reply, else None."""
    if reply is None or reply.message_type.name != "ERROR":
        return None
    text = str(reply.body[0]) if reply.body else ""
    return str(reply.error_name), text


def _bound(results: dict[str, Any]) -> dict[str, str]:
    """The ``shortcuts`` (``a(sa{sv})``) of a portal answer as {id: trigger description}."""
    shortcuts = results.get("shortcuts", [])
    shortcuts = getattr(shortcuts, "value", shortcuts)
    out: dict[str, str] = {}
    for sid, info in shortcuts:
        desc = info.get("trigger_description", "")
        out[str(sid)] = str(getattr(desc, "value", desc))
    return out
