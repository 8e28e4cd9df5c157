"""The tray icon (pystray).  Must run on the main thread (pystray #16, macOS).

Where the backend has no menu (pystray's Xorg backend: pystray #151, #159),
a click on the icon toggles the capture.  python-xlib must have been made
thread-safe first (:func:`loopcap.app.x11.thread_safe_xlib`, called once by
the app's entry point before a :class:`Tray` is made).  A freshly started system tray
sometimes fails to embed an icon (measured: about 1 launch in 10 with a plain
pystray icon), so on X11 the icon's window is checked after start and the dock
request is repeated until the tray has taken it.

That backend draws an opaque image on its window (transparent pixels come out
black), so there the icon is rendered at the window's own size onto the
colour the panel shows around it, read from the screen
(:func:`loopcap.app.x11.panel_colour_around`).  The other backends take the
transparent RGBA image at :data:`ICON_SIZE` and scale it themselves.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from PIL import Image  # already loaded: loopcap.app.icons draws with it

from loopcap.app.controller import RECORDING, SAVING, Controller, Snapshot
from loopcap.app.icons import icon_image
from loopcap.app.menu import MenuEntry, cut_picture_of, menu_entries, open_path, status_title
from loopcap.app.x11 import XConnection, panel_colour_around, x11_tray_owner
from loopcap.fs import ensure_private_dir
from loopcap.log import logger

# open_path and cut_picture_of live in loopcap.app.menu now; kept here for callers.
__all__ = ["Tray", "tray_support", "open_path", "xorg_frame", "cut_picture_of"]

#: How often the Xorg icon's docking is checked until it is docked, then
#: while it stays docked (a panel restart is noticed within that).  Each
#: check is three X round trips: about 4 wake-ups of the app (measured).
DOCK_CHECK_S = 1.0
DOCKED_CHECK_S = 5.0
DOCK_ATTEMPTS = 8
#: The icon image given to the backends that scale it themselves (AppIndicator,
#: win32, darwin): large enough for a 24-32 px tray at 2x (HiDPI).
ICON_SIZE = 64
#: How often the Xorg icon is redrawn (and the panel colour read again) while
#: idle; faster until the panel's colour has first been read from the docked
#: icon, and at once when the icon is seen docked.  Each redraw wakes the
#: app's threads about 14 times (X round trips, pystray's repaint; measured):
#: at 1 s that was most of what the waiting app cost with its icon.
REDRAW_S = 5.0
FIRST_REDRAW_S = 0.1
#: While recording, how often the tooltip's elapsed time (and the Xorg icon)
#: is refreshed.
RECORDING_REFRESH_S = 1.0
#: The Xorg icon's background until the panel's own colour is known (GTK's
#: default window colour: the first frame is right on most panels).
PANEL_GUESS = (220, 218, 213)
#: Pixels of panel left around the Xorg icon: the tray gives the window its
#: whole cell, and a glyph touching its edges looks cut off (and crowds the next).
XORG_PAD = 1

RGB = tuple[int, int, int]


def xorg_frame(state: str, size: tuple[int, int], panel: RGB) -> Image.Image:
    """The Xorg icon window's whole picture: an RGB image of ``size`` filled
    with ``panel``, the icon of ``state`` rendered square at the window's
    shorter side less :data:`XORG_PAD` on each side (not a larger image
    resized: that spreads each colour over many values) onto ``panel`` and
    pasted in the middle."""
    side = min(size) - 2 * XORG_PAD
    frame = Image.new("RGB", size, panel)
    if side >= 8:  # else: a window not docked yet (1x1): nothing to see
        frame.paste(
            icon_image(state, side, background=panel),
            ((size[0] - side) // 2, (size[1] - side) // 2),
        )
    # python-xlib's put_pil_image calls tostring(), gone from Pillow;
    # pystray's own _assert_icon_data patches it the same way.
    setattr(frame, "tostring", frame.tobytes)  # noqa: B010 - not a Pillow attribute
    return frame


def tray_support() -> tuple[bool, str]:
    """(usable, reason) for a tray icon in this session."""
    if sys.platform.startswith("linux"):
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            return (
                False,
                "no display found; running with the terminal only (`loopcap toggle` controls it)",
            )
        owner = x11_tray_owner()
        if owner is False and not os.environ.get("WAYLAND_DISPLAY"):
            return False, "no system tray found; running with hotkeys only"
    try:
        import pystray  # noqa: F401
    except Exception as exc:
        return False, f"the tray icon is not available ({exc}); running with hotkeys only"
    return True, ""


def _on_ui_thread(fn: Callable[[], None], platform: str = sys.platform) -> None:
    """Run ``fn`` (a change of the icon) where the tray backend allows it.

    macOS: AppKit may be used from the main thread only, and pystray's darwin
    setters call it on the calling thread (pystray #60, open; recent macOS
    kills the process with SIGTRAP for an NSStatusItem changed off the main
    thread).  So ``fn`` is queued on the main run loop, which pystray's
    ``run()`` drives there, with PyObjC's ``AppHelper.callAfter``.
    Elsewhere ``fn`` runs at once on the updater thread: win32's
    Shell_NotifyIcon may be called from any thread, and the AppIndicator
    backend hands its changes to GLib itself (pystray #59).  Never raises.
    """

    def guarded() -> None:
        try:
            fn()
        except Exception as exc:
            logger.debug(f"tray update failed: {exc}")

    if platform == "darwin":
        from PyObjCTools import AppHelper  # pyobjc, pystray's dependency on macOS

        AppHelper.callAfter(guarded)
    else:
        guarded()


class Tray:
    """The icon, its menu and notifications, fed by controller snapshots."""

    def __init__(
        self, controller: Controller, config_path: Path, on_quit: Callable[[], None]
    ) -> None:
        import pystray

        self.pystray = pystray
        self.controller = controller
        self.config_path = config_path
        self.on_quit = on_quit
        self._snap = controller.snapshot
        # Read by pystray's loop thread (_xorg_icon_data), set by the updater:
        # whole values, replaced by one assignment each.
        self._panel: RGB = PANEL_GUESS
        self._panel_read = False
        self._redraw = False  # set by the docking check: redraw at once
        self._shown = "idle"
        xorg = pystray.Icon.__module__.endswith("_xorg")
        first = xorg_frame("idle", (24, 24), PANEL_GUESS) if xorg else icon_image("idle", ICON_SIZE)
        self.icon = pystray.Icon("loopcap", first, "loopcap: idle", menu=self._menu())
        self.has_menu = bool(getattr(self.icon, "HAS_MENU", False))
        self.has_notify = bool(getattr(self.icon, "HAS_NOTIFICATION", False))
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: tuple[Snapshot, Snapshot] | None = None
        self._xorg = getattr(self.icon, "_window", None) is not None
        self._drawn: tuple[str, tuple[int, int], RGB] | None = None  # what _icon_data shows
        self._x_updates = XConnection()  # the updater thread's
        self._x_dock = XConnection()  # the docking thread's
        if self._xorg:
            # pystray makes the window's picture itself when the window's size
            # changes (at docking, before any redraw of ours) by stretching the
            # image onto black; ours draws at that size on the panel's colour.
            # It runs on pystray's loop thread and makes no X request.
            self.icon._assert_icon_data = self._xorg_icon_data
        self._listen_for_clicks()

    def _xorg_icon_data(self, width: int, height: int) -> None:
        """pystray's ``_assert_icon_data`` for this icon (its loop thread only)."""
        data = getattr(self.icon, "_icon_data", None)
        if data is not None and data.size == (width, height):
            return
        self.icon._icon_data = xorg_frame(self._shown, (width, height), self._panel)

    def _show_xorg(self, state: str, title: str) -> None:
        """Change the Xorg icon without pystray's cross-thread setters.

        Those send a message to pystray's event loop and wait for it, and
        python-xlib can deadlock when another thread flushes the display while
        the loop waits for a reply (measured: the icon froze, 1 change in ~20).
        Instead the new image is put in place and an Expose event is sent over
        a connection of our own: the loop redraws on its own thread, nobody waits.
        The panel's colour is read here too, on this thread's own connection
        (pystray's belongs to its loop; a third thread on it is what the
        lost wake-up needs).  Updater thread only.
        """
        icon = self.icon
        self._shown = state
        icon._icon = icon_image(state, ICON_SIZE)  # kept for the record; not drawn
        icon._title = title  # this backend shows no tooltip; kept for the record
        try:
            from Xlib import X
            from Xlib.protocol import event

            d = self._x_updates.get()
            window = d.create_resource_object("window", icon._window.id)
            geometry = window.get_geometry()
            size = (max(1, geometry.width), max(1, geometry.height))
            panel = panel_colour_around(d, icon._window.id)
            if panel is not None:
                self._panel, self._panel_read = panel, True
            key = (state, size, self._panel)
            data = getattr(icon, "_icon_data", None)
            if self._drawn != key or data is None or data.size != size:
                # The picture pystray draws from, made whole here and put in
                # place with one assignment: pystray's loop, drawing on its own
                # thread, sees the old picture or the new one.  (Clearing it for
                # pystray to remake raced with a draw under way: measured, the
                # loop died on None in a storm of state changes, and the icon
                # was gone.)  Made again only when the state, the size or the
                # panel's colour changed.
                icon._icon_data = xorg_frame(state, size, self._panel)
                self._drawn = key
            window.send_event(
                event.Expose(
                    window=window,
                    x=0,
                    y=0,
                    width=geometry.width,
                    height=geometry.height,
                    count=0,
                ),
                event_mask=X.ExposureMask,
            )
            d.flush()
        except Exception as exc:
            self._x_updates.reset()
            logger.debug(f"icon redraw request failed: {exc}")

    def _listen_for_clicks(self) -> None:
        """pystray's Xorg backend creates its window without ButtonPressMask, so
        a click never reaches it (pystray #151); ask X for button presses."""
        window = getattr(self.icon, "_window", None)
        if window is None:
            return
        try:
            from Xlib import X

            window.change_attributes(
                event_mask=X.ExposureMask | X.StructureNotifyMask | X.ButtonPressMask
            )
            self.icon._display.flush()
        except Exception as exc:
            logger.debug(f"cannot listen for clicks on the icon: {exc}")

    # ------------------------------------------------------------ menu

    def _menu(self):
        """pystray's menu, made again from :func:`menu_entries` each time the
        backend reads it (a dynamic menu: the labels follow the state, and
        "Record from" lists the applications playing when it is made: at
        every change of state, where the backend has a menu)."""
        pystray = self.pystray

        def item(entry: MenuEntry):
            if entry.separator:
                return pystray.Menu.SEPARATOR
            if entry.children:
                return pystray.MenuItem(
                    entry.label, pystray.Menu(*(item(c) for c in entry.children))
                )
            action = entry.action
            checked = entry.checked
            return pystray.MenuItem(
                entry.label,
                None if action is None else (lambda: action()),
                # pystray asks a callable; a radio item shows a dot, not a tick.
                checked=None if checked is None else (lambda _item: checked),
                radio=checked is not None,
                enabled=entry.enabled,
                default=entry.default,
            )

        def items():
            entries = menu_entries(
                self._snap,
                self.controller.post,
                self._captures_dir,
                self.config_path,
                self.on_quit,
                choose_app=self.controller.choose_app,
            )
            return (item(e) for e in entries)

        return pystray.Menu(items)

    def _captures_dir(self) -> Path:
        # 0700 whatever the umask (mkdir's mode is masked by it).
        return ensure_private_dir(self.controller.directory)

    # ------------------------------------------------------------ updates

    def show(self, snap: Snapshot) -> None:
        """Controller listener: note the new state and wake the updater.

        Runs on the controller's thread, so it must never call pystray: its
        Xorg backend hands every setter to its event loop and waits, and that
        can deadlock in python-xlib (measured: the app froze in "saving").
        The updater thread does the calls; if it ever hangs, only the icon
        stops changing, never the recording.
        """
        with self._lock:
            if self._pending is None:
                self._pending = (self._snap, snap)
            else:
                self._pending = (self._pending[0], snap)
            self._snap = snap
        self._wake.set()

    def _update(self) -> None:
        """The one thread that changes the icon, title, menu and notifies."""
        while not self._stop.is_set():
            if self._snap.state == RECORDING:
                timeout: float | None = RECORDING_REFRESH_S
            elif self._xorg:
                timeout = REDRAW_S if self._panel_read else FIRST_REDRAW_S
            else:
                timeout = None  # nothing to refresh: wait for a change
            woke = self._wake.wait(timeout)
            self._wake.clear()
            with self._lock:
                pending, self._pending = self._pending, None
            try:
                if pending is not None:
                    previous, snap = pending
                    if self._xorg:
                        self._show_xorg(snap.state, self._title(snap))
                        continue
                    _on_ui_thread(functools.partial(self._show, previous, snap))
                elif (not woke or self._redraw) and self._xorg:
                    self._redraw = False
                    # Redraw now and then: an Expose can be lost, or come
                    # before the tray has mapped the icon after docking; and
                    # the panel's colour can change (a theme, a panel restart).
                    self._show_xorg(self._snap.state, self._title(self._snap))
                elif not woke and self._snap.state == RECORDING:
                    # Keep the elapsed time in the tooltip current.
                    _on_ui_thread(functools.partial(self._set_title, self._snap))
            except Exception as exc:
                logger.debug(f"tray update failed: {exc}")

    def _show(self, previous: Snapshot, snap: Snapshot) -> None:
        """Icon, title, menu, notification of a new state (see _on_ui_thread)."""
        self.icon.icon = icon_image(snap.state, ICON_SIZE)
        self.icon.title = self._title(snap)
        if self.has_menu:
            self.icon.update_menu()
        if previous.state == SAVING and snap.message and self.has_notify:
            self.icon.notify(snap.message, "loopcap")

    def notify(self, text: str, title: str = "loopcap") -> None:
        """Show a desktop notification where the backend has them, on the
        thread the backend allows (see :func:`_on_ui_thread`).  Any thread;
        nothing happens without notifications (pystray's Xorg backend)."""
        if not self.has_notify:
            return
        _on_ui_thread(lambda: self.icon.notify(text, title))

    def _set_title(self, snap: Snapshot) -> None:
        self.icon.title = self._title(snap)

    @staticmethod
    def _title(snap: Snapshot) -> str:
        return status_title(snap)

    # ------------------------------------------------------------ docking

    def _docked(self) -> bool | None:
        window = getattr(self.icon, "_window", None)
        if window is None:
            return None  # not the Xorg backend: nothing to check
        try:
            from Xlib import X

            # Our own connection: pystray's belongs to its event loop thread.
            d = self._x_dock.get()
            ours = d.create_resource_object("window", window.id)
            tree = ours.query_tree()
            # Docked means: inside the tray, and shown (a tray can take
            # the window and still leave it unmapped or 1 pixel wide).
            geometry = ours.get_geometry()
            return (
                tree.parent != tree.root
                and ours.get_attributes().map_state == X.IsViewable
                and geometry.width > 1
                and geometry.height > 1
            )
        except Exception:
            self._x_dock.reset()
            return None

    def _request_dock(self) -> None:
        """Send the system tray protocol's dock request for our window, over a
        connection of our own (pystray's belongs to its event loop thread)."""
        try:
            from Xlib import X
            from Xlib.protocol import event

            d = self._x_dock.get()
            screen = d.get_default_screen()
            owner = d.get_selection_owner(d.intern_atom(f"_NET_SYSTEM_TRAY_S{screen}"))
            if owner == X.NONE:
                return
            opcode = d.intern_atom("_NET_SYSTEM_TRAY_OPCODE")
            message = event.ClientMessage(
                window=owner,
                client_type=opcode,
                data=(32, [X.CurrentTime, 0, self.icon._window.id, 0, 0]),  # 0: REQUEST_DOCK
            )
            owner.send_event(message, event_mask=X.NoEventMask)
            d.flush()
        except Exception as exc:
            self._x_dock.reset()
            logger.debug(f"dock request failed: {exc}")

    def _ensure_docked(self) -> None:
        """Check the icon is shown in the tray for as long as the app runs, and
        ask the tray again when it is not (at start, or after a panel restart)."""
        missing = 0
        docked: bool | None = False
        while not self._stop.wait(DOCKED_CHECK_S if docked else DOCK_CHECK_S):
            was_docked, docked = docked, self._docked()
            if docked is None:
                return  # not an X11 tray: nothing to check
            if docked:
                if missing:
                    logger.info("tray icon docked")
                missing = 0
                if not was_docked:
                    # An Expose can come before the tray maps the icon: draw now.
                    self._redraw = True
                    self._wake.set()
                continue
            missing += 1
            if missing == DOCK_ATTEMPTS:
                logger.warning(
                    "the system tray does not show the icon; hotkeys and "
                    "`loopcap toggle` still work"
                )
            logger.debug("the system tray does not show the icon; asking again")
            self._request_dock()

    # ------------------------------------------------------------ lifecycle

    def run(self) -> None:
        """Show the icon and block until :meth:`stop` (main thread only)."""

        def setup(icon) -> None:
            icon.visible = True
            threading.Thread(target=self._ensure_docked, daemon=True).start()
            threading.Thread(target=self._update, name="loopcap-tray", daemon=True).start()
            if not self.has_menu:
                logger.info("this tray has no menu: click the icon to start or stop a capture")

        self.controller.subscribe(self.show)
        self.icon.run(setup=setup)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        try:
            self.icon.stop()
        except Exception as exc:
            logger.debug(f"tray stop: {exc}")
