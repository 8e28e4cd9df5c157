"""Small synthetic signals at 8 kHz for the trimmer's unit tests (a hop of
2.5 ms is 20 samples), whose answers can be checked by eye, and the note's
bounds in one."""

from __future__ import annotations

import numpy as np

from loopcap.trim import Bounds, LevelMeter, TrimParams

SR = 8000


def bounds_of(x: np.ndarray, params: TrimParams | None = None) -> Bounds | None:
    """The trimmer's bounds of ``x`` (8 kHz), its audio at hand for its looks."""
    m = LevelMeter(SR, params)
    m.feed(x)
    return m.find_bounds(lambda a, b: x[a:b])


def voice(seconds: float, amp: float = 0.1, f0: float = 150.0) -> np.ndarray:
    """A steady voiced sound: a 150 Hz pitch with harmonics falling 6 dB/octave."""
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 20) if f0 * k < SR / 2)
    return (amp * x / np.max(np.abs(x))).astype(np.float32)


def tone(seconds: float, amp: float = 0.1, f: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * f * t)).astype(np.float32)


def noise(seconds: float, db: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * SR)) * 10 ** (db / 20)).astype(np.float32)


def place(x: np.ndarray, at_s: float, sound: np.ndarray) -> np.ndarray:
    """``sound`` added into ``x`` from ``at_s`` seconds on."""
    a = int(at_s * SR)
    x[a : a + len(sound)] += sound
    return x


def hum(seconds: float, db: float, f: float = 50.0, harmonics: int = 6) -> np.ndarray:
    """A mains hum: ``f`` and its first harmonics falling 6 dB/octave, at
    ``db`` dBFS RMS."""
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * f * k * t + k) / k for k in range(1, harmonics + 1))
    return (x / np.sqrt(np.mean(x**2)) * 10 ** (db / 20)).astype(np.float32)


def band_noise(seconds: float, lo_hz: float, hi_hz: float, db: float, seed: int = 4) -> np.ndarray:
    """Noise with its power in ``lo_hz``-``hi_hz`` only, at ``db`` dBFS RMS: a
    fading "s", or a stop's release."""
    n = int(seconds * SR)
    spec = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    spec[(f < lo_hz) | (f > hi_hz)] = 0
    s = np.fft.irfft(spec, n)
    return (s / np.sqrt(np.mean(s**2)) * 10 ** (db / 20)).astype(np.float32)
