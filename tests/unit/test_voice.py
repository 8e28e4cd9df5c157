"""The voice test (loopcap.trim.voice) on signals whose answer is known by hand."""

import numpy as np
import pytest

from loopcap.trim.voice import voice_floor, voice_measure

SR = 48000


def t(seconds):
    return np.arange(int(seconds * SR)) / SR


def voiced(seconds=1.0, f0=150.0):
    """A pitch of f0 with harmonics to 4 kHz, falling 6 dB/octave."""
    x = sum(np.sin(2 * np.pi * f0 * k * t(seconds)) / k for k in range(1, int(4000 / f0)))
    return 0.1 * x / np.max(np.abs(x))


def noise(seconds, db, seed=0):
    return np.random.default_rng(seed).standard_normal(int(seconds * SR)) * 10 ** (db / 20)


def hum(seconds, db):
    x = sum(np.sin(2 * np.pi * 50 * k * t(seconds)) / k for k in (1, 2, 3, 4, 5))
    return x * 10 ** (db / 20) / np.sqrt(np.mean(x**2))


SILENCE = np.zeros(0)


@pytest.mark.parametrize("f0", [90.0, 150.0, 250.0, 380.0])
def test_a_voiced_sound_has_low_power_and_a_clear_pitch(f0):
    m = voice_measure(voiced(f0=f0), SILENCE, SR)
    # With harmonics falling 6 dB/octave, the fundamental alone holds 1/1.64
    # of the power; under 400 Hz there are 1 to 4 harmonics.
    assert m.low_share > 0.6
    # A perfect repeat scores 1 - period / 40 ms (the frames are 40 ms long and
    # the overlap shrinks with the lag): 0.72 at 90 Hz, 0.93 at 380 Hz.
    assert m.periodicity > 1 - (1 / f0) / 0.04 - 0.05


def test_a_chime_has_no_power_under_400_hz():
    chime = 0.3 * np.sin(2 * np.pi * 1000 * t(0.6)) * np.exp(-t(0.6) * 5)
    assert voice_measure(chime, SILENCE, SR).low_share < 0.01


def test_a_noise_burst_has_no_pitch():
    # Low-passed noise (a thump): power under 400 Hz but nothing periodic.
    burst = np.convolve(noise(0.3, -20, seed=1), np.ones(60) / 60, "same")
    m = voice_measure(burst, SILENCE, SR)
    assert m.low_share > 0.3
    assert m.periodicity < 0.3


def test_the_floor_is_subtracted():
    # A chime over hum: the hum's 50 Hz harmonics are under 400 Hz and
    # periodic, but they are the floor's, not the chime's.
    floor = hum(0.5, -55)
    chime = 0.1 * np.sin(2 * np.pi * 1200 * t(0.6)) + hum(0.6, -55)
    m = voice_measure(chime, floor, SR)
    assert m.low_share < 0.01
    # A quiet voice over loud hiss keeps its pitch once the hiss is taken away.
    hiss = noise(0.5, -45, seed=2)
    quiet = voiced() * 10 ** (-35 / 20) / 0.1 + noise(1.0, -45, seed=3)
    assert voice_measure(quiet, hiss, SR).periodicity > 0.6


def test_stereo_and_other_rates():
    x = voiced(0.5)
    stereo = np.stack([x, x], axis=1)
    assert voice_measure(stereo, np.zeros((0, 2)), SR).periodicity > 0.78
    y = x[::3]  # 16 kHz
    m = voice_measure(y, SILENCE, 16000)
    assert m.low_share > 0.6 and m.periodicity > 0.78


def test_silence_and_tiny_inputs_measure_zero():
    assert voice_measure(np.zeros(SR), SILENCE, SR) == (0.0, 0.0)
    assert voice_measure(np.zeros(10), SILENCE, SR) == (0.0, 0.0)


def test_a_floor_measured_once_gives_the_same_answers():
    # The trimmer measures the capture's floor once and every sound against it.
    floor = hum(0.1, -55) + noise(0.1, -60, seed=4)
    once = voice_floor(np.stack([floor, floor], axis=1), SR)
    for x in (voiced(0.5), 0.1 * np.sin(2 * np.pi * 1200 * t(0.3)), noise(0.2, -30, seed=5)):
        stereo = np.stack([x, x], axis=1)
        assert voice_measure(stereo, once, SR) == voice_measure(
            stereo, np.stack([floor] * 2, 1), SR
        )
    with pytest.raises(ValueError):
        voice_measure(voiced(0.5)[::3], once, 16000)  # measured at another rate
