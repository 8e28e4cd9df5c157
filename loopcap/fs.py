"""Private, never-overwriting file creation, and the one "in use" lock helper.

Voice notes are private: on POSIX folders are created 0700 and files 0600; on
Windows the user's profile folders are private already (see
:meth:`loopcap.platforms.windows.WindowsPlatform.restrict`).  Files are
created exclusively (``O_EXCL``) so that nothing is ever overwritten; which
name a file gets (and the ``-2``, ``-3``... of a taken one) is
:mod:`loopcap.naming`'s.  What differs between the OSes (the lock, the open
flags, the modes) is :func:`loopcap.platforms.current`'s.
"""

from __future__ import annotations

import os
from pathlib import Path

from loopcap.platforms import current
from loopcap.platforms.base import DIR_MODE, FILE_MODE

__all__ = [
    "ensure_private_dir",
    "create_exclusive",
    "create_locked",
    "link_exclusive",
    "try_lock",
]


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents, each new folder private to the
    user (0700 whatever the umask on POSIX); folders that exist are left as
    they are."""
    missing = []
    for part in (path, *path.parents):
        if part.is_dir():
            break
        missing.append(part)
    for part in reversed(missing):
        try:
            part.mkdir(mode=DIR_MODE)
        except FileExistsError:
            if not part.is_dir():
                raise
            continue  # made by someone else meanwhile: not ours to change
        current().restrict(part, is_dir=True)  # mkdir's mode is masked by the umask
    return path


def create_exclusive(path: Path) -> int:
    """Create ``path`` (mode 0600 on POSIX), failing if it exists; returns an fd
    opened with the platform's :attr:`~loopcap.platforms.base.Platform.open_flags`."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | current().open_flags
    return os.open(path, flags, FILE_MODE)


def create_locked(path: Path) -> int:
    """Create ``path`` exclusively (0600) and lock it (:func:`try_lock`);
    returns the fd, which holds the lock until it is closed.

    How a partial capture is made (the writer's, the session's and the
    rescue folders'), so recovery can tell a live one from a dead one.
    Raises FileExistsError if the name is taken, OSError if it cannot be
    created.
    """
    fd = create_exclusive(path)
    try:
        try_lock(fd)  # a new file: nobody else holds it
    except BaseException:
        # A file system without locks (NFS without lockd, an SMB share on
        # macOS): leave no empty file behind for recover to find.
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    return fd


def link_exclusive(src: Path, dst: Path) -> None:
    """Give ``src`` the name ``dst`` atomically, never replacing an existing ``dst``.

    ``os.link`` fails with FileExistsError if ``dst`` exists, unlike
    ``os.replace``; the source name is removed afterwards.  Falls back to
    ``os.rename`` after an existence check on file systems without hard links.
    """
    try:
        os.link(src, dst)
    except FileExistsError:
        raise
    except OSError:
        if dst.exists():
            raise FileExistsError(dst) from None
        os.rename(src, dst)
        return
    os.unlink(src)


def try_lock(fd: int) -> bool:
    """Take an exclusive lock on the open file ``fd`` without waiting; False
    when another open file holds it (``flock`` on POSIX, one byte far past the
    end with ``msvcrt.locking`` on Windows: see :mod:`loopcap.platforms`).

    The lock lives as long as the descriptor (closing it drops the lock), so
    it tells a live loopcap (a partial file being written or saved, the
    running app's lock file) from what a crash left behind.  Take it once per
    descriptor, right after opening, before anything reads or writes it.
    """
    return current().try_lock(fd)
