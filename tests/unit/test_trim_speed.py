"""The trimmer's shortcuts for speed give what the long way gives, to the bit,
and do less: the floor's reach without ``np.percentile`` (which imports
``numpy.ma``), the quietest stretch from exact running sums, the note's
floor sought only as far as the run nearest the edge, mono frames without
``np.nan_to_num``'s passes."""

import subprocess
import sys

import numpy as np
import pytest
from trimsignals import SR, noise, place, tone

from loopcap.trim import TrimParams, levels
from loopcap.trim.looks import FloorLook
from loopcap.trim.spectrum import mono


def test_percentile_of_is_numpys_to_the_bit():
    rng = np.random.default_rng(0)
    for t in range(2000):
        n = int(rng.integers(1, 2000))
        v = rng.random(n) ** int(rng.integers(1, 8)) * 10.0 ** int(rng.integers(-12, 2))
        if t % 5 == 0:
            v = np.round(v, 2)  # ties
        for q in (95.0, 50.0, 0.0, 100.0, 99.99, float(rng.random() * 100)):
            assert levels.percentile_of(v.copy(), q) == float(np.percentile(v, q))


def test_percentile_of_float32_levels_is_numpys_to_the_bit():
    # The background's levels are float32 dB, where numpy weighs in float32:
    # a float64 weighing differed in the 7th digit on 573 of 766 calls.
    rng = np.random.default_rng(1)
    for _ in range(2000):
        n = int(rng.integers(1, 2000))
        v = (rng.normal(-50, 12, n)).astype(np.float32)
        for q in (80.0, 50.0, 0.0, 100.0, float(rng.random() * 100)):
            got = levels.percentile_of(v.copy(), q)
            assert got == float(np.percentile(v, q))


def test_the_floors_reach_imports_no_masked_arrays():
    # np.percentile imports numpy.ma (6 ms) at its first call in a process.
    code = (
        "import sys, numpy as np\n"
        "from loopcap.trim import TrimParams\n"
        "from loopcap.trim.levels import floor_top_db\n"
        "p = np.random.default_rng(1).random(40000).astype(np.float32)\n"
        "top = floor_top_db(p, [(20000, 20400)], TrimParams(), 0.05)\n"
        "assert top is not None\n"
        "print('numpy.ma' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_note_over_music_imports_no_masked_arrays():
    # The background's rise threshold took np.percentile (and numpy.ma,
    # 6-15 ms of a single note's 0.3 s from the command line).
    code = (
        "import sys, numpy as np\n"
        "sys.path.insert(0, 'tests/unit')\n"
        "from test_trim_background import music, NOTE\n"
        "from trimsignals import bounds_of, place\n"
        "import loopcap.trim.notes as notes\n"
        "over = notes.note_over_background\n"
        "seen = []\n"
        "def spy(*a, **k):\n"
        "    r = over(*a, **k)\n"
        "    seen.append(r)\n"
        "    return r\n"
        "notes.note_over_background = spy\n"
        "b = bounds_of(place(music(8.0, 0.005), 3.0, NOTE))\n"
        "assert b is not None and 2.7 <= b.start_s <= 3.0 and seen\n"
        "print('numpy.ma' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _quietest_the_long_way(powers, params):
    n = levels.window_chunks(params.floor_window_s, params)
    if len(powers) <= n:
        return 0, len(powers)
    sums = np.convolve(powers.astype(np.float32), np.ones(n, np.float32), "valid")
    i = int(np.argmin(sums))
    return i, i + n


def _hiss_powers(n, db, seed):
    rng = np.random.default_rng(seed)
    return (rng.chisquare(240, n) / 240 * 10 ** (db / 10)).astype(np.float32)


@pytest.mark.parametrize("case", range(8))
def test_quietest_is_the_first_least_float32_window_sum(case):
    params = TrimParams()
    rng = np.random.default_rng(case)
    p = _hiss_powers(150_000, -60 - 10 * case, case)
    if case == 1:
        p[70_000:72_000] = 0  # digital silence, after...
        p[60_000:70_000] *= np.float32(1e6)  # ...a loud stretch in the same piece
    if case == 2:
        p[:] = np.float32(1e-7)  # every window ties: the first
    if case == 3:
        p = np.round(p / p.mean(), 1).astype(np.float32) * p.mean()  # many ties
    if case == 4:
        p[rng.integers(0, len(p), 500)] = np.float32(1e-42)  # subnormals
        p[100_000:100_100] = np.float32(1e-42)
    if case == 5:
        p[5_000:5_040] = p[140_000:140_040] = np.float32(1e-9)  # two equal quietest
    if case == 6:
        p = p.astype(np.float64)  # a caller's float64 powers
    if case == 7:
        p = p[:4_000]  # shorter than a piece
    assert levels.quietest(p, params) == _quietest_the_long_way(p, params)


def test_quietest_sums_few_windows_in_float32(monkeypatch):
    summed = []
    convolve = np.convolve

    def counting(a, v, mode="full"):
        out = convolve(a, v, mode)
        summed.append(len(out))
        return out

    monkeypatch.setattr(np, "convolve", counting)
    p = _hiss_powers(300_000, -60, 5)
    quiet = levels.quietest(p, TrimParams())
    monkeypatch.setattr(np, "convolve", convolve)
    assert quiet == _quietest_the_long_way(p, TrimParams())
    assert sum(summed) < 0.01 * len(p)


def _floor_look():
    """A note's floor (-50 dB) with a tone over 1.0-2.2 s, 3 s at 8 kHz,
    and a FloorLook measured on its first 0.2 s; the reads it makes."""
    x = noise(3.0, -50, seed=4)
    place(x, 1.0, tone(1.2, 0.05, 700.0))
    place(x, 2.6, tone(0.1, 0.05, 1200.0))
    reads = []

    def read(a, b):
        reads.append((a, b))
        return x[max(a, 0) : b]

    hop = 20
    look = FloorLook(read, hop, SR)
    assert look.measure(0, int(0.2 * SR / hop))
    return look, reads, len(x) // hop


def _all_runs(look, c0, c1, need, forwards):
    p = look.bands(c0, c1, forwards)
    alone = (p >= look.lo).all(axis=1) & (p <= look.hi).all(axis=1)
    d = np.diff(np.concatenate(([0], alone.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return [(c0 + int(a), c0 + int(b)) for a, b in zip(starts, ends, strict=True) if b - a >= need]


@pytest.mark.parametrize("span", [(0, 600), (380, 1200), (0, 1200), (450, 520)])
def test_the_floor_look_reads_only_up_to_the_run_nearest_the_edge(span):
    look, reads, n = _floor_look()
    c0, c1 = span
    for need in (1, 8, 60):
        runs = _all_runs(look, c0, c1, need, True)
        reads.clear()
        assert look.alone(c0, c1, need, True) == runs[:1]
        if runs and runs[0][1] < c1 - 200:
            assert max(b for _, b in reads) < c1 * 20 - 100 * 20  # not read to c1
        runs = _all_runs(look, c0, c1, need, False)
        reads.clear()
        assert look.alone(c0, c1, need, False) == runs[-1:]
        if runs and runs[-1][0] > c0 + 200:
            assert min(a for a, _ in reads) > c0 * 20 + 100 * 20  # not read back to c0


def test_mono_is_nan_to_num_then_the_mean_to_the_bit():
    rng = np.random.default_rng(2)
    for shape in [(1000,), (1000, 1), (1000, 2), (1000, 3)]:
        for damaged in (False, True):
            x = (rng.standard_normal(shape) * 0.1).astype(np.float32)
            if damaged:
                x.flat[[3, 50, 700]] = [np.nan, np.inf, -np.inf]
            y = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
            want = y.mean(axis=1) if y.ndim == 2 else y
            got = mono(x)
            assert got.dtype == np.float64
            np.testing.assert_array_equal(got, want)


def test_median_of_is_numpys_to_the_bit():
    rng = np.random.default_rng(4)
    for t in range(600):
        dtype = (np.float32, np.float64)[t % 2]
        shape = (int(rng.integers(1, 40)),) if t % 3 else (int(rng.integers(1, 9)), 8)
        x = (rng.standard_normal(shape) * 10.0 ** int(rng.integers(-30, 30))).astype(dtype)
        if t % 5 == 0:
            x = np.round(x, 1)  # ties
        if t % 11 == 0:
            x.flat[0] = np.nan
        for axis in [None] if x.ndim == 1 else [None, 0, 1]:
            got, want = levels.median_of(x, axis=axis), np.asarray(np.median(x, axis=axis))
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want)


def test_chunk_powers_written_into_a_buffer_are_the_same():
    rng = np.random.default_rng(6)
    x = (rng.standard_normal((4800, 2)) * 0.1).astype(np.float32)
    x[130, 1], x[1000, 0], x[2500, 0] = np.nan, np.inf, 3e38  # silence, silence, overflow
    want = levels.chunk_powers(x, 120)
    out = np.full(len(want) + 2, -1.0, np.float32)
    got = levels.chunk_powers(x, 120, out=out[1:-1])
    assert np.shares_memory(got, out)
    np.testing.assert_array_equal(out[1:-1], want)
    assert out[0] == out[-1] == -1.0
    assert want[1] < 1.0 and want[8] < 1.0 and np.isfinite(want).all()


@pytest.mark.parametrize("numpy1", [False, True])
def test_chunk_powers_by_dot_products_are_near_exact(monkeypatch, numpy1):
    if numpy1:
        monkeypatch.setattr(levels, "_vecdot", None)  # numpy 1: einsum
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((48000, 2)) * 10.0 ** rng.uniform(-6, 0, (48000, 1))).astype(
        np.float32
    )
    exact = (x.astype(np.float64).reshape(-1, 240) ** 2).mean(axis=1)
    got = levels.chunk_powers(x, 120)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, exact, rtol=1e-6, atol=0)
    x[500, 0] = np.nan  # counts as silence
    fixed = np.nan_to_num(x[480:600].astype(np.float64))
    assert levels.chunk_powers(x, 120)[4] == pytest.approx((fixed**2).sum() / 240, rel=1e-6)


def test_the_meter_divides_its_sums_when_read_the_same_powers():
    """The meter keeps each block's sums of squares and divides them when
    its powers are read: the same powers, to the bit, as chunk_powers gives
    block by block, with a damaged block (NaN, overflow) between and the
    powers read in the middle of the feeding."""
    from loopcap.trim import LevelMeter

    rng = np.random.default_rng(8)
    x = (rng.standard_normal((48000 * 3, 2)) * 0.05).astype(np.float32)
    x[70_000, 0], x[70_500, 1] = np.nan, 1e30  # NaN: silence; a square that overflows
    blocks = np.split(x, [6_000, 40_000, 69_960, 72_000, 100_000, 100_123])
    meter = LevelMeter(48000, expected_frames=len(x) // 3)  # grows too
    for i, b in enumerate(blocks):
        meter.feed(b)
        if i == 3:
            np.testing.assert_array_equal(meter.powers, levels.chunk_powers(x[:72_000], 120))
    meter.finish()
    want = levels.chunk_powers(x[: len(x) // 120 * 120], 120)
    np.testing.assert_array_equal(meter.powers, want)
    assert meter.powers[70_000 // 120] < 1.0 and np.isfinite(meter.powers).all()


@pytest.mark.parametrize("held", [False, True])
def test_the_meter_grows_its_buffer_in_place_unless_a_view_is_held(held):
    from loopcap.trim import LevelMeter

    rng = np.random.default_rng(9)
    x = (rng.standard_normal((120 * 5000, 2)) * 0.05).astype(np.float32)
    meter = LevelMeter(48000)  # length unknown: starts small, grows
    first = id(meter._buf)  # not the buffer itself: a reference stops its resizing
    views = []
    for b in np.split(x, 50):
        meter.feed(b)
        if held:
            views.append(meter.powers)  # a caller keeps what it read
    assert (id(meter._buf) == first) != held
    np.testing.assert_array_equal(meter.powers, levels.chunk_powers(x, 120))
    for v in views:  # still what they were when read
        np.testing.assert_array_equal(v, levels.chunk_powers(x[: len(v) * 120], 120))


def test_the_meter_divides_each_blocks_sums_by_its_own_width():
    from loopcap.trim import LevelMeter

    rng = np.random.default_rng(10)
    mono_block = (rng.standard_normal(1200) * 0.1).astype(np.float32)
    stereo_block = (rng.standard_normal((2400, 2)) * 0.1).astype(np.float32)
    meter = LevelMeter(48000)
    meter.feed(mono_block)
    meter.feed(stereo_block)
    want = np.concatenate(
        [levels.chunk_powers(mono_block, 120), levels.chunk_powers(stereo_block, 120)]
    )
    np.testing.assert_array_equal(meter.powers, want)


def test_damaged_samples_count_as_silence_without_a_warning():
    """Huge, NaN (quiet and signalling), infinite samples: no RuntimeWarning
    from the meter's dot products and checks, nor from the mono frames
    (a signalling NaN aside, whose cast to float64 always warned)."""
    import warnings

    from loopcap.trim import LevelMeter

    rng = np.random.default_rng(11)
    x = (rng.standard_normal((48000, 2)) * 0.1).astype(np.float32)
    x[1000:1240] = 1e18  # finite, their squares too; a block's sum would overflow
    x[3000, 0] = 1e30  # a square that overflows
    x[5000, 1] = np.nan
    x[7000, 0], x[7000, 1] = np.inf, -np.inf
    x[9000, 0] = np.array([0x7FA00000], np.uint32).view(np.float32)[0]  # signalling NaN
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        meter = LevelMeter(48000)
        for b in np.split(x, 8):
            meter.feed(b)
        meter.finish()
        p = meter.powers
        x[9000, 0] = 0.0  # (the cast to float64 warns of it, as it always has)
        y = mono(x)
    assert np.isfinite(p).all() and p[5000 // 120] < 1.0 and p[9000 // 120] < 1.0
    assert y[5000] == x[5000, 0] / 2 and y[7000] == 0.0 and np.isfinite(y).all()
