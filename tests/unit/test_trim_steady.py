"""A steady sound over digital silence shorter than the floor's window at
an end of the capture (loopcap/trim/steady.py): kept, to the sample, and
said; a device's floor, a DC offset, or a steady sound with no silence at
either end, still no sound.  Small synthetic signals at 8 kHz."""

import numpy as np
import pytest
from trimsignals import SR, bounds_of, noise, place, voice

from loopcap.trim import STEADY_REASON, LevelMeter, notes_of_array
from loopcap.trim.notes import find_bounds
from loopcap.trim.params import TrimParams


def sweep(seconds: float, amp: float = 0.3, f0: float = 200.0, f1: float = 3000.0) -> np.ndarray:
    """A linear sweep from f0 to f1 Hz over ``seconds``."""
    t = np.arange(int(seconds * SR)) / SR
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * seconds))
    return (amp * np.sin(phase)).astype(np.float32)


def steady(sound: str, seconds: float = 0.8) -> np.ndarray:
    return voice(seconds, 0.3) if sound == "voice" else sweep(seconds)


@pytest.mark.parametrize("lead_s", [0.01, 0.02, 0.05])
@pytest.mark.parametrize("sound", ["voice", "sweep"])
def test_a_steady_sound_after_a_moment_of_silence_is_kept_and_said(lead_s, sound):
    # Begun within the capture's first 0.05 s and still playing at its end:
    # nothing stands over its own level, yet it is a sound over the
    # capture's true floor, digital silence (it once saved no note).
    played = steady(sound)
    x = place(np.zeros(int((lead_s + 0.8) * SR), np.float32), lead_s, played)
    first = int(np.flatnonzero(np.abs(x) > 1e-6)[0])
    assert first == pytest.approx(lead_s * SR, abs=2)
    b = bounds_of(x)
    assert b is not None and (b.start, b.end) == (first, len(x))
    assert b.reason == STEADY_REASON
    assert notes_of_array(x, SR) == [b]


def test_and_before_a_moment_of_silence():
    x = np.concatenate([sweep(0.8), np.zeros(int(0.04 * SR), np.float32)])
    heard = np.flatnonzero(np.abs(x) > 1e-6)
    b = bounds_of(x)
    assert b is not None and b.reason == STEADY_REASON
    assert (b.start, b.end) == (heard[0], heard[-1] + 1) and b.end == int(0.8 * SR)


@pytest.mark.parametrize("sound", ["voice", "sweep"])
def test_with_no_silence_at_either_end_it_is_no_sound_as_before(sound):
    # (As a capture of a floor: one level throughout.  A fake source's
    # counter signal, which its tests take for no note, is one.)
    x = steady(sound)
    assert bounds_of(x) is None
    assert notes_of_array(x, SR) == []


def test_a_non_finite_sample_does_not_hide_the_sound():
    x = np.concatenate([np.zeros(int(0.03 * SR), np.float32), sweep(2.0)])
    x[len(x) // 2] = np.nan
    x[len(x) // 3] = np.inf
    b = bounds_of(x)
    assert b is not None and b.reason == STEADY_REASON and b.end == len(x)


def after_silence(x: np.ndarray, lead_s: float = 0.03) -> np.ndarray:
    return np.concatenate([np.zeros(int(lead_s * SR), np.float32), x])


@pytest.mark.parametrize("db", [-75.0, -60.0, -50.0])
def test_a_floor_after_silence_is_still_no_sound(db):
    # A device's hiss or hum after its stream's first zeros: the accuracy
    # benchmark's floors reach -50.2 dBFS.
    x = after_silence(noise(2.0, db, seed=5))
    assert bounds_of(x) is None
    assert notes_of_array(x, SR) == []


def test_silence_at_both_ends():
    x = np.concatenate([after_silence(sweep(0.8), 0.02), np.zeros(int(0.03 * SR), np.float32)])
    heard = np.flatnonzero(np.abs(x) > 1e-6)
    b = bounds_of(x)
    assert b is not None and b.reason == STEADY_REASON
    assert (b.start, b.end) == (heard[0], heard[-1] + 1)


def test_a_nan_where_the_sound_is_looked_at_does_not_make_one():
    x = after_silence(noise(2.0, -60.0, seed=5))
    x[len(x) // 2 - 100 : len(x) // 2 + 100] = np.nan
    assert bounds_of(x) is None


def test_reads_that_do_not_hold_what_was_metered_keep_nothing():
    # An Ogg file's seek may land hundreds of frames off: the silence at the
    # ends is found only in audio that holds the levels measured there.
    x = after_silence(sweep(1.0), 0.02)
    meter = LevelMeter(SR)
    meter.feed(x)
    exact = find_bounds(meter.powers, SR, meter.frames, TrimParams(), lambda a, b: x[a:b])
    assert exact is not None and exact.reason == STEADY_REASON
    off = 200

    def shifted(a: int, b: int) -> np.ndarray:  # as many frames, from earlier
        return x[max(0, a - off) : max(0, a - off) + (b - a)]

    assert find_bounds(meter.powers, SR, meter.frames, TrimParams(), shifted) is None

    def short(a: int, b: int) -> np.ndarray:
        return x[a : max(a, b - 100)]

    assert find_bounds(meter.powers, SR, meter.frames, TrimParams(), short) is None


@pytest.mark.parametrize("dc", [0.1, 0.25])
def test_a_dc_offset_is_no_sound(dc):
    x = after_silence(np.full(2 * SR, dc, np.float32) + noise(2.0, -70.0, seed=6))
    assert bounds_of(x) is None
    assert notes_of_array(x, SR) == []


def test_shorter_than_the_floor_window_is_no_sound():
    # (A level over fewer frames than floor_window_s is no floor.)
    window = TrimParams().floor_window_s
    assert bounds_of(after_silence(sweep(window * 0.5), 0.02)) is None
    assert bounds_of(after_silence(sweep(window * 1.5), 0.02)) is not None


def test_without_the_audio_it_is_no_sound_as_before():
    meter = LevelMeter(SR)
    meter.feed(after_silence(sweep(1.0)))
    assert find_bounds(meter.powers, SR, meter.frames, TrimParams(), read=None) is None
