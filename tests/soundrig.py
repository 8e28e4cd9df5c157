"""Test sounds and their analysis (re-exported by ``rig``).

* Sound files: :func:`write_wav`, :func:`read_audio`, :func:`mono`, and
  :func:`voice_sample`, a recording of a real human voice.
* Signals: :func:`chirp`, :func:`tone`, :func:`click`, :func:`voice`,
  :func:`silence`.
* Analysis: :func:`best_lag`, :func:`aligned`, :func:`windowed_correlation`,
  :func:`longest_zero_run`, :func:`dbfs`, :func:`tone_amplitude`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from baserig import SAMPLERATE, require

VOICE_SAMPLE = Path("/usr/share/sounds/alsa/Front_Center.wav")


# --------------------------------------------------------------------------------------
# Test audio
# --------------------------------------------------------------------------------------


def voice_sample() -> Path:
    """Path of a recording of a real human voice ("Front center", 48 kHz mono).

    Shipped by the Debian package alsa-utils.
    """
    if not VOICE_SAMPLE.exists():
        require("aplay")  # alsa-utils: skips / fails with the install hint
        import pytest

        pytest.fail(f"{VOICE_SAMPLE} is missing although alsa-utils is installed")
    return VOICE_SAMPLE


# --------------------------------------------------------------------------------------
# Sound files
# --------------------------------------------------------------------------------------


def write_wav(path, data, samplerate: int = SAMPLERATE) -> Path:
    """Write float audio to a 32-bit float WAV file; return its path."""
    import soundfile

    soundfile.write(str(path), np.asarray(data, dtype=np.float32), samplerate, subtype="FLOAT")
    return Path(path)


def read_audio(path) -> tuple[np.ndarray, int]:
    """Read a sound file as float64, always frames x channels."""
    import soundfile

    data, sr = soundfile.read(str(path), dtype="float64", always_2d=True)
    return data, sr


def mono(x: np.ndarray) -> np.ndarray:
    """Average the channels of a frames x channels array (1-D arrays pass through)."""
    x = np.asarray(x, dtype=np.float64)
    return x.mean(axis=1) if x.ndim == 2 else x


# --------------------------------------------------------------------------------------
# Test signals
# --------------------------------------------------------------------------------------


def _fade(x: np.ndarray, sr: int, fade_s: float = 0.005) -> np.ndarray:
    n = min(int(fade_s * sr), len(x) // 2)
    if n > 0:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n))
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return x


def chirp(
    duration_s: float,
    sr: int = SAMPLERATE,
    f0: float = 100.0,
    f1: float = 12000.0,
    amplitude: float = 0.5,
) -> np.ndarray:
    """Exponential sine sweep from f0 to f1 Hz (mono float32, 5 ms fades).

    Its autocorrelation has a single sharp peak, so it locates precisely, and a
    missing or repeated block anywhere in it breaks the correlation.
    """
    t = np.arange(int(round(duration_s * sr))) / sr
    k = np.log(f1 / f0) / duration_s
    phase = 2 * np.pi * f0 * (np.exp(k * t) - 1) / k
    return _fade(amplitude * np.sin(phase), sr).astype(np.float32)


def tone(
    freq: float, duration_s: float, sr: int = SAMPLERATE, amplitude: float = 0.5
) -> np.ndarray:
    """Sine tone (mono float32, 5 ms fades)."""
    t = np.arange(int(round(duration_s * sr))) / sr
    return _fade(amplitude * np.sin(2 * np.pi * freq * t), sr).astype(np.float32)


def click(
    sr: int = SAMPLERATE, duration_s: float = 0.005, amplitude: float = 0.8, seed: int = 1
) -> np.ndarray:
    """A short broadband click: Hann-windowed white noise, 5 ms (mono float32).

    Always the same samples for the same arguments.  Its autocorrelation peak is one
    sample wide, so :func:`best_lag` locates it to the sample.
    """
    n = int(round(duration_s * sr))
    noise = np.random.default_rng(seed).uniform(-1.0, 1.0, n)
    return (amplitude * noise * np.hanning(n)).astype(np.float32)


def voice(sr: int = SAMPLERATE, channels: int = 2) -> np.ndarray:
    """The human voice of :func:`voice_sample`, at ``sr`` Hz with ``channels`` channels.

    Resampled (linear interpolation: the result is itself the reference, so its
    quality does not matter) and duplicated onto the channels; float32.
    """
    data, file_sr = read_audio(voice_sample())
    x = mono(data)
    if file_sr != sr:
        n_out = int(round(len(x) * sr / file_sr))
        x = np.interp(np.arange(n_out) * file_sr / sr, np.arange(len(x)), x)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def silence(duration_s: float, sr: int = SAMPLERATE) -> np.ndarray:
    return np.zeros(int(round(duration_s * sr)), dtype=np.float32)


# --------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------


def best_lag(haystack, needle) -> tuple[int, float]:
    """Where ``needle`` best matches inside ``haystack``, by FFT cross-correlation.

    Multi-channel inputs are averaged to mono first.  Returns ``(lag, corr)``:
    ``lag`` is the haystack index where needle[0] falls (it may be negative, or
    leave part of the needle outside the haystack); ``corr`` is the normalised
    correlation ``dot(h, n) / (|h| |n|)`` of the overlapping aligned segments, 1.0
    for a perfect copy at any gain, 0 when there is no overlap or no signal.
    """
    h = mono(haystack)
    n = mono(needle)
    if len(h) == 0 or len(n) == 0:
        return 0, 0.0
    size = len(h) + len(n) - 1
    nfft = 1 << (size - 1).bit_length()
    xc = np.fft.irfft(np.fft.rfft(h, nfft) * np.conj(np.fft.rfft(n, nfft)), nfft)
    # xc[k] = sum h[i + k] n[i]; negative lags wrap to the end.
    lags = np.concatenate([np.arange(0, len(h)), np.arange(-(len(n) - 1), 0)])
    values = np.concatenate([xc[: len(h)], xc[nfft - (len(n) - 1) :]])
    lag = int(lags[int(np.argmax(values))])
    hs, ns = aligned(h, n, lag)
    denom = np.linalg.norm(hs) * np.linalg.norm(ns)
    corr = float(np.dot(hs, ns) / denom) if denom > 0 else 0.0
    return lag, corr


def aligned(haystack, needle, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """The overlapping parts of ``haystack`` and ``needle`` placed at ``lag`` (mono)."""
    h = mono(haystack)
    n = mono(needle)
    start = max(lag, 0)
    stop = min(lag + len(n), len(h))
    if stop <= start:
        return h[:0], n[:0]
    return h[start:stop], n[start - lag : stop - lag]


def windowed_correlation(a, b, window: int, min_rms: float = 0.01) -> np.ndarray:
    """Normalised correlation of ``a`` and ``b`` in consecutive windows of ``window`` samples.

    Windows where ``b`` (the reference) is quieter than ``min_rms`` are skipped, so
    pauses in speech do not count.  A dropout or glitch of a few milliseconds makes
    its window's value fall well below 1 even when the whole-signal correlation stays
    high.
    """
    a = mono(a)
    b = mono(b)
    out = []
    for i in range(0, min(len(a), len(b)) - window + 1, window):
        x, y = a[i : i + window], b[i : i + window]
        if np.sqrt(np.mean(y * y)) < min_rms:
            continue
        denom = np.linalg.norm(x) * np.linalg.norm(y)
        out.append(float(np.dot(x, y) / denom) if denom > 0 else 0.0)
    return np.array(out)


def longest_zero_run(x, where=None) -> int:
    """Length of the longest run of exact zeros in ``x`` (mono) at the positions
    where ``where`` (a boolean mask of the same length) is true."""
    x = mono(x)
    zero = x == 0
    if where is not None:
        zero &= np.asarray(where, dtype=bool)
    edges = np.diff(np.concatenate([[0], zero.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    return int((stops - starts).max()) if len(starts) else 0


def dbfs(x) -> float:
    """Peak level in dBFS (-inf for silence)."""
    peak = float(np.max(np.abs(x))) if np.size(x) else 0.0
    return 20 * np.log10(peak) if peak > 0 else float("-inf")


def tone_amplitude(x, freq: float, sr: int = SAMPLERATE, window_s: float = 0.05) -> float:
    """Largest amplitude of a ``freq`` Hz sine found in any window of ``x`` (mono).

    Measured by projecting each window on a sine and a cosine at ``freq`` (a
    single-bin DFT), so other frequencies barely count.  A full-scale tone gives
    about its amplitude; silence gives 0.
    """
    x = mono(x)
    n = int(window_s * sr)
    if len(x) < n:
        return 0.0
    t = np.arange(n) / sr
    w = np.hanning(n)
    c = w * np.cos(2 * np.pi * freq * t)
    s = w * np.sin(2 * np.pi * freq * t)
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[:: n // 2]
    amp = 2 * np.hypot(frames @ c, frames @ s) / w.sum()
    return float(amp.max())
