"""The first run: what a new user needs to know, said once.

:func:`welcome_lines` is pure: the configuration and two facts about the
desktop (whether global keys are heard, whether the tray has a menu) ->
a few short lines: which key starts and stops a capture (or how to bind
``loopcap toggle`` where keys are not heard, as on Wayland), where the notes
are saved, and how to reach the menu.  The app says them on the terminal
and in a notification on its first start (:mod:`loopcap.app.main`);
``loopcap doctor`` ends with them when every check passes.

:func:`first_start` remembers "first": the first start is one with no
config file yet and no marker file (:data:`MARKER_NAME` in the config
folder, :func:`loopcap.platforms.config_dir`); the marker is created
exclusively then, so two starts, even at once, say it once between them.
"""

from __future__ import annotations

import os
from pathlib import Path

from loopcap.config import Config
from loopcap.fs import create_exclusive, ensure_private_dir
from loopcap.log import logger
from loopcap.platforms import config_dir

__all__ = ["MARKER_NAME", "welcome_lines", "first_start", "marker_path"]

#: The file whose existence says "the first run has been explained".
MARKER_NAME = "first-run-done"


def welcome_lines(
    config: Config, *, hotkeys_heard: bool = True, has_menu: bool | None = True
) -> list[str]:
    """The first run's short summary, one sentence a line.  Pure.

    ``hotkeys_heard``: global hotkeys can be heard in this session (False on
    Wayland: :func:`loopcap.app.hotkeys.hotkey_support`).  ``has_menu``: the
    tray icon has a menu (True), is a plain X11 tray icon without one where
    a click starts and stops a capture (False), or there is no tray (None).
    """
    toggle = config.hotkeys.toggle
    if not hotkeys_heard:
        keys = (
            "Start and stop a capture: global keys cannot be heard here, so bind a "
            "desktop shortcut to the command `loopcap toggle` (on GNOME: Settings > "
            "Keyboard > Custom Shortcuts)."
        )
    elif not toggle:
        keys = (
            "Start and stop a capture: no key is set ([hotkeys] toggle is empty); "
            "run `loopcap toggle`, or bind a desktop shortcut to it."
        )
    else:
        keys = (
            f"Start and stop a capture: press {toggle} (the [hotkeys] toggle key; "
            "`loopcap toggle` does the same)."
        )
    saved = f"Notes are saved in {config.output.directory}"
    if config.output.save_plot:
        saved += ", each with a picture of its cut"
    if has_menu is None:
        menu = (
            "There is no tray icon here: `loopcap status` says what loopcap is doing, "
            "`loopcap quit` ends it."
        )
    elif has_menu:
        menu = (
            "Click the loopcap icon in the tray for its menu: start or stop, recent "
            "captures, the captures folder, quit."
        )
    else:
        menu = (
            "Click the loopcap icon in the tray to start or stop a capture (this tray "
            "shows no menu; `loopcap quit` ends loopcap)."
        )
    return [keys, saved + ".", menu]


def marker_path() -> Path:
    """Where the marker of the first run lives: the per-user config folder."""
    return config_dir() / MARKER_NAME


def first_start(config_path: Path, marker: Path | None = None) -> bool:
    """True on the first start only: ``config_path`` does not exist and
    neither does ``marker`` (default :func:`marker_path`), which is then
    created.  Where the marker cannot be written (a read-only home) the
    answer is True: better said again than never.  Any thread; one call
    per start.
    """
    marker = marker_path() if marker is None else marker
    if config_path.exists() or marker.exists():
        return False
    try:
        ensure_private_dir(marker.parent)
        os.close(create_exclusive(marker))
    except FileExistsError:
        return False  # another start took it first
    except OSError as exc:
        logger.debug(f"the first-run marker {marker} cannot be written ({exc})")
    return True
