"""The walks that find a note's edges over a background
(:mod:`loopcap.trim.runs`), on level arrays written out by hand (dBFS per
chunk)."""

import numpy as np

from loopcap.trim.runs import descend, merge, reach, runs_of, walk


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
