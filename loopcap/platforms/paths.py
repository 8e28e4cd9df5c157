"""Every per-user folder of loopcap, from platformdirs, on all three OSes.

Nothing here creates a folder (:func:`loopcap.fs.ensure_private_dir` does,
above this layer), and every path is looked up when asked for, so a test's
``HOME``/``XDG_*`` take effect at once.  ``appauthor=False``: on Windows,
``%LOCALAPPDATA%\\loopcap`` rather than platformdirs' default
``%LOCALAPPDATA%\\loopcap\\loopcap``; on Linux and macOS it changes nothing.

- captures: ``loopcap`` in the Music folder: ``$XDG_MUSIC_DIR`` (``~/Music``)
  on Linux, ``~/Music`` on macOS, the shell's ``FOLDERID_Music`` on Windows
  (OneDrive may move it; never a guess from ``%USERPROFILE%``);
- config: ``~/.config/loopcap``, ``~/Library/Application Support/loopcap``,
  ``%LOCALAPPDATA%\\loopcap``;
- log: ``~/.local/state/loopcap/log``, ``~/Library/Logs/loopcap``,
  ``%LOCALAPPDATA%\\loopcap\\Logs``;
- data (the first rescue folder's parent): ``~/.local/share/loopcap``,
  ``~/Library/Application Support/loopcap``, ``%LOCALAPPDATA%\\loopcap``;
- runtime: ``$XDG_RUNTIME_DIR/loopcap``,
  ``~/Library/Caches/TemporaryItems/loopcap``, ``%LOCALAPPDATA%\\Temp\\loopcap``.

platformdirs honours the ``XDG_*`` variables on macOS too when they are set.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import platformdirs

__all__ = [
    "APP_NAME",
    "music_dir",
    "captures_dir",
    "config_dir",
    "log_dir",
    "data_dir",
    "runtime_dir",
    "temp_dir",
]

APP_NAME = "loopcap"


def music_dir() -> Path:
    """The user's Music folder."""
    return Path(platformdirs.user_music_dir())


def captures_dir() -> Path:
    """The default captures folder: ``loopcap`` in the user's Music folder."""
    return music_dir() / APP_NAME


def config_dir() -> Path:
    """The folder of ``config.toml``."""
    return Path(platformdirs.user_config_dir(APP_NAME, False))


def log_dir() -> Path:
    """The folder of ``loopcap.log``."""
    return Path(platformdirs.user_log_dir(APP_NAME, False))


def data_dir() -> Path:
    """Kept across reboots, on the home disk (the first rescue folder's parent)."""
    return Path(platformdirs.user_data_dir(APP_NAME, False))


def runtime_dir() -> Path:
    """The app's lock file and control socket (Windows: lock file and pipe secret).

    ``$XDG_RUNTIME_DIR/loopcap`` whenever ``XDG_RUNTIME_DIR`` is set (on Linux
    as before; platformdirs would warn about and refuse one that is not 0700,
    which a test's or a container's may not be), else platformdirs'.
    """
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base:
        return Path(base) / APP_NAME
    return Path(platformdirs.user_runtime_dir(APP_NAME, False))


def temp_dir() -> Path:
    """The temporary folder (``$TMPDIR``, ``/tmp``; ``%TEMP%`` on Windows)."""
    return Path(tempfile.gettempdir())
