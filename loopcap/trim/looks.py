"""The closer looks at a few sounds: how bright, and could it be a voice.

Levels and timing cannot tell a sentence after a pause from a click or a
chime after a silence; the audio can.  The segmenter (:mod:`loopcap.trim.notes`)
asks these questions of the few sounds near a note only, reading at most
``_BRIGHT_READ_S``/``_VOICE_READ_S`` of each through the caller's ``read``
(:data:`~loopcap.trim.params.Reader`).  Without a reader every sound counts
as speech.  Pure numpy, no I/O of its own.

Spans are chunk indices ``[a, b)``; ``hop`` is samples per chunk; the
capture's quietest stretch ``quiet`` (chunks) stands for its floor.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .params import Reader, TrimParams
from .voice import VoiceFloor, voice_floor, voice_measure

__all__ = ["brightness", "voicelike", "low_share"]


#: At most this much of a sound (s) is read to judge its brightness.
_BRIGHT_READ_S = 1.0


def _rms_hz(x: np.ndarray, samplerate: int) -> tuple[float, float]:
    """(power, first-difference power) of ``x``, all channels."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 2:
        return 0.0, 0.0
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    return float(np.mean(np.square(x))), float(np.mean(np.square(np.diff(x, axis=0))))


def brightness(
    read: Reader | None, quiet: tuple[int, int], hop: int, samplerate: int
) -> Callable[[int, int], float]:
    """A sound's RMS frequency in Hz, above the floor's: from the power of its
    first difference over its power (``4 sin^2(pi f / rate)`` for a tone).
    About 300-1500 Hz for speech through a 16 kHz codec; clicks, shutters and
    hiss bursts lie far above.  Without a reader every sound counts as speech."""
    if read is None:
        return lambda a, b: 0.0
    limit = round(_BRIGHT_READ_S * samplerate)
    fp, fd = _rms_hz(read(quiet[0] * hop, min(quiet[1] * hop, quiet[0] * hop + limit)), samplerate)

    def bright(a: int, b: int) -> float:
        start = a * hop
        p, d = _rms_hz(read(start, min(b * hop, start + limit)), samplerate)
        p, d = p - fp, d - fd
        if p <= 0:
            return 0.0
        ratio = min(max(d / p, 0.0), 4.0)
        return samplerate / math.pi * math.asin(math.sqrt(ratio) / 2)

    return bright


#: At most this much of a sound (s) is read to judge whether it is a voice.
_VOICE_READ_S = 3.0


def voicelike(
    read: Reader | None, quiet: tuple[int, int], hop: int, samplerate: int, params: TrimParams
) -> Callable[[int, int], bool]:
    """Whether the sound in chunks [a, b) could be a voice (its first
    ``_VOICE_READ_S``; see :mod:`loopcap.trim.voice`).  Without a reader every
    sound could be."""
    if read is None:
        return lambda a, b: True
    # The floor's spectrum and autocorrelation, once per capture: a split
    # asks about many sounds against the same floor.
    floor = voice_floor(read(quiet[0] * hop, quiet[1] * hop), samplerate)
    limit = round(_VOICE_READ_S * samplerate)
    seen: dict[tuple[int, int], bool] = {}  # a split asks again as notes grow

    def voice(a: int, b: int) -> bool:
        start = a * hop
        end = min(b * hop, start + limit)
        if (start, end) not in seen:
            m = voice_measure(read(start, end), floor, samplerate)
            seen[start, end] = (
                m.low_share >= params.voice_low_share and m.periodicity >= params.voice_periodicity
            )
        return seen[start, end]

    return voice


def low_share(
    read: Reader | None, quiet: tuple[int, int], hop: int, samplerate: int
) -> Callable[[int, int], float]:
    """The share of a sound's power (above the floor's) under 400 Hz, over
    its first ``_VOICE_READ_S`` (see :mod:`loopcap.trim.voice`): at least
    10% for speech, at most 5.4% for chimes and bells.  Without a reader,
    1.0 (every sound could be a voice)."""
    if read is None:
        return lambda a, b: 1.0
    limit = round(_VOICE_READ_S * samplerate)
    floors: list[VoiceFloor] = []  # measured at the first question: most notes ask none

    def share(a: int, b: int) -> float:
        if not floors:
            floors.append(voice_floor(read(quiet[0] * hop, quiet[1] * hop), samplerate))
        start = a * hop
        x = read(start, min(b * hop, start + limit))
        return voice_measure(x, floors[0], samplerate).low_share

    return share
