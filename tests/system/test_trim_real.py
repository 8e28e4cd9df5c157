"""The trimmer on real captured audio: a WhatsApp-like note played into the
private PulseAudio null sink, recorded by ``loopcap record``, trimmed on save
and again by ``loopcap trim``."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import rig
import soundfile as sf

SR = rig.SAMPLERATE


def whatsapp_note(tmp_path) -> np.ndarray:
    """A phone note: a real voice over a microphone floor from its first sample
    to its last, stored as WhatsApp does (Ogg Opus, 16 kHz mono), then decoded
    and brought to 48 kHz stereo as a browser plays it."""
    voice = rig.mono(rig.voice(sr=16000, channels=1))
    rng = np.random.default_rng(3)
    floor = rng.standard_normal(int(0.3 * 16000) * 2 + len(voice)) * 10 ** (-58 / 20)
    note = floor.astype(np.float32)
    note[int(0.3 * 16000) : int(0.3 * 16000) + len(voice)] += voice * 0.5
    path = tmp_path / "note.ogg"
    sf.write(path, note, 16000, format="OGG", subtype="OPUS")
    decoded, rate = sf.read(path, dtype="float32")
    assert rate == 16000
    t_out = np.arange(int(len(decoded) * SR / rate)) / SR
    up = np.interp(t_out, np.arange(len(decoded)) / rate, decoded).astype(np.float32)
    return np.stack([up, up], axis=1)


def start_record(env, cwd, out, seconds: str, fmt: str) -> rig.Loopcap:
    """``loopcap record --json``, returned once its timeline has started (the
    ``Recording from`` line, its first)."""
    args = ["record", "--duration", seconds, "--format", fmt, "--out-dir", str(out), "--json"]
    proc = rig.Loopcap(args, env, cwd)
    proc.wait_started()
    assert proc.lines[0][1].startswith(rig.START_LINE), proc.stderr
    return proc


def run_json(env, cwd, *args, timeout=60):
    done = rig.run_loopcap(args, env, cwd, timeout)
    return done, [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_record_trims_a_played_note_and_trim_agrees(pulse, loopcap_env, tmp_path):
    note = whatsapp_note(tmp_path)
    out = tmp_path / "out"
    proc = start_record(loopcap_env, tmp_path, out, "5", "wav")
    time.sleep(1.0)
    pulse.play_array(note)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    result = json.loads(stdout)
    raw, sr = rig.read_audio(result["raw_path"])
    trimmed, _ = rig.read_audio(result["path"])
    assert sr == SR

    # Where the note lies in the raw capture, found by correlation.
    lag, corr = rig.best_lag(raw, note)
    assert corr >= 0.98, corr
    note_start, note_end = lag / SR, (lag + len(note)) / SR
    # The trimmed file is exactly that span of the raw capture, within 30 ms
    # of the note's own first and last sample (its microphone floor included).
    assert result["start_s"] == pytest.approx(note_start, abs=0.03)
    assert result["end_s"] == pytest.approx(note_end, abs=0.03)
    start = round(result["start_s"] * SR)
    assert np.array_equal(trimmed, raw[start : start + len(trimmed)])
    _, corr_t = rig.best_lag(trimmed, note)
    assert corr_t >= 0.98

    # `loopcap trim` on the raw capture finds the same bounds.
    done, [res] = run_json(
        loopcap_env,
        tmp_path,
        "trim",
        "--json",
        result["raw_path"],
        "--out-dir",
        str(tmp_path / "again"),
    )
    assert done.returncode == 0, done.stderr
    assert res["start_s"] == pytest.approx(result["start_s"], abs=0.001)
    assert res["end_s"] == pytest.approx(result["end_s"], abs=0.001)
    again, _ = rig.read_audio(res["output"])
    assert np.allclose(again, trimmed, atol=1e-6)


def test_a_notification_before_the_note_is_left_out(pulse, loopcap_env, tmp_path):
    rig.require("paplay")
    ding = rig.read_audio("/usr/share/sounds/freedesktop/stereo/message-new-instant.oga")[0]
    if ding.ndim == 1:
        ding = np.stack([ding, ding], axis=1)
    note = whatsapp_note(tmp_path)
    played = np.concatenate([ding, np.zeros((int(1.2 * SR), 2), np.float32), note])
    out = tmp_path / "out"
    proc = start_record(loopcap_env, tmp_path, out, "6", "flac")
    time.sleep(0.5)
    pulse.play_array(played)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    result = json.loads(stdout)
    raw, _ = rig.read_audio(result["raw_path"])
    lag, corr = rig.best_lag(raw, note)
    assert corr >= 0.98
    assert result["start_s"] == pytest.approx(lag / SR, abs=0.03)  # the ding is not kept
    assert result["end_s"] == pytest.approx((lag + len(note)) / SR, abs=0.03)
    assert sf.info(result["path"]).format == "FLAC"
