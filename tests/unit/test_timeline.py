"""The wall-clock timeline: hand-checkable numbers at 1000 Hz."""

import pytest

from loopcap.writer.timeline import Timeline, run_start


def test_silence_until_never_negative_and_before_t0_clamps():
    tl = Timeline(1000, t0=5.0)
    tl.advance(3000)  # ahead of the clock (a burst of buffered audio)
    assert tl.silence_until(6.0) == 0
    assert tl.silence_until(9.5) == 1500
    assert tl.frames_at(4.0) == 0  # before t0 clamps to 0


def test_a_run_ends_at_its_last_arrival_when_every_block_came_on_time():
    # Three 10 ms blocks that arrived exactly as they ended.
    assert run_start([(2.01, 10), (2.02, 10), (2.03, 10)], 1000) == pytest.approx(2.0)


def test_a_late_stamp_does_not_move_the_run():
    # The first block was read 40 ms after it arrived; the later ones time it.
    assert run_start([(2.05, 10), (2.02 + 0.0, 10), (2.03, 10)], 1000) == pytest.approx(2.0)
    # A late last block changes nothing either: the earliest bound wins.
    assert run_start([(2.01, 10), (2.02, 10), (2.5, 10)], 1000) == pytest.approx(2.0)


def test_a_batch_of_buffered_audio_began_its_length_before_it_arrived():
    # A woken sink hands over 0.25 s at once.
    assert run_start([(7.25, 250)], 1000) == pytest.approx(7.0)
