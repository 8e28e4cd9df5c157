"""The rescue folder: where a capture goes when its output folder fails.

A capture must never be dropped because the captures folder cannot take it:
a full disk, a folder deleted or unmounted mid-capture, a folder the user
cannot write.  The writer then carries on in a rescue folder, with
everything recorded so far copied over (see :mod:`loopcap.writer.partial`), and the
user is told where the capture is.

Rescue folders, best first (:func:`rescue_dirs`):

1. ``<user data folder>/rescue`` (on Linux ``~/.local/share/loopcap/rescue``,
   on Windows ``%LOCALAPPDATA%\\loopcap\\rescue``): on the home disk, kept
   across reboots;
2. ``<temporary folder>/loopcap-rescue-<user>`` (``$TMPDIR`` or ``/tmp``, the
   user being the uid; on Windows the per-user ``%TEMP%`` and the account
   name): often another disk (tmpfs), for when the home disk is the full one.

Both are private like the captures folder (0700, files 0600, on POSIX; on
Windows by the profile's access list, see :mod:`loopcap.platforms`).  Every loopcap
command repairs interrupted captures in them at start, as it does for the
captures folder.  Nothing here runs on a real-time thread.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from loopcap.errors import OutputError
from loopcap.fs import create_locked, ensure_private_dir
from loopcap.naming import PARTIAL_SUFFIX, claim, partial_name
from loopcap.platforms import current, data_dir, temp_dir
from loopcap.writer.riff import data_offset

__all__ = [
    "Rescue",
    "rescue_dirs",
    "reserve_rescue_partial",
    "copy_written",
    "describe",
    "rescued_error",
]


@dataclass(frozen=True)
class Rescue:
    """One move of a capture: from ``failed`` (a folder) to ``to``, and why."""

    failed: Path
    to: Path
    reason: str


def rescue_dirs() -> list[Path]:
    """The rescue folders, best first (not created here)."""
    return [
        data_dir() / "rescue",
        temp_dir() / f"loopcap-rescue-{current().user_id()}",
    ]


def _private_folder(path: Path) -> Path:
    """Create ``path`` (0700) or check that an existing one is ours alone.

    A folder in the shared temporary folder could have been made by someone
    else, or be a symbolic link to elsewhere: such a folder is refused.
    """
    ensure_private_dir(path)
    st = os.lstat(path)
    platform = current()
    if not stat.S_ISDIR(st.st_mode) or not platform.owns(st):
        raise PermissionError(f"{path} is not a private folder of this user")
    if stat.S_IMODE(st.st_mode) & 0o077:
        platform.restrict(path, is_dir=True)  # nothing on Windows: see its restrict
    return path


def reserve_rescue_partial(stem: str, avoid: list[Path]) -> tuple[Path, int]:
    """Create and lock ``<stem>.partial.wav`` (or ``<stem>-2...``) in the first
    rescue folder that takes it, skipping folders in ``avoid`` (those that
    failed already).  Returns the path and its fd (from
    :func:`loopcap.fs.create_locked`).

    Raises OutputError when no rescue folder can be written either.
    """
    avoided = {_real(p) for p in avoid}
    problems = []
    for folder in rescue_dirs():
        if _real(folder) in avoided:
            continue

        def taken(name: str, folder: Path = folder) -> bool:
            suffixes = (PARTIAL_SUFFIX, ".wav", ".raw.wav")
            return any((folder / f"{name}{s}").exists() for s in suffixes)

        def make(name: str, folder: Path = folder) -> tuple[Path, int]:
            path = folder / partial_name(name)
            return path, create_locked(path)

        try:
            _private_folder(folder)
            return claim(stem, make, taken)
        except OSError as exc:
            problems.append(f"{folder} ({exc.strerror or exc})")
    raise OutputError(
        "no folder can take the capture: " + "; ".join(problems or ["no rescue folder left"])
    )


def _real(path: Path) -> Path:
    try:
        return Path(path).resolve()
    except OSError:
        return Path(path)


#: Free space below which a failed write is put down to a full disk, bytes.
_FULL_BYTES = 1 << 20


def describe(cause: BaseException | str, folder: Path | None = None) -> str:
    """A short reason for a write failure, e.g. ``No space left on device``.

    libsndfile reports every failed write as "System error"; the folder's
    free space (``shutil.disk_usage`` on every OS) then tells a full disk
    from other failures.
    """
    if isinstance(cause, str):
        return cause
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    if folder is not None:
        try:
            if current().free_bytes(folder) < _FULL_BYTES:
                return "No space left on device"
        except OSError as exc:
            return exc.strerror or str(exc)
    text = str(cause).strip().rstrip(".")
    return text or type(cause).__name__


def rescued_error(rescues: list[Rescue], saved_in: Path, lost_s: float = 0.0) -> OutputError:
    """The one-sentence error that tells the user where a rescued capture is."""
    first = rescues[0]
    kept = "saved whole" if lost_s <= 0 else f"saved, all but {lost_s:.2f} s,"
    return OutputError(
        f"the output folder {first.failed} could not take the capture ({first.reason}); "
        f"it is {kept} in {saved_in} instead: free space or fix the folder, "
        "then move the capture where you want it"
    )


#: Bytes read at a time when a capture is copied to a rescue folder.
_COPY_BYTES = 1 << 22


def copy_written(fd: int, path: Path, frames: int, channels: int, out: sf.SoundFile) -> int:
    """Copy the first ``frames`` frames of the float WAV open as ``fd`` into
    ``out``; returns how many were there to copy.

    Read through ``/proc/self/fd`` where it exists (Linux): that reaches the
    file even after it was deleted; elsewhere through its path (Windows
    cannot delete a file loopcap holds open, and the writer's lock lies past
    the end of the file, where this read never goes).  (The header's frame count is not used: it is
    rewritten only at each sync.)
    """
    proc = Path(f"/proc/self/fd/{fd}")
    try:
        src = open(proc if proc.exists() else path, "rb")  # noqa: SIM115 - closed below
    except OSError:
        return 0
    frame_bytes = 4 * channels
    copied = 0
    with src:
        try:
            src.seek(data_offset(src))
        except OSError:
            return 0
        while copied < frames:
            want = min(frames - copied, _COPY_BYTES // frame_bytes)
            data = src.read(want * frame_bytes)
            n = len(data) // frame_bytes
            if n == 0:
                break
            out.write(np.frombuffer(data[: n * frame_bytes], np.float32).reshape(n, channels))
            copied += n
    return copied
