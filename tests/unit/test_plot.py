"""The picture of a cut (:mod:`loopcap.output.plot`) on small synthetic captures:
the boundaries sit where the trimmer put them, in the plot's data and in the
PNG's pixels; what was left out is shaded as left out; nothing is overwritten.

A capture here: a noise floor at -60 dBFS throughout, silence, a voiced
"note" (a 150 Hz pitch with harmonics), silence, a 10 ms click, silence.
"""

import numpy as np
import pytest
from PIL import Image

from loopcap.output.plot import COLOURS, cut_picture, render_cut
from loopcap.trim import LevelMeter, TrimParams

SR = 8000
SIZE = (900, 300)


def voice(seconds, amp=0.2, f0=150.0):
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 20) if f0 * k < SR / 2)
    return (amp * x / np.max(np.abs(x))).astype(np.float32)


def silence(seconds):
    return np.zeros(int(seconds * SR), np.float32)


def click():
    x = np.zeros(int(0.01 * SR), np.float32)
    x[::5] = 0.6
    return x


def capture(parts, seed=0):
    """The parts one after another over a -60 dBFS noise floor; returns the
    capture and where each part starts (frames)."""
    starts, pos = [], 0
    for p in parts:
        starts.append(pos)
        pos += len(p)
    x = np.concatenate(parts)
    x += (np.random.default_rng(seed).standard_normal(len(x)) * 1e-3).astype(np.float32)
    return x, starts


def metered(x):
    meter = LevelMeter(SR, TrimParams())
    for i in range(0, len(x), 3000):  # blocks, as the writer feeds them
        meter.feed(x[i : i + 3000])
    meter.finish()
    return meter, lambda a, b: x[a:b, None]


@pytest.fixture
def one_note():
    """(meter, bounds, start of the note, start of the click) for one note
    and a click after it."""
    x, starts = capture([silence(1.0), voice(1.5), silence(1.5), click(), silence(1.0)])
    meter, read = metered(x)
    bounds = meter.find_bounds(read)
    assert bounds is not None
    assert abs(bounds.start - starts[1]) < 0.01 * SR and abs(bounds.end - starts[2]) < 0.01 * SR
    return meter, bounds, starts[1], starts[3]


def pixels(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_the_png_is_written_at_the_size_asked(tmp_path, one_note):
    meter, bounds, _, _ = one_note
    path = tmp_path / "note.png"
    plot = cut_picture(meter, None, bounds, path, title="note.wav", size=SIZE)
    assert plot.path == path
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == SIZE
    assert (plot.width, plot.height) == SIZE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["note.png"]  # no temporary left
    assert plot.duration_s == pytest.approx(meter.frames / SR)


def test_boundaries_are_drawn_where_the_trimmer_put_them(tmp_path, one_note):
    meter, bounds, _, _ = one_note
    path = tmp_path / "note.png"
    plot = cut_picture(meter, None, bounds, path, size=SIZE)
    ((xa, xb),) = plot.note_x
    # The plot's own mapping, recomputed by hand from its plot area.
    width_px = plot.right - plot.left
    assert xa == plot.left + int(bounds.start_s / plot.duration_s * width_px)
    assert xb == plot.left + int(bounds.end_s / plot.duration_s * width_px)
    # Each column shows the trimmer's time to within one column's width.
    px_s = plot.seconds_per_px
    assert px_s == pytest.approx(plot.duration_s / width_px)
    for x, t in ((xa, bounds.start_s), (xb, bounds.end_s)):
        assert plot.t_of(x) <= t < plot.t_of(x) + px_s + 1e-9
        assert abs(plot.t_of(x) - t) <= px_s
    # And the PNG has the boundary line in exactly those columns, top to bottom.
    img = pixels(path)
    boundary = np.array(COLOURS["boundary"], np.uint8)
    for x in (xa, xb):
        column = img[plot.top : plot.bottom, x]
        assert (column == boundary).all(), x
    mid = (plot.top + plot.bottom) // 2
    for x in (xa - 2, xa + 2, xb - 2, xb + 2):
        assert (img[mid, x] != boundary).any(), x
    boundary_cols = np.flatnonzero((img[plot.top : plot.bottom] == boundary).all(axis=(0, 2)))
    assert boundary_cols.tolist() == [xa, xb]


def test_the_click_is_shaded_as_left_out_and_the_note_as_kept(tmp_path, one_note):
    meter, bounds, note_start, click_start = one_note
    path = tmp_path / "note.png"
    plot = cut_picture(meter, None, bounds, path, size=SIZE)
    click_s = click_start / SR
    # The plot found the click as a sound left out, near where it is.
    assert any(a - 0.02 <= click_s <= b for a, b in plot.left_out_s), plot.left_out_s
    assert all(b <= bounds.start_s or a >= bounds.end_s for a, b in plot.left_out_s)
    x0, x1 = next(span for span, (a, b) in zip(plot.left_out_x, plot.left_out_s, strict=True)
                  if a - 0.02 <= click_s <= b)  # fmt: skip
    assert x0 <= plot.x_of(click_s + 0.005) < x1
    img = pixels(path)
    shade = {COLOURS["left_band"], COLOURS["left_hatch"]}
    # Above the level (the top rows of the plot): the left-out band, hatched.
    top_rows = {
        tuple(int(v) for v in img[y, x])
        for x in range(x0, x1)
        for y in range(plot.top, plot.top + 8)
    }
    assert top_rows <= shade and top_rows, top_rows
    # The click's own level is drawn in the left-out colours too.
    rows = {
        tuple(int(v) for v in img[y, x])
        for x in range(x0, x1)
        for y in range(plot.top, plot.bottom)
    }
    assert COLOURS["left_level"] in rows or COLOURS["left_area"] in rows
    assert not rows & {COLOURS["kept_band"], COLOURS["kept_level"], COLOURS["kept_area"]}
    # The note's columns (inside its boundaries) are on the kept band.
    xa, xb = plot.note_x[0]
    note_top = {tuple(int(v) for v in img[plot.top + 2, x]) for x in range(xa + 1, xb)}
    assert note_top == {COLOURS["kept_band"]}
    # Silence between them is neither.
    x_quiet = plot.x_of((bounds.end_s + click_s) / 2)
    assert tuple(img[plot.top + 2, x_quiet]) not in shade | {COLOURS["kept_band"]}


def test_every_note_of_a_split_is_drawn(tmp_path):
    parts = [silence(0.8), voice(1.0), silence(2.5), voice(1.2, f0=130), silence(2.5)]
    parts += [voice(0.9, f0=170), silence(1.0), click(), silence(0.8)]
    x, starts = capture(parts, seed=3)
    meter, read = metered(x)
    notes = meter.find_notes(read)
    assert len(notes) == 3, [(n.start_s, n.end_s) for n in notes]
    path = tmp_path / "split.png"
    plot = cut_picture(meter, None, notes, path, title="split.wav", size=SIZE)
    assert len(plot.note_x) == 3
    img = pixels(path)
    boundary = np.array(COLOURS["boundary"], np.uint8)
    for note, (xa, xb) in zip(notes, plot.note_x, strict=True):
        for x, t in ((xa, note.start_s), (xb, note.end_s)):
            assert abs(plot.t_of(x) - t) <= plot.seconds_per_px
            assert (img[plot.top : plot.bottom, x] == boundary).all()
        assert tuple(img[plot.top + 20, (xa + xb) // 2]) == COLOURS["kept_band"]
    # The notes in order, each apart from the next.
    flat = [x for pair in plot.note_x for x in pair]
    assert flat == sorted(flat) and len(set(flat)) == 6
    # The click after the last note is left out.
    assert any(a >= notes[-1].end_s for a, _ in plot.left_out_s)


def test_an_existing_file_is_never_overwritten(tmp_path, one_note):
    meter, bounds, _, _ = one_note
    path = tmp_path / "note.png"
    path.write_bytes(b"the user's own file")
    with pytest.raises(FileExistsError):
        cut_picture(meter, None, bounds, path, size=SIZE)
    assert path.read_bytes() == b"the user's own file"
    assert [p.name for p in tmp_path.iterdir()] == ["note.png"]


def test_bare_powers_draw_the_same_as_the_meter(one_note):
    meter, bounds, _, _ = one_note
    img_m, plot_m = render_cut(meter, None, bounds, size=SIZE)
    img_p, plot_p = render_cut(meter.powers, SR, [bounds], frames=meter.frames, size=SIZE)
    assert plot_m == plot_p
    assert np.array_equal(np.asarray(img_m), np.asarray(img_p))
    with pytest.raises(ValueError):
        render_cut(meter.powers, None, bounds)
    with pytest.raises(ValueError):
        render_cut(meter, SR * 2, bounds)


def test_no_note_and_an_empty_capture_still_draw(tmp_path):
    x, _ = capture([silence(2.0)])
    meter, _ = metered(x)
    plot = cut_picture(meter, None, None, tmp_path / "none.png", size=SIZE)
    assert plot.note_x == () and plot.left_out_s == ()
    empty = LevelMeter(SR)
    empty.finish()
    plot = cut_picture(empty, None, None, tmp_path / "empty.png", size=SIZE)
    assert plot.duration_s == 0 and (tmp_path / "empty.png").exists()


def test_a_long_capture_has_clock_labels_and_one_column_per_click():
    hop_s = TrimParams().hop_s
    n = round(20 * 60 / hop_s)  # 20 minutes of chunk powers: floor at -60 dBFS
    powers = np.full(n, 1e-6, np.float32)
    click_at = round(7 * 60 / hop_s)
    powers[click_at : click_at + 4] = 0.25
    _, plot = render_cut(powers, SR, None, size=SIZE)
    labels = [label for _, label in plot.time_ticks]
    assert labels[0] == "0:00" and all(":" in label for label in labels)
    assert "10:00" in labels and "20:00" in labels
    ((x0, x1),) = plot.left_out_x
    assert x1 - x0 == 1 and abs(plot.t_of(x0) - 7 * 60) <= plot.seconds_per_px


def test_the_colours_side_by_side_differ_in_lightness():
    """Kept, left out and quiet, and the lines over them, read in greyscale too."""

    def lightness(rgb):
        return Image.new("RGB", (1, 1), rgb).convert("L").getpixel((0, 0))

    for group in (
        ("kept_level", "left_level", "quiet_level"),
        ("kept_area", "left_area", "quiet_area"),
        ("kept_area", "kept_band"),
        ("left_area", "left_level", "left_band"),
        ("boundary", "kept_level", "kept_band"),
        ("floor", "quiet_level", "quiet_area"),
    ):
        values = sorted(lightness(COLOURS[name]) for name in group)
        assert min(b - a for a, b in zip(values, values[1:], strict=False)) >= 10, (group, values)
