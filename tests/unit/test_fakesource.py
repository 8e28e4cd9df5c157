"""The fake source's counter signal and pacing, which the fault tests rely on."""

import time

import numpy as np
import soundfile as sf

from loopcap.config import OutputConfig
from loopcap.device.fake import FakeSource, counter_frames, decode_counter
from loopcap.session import Recording

SR = 48000


def test_counter_positions_survive_wav_and_flac(tmp_path):
    start = (3 << 20) + 12345  # beyond one period of the low channel
    frames = counter_frames(start, 50_000)
    for name, subtype in (("c.wav", "FLOAT"), ("c.flac", "PCM_24")):
        sf.write(tmp_path / name, frames, SR, subtype=subtype)
        back, _ = sf.read(tmp_path / name, dtype="float32")
        assert np.array_equal(decode_counter(back), np.arange(start, start + 50_000)), name


def test_counter_shows_a_missing_or_doubled_block():
    good = counter_frames(0, 4800)
    cut = np.concatenate([good[:1000], good[1480:]])
    doubled = np.concatenate([good[:1480], good[1000:]])
    for damaged in (cut, doubled):
        steps = np.diff(decode_counter(damaged))
        assert np.count_nonzero(steps != 1) == 1


def test_fast_after_and_end_after_pace_the_stream():
    stream = FakeSource(signal="counter", speed=50, fast_after_s=0.3, end_after_s=2.0).open(SR)
    t0 = time.monotonic()
    got = []
    while sum(len(b) for b in got) < int(0.3 * SR):
        got.append(stream.read()[0])
    real_time_part = time.monotonic() - t0
    while sum(len(b) for b in got) < 2 * SR:
        got.append(stream.read()[0])
    took = time.monotonic() - t0
    assert real_time_part >= 0.28, real_time_part  # the first 0.3 s in real time
    assert took < 0.3 + 1.7 / 50 + 0.5, took  # the rest 50 times faster
    positions = decode_counter(np.concatenate(got))
    assert np.array_equal(positions, np.arange(2 * SR))  # exactly 2.0 s, in order


def test_the_trimmer_finds_no_note_in_the_counter(tmp_path):
    rec = Recording(
        FakeSource(signal="counter", speed=4),
        OutputConfig(dir=str(tmp_path), format="wav", stem="c"),
        SR,
    )
    rec.start()
    time.sleep(0.5)
    saved = rec.stop()
    assert saved.path is None and saved.raw_path is not None
    audio, _ = sf.read(saved.raw_path, dtype="float32")
    steps = np.diff(decode_counter(audio))
    assert len(audio) > SR and np.all(steps == 1)
