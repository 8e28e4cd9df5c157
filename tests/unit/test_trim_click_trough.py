"""A click's faded end in a hum's trough, under the capture's floor
(looks.Brightness.under_floor, edgefloor.edge_clicks): bright as it is, and
left out with the click (seed 3 mix021)."""

import numpy as np
import pytest

from loopcap.trim import TrimParams
from loopcap.trim.edgefloor import edge_clicks
from loopcap.trim.looks import Brightness

RATE = 48000
HOP = 120


def _hum_with_a_faint_tone(tone_hz: float) -> np.ndarray:
    """0.5 s of a 50 Hz hum (-30 dBFS RMS), then a 2.5 ms chunk of a faint
    ``tone_hz`` tone alone (-50 dBFS RMS, under the hum's level)."""
    t = np.arange(RATE // 2) / RATE
    hum = np.sqrt(2) * 10 ** (-30 / 20) * np.sin(2 * np.pi * 50 * t)
    tone = np.sqrt(2) * 10 ** (-50 / 20) * np.sin(2 * np.pi * tone_hz * t[:HOP])
    return np.concatenate([hum, tone]).astype(np.float32)


@pytest.mark.parametrize("tone_hz", [6000.0, 9000.0])
def test_a_bright_span_under_the_floor_is_bright_as_it_is(tone_hz):
    x = _hum_with_a_faint_tone(tone_hz)
    b = Brightness(lambda s, e: x[s:e], (0, 100), HOP, RATE)
    last = len(x) // HOP - 1
    assert b(last, last + 1) == 0.0  # above the floor's, nothing is left
    assert b.under_floor(last, last + 1) == pytest.approx(tone_hz, rel=0.05)


def test_a_hiss_own_quiet_chunk_is_not_bright_under_it():
    # A hiss is as bright as its quietest chunks: only twice the floor's own
    # brightness counts under it.
    rng = np.random.default_rng(3)
    x = (10 ** (-40 / 20) * rng.standard_normal(RATE // 2)).astype(np.float32)
    x[-HOP:] *= 0.5
    b = Brightness(lambda s, e: x[s:e], (0, 100), HOP, RATE)
    last = len(x) // HOP - 1
    assert b.floor_hz > 5000.0
    assert b.under_floor(last, last + 1) == 0.0


class _Trough:
    """Chunk 0 a click (9,000 Hz over the floor); chunk 1 its faded end in a
    hum's trough: nothing over the floor, 5,400 Hz as it is."""

    def __call__(self, x: int, y: int) -> float:
        return 9000.0 if x < 1 else 0.0

    def under_floor(self, x: int, y: int) -> float:
        return 5400.0 if x == 1 else 0.0


def test_a_clicks_faded_end_in_a_hums_trough_is_left_out_with_it():
    # Seed 3 mix021: the click's last 2.5 ms, 16 dB under the hum, kept with
    # the note's start.  The cut goes right after it: reached only in the
    # hum's trough, it may end where the note begins, in the chunk after
    # (cut too, the note lost 3.1 ms of its own floor there).
    lv = np.full(200, -57.0)
    lv[:3] = [-45.0, -73.1, -65.6]
    powers = (10 ** (lv / 10)).astype(np.float32)
    na, _ = edge_clicks(powers, 0, len(powers), TrimParams(), _Trough())
    assert na == 2
    # Seen only above the floor, it was the hum's: the cut went after the click.
    na, _ = edge_clicks(powers, 0, len(powers), TrimParams(), lambda x, y: _Trough()(x, y))
    assert na == 1
