"""The note's own floor measured for the walk by its spectrum
(edgefloor.floor_measured): a steady stretch, not a chime's faded end."""

import numpy as np
import pytest

from loopcap.trim import TrimParams
from loopcap.trim.edgefloor import (
    edge_clicks,
    fading,
    floor_measured,
    quietest_steady,
    steady,
)
from loopcap.trim.levels import levels_db
from loopcap.trim.looks import FloorLook
from loopcap.trim.ownfloor import quietest_db

RATE = 48000


def _db(x: float) -> float:
    return 10 ** (x / 10)


def test_a_falling_stretch_is_not_steady_and_a_flat_one_is():
    falling = np.repeat([_db(-60), _db(-62), _db(-64), _db(-66)], 10).astype(np.float32)
    flat = np.full(40, _db(-60), np.float32)
    assert not steady(falling)
    assert steady(flat)


def test_a_stretch_fading_all_along_fades_and_a_syllables_end_does_not():
    # A chime's faded end falls part by part (seed 9 mix009: -69.6, -71.8,
    # -74.0, -76.4 dB); a syllable's end and a short pause fall, then rise
    # (seed 13 mix039: -57.4, -58.7, -68.1, -66.2 dB), and a floor holds.
    def parts(*db: float) -> np.ndarray:
        return np.repeat([_db(x) for x in db], 10).astype(np.float32)

    assert fading(parts(-69.6, -71.8, -74.0, -76.4))
    assert not fading(parts(-57.4, -58.7, -68.1, -66.2))
    assert not fading(parts(-60.0, -61.0, -60.5, -61.5))
    # ...nor a syllable's end that stops falling at the floor (seed 4 case107).
    assert not fading(parts(-52.3, -56.3, -60.0, -60.1))


def test_the_quietest_steady_stretch_stands_in_for_a_falling_one_near_it():
    params = TrimParams()
    # 40 chunks (0.1 s) falling from -68 to -77 dB (a chime's faded end),
    # then a floor at -65 dB: the quietest 0.1 s is the fall.
    falling = _db(-68 - 9 * np.arange(40) / 40)
    p = np.concatenate([falling, np.full(120, _db(-65))]).astype(np.float32)
    assert quietest_steady(p, params, (0, 40))[0] >= 30
    # ...but not a steady stretch far above it (a syllable, no floor)...
    p[40:] = _db(-40)
    assert quietest_steady(p, params, (0, 40)) == (0, 40)
    # ...nor one just above it (a syllable's end falling into a pause lies
    # under the syllables near it, seed 4 case107).
    p[40:] = _db(-69)
    assert quietest_steady(p, params, (0, 40)) == (0, 40)


def _note_after_a_faded_chime(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """800 chunks: a 700 Hz chime from -5 dBFS falling 90 dB/s over its
    first 0.8 s over a -95 dBFS floor, the note's own floor (-60 dBFS noise)
    from chunk 300 and its voice (-20 dBFS noise) over chunks 440-560.
    Returns the audio and its chunk powers."""
    params = TrimParams()
    hop = round(params.hop_s * RATE)
    rng = np.random.default_rng(seed)
    n = 800
    t = np.arange(n * hop) / RATE
    x = rng.standard_normal(n * hop) * 10 ** (-95 / 20)
    x += 10 ** ((-5 - 90 * t) / 20) * np.sin(2 * np.pi * 700 * t) * (t < 0.8)
    x[300 * hop :] += rng.standard_normal((n - 300) * hop) * 10 ** (-60 / 20)
    x[440 * hop : 560 * hop] += rng.standard_normal(120 * hop) * 10 ** (-20 / 20)
    x = x.astype(np.float32)
    powers = (x.reshape(n, hop).astype(np.float64) ** 2).mean(axis=1).astype(np.float32)
    return x, powers


@pytest.mark.parametrize("seed", range(3))
def test_the_floor_is_measured_past_a_chimes_faded_end_in_the_middle(seed):
    # The middle half's quietest 0.1 s is the chime's faded end (chunks
    # 260-300, 9 dB down over it): measured there, the note's own frames
    # did not hold it and the floor was not followed at all (seed 9
    # mix009: a chime kept 128 ms before the note).
    params = TrimParams()
    hop = round(params.hop_s * RATE)
    x, powers = _note_after_a_faded_chime(seed)
    a, b = 0, len(powers)
    quarter = (b - a) // 4
    middle = powers[quarter : b - quarter]
    (qa, qb), _ = quietest_db(middle, params)
    assert quarter + qa < 300  # the chime's end
    edge = levels_db(powers, params, frame_s=0.05)
    look = FloorLook(lambda s, e: x[max(s, 0) : e], hop, RATE)
    assert floor_measured(look, powers, a, b, quarter, (qa, qb), -95.0, edge, params)


def _clicked(gap_db: float) -> np.ndarray:
    """200 chunks of a note's floor (-48.5 dB) after a click (-33 dB) on its
    first chunk, whose faded end (``gap_db``) fills the second, and a chunk
    part click, part floor (-50.8 dB) after it."""
    lv = np.full(200, -48.5)
    lv[:3] = [-33.0, gap_db, -50.8]
    return (10 ** (lv / 10)).astype(np.float32)


def _clicks_cut(click_db: list[float], bright_chunks: int, at_start: bool) -> tuple[int, int]:
    """``edge_clicks`` on 200 chunks of a note's floor (-48.5 dB) whose
    first chunks are ``click_db`` (dB each; the last ones reversed to the
    note's end where not ``at_start``), the first ``bright_chunks`` of them
    brighter than ``CLICK_HZ``."""
    lv = np.full(200, -48.5)
    lv[: len(click_db)] = click_db
    powers = (10 ** (lv / 10)).astype(np.float32)
    n = len(powers)
    if not at_start:
        powers = powers[::-1].copy()

    def bright(x: int, y: int) -> float:
        click = (x < bright_chunks) if at_start else (y > n - bright_chunks)
        return 9000.0 if click else 1000.0

    return edge_clicks(powers, 0, n, TrimParams(), bright)


@pytest.mark.parametrize("at_start", [True, False])
def test_a_clicks_bright_faded_end_under_the_floor_is_left_out_with_it(at_start):
    # Seed 2 mix039: the click's last 4 ms, 4 dB under the note's floor and
    # still bright, were kept with it (the note's first sample lies in the
    # chunk after them).
    na, nb = _clicks_cut([-33.0, -52.7, -50.8], 2, at_start)
    assert (na, nb) == ((3, 200) if at_start else (0, 197))


def test_a_dark_chunk_under_the_floor_after_a_click_is_the_floors():
    # Seed 10 mix003: the floor's own chunk 2 dB under its level flickers;
    # dark, it is no part of the click.
    params = TrimParams()
    powers = _clicked(-52.7)
    na, _ = edge_clicks(powers, 0, len(powers), params, lambda x, y: 9000.0 if x < 1 else 1000.0)
    assert na == 1


@pytest.mark.parametrize("at_start", [True, False])
def test_a_click_whose_faded_end_reaches_the_edge_window_is_still_left_out(at_start):
    # A click over the first 12.5 ms (EDGE_CLICK_S is 8 chunks), its bright
    # faded end under the floor over the next two chunks: the walk past that
    # end reaches the window's edge, and the click is still left out (it
    # was kept whole when the chunk after the faded end lay outside it).
    na, nb = _clicks_cut([-33.0] * 5 + [-52.7, -52.7, -50.8], 7, at_start)
    assert (na, nb) == ((8, 200) if at_start else (0, 192))
