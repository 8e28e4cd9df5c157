"""File names and private, never-overwriting file creation.

Voice notes are private: folders are created 0700 and files 0600.  Files are
created exclusively (``O_EXCL``) so that nothing is ever overwritten; a name
that is taken gets a ``-2``, ``-3``, ... suffix.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import os
import string
from pathlib import Path

__all__ = [
    "render_stem",
    "ensure_private_dir",
    "create_exclusive",
    "link_exclusive",
    "try_lock",
]

FILE_MODE = 0o600
DIR_MODE = 0o700


#: Longest stem in bytes: room in a 255-byte file name for "-NN.raw.flac",
#: ".partial.wav" and the hidden temporary's "." + ".<pid>.tmp".
MAX_STEM_BYTES = 200


def render_stem(template: str, now: _dt.datetime | None = None) -> str:
    """Render the stem template; refuse anything that is not a plain file name.

    The only field is ``{now}`` (a ``datetime``), with an optional strftime
    spec: ``{now:%Y-%m-%d}``.  Raises ValueError with a reason (a clause for
    the config's error sentence) when the template is malformed or its result
    could name anything but a new file in the output folder: a path (``/``,
    ``..``), a hidden name, control characters, NUL, an empty or overlong
    name, or a name loopcap keeps for captures in progress (``*.partial``).
    """
    now = now or _dt.datetime.now()
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ValueError(
            f"it must be a file name where {{now}} is the only field ({exc})"
        ) from None
    if any(f != "now" for f in fields):
        bad = next(f for f in fields if f != "now")
        raise ValueError(
            f"it must be a file name where {{now}} is the only field, as in "
            f"'loopcap-{{now:%Y-%m-%d_%H-%M-%S}}', not {{{bad}}}"
        )
    try:
        stem = template.format(now=now)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
        raise ValueError(
            f"it must be a file name where {{now}} is the only field ({exc})"
        ) from None
    if "\x00" in stem:
        raise ValueError("it must not contain NUL characters")
    if not stem or "/" in stem or "\\" in stem or stem in (".", "..") or stem.startswith("."):
        raise ValueError("it must give a plain file name, not a path or a hidden name")
    if any(ord(c) < 32 or ord(c) == 127 for c in stem):
        raise ValueError("it must not contain control characters (line breaks, tabs)")
    if len(os.fsencode(stem)) > MAX_STEM_BYTES:
        raise ValueError(f"it must give a name of at most {MAX_STEM_BYTES} bytes")
    if stem.lower().endswith(".partial"):
        raise ValueError("it must not end in '.partial' (the name of captures in progress)")
    return stem


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
