"""The note's edges next to another app's sound (issue 15, second version):
its own floor followed under a chime that overlaps it, and a knock after the
note's floor has stopped.  Small synthetic signals at 8 kHz."""

import numpy as np

from loopcap.trim import LevelMeter, TrimParams
from loopcap.trim.edges import leave_out_edge_sounds

SR = 8000  # hop of 2.5 ms = 20 samples


def bounds_of(x):
    m = LevelMeter(SR)
    m.feed(x)
    return m.find_bounds(lambda a, b: x[a:b])


def voice(seconds, amp=0.1, f0=150.0):
    """A steady voiced sound: a 150 Hz pitch with harmonics falling 6 dB/octave."""
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 20) if f0 * k < SR / 2)
    return (amp * x / np.max(np.abs(x))).astype(np.float32)


def tone(seconds, amp=0.1, f=440.0):
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * f * t)).astype(np.float32)


def noise(seconds, db, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * SR)) * 10 ** (db / 20)).astype(np.float32)


def place(x, at_s, sound):
    a = int(at_s * SR)
    x[a : a + len(sound)] += sound
    return x


def chime(seconds, amp=0.3, f=1500.0, decay_s=0.15):
    n = int(seconds * SR)
    return tone(seconds, amp, f) * np.exp(-np.arange(n) / SR / decay_s).astype(np.float32)


def test_the_notes_floor_is_followed_under_a_chime_to_its_first_sample():
    x = np.zeros(int(5 * SR), np.float32)
    place(x, 1.0, noise(3.0, -60, seed=3))  # the note: its own floor, 1.0-4.0 s
    place(x, 1.5, voice(1.0))
    place(x, 2.8, voice(0.9))
    place(x, 0.5, chime(0.9))  # 0.5-1.4 s: its last 0.4 s over the note's floor
    b = bounds_of(x)
    # The chime has faded into the note's floor by 1.4 s; the floor, alone
    # in the bands the chime leaves empty, shows where the note began.
    assert 1.0 <= b.start_s <= 1.0 + 0.01
    assert b.end == int(4.0 * SR)


def test_the_notes_floor_is_not_followed_under_a_sound_that_fills_every_band():
    x = np.zeros(int(5 * SR), np.float32)
    place(x, 1.0, noise(3.0, -60, seed=3))
    place(x, 1.5, voice(1.0))
    place(x, 2.8, voice(0.9))
    rng = np.random.default_rng(7)
    n = int(0.9 * SR)
    burst = (0.1 * rng.standard_normal(n) * np.exp(-np.arange(n) / SR / 0.1)).astype(np.float32)
    place(x, 0.5, np.diff(burst, prepend=0).astype(np.float32))  # bright noise, every band
    b = bounds_of(x)
    # Under the burst the floor cannot be told: its loud half is left out,
    # the cut goes no further into the note than where it was, and the
    # voice stays whole.
    assert 0.95 <= b.start_s <= 1.5


def test_a_knock_after_the_notes_floor_has_stopped_is_left_out():
    x = np.zeros(int(5 * SR), np.float32)
    place(x, 1.0, noise(3.0, -60, seed=3))  # the note's floor ends at 4.0 s
    place(x, 1.3, voice(1.0))
    place(x, 2.8, voice(0.9))
    n = int(0.12 * SR)
    knock = tone(0.12, amp=0.3, f=120.0) * np.exp(-np.arange(n) / SR / 0.03)
    place(x, 4.03, knock.astype(np.float32))  # 30 ms of silence, then a dark knock
    b = bounds_of(x)
    assert b.start == int(1.0 * SR)
    assert 4.0 - 0.005 <= b.end_s <= 4.0  # the note's last sample, not the knock


def test_a_note_without_a_floor_of_its_own_keeps_a_sound_after_a_short_silence():
    # No floor to stop: the rule does not apply, and the segmenter's own
    # rules decide (a dark sound 30 ms after a voice could be its end).
    x = np.zeros(int(5 * SR), np.float32)
    place(x, 1.0, voice(3.0))
    n = int(0.12 * SR)
    knock = tone(0.12, amp=0.3, f=120.0) * np.exp(-np.arange(n) / SR / 0.03)
    place(x, 4.03, knock.astype(np.float32))
    b = bounds_of(x)
    assert b.end_s >= 4.03 + 0.05


def test_edge_sounds_are_left_alone_in_a_short_span():
    powers = np.full(200, 1e-6, np.float32)  # 0.5 s: shorter than a note with a floor
    params = TrimParams()
    assert leave_out_edge_sounds(
        powers, 0, 200, -140.0, params, lambda a, b: 0.0, lambda a, b: 9000.0
    ) == (0, 200)
