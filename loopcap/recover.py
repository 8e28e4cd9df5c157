"""Repair ``*.partial.wav`` files left by a crash into playable captures.

A process killed before closing its WAV leaves a header that may say fewer
frames than are on disk (or none); libsndfile still reads the samples, and
opening the file in ``r+`` mode and closing it rewrites a correct header.
A partial file locked (``flock``) by a live loopcap is in use and skipped.
A file that cannot be repaired is left where it is, never deleted.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf
from loguru import logger

from loopcap.paths import link_exclusive
from loopcap.writer import PARTIAL_SUFFIX

__all__ = ["Recovered", "find_partials", "recover_dir", "unique_path"]


@dataclass(frozen=True)
class Recovered:
    path: Path
    duration_s: float


def unique_path(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/stem+suffix``, or with ``-2``, ``-3``... added to the stem if taken."""
    candidate = folder / f"{stem}{suffix}"
    n = 2
    while candidate.exists() or candidate.is_symlink():
        candidate = folder / f"{stem}-{n}{suffix}"
        n += 1
    return candidate


def find_partials(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith(PARTIAL_SUFFIX) and p.is_file())


def _in_use(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also drops our lock
    return False


def recover_one(path: Path) -> Recovered | None:
    """Repair one partial file and give it its final ``<stem>.wav`` name."""
    if _in_use(path):
        return None
    if path.stat().st_size == 0:
        # Killed before the first header was written: there is no audio in it.
        logger.info(f"removed an empty interrupted capture {path}")
        path.unlink()
        return None
    try:
        with sf.SoundFile(path, "r+") as f:  # closing rewrites the header
            frames, rate = f.frames, f.samplerate
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        logger.warning(f"cannot repair {path} ({exc}); it is left as it is")
        return None
    stem = path.name[: -len(PARTIAL_SUFFIX)]
    target = unique_path(path.parent, stem, ".wav")
    while True:
        try:
            link_exclusive(path, target)
            break
        except FileExistsError:
            target = unique_path(path.parent, stem, ".wav")
    return Recovered(target, frames / rate if rate else 0.0)


def recover_dir(folder: Path) -> list[Recovered]:
    """Repair every leftover partial file in ``folder``; say so for each."""
    done = []
    for path in find_partials(folder):
        rec = recover_one(path)
        if rec is not None:
            logger.info(f"recovered an interrupted capture: {rec.path} ({rec.duration_s:.1f} s)")
            done.append(rec)
    return done
