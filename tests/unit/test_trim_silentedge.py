"""A note's bounds moved in to the sample over digital silence
(silentedge.silent_edges): the silent samples at either end left out, never
a sample that holds anything (seed 17 mix003: a click's silent tail kept)."""

import numpy as np
import pytest

from loopcap.trim.levels import chunk_powers
from loopcap.trim.params import MIN_DB
from loopcap.trim.silentedge import MAX_MOVE, silent_edges


def _note(rms_db: float, seed: int = 0) -> np.ndarray:
    """1,000 frames of silence, 4,000 of a noise floor at ``rms_db`` dBFS
    (never within -110 dBFS of zero), 1,000 of silence."""
    rng = np.random.default_rng(seed)
    floor = rng.standard_normal(4000) * 10 ** (rms_db / 20)
    floor = np.where(np.abs(floor) < 3e-6, 3e-6, floor)
    return np.concatenate([np.zeros(1000), floor, np.zeros(1000)]).astype(np.float32)


def _read(x: np.ndarray):
    return lambda a, b: x[max(a, 0) : b]


@pytest.mark.parametrize("rms_db", [-50.0, -94.0])
def test_the_bounds_move_in_over_silence_to_the_notes_first_and_last_sample(rms_db):
    x = _note(rms_db)
    assert silent_edges(_read(x), 880, 5120, MIN_DB) == (1000, 5000)


def test_a_sounds_float_traces_after_the_note_count_as_silence():
    # Seed 17 mix003: after the note's last sample a click's silent tail,
    # -134 dBFS at most, was kept with it (4.5 ms past its end).
    x = _note(-60.0)
    x[5000:5200] = 2e-7 * np.sign(np.sin(np.arange(200)))
    assert silent_edges(_read(x), 1000, 5240, MIN_DB)[1] == 5000


def test_a_floor_of_float_traces_is_digital_silence_too():
    # A capture floor measured at -135 dBFS (float mixing's traces, under a
    # 24-bit capture's least step): its samples lie within SILENT_AMP of
    # zero, and the bounds go to the note's first and last sample, as over
    # zeros.  Where no room is kept either (room.py): one threshold for both.
    x = _note(-60.0)
    x[:1000] = x[5000:] = 2e-7 * np.sign(np.sin(np.arange(1000)))
    assert silent_edges(_read(x), 880, 5120, -135.0) == (1000, 5000)
    assert silent_edges(_read(x), 880, 5120, -125.0) == (880, 5120)


def test_nothing_moves_over_a_floor_that_is_not_digital_silence():
    # The same silent samples at the edges, but the capture's floor measured
    # at -96 dBFS (a dither): they are not taken for digital silence.
    x = _note(-60.0)
    assert silent_edges(_read(x), 880, 5120, -96.0) == (880, 5120)


def test_a_read_that_is_not_what_the_meter_measured_moves_nothing():
    # libsndfile's seek in an Ogg Vorbis file may land frames off: what is
    # read at the edge is then not what the meter measured there, and the
    # end moved into the note (16 ms of its voice cut).
    x = _note(-50.0)
    powers = chunk_powers(x, 20)
    assert silent_edges(_read(x), 880, 5120, MIN_DB, powers, 20) == (1000, 5000)
    late = lambda a, b: x[a + 300 : b + 300]  # noqa: E731 - a seek 300 frames off
    assert silent_edges(late, 880, 5120, MIN_DB, powers, 20) == (880, 5120)


def test_a_span_of_silence_alone_stays_as_given():
    x = np.zeros(6000, np.float32)
    assert silent_edges(_read(x), 100, 900, MIN_DB) == (100, 900)


def test_an_end_with_only_silence_for_max_move_frames_stays():
    x = np.zeros(20000, np.float32)
    x[10000:11000] = 0.01
    far = 10000 - MAX_MOVE - 10
    assert silent_edges(_read(x), far, 11000 + MAX_MOVE - 1, MIN_DB) == (far, 11000)
    assert silent_edges(_read(x), 10000, 11000 + MAX_MOVE, MIN_DB) == (10000, 11000 + MAX_MOVE)
    assert silent_edges(_read(x), 10000 - MAX_MOVE + 1, 11000, MIN_DB) == (10000, 11000)


def test_a_stereo_frame_holds_something_when_either_channel_does():
    x = np.zeros((3000, 2), np.float32)
    x[1000:2000, 0] = 0.01
    x[900:1000, 1] = 0.01
    assert silent_edges(_read(x), 500, 2500, MIN_DB) == (900, 2000)
