"""A word-final stop's release after the note's last syllable: pure numpy,
no I/O (the audio is read through the caller's
:data:`~loopcap.trim.params.Reader`).

A note that ends on "t" or "k" ends with a burst after a silence: the
voice stops for the stop's closure (0.05-0.25 s), then the release, a short
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

from collections.abc import Callable

import numpy as np

from .edgefloor import CLICK_HZ
from .params import Reader
from .spectrum import SPECTRAL_DIP_S, band_powers, floor_limit, mono, taken_until_gap

__all__ = ["CLOSURE_S", "RELEASE_S", "release_end"]

#: A stop's closure lasts at most this long (s) before its release: 58-112
#: ms in most of the benchmark's captures, but a release that began 0.2 s
#: after the end found (the "t" of "left", alsa's voice under a buried
#: hiss) was cut with 211 ms of the note's audible end at 0.2 s.
CLOSURE_S = 0.25
#: ...and the note goes on at least this long (s) past where its release
#: begins: the burst and its breath.
RELEASE_S = 0.05


def release_end(
    read: Reader | None,
    floor_at: np.ndarray,
    hop: int,
    samplerate: int,
    b: int,
    hi: int,
    bright: Callable[[int, int], float] | None = None,
) -> int:
    """The note's end (chunk), ``b`` or past it, never past ``hi``: where,
    after what goes on from ``b`` without a gap (``SPECTRAL_DIP_S``), a
    sound begins within ``CLOSURE_S`` that stands over the capture's floor
    (its spectrum measured on frames starting at the chunks ``floor_at``,
    where it is alone: :func:`~loopcap.trim.spectrum.floor_limit`), the end
    of that sound or ``RELEASE_S`` past where it begins, whichever is
    later; but not where that sound is brighter (``bright``, the RMS
    frequency in Hz of a span of chunks over the floor's) than
    :data:`~loopcap.trim.edgefloor.CLICK_HZ`: a click, no stop's burst
    through the note's codec (seed 40 mix057: a click 0.17 s after the
    note's last word, and 37 ms of the device's hiss after it, kept)."""
    if read is None or b >= hi:
        return b
    found = floor_limit(read, floor_at, hop, samplerate)
    if found is None:
        return b
    n, edges, limit = found
    # Each chunk from ``b`` holds sound if the frame starting at it stands
    # over that in some band.
    per_s = samplerate / hop
    closure, release = round(CLOSURE_S * per_s), round(RELEASE_S * per_s)
    dip = max(1, round(SPECTRAL_DIP_S * per_s))
    m = min(hi, b + 2 * closure) - b
    y = mono(read(b * hop, (b + m) * hop + n))
    hits = np.greater(band_powers(y, np.arange(m) * hop, n, edges), limit).any(axis=1)
    # What goes on from ``b`` without a gap is the note itself (on shorter
    # frames than the walk that found ``b``): no closure.
    goes_on = taken_until_gap(hits, dip)
    later = np.flatnonzero(hits[goes_on + dip : closure])
    if len(later) == 0:
        return b + max(0, goes_on - 1)
    rise = goes_on + dip + int(later[0])
    burst = max(1, taken_until_gap(hits[rise:], dip) - 1)
    # (the frames starting at those chunks hold the sound: one frame on)
    heard = b + rise + burst + -(-n // hop)
    if bright is not None and bright(b + rise, heard) > CLICK_HZ:
        return b + max(0, goes_on - 1)
    end = rise + max(burst, release)
    return min(hi, b + end)
