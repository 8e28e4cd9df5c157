"""Private, never-overwriting file creation, and the one flock helper.

Voice notes are private: folders are created 0700 and files 0600.  Files are
created exclusively (``O_EXCL``) so that nothing is ever overwritten; which
name a file gets (and the ``-2``, ``-3``... of a taken one) is
:mod:`loopcap.naming`'s.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

__all__ = [
    "ensure_private_dir",
    "create_exclusive",
    "create_locked",
    "link_exclusive",
    "try_lock",
]

FILE_MODE = 0o600
DIR_MODE = 0o700


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents, each new folder with mode 0700
    whatever the umask; folders that exist are left as they are."""
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
        os.chmod(part, DIR_MODE)  # mkdir's mode is masked by the umask
    return path


def create_exclusive(path: Path) -> int:
    """Create ``path`` with mode 0600, failing if it exists; returns an fd."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)


def create_locked(path: Path) -> int:
    """Create ``path`` exclusively (0600) and lock it (:func:`try_lock`);
    returns the fd, which holds the lock until it is closed.

    How a partial capture is made (the writer's, the session's and the
    rescue folders'), so recovery can tell a live one from a dead one.
    Raises FileExistsError if the name is taken, OSError if it cannot be
    created.
    """
    fd = create_exclusive(path)
    try_lock(fd)  # a new file: nobody else holds it
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
    """Take an exclusive advisory lock on the open file ``fd`` without
    waiting; False when another open file description holds it.

    The lock lives as long as the descriptor (closing it drops the lock), so
    it tells a live loopcap (a partial file being written or saved, the
    running app's lock file) from what a crash left behind.
    """
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
