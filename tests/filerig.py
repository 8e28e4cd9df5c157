"""Audio files built for the input tests (``loopcap trim`` on bad and odd files).

* :func:`note` -- a short tone note between two silences (8 kHz by default).
* :func:`wav_header` -- a WAV file built field by field, for values no writer
  would produce; :func:`pcm16` -- samples as 16-bit PCM bytes for it.
* :func:`ogg_pages` -- where the pages of an Ogg stream lie, to cut it inside
  its headers or its audio.
* :func:`opus_note` -- a WhatsApp-like voice note made by ffmpeg's libopus.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np
import rig

__all__ = ["SR", "note", "ogg_pages", "opus_note", "pcm16", "wav_header"]

#: The sample rate of :func:`note` and :func:`wav_header` by default, in Hz.
SR = 8000


def note(sr: int = SR, channels: int = 1) -> np.ndarray:
    """0.25 s silence, 0.5 s of a 300 Hz tone, 0.25 s silence."""
    t = np.arange(sr // 2) / sr
    x = np.concatenate([np.zeros(sr // 4), 0.3 * np.sin(2 * np.pi * 300 * t), np.zeros(sr // 4)])
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def ogg_pages(data: bytes) -> list[tuple[int, int, int]]:
    """(start, end, granule position) of each Ogg page."""
    pages, pos = [], 0
    while pos < len(data):
        if data[pos : pos + 4] != b"OggS":
            raise ValueError(f"no Ogg page at byte {pos}")
        n = data[pos + 26]
        end = pos + 27 + n + sum(data[pos + 27 : pos + 27 + n])
        pages.append((pos, end, struct.unpack("<q", data[pos + 6 : pos + 14])[0]))
        pos = end
    return pages


def opus_note(tmp_path: Path, seconds: float = 3.0, onset_s: float = 1.0) -> bytes:
    """A WhatsApp-like voice note: Ogg Opus, 16 kHz mono, made by ffmpeg's libopus
    (ffmpeg writes a page a second): silence, then a tone from ``onset_s`` on."""
    ffmpeg = rig.require("ffmpeg")
    path = tmp_path / "made-by-ffmpeg.ogg"
    lavfi = f"sine=f=300:d={seconds - onset_s}"
    delay = f"adelay={onset_s * 1000:g}"
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", lavfi, "-af", delay,
         "-ar", "16000", "-ac", "1", "-c:a", "libopus", "-b:a", "20k", str(path)],
        check=True,
        timeout=60,
    )  # fmt: skip
    data = path.read_bytes()
    path.unlink()
    return data


def wav_header(
    tag=1, channels=2, rate=SR, bits=16, byterate=None, align=None, fmt_size=16,
    data_size=None, riff_size=None, samples=b"",
) -> bytes:  # fmt: skip
    """A WAV file built field by field (for values no writer would produce)."""
    align = channels * bits // 8 if align is None else align
    byterate = rate * align if byterate is None else byterate
    fmt = struct.pack(
        "<HHIIHH", tag, channels, rate & 0xFFFFFFFF, byterate & 0xFFFFFFFF, align & 0xFFFF, bits
    )
    size = len(samples) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", fmt_size) + fmt
    body += b"data" + struct.pack("<I", size) + samples
    riff = len(body) if riff_size is None else riff_size
    return b"RIFF" + struct.pack("<I", riff) + body


def pcm16(x: np.ndarray) -> bytes:
    """Float samples in [-1, 1] as little-endian 16-bit PCM bytes (clipped)."""
    return (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
