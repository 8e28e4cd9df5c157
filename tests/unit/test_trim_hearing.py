"""A span as the voice detector hears it (loopcap.trim.hearing): at its
rate, read and resampled block by block, the same samples as resampling
it whole."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import soxr

from loopcap.trim import hearing, judge
from loopcap.trim.hearing import RATE, pieces_at_rate
from loopcap.trim.spectrum import mono


def at_rate(read, start: int, end: int, samplerate: int) -> np.ndarray:
    """The span's pieces at the detector's rate, joined."""
    return np.concatenate(list(pieces_at_rate(read, start, end, samplerate)))


@pytest.mark.parametrize(
    ("samplerate", "channels", "dtype"),
    [
        (48000, 2, np.float32),
        (96000, 2, np.float32),
        (8000, 2, np.float32),
        (44100, 2, np.float32),
        (44100, 1, np.float32),
        (48000, 3, np.float32),
        (22050, 2, np.float64),
    ],
)
def test_a_span_is_resampled_block_by_block_to_the_same_samples_as_whole(
    samplerate, channels, dtype
):
    rng = np.random.default_rng(samplerate + channels)
    frames = 3 * hearing.BLOCK + 1234  # several blocks and a short last one
    x = (0.3 * rng.standard_normal((frames, channels))).astype(dtype)
    reads = []

    def read(a: int, b: int) -> np.ndarray:
        reads.append(b - a)
        return x[a:b]

    start, end = 777, frames - 55
    whole = soxr.resample(mono(x[start:end]), samplerate, RATE).astype(np.float32)
    got = at_rate(read, start, end, samplerate)
    assert got.dtype == np.float32
    assert np.array_equal(got, whole)
    assert max(reads) == hearing.BLOCK and sum(reads) == end - start


def test_a_damaged_block_is_heard_as_the_trimmer_reads_it():
    # NaN and infinite samples count as silence, as everywhere in the trimmer.
    x = np.full((5000, 2), 0.25, np.float32)
    x[100:200, 0] = np.nan
    x[300, 1] = np.inf
    got = at_rate(lambda a, b: x[a:b], 0, len(x), 48000)
    assert np.isfinite(got).all()
    assert np.array_equal(got, soxr.resample(mono(x), 48000, RATE).astype(np.float32))


def test_an_empty_span_gives_no_samples():
    assert len(at_rate(lambda a, b: np.zeros((b - a, 2), np.float32), 10, 10, 48000)) == 0


def _reader(x: np.ndarray, calls: list):
    def read(a: int, b: int) -> np.ndarray:
        calls.append(threading.get_ident())
        return x[a:b]

    return read


def _helpers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "loopcap-hearing"]


def test_the_span_heard_ahead_is_the_span_at_rate_read_by_one_helper_thread():
    rng = np.random.default_rng(3)
    x = (0.3 * rng.standard_normal((20 * hearing.BLOCK + 99, 2))).astype(np.float32)
    calls: list[int] = []
    start, end = 500, len(x) - 7
    with hearing.heard_ahead(_reader(x, calls), start, end, 48000) as pieces:
        got = np.concatenate(list(pieces))
    assert np.array_equal(got, at_rate(lambda a, b: x[a:b], start, end, 48000))
    # Every read on one thread, not the caller's, and that thread ended.
    assert len(calls) == -(-(end - start) // hearing.BLOCK) and len(set(calls)) == 1
    assert calls[0] != threading.get_ident()
    assert not _helpers()


def test_leaving_early_stops_the_helper_before_the_caller_reads_again():
    # The capture's reader is one file handle: once the block is left,
    # nothing reads through it but the caller.
    x = np.zeros((100 * hearing.BLOCK, 2), np.float32)
    calls: list[int] = []
    with hearing.heard_ahead(_reader(x, calls), 0, len(x), 48000) as pieces:
        next(pieces)
        time.sleep(0.05)  # the helper fills its queue and waits
    assert not _helpers()
    read = len(calls)
    assert read <= hearing.AHEAD + 3  # a few pieces ahead, not the whole span
    time.sleep(0.05)
    assert len(calls) == read


def test_a_failing_read_fails_in_the_caller():
    x = np.zeros((5 * hearing.BLOCK, 2), np.float32)

    def read(a: int, b: int) -> np.ndarray:
        if a >= 2 * hearing.BLOCK:
            raise OSError("the disk went away")
        return x[a:b]

    got = []
    with pytest.raises(OSError, match="disk went away"):
        with hearing.heard_ahead(read, 0, len(x), 48000) as pieces:
            got.extend(pieces)
    assert len(got) == 2  # the pieces read before it
    assert not _helpers()


def test_the_detector_hears_pieces_as_it_hears_the_whole_to_the_bit():
    # The blocks the model runs are the same whatever the pieces' sizes:
    # so are the probabilities, whole and where it stops early.
    rng = np.random.default_rng(8)
    y = (0.05 * rng.standard_normal(judge.RATE * 20 + 300)).astype(np.float32)
    whole = judge.speech_probs(y)
    assert whole is not None and len(whole) == len(y) // judge.WINDOW
    cuts = np.sort(rng.choice(len(y), 40, replace=False))
    pieces = np.split(y, cuts)
    assert np.array_equal(judge.speech_probs(iter(pieces)), whole)
    settled = judge.speech_probs(iter(pieces), settled=lambda p: len(p) >= 100)
    assert settled is not None and np.array_equal(settled, whole[: len(settled)])
    assert 100 <= len(settled) < 100 + judge.FIRST_BLOCK
    assert len(judge.speech_probs(iter([y[:100], y[100:300]]))) == 0  # no whole window
