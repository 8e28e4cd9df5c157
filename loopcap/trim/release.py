"""A word-final stop's release after the note's last syllable: pure numpy,
no I/O (the audio is read through the caller's
:data:`~loopcap.trim.params.Reader`).

A note that ends on "t" or "k" ends with a burst after a silence: the
voice stops for the stop's closure (0.05-0.2 s), then the release, a short
burst of noise no louder over the floor than the syllable's fading end,
often less.  The edge walks (:func:`~loopcap.trim.spectrum.extend_by_spectrum`)
cross gaps of ``SPECTRAL_DIP_S`` only, and stop before the closure (issue 15:
the "t" of "left", 4 dB over a 60 Hz hum, cut with 100 ms of the note's
audible end).  Here the stretch after the end found is looked at once more,
up to ``CLOSURE_S``, by the same test as those walks (some band
``SPECTRAL_DB`` over the most the capture's floor reaches there, on 10 ms
frames): where something stands out there, the note goes on to the end of
it, and at least ``RELEASE_S`` past where it begins.

Spans are chunk indices ``[a, b)``; ``hop`` is samples per chunk.
"""

from __future__ import annotations

import numpy as np

from .params import Reader
from .spectrum import (
    SPECTRAL_BANDS_HZ,
    SPECTRAL_DB,
    SPECTRAL_DIP_S,
    SPECTRAL_FRAME_CHUNKS,
    SPECTRAL_FRAME_S,
    SPECTRAL_RANGE_DB,
    taken_until_gap,
)

__all__ = ["CLOSURE_S", "RELEASE_S", "release_end"]

#: A stop's closure lasts at most this long (s) before its release.
CLOSURE_S = 0.2
#: ...and the note goes on at least this long (s) past where its release
#: begins: the burst and its breath.
RELEASE_S = 0.05


def _mono(x: np.ndarray) -> np.ndarray:
    y = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    return y.mean(axis=1) if y.ndim == 2 else y


def _bands(y: np.ndarray, starts: np.ndarray, n: int, edges: np.ndarray) -> np.ndarray:
    """Power per band (columns, ``edges`` in cycles/sample) of the
    ``n``-sample frames of ``y`` at ``starts`` (rows), under the 4-term
    Blackman-Harris window the edge walks use (sidelobes 92 dB down: a
    hum's strong low harmonics do not leak into the bands above them)."""
    t = 2 * np.pi * np.arange(n) / n
    window = 0.35875 - 0.48829 * np.cos(t) + 0.14128 * np.cos(2 * t) - 0.01168 * np.cos(3 * t)
    frames = np.lib.stride_tricks.sliding_window_view(y, n)[starts] * window
    spectra = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    bins = np.searchsorted(np.fft.rfftfreq(n, 1.0), edges)
    return np.add.reduceat(spectra, bins[:-1], axis=1)[:, : len(edges) - 1]


def release_end(
    read: Reader | None, floor_at: np.ndarray, hop: int, samplerate: int, b: int, hi: int
) -> int:
    """The note's end (chunk), ``b`` or past it, never past ``hi``: where,
    after what goes on from ``b`` without a gap (``SPECTRAL_DIP_S``), a
    sound begins within ``CLOSURE_S`` that stands over the capture's floor
    (its spectrum measured on frames starting at the chunks ``floor_at``,
    where it is alone), the end of that sound or ``RELEASE_S`` past where it
    begins, whichever is later."""
    n = 1 << max(6, int(np.ceil(np.log2(SPECTRAL_FRAME_S * samplerate))))
    edges = np.array([f for f in SPECTRAL_BANDS_HZ if f < samplerate / 2] + [samplerate / 2])
    if read is None or len(floor_at) == 0 or b >= hi or len(edges) < 2:
        return b
    edges = edges / samplerate
    # The floor's frames, each at every phase of a hum's period (as the
    # walks that found ``b`` measure it).
    size = n + SPECTRAL_FRAME_CHUNKS * hop
    parts = [_mono(read(int(c) * hop, int(c) * hop + size)) for c in floor_at]
    parts = [y for y in parts if len(y) == size]
    if not parts:
        return b
    floor = np.concatenate(parts)
    starts = np.array(
        [k * size + j * hop for k in range(len(parts)) for j in range(SPECTRAL_FRAME_CHUNKS)]
    )
    bands = _bands(floor, starts, n, edges)
    total = _bands(floor, starts, n, np.array([0.0, 0.5])).max()
    limit = np.maximum(bands.max(axis=0), total * 10 ** (-SPECTRAL_RANGE_DB / 10))
    limit = limit * 10 ** (SPECTRAL_DB / 10)
    # Each chunk from ``b`` holds sound if the frame starting at it stands
    # over that in some band.
    per_s = samplerate / hop
    closure, release = round(CLOSURE_S * per_s), round(RELEASE_S * per_s)
    dip = max(1, round(SPECTRAL_DIP_S * per_s))
    m = min(hi, b + 2 * closure) - b
    y = _mono(read(b * hop, (b + m) * hop + n))
    y = np.concatenate([y, np.zeros(max(0, m * hop + n - len(y)))])
    hits = (_bands(y, np.arange(m) * hop, n, edges) > limit).any(axis=1)
    # What goes on from ``b`` without a gap is the note itself (on shorter
    # frames than the walk that found ``b``): no closure.
    goes_on = taken_until_gap(hits, dip)
    later = np.flatnonzero(hits[goes_on + dip : closure])
    if len(later) == 0:
        return b + max(0, goes_on - 1)
    rise = goes_on + dip + int(later[0])
    end = rise + max(taken_until_gap(hits[rise:], dip) - 1, release)
    return min(hi, b + end)
