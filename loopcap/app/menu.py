"""The tray's menu, the same for every backend: pystray's menus
(:class:`loopcap.app.tray.Tray`) and the StatusNotifierItem's dbusmenu
(:mod:`loopcap.app.desktop.sni`) are both made from :func:`menu_entries`.
Pure but for the actions (which post to the controller or open a file).
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

from loopcap.app.controller import ARMED, ERROR, IDLE, RECORDING, Snapshot

__all__ = ["MenuEntry", "menu_entries", "status_title", "open_path", "cut_picture_of"]


@dataclass(frozen=True)
class MenuEntry:
    """One item of the tray's menu, the same for every backend (pystray's
    menus in :mod:`loopcap.app.tray`, the StatusNotifierItem's dbusmenu in
    :mod:`loopcap.app.desktop.sni`): a ``label`` with an ``action`` (called on
    the backend's thread: it only posts to the controller or opens a file,
    never blocks), or ``children`` (a submenu), or a separator.  ``default``:
    what a click on the icon does where the tray has no menu."""

    label: str = ""
    action: Callable[[], object] | None = None
    enabled: bool = True
    default: bool = False
    children: tuple[MenuEntry, ...] = ()
    separator: bool = False


def menu_entries(
    snap: Snapshot,
    post: Callable[[str], object],
    captures_dir: Callable[[], Path],
    config_path: Path,
    on_quit: Callable[[], None],
) -> list[MenuEntry]:
    """The tray's menu for ``snap``: Start/Stop capture, arm, the captures
    folder, the recent captures (a submenu; a note with its cut picture is a
    submenu of its own), the config file, Quit.  ``post(action)`` is the
    controller's :meth:`~loopcap.app.controller.Controller.post`.  Pure: any thread."""
    recent: list[MenuEntry] = []
    for p in snap.recent:
        picture = cut_picture_of(p)
        if picture is None:
            recent.append(MenuEntry(p.name, functools.partial(open_path, p)))
            continue
        # The cut picture ([output] save_plot) beside the note: a submenu.
        recent.append(
            MenuEntry(
                p.name,
                children=(
                    MenuEntry("Open note", functools.partial(open_path, p), default=True),
                    MenuEntry("Open cut picture", functools.partial(open_path, picture)),
                ),
            )
        )
    if not recent:
        recent.append(MenuEntry("(none yet)", enabled=False))
    return [
        MenuEntry(
            "Stop capture" if snap.state == RECORDING else "Start capture",
            functools.partial(post, "toggle"),
            default=True,
        ),
        MenuEntry(
            "Disarm" if snap.state == ARMED else "Capture the next sound (arm)",
            functools.partial(post, "arm"),
            enabled=snap.state in (IDLE, ARMED),
        ),
        MenuEntry("Open captures folder", lambda: open_path(captures_dir())),
        MenuEntry("Recent captures", children=tuple(recent)),
        MenuEntry("Open config file", functools.partial(open_path, config_path)),
        MenuEntry(separator=True),
        MenuEntry("Quit", on_quit),
    ]


def status_title(snap: Snapshot) -> str:
    """The icon's title/tooltip for ``snap`` ("loopcap: recording 01:05")."""
    if snap.state == RECORDING:
        s = int(snap.elapsed_s)
        until = " until silence" if snap.armed else ""
        return f"loopcap: recording {s // 60:02d}:{s % 60:02d}{until}"
    if snap.state == ARMED:
        return "loopcap: armed: waiting for sound"
    if snap.state == ERROR:
        return f"loopcap: error: {snap.message}"[:120]
    return f"loopcap: {snap.state}"


def cut_picture_of(note: Path) -> Path | None:
    """The cut picture saved beside ``note`` (``<stem>.png``), if there is one."""
    picture = note.with_suffix(".png")
    return picture if picture != note and picture.is_file() else None


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
