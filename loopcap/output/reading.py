"""Reading and checking audio files: open, inspect, decode, and find the notes.

Memory stays bounded whatever the length: the file is read in blocks and
only the levels (one float per 2.5 ms) are kept.  Inputs are never modified.
Writing what was found is :mod:`loopcap.output.export`'s (one span) and
:mod:`loopcap.output.save`'s (the notes of a capture or a file).

Bad inputs give :class:`~loopcap.errors.InputError`, one line naming the
file and why; a file cut short (a WAV whose header promises more, an Ogg
stream cut in a page, a FLAC stream cut in a frame) is analysed as far as it
decodes and marked ``truncated``.

Single-threaded; no state between calls.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import sys
import tempfile
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from loopcap.errors import InputError
from loopcap.log import logger
from loopcap.output.containers import MAX_CHANNELS, MAX_RATE, MIN_RATE, Layout, PrefixFile, inspect
from loopcap.trim import Bounds, LevelMeter, Reader, TrimParams

__all__ = [
    "Analysis",
    "analyse_file",
    "notes_of",
    "notes_in_capture",
    "open_soundfile",
    "Decoded",
    "InOrderSoundFile",
    "quiet_decoder",
    "BLOCK",
]

#: Frames per read: a multiple of the 120-frame hop at 48 kHz.
BLOCK = 120 * 512


@dataclass(frozen=True)
class Analysis:
    path: Path
    #: The notes found, in time order: one at most unless ``split``; () when
    #: there is no sound.
    notes: tuple[Bounds, ...]
    frames: int
    samplerate: int
    channels: int
    format: str
    subtype: str
    truncated: bool  # the file is cut short: what decoded was analysed
    #: Read only this many bytes of the file (an Ogg stream cut in a page: its
    #: complete pages); None: all of it.  ``write_span`` takes it too.
    usable_bytes: int | None = None
    #: The meter the file's audio fed (finished): its chunk powers draw the
    #: picture of the cut (:mod:`loopcap.output.plot`) without decoding again.
    meter: LevelMeter | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def bounds(self) -> Bounds | None:
        """The span from the first note to the end of the last; None: no sound."""
        if not self.notes:
            return None
        return dataclasses.replace(self.notes[0], end=self.notes[-1].end)


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
def quiet_decoder(active: bool) -> Iterator[None]:
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


class InOrderSoundFile(sf.SoundFile):
    """A file decoded strictly in order, for MP3.

    python-soundfile seeks to ``tell() + frames`` after every read
    (``SoundFile._cdata_io``), and with libsndfile's MP3 decoder (1.2.2)
    every seek, even to where it already is, restarts libmpg123 without its
    bit reservoir: the next frames come out as zeros, then wrong (a 3 s sine
    read in 4096-frame blocks was up to 0.5 off what ffmpeg decodes; read in
    one call, within 2e-6).  So this file says it is not seekable, which
    stops those seeks, keeps its own position, and :meth:`seek` decodes
    forward to the frame asked for, from the start if it lies behind.
    Decoding runs at about 2,700x real time, so a look at a voice note's
    edge costs milliseconds.  Only ``SEEK_SET`` positions and reads are used.
    """

    def __init__(self, file, *args, **kwargs) -> None:
        super().__init__(file, *args, **kwargs)
        self._at = 0

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._at

    def read(self, frames=-1, dtype="float64", always_2d=False, fill_value=None, out=None):
        if frames < 0:
            frames = max(0, self.frames - self._at)
        data = super().read(frames, dtype, always_2d, fill_value, out)
        self._at += len(data)
        return data

    def seek(self, frames: int, whence: int = sf.SEEK_SET) -> int:
        if whence != sf.SEEK_SET:
            raise ValueError("an MP3 is read in order: seek to a frame from its start")
        if frames < self._at:
            super().seek(0, sf.SEEK_SET)  # the first frame needs no reservoir
            self._at = 0
        while self._at < frames:
            if not len(self.read(min(BLOCK, frames - self._at), dtype="float32")):
                break
        return self._at


def open_soundfile(path: Path, usable_bytes: int | None = None) -> sf.SoundFile:
    """Open ``path`` for reading, only its first ``usable_bytes`` if given
    (see :attr:`Analysis.usable_bytes`); an MP3 as an :class:`InOrderSoundFile`."""
    if usable_bytes is None:
        f = sf.SoundFile(path)
        if f.format != "MP3":
            return f
        f.close()
        return InOrderSoundFile(path)
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
        with quiet_decoder(layout.kind == "other"):
            return open_soundfile(path, layout.usable_bytes), layout
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError) as exc:
        if layout.truncated:  # an Ogg stream cut before its first audio page
            raise InputError(f"{path}: {CUT_BEFORE_AUDIO}") from None
        raise InputError(f"{path}: cannot read it: {_reason(exc)}") from None


class Decoded:
    """Frames ``[start, start + frames)`` of a file in blocks, as far as they
    decode; ``failed`` tells, once iterated, whether decoding stopped early.

    A failed read loses its whole block, so the file is then decoded again
    from the start (a seek may fail too in a damaged file) and read on in
    :data:`SALVAGE_BLOCK` steps: what decodes before the damage is kept to
    within that many frames.  ``open_file()`` gives a new SoundFile.
    """

    def __init__(
        self, open_file: Callable[[], sf.SoundFile], start: int = 0, frames: int | None = None
    ) -> None:
        self.open_file = open_file
        self.start = start
        self.frames = frames
        self.failed = False

    def _left(self, done: int, step: int) -> int:
        return step if self.frames is None else min(step, self.frames - done)

    def __iter__(self) -> Iterator[np.ndarray]:
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
    """Read ``path`` in blocks and find the note (``split``: every note; the
    analysis's ``bounds`` is then the span from the first note to the last).

    A file cut short is analysed as far as it decodes (``truncated``).
    Raises :class:`InputError` with one line naming the file and why.
    """
    params = params or TrimParams()
    path = Path(path)
    f, layout = _open(path)
    with f, quiet_decoder(layout.kind == "other"):
        sr, ch = f.samplerate, f.channels
        if not (1 <= ch <= MAX_CHANNELS) or not (MIN_RATE <= sr <= MAX_RATE):
            raise InputError(f"{path}: implausible audio header ({ch} channels at {sr} Hz)")
        meter = LevelMeter(sr, params, expected_frames=max(f.frames, 0))
        decoded = Decoded(lambda: open_soundfile(path, layout.usable_bytes))
        for block in decoded:
            meter.feed(block)
        truncated = layout.truncated or decoded.failed
        if f.frames > 0 and meter.frames < f.frames and (f.seekable() or f.format == "MP3"):
            truncated = True
        fmt, subtype = f.format, f.subtype
        if meter.frames == 0:
            if truncated:
                raise InputError(f"{path}: {CUT_BEFORE_AUDIO}")
            raise InputError(f"{path}: holds no audio (0 samples)")
        notes = notes_of(meter, _reader(f, meter.frames, ch), split)
    return Analysis(
        path, notes, meter.frames, sr, ch, fmt, subtype, truncated, layout.usable_bytes, meter
    )


def notes_of(meter: LevelMeter, read: Reader, split: bool = False) -> tuple[Bounds, ...]:
    """The notes in all that ``meter`` was fed (it is finished here): with
    ``split`` every note, else the one note; ``read`` gives the trimmer its
    closer looks at a span of the same audio."""
    meter.finish()
    notes: tuple[Bounds, ...] = ()
    if split:
        # Where nothing is a note (no voice: music, a tone; or all too
        # short), the sound the single-note trimmer finds is saved as one
        # note rather than nothing.
        notes = tuple(meter.find_notes(read))
    if not notes and (single := meter.find_bounds(read)) is not None:
        notes = (single,)
    return notes


def notes_in_capture(path: Path, meter: LevelMeter, split: bool = False) -> tuple[Bounds, ...]:
    """The notes of a capture whose levels ``meter`` measured while it was
    written (the writer fed it every frame): the file is not decoded again,
    only opened for the trimmer's closer looks at a few spans."""
    try:
        with sf.SoundFile(path) as f:
            return notes_of(meter, _reader(f, meter.frames, f.channels), split)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise InputError(f"{path}: cannot read it: {_reason(exc)}") from None


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
