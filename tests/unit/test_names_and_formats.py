"""The shared rules of saving: the format table, the names a stem yields and
the one "-N" rule, the RIFF chunk walker, the one save loop, the trash."""

import datetime as dt
import os

import numpy as np
import pytest
import soundfile as sf

from loopcap import naming
from loopcap.config import OutputConfig, check_normalize_lufs
from loopcap.errors import ConfigError
from loopcap.formats import CAPTURE_FORMATS, FORMATS, SAVED_EXTS, capture_target, raw_target
from loopcap.trim import Bounds
from loopcap.writer.riff import chunks, read_fmt, wave_kind

SR = 48000


# ------------------------------------------------------------ formats


def test_the_table_gives_the_capture_and_trim_formats():
    assert CAPTURE_FORMATS == ("wav", "flac", "ogg", "mp3", "voicenote")
    assert sorted(FORMATS) == sorted([*CAPTURE_FORMATS, "opus"])
    # A capture keeps every bit of the float stream; a converted file keeps
    # the input's subtype when the container stays (None).
    assert capture_target("wav").subtype == "FLOAT"
    assert capture_target("flac").subtype == "PCM_24"
    assert FORMATS["wav"].file_target.subtype is None
    vn = capture_target("voicenote")
    assert (vn.format, vn.subtype, vn.ext, vn.samplerate, vn.mono) == (
        "OGG",
        "OPUS",
        "ogg",
        16000,
        True,
    )
    # The lossy 16 kHz voicenote keeps its raw capture as FLAC; others as themselves.
    assert raw_target("voicenote") == capture_target("flac")
    assert raw_target("mp3") == capture_target("mp3")
    assert SAVED_EXTS == (".wav", ".flac", ".ogg", ".mp3")


def test_config_and_cli_take_their_formats_from_the_table():
    from loopcap.app.cli import build_parser

    with pytest.raises(ConfigError, match="allowed are wav, flac, ogg, mp3, voicenote"):
        OutputConfig(format="opus").validate()
    parser = build_parser()
    assert parser.parse_args(["trim", "x.wav", "--format", "opus"]).format == "opus"
    with pytest.raises(SystemExit):
        parser.parse_args(["record", "--format", "opus"])


def test_one_lufs_check_with_each_callers_message():
    check_normalize_lufs(0)
    check_normalize_lufs(-16)
    with pytest.raises(ConfigError) as exc:
        check_normalize_lufs(-3)
    assert str(exc.value) == (
        "config key output.normalize_lufs = -3 is invalid: "
        "it must be from -60 to -5 (LUFS), or 0 to leave levels alone."
    )
    with pytest.raises(ConfigError) as exc:
        check_normalize_lufs(-70.5, "--normalize-lufs")
    assert str(exc.value) == "--normalize-lufs -70.5 is invalid: give -60 to -5 (LUFS), or 0"
    with pytest.raises(ConfigError):
        check_normalize_lufs(float("nan"), "--normalize-lufs")


# ------------------------------------------------------------ names


def test_every_name_a_stem_yields():
    assert naming.partial_name("a") == "a.partial.wav"
    assert naming.stem_of_partial("a.b.partial.wav") == "a.b"
    with pytest.raises(ValueError):
        naming.stem_of_partial("a.wav")
    assert naming.raw_stem("a") == "a.raw"
    assert [naming.note_name("a.ogg", "ogg", k, 1) for k in (1,)] == ["a.ogg"]
    assert [naming.note_name("a.ogg", "ogg", k, 3) for k in (1, 2, 3)] == [
        "a-1.ogg",
        "a-2.ogg",
        "a-3.ogg",
    ]
    assert naming.note_name("x.trimmed.ogg", "ogg", 2, 2) == "x.trimmed-2.ogg"
    assert naming.note_name("out.wav", "ogg", 2, 2) == "out.wav-2.ogg"  # -o with another format
    assert naming.trimmed_name("in", "flac") == "in.trimmed.flac"
    assert naming.temporary_name("a.flac", 42) == ".a.flac.42.tmp"
    assert naming.is_temporary_of(naming.temporary_name("a.raw.flac"), "a")
    assert not naming.is_temporary_of(".ab.raw.flac.1.tmp", "a")


@pytest.mark.posix  # symlinks need privileges on Windows
def test_the_one_dash_n_rule(tmp_path):
    assert [naming.numbered("a", n) for n in (1, 2, 3)] == ["a", "a-2", "a-3"]
    assert naming.unique_path(tmp_path, "a", ".wav") == tmp_path / "a.wav"
    (tmp_path / "a.wav").touch()
    os.symlink(tmp_path / "nowhere", tmp_path / "a-2.wav")  # dangling: still taken
    assert naming.unique_path(tmp_path, "a", ".wav") == tmp_path / "a-3.wav"
    # claim: a name taken meanwhile (FileExistsError) moves on; others are raised.
    tries = []

    def make(stem):
        tries.append(stem)
        if stem != "b-4":
            raise FileExistsError(stem)
        return stem

    assert naming.claim("b", make, taken=lambda s: s == "b-2") == "b-4"
    assert tries == ["b", "b-3", "b-4"]
    with pytest.raises(PermissionError):
        naming.claim("c", lambda s: (_ for _ in ()).throw(PermissionError(s)))


def test_render_stem_lives_in_naming():
    assert naming.render_stem("n-{now:%Y}", dt.datetime(2026, 1, 2)) == "n-2026"
    with pytest.raises(ValueError, match="partial"):
        naming.render_stem("x.partial")


# ------------------------------------------------------------ RIFF


def test_the_chunk_walker_finds_fmt_and_data_in_wav_and_rf64(tmp_path):
    for kind in ("WAV", "RF64"):
        path = tmp_path / f"a.{kind}.wav"
        sf.write(path, np.zeros((100, 2), np.float32), SR, format=kind, subtype="FLOAT")
        with open(path, "rb") as f:
            assert wave_kind(f.read(12)) == (b"RIFF" if kind == "WAV" else b"RF64")
            found = {c.id: c for c in chunks(f)}
            fmt = read_fmt(f, found[b"fmt "])
        assert (fmt.channels, fmt.rate, fmt.block_align, fmt.bits) == (2, SR, 8, 32)
        assert os.path.getsize(path) - found[b"data"].offset == 100 * 8
        assert (b"ds64" in found) == (kind == "RF64")
    assert wave_kind(b"OggS" + bytes(8)) is None


def test_the_chunk_walker_stops_at_a_cut_header_and_at_its_limit(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, np.zeros((10, 1), np.float32), SR, subtype="FLOAT")
    data = path.read_bytes()
    path.write_bytes(data[:16])  # the fmt chunk's header cut in half
    with open(path, "rb") as f:
        assert list(chunks(f)) == []
    with open(tmp_path / "cut.wav", "wb") as f:
        f.write(data)
    with open(tmp_path / "cut.wav", "rb") as f:
        assert len(list(chunks(f, limit=1))) == 1


# ------------------------------------------------------------ the save loop


def _source(tmp_path, seconds=1.0):
    src = tmp_path / "cap.partial.wav"
    t = np.arange(int(seconds * SR)) / SR
    x = (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    sf.write(src, np.stack([x, x], axis=1), SR, subtype="FLOAT")
    return src


def test_save_capture_names_notes_never_overwrites_and_keeps_the_raw(tmp_path):
    from loopcap.output.save import save_capture

    src = _source(tmp_path)
    (tmp_path / "cap-1.flac").touch()  # taken: the first note becomes cap-1-2.flac
    notes = (Bounds(0, SR // 4, -90.0, SR), Bounds(SR // 2, SR, -90.0, SR))
    when = dt.datetime(2026, 1, 2, 3, 4, 5)
    paths, raw = save_capture(src, notes, tmp_path, "cap", "flac", when, SR)
    assert [p.name for p in paths] == ["cap-1-2.flac", "cap-2.flac"]
    assert raw.name == "cap.raw.flac" and not src.exists()
    assert sf.info(paths[1]).frames == SR // 2
    with sf.SoundFile(paths[0]) as f:
        assert f.title == "cap-1-2" and "captured 2026-01-02 03:04:05" in f.comment
    assert sf.info(raw).frames == SR


def test_save_capture_without_keep_drops_the_partial_and_voicenote_raw_is_flac(tmp_path):
    from loopcap.output.save import save_capture

    src = _source(tmp_path)
    note = (Bounds(0, SR // 2, -90.0, SR),)
    paths, raw = save_capture(src, note, tmp_path, "c", "wav", dt.datetime.now(), SR, keep=False)
    assert [p.name for p in paths] == ["c.wav"] and raw is None and not src.exists()
    src = _source(tmp_path)
    paths, raw = save_capture(
        src, (), tmp_path, "v", "voicenote", dt.datetime.now(), SR, keep=False
    )
    assert paths == () and raw.name == "v.raw.flac"  # no note: the capture is kept anyway


def test_write_notes_stops_at_a_taken_name_with_which_one(tmp_path):
    from loopcap.formats import Target
    from loopcap.output.save import SaveFailed, note_paths, write_notes

    src = _source(tmp_path)
    first = tmp_path / "x.trimmed.wav"
    outs = note_paths(first, "wav", 2)
    assert [p.name for p in outs] == ["x.trimmed-1.wav", "x.trimmed-2.wav"]
    outs[1].touch()
    notes = (Bounds(0, 100, -90.0, SR), Bounds(200, 300, -90.0, SR))
    with pytest.raises(SaveFailed) as exc:
        write_notes(src, zip(outs, notes, strict=True), Target("WAV", "PCM_16", "wav"))
    assert exc.value.dst == outs[1] and isinstance(exc.value.cause, FileExistsError)
    assert sf.info(outs[0]).frames == 100  # the note before it stays


# ------------------------------------------------------------ the trash


def test_a_cancelled_rescued_capture_is_trashed_where_it_is(tmp_path):
    from loopcap.app.controller import Controller
    from loopcap.config import Config
    from loopcap.session import Saved

    out = tmp_path / "out"
    rescue = tmp_path / "rescue"
    out.mkdir()
    rescue.mkdir()
    (rescue / "trash").mkdir()
    (rescue / "trash" / "n.wav").touch()  # taken in the trash: the next is n-2.wav
    for name in ("n.wav", "n.raw.wav"):
        (rescue / name).write_bytes(b"x")
    saved = Saved(
        rescue / "n.raw.wav",
        1.0,
        -6.0,
        SR,
        2,
        paths=(rescue / "n.wav",),
        notes=(Bounds(0, 10, -90.0, SR),),
    )
    assert saved.path == rescue / "n.wav" and saved.bounds == saved.notes[0]
    Controller(Config(output=OutputConfig(dir=str(out))))._to_trash(saved)
    assert sorted(p.name for p in (rescue / "trash").iterdir()) == ["n-2.wav", "n.raw.wav", "n.wav"]
    assert sorted(p.name for p in rescue.iterdir()) == ["trash"]
    assert list(out.iterdir()) == []
