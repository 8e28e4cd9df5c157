"""The tray icon (pystray).  Must run on the main thread (pystray #16, macOS).

Where the backend has no menu (pystray's Xorg backend: pystray #151, #159),
a click on the icon toggles the capture.  A freshly started system tray
sometimes fails to embed an icon (measured: about 1 launch in 10 with a plain
pystray icon), so on X11 the icon's window is checked after start and the dock
request is repeated until the tray has taken it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from loguru import logger

from loopcap.app.controller import RECORDING, SAVING, Controller, Snapshot
from loopcap.app.icons import icon_image

__all__ = ["Tray", "tray_support"]

DOCK_CHECK_S = 1.0
DOCK_ATTEMPTS = 8


def _x11_tray_owner() -> bool | None:
    """True/False: an X11 system tray exists or not; None: not an X11 session."""
    if not os.environ.get("DISPLAY"):
        return None
    try:
        from Xlib import X, display
    except ImportError:
        return None
    try:
        d = display.Display()
    except Exception:
        return False
    try:
        atom = d.intern_atom(f"_NET_SYSTEM_TRAY_S{d.get_default_screen()}")
        return d.get_selection_owner(atom) != X.NONE
    finally:
        d.close()


def tray_support() -> tuple[bool, str]:
    """(usable, reason) for a tray icon in this session."""
    if sys.platform.startswith("linux"):
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            return (
                False,
                "no display found; running with the terminal only (`loopcap toggle` controls it)",
            )
        owner = _x11_tray_owner()
        if owner is False and not os.environ.get("WAYLAND_DISPLAY"):
            return False, "no system tray found; running with hotkeys only"
    try:
        import pystray  # noqa: F401
    except Exception as exc:
        return False, f"the tray icon is not available ({exc}); running with hotkeys only"
    return True, ""


def open_path(path: Path) -> None:
    """Open a file or folder with the desktop's default application."""
    if sys.platform == "win32":
        os.startfile(path)  # noqa: S606
        return
    opener = "open" if sys.platform == "darwin" else "xdg-open"
    try:
        subprocess.Popen(
            [opener, str(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        logger.warning(f"cannot open {path} ({exc})")


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
        self.icon = pystray.Icon("loopcap", icon_image("idle"), "loopcap: idle", menu=self._menu())
        self.has_menu = bool(getattr(self.icon, "HAS_MENU", False))
        self.has_notify = bool(getattr(self.icon, "HAS_NOTIFICATION", False))
        self._stop = threading.Event()

    # ------------------------------------------------------------ menu

    def _menu(self):
        pystray = self.pystray
        item = pystray.MenuItem

        def toggle_text(_item) -> str:
            return "Stop capture" if self._snap.state == RECORDING else "Start capture"

        def recent_items():
            paths = self._snap.recent
            if not paths:
                yield item("(none yet)", None, enabled=False)
            for p in paths:
                yield item(p.name, lambda _i, _it, p=p: open_path(p))

        return pystray.Menu(
            item(toggle_text, lambda: self.controller.post("toggle"), default=True),
            item("Open captures folder", lambda: open_path(self._captures_dir())),
            item("Recent captures", pystray.Menu(recent_items)),
            item("Open config file", lambda: open_path(self.config_path)),
            pystray.Menu.SEPARATOR,
            item("Quit", lambda: self.on_quit()),
        )

    def _captures_dir(self) -> Path:
        d = self.controller.directory
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        return d

    # ------------------------------------------------------------ updates

    def show(self, snap: Snapshot) -> None:
        """Controller listener: update icon, tooltip, menu; notify on save."""
        previous, self._snap = self._snap, snap
        self.icon.icon = icon_image(snap.state)
        self.icon.title = self._title(snap)
        if self.has_menu:
            self.icon.update_menu()
        if previous.state == SAVING and snap.message and self.has_notify:
            try:
                self.icon.notify(snap.message, "loopcap")
            except Exception as exc:
                logger.debug(f"notification failed: {exc}")

    @staticmethod
    def _title(snap: Snapshot) -> str:
        if snap.state == RECORDING:
            s = int(snap.elapsed_s)
            return f"loopcap: recording {s // 60:02d}:{s % 60:02d}"
        if snap.state == "error":
            return f"loopcap: error: {snap.message}"[:120]
        return f"loopcap: {snap.state}"

    def _tick(self) -> None:
        """Keep the elapsed time in the tooltip current while recording."""
        while not self._stop.wait(1.0):
            if self._snap.state == RECORDING:
                self.icon.title = self._title(self._snap)

    # ------------------------------------------------------------ docking

    def _docked(self) -> bool | None:
        window = getattr(self.icon, "_window", None)
        if window is None:
            return None  # not the Xorg backend: nothing to check
        try:
            from Xlib import display

            # Our own connection: pystray's belongs to its event loop thread.
            d = display.Display()
            try:
                tree = d.create_resource_object("window", window.id).query_tree()
                return tree.parent != tree.root
            finally:
                d.close()
        except Exception:
            return None

    def _ensure_docked(self) -> None:
        for attempt in range(DOCK_ATTEMPTS):
            time.sleep(DOCK_CHECK_S)
            docked = self._docked()
            if docked is None or docked:
                if attempt:
                    logger.info("tray icon docked")
                return
            logger.info("the system tray did not take the icon; asking again")
            try:
                self.icon._show()  # repeats the XEMBED dock request
            except Exception as exc:
                logger.debug(f"dock request failed: {exc}")
        logger.warning(
            "the system tray did not show the icon; hotkeys and `loopcap toggle` still work"
        )

    # ------------------------------------------------------------ lifecycle

    def run(self) -> None:
        """Show the icon and block until :meth:`stop` (main thread only)."""

        def setup(icon) -> None:
            icon.visible = True
            threading.Thread(target=self._ensure_docked, daemon=True).start()
            threading.Thread(target=self._tick, daemon=True).start()
            if not self.has_menu:
                logger.info("this tray has no menu: click the icon to start or stop a capture")

        self.controller.subscribe(self.show)
        self.icon.run(setup=setup)

    def stop(self) -> None:
        self._stop.set()
        try:
            self.icon.stop()
        except Exception as exc:
            logger.debug(f"tray stop: {exc}")
