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

While the detector listens, a helper thread reads and resamples the span
ahead of it (:func:`heard_ahead`): onnxruntime lets go of Python's lock
while the model runs (since microsoft/onnxruntime#1042), so the resampling
(soxr holds that lock) is done in the model's time, not after it.  A
minute over music is heard in 50 ms in a fresh process (the model loaded)
rather than 64 ms, five minutes in 0.22 s rather than 0.28 s; the samples
and the probabilities are the same to the bit.

Pure computation but for ``read``; no state between calls.  The helper
thread is the only one that calls ``read`` while it runs, and it has ended
when :func:`heard_ahead`'s block exits: the capture's reader (one file
handle, see :mod:`loopcap.output.reading`) is never used from two threads
at once.  Positions are frames of the capture; rates in Hz.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from .params import Reader
from .spectrum import mono

__all__ = ["AHEAD", "BLOCK", "RATE", "heard_ahead", "pieces_at_rate"]

#: The detector's rate (Hz).
RATE = 16000
#: Frames read and resampled at a time: 0.7 s at 48 kHz, 256 KB of stereo
#: float32.
BLOCK = 1 << 15
#: Pieces (of ``BLOCK`` frames each) the helper thread reads at most ahead
#: of the detector: 5.5 s at 48 kHz, more than the detector's block of 4 s
#: (``judge.BLOCK``); where the detector stops early (its first speech
#: settled), little was read for nothing.
AHEAD = 8


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


def pieces_at_rate(read: Reader, start: int, end: int, samplerate: int) -> Iterator[np.ndarray]:
    """Frames [start, end) of the capture (read through ``read``: frames x
    channels at ``samplerate``) as float32 mono at ``RATE``, one piece for
    each ``BLOCK`` frames read: together, the samples ``soxr.resample``
    gives for the float64 mono of the whole span."""
    import soxr  # with the detector only

    stream = soxr.ResampleStream(samplerate, RATE, 1, dtype="float32", quality="HQ")
    at = start
    while True:
        upto = min(end, at + BLOCK)
        block = _mono32(np.asarray(read(at, upto))) if upto > at else np.zeros(0, np.float32)
        yield stream.resample_chunk(block, last=upto >= end)
        if upto >= end:
            return
        at = upto


_END = object()


@contextmanager
def heard_ahead(
    read: Reader, start: int, end: int, samplerate: int
) -> Iterator[Iterator[np.ndarray]]:
    """The pieces of :func:`pieces_at_rate`, read and resampled by a helper
    thread up to ``AHEAD`` pieces ahead of the caller, who takes them in
    order from the iterator this yields.  An exception raised there
    (``read`` failing) is raised in the caller, where the iterator would
    have given that piece.  On leaving the ``with`` block, however early,
    the thread stops after the piece it is on and is joined."""
    pieces: queue.Queue = queue.Queue(maxsize=AHEAD)
    stop = threading.Event()

    def produce() -> None:
        try:
            for piece in pieces_at_rate(read, start, end, samplerate):
                pieces.put(piece)
                if stop.is_set():
                    return
            pieces.put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
            pieces.put(exc)  # whatever it is: the caller must never wait for nothing

    def taken() -> Iterator[np.ndarray]:
        while (item := pieces.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item

    helper = threading.Thread(target=produce, name="loopcap-hearing", daemon=True)
    helper.start()
    try:
        yield taken()
    finally:
        stop.set()
        # Room for the piece it may be waiting to hand over, until it ends.
        while helper.is_alive():
            try:
                pieces.get(timeout=0.01)
            except queue.Empty:
                pass
        helper.join()
