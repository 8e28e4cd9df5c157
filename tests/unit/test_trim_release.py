"""A word-final stop's release after its closure (issue 15).  Small
synthetic signals at 8 kHz."""

import pytest
from trimsignals import band_noise, bounds_of, hum, place, voice


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
