"""``[output] save_plot``: a recording on the fake source saves the picture of
its cut beside the note, drawn from the meter the writer fed; a split gets one
picture of every note; nothing is overwritten; a failed picture fails nothing."""

import dataclasses
import time

import numpy as np
import pytest
from PIL import Image

import loopcap.output.plot
import loopcap.session
from loopcap.config import OutputConfig, load_config
from loopcap.device.fake import FakeSource
from loopcap.errors import ConfigError
from loopcap.output.plot import COLOURS, render_cut
from loopcap.session import Recording

SR = 48000


def record(tmp_path, seconds, signal="burst", split=False, **output):
    out = OutputConfig(dir=str(tmp_path), format="wav", stem="note", **output)
    rec = Recording(FakeSource(signal=signal), out, SR, split=split)
    rec.start()
    time.sleep(max(0.0, rec.t0 + seconds - time.monotonic()))
    return rec, rec.stop(rec.t0 + seconds)


def boundary_columns(path, top, bottom):
    with Image.open(path) as im:
        img = np.asarray(im.convert("RGB"))
    boundary = np.array(COLOURS["boundary"], np.uint8)
    return np.flatnonzero((img[top:bottom] == boundary).all(axis=(0, 2))).tolist()


def test_the_picture_is_saved_beside_the_note_with_its_boundaries(tmp_path):
    rec, saved = record(tmp_path, 1.2, save_plot=True)
    assert saved.path == tmp_path / "note.wav"
    assert saved.plot == tmp_path / "note.png"
    assert saved.as_dict()["plot"] == str(saved.plot)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["note.png", "note.raw.wav", "note.wav"]
    # Drawn from the writer's own meter: the same geometry, and the PNG's
    # boundary lines in the columns of the note the session saved.
    assert rec.writer is not None
    _, plot = render_cut(rec.writer.meter, None, saved.notes)
    assert plot.notes_s == ((saved.bounds.start_s, saved.bounds.end_s),)
    cols = boundary_columns(saved.plot, plot.top, plot.bottom)
    assert cols == [x for pair in plot.note_x for x in pair]
    assert abs(plot.t_of(cols[0]) - saved.bounds.start_s) <= plot.seconds_per_px
    assert abs(plot.t_of(cols[1]) - saved.bounds.end_s) <= plot.seconds_per_px


def test_no_picture_unless_asked(tmp_path):
    _, saved = record(tmp_path, 1.2)
    assert saved.plot is None and saved.as_dict()["plot"] is None
    assert not list(tmp_path.glob("*.png"))


def test_a_taken_name_gets_the_next_number(tmp_path):
    (tmp_path / "note.png").write_bytes(b"someone's picture")
    _, saved = record(tmp_path, 1.2, save_plot=True)
    assert saved.path == tmp_path / "note.wav"
    assert saved.plot == tmp_path / "note-2.png"
    assert (tmp_path / "note.png").read_bytes() == b"someone's picture"


def test_a_split_gets_one_picture_of_every_note(tmp_path, monkeypatch):
    # The fake's bursts are tones, which the voice test refuses as notes of
    # a split: take its two bursts (0.5-1.0 s and 2.5-3.0 s of the device's
    # clock) as two notes, the second found 2 s after the first.
    real = loopcap.session.notes_in_capture

    def two_notes(path, meter, split=False):
        (first,) = real(path, meter, split=False)
        later = dataclasses.replace(first, start=first.start + 2 * SR, end=first.end + 2 * SR)
        return (first, later)

    monkeypatch.setattr(loopcap.session, "notes_in_capture", two_notes)
    rec, saved = record(tmp_path, 3.6, split=True, save_plot=True)
    assert [p.name for p in saved.paths] == ["note-1.wav", "note-2.wav"]
    assert saved.plot == tmp_path / "note.png"
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["note.png"]
    assert rec.writer is not None
    _, plot = render_cut(rec.writer.meter, None, saved.notes)
    cols = boundary_columns(saved.plot, plot.top, plot.bottom)
    assert cols == [x for pair in plot.note_x for x in pair] and len(cols) == 4


def test_a_failed_picture_never_fails_the_save(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(loopcap.output.plot, "cut_picture", broken)
    _, saved = record(tmp_path, 1.2, save_plot=True)
    assert saved.error is None and saved.plot is None
    assert saved.path is not None and saved.path.exists()
    assert not list(tmp_path.glob("*.png")) and not list(tmp_path.glob(".*"))


def test_no_sound_still_shows_the_capture(tmp_path):
    _, saved = record(tmp_path, 0.6, signal="silence", save_plot=True)
    assert saved.path is None
    assert saved.plot == tmp_path / "note.png" and saved.plot.exists()


def test_the_config_key(tmp_path):
    assert OutputConfig().save_plot is False
    path = tmp_path / "c.toml"
    path.write_text("[output]\nsave_plot = true\n")
    assert load_config(path).output.save_plot is True
    for bad in ('"yes"', "1"):
        path.write_text(f"[output]\nsave_plot = {bad}\n")
        with pytest.raises(ConfigError, match=r"output\.save_plot .* true or false"):
            load_config(path)
    with pytest.raises(ConfigError, match=r"output\.save_plot"):
        OutputConfig(save_plot="yes").validate()  # type: ignore[arg-type]
