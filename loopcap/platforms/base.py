"""The contract every platform implementation keeps (:class:`Platform`).

One implementation per operating system: :mod:`loopcap.platforms.posix`
(Linux, and any POSIX system that is not macOS), :mod:`loopcap.platforms.macos`
and :mod:`loopcap.platforms.windows`; :func:`loopcap.platforms.current` picks
one per process.  Everything here is callable from any thread; nothing keeps
state beyond what the operating system keeps for an open file descriptor.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Protocol

__all__ = ["NAMES", "FILE_MODE", "DIR_MODE", "Platform", "free_bytes"]

#: The names :func:`loopcap.platforms.current` may choose, and
#: ``LOOPCAP_PLATFORM`` may force.
NAMES = ("linux", "macos", "windows")

#: The modes of loopcap's own files and folders on POSIX: the user's alone.
#: (``os.mkdir(mode=0o700)`` also gives a folder a user-only access list on
#: Windows since Python 3.11.10, CVE-2024-4030; other modes mean nothing there.)
FILE_MODE = 0o600
DIR_MODE = 0o700


class Platform(Protocol):
    """What differs between Linux, macOS and Windows below the app shell.

    Attributes:

    - ``name``: ``"linux"``, ``"macos"`` or ``"windows"``.
    - ``open_flags``: flags to OR into every ``os.open`` of loopcap
      (``O_CLOEXEC`` on POSIX, ``O_NOINHERIT | O_BINARY`` on Windows).
    - ``stop_signals``: the signals that stop a capture or the app
      (SIGINT and SIGTERM on POSIX, SIGINT and SIGBREAK on Windows).
    """

    name: str
    open_flags: int
    stop_signals: tuple[int, ...]

    def try_lock(self, fd: int) -> bool:
        """Take an exclusive, non-blocking "in use" lock on the open file ``fd``;
        False when another open file holds it.  The lock lasts until ``fd``
        is closed (or the process ends); call it once per descriptor, right
        after the file is opened and before anything else reads or writes it.
        Raises OSError for any other failure (a file system without locks)."""
        ...

    def restrict(self, path: Path, is_dir: bool) -> None:
        """Make a file or folder loopcap just created private to the user."""
        ...

    def free_bytes(self, path: Path) -> int:
        """Bytes the user may still write on ``path``'s file system; raises OSError."""
        ...

    def user_id(self) -> str:
        """Who runs loopcap: a string fit for a file or pipe name."""
        ...

    def owns(self, st: os.stat_result) -> bool:
        """Whether a folder or file (its ``os.lstat``) belongs to this user."""
        ...


def free_bytes(path: Path) -> int:
    """Free space for an unprivileged user on ``path``'s file system, in bytes.

    ``shutil.disk_usage`` on every OS: ``statvfs``'s ``f_bavail * f_frsize`` on
    POSIX (what ``os.statvfs`` gave before, minus the root reserve), and
    ``GetDiskFreeSpaceExW``'s bytes available to the caller (quotas counted)
    on Windows, where ``os.statvfs`` does not exist.
    """
    return shutil.disk_usage(path).free
