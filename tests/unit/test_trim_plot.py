"""`loopcap trim --plot`: a picture of each cut beside its output, whose
boundary lines sit at the times the JSON reports; a split's one picture shows
every note; a taken name gets "-2"; a failed picture never fails the trim."""

import json

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from loopcap.app.cli import main
from loopcap.output.plot import COLOURS, DEFAULT_SIZE, render_cut
from loopcap.output.reading import analyse_file

SR = 16000


def voice(seconds, amp=0.2, f0=150.0):
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 20) if f0 * k < SR / 2)
    return (amp * x / np.max(np.abs(x))).astype(np.float32)


def silence(seconds):
    return np.zeros(int(seconds * SR), np.float32)


def write(path, parts, seed=0):
    x = np.concatenate(parts)
    x += (np.random.default_rng(seed).standard_normal(len(x)) * 1e-3).astype(np.float32)
    sf.write(path, x, SR, subtype="PCM_24")
    return path


def run_json(capsys, *args):
    code = main(["trim", "--json", *map(str, args)])
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines()]


def boundary_columns(path, top, bottom):
    """The columns drawn in the boundary colour from ``top`` to ``bottom``."""
    with Image.open(path) as im:
        img = np.asarray(im.convert("RGB"))
    boundary = np.array(COLOURS["boundary"], np.uint8)
    return np.flatnonzero((img[top:bottom] == boundary).all(axis=(0, 2))).tolist()


def geometry(src, split=False):
    """The picture's geometry, drawn again from the same analysis."""
    analysis = analyse_file(src, split=split)
    _, plot = render_cut(analysis.meter, None, analysis.notes, size=DEFAULT_SIZE)
    return plot


def near(columns, x):
    return any(abs(c - x) <= 1 for c in columns)


def test_plot_beside_the_output_with_the_boundaries_the_json_reports(tmp_path, capsys):
    src = write(tmp_path / "note.wav", [silence(0.8), voice(1.2), silence(1.0)])
    code, [res] = run_json(capsys, src, "--plot")
    assert code == 0
    png = tmp_path / "note.trimmed.png"
    assert res["plot"] == str(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(png) as im:
        assert im.size == DEFAULT_SIZE
    assert abs(res["start_s"] - 0.8) < 0.02 and abs(res["end_s"] - 2.0) < 0.02
    plot = geometry(src)
    ((a, b),) = plot.notes_s
    assert a == pytest.approx(res["start_s"], abs=1e-4)
    assert b == pytest.approx(res["end_s"], abs=1e-4)
    # The PNG's own pixels: exactly two boundary lines, at the JSON's times.
    cols = boundary_columns(png, plot.top, plot.bottom)
    assert len(cols) == 2, cols
    assert near(cols, plot.x_of(res["start_s"])) and near(cols, plot.x_of(res["end_s"]))


def test_plot_with_a_name_and_never_over_a_file(tmp_path, capsys):
    src = write(tmp_path / "note.flac", [silence(0.5), voice(1.0), silence(0.5)])
    taken = tmp_path / "cut.png"
    taken.write_bytes(b"not mine")
    code, [res] = run_json(capsys, "--plot", taken, src)
    assert code == 0
    assert res["plot"] == str(tmp_path / "cut-2.png")
    assert taken.read_bytes() == b"not mine"
    assert (tmp_path / "cut-2.png").stat().st_size > 1000
    # A name given with several inputs is refused: one picture each is needed.
    other = write(tmp_path / "other.wav", [silence(0.5), voice(1.0), silence(0.5)])
    assert main(["trim", "--plot", str(tmp_path / "x.png"), str(src), str(other)]) == 2


def test_plot_alone_takes_no_input_by_mistake(tmp_path, capsys):
    # "--plot note.wav": the file is an input, not the picture's name.
    src = write(tmp_path / "note.wav", [silence(0.5), voice(1.0), silence(0.5)])
    code = main(["trim", "--plot", str(src)])
    out = capsys.readouterr().out
    assert code == 0
    assert (tmp_path / "note.trimmed.wav").exists()
    assert f"{tmp_path / 'note.trimmed.png'}\tpicture of the cut" in out.splitlines()
    assert main(["trim", "--plot"]) == 2  # and no input at all is a usage error


def test_no_plot_without_the_option(tmp_path, capsys):
    src = write(tmp_path / "note.wav", [silence(0.5), voice(1.0), silence(0.5)])
    code, [res] = run_json(capsys, src)
    assert code == 0 and "plot" not in res
    assert not list(tmp_path.glob("*.png"))


def test_split_gets_one_picture_showing_every_note(tmp_path, capsys):
    parts = [silence(0.8), voice(1.0), silence(2.5), voice(1.2, f0=130), silence(2.5)]
    parts += [voice(0.9, f0=170), silence(1.0)]
    src = write(tmp_path / "three.wav", parts, seed=3)
    code, [res] = run_json(capsys, src, "--split", "--plot")
    assert code == 0
    assert len(res["notes"]) == 3
    png = tmp_path / "three.trimmed.png"
    assert res["plot"] == str(png)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [png.name]
    plot = geometry(src, split=True)
    assert len(plot.notes_s) == 3
    cols = boundary_columns(png, plot.top, plot.bottom)
    assert len(cols) == 6, cols
    for note in res["notes"]:
        assert near(cols, plot.x_of(note["start_s"])) and near(cols, plot.x_of(note["end_s"]))


def test_a_failed_picture_is_a_warning_not_a_failed_trim(tmp_path, capsys):
    src = write(tmp_path / "note.wav", [silence(0.5), voice(1.0), silence(0.5)])
    missing = tmp_path / "no-such-folder" / "cut.png"
    code, [res] = run_json(capsys, "--plot", missing, src)
    assert code == 0
    assert res["plot"] is None
    assert (tmp_path / "note.trimmed.wav").exists()
