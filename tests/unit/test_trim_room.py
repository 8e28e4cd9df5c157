"""Room before a voice that rises out of the capture's floor (issue 15): a
little of the floor kept where the note's own floor is buried, never where
that floor shows or where another sound lies."""

import numpy as np
from trimsignals import bounds_of, noise, place, tone, voice

from loopcap.trim import TrimParams
from loopcap.trim.room import ROOM_S, with_room

P = TrimParams()
ROOM = round(ROOM_S / P.hop_s)  # chunks


def _powers(db_runs):
    """Chunk powers from (dB, chunks) runs, with a little chunk-to-chunk
    spread as a hiss has."""
    rng = np.random.default_rng(0)
    db = np.concatenate([np.full(n, v, np.float64) for v, n in db_runs])
    db += rng.uniform(-0.5, 0.5, len(db))
    return (10 ** (db / 10)).astype(np.float32)


def test_a_voice_rising_out_of_the_floor_gets_room_at_both_edges():
    # Hiss at -50 dB, a note whose pause lies at the hiss (its floor buried).
    p = _powers([(-50, 400), (-20, 200), (-50, 80), (-22, 200), (-50, 400)])
    assert with_room(p, 400, 880, -50.5, P) == (400 - ROOM, 880 + ROOM)


def test_no_room_where_the_notes_own_floor_shows_in_its_pause():
    # The same note, its own floor 10 dB over the hiss in the pause: its
    # edges are its floor's.
    p = _powers([(-50, 400), (-20, 200), (-40, 80), (-22, 200), (-50, 400)])
    assert with_room(p, 400, 880, -50.5, P) == (400, 880)


def test_no_room_where_the_edge_is_the_notes_floor_and_not_its_voice():
    # The note begins with 0.1 s of its own floor 8 dB over the hiss, then
    # the voice: the edge found is the floor's, nothing rises within 50 ms.
    p = _powers([(-50, 400), (-42, 40), (-20, 200), (-50, 80), (-22, 200), (-50, 400)])
    assert with_room(p, 400, 920, -50.5, P)[0] == 400


def test_room_stops_at_another_sound_and_at_the_bounds_given():
    # A click 5 ms before the note: the room ends where it sounds.
    p = _powers([(-50, 390), (-20, 2), (-50, 8), (-20, 200), (-50, 80), (-22, 200), (-50, 400)])
    a, b = with_room(p, 400, 880, -50.5, P)
    assert 392 <= a < 400  # short of the click (chunks 390-391, its frame's spread)
    assert b == 880 + ROOM
    # A neighbouring note's edge (lo, hi) is never passed, nor an edge the
    # caller says a sound was left out at.
    assert with_room(p, 400, 880, -50.5, P, lo=398, hi=884) == (398, 884)
    assert with_room(p, 400, 880, -50.5, P, clear=lambda side: side == 0) == (a, 880)


def test_a_note_over_a_louder_hiss_keeps_room_before_its_voice():
    # End to end: a device's hiss at -50 dBFS, the note's own floor 15 dB
    # under it; its voice begins at 1.0 s and ends at 2.3 s.
    x = noise(3.5, -50, seed=1)
    place(x, 0.7, noise(2.0, -65, seed=2))  # the note, 0.7-2.7 s, buried
    place(x, 1.0, voice(0.5))
    place(x, 1.8, voice(0.5, 0.07))
    b = bounds_of(x)
    assert 1.0 - ROOM_S - 0.003 <= b.start_s <= 1.0 - ROOM_S + 0.006
    assert 2.3 + ROOM_S - 0.006 <= b.end_s <= 2.3 + ROOM_S + 0.01


def test_no_room_beside_a_sound_that_is_no_voice():
    # The same capture with a tone's two bursts in place of the voice (a
    # chime kept as the note): what rises at its edges is no voice, and
    # the edges stay where it rises and falls.
    x = noise(3.5, -50, seed=1)
    place(x, 0.7, noise(2.0, -65, seed=2))
    place(x, 1.0, tone(0.6, 0.05, 700.0))
    place(x, 1.8, tone(0.5, 0.04, 700.0))
    b = bounds_of(x)
    assert 1.0 - 0.003 <= b.start_s <= 1.0 + 0.003
    assert 2.3 - 0.003 <= b.end_s <= 2.3 + 0.003


def test_no_room_over_a_floor_of_digital_silence():
    # Float traces at -135 dBFS (a sound's silent end, seed 17 mix003): no
    # voice lies buried under them, and room there would be error alone.
    p = _powers([(-135, 400), (-20, 200), (-135, 80), (-22, 200), (-135, 400)])
    assert with_room(p, 400, 880, -125.5, P) == (400 - ROOM, 880 + ROOM)  # a floor, not silence
    assert with_room(p, 400, 880, -135.5, P) == (400, 880)
