"""Does a short sound sound like a voice?  Pure numpy, no I/O.

The trimmer joins sounds to a note across a pause only when they could be
part of it.  Where a note's pauses are as silent as the capture around it (a
quiet note over a hissy device), timing cannot tell a sentence after a pause
from a notification chime after a silence; the sound itself can:

- *low share*: a voice's fundamental and first harmonics put a good part of
  its power under 400 Hz.  In the benchmark's captures (women, men and
  synthetic voices, through Opus; about 1,900 stretches of speech) it was at
  least 10% for every stretch longer than 0.1 s, while notification chimes
  and bells, tones of 500 Hz and up, stayed under 5.5%.
- *periodicity*: voiced speech repeats at its pitch period, 2.5-14 ms
  (70-400 Hz): the normalised autocorrelation of its loudest 40 ms frames
  peaks there (at least 0.33 for those stretches of speech, most above 0.5;
  thumps, knocks and clicks with power under 400 Hz stayed under 0.22).

A sound is voice-like when both hold.  Both are measured on the sound's power
above the capture's floor (the floor's spectrum is subtracted), so hiss and
hum do not make a chime look like a voice.  The floor's part is computed once
per capture (:func:`voice_floor`) and reused for every sound judged against it.

Why numpy's FFT and not ``scipy.fft``/``scipy.signal`` (measured for issue
11): the sounds judged are at most 3 s long; their spectra take about 1 ms
either way (3 s of 48 kHz: numpy 1.06 ms, scipy 1.13 ms) with identical
results, but importing ``scipy.fft`` adds ~19 MiB and ~0.4 s to the process
(``scipy.signal`` ~72 MiB and ~1.4 s), and ``loopcap record`` runs this at
every stop with its peak RSS held under 80 MB (docs/benchmarks.md).  The
autocorrelation through the power spectrum (Wiener-Khinchin) is what
``scipy.signal.correlate`` would do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .levels import median_of

__all__ = ["VoiceMeasure", "VoiceFloor", "voice_floor", "voice_measure"]

#: Frame for the spectra (s): long enough to resolve a 60 Hz fundamental.
_FRAME_S = 0.04
#: Band that holds a voice's fundamental and first harmonics (Hz).
_LOW_HZ = (60.0, 400.0)
#: Pitch periods of a speaking voice (s): 400 Hz down to about 70 Hz.
_PERIOD_S = (0.0025, 0.014)
#: Rate the periodicity is measured at (Hz): keeps everything under 4 kHz.
_PITCH_RATE = 8000


class VoiceMeasure(tuple):
    """``(low_share, periodicity)``: shares in 0..1 (see the module)."""

    __slots__ = ()

    @property
    def low_share(self) -> float:
        return self[0]

    @property
    def periodicity(self) -> float:
        return self[1]


def _mono(x: np.ndarray) -> np.ndarray:
    y = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    return y.mean(axis=1) if y.ndim == 2 else y


def _power_spectra(y: np.ndarray, n: int) -> np.ndarray:
    """Hann-windowed power spectra of ``n``-sample frames, half overlapping."""
    if len(y) < n:
        y = np.pad(y, (0, n - len(y)))
    frames = np.lib.stride_tricks.sliding_window_view(y, n)[:: n // 2] * np.hanning(n)
    return np.abs(np.fft.rfft(frames, axis=1)) ** 2


def _frame(samplerate: int) -> int:
    """Samples per spectrum frame: a power of two of at least ``_FRAME_S``."""
    return 1 << int(np.ceil(np.log2(_FRAME_S * samplerate)))


def _low_share(y: np.ndarray, floor_spectrum: np.ndarray, samplerate: int) -> float:
    """Share of the power above 60 Hz that lies under 400 Hz, over the louder
    half of the frames, after subtracting the floor's mean spectrum."""
    n = _frame(samplerate)
    excess = np.maximum(_power_spectra(y, n) - floor_spectrum, 0.0)
    loud = np.argsort(excess.sum(axis=1))[-max(1, len(excess) // 2) :]
    total = excess[loud].sum(axis=0)
    f = np.fft.rfftfreq(n, 1 / samplerate)
    above = float(total[f > _LOW_HZ[0]].sum())
    if above <= 0.0:
        return 0.0
    return float(total[(f > _LOW_HZ[0]) & (f < _LOW_HZ[1])].sum()) / above


def _decimated(y: np.ndarray, samplerate: int) -> np.ndarray:
    """``y`` box-filtered and decimated to about ``_PITCH_RATE``
    (:func:`_pitch_frame` gives the rate)."""
    q = max(1, samplerate // _PITCH_RATE)
    return y[: len(y) - len(y) % q].reshape(-1, q).mean(axis=1)


def _autocorrelations(y: np.ndarray, m: int) -> np.ndarray:
    """Autocorrelation (lags 0..m-1) of each ``m``-sample frame, half overlapping,
    each frame's mean removed."""
    if len(y) < m:
        y = np.pad(y, (0, m - len(y)))
    frames = np.lib.stride_tricks.sliding_window_view(y, m)[:: max(1, m // 2)]
    frames = frames - frames.mean(axis=1, keepdims=True)
    return np.fft.irfft(np.abs(np.fft.rfft(frames, 2 * m, axis=1)) ** 2, 2 * m, axis=1)[:, :m]


def _pitch_frame(samplerate: int) -> tuple[int, float]:
    """Samples per autocorrelation frame at the decimated rate, and that rate."""
    rate = samplerate / max(1, samplerate // _PITCH_RATE)
    return round(_FRAME_S * rate), rate


def _periodicity(y: np.ndarray, floor_ac: np.ndarray, samplerate: int) -> float:
    """Median, over the loudest third of 40 ms frames, of the normalised
    autocorrelation's highest peak at a pitch period.  The floor's mean
    autocorrelation is subtracted first, so a hum's own period does not count
    and hiss does not dilute a quiet voice."""
    m, rate = _pitch_frame(samplerate)
    y = _decimated(y, samplerate)
    lo, hi = round(_PERIOD_S[0] * rate), round(_PERIOD_S[1] * rate)
    if len(y) < m or hi <= lo:
        return 0.0
    ac = _autocorrelations(y, m)
    ac = ac[np.argsort(ac[:, 0])[-max(1, len(ac) // 3) :]]
    ac = ac - floor_ac
    # Frames at least as loud as the floor again: in weaker ones the
    # subtraction leaves mostly the floor's own randomness.
    ok = ac[:, 0] > max(float(floor_ac[0]), 0.0)
    if not ok.any():
        return 0.0
    peaks = np.clip(ac[ok, lo:hi] / ac[ok, :1], -1.0, 1.0).max(axis=1)
    return float(median_of(peaks))


@dataclass(frozen=True, eq=False)
class VoiceFloor:
    """What :func:`voice_measure` subtracts for a stretch of a capture's floor.
    Build it with :func:`voice_floor`; never changed after, so one may serve
    several threads."""

    #: Mean Hann-windowed power spectrum of its 40 ms frames.
    spectrum: np.ndarray
    #: Mean autocorrelation of its 40 ms frames at about ``_PITCH_RATE``.
    autocorrelation: np.ndarray
    #: The rate it was measured at (Hz).
    samplerate: int


def voice_floor(floor: np.ndarray, samplerate: int) -> VoiceFloor:
    """The floor's mean power spectrum and mean autocorrelation, once per
    capture (``floor``: frames, or frames x channels; may be empty)."""
    y = _mono(floor)
    spectrum = _power_spectra(y, _frame(samplerate)).mean(axis=0)
    m, _ = _pitch_frame(samplerate)
    ac = _autocorrelations(_decimated(y, samplerate), m).mean(axis=0)
    return VoiceFloor(spectrum, ac, samplerate)


def voice_measure(x: np.ndarray, floor: np.ndarray | VoiceFloor, samplerate: int) -> VoiceMeasure:
    """Measure a sound ``x`` (frames, or frames x channels) against a stretch
    of the capture's floor ``floor`` (same layout; may be empty), or against
    that floor's :func:`voice_floor` when several sounds are measured."""
    if not isinstance(floor, VoiceFloor):
        floor = voice_floor(floor, samplerate)
    elif floor.samplerate != samplerate:
        raise ValueError(f"floor measured at {floor.samplerate} Hz, sound at {samplerate} Hz")
    y = _mono(x)
    return VoiceMeasure(
        (
            _low_share(y, floor.spectrum, samplerate),
            _periodicity(y, floor.autocorrelation, samplerate),
        )
    )
