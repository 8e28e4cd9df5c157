"""Linux (and any POSIX system but macOS): ``flock``, modes 0700/0600, the uid.

The POSIX-only modules and calls (``fcntl``, ``os.getuid``, ``O_CLOEXEC``)
are reached only inside this module, behind ``sys.platform`` checks that
mypy understands, so that importing it (or type-checking it with
``--platform win32``) never needs them.  :mod:`loopcap.platforms.macos`
builds on this class.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from pathlib import Path

from loopcap.platforms.base import DIR_MODE, FILE_MODE, free_bytes

__all__ = ["PosixPlatform"]

if sys.platform != "win32":
    # Python makes every descriptor it opens non-inheritable anyway (PEP 446);
    # asking for O_CLOEXEC in the open itself leaves no window in which a
    # fork+exec of another thread could inherit it.
    _OPEN_FLAGS = os.O_CLOEXEC
else:  # pragma: no cover - only when LOOPCAP_PLATFORM=linux is forced on Windows
    _OPEN_FLAGS = 0


def _not_here(what: str) -> OSError:
    return OSError(errno.ENOSYS, f"{what} does not exist on {sys.platform}")


class PosixPlatform:
    """The POSIX implementation of :class:`loopcap.platforms.base.Platform`.

    Stateless; every method may be called from any thread.
    """

    name = "linux"
    open_flags = _OPEN_FLAGS
    stop_signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)

    def try_lock(self, fd: int) -> bool:
        """``flock(LOCK_EX | LOCK_NB)``: advisory, held by the open file
        description, so a second ``open`` of the same file (in this process
        or another) is refused while this one is open, and the lock goes
        with the last descriptor of it (a crash drops it)."""
        if sys.platform == "win32":
            raise _not_here("flock")
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def restrict(self, path: Path, is_dir: bool) -> None:
        """``chmod`` to 0700 (folder) or 0600 (file): ``mkdir``'s and
        ``open``'s modes are masked by the umask, ``chmod``'s are not."""
        os.chmod(path, DIR_MODE if is_dir else FILE_MODE)

    def free_bytes(self, path: Path) -> int:
        return free_bytes(path)

    def user_id(self) -> str:
        """The real uid, e.g. ``"1000"``."""
        if sys.platform == "win32":
            raise _not_here("getuid")
        return str(os.getuid())

    def owns(self, st: os.stat_result) -> bool:
        if sys.platform == "win32":
            raise _not_here("getuid")
        return st.st_uid == os.getuid()
