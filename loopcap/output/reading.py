"""Trim audio files: stream a file through the trimmer, write the kept span.

Memory stays bounded whatever the length: the file is read in blocks, only
the levels (one float per 2.5 ms) are kept, and the kept span is copied in
blocks.  Inputs are never modified; outputs are written to a temporary file
in the target folder (0600, created exclusively) and then given their name
atomically, never over an existing file unless ``force``.

Bad inputs give :class:`InputError`, one line naming the file and why; a
file cut short (a WAV whose header promises more, an Ogg stream cut in a
page, a FLAC stream cut in a frame) is trimmed as far as it decodes and
marked ``truncated``.  Non-finite samples are written as silence.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import sys
import tempfile
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from loguru import logger

from loopcap.errors import LoopcapError
from loopcap.fs import create_exclusive, link_exclusive
from loopcap.output.containers import MAX_CHANNELS, MAX_RATE, MIN_RATE, Layout, PrefixFile, inspect
from loopcap.output.encode import TARGETS, Converter, Tags, Target
from loopcap.trim import Bounds, LevelMeter, TrimParams
from loopcap.trim.loudness import LoudnessMeter

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
    truncated: bool  # the file is cut short: what decoded was analysed
    #: Read only this many bytes of the file (an Ogg stream cut in a page: its
    #: complete pages); None: all of it.  :func:`write_span` takes it too.
    usable_bytes: int | None = None
    notes: tuple[Bounds, ...] = ()  # with ``split``: every note, in time order


#: Frames per read when the decoder failed on a whole block: what decodes
#: before the damage is kept to within this many frames.
SALVAGE_BLOCK = 64

CUT_BEFORE_AUDIO = "it is cut short before its first complete audio"

#: What libsndfile raises when a file stops decoding.
_DECODE_ERRORS = (sf.LibsndfileError, RuntimeError, ValueError)

#: libsndfile's words for a file it does not recognise at all.
_NOT_AUDIO = ("Format not recognised", "unknown format", "is not a regular file")


def _reason(exc: Exception) -> str:
    """One clause for a libsndfile error, for the file's user."""
    text = str(exc)
    if any(words in text for words in _NOT_AUDIO):
        return "it is not an audio file loopcap can read (WAV, FLAC, Ogg Vorbis or Opus, MP3)"
    detail = text.split(": ", 1)[-1] if "Error opening" in text else text
    detail = detail.replace("Error : ", "").strip().rstrip(".") or "unknown error"
    return f"it is damaged, cut short or in an encoding loopcap cannot read ({detail})"


@contextmanager
def _quiet_decoder(active: bool):
    """Send what native decoders print on the process's stderr (libmpg123's
    "Note: Illegal Audio-MPEG-Header" lines, written straight to fd 2) to
    the debug log instead of the user's terminal.

    Only for files that are not WAV or Ogg (``active``): libmpg123 is tried
    on those.  Redirects fd 2 of the whole process while it runs, so it is
    used around decoding only, never around logging.
    """
    if not active:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield  # no stderr to protect
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            said = sink.read(4096).decode("utf-8", "replace").strip()
            if said:
                logger.debug(f"the decoder said: {said}")


def _check_path(path: Path) -> None:
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(
            f"{path}: permission denied: you may not open the folder it is in"
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot reach it ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: is a folder, not an audio file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path}: is not a regular file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied: you may not read it")
    if st.st_size == 0:
        raise InputError(f"{path}: the file is empty")


def _soundfile(path: Path, usable_bytes: int | None) -> sf.SoundFile:
    if usable_bytes is None:
        return sf.SoundFile(path)
    prefix = PrefixFile(path, usable_bytes)
    try:
        f = sf.SoundFile(prefix)
    except BaseException:
        prefix.close()
        raise
    # soundfile does not close a file object it was given: close it with ``f``.
    weakref.finalize(f, prefix.close)
    return f


def _open(path: Path) -> tuple[sf.SoundFile, Layout]:
    _check_path(path)
    try:
        layout = inspect(path)  # opens it: as root, os.access does not tell
    except PermissionError:
        raise InputError(f"{path}: permission denied: you may not read it") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if layout.problem:
        raise InputError(f"{path}: {layout.problem}")
    try:
        with _quiet_decoder(layout.kind == "other"):
            return _soundfile(path, layout.usable_bytes), layout
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError) as exc:
        if layout.truncated:  # an Ogg stream cut before its first audio page
            raise InputError(f"{path}: {CUT_BEFORE_AUDIO}") from None
        raise InputError(f"{path}: cannot read it: {_reason(exc)}") from None


class _Decoded:
    """Frames ``[start, start + frames)`` of a file in blocks, as far as they
    decode; ``failed`` tells, once iterated, whether decoding stopped early.

    A failed read loses its whole block, so the file is then decoded again
    from the start (a seek may fail too in a damaged file) and read on in
    :data:`SALVAGE_BLOCK` steps: what decodes before the damage is kept to
    within that many frames.  ``open_file()`` gives a new SoundFile.
    """

    def __init__(self, open_file, start: int = 0, frames: int | None = None) -> None:
        self.open_file = open_file
        self.start = start
        self.frames = frames
        self.failed = False

    def _left(self, done: int, step: int) -> int:
        return step if self.frames is None else min(step, self.frames - done)

    def __iter__(self):
        done = 0
        with self.open_file() as f:
            try:
                if self.start:
                    f.seek(self.start)
                while self._left(done, BLOCK) > 0:
                    block = f.read(self._left(done, BLOCK), dtype="float32", always_2d=True)
                    if len(block) == 0:
                        return
                    done += len(block)
                    yield block
                return
            except _DECODE_ERRORS:
                self.failed = True
        with self.open_file() as f:
            try:
                skip = self.start + done
                while skip > 0:
                    got = len(f.read(min(BLOCK, skip), dtype="float32", always_2d=True))
                    if got == 0:
                        return
                    skip -= got
                while self._left(done, SALVAGE_BLOCK) > 0:
                    block = f.read(self._left(done, SALVAGE_BLOCK), dtype="float32", always_2d=True)
                    if len(block) == 0:
                        return
                    done += len(block)
                    yield block
            except _DECODE_ERRORS:
                return


def analyse_file(path: Path, params: TrimParams | None = None, split: bool = False) -> Analysis:
    """Read ``path`` in blocks and find the note's bounds (``split``: every
    note's; ``bounds`` is then the span from the first note to the last).

    A file cut short is analysed as far as it decodes (``truncated``).
    Raises :class:`InputError` with one line naming the file and why.
    """
    params = params or TrimParams()
    path = Path(path)
    f, layout = _open(path)
    with f, _quiet_decoder(layout.kind == "other"):
        sr, ch = f.samplerate, f.channels
        if not (1 <= ch <= MAX_CHANNELS) or not (MIN_RATE <= sr <= MAX_RATE):
            raise InputError(f"{path}: implausible audio header ({ch} channels at {sr} Hz)")
        meter = LevelMeter(sr, params, expected_frames=max(f.frames, 0))
        decoded = _Decoded(lambda: _soundfile(path, layout.usable_bytes))
        for block in decoded:
            meter.feed(block)
        truncated = layout.truncated or decoded.failed
        if f.frames > 0 and meter.frames < f.frames and f.seekable():
            truncated = True
        fmt, subtype = f.format, f.subtype
        if meter.frames == 0:
            if truncated:
                raise InputError(f"{path}: {CUT_BEFORE_AUDIO}")
            raise InputError(f"{path}: holds no audio (0 samples)")
        meter.finish()
        read = _reader(f, meter.frames, ch)
        notes: tuple[Bounds, ...] = ()
        if split:
            # Where nothing is a note (no voice: music, a tone; or all too
            # short), the sound the single-note trimmer finds is saved as one
            # note rather than nothing.
            notes = tuple(meter.find_notes(read))
            if not notes and (single := meter.find_bounds(read)) is not None:
                notes = (single,)
            bounds = dataclasses.replace(notes[0], end=notes[-1].end) if notes else None
        else:
            bounds = meter.find_bounds(read)
    return Analysis(
        path, bounds, meter.frames, sr, ch, fmt, subtype, truncated, layout.usable_bytes, notes
    )


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
    """The output's :class:`~loopcap.output.encode.Target`: the input's format unless ``name``."""
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


def _converted(
    src: Path, usable_bytes: int | None, start: int, end: int, conv: Converter, whole: bool = False
):
    """Frames [start, end) of ``src`` (as far as they decode) through ``conv``;
    ``whole``: raise OSError instead where fewer decode."""
    decoded = _Decoded(lambda: _soundfile(src, usable_bytes), start, end - start)
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
    with _soundfile(Path(src), usable_bytes) as fin:
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
    ``usable_bytes``: read only that much of ``src`` (see :class:`Analysis`);
    where ``src`` stops decoding, the copy stops.
    """
    dst = Path(dst)
    if dst.exists() and not force:
        raise FileExistsError(dst)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    src = Path(src)
    other = inspect(src).kind == "other" if usable_bytes is None else False
    with _quiet_decoder(other), _soundfile(src, usable_bytes) as fin:
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
