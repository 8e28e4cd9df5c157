"""A quiet note's speech after a pause, where little of it rises over the
floor (issue 15): heard with its quiet syllables, over a steady floor, and
where it never formed a sound of its own.  Small synthetic signals at 8 kHz."""

from trimsignals import bounds_of, noise, place, voice


def test_a_sentence_after_a_long_pause_joins_by_its_quiet_syllables():
    # The second sentence (3.6-4.6 s) is heard only as one short loud
    # moment at 4.3 s, 1.9 s after the first: too short to judge as a voice,
    # and further than max_pause_s.  With the quiet syllables after it, it
    # is a voice, and the whole sentence is the note's.
    x = noise(8.0, -50, seed=1)
    place(x, 1.0, voice(1.4))
    place(x, 3.6, voice(1.0, amp=0.01))
    place(x, 4.3, voice(0.012))
    b = bounds_of(x)
    assert b.start_s <= 1.0
    assert b.end_s >= 4.6
