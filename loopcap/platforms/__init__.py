"""Every difference between Linux, macOS and Windows below the app shell.

The lowest layer beside :mod:`loopcap.errors`: every module may import it,
and it imports nothing of loopcap but errors.  :func:`current` picks one
implementation per process, the way pystray picks its backend
(``PYSTRAY_BACKEND``) and :mod:`loopcap.device` its source
(``LOOPCAP_BACKEND``): from ``sys.platform``, unless ``LOOPCAP_PLATFORM``
(``linux``, ``macos`` or ``windows``) forces one -- the tests run the Windows
logic on Linux that way.  Implementations are imported lazily, and each
reaches its OS-only modules (``fcntl``, ``msvcrt``) only when a lock is
taken, so importing loopcap never imports a module the OS lacks.

::

    from loopcap.platforms import current
    p = current()
    p.name                  # "linux" | "macos" | "windows"
    p.try_lock(fd)          # exclusive, non-blocking "in use" lock -> bool
    p.open_flags            # O_CLOEXEC on POSIX, O_NOINHERIT | O_BINARY on Windows
    p.restrict(path, is_dir)  # chmod 0700/0600 on POSIX; nothing on Windows
    p.free_bytes(path)      # shutil.disk_usage(path).free
    p.stop_signals          # (SIGINT, SIGTERM) on POSIX, (SIGINT, SIGBREAK) on Windows
    p.user_id()             # the uid on POSIX, the account name on Windows
    p.owns(os.lstat(path))  # the uid check on POSIX; True on Windows

The per-user folders (captures, config, log, data, runtime, temporary) are
:mod:`loopcap.platforms.paths`', re-exported here.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping

from loopcap.errors import ConfigError
from loopcap.platforms.base import NAMES, Platform
from loopcap.platforms.paths import (
    captures_dir,
    config_dir,
    data_dir,
    log_dir,
    music_dir,
    runtime_dir,
    temp_dir,
)

__all__ = [
    "NAMES",
    "Platform",
    "current",
    "native_name",
    "select",
    "captures_dir",
    "config_dir",
    "data_dir",
    "log_dir",
    "music_dir",
    "runtime_dir",
    "temp_dir",
]

#: The environment variable that forces an implementation (tests).
ENV_VAR = "LOOPCAP_PLATFORM"

_lock = threading.Lock()
_current: Platform | None = None


def native_name(platform: str = sys.platform) -> str:
    """The implementation for a ``sys.platform`` value: ``win32`` is
    ``windows``, ``darwin`` is ``macos``, any other (Linux, the BSDs, Cygwin,
    whose Python has ``fcntl`` and no ``msvcrt``) ``linux``, the POSIX one."""
    if platform == "win32":
        return "windows"
    if platform == "darwin":
        return "macos"
    return "linux"


def select(env: Mapping[str, str] = os.environ, platform: str = sys.platform) -> Platform:
    """A new implementation for ``env`` and ``platform`` (not remembered; see
    :func:`current`).  Raises ConfigError when ``LOOPCAP_PLATFORM`` names none."""
    forced = env.get(ENV_VAR, "").strip().lower()
    if forced and forced not in NAMES:
        raise ConfigError(
            f"{ENV_VAR}={forced!r} is not a platform: use one of {', '.join(NAMES)}, "
            "or leave it unset."
        )
    name = forced or native_name(platform)
    if name == "windows":
        from loopcap.platforms.windows import WindowsPlatform

        return WindowsPlatform()
    if name == "macos":
        from loopcap.platforms.macos import MacPlatform

        return MacPlatform()
    from loopcap.platforms.posix import PosixPlatform

    return PosixPlatform()


def current() -> Platform:
    """This process's implementation, chosen on the first call and kept.

    Thread-safe.  Raises ConfigError (the first call, and every call after it
    until fixed) when ``LOOPCAP_PLATFORM`` is invalid.
    """
    global _current
    if _current is None:
        with _lock:
            if _current is None:
                _current = select()
    return _current
