"""The note's own floor followed outwards to its edge (FloorLook.edge) where
a sound lies over it right up to that edge."""

import numpy as np
import pytest

from loopcap.trim import TrimParams
from loopcap.trim.looks import FloorLook

#: The walk's frames are 2048 samples at 48 kHz: more than a few chunks.
RATE = 48000


def _burst_at_the_edge(seed: int, at_start: bool) -> tuple[FloorLook, int]:
    """A -50 dBFS noise floor 400 chunks long with a 25 ms noise burst (-20
    dBFS) right up to its last chunk (``at_start``: from its first), and a
    FloorLook measured on 80 chunks of the floor alone at the other end."""
    params = TrimParams()
    hop = round(params.hop_s * RATE)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(400 * hop) * 10 ** (-50 / 20)
    n = int(0.025 * RATE)
    x[len(x) - n :] += 0.1 * rng.standard_normal(n)
    x = (x[::-1] if at_start else x).astype(np.float32).copy()
    look = FloorLook(lambda a, b: x[max(a, 0) : b], hop, RATE)
    assert look.measure(320, 400) if at_start else look.measure(0, 80)
    return look, 400


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("at_start", [False, True])
def test_a_floor_held_up_to_a_closed_edge_under_a_burst_fills_it(seed, at_start):
    # The floor is held under the burst up to the edge itself: there is no
    # frame beyond the edge to see it stop in (past the end this indexed one
    # row past the frames read; before the start it read the last row).
    look, b = _burst_at_the_edge(seed, at_start)
    got = look.edge(0, b, TrimParams(), at_start, closed=True)
    assert got is not None and got[0] == "fills"
    assert (got[1] < 30) if at_start else (got[1] > b - 30)


def test_a_floor_held_up_to_a_closed_start_never_reads_the_inner_frame():
    # A 1 kHz tone (-23 dBFS) over the floor's first 25 ms: held up to the
    # note's first chunk, the walk once read its innermost frame (row -1)
    # as the one before the edge and put a cut 5 ms into the tone.
    params = TrimParams()
    hop = round(params.hop_s * RATE)
    x = np.random.default_rng(4).standard_normal(400 * hop) * 10 ** (-50 / 20)
    n = int(0.025 * RATE)
    x[:n] += 0.1 * np.sin(2 * np.pi * 1000 * np.arange(n) / RATE)
    x = x.astype(np.float32)
    look = FloorLook(lambda a, b: x[max(a, 0) : b], hop, RATE)
    assert look.measure(320, 400)
    got = look.edge(0, 400, params, True, closed=True)
    assert got is not None and got[0] == "fills"


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("begins", "tone_ends"), [(5, 7), (6, 8), (7, 8)])
def test_a_floor_that_stops_right_where_it_is_alone_near_the_edge_stops(seed, begins, tone_ends):
    # A -30 dBFS 800 Hz tone over the span's first 17.5-20 ms, the note's
    # floor (-50 dBFS) from 12.5-17.5 ms on, over a -90 dBFS capture floor:
    # the floor is alone from where the tone ends and stops just before it,
    # more than a frame (10.7 ms) but less than 20 ms into the span.  Seen
    # stopping there, not taken for a floor that may go on under the tone
    # (seed 9 mix015: a chime's 4 ms kept).
    params = TrimParams()
    hop = round(params.hop_s * RATE)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(400 * hop) * 10 ** (-90 / 20)
    x[begins * hop :] += rng.standard_normal((400 - begins) * hop) * 10 ** (-50 / 20)
    n = tone_ends * hop
    x[:n] += 10 ** (-30 / 20) * np.sin(2 * np.pi * 800 * np.arange(n) / RATE)
    x = x.astype(np.float32)
    look = FloorLook(lambda a, b: x[max(a, 0) : b], hop, RATE)
    assert look.measure(320, 400)
    got = look.edge(0, 400, params, True)
    assert got is not None and got[0] == "floor"
    assert begins <= got[1] <= begins + 4


def _fade_over_the_tail(seed: int, fades_db_s: float) -> tuple[FloorLook, int]:
    """A note's -50 dBFS noise floor over chunks 0-400 on a -90 dBFS capture
    floor, and from chunk 390 a -20 dBFS noise burst: 0.1 s, then fading out
    at ``fades_db_s`` (dB/s) to the span's end, where it is 40 dB under the
    note's floor; the FloorLook measured on the note's first 80 chunks."""
    params = TrimParams()
    hop = round(params.hop_s * RATE)
    rng = np.random.default_rng(seed)
    b = 430 + round(70 / fades_db_s / params.hop_s)
    x = rng.standard_normal(b * hop) * 10 ** (-90 / 20)
    x[: 400 * hop] += rng.standard_normal(400 * hop) * 10 ** (-50 / 20)
    t = np.maximum(0.0, np.arange((b - 390) * hop) / RATE - 0.1)
    x[390 * hop :] += rng.standard_normal(len(t)) * 10 ** ((-20 - fades_db_s * t) / 20)
    x = x.astype(np.float32)
    look = FloorLook(lambda a, e: x[max(a, 0) : e], hop, RATE)
    assert look.measure(0, 80)
    return look, b


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("fades_db_s", [100.0, 150.0, 300.0])
def test_a_sounds_fade_through_the_floors_levels_is_not_the_floor_at_the_edge(seed, fades_db_s):
    # The burst's fading end passes through the note's floor levels for
    # 20 ms and more after the note: taken for the floor alone up to the
    # span's end, the whole burst was kept (seed 41 mix015).  The floor is
    # followed from where it is alone inside the note, under the burst.
    look, b = _fade_over_the_tail(seed, fades_db_s)
    got = look.edge(0, b, TrimParams(), False)
    assert got is not None and got[0] == "fills" and got[1] < 395, got
