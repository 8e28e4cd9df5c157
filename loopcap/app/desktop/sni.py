"""The tray on StatusNotifierItem desktops: an icon with a menu, no GTK.

KDE Plasma, GNOME with the AppIndicator extension (Ubuntu enables it), XFCE,
waybar and others show ``org.kde.StatusNotifierItem`` icons and draw their
``com.canonical.dbusmenu`` menus themselves; loopcap serves both objects on
the shared :class:`~loopcap.app.desktop.bus.SessionBus` (dbus-fast).

Why not pystray's AppIndicator backend: it needs PyGObject and the Ayatana
AppIndicator introspection data, Debian packages a venv or a pipx install
does not have, and without them pystray falls back to its Xorg backend
without a word (pystray #67, #109; distributions moved to the Ayatana
namespace: quodlibet PR #4862); it also runs a GTK main loop on the main
thread and has no default action, so a left click cannot toggle (pystray
#169).  Two D-Bus objects on the connection the portal's shortcuts already
use cost about 700 lines with their docstrings and no native dependency,
and a left click (``Activate``) toggles a capture as it does on X11.

Lifecycle, as :class:`loopcap.app.tray.Tray` so ``run_app`` treats both
alike: ``SniTray(...)`` exports the objects and registers with the
``org.kde.StatusNotifierWatcher`` (raises
:class:`~loopcap.app.desktop.bus.DesktopUnavailable` when there is no
watcher, or no host to show the item: the caller falls back to pystray);
:meth:`SniTray.run` blocks the main thread until :meth:`SniTray.stop`.
Threading: :meth:`SniTray.show` is the controller's listener (worker thread)
and only hands the snapshot to the bus's loop thread, where the objects
change and signal; the menu's actions run there too and only post to the
controller or spawn an opener.  If the watcher restarts (a panel restart),
the item registers again with the new one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopcap.app.controller import RECORDING, Controller, Snapshot
from loopcap.app.desktop.bus import DesktopUnavailable, SessionBus
from loopcap.app.menu import MenuEntry, menu_entries, status_title
from loopcap.fs import ensure_private_dir
from loopcap.log import logger

if TYPE_CHECKING:
    from loopcap.app.desktop.dbusmenu import DBusMenu
    from loopcap.app.desktop.sni_item import StatusNotifierItem

__all__ = ["SniTray", "sni_support", "WATCHER_NAME", "WATCHER_PATH", "WATCHER_INTERFACE"]

WATCHER_NAME = "org.kde.StatusNotifierWatcher"
WATCHER_PATH = "/StatusNotifierWatcher"
WATCHER_INTERFACE = "org.kde.StatusNotifierWatcher"
DBUS_NAME = "org.freedesktop.DBus"
DBUS_PATH = "/org/freedesktop/DBus"
#: Longest wait for the watcher's answers while starting, in seconds.
START_TIMEOUT_S = 3.0
#: How often the tooltip's elapsed time is renewed while recording, in seconds.
TOOLTIP_TICK_S = 1.0


async def _call(
    bus: Any,
    destination: str,
    path: str,
    interface: str,
    member: str,
    signature: str = "",
    body: list[Any] | None = None,
) -> list[Any]:
    """A method call; a D-Bus error becomes DesktopUnavailable."""
    from dbus_fast import Message, MessageType

    reply = await bus.call(
        Message(
            destination=destination,
            path=path,
            interface=interface,
            member=member,
            signature=signature,
            body=body or [],
        )
    )
    if reply.message_type == MessageType.ERROR:
        detail = reply.body[0] if reply.body else ""
        raise DesktopUnavailable(f"{destination} {member}: {reply.error_name} {detail}".strip())
    return list(reply.body)


async def _host_check(bus: Any) -> str:
    """'' when a watcher with a host is on the bus, else why not."""
    (owned,) = await _call(
        bus, DBUS_NAME, DBUS_PATH, DBUS_NAME, "NameHasOwner", "s", [WATCHER_NAME]
    )
    if not owned:
        return "no StatusNotifierWatcher on the session bus (no SNI tray)"
    try:
        (host,) = await _call(
            bus,
            WATCHER_NAME,
            WATCHER_PATH,
            "org.freedesktop.DBus.Properties",
            "Get",
            "ss",
            [WATCHER_INTERFACE, "IsStatusNotifierHostRegistered"],
        )
    except DesktopUnavailable as exc:
        return f"the StatusNotifierWatcher does not answer ({exc})"
    if not host.value:
        return "a StatusNotifierWatcher but no host registered (nothing shows SNI icons)"
    return ""


def sni_support(session_bus: SessionBus | None) -> tuple[bool, str]:
    """(usable, reason): whether a StatusNotifierItem would be shown in this
    session (a watcher with a host on the session bus).  Any thread but the
    bus's own; for ``run_app`` and ``doctor``."""
    if session_bus is None or session_bus.bus is None:
        return False, "no session bus"
    try:
        reason = session_bus.run(_host_check(session_bus.bus), START_TIMEOUT_S)
    except Exception as exc:
        return False, f"the session bus does not answer ({exc})"
    return (not reason), reason or "a StatusNotifierWatcher with a host is on the session bus"


class SniTray:
    """The StatusNotifierItem tray: the public surface of
    :class:`loopcap.app.tray.Tray` (``show``, ``notify``, ``run``, ``stop``,
    ``has_menu``, ``has_notify``).  Raises DesktopUnavailable when made where
    no SNI host is."""

    has_menu = True
    #: Notifications are :mod:`loopcap.app.desktop.notify`'s, not the tray's.
    has_notify = False

    def __init__(
        self,
        session_bus: SessionBus,
        controller: Controller,
        config_path: Path,
        on_quit: Callable[[], None],
    ) -> None:
        if session_bus.bus is None:
            raise DesktopUnavailable("no session bus")
        from loopcap.app.desktop.dbusmenu import DBusMenu
        from loopcap.app.desktop.sni_item import StatusNotifierItem

        self.session_bus = session_bus
        self.controller = controller
        self.config_path = config_path
        self.on_quit = on_quit
        self._snap = controller.snapshot
        self._stopped = threading.Event()
        self._tick: Any = None  # the tooltip's timer handle (loop thread)
        self.service = ""  # the bus name registered with the watcher
        self.item: StatusNotifierItem = StatusNotifierItem(
            f"loopcap-{os.getpid()}", lambda: controller.post("toggle")
        )
        self.menu: DBusMenu = DBusMenu()
        self.menu.about_to_show = self._about_to_show
        self._match = ""
        try:
            session_bus.run(self._start(), START_TIMEOUT_S)
        except DesktopUnavailable:
            self._withdraw_now()
            raise
        except Exception as exc:  # a timeout, a broken connection
            self._withdraw_now()
            raise DesktopUnavailable(f"the StatusNotifierWatcher does not answer ({exc})") from None
        self.visible = True
        logger.debug(f"StatusNotifierItem {self.service} registered")

    # ------------------------------------------------------------ the bus (loop thread)

    async def _start(self) -> None:
        from dbus_fast import NameFlag, RequestNameReply

        bus = self.session_bus.bus
        reason = await _host_check(bus)
        if reason:
            raise DesktopUnavailable(reason)
        self._apply(self._snap)
        bus.export("/StatusNotifierItem", self.item)
        bus.export("/MenuBar", self.menu)
        # The spec's well-known name; the unique name if it is taken.
        name = f"org.kde.StatusNotifierItem-{os.getpid()}-1"
        reply = await bus.request_name(name, NameFlag.DO_NOT_QUEUE)
        self.service = name if reply == RequestNameReply.PRIMARY_OWNER else bus.unique_name
        await self._register()
        # A panel restart brings a new watcher, which knows no items: register again.
        self._match = (
            "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
            f"member='NameOwnerChanged',arg0='{WATCHER_NAME}'"
        )
        await _call(bus, DBUS_NAME, DBUS_PATH, DBUS_NAME, "AddMatch", "s", [self._match])
        bus.add_message_handler(self._on_message)

    async def _register(self) -> None:
        await _call(
            self.session_bus.bus,
            WATCHER_NAME,
            WATCHER_PATH,
            WATCHER_INTERFACE,
            "RegisterStatusNotifierItem",
            "s",
            [self.service],
        )

    def _on_message(self, msg: Any) -> None:
        if (
            msg.member == "NameOwnerChanged"
            and msg.interface == DBUS_NAME
            and msg.body
            and msg.body[0] == WATCHER_NAME
            and msg.body[2]
            and not self._stopped.is_set()
        ):
            logger.info("a new StatusNotifierWatcher: registering the tray icon again")
            task = self.session_bus.loop.create_task(self._register())
            task.add_done_callback(_log_failure)
        return None  # not handled: others may want it

    def _apply(self, snap: Snapshot) -> None:
        """Show ``snap`` (loop thread)."""
        self._snap = snap
        recording = snap.state == RECORDING
        self.item.update(
            "NeedsAttention" if recording else "Active", snap.state, status_title(snap)
        )
        self.menu.set_entries(self._entries(snap))
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None
        if recording:  # keep the elapsed time in the tooltip current
            self._tick = self.session_bus.loop.call_later(TOOLTIP_TICK_S, self._retitle)

    def _entries(self, snap: Snapshot) -> list[MenuEntry]:
        """The menu for ``snap``; "Record from" asks the sound server which
        applications play (loop thread: one short request)."""
        return menu_entries(
            snap,
            self.controller.post,
            self._captures_dir,
            self.config_path,
            self.on_quit,
            choose_app=self.controller.choose_app,
        )

    def _about_to_show(self, item_id: int) -> bool:
        """A host opens (part of) the menu: list the applications playing now."""
        return self.menu.set_entries(self._entries(self._snap))

    def _retitle(self) -> None:
        self._tick = None
        if self._snap.state == RECORDING and not self._stopped.is_set():
            self.item.update(self.item.status, self.item.icon_state, status_title(self._snap))
            self._tick = self.session_bus.loop.call_later(TOOLTIP_TICK_S, self._retitle)

    def _captures_dir(self) -> Path:
        return ensure_private_dir(self.controller.directory)

    async def _withdraw(self) -> None:
        bus = self.session_bus.bus
        if bus is None:
            return
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None
        bus.remove_message_handler(self._on_message)
        bus.unexport("/StatusNotifierItem", self.item)
        bus.unexport("/MenuBar", self.menu)
        if self.service and self.service != bus.unique_name:
            await bus.release_name(self.service)

    def _withdraw_now(self) -> None:
        try:
            self.session_bus.run(self._withdraw(), 1.0)
        except Exception as exc:
            logger.debug(f"tray: withdrawing the StatusNotifierItem: {exc}")

    # ------------------------------------------------------------ the app's surface

    def show(self, snap: Snapshot) -> None:
        """Controller listener (its worker thread): hand ``snap`` to the bus's
        loop and return at once."""
        try:
            self.session_bus.loop.call_soon_threadsafe(self._apply, snap)
        except RuntimeError:  # the loop is closed: the app is ending
            pass

    def notify(self, text: str, title: str = "loopcap") -> None:
        """Nothing: notifications are :mod:`loopcap.app.desktop.notify`'s."""

    def labels(self) -> list[str]:
        """The menu's labels as shown (for logs and tests).  Any thread."""
        return self.menu.labels()

    def run(self) -> None:
        """Follow the controller and block until :meth:`stop` (main thread)."""
        self.controller.subscribe(self.show)
        self.show(self.controller.snapshot)  # a change before subscribing
        logger.debug("tray: the StatusNotifierItem follows the controller")
        self._stopped.wait()

    def stop(self) -> None:
        """Remove the icon and make :meth:`run` return.  Idempotent, any thread."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.visible = False
        self._withdraw_now()


def _log_failure(task: Any) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning(f"the tray icon could not register again: {task.exception()}")
