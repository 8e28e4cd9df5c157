"""The tray's menu, the same for every backend: pystray's menus
(:class:`loopcap.app.tray.Tray`) and the StatusNotifierItem's dbusmenu
(:mod:`loopcap.app.desktop.sni`) are both made from :func:`menu_entries`.
Pure but for the actions (which post to the controller or open a file) and
the "Record from" submenu, which lists the applications playing when the
menu is made (:func:`loopcap.app.apps.apps_playing`: one short request to
the sound server).
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from loopcap.app.apps import EVERYTHING, apps_playing
from loopcap.app.controller import ARMED, ERROR, IDLE, RECORDING, Snapshot
from loopcap.log import logger

if TYPE_CHECKING:
    from loopcap.device import AppInfo

__all__ = [
    "MenuEntry",
    "menu_entries",
    "record_from",
    "status_title",
    "open_path",
    "cut_picture_of",
    "RECORD_FROM",
]

#: The submenu that chooses what to record.
RECORD_FROM = "Record from"


@dataclass(frozen=True)
class MenuEntry:
    """One item of the tray's menu, the same for every backend (pystray's
    menus in :mod:`loopcap.app.tray`, the StatusNotifierItem's dbusmenu in
    :mod:`loopcap.app.desktop.sni`): a ``label`` with an ``action`` (called on
    the backend's thread: it only posts to the controller or opens a file,
    never blocks), or ``children`` (a submenu), or a separator.  ``default``:
    what a click on the icon does where the tray has no menu.  ``checked``:
    None for a plain item, else one of a group of radio items (which is on)."""

    label: str = ""
    action: Callable[[], object] | None = None
    enabled: bool = True
    default: bool = False
    children: tuple[MenuEntry, ...] = ()
    separator: bool = False
    checked: bool | None = None


def menu_entries(
    snap: Snapshot,
    post: Callable[[str], object],
    captures_dir: Callable[[], Path],
    config_path: Path,
    on_quit: Callable[[], None],
    choose_app: Callable[[str], object] | None = None,
    apps: Callable[[], tuple[list[AppInfo], str]] | None = None,
) -> list[MenuEntry]:
    """The tray's menu for ``snap``: Start/Stop capture, arm, "Record from"
    (with ``choose_app``, the controller's
    :meth:`~loopcap.app.controller.Controller.choose_app`; see
    :func:`record_from`), the captures folder, the recent captures (a
    submenu; a note with its cut picture is a submenu of its own), the config
    file, Quit.  ``post(action)`` is the controller's
    :meth:`~loopcap.app.controller.Controller.post`.  Any thread; ``apps()``
    (default :func:`~loopcap.app.apps.apps_playing`) is called once when a
    "Record from" is made."""
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
    source = []
    if choose_app is not None:
        playing, why_none = (apps or apps_playing)()
        source.append(record_from(snap, choose_app, playing, why_none))
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
        *source,
        MenuEntry("Open captures folder", lambda: open_path(captures_dir())),
        MenuEntry("Recent captures", children=tuple(recent)),
        MenuEntry("Open config file", functools.partial(open_path, config_path)),
        MenuEntry(separator=True),
        MenuEntry("Quit", on_quit),
    ]


def record_from(
    snap: Snapshot, choose_app: Callable[[str], object], apps: list[AppInfo], why_none: str = ""
) -> MenuEntry:
    """The "Record from" submenu: "Everything" (the whole output), then each
    application in ``apps`` (those playing now) by name, the one recorded
    checked; an app chosen that does not play now is listed too, checked.
    Choosing is for an idle app (or one in error): the items are greyed out
    while armed, recording or saving.  ``why_none``: shown, greyed out, when
    there are no apps to offer (this system records the whole output only).
    Pure."""
    from loopcap.device import match_app

    free = snap.state in (IDLE, ERROR)
    current = snap.app
    items = [
        MenuEntry(
            EVERYTHING,
            functools.partial(choose_app, ""),
            enabled=free,
            checked=not current,
        ),
        MenuEntry(separator=True),
    ]
    names = list(dict.fromkeys(a.name for a in apps if a.name))
    # The choice is a part of a name: the apps it takes are all checked.
    taken = {a.name for a in match_app(current, apps)} if current else set()
    for name in names:
        items.append(
            MenuEntry(
                name,
                functools.partial(choose_app, name),
                enabled=free,
                checked=name in taken,
            )
        )
    if current and not taken:
        items.append(MenuEntry(f"{current} (not playing now)", enabled=False, checked=True))
    if not names and not current:
        items.append(MenuEntry(f"({why_none or 'no application is playing now'})", enabled=False))
    return MenuEntry(RECORD_FROM, children=tuple(items))


def status_title(snap: Snapshot) -> str:
    """The icon's title/tooltip for ``snap`` ("loopcap: recording 01:05",
    "loopcap: idle (chromium only)" while one application is recorded)."""
    only = f" ({snap.app} only)" if snap.app else ""
    if snap.state == RECORDING:
        s = int(snap.elapsed_s)
        until = " until silence" if snap.armed else ""
        return f"loopcap: recording {s // 60:02d}:{s % 60:02d}{until}{only}"
    if snap.state == ARMED:
        return f"loopcap: armed: waiting for sound{only}"
    if snap.state == ERROR:
        return f"loopcap: error: {snap.message}"[:120]
    return f"loopcap: {snap.state}{only}"[:120]


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
