"""A capture of digital silence shorter than the floor's window
(``floor_window_s``, 0.1 s) at one end or both, and one steady sound in
between: a tone, a sweep, a note begun just after the capture started and
still playing at its end.  Pure numpy, no I/O of its own.

The segmenter's floor is the capture's quietest ``floor_window_s``: here
that window holds the sound, and nothing stands over the sound's own level,
so no sound is found, the same as in a capture of a device's floor alone
(0.05 s of silence, then a sweep up to the capture's end, saved no note:
found while looking for why a system test's capture on a loaded host saved
none).  Yet the capture's true floor is the digital
silence, and the sound begins (or ends) over it, as it would over a longer
silence, where the segmenter finds it.  Such a sound is kept, to the
sample, where it is loud (over ``PLAYS_DB``, which no device's hiss or hum
reaches) and more than a DC offset (no sound at all); the user is told why
(:data:`STEADY_REASON`).  A steady sound with no silence at either end is
left alone, as any capture of a floor: no sound.

Positions are sample (frame) indices; levels dBFS.
"""

from __future__ import annotations

import numpy as np

from .params import Bounds, Reader, TrimParams
from .silentedge import SILENT_AMP, as_metered

__all__ = ["STEADY_REASON", "PLAYS_DB", "SILENT_END_S", "steady_throughout"]

#: Why such a sound is kept: one line for the user.
STEADY_REASON = (
    "kept from its first sound to its last: one steady sound plays throughout, "
    "with nothing quieter to trim it to"
)

#: A capture's floor louder than this (dBFS) is something playing (a pad, a
#: fan, a tone), not a device's floor: the hiss and hum floors of the
#: accuracy benchmark reach -50.2 dBFS, its music and tones -34 to -61.
PLAYS_DB = -49.0
#: Digital silence at an end counts from this long (s): a sound that starts
#: at a zero crossing holds a sample or two of zeros.
SILENT_END_S = 0.005
#: The stretch looked at (s): the sound's middle second.
LOOK_S = 1.0


def _ac_db(x: np.ndarray) -> float:
    """The level (dBFS) of ``x`` without its mean (a DC offset is no sound)."""
    x = np.nan_to_num(np.asarray(x, np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if x.ndim == 1:
        x = x[:, None]
    if not len(x):
        return -np.inf
    power = float(np.mean((x - x.mean(axis=0)) ** 2))
    return 10 * np.log10(power) if power > 0 else -np.inf


def _heard(x: np.ndarray) -> np.ndarray:
    """Per frame: whether any channel holds more than digital silence."""
    x = np.nan_to_num(np.asarray(x, np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    if x.ndim == 1:
        x = x[:, None]
    return (np.abs(x) > SILENT_AMP).any(axis=1)


def steady_throughout(
    floor_db: float,
    frames: int,
    samplerate: int,
    params: TrimParams,
    read: Reader | None,
    powers: np.ndarray | None = None,
    hop: int = 0,
) -> Bounds | None:
    """Where the segmenter found no sound over ``floor_db`` (the capture's
    quietest ``floor_window_s``): the sound between the digital silence at
    the capture's ends (at least ``SILENT_END_S`` at one end), with
    :data:`STEADY_REASON`, where it is loud (over ``PLAYS_DB``); None
    otherwise (silence, a device's floor, a DC offset, a steady
    sound with no silence at either end, a capture shorter than
    ``floor_window_s``, no ``read`` to look with, or reads that do not
    hold what the meter measured there: ``powers``, one per ``hop``
    frames; an Ogg file's seek may land off by hundreds of frames)."""
    if not floor_db > PLAYS_DB or frames < params.floor_window_s * samplerate or read is None:
        # (its quietest 0.1 s, mostly the sound, no louder than a device's floor)
        return None
    edge = min(frames, round(params.floor_window_s * samplerate))
    head_x, tail_x = read(0, edge), read(frames - edge, frames)
    if len(head_x) != edge or len(tail_x) != edge:
        return None
    if not (as_metered(head_x, 0, powers, hop) and as_metered(tail_x, frames - edge, powers, hop)):
        return None
    head, tail = _heard(head_x), _heard(tail_x)
    if not head.any() or not tail.any():
        return None  # silence over a whole window: that was the floor
    start, end = int(np.argmax(head)), frames - int(np.argmax(tail[::-1]))
    if max(start, frames - end) < SILENT_END_S * samplerate:
        return None
    mid, half = (start + end) // 2, min(end - start, round(LOOK_S * samplerate)) // 2
    x = read(mid - half, mid + half)
    # (Written so that a NaN says "no": a sound must show itself.)
    if not _ac_db(x) > PLAYS_DB:
        return None
    return Bounds(start, end, floor_db, samplerate, STEADY_REASON)
