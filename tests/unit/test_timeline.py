"""The wall-clock timeline: hand-checkable numbers at 1000 Hz."""

from loopcap.writer.timeline import Timeline


def test_steady_delivery_inserts_nothing():
    tl = Timeline(1000, t0=10.0, resync_s=0.1)
    # 10 ms blocks arriving with up to 50 ms of jitter: never padded.
    for i, jitter in enumerate([0.0, 0.05, 0.0, 0.03, 0.0]):
        t = 10.0 + (i + 1) * 0.01 + jitter
        assert tl.silence_before(t, 10) == 0
        tl.advance(10)
    assert tl.position == 50


def test_gap_is_filled_so_the_block_ends_at_its_arrival_time():
    tl = Timeline(1000, t0=0.0, resync_s=0.1)
    tl.advance(100)  # 0.1 s written
    # A 10 ms block arrives at 2.0 s: 1.89 s of silence goes before it.
    assert tl.silence_before(2.0, 10) == 1890
    tl.advance(1890 + 10)
    assert tl.position == 2000


def test_shortfall_below_resync_is_left_alone():
    tl = Timeline(1000, t0=0.0, resync_s=0.1)
    assert tl.silence_before(0.1, 10) == 0  # 90 frames short: not more than 100
    assert tl.silence_before(0.2, 10) == 190


def test_silence_until_never_negative_and_late_blocks_are_kept():
    tl = Timeline(1000, t0=5.0)
    tl.advance(3000)  # ahead of the clock (a burst of buffered audio)
    assert tl.silence_until(6.0) == 0
    assert tl.silence_before(6.0, 500) == 0
    assert tl.silence_until(9.5) == 1500
    assert tl.frames_at(4.0) == 0  # before t0 clamps to 0
