"""The background model's probes grown one end at a time (issue 15): the
order in which they grow (each probe first, then the other; the note's end
stands where the probes grown either way put it earliest), and a longer
probe that takes in a louder sound at the capture's end, which may find
another "note" there, whose edges must never be mixed with the note's."""

import numpy as np
import pytest

from loopcap.trim import TrimParams, find_bounds
from loopcap.trim import background as bg


def test_each_probe_grows_first_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # Probes of 0.3 s (120 chunks) find the note, its walk ending at 1,100
    # and its fade at 1,000.  Grown at the start first (240, 120), the end
    # probe can no longer grow (240, 240 finds nothing): the fade stays at
    # 1,000.  Grown at the end first (120, 240), it holds more of the
    # background after the note, and the fade found is earlier, 900.
    fades = {(120, 120): 1000, (240, 120): 1000, (120, 240): 900}

    def tried(edge, long, probes, best, params, relaxed=False, touch=False):
        if probes not in fades:
            return None, False
        return ((200, 1200), (300, 800), 1100, 190, -60.0, fades[probes]), False

    monkeypatch.setattr(bg, "_tried", tried)
    levels = np.full(2000, -60.0)
    levels[300:800] = -20.0  # the note's loudest group
    probe, found = bg._probed(levels, levels, TrimParams())
    assert probe == 120 and found is not None
    assert found[2] == 900  # the end probe grown first; 1,000 the other way only
    # An end at a fade's limit holds the note's floor already: no pad.
    assert found[0] == (200, 900)
    # Where what the grown probe's end leaves out comes within NOTE_NEAR_DB
    # of the note's loudest (a sentence of the note's own, 26 s of a long
    # note over a video's voice on seed 9 long010), the end stays the walk's.
    levels[1020:1090] = -20.0 - bg.NOTE_NEAR_DB + 1.0
    found = bg._probed(levels, levels, TrimParams())[1]
    assert found is not None and found[2] == 1100
    # ...and there, short of every fade's limit, the pad follows it.
    assert found[0] == (200, 1100 + round(bg.PAD_S / TrimParams().hop_s))


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
