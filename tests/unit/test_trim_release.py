"""A word-final stop's release after its closure (issue 15).  Small
synthetic signals at 8 kHz."""

import numpy as np
import pytest
from trimsignals import band_noise, bounds_of, hum, place, voice

from loopcap.trim import LevelMeter


@pytest.mark.parametrize("closure_s", [0.1, 0.22])
def test_a_release_after_a_closure_of_up_to_a_quarter_second_is_the_notes(closure_s):
    # A "t" 2 dB under a 60 Hz hum's level, far over its empty upper bands,
    # after a closure of 0.1 s and of 0.22 s (a slow speaker's).
    x = hum(6.0, -60)
    place(x, 1.0, voice(2.0))
    place(x, 3.0 + closure_s, band_noise(0.03, 1500.0, 3500.0, -62))
    b = bounds_of(x)
    assert b.start_s <= 1.0
    assert b.end_s >= 3.0 + closure_s + 0.03


def _at_48k(click: bool, click_db: float = -55.0) -> tuple[float, float]:
    """A 48 kHz capture: a device's hiss (-60 dBFS, under 5 kHz), a voiced note from 1 s
    to 3 s, and 0.15 s after it either a click (5 ms of differenced noise,
    its power far above 6 kHz, at ``click_db`` dBFS RMS) or a stop's burst
    (30 ms of 1.5-3.5 kHz noise at -52 dBFS); the note's end found and
    where that sound ends (s)."""
    sr = 48000
    rng = np.random.default_rng(7)
    hiss = np.fft.rfft(rng.standard_normal(6 * sr))
    hiss[np.fft.rfftfreq(6 * sr, 1 / sr) > 5000] = 0  # a device's darker hiss
    x = np.fft.irfft(hiss, 6 * sr)
    x = (x / np.sqrt(np.mean(x**2)) * 10 ** (-60 / 20)).astype(np.float32)
    t = np.arange(2 * sr) / sr
    v = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 30))
    x[sr : 3 * sr] += (0.1 * v / np.max(np.abs(v))).astype(np.float32)
    at = int(3.15 * sr)
    if click:
        s = np.diff(rng.standard_normal(int(0.005 * sr) + 1))
        db = click_db
    else:
        n = int(0.03 * sr)
        spec = np.fft.rfft(rng.standard_normal(n))
        f = np.fft.rfftfreq(n, 1 / sr)
        spec[(f < 1500) | (f > 3500)] = 0
        s = np.fft.irfft(spec, n)
        db = -52.0
    s = s / np.sqrt(np.mean(s**2)) * 10 ** (db / 20)
    x[at : at + len(s)] += s.astype(np.float32)
    m = LevelMeter(sr)
    m.feed(x)
    b = m.find_bounds(lambda a, e: x[a:e])
    assert b is not None
    return b.end / sr, (at + len(s)) / sr


def test_a_click_after_the_note_is_no_stops_release():
    # Both stand out of the hiss (the burst in its bands, the click over
    # its empty highs), but a stop's burst through the note's codec is
    # darker than a click: the burst is the note's, the click is not (seed
    # 40 mix057: a click 0.17 s after the note's last word, kept with the
    # hiss after it).
    end, burst_end = _at_48k(click=False)
    assert end >= burst_end
    end, click_at = _at_48k(click=True)
    assert end < click_at - 0.1
