"""Where a recording's position 0 lies (session.align_start): pure arithmetic
on stamped blocks, checked against answers worked out by hand."""

import numpy as np
import pytest

from loopcap.capture.reader import Block
from loopcap.session import align_start

SR = 1000  # 1 frame = 1 ms


def block(start_s: float, n: int, late_s: float = 0.0) -> Block:
    """A block of ``n`` frames that began playing at ``start_s`` and arrived
    ``late_s`` after it ended; its frames count the ms they played at."""
    frames = (np.arange(n, dtype=np.float32) + round(start_s * SR))[:, None]
    return Block(start_s + n / SR + late_s, frames)


def first_ms(blocks: list[Block]) -> list[int]:
    return [int(b.frames[0, 0]) for b in blocks]


def test_no_audio_yet_starts_where_asked():
    assert align_start([], 12.5, SR) == (12.5, [], 0)


def test_a_late_stamp_is_corrected_by_the_blocks_after_it():
    # The first block arrived 20 ms late; the next two on time.  Cut at 0.1 s:
    # the kept audio must begin with the frame played at 100 ms, not 120 ms.
    ring = [block(0.0, 250, late_s=0.02), block(0.25, 250), block(0.5, 250)]
    t0, kept, skip = align_start(ring, 0.1, SR)
    assert t0 == pytest.approx(0.1)
    assert first_ms(kept) == [100, 250, 500]
    assert skip == 0


def test_a_gap_in_delivery_is_not_pulled_across():
    # Nothing was delivered from 0.25 s to 1.25 s (an idle device): the block
    # after the gap keeps its own time, and cutting at 1.0 s keeps it whole.
    ring = [block(0.0, 250), block(1.25, 250)]
    t0, kept, skip = align_start(ring, 1.0, SR)
    assert t0 == pytest.approx(1.0)
    assert first_ms(kept) == [1250]
    assert skip == 0


def test_a_ring_that_begins_after_the_asked_start_keeps_the_silence_before_it():
    # The device delivered nothing until 10.0 s (a sink that slept until a
    # note woke it): position 0 stays where asked, the audio keeps its time.
    ring = [block(10.0, 300)]
    t0, kept, _ = align_start(ring, 8.3, SR)
    assert t0 == pytest.approx(8.3)
    assert first_ms(kept) == [10000]


def test_audio_still_in_flight_at_the_start_is_skipped():
    # The last block ended at 0.5 s; position 0 is 0.6 s: the 100 frames played
    # in between arrive later and must be left out.
    ring = [block(0.0, 250), block(0.25, 250)]
    t0, kept, skip = align_start(ring, 0.6, SR)
    assert (t0, kept, skip) == (pytest.approx(0.6), [], 100)


def test_a_device_silent_for_long_has_nothing_in_flight():
    # The last audio ended 3 s before the start: what comes next was played
    # after it, so nothing is skipped.
    ring = [block(0.0, 250)]
    t0, kept, skip = align_start(ring, 3.25, SR)
    assert (t0, kept, skip) == (pytest.approx(3.25), [], 0)
