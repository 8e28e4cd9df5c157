"""The one walker over the chunks of a RIFF/RF64 WAVE file.

A WAV file is a 12-byte head (``RIFF`` or ``RF64``, a size, ``WAVE``) and
then chunks: a 4-byte id, a 32-bit little-endian size, the body, and a pad
byte when the size is odd.  A partial capture turns RF64 past 4 GiB (see
:mod:`loopcap.writer.partial`): its sizes then live in the ``ds64`` chunk and
the ``data`` chunk's own size is 0xFFFFFFFF.

Three readers need the chunks: where the samples start (the writer's copy to
a rescue folder), the ``ds64`` and ``fmt`` chunks (recover's repair of an
RF64 capture), and a header's sanity before libsndfile sees it
(:mod:`loopcap.output.containers`).  They all walk with :func:`chunks`.

Reads a file object the caller opened; no threads, no state.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

__all__ = [
    "Chunk",
    "Fmt",
    "HEAD_BYTES",
    "RF64_SIZE",
    "wave_kind",
    "chunks",
    "read_fmt",
    "data_offset",
]

#: Bytes of the head before the first chunk.
HEAD_BYTES = 12
#: An RF64 file's 32-bit size that means "see the ds64 chunk".
RF64_SIZE = 0xFFFFFFFF


@dataclass(frozen=True)
class Chunk:
    id: bytes  # e.g. b"fmt ", b"data", b"ds64"
    offset: int  # where the body starts in the file
    size: int  # what the header says (RF64's data chunk: RF64_SIZE)


@dataclass(frozen=True)
class Fmt:
    """The first 16 bytes of a ``fmt `` chunk."""

    tag: int  # 1 PCM, 3 IEEE float, 0xFFFE extensible...
    channels: int
    rate: int  # Hz
    byte_rate: int
    block_align: int  # bytes per frame
    bits: int  # per sample


def wave_kind(head: bytes) -> bytes | None:
    """``b"RIFF"`` or ``b"RF64"`` when ``head`` (the first 12 bytes) opens a
    WAVE file, else None."""
    if len(head) >= HEAD_BYTES and head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return head[:4]
    return None


def chunks(f: BinaryIO, size: int | None = None, limit: int | None = None) -> Iterator[Chunk]:
    """The chunks of the WAVE file ``f``, from the first, in file order.

    Stops at the end of the file (a header cut short), at ``size`` bytes
    when given, or after ``limit`` chunks.  Seeks to each header itself, so
    the caller may read a chunk's body between two steps.
    """
    pos = HEAD_BYTES
    seen = 0
    while limit is None or seen < limit:
        f.seek(pos)
        header = f.read(8)
        if len(header) < 8:
            return
        csize = int.from_bytes(header[4:], "little")
        yield Chunk(header[:4], pos + 8, csize)
        seen += 1
        pos += 8 + csize + (csize & 1)
        if size is not None and pos >= size:
            return


def read_fmt(f: BinaryIO, chunk: Chunk) -> Fmt | None:
    """The format of a ``fmt `` chunk; None when it is shorter than 16 bytes."""
    if chunk.size < 16:
        return None
    f.seek(chunk.offset)
    body = f.read(16)
    if len(body) < 16:
        return None
    return Fmt(*struct.unpack("<HHIIHH", body))


def data_offset(f: BinaryIO) -> int:
    """Where the samples start in a WAV or RF64 file libsndfile wrote (in
    RF64 the data chunk's size is in ``ds64``, and not needed)."""
    if wave_kind(f.read(HEAD_BYTES)) is None:
        raise OSError("not a WAV file")
    for chunk in chunks(f):
        if chunk.id == b"data":
            return chunk.offset
    raise OSError("no data chunk")
