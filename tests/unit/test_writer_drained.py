"""A stop in silence ends as soon as the device's drain says nothing more is
coming (an empty block from the capture thread), not after the writer's stop
grace; audio up to the stop is kept either way."""

from __future__ import annotations

import os
import queue
import time

import numpy as np
import soundfile as sf

from loopcap.capture.reader import Block
from loopcap.writer.partial import STOP_GRACE_S, PartialWriter

SR = 48000


def stop_in_silence(tmp_path, name: str, drained: bool) -> tuple[float, float, int]:
    """Record 0.2 s of a tone, then silence (the device delivers nothing),
    then stop; returns (seconds finish() took, seconds from t0 to the stop,
    frames in the file)."""
    path = tmp_path / f"{name}.partial.wav"
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    blocks: queue.Queue = queue.Queue()
    t0 = time.monotonic()
    writer = PartialWriter(path, fd, SR, 2, t0, blocks)
    writer.start()
    tone = np.full((SR // 5, 2), 0.25, np.float32)
    blocks.put(Block(t0 + 0.2, tone))
    time.sleep(0.3)
    t_stop = time.monotonic()
    writer.stop_at(t_stop)
    if drained:
        blocks.put(Block(time.monotonic(), np.zeros((0, 2), np.float32)))
    began = time.monotonic()
    result = writer.finish()
    took = time.monotonic() - began
    writer.release()
    assert result.frames == sf.info(str(path)).frames
    return took, t_stop - t0, result.frames


def test_a_drain_that_found_nothing_ends_the_stop_at_once(tmp_path):
    took, until, frames = stop_in_silence(tmp_path, "drained", drained=True)
    assert took < STOP_GRACE_S / 2, f"finish took {took * 1000:.0f} ms"
    assert frames == round(until * SR), "the file lasts until the stop"


def test_without_it_the_writer_waits_its_grace_for_audio_in_flight(tmp_path):
    took, until, frames = stop_in_silence(tmp_path, "waited", drained=False)
    assert took >= STOP_GRACE_S * 0.9, f"finish took {took * 1000:.0f} ms"
    assert frames == round(until * SR)


def test_an_empty_block_before_the_stop_is_not_an_end(tmp_path):
    """An empty block stamped before the stop (a drain of an earlier
    recording on the same capture) neither ends this one nor counts as audio."""
    path = tmp_path / "early.partial.wav"
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    blocks: queue.Queue = queue.Queue()
    t0 = time.monotonic()
    writer = PartialWriter(path, fd, SR, 2, t0, blocks)
    writer.start()
    blocks.put(Block(t0 + 0.05, np.zeros((0, 2), np.float32)))
    blocks.put(Block(t0 + 0.2, np.full((SR // 5, 2), 0.25, np.float32)))
    time.sleep(0.3)
    writer.stop_at()
    result = writer.finish()
    writer.release()
    data, _ = sf.read(str(path), dtype="float32")
    assert result.frames >= SR // 5 and np.abs(data[: SR // 5] - 0.25).max() < 1e-6
