"""The floor's spectrum where sounds lie near both ends of the capture: it
is measured between them and the note (issue 15).  Small synthetic signals
at 8 kHz."""

import numpy as np
from trimsignals import SR, band_noise, bounds_of, hum, noise, place, tone, voice

from loopcap.trim import TrimParams
from loopcap.trim.levels import clear_between, clear_chunks


def chime(seconds, amp=0.3, f=1500.0, decay_s=0.15):
    n = int(seconds * SR)
    return tone(seconds, amp, f) * np.exp(-np.arange(n) / SR / decay_s).astype(np.float32)


def test_a_notes_quiet_first_sound_over_a_hum_is_kept_between_a_click_and_a_chime():
    # A click 0.3 s in, a chime 0.75 s after the note: no stretch lies a
    # second from every sound at either end.  Between the click and the note
    # the hum is alone; over its spectrum the "f" before the voice (under
    # the hum's level, far over its upper bands) is the note's.
    x = hum(4.6, -60)
    place(x, 0.3, noise(0.004, -20, seed=9))
    place(x, 1.5, band_noise(0.1, 2000.0, 4000.0, -66))
    place(x, 1.6, voice(1.4))
    place(x, 3.75, chime(0.3))
    b = bounds_of(x)
    assert b.start_s <= 1.5 + 0.005
    assert b.end_s <= 3.05  # the chime left out


def test_the_floor_between_sounds_keeps_clear_of_them_and_of_the_note():
    params = TrimParams()  # 400 chunks a second
    regions = [(100, 110), (600, 1200), (1500, 1600)]
    assert len(clear_chunks(1800, regions, params)) == 0
    at = clear_between(1800, regions, (580, 1220), params, count=1000)
    assert len(at) > 0
    assert set(at.tolist()) <= set(range(310, 380))  # 0.5 s from the click and the note
    assert clear_between(1800, [], (0, 10), params).size == 0
    assert clear_between(1800, regions, (120, 1490), params).size == 0
