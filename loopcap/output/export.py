"""Export: write a span of an audio file as the file the user keeps.

A span is streamed through :class:`~loopcap.output.encode.Converter` (finite
samples, down-mix, resampling, gain) in blocks, so memory stays bounded
whatever its length.  Loudness normalisation measures the converted span
first (ITU-R BS.1770, :mod:`loopcap.trim.loudness`), then it is written with
the gain that brings it to the target.  Outputs are written to a hidden
temporary in the target folder (0600, created exclusively) and then given
their name atomically, never over an existing file unless ``force``.
Non-finite samples are written as silence.

Single-threaded; no state between calls.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from loopcap.formats import FORMATS, Target
from loopcap.fs import create_exclusive, link_exclusive
from loopcap.log import logger
from loopcap.naming import temporary_name
from loopcap.output.containers import inspect
from loopcap.output.encode import Converter, Tags
from loopcap.output.reading import Analysis, Decoded, open_soundfile, quiet_decoder
from loopcap.trim.loudness import LoudnessMeter

__all__ = ["output_target", "normalize_gain_db", "write_span", "NORMALIZE_PEAK_DBFS"]


def output_target(analysis: Analysis, name: str | None) -> Target:
    """How ``loopcap trim`` writes its output: in the input's format, or in
    format ``name`` of :data:`~loopcap.formats.FORMATS` (its ``file_target``:
    a subtype left open is the input's when the container is the same)."""
    if name is None:
        ext = (
            analysis.path.suffix.lstrip(".").lower()
            or FORMATS.get(analysis.format.lower(), FORMATS["wav"]).ext
        )
        return Target(analysis.format, analysis.subtype, ext)
    t = FORMATS[name].file_target
    if t.subtype is None:
        subtype = analysis.subtype if t.format == analysis.format else sf.default_subtype(t.format)
        t = dataclasses.replace(t, subtype=subtype)
    return t


def _converted(
    src: Path, usable_bytes: int | None, start: int, end: int, conv: Converter, whole: bool = False
) -> Iterator[np.ndarray]:
    """Frames [start, end) of ``src`` (as far as they decode) through ``conv``;
    ``whole``: raise OSError instead where fewer decode."""
    decoded = Decoded(lambda: open_soundfile(src, usable_bytes), start, end - start)
    got = 0
    for block in decoded:
        got += len(block)
        out = conv.push(block)
        if len(out):
            yield out
    if whole and (decoded.failed or got < end - start):
        raise OSError(f"{src.name} could be read only to frame {start + got} of {end}")
    tail = conv.flush()
    if len(tail):
        yield tail


#: The loudest a normalised note may peak (dBFS): no gain pushes it past this.
NORMALIZE_PEAK_DBFS = -1.0


def normalize_gain_db(
    src: Path,
    start: int,
    end: int,
    target: Target,
    lufs: float,
    usable_bytes: int | None = None,
) -> float:
    """The gain (dB) that brings frames [start, end) of ``src``, converted to
    ``target``, to ``lufs`` integrated loudness; held down so the peak stays
    under ``NORMALIZE_PEAK_DBFS``.  0 for silence or under 0.4 s."""
    with open_soundfile(Path(src), usable_bytes) as fin:
        conv = Converter(fin.samplerate, fin.channels, target)
    meter = LoudnessMeter(conv.out_rate, conv.channels)
    for block in _converted(Path(src), usable_bytes, start, end, conv):
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
    usable_bytes: int | None = None,
    whole: bool = False,
) -> None:
    """Copy frames [start, end) of ``src`` into a new file ``dst`` in ``target``'s
    format (converted, scaled by ``gain_db``, tagged).  ``whole``: every frame
    must decode, else OSError and no ``dst`` (a capture must never be replaced
    by a shorter copy); otherwise what decodes is copied.

    Atomic: written to a hidden temporary beside ``dst``, fsync'ed, renamed.
    Raises FileExistsError if ``dst`` exists and not ``force``.  NaN and
    infinite samples are written as 0 (silence, as the trimmer counts them;
    :class:`~loopcap.output.encode.Converter` does it).
    ``usable_bytes``: read only that much of ``src`` (see
    :class:`~loopcap.output.reading.Analysis`);
    where ``src`` stops decoding, the copy stops.
    """
    dst = Path(dst)
    if dst.exists() and not force:
        raise FileExistsError(dst)
    tmp = dst.with_name(temporary_name(dst.name))
    src = Path(src)
    other = inspect(src).kind == "other" if usable_bytes is None else False
    with quiet_decoder(other), open_soundfile(src, usable_bytes) as fin:
        conv = Converter(fin.samplerate, fin.channels, target, gain_db)
        fd = create_exclusive(tmp)
        try:
            with os.fdopen(fd, "wb") as raw:
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
                    for block in _converted(src, usable_bytes, start, end, conv, whole):
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
