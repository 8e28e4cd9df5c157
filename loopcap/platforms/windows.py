"""Windows: ``msvcrt.locking`` far past the end, profile folders, SIGBREAK.

``msvcrt`` is imported when a lock is taken, never at import time, so this
module imports (and its logic is unit-tested, with a fake ``msvcrt``) on
Linux too: ``LOOPCAP_PLATFORM=windows`` chooses it there.

**Why a byte-range lock, and why that byte.**  Windows byte-range locks
(``LockFileEx``, which ``msvcrt.locking`` calls) are *mandatory*: while one
handle holds bytes 0..n, a read of them through any other handle fails, even
in the same process.  The rescue copy (:func:`loopcap.writer.rescue.copy_written`)
and ``loopcap recover`` read a partial capture through their own handles, so
the lock covers one byte at :data:`LOCK_OFFSET`, far past the end of any
capture; locking beyond the end of a file is allowed ("Locking a region that
goes beyond the current end-of-file position is not an error", LockFile's
documentation), and no read ever reaches it.  The UCRT's ``_locking`` takes
its 64-bit offset from the file position (``_lseeki64``; ucrt
``lowio/locking.cpp``), so the position is moved there and put back; the
lock is taken right after the file is created, before libsndfile uses the
descriptor.

The other choice, an exclusive open (``CreateFileW`` with share mode 0),
would refuse those readers outright, and cannot be had through ``os.open``
(the CRT always shares read and write): it would need ``_winapi``/ctypes and
``msvcrt.open_osfhandle`` for every file loopcap locks.

Windows drops a dead process's locks itself, but "the time it takes ...
depends upon available system resources" (LockFile's documentation): a
``loopcap recover`` in the very second after a crash may still see the file
as in use and leave it for the next run.
"""

from __future__ import annotations

import errno
import getpass
import importlib
import os
import signal
import sys
from pathlib import Path
from typing import Protocol, cast

from loopcap.platforms.base import free_bytes

__all__ = ["WindowsPlatform", "LOCK_OFFSET"]

#: Where the one locked byte lies: 1 TiB, past the end of any capture (a
#: 48 kHz stereo float32 capture reaches it after 33 days) yet below the
#: largest file of NTFS (and of ext4, 16 TiB, where the unit tests seek
#: there), so seeking there is allowed on any file system.
LOCK_OFFSET = 1 << 40

if sys.platform == "win32":
    # O_BINARY: no CRLF translation in os.write (the CRT's default is text
    # mode); O_NOINHERIT: child processes do not inherit the descriptor
    # (Python sets it anyway, PEP 446).
    _OPEN_FLAGS = os.O_NOINHERIT | os.O_BINARY
    # SIGBREAK: Ctrl+Break in the console; the CRT's console handler also
    # raises it for the console's close, logoff and shutdown events, after
    # which Windows ends the process within seconds (not verified here).
    # Windows has no SIGTERM from outside (os.kill and taskkill /f are
    # TerminateProcess), no SIGHUP, no SIGKILL.
    _STOP_SIGNALS = (signal.SIGINT, signal.SIGBREAK)
else:
    # LOOPCAP_PLATFORM=windows on a POSIX machine (the tests): the flags and
    # signals the host has; the lock logic below is what is being tested.
    _OPEN_FLAGS = 0
    _STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

#: errno of ``msvcrt.locking(LK_NBLCK)`` when another handle holds the byte
#: (ERROR_LOCK_VIOLATION becomes EACCES in the CRT; EDEADLOCK is
#: ``_locking``'s answer once LK_LOCK's retries are spent: taken as held too).
_HELD = (errno.EACCES, errno.EDEADLK)


class _Msvcrt(Protocol):
    """The part of the ``msvcrt`` module used here (a fake in the tests)."""

    LK_NBLCK: int
    LK_UNLCK: int

    def locking(self, fd: int, mode: int, nbytes: int, /) -> None: ...


def _msvcrt() -> _Msvcrt:
    return cast(_Msvcrt, importlib.import_module("msvcrt"))


class WindowsPlatform:
    """The Windows implementation of :class:`loopcap.platforms.base.Platform`.

    Stateless; every method may be called from any thread, but two threads
    must not lock the same descriptor at once (the file position is moved
    for the call).
    """

    name = "windows"
    open_flags = _OPEN_FLAGS
    stop_signals: tuple[int, ...] = _STOP_SIGNALS

    def try_lock(self, fd: int) -> bool:
        """Lock the byte at :data:`LOCK_OFFSET` of ``fd`` (``LK_NBLCK``: no
        waiting); False when another handle holds it.  The file position is
        restored, whatever happens."""
        msvcrt = _msvcrt()
        pos = os.lseek(fd, 0, os.SEEK_CUR)
        try:
            os.lseek(fd, LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            if exc.errno in _HELD:
                return False
            raise
        finally:
            os.lseek(fd, pos, os.SEEK_SET)
        return True

    def restrict(self, path: Path, is_dir: bool) -> None:
        """Nothing: every folder loopcap writes to by default is inside the
        user's profile (``%LOCALAPPDATA%``, the Music folder), whose access
        list already admits only the user, SYSTEM and Administrators, and new
        files and folders inherit it.  ``os.chmod`` would only flip the
        read-only attribute, which is no privacy at all.  (A folder loopcap
        creates elsewhere -- ``output.dir = "D:/Captures"`` -- is made with
        ``os.mkdir(mode=0o700)``, which since Python 3.11.10 gives it a
        user-only access list, CVE-2024-4030.)"""

    def free_bytes(self, path: Path) -> int:
        return free_bytes(path)

    def user_id(self) -> str:
        """The account name, from ``GetUserNameW`` (``os.getlogin`` on
        Windows), not from ``%USERNAME%``, which any process can set.  A
        valid file and pipe name: Windows forbids ``\\ / : * ? " < > |`` in
        account names.  (A SID would also tell a domain account from a local
        one of the same name; the control pipe's security descriptor, not its
        name, is what keeps other users out.)"""
        try:
            return os.getlogin()
        except OSError:  # only off Windows (no controlling terminal), in tests
            try:
                return getpass.getuser()
            except (ImportError, KeyError, OSError):
                return os.environ.get("USERNAME") or "user"

    def owns(self, st: os.stat_result) -> bool:
        """True: ``st_uid`` is always 0 on Windows, and the folders loopcap
        checks (the temporary folder's ``loopcap-rescue-*``) live in the
        per-user ``%LOCALAPPDATA%\\Temp``, which no other user can write."""
        return True
