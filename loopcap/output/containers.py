"""What a file's container says about itself, checked before libsndfile sees it.

libsndfile opens files whose header is absurd with messages a user cannot act
on ("SF_INFO struct incomplete" for a WAV whose sample rate is 0), quietly
reads a WAV whose data chunk promises more than the file holds, and reads an
Ogg stream cut in the middle of a page without a word (or refuses it when the
cut page is the first one with audio).  :func:`inspect` reads only headers
(a few hundred bytes for a WAV, the page headers of an Ogg stream) and says:

- ``problem``: why the file cannot be audio, in words for its user (a WAV
  header with 0 channels, a sample rate of 0 Hz, 0 bits per sample...);
- ``truncated``: the container says there is more than the file holds;
- ``usable_bytes``: read only this many bytes (an Ogg stream whose last page
  is cut: its complete pages), None for the whole file.

Pure file reading, no threads; never raises for a malformed file (only for
an OSError opening or reading it).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

from loopcap.writer.riff import HEAD_BYTES, RF64_SIZE, chunks, read_fmt, wave_kind

__all__ = ["Layout", "inspect", "PrefixFile", "MAX_CHANNELS", "MIN_RATE", "MAX_RATE"]

#: Plausible audio: 1-64 channels at 1 kHz-768 kHz.
MAX_CHANNELS = 64
MIN_RATE = 1000
MAX_RATE = 768000

#: Most chunks looked at before the data chunk of a WAV (a real file has a few).
_MAX_CHUNKS = 64
#: WAVE format tags with plain integer or float samples (PCM, IEEE float, extensible).
_PCM_TAGS = (0x0001, 0x0003, 0xFFFE)


@dataclass(frozen=True)
class Layout:
    kind: str  # "wav", "ogg" or "other" (left to libsndfile)
    problem: str | None = None
    truncated: bool = False
    usable_bytes: int | None = None


def inspect(path: Path) -> Layout:
    """Look at the container of ``path`` (see the module's docstring)."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(HEAD_BYTES)
        kind = wave_kind(head)
        if kind is not None:
            return _wav(f, size, rf64=kind == b"RF64")
        if head[:4] == b"OggS":
            return _ogg(f, size)
    return Layout("other")


def _wav(f: io.BufferedReader, size: int, rf64: bool = False) -> Layout:
    has_fmt = False
    for chunk in chunks(f, size, limit=_MAX_CHUNKS):
        if chunk.id == b"fmt ":
            fmt = read_fmt(f, chunk)
            if fmt is not None:
                has_fmt = True
                problem = _fmt_problem(fmt.tag, fmt.channels, fmt.rate, fmt.bits)
                if problem:
                    return Layout("wav", problem=problem)
        elif chunk.id == b"data":
            if rf64 and chunk.size == RF64_SIZE:
                # RF64 (a capture past 4 GiB): the size is in the ds64 chunk,
                # which loopcap's recover keeps true; libsndfile checks it.
                return Layout("wav")
            available = size - chunk.offset
            # Only the data chunk's size is trusted to say the file was cut:
            # RIFF sizes are often left 0 or wrong by streaming writers.
            return Layout("wav", truncated=has_fmt and chunk.size > available)
    return Layout("wav")  # no data chunk: libsndfile says so


def _fmt_problem(tag: int, channels: int, rate: int, bits: int) -> str | None:
    if not 1 <= channels <= MAX_CHANNELS:
        return f"its header is damaged: it says {channels} channels (audio has 1 to {MAX_CHANNELS})"
    if not MIN_RATE <= rate <= MAX_RATE:
        return (
            f"its header is damaged: it says a sample rate of {rate} Hz "
            f"(audio has {MIN_RATE} to {MAX_RATE} Hz)"
        )
    if tag in _PCM_TAGS and not 8 <= bits <= 64:
        return f"its header is damaged: it says {bits} bits per sample (audio has 8 to 64)"
    return None


def _ogg(f: io.BufferedReader, size: int) -> Layout:
    """Walk the page headers: where the last complete page ends, whether it
    ends the stream (the end-of-stream flag)."""
    pos = 0
    end = 0
    eos = False
    while pos + 27 <= size:
        f.seek(pos)
        header = f.read(27)
        if header[:4] != b"OggS":
            break  # junk after the last page
        table = f.read(header[26])
        if len(table) < header[26]:
            break
        page_end = pos + 27 + len(table) + sum(table)
        if page_end > size:
            break  # a page cut short
        end = page_end
        eos = bool(header[5] & 0x04)
        pos = page_end
    cut = end < size and _looks_like_page(f, end)
    return Layout(
        "ogg",
        truncated=end > 0 and (cut or not eos),
        usable_bytes=end if 0 < end < size else None,
    )


def _looks_like_page(f: io.BufferedReader, pos: int) -> bool:
    f.seek(pos)
    start = f.read(4)
    return b"OggS".startswith(start) if start else False


class PrefixFile(io.RawIOBase):
    """The first ``size`` bytes of a file, as a read-only seekable file object
    (soundfile reads it like a file of that length)."""

    def __init__(self, path: Path, size: int) -> None:
        super().__init__()
        self._f = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer) -> int:
        n = max(0, min(len(buffer), self._size - self._pos))
        if n == 0:
            return 0
        self._f.seek(self._pos)
        got = self._f.readinto(memoryview(buffer)[:n]) or 0
        self._pos += got
        return got

    def close(self) -> None:
        if not self.closed:
            self._f.close()
        super().close()
