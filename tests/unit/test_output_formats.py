"""What saved files are like: the voicenote format, loudness, tags, split names;
and hands-free `loopcap record --arm` on the fake source."""

import json
import os

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from loopcap.app.cli import main
from loopcap.formats import FORMATS
from loopcap.output.encode import Converter
from loopcap.trim.loudness import LoudnessMeter

SR = 48000


def speechy(seconds, sr=SR, amp=0.1, seed=0, channels=2):
    """A 200 Hz buzz with syllable-like bursts (4 per second), in noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    env = np.clip(np.sin(2 * np.pi * 2 * t), 0, 1) ** 2
    x = amp * env * (np.sin(2 * np.pi * 200 * t) + 0.5 * np.sin(2 * np.pi * 600 * t))
    x += rng.standard_normal(len(t)) * amp * 0.01
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


@pytest.mark.parametrize("sr,channels", [(48000, 2), (16000, 1), (44100, 2)])
def test_loudness_meter_agrees_with_pyloudnorm(sr, channels):
    x = speechy(6.3, sr, channels=channels)
    meter = LoudnessMeter(sr, channels)
    for piece in np.array_split(x, 13):  # in odd blocks, as a file is read
        meter.feed(piece)
    reference = pyloudnorm.Meter(sr).integrated_loudness(x if channels > 1 else x[:, 0])
    assert meter.lufs == pytest.approx(reference, abs=0.1)


def test_loudness_of_silence_and_of_a_blip_is_minus_infinity():
    m = LoudnessMeter(SR, 2)
    m.feed(np.zeros((SR, 2), np.float32))
    assert m.lufs == float("-inf")
    m = LoudnessMeter(SR, 2)
    m.feed(np.ones((SR // 10, 2), np.float32) * 0.1)  # 100 ms: no 400 ms block
    assert m.lufs == float("-inf")


def test_converter_makes_finite_16k_mono_from_48k_stereo_with_nan():
    x = speechy(1.0)
    x[100:200] = np.nan
    x[300] = np.inf
    conv = Converter(SR, 2, FORMATS["voicenote"].target)
    out = np.concatenate([conv.push(b) for b in np.array_split(x, 5)] + [conv.flush()])
    assert out.shape[1] == 1 and np.isfinite(out).all()
    assert abs(len(out) - 16000) <= 2


def note_file(tmp_path, name="note.wav", gap_s=1.0, n=1, amp=0.1):
    parts = [np.zeros((int(0.5 * SR), 2), np.float32)]
    for k in range(n):
        parts += [speechy(2.0, amp=amp, seed=k), np.zeros((int(gap_s * SR), 2), np.float32)]
    path = tmp_path / name
    sf.write(path, np.concatenate(parts), SR, subtype="FLOAT")
    return path


def test_trim_to_voicenote_is_opus_16k_mono_tagged(tmp_path, capsys):
    src = note_file(tmp_path)
    assert main(["trim", "--format", "voicenote", "--json", str(src)]) == 0
    (res,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    out = tmp_path / "note.trimmed.ogg"
    assert res["output"] == str(out)
    with sf.SoundFile(out) as f:
        assert (f.format, f.subtype, f.samplerate, f.channels) == ("OGG", "OPUS", 16000, 1)
        assert f.frames / f.samplerate == pytest.approx(res["kept_s"], abs=0.03)
        tags = f.copy_metadata()
    assert tags["software"].startswith("loopcap")
    assert f"duration {res['kept_s']:.2f} s" in tags["comment"]
    if os.name == "posix":  # Windows has no such modes (its profile is private)
        assert (out.stat().st_mode & 0o777) == 0o600


def test_normalize_lufs_brings_a_quiet_note_to_the_target(tmp_path):
    src = note_file(tmp_path, amp=0.01)  # about -40 LUFS
    assert main(["trim", "--normalize-lufs", "-23", "-o", str(tmp_path / "n.wav"), str(src)]) == 0
    x, sr = sf.read(tmp_path / "n.wav", dtype="float32")
    assert pyloudnorm.Meter(sr).integrated_loudness(x) == pytest.approx(-23, abs=0.5)
    assert np.abs(x).max() <= 10 ** (-1 / 20) + 1e-4


def test_normalize_never_clips(tmp_path):
    src = note_file(tmp_path, amp=0.3)
    assert main(["trim", "--normalize-lufs", "-5", "-o", str(tmp_path / "n.wav"), str(src)]) == 0
    x, _ = sf.read(tmp_path / "n.wav", dtype="float32")
    assert np.abs(x).max() == pytest.approx(10 ** (-1 / 20), abs=2e-3)


def test_trim_split_writes_numbered_notes(tmp_path, capsys):
    src = note_file(tmp_path, n=3, gap_s=0.8)
    assert main(["trim", "--split", "--json", str(src)]) == 0
    (res,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    names = [n["output"] for n in res["notes"]]
    assert names == [str(tmp_path / f"note.trimmed-{k}.wav") for k in (1, 2, 3)]
    for k, n in enumerate(res["notes"]):
        # Each note: 2 s of sound starting 0.5 + k * 2.8 s in; its silent edges out.
        assert n["start_s"] == pytest.approx(0.5 + 2.8 * k, abs=0.2)
        assert n["kept_s"] == pytest.approx(1.75, abs=0.25)
        assert sf.info(n["output"]).duration == pytest.approx(n["kept_s"], abs=0.001)


@pytest.fixture
def fake(monkeypatch, tmp_path):
    monkeypatch.setenv("LOOPCAP_BACKEND", "fake")
    for k, v in {
        "XDG_CONFIG_HOME": "c",
        "XDG_STATE_HOME": "s",
        "XDG_CACHE_HOME": "k",
        "XDG_DATA_HOME": "d",
    }.items():
        monkeypatch.setenv(k, str(tmp_path / v))


def test_record_arm_waits_for_sound_and_stops_after_silence(fake, monkeypatch, tmp_path, capsys):
    # Fake device: a tone burst at 0.5-1.0 s of every 2 s: 1.5 s of silence after each.
    monkeypatch.setenv("LOOPCAP_FAKE", "signal=burst")
    cfg = tmp_path / "arm.toml"
    cfg.write_text("[arm]\nstop_after_silence_s = 1.0\n[capture]\npreroll_s = 0.5\n")
    out = tmp_path / "out"
    code = main(["record", "--arm", "--config", str(cfg), "--out-dir", str(out), "--json"])
    assert code == 0
    saved = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # One burst, then 1 s of silence: the capture is short, and the note is the burst.
    assert saved["kept_s"] == pytest.approx(0.5, abs=0.01)
    assert saved["duration_s"] < 3.5
    x, sr = sf.read(saved["path"], dtype="float32")
    assert np.abs(x).max() > 0.1


def test_a_copy_that_must_be_whole_fails_rather_than_come_out_short(tmp_path):
    # Frames past the end of the source cannot decode: with whole=True (the
    # raw capture, a saved note) that is an error and nothing is written, so
    # the caller keeps its source; otherwise what decodes is copied.
    from loopcap.output.export import write_span

    src = tmp_path / "src.wav"
    sf.write(src, np.full((1000, 2), 0.1, np.float32), 48000, subtype="FLOAT")
    dst = tmp_path / "out.flac"
    with pytest.raises(OSError, match="only to frame 1000 of 2000"):
        write_span(src, dst, 0, 2000, FORMATS["flac"].target, whole=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src.wav"]
    write_span(src, dst, 0, 2000, FORMATS["flac"].target)
    assert sf.info(dst).frames == 1000
