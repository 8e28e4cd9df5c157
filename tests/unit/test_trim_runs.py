"""The walks that find a note's edges over a background
(:mod:`loopcap.trim.runs`), on level arrays written out by hand (dBFS per
chunk)."""

import numpy as np

from loopcap.trim.runs import descend, merge, reach, rises, runs_of, walk


def test_runs_are_merged_across_short_gaps_and_reached_outwards():
    mask = np.array([0, 1, 1, 0, 0, 1, 0, 0, 0, 1], bool)
    assert runs_of(mask) == [(1, 3), (5, 6), (9, 10)]
    assert merge(runs_of(mask), 2) == [[1, 6, 3], [9, 10, 1]]
    assert reach(runs_of(mask), 5, 6, 2) == (1, 6)
    assert reach(runs_of(mask), 5, 6, 3) == (1, 10)


def test_the_walk_takes_in_dips_and_quieter_syllables_after_a_pause():
    edge = np.array([-60, -30, -30, -50, -20, -20, -60, -60, -60, -45, -60], float)
    long = np.array([-60, -40, -40, -40, -25, -25, -50, -50, -50, -35, -50], float)
    assert walk(edge, 4, 6, -40.0, long, 100.0, 5, 1) == (1, 6)
    assert walk(edge, 4, 6, -40.0, long, -38.0, 5, 1) == (1, 10)


def test_the_descent_follows_a_fall_and_stops_where_the_level_rises_again():
    # Backwards from chunk 8: the onset falls (-20, -30, -38, -44), wobbles
    # of 2 and 4 dB are still the fall, a rise of 9 dB is another sound.
    edge = np.array([-60, -35, -40, -44, -42, -44, -38, -30, -20], float)
    assert descend(edge, 8, -1, -50.0, 6.0) == 2
    # ...and never past where it reaches the background's median.
    assert descend(edge, 8, -1, -41.0, 6.0) == 6
    # Forwards, the same.
    assert descend(edge[::-1].copy(), 0, 1, -50.0, 6.0) == 6


def test_a_note_rises_from_its_onset_and_fades_until_a_sound_rises_again():
    # Levels per chunk (short and long alike): another voice's word at
    # chunks 1-2 (-30 dBFS) just before the note's onset, which falls back
    # from its loudest (chunks 6-8) to -44 dBFS at chunk 3; after it, the
    # fade falls to -46 dBFS at chunk 12, then another word rises (-28).
    edge = np.array([-50, -30, -30, -44, -36, -25, -15, -15, -15, -25, -35, -42, -46, -28, -28])
    edge = edge.astype(float)
    start, fade = rises(edge, edge, 0, (6, 9), (-20.0, -20.0), 100.0, -48.0, 3, 1, 6.0)
    assert (start, fade) == (3, 13)  # the word before and the word after left out
    # Never earlier than where the walk over the background's median stopped.
    assert rises(edge, edge, 5, (6, 9), (-20.0, -20.0), 100.0, -48.0, 3, 1, 6.0)[0] == 5


def test_after_the_note_only_syllables_over_the_end_bar_are_its_own():
    # The note (chunks 4-8, its loudest -15 dBFS) then, after a dip to -45
    # dBFS at chunk 9, another voice's word (chunks 10-12, -30 dBFS, 2 dB
    # over the most it reached on the probes), then its fade.  Over the bar
    # before the note (-33 dBFS) the word is one of the note's syllables and
    # the fade runs on to chunk 15; over the bar after it (-28 dBFS) the
    # note's fade stops at its dip, where the word rises.
    edge = np.array(
        [-50, -50, -50, -40, -20, -15, -15, -15, -25, -45, -30, -30, -30, -40, -44, -46], float
    )
    low = rises(edge, edge, 0, (5, 8), (-33.0, -33.0), 100.0, -48.0, 3, 1, 6.0)
    assert low == (3, 16)
    high = rises(edge, edge, 0, (5, 8), (-33.0, -28.0), 100.0, -48.0, 3, 1, 6.0)
    assert high == (3, 10)  # the start as before; the end before the word
