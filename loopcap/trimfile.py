"""Trim audio files: stream a file through the trimmer, write the kept span.

Memory stays bounded whatever the length: the file is read in blocks, only
the levels (one float per 2.5 ms) are kept, and the kept span is copied in
blocks.  Inputs are never modified; outputs are written to a temporary file
in the target folder (0600, created exclusively) and then given their name
atomically, never over an existing file unless ``force``.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from loguru import logger

from loopcap.encode import TARGETS, Converter, Tags, Target, read_converted
from loopcap.errors import LoopcapError
from loopcap.loudness import LoudnessMeter
from loopcap.paths import create_exclusive, link_exclusive
from loopcap.trim import Bounds, LevelMeter, TrimParams

__all__ = [
    "InputError",
    "Analysis",
    "analyse_file",
    "write_span",
    "output_target",
    "normalize_gain_db",
    "BLOCK",
]

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
    notes: tuple[Bounds, ...] = ()  # with ``split``: every note, in time order


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


def analyse_file(path: Path, params: TrimParams | None = None, split: bool = False) -> Analysis:
    """Read ``path`` in blocks and find the note's bounds (``split``: every
    note's; ``bounds`` is then the span from the first note to the last)."""
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
        read = _reader(f, meter.frames, ch)
        notes: tuple[Bounds, ...] = ()
        if split:
            notes = tuple(meter.find_notes(read))
            bounds = dataclasses.replace(notes[0], end=notes[-1].end) if notes else None
        else:
            bounds = meter.find_bounds(read)
    return Analysis(path, bounds, meter.frames, sr, ch, fmt, subtype, truncated, notes)


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


def output_target(analysis: Analysis, name: str | None) -> Target:
    """The output's :class:`~loopcap.encode.Target`: the input's format unless ``name``."""
    if name is None:
        ext = (
            analysis.path.suffix.lstrip(".").lower()
            or TARGETS.get(analysis.format.lower(), TARGETS["wav"]).ext
        )
        return Target(analysis.format, analysis.subtype, ext)
    t = TARGETS[name]
    if t.subtype is None:
        subtype = analysis.subtype if t.format == analysis.format else sf.default_subtype(t.format)
        t = dataclasses.replace(t, subtype=subtype)
    return t


#: The loudest a normalised note may peak (dBFS): no gain pushes it past this.
NORMALIZE_PEAK_DBFS = -1.0


def normalize_gain_db(src: Path, start: int, end: int, target: Target, lufs: float) -> float:
    """The gain (dB) that brings frames [start, end) of ``src``, converted to
    ``target``, to ``lufs`` integrated loudness; held down so the peak stays
    under ``NORMALIZE_PEAK_DBFS``.  0 for silence or under 0.4 s."""
    with sf.SoundFile(src) as fin:
        conv = Converter(fin.samplerate, fin.channels, target)
        meter = LoudnessMeter(conv.out_rate, conv.channels)
        for block in read_converted(fin, start, end, conv):
            meter.feed(block)
    if not np.isfinite(meter.lufs) or meter.peak <= 0:
        return 0.0
    gain = lufs - meter.lufs
    headroom = NORMALIZE_PEAK_DBFS - 20 * np.log10(meter.peak)
    if gain > headroom:
        logger.info(
            f"normalising to {lufs} LUFS would clip: gain held to {headroom:+.1f} dB "
            f"(the note measures {meter.lufs:.1f} LUFS)"
        )
        gain = headroom
    return float(gain)


def write_span(
    src: Path,
    dst: Path,
    start: int,
    end: int,
    target: Target,
    force: bool = False,
    tags: Tags | None = None,
    gain_db: float = 0.0,
) -> None:
    """Copy frames [start, end) of ``src`` into a new file ``dst`` in ``target``'s
    format (converted, scaled by ``gain_db``, tagged).

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
            conv = Converter(fin.samplerate, fin.channels, target, gain_db)
            with sf.SoundFile(
                raw,
                "w",
                samplerate=conv.out_rate,
                channels=conv.channels,
                format=target.format,
                subtype=target.subtype,
            ) as fout:
                if tags is not None:
                    tags.apply(fout)
                for block in read_converted(fin, start, end, conv):
                    fout.write(block)
            raw.flush()
            os.fsync(raw.fileno())
        if force:
            os.replace(tmp, dst)
        else:
            link_exclusive(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
