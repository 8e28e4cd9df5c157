"""A span of the capture as the voice detector (:mod:`loopcap.trim.judge`)
hears it: mono, at its rate (16 kHz).

The span is read a block at a time, each block made mono in float32 and fed
to one soxr stream.  The samples are the same, to the bit, as resampling
the span's float64 mono whole: soxr's "HQ" quality computes in single
precision, and the float32 mean of two float32 channels is their float64
mean rounded (the sum of two float32 values is exact in float64, and
halving is exact).  Without the span's float32 and float64 copies (about
40 MB for a minute's stereo note, their pages touched for the first time in
a fresh process), a minute's note costs 22-29 ms rather than 37-76 ms.

Pure computation but for ``read``; no threads, no state between calls.
Positions are frames of the capture; rates in Hz.
"""

from __future__ import annotations

import numpy as np

from .params import Reader
from .spectrum import mono

__all__ = ["BLOCK", "RATE", "at_rate"]

#: The detector's rate (Hz).
RATE = 16000
#: Frames read and resampled at a time: 0.7 s at 48 kHz, 256 KB of stereo
#: float32.
BLOCK = 1 << 15


def _mono32(x: np.ndarray) -> np.ndarray:
    """Frames (or frames x channels) -> float32 mono: the values of
    :func:`~loopcap.trim.spectrum.mono` rounded to float32, computed in
    float32 for one or two float32 channels without NaN or infinities (all
    but a damaged file), else through ``mono``."""
    if x.dtype == np.float32 and (x.ndim == 1 or x.shape[1] <= 2) and np.isfinite(x).all():
        if x.ndim == 1 or x.shape[1] == 1:
            return x.reshape(-1)
        y = np.add(x[:, 0], x[:, 1])
        y *= np.float32(0.5)
        return y
    return mono(x).astype(np.float32)


def at_rate(read: Reader, start: int, end: int, samplerate: int) -> np.ndarray:
    """Frames [start, end) of the capture (read through ``read``: frames x
    channels at ``samplerate``) as float32 mono at ``RATE``: the samples
    ``soxr.resample`` gives for the float64 mono of the whole span, read
    and resampled ``BLOCK`` frames at a time."""
    import soxr  # with the detector only

    stream = soxr.ResampleStream(samplerate, RATE, 1, dtype="float32", quality="HQ")
    out: list[np.ndarray] = []
    at = start
    while True:
        upto = min(end, at + BLOCK)
        block = _mono32(np.asarray(read(at, upto))) if upto > at else np.zeros(0, np.float32)
        out.append(stream.resample_chunk(block, last=upto >= end))
        if upto >= end:
            return np.concatenate(out) if len(out) > 1 else out[0]
        at = upto
