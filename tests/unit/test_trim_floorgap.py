"""A sound after the note that falls straight to the capture's floor, none
of the note's own floor after it (:mod:`loopcap.trim.floorgap`, through
:func:`~loopcap.trim.ownfloor.floor_limits`), on levels written out by
hand (dBFS per stretch)."""

import numpy as np

from loopcap.trim.floorgap import end_before_gap
from loopcap.trim.ownfloor import floor_limits
from loopcap.trim.params import TrimParams

#: Chunks of 10 ms: the stretches below are whole numbers of them.
COARSE = TrimParams(hop_s=0.01)
OWN = -50.0  # the note's own floor
FLOOR = -80.0  # the capture's


def levels(*stretches: tuple[float, float]) -> np.ndarray:
    """Levels per chunk of ``COARSE`` from (dBFS, seconds) stretches."""
    return np.concatenate([np.full(round(s / COARSE.hop_s), db) for db, s in stretches])


def tail(word_db: float, pause_s: float, trail_s: float) -> tuple[np.ndarray, int]:
    """The note's core (1 s at -10 dBFS), a pause at its own floor, a word,
    its own floor for ``trail_s`` and then the capture's floor: the levels
    and the chunk where the note's floor ends."""
    lv = levels((-10.0, 1.0), (OWN, pause_s), (word_db, 0.5), (OWN, trail_s), (FLOOR, 0.5))
    return lv, len(lv) - round(0.5 / COARSE.hop_s)


def test_a_word_falling_straight_to_the_capture_floor_is_left_out():
    lv, end = tail(-25.0, 0.4, 0.0)
    assert end_before_gap(lv, lv, (0, 100), end, OWN, COARSE) == 140  # the pause's end


def test_a_word_with_the_notes_floor_after_it_is_the_notes():
    lv, end = tail(-25.0, 0.4, 0.12)
    assert end_before_gap(lv, lv, (0, 100), end, OWN, COARSE) == end


def test_a_loud_word_or_one_after_a_short_pause_is_kept():
    lv, end = tail(-20.0, 0.4, 0.0)  # 10 dB under the note's loudest
    assert end_before_gap(lv, lv, (0, 100), end, OWN, COARSE) == end
    lv, end = tail(-25.0, 0.1, 0.0)  # a pause shorter than PAUSE_S
    assert end_before_gap(lv, lv, (0, 100), end, OWN, COARSE) == end


def test_floor_limits_end_the_note_before_that_word():
    # At the default resolution (2.5 ms chunks): the note's core with a
    # pause at its own floor in the middle, then the word after a pause.
    params = TrimParams()
    db = np.concatenate(
        [
            np.full(400, FLOOR),
            np.full(200, -10.0),
            np.full(200, OWN),
            np.full(200, -10.0),
            np.full(160, OWN),  # 0.4 s: the note's floor alone
            np.full(200, -25.0),  # a video's word...
            np.full(400, FLOOR),  # ...then its pause: no floor of the note's
        ]
    )
    powers = (10 ** (db / 10)).astype(np.float32)
    lo, hi = floor_limits(powers, (400, 1000), FLOOR, params)
    assert lo <= 400
    assert 1000 <= hi <= 1165  # was 1360: the word's end
