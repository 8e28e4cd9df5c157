"""`loopcap trim` on real files: formats, names, bad inputs, exit statuses."""

import hashlib
import json
import os

import numpy as np
import pytest
import soundfile as sf

from loopcap.app.cli import main

SR = 48000


def note_signal(sr=SR, channels=2):
    t = np.arange(int(1.0 * sr)) / sr
    body = 0.3 * np.sin(2 * np.pi * 300 * t)
    x = np.concatenate([np.zeros(int(0.5 * sr)), body, np.zeros(int(0.7 * sr))])
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_json(capsys, *args):
    code = main(["trim", "--json", *map(str, args)])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return code, lines


@pytest.mark.parametrize(
    "ext, fmt, subtype, sr, tol",
    [
        ("wav", "WAV", "PCM_16", 48000, 0.003),
        ("flac", "FLAC", "PCM_16", 44100, 0.003),
        ("ogg", "OGG", "VORBIS", 48000, 0.03),
        ("opus", "OGG", "OPUS", 16000, 0.03),  # WhatsApp's notes
        ("mp3", "MP3", "MPEG_LAYER_III", 44100, 0.06),
    ],
)
def test_formats_keep_rate_channels_and_format(tmp_path, capsys, ext, fmt, subtype, sr, tol):
    src = tmp_path / f"note.{ext}"
    channels = 1 if ext == "opus" else 2
    sf.write(src, note_signal(sr, channels), sr, format=fmt, subtype=subtype)
    before = digest(src)
    code, [res] = run_json(capsys, src)
    assert code == 0
    out = tmp_path / f"note.trimmed.{ext}"
    assert res["output"] == str(out)
    assert abs(res["start_s"] - 0.5) < tol
    if ext == "opus":
        # Opus's decoder rings down after an abrupt stop (-47 dB falling to
        # -136 dB over 0.5 s, measured): that tail is part of the sound here.
        assert 1.5 - tol < res["end_s"] < 2.05
    else:
        assert abs(res["end_s"] - 1.5) < tol
    info = sf.info(str(out))
    assert (info.samplerate, info.channels, info.format) == (sr, channels, fmt)
    assert abs(info.duration - (res["end_s"] - res["start_s"])) < 0.06
    assert digest(src) == before
    if os.name == "posix":  # Windows has no such modes (its profile is private)
        assert oct(os.stat(out).st_mode & 0o777) == "0o600"


def test_an_mp3_is_copied_sample_for_sample_as_it_decodes(tmp_path, capsys):
    """libsndfile's MP3 decoder restarts without its bit reservoir on every
    seek, and python-soundfile seeks after every read: read in blocks, a
    sine came out with zeros and wrong samples (0.5 off).  The note saved
    from an MP3 (as WAV) is what the whole file decodes to over the
    span kept, sample for sample (to 16-bit rounding)."""
    src = tmp_path / "note.mp3"
    t = np.arange(3 * SR) / SR
    sweep = 0.3 * np.sin(2 * np.pi * (200 + 300 * t) * t) * (t > 0.5) * (t < 2.5)
    sf.write(src, np.repeat(sweep[:, None], 2, axis=1).astype(np.float32), SR, format="MP3")
    code, [res] = run_json(capsys, src, "--format", "wav")
    assert code == 0
    whole, sr = sf.read(src, dtype="float32", always_2d=True)  # one read: no seek
    out, _ = sf.read(res["output"], dtype="float32", always_2d=True)
    start = round(res["start_s"] * sr)
    assert len(out) == round(res["end_s"] * sr) - start
    # PCM_16, the WAV default: within a step of 16-bit rounding
    assert np.max(np.abs(out - whole[start : start + len(out)])) <= 2 / 32768


def test_format_conversion_and_out_dir(tmp_path, capsys):
    src = tmp_path / "a.wav"
    sf.write(src, note_signal(), SR)
    out_dir = tmp_path / "out"
    code, [res] = run_json(capsys, src, "--out-dir", out_dir, "--format", "flac")
    assert code == 0 and res["output"] == str(out_dir / "a.trimmed.flac")
    assert sf.info(res["output"]).format == "FLAC"


def test_never_overwrites_without_force(tmp_path, capsys):
    src = tmp_path / "a.wav"
    sf.write(src, note_signal(), SR)
    out = tmp_path / "mine.wav"
    out.write_bytes(b"precious")
    code, [res] = run_json(capsys, src, "-o", out)
    assert code == 1 and "already exists" in res["error"]
    assert out.read_bytes() == b"precious"
    code, [res] = run_json(capsys, src, "-o", out, "--force")
    assert code == 0 and sf.info(str(out)).duration == pytest.approx(1.0, abs=0.003)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "mine.wav"]


def test_refuses_to_replace_the_input(tmp_path, capsys):
    src = tmp_path / "a.wav"
    sf.write(src, note_signal(), SR)
    before = digest(src)
    code, [res] = run_json(capsys, src, "-o", src, "--force")
    assert code == 1 and "replace the input" in res["error"]
    assert digest(src) == before


@pytest.mark.posix  # chmod(0) and geteuid: POSIX
def test_bad_files_do_not_stop_the_batch(tmp_path, capsys):
    good = tmp_path / "good.wav"
    sf.write(good, note_signal(), SR)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(os.urandom(3000))
    truncated = tmp_path / "trunc.wav"
    truncated.write_bytes(good.read_bytes()[:30])
    unreadable = tmp_path / "secret.wav"
    sf.write(unreadable, note_signal(), SR)
    unreadable.chmod(0)
    inputs = [empty, junk, tmp_path / "missing.wav", tmp_path, truncated, good]
    if os.geteuid() != 0:  # root reads anything
        inputs.insert(0, unreadable)
    code, results = run_json(capsys, *inputs)
    assert code == 1
    assert [r["output"] is not None for r in results] == [False] * (len(inputs) - 1) + [True]
    for r in results[:-1]:
        assert r["input"] in r["error"] and "\n" not in r["error"]
    produced = sorted(p.name for p in tmp_path.iterdir())
    assert produced == sorted(
        ["empty.wav", "junk.mp3", "trunc.wav", "secret.wav", "good.wav", "good.trimmed.wav"]
    )
    err = capsys.readouterr().err
    assert "Traceback" not in err


def test_no_sound_has_its_own_status_and_no_output(tmp_path, capsys):
    quiet = tmp_path / "quiet.wav"
    sf.write(quiet, np.zeros((SR, 2), np.float32), SR)
    code, [res] = run_json(capsys, quiet)
    assert code == 4 and res["output"] is None and "no sound found" in res["error"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quiet.wav"]


def test_one_output_name_for_many_inputs_is_refused(tmp_path, capsys):
    assert main(["trim", "a.wav", "b.wav", "-o", str(tmp_path / "x.wav")]) == 2
    assert "--out-dir" in capsys.readouterr().err


def test_human_output(tmp_path, capsys):
    src = tmp_path / "a.flac"
    sf.write(src, note_signal(), SR)
    assert main(["trim", str(src)]) == 0
    out = capsys.readouterr().out
    assert "a.trimmed.flac" in out and "0.500-1.500" in out


def test_json_says_why_a_note_cut_off_by_the_stop_runs_to_the_end(tmp_path, capsys):
    # Words from 0.5 s to the very last sample (the stop pressed too early):
    # the lead-in is trimmed, the end kept, and the reason is in the JSON
    # as on stderr.
    from loopcap.trim.cutoff import CUT_OFF_REASON

    rng = np.random.default_rng(5)
    t = np.arange(int(0.25 * SR)) / SR
    words = []
    while sum(len(w) for w in words) < 3.5 * SR:
        f0 = float(rng.uniform(120, 180))
        word = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 12)) * 0.05
        words += [word, np.zeros(int(float(rng.uniform(0.03, 0.1)) * SR))]
    x = np.concatenate([np.zeros(int(0.5 * SR))] + words)[: int(4.0 * SR)]
    x[-1] = 0.05
    src = tmp_path / "cut.wav"
    sf.write(src, np.repeat(x[:, None], 2, axis=1).astype(np.float32), SR, subtype="FLOAT")
    code, [res] = run_json(capsys, src)
    assert code == 0
    assert abs(res["start_s"] - 0.5) < 0.01 and res["end_s"] == pytest.approx(4.0)
    assert res["reason"] == CUT_OFF_REASON
