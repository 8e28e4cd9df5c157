"""Trim audio files: stream a file through the trimmer, write the kept span.

Memory stays bounded whatever the length: the file is read in blocks, only
the levels (one float per 2.5 ms) are kept, and the kept span is copied in
blocks.  Inputs are never modified; outputs are written to a temporary file
in the target folder (0600, created exclusively) and then given their name
atomically, never over an existing file unless ``force``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from loopcap.errors import LoopcapError
from loopcap.paths import create_exclusive, link_exclusive
from loopcap.trim import Bounds, LevelMeter, TrimParams

__all__ = ["InputError", "Analysis", "analyse_file", "write_span", "output_format", "BLOCK"]

#: Frames per read: a multiple of the 120-frame hop at 48 kHz.
BLOCK = 120 * 512


class InputError(LoopcapError):
    """An input file cannot be used (missing, unreadable, empty, not audio)."""


@dataclass(frozen=True)
class Analysis:
    path: Path
    bounds: Bounds | None  # None: no sound found
    frames: int
    samplerate: int
    channels: int
    format: str
    subtype: str
    truncated: bool  # decoding stopped early; what decoded was analysed


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "Format not recognised" in text or "unknown format" in text.lower():
        return "it is not an audio file soundfile can read"
    return text.split(": ", 1)[-1] if ": " in text else text


def _open(path: Path) -> sf.SoundFile:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not an audio file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")
    try:
        return sf.SoundFile(path)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError) as exc:
        raise InputError(f"{path}: cannot read it ({_reason(exc)})") from None


def analyse_file(path: Path, params: TrimParams | None = None) -> Analysis:
    """Read ``path`` in blocks and find the note's bounds."""
    params = params or TrimParams()
    path = Path(path)
    f = _open(path)
    with f:
        sr, ch = f.samplerate, f.channels
        if not (1 <= ch <= 64) or not (1000 <= sr <= 768000):
            raise InputError(f"{path}: implausible audio header ({ch} channels at {sr} Hz)")
        meter = LevelMeter(sr, params)
        truncated = False
        try:
            while True:
                block = f.read(BLOCK, dtype="float32", always_2d=True)
                if len(block) == 0:
                    break
                meter.feed(block)
        except (sf.LibsndfileError, RuntimeError) as exc:
            if meter.frames == 0:
                raise InputError(f"{path}: cannot decode it ({_reason(exc)})") from None
            truncated = True
        if f.frames > 0 and meter.frames < f.frames and f.seekable():
            truncated = True
        fmt, subtype = f.format, f.subtype
        if meter.frames == 0:
            raise InputError(f"{path}: holds no audio (0 samples)")
        bounds = meter.find_bounds(_reader(f, meter.frames, ch))
    return Analysis(path, bounds, meter.frames, sr, ch, fmt, subtype, truncated)


def _reader(f: sf.SoundFile, frames: int, channels: int):
    """Random access to ``f`` for the trimmer's closer looks; silence where
    the file cannot be read (a truncated or unseekable stream)."""

    def read(start: int, end: int) -> np.ndarray:
        end = min(end, frames)
        try:
            f.seek(start)
            return f.read(max(0, end - start), dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, ValueError):
            return np.zeros((max(0, end - start), channels), np.float32)

    return read


#: Output format name (as in --format / the config) -> soundfile (format, subtype).
_BY_NAME = {
    "wav": ("WAV", None),
    "flac": ("FLAC", None),
    "ogg": ("OGG", "VORBIS"),
    "opus": ("OGG", "OPUS"),
    "mp3": ("MP3", None),
}
_EXT = {"WAV": "wav", "FLAC": "flac", "OGG": "ogg", "MP3": "mp3"}


def output_format(analysis: Analysis, name: str | None) -> tuple[str, str, str]:
    """(format, subtype, extension) for the output: the input's unless ``name``."""
    if name is None:
        ext = analysis.path.suffix.lstrip(".").lower() or _EXT.get(analysis.format, "wav")
        return analysis.format, analysis.subtype, ext
    fmt, subtype = _BY_NAME[name]
    if subtype is None:
        subtype = analysis.subtype if fmt == analysis.format else sf.default_subtype(fmt)
    return fmt, subtype, "ogg" if name == "opus" else name


def write_span(
    src: Path, dst: Path, start: int, end: int, fmt: str, subtype: str, force: bool = False
) -> None:
    """Copy frames [start, end) of ``src`` into a new file ``dst``.

    Atomic: written to a hidden temporary beside ``dst``, fsync'ed, renamed.
    Raises FileExistsError if ``dst`` exists and not ``force``.
    """
    dst = Path(dst)
    if dst.exists() and not force:
        raise FileExistsError(dst)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    fd = create_exclusive(tmp)
    try:
        with sf.SoundFile(src) as fin, os.fdopen(fd, "wb") as raw:
            with sf.SoundFile(
                raw,
                "w",
                samplerate=fin.samplerate,
                channels=fin.channels,
                format=fmt,
                subtype=subtype,
            ) as fout:
                fin.seek(start)
                left = end - start
                while left > 0:
                    block = fin.read(min(BLOCK, left), dtype="float32", always_2d=True)
                    if len(block) == 0:
                        break
                    np.nan_to_num(block, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
                    fout.write(block)
                    left -= len(block)
            raw.flush()
            os.fsync(raw.fileno())
        if force:
            os.replace(tmp, dst)
        else:
            link_exclusive(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
