"""The per-application mixer, with numbers to check by hand.

At 100 frames a second one frame is 10 ms; the epoch is 0, so a frame's
position is its time in hundredths of a second.
"""

from __future__ import annotations

import numpy as np
import pytest

from loopcap.device.base import run_start
from loopcap.device.mixer import FILL_S, GAP_S, MARGIN_S, Mixer
from loopcap.writer.timeline import run_start as writer_run_start

SR = 100


def ones(n: int, value: float = 1.0) -> np.ndarray:
    return np.full((n, 1), value, np.float32)


def test_the_writer_and_the_mixer_place_runs_by_the_same_rule():
    assert writer_run_start is run_start
    # 10 frames arrived at 1.0 s, 10 more at 1.05 s: the second bound is earlier.
    assert run_start([(1.0, 10), (1.05, 10)], SR) == pytest.approx(0.85)


def test_a_stream_is_placed_by_its_arrival_then_follows_its_cursor():
    mix = Mixer(SR, 1, epoch=0.0)
    mix.add("a", ones(25), t=1.25)  # 0.25 s of audio read at 1.25 s: began at 1.00 s
    mix.add("a", ones(25, 0.5), t=1.52)  # the next read, 20 ms late: still right after
    ((frames, t_last),) = mix.take(until=200)
    assert len(frames) == 50
    assert t_last == pytest.approx(1.50)  # the last frame's time, not the read's
    assert frames[:25, 0].tolist() == [1.0] * 25 and frames[25:, 0].tolist() == [0.5] * 25


def test_two_streams_at_once_add_up_sample_by_sample():
    mix = Mixer(SR, 1, epoch=0.0)
    mix.add("a", ones(20, 0.25), t=1.20)  # frames 100..119
    mix.add("b", ones(10, 0.5), t=1.20)  # frames 110..119
    ((frames, t_last),) = mix.take(until=200)
    assert t_last == pytest.approx(1.20)
    assert frames[:10, 0].tolist() == [0.25] * 10
    assert frames[10:, 0].tolist() == [0.75] * 10


def test_nothing_is_handed_over_past_a_flowing_stream_or_the_margin():
    mix = Mixer(SR, 1, epoch=0.0)
    mix.add("a", ones(20), t=1.20)  # cursor at 120
    assert mix.safe_until(now=1.20) == round((1.20 - MARGIN_S) * SR)  # 110
    assert mix.safe_until(now=2.00) == 120  # a's next data goes at 120
    ((frames, t_last),) = mix.take(until=mix.safe_until(1.20))
    assert len(frames) == 10 and t_last == pytest.approx(1.10)
    ((frames, t_last),) = mix.take(until=mix.safe_until(2.00))
    assert len(frames) == 10 and t_last == pytest.approx(1.20)
    assert mix.take(until=mix.safe_until(2.00)) == []  # nothing played since
    assert not mix.holding


def test_a_short_pause_is_handed_over_as_zeros_and_a_long_one_not_at_all():
    mix = Mixer(SR, 1, epoch=0.0)
    mix.add("a", ones(10), t=1.10)  # 1.00-1.10
    mix.end("a")
    mix.add("b", ones(10), t=1.40)  # 1.30-1.40: a pause of 0.2 s < FILL_S
    mix.end("b")
    late = round(1.10 * SR + FILL_S * SR) + 50  # well after FILL_S
    mix.add("c", ones(10), t=(late + 10) / SR)
    blocks = mix.take(until=None)
    assert len(blocks) == 2
    (first, t1), (second, t2) = blocks
    assert first[:, 0].tolist() == [1.0] * 10 + [0.0] * 20 + [1.0] * 10
    assert t1 == pytest.approx(1.40)
    # The writer places this one by its stamp, as a new run.
    assert len(second) == 10 and t2 == pytest.approx((late + 10) / SR)


def test_a_pause_across_two_hand_overs_is_filled_with_zeros_too():
    mix = Mixer(SR, 1, epoch=0.0)
    mix.add("a", ones(10), t=1.10)
    mix.end("a")
    assert len(mix.take(until=mix.safe_until(1.35))) == 1  # up to 1.25: frames 100..109
    mix.add("b", ones(10), t=1.40)
    ((frames, t_last),) = mix.take(until=None)
    assert frames[:, 0].tolist() == [0.0] * 20 + [1.0] * 10  # 1.10..1.30 zeros, then b
    assert t_last == pytest.approx(1.40)


def test_a_stream_that_stops_delivering_is_placed_anew_when_it_resumes():
    mix = Mixer(SR, 1, epoch=0.0)
    mix.add("a", ones(10), t=1.10)
    mix.add("a", ones(0), t=1.10 + GAP_S)  # an empty read: the run ended
    assert mix.flowing == 0
    mix.add("a", ones(10), t=3.10)  # resumes: placed at 3.00, not at 1.10
    blocks = mix.take(until=None)
    assert [round(t, 2) for _, t in blocks] == [1.10, 3.10]


def test_data_that_falls_behind_the_wall_clock_starts_a_new_run():
    mix = Mixer(SR, 1, epoch=0.0)
    mix.add("a", ones(10), t=1.10)
    mix.add("a", ones(10), t=2.10)  # would end at 1.20 by the cursor: 0.9 s late
    blocks = mix.take(until=None)
    assert [round(t, 2) for _, t in blocks] == [1.10, 2.10]


def test_a_run_whose_place_was_handed_over_comes_late_rather_than_lost():
    mix = Mixer(SR, 1, epoch=0.0)
    assert mix.take(until=150) == []
    mix.add("a", ones(10), t=1.50)  # began at 1.40, but up to 1.50 is handed over
    ((frames, t_last),) = mix.take(until=None)
    assert len(frames) == 10 and t_last == pytest.approx(1.60)
    assert mix.shifted == 10 and mix.dropped == 0


def test_stereo_frames_keep_their_channels():
    mix = Mixer(48000, 2, epoch=10.0)
    left_right = np.tile(np.array([[0.1, -0.2]], np.float32), (480, 1))
    mix.add(7, left_right, t=10.5)
    ((frames, t_last),) = mix.take(until=None)
    assert frames.shape == (480, 2) and frames.dtype == np.float32
    assert np.allclose(frames, left_right) and t_last == pytest.approx(10.5)
