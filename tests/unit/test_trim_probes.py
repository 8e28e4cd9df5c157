"""The background model's probes grown one end at a time (issue 15): a
longer probe that takes in a louder sound at the capture's end may find
another "note" there; its edges must never be mixed with the note's."""

import numpy as np

from loopcap.trim import find_bounds
from loopcap.trim.params import TrimParams

RATE = 400  # chunk powers at 400 per second: the default 2.5 ms hop


def powers_of(spans, seconds=12.0, floor_db=-60.0):
    """Chunk powers: ``floor_db`` with ``(start_s, end_s, db)`` stretches."""
    params = TrimParams()
    levels = np.full(round(seconds / params.hop_s), floor_db)
    for a, b, db in spans:
        levels[round(a / params.hop_s) : round(b / params.hop_s)] = db
    return (10 ** (levels / 10)).astype(np.float32)


def test_a_louder_sound_near_the_end_never_turns_the_note_inside_out():
    # The note at 2-6 s (-30 dB); before it a sound at -40 dB and a louder
    # one at -22 dB; after it two sounds louder than the note, the first
    # 3 s after it.  Probes grown at the start take in the -22 dB sound and
    # find the 9 s sound as the "note": their start lay after the note's
    # end, and the note was lost (start after end).
    p = powers_of(
        [
            (0.0, 0.3, -40.0),
            (0.45, 0.6, -22.0),
            (2.0, 6.0, -30.0),
            (9.0, 9.3, -15.0),
            (11.3, 11.55, -18.0),
        ]
    )
    b = find_bounds(p, RATE, len(p))
    assert b is not None
    assert b.start < b.end
    assert b.start <= 2.0 * RATE and b.end >= 6.0 * RATE  # the whole note kept
