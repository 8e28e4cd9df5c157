"""A span as the voice detector hears it (loopcap.trim.hearing): at its
rate, read and resampled block by block, the same samples as resampling
it whole."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from loopcap.trim import hearing
from loopcap.trim.hearing import RATE, at_rate
from loopcap.trim.spectrum import mono


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
