"""Hands-free capture in the desktop app: armed by a real key press under the
private X display, started by sound played into the private PulseAudio sink,
stopped by the silence after it; with ``split``, one file per note.

The notes are made like a phone's: a real human voice over a microphone floor
(noise at -60 dBFS from the note's first sample to its last), with a pause in
the middle where only that floor plays.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import rig
import soundfile
import xrig
from rig import Loopcap, ask
from xrig import wait_icon

SR = rig.SAMPLERATE
ARM_KEY = "ctrl+alt+a"
#: Trimmed note bounds against the played note's own, in seconds.
TOLERANCE_S = 0.030
MIN_CORR = 0.95


def phone_note(seed: int, pause_s: float = 0.6) -> np.ndarray:
    """Stereo float32: floor, voice, a pause of floor, voice again, floor.

    Each seed gives another note (the voice played at another speed).
    """
    rng = np.random.default_rng(seed)
    v = rig.mono(rig.voice(SR, 1))
    speed = 0.8 + 0.15 * seed
    n = int(len(v) / speed)
    v = np.interp(np.arange(n) * speed, np.arange(len(v)), v).astype(np.float32)
    v /= np.abs(v).max() * 2  # peak -6 dBFS
    pad = np.zeros(int(0.25 * SR), np.float32)
    gap = np.zeros(int(pause_s * SR), np.float32)
    x = np.concatenate([pad, v, gap, v[::-1], pad])
    floor = rng.standard_normal(len(x)).astype(np.float32) * 10 ** (-60 / 20)
    return np.repeat((x + floor)[:, None], 2, axis=1)


def start_armable_app(app_env, tmp_path, stop_after_s: float, split: bool = False):
    config, out = rig.write_config(
        tmp_path,
        preroll_s=2.0,
        output={"split": split},
        arm={"stop_after_silence_s": stop_after_s},
        hotkeys={"toggle": xrig.TOGGLE_HOTKEY, "arm": "<ctrl>+<alt>+a"},
    )
    app = Loopcap(["run", "--config", str(config)], app_env, tmp_path)
    app.wait_running()
    return app, out


def wait_not_recording(app: Loopcap, timeout: float) -> float:
    """Until the app leaves "recording"; the moment it was seen."""
    deadline = time.monotonic() + timeout
    while True:
        state = app.status()["state"]
        if state != "recording":
            return time.monotonic()
        if time.monotonic() > deadline:
            app.fail(f"still recording {timeout} s later")
        time.sleep(0.005)


def saved_files(app: Loopcap, out: Path, timeout: float = 15.0) -> tuple[list[Path], Path]:
    """Once idle: the trimmed notes (in order) and the raw capture."""
    deadline = time.monotonic() + timeout
    while True:
        state = app.status()["state"]
        raws = sorted(out.glob("*.raw.wav")) if out.exists() else []
        if state == "idle" and raws:
            break
        if time.monotonic() > deadline:
            app.fail(f"no capture saved within {timeout} s (state {state})")
        time.sleep(0.05)
    assert len(raws) == 1, raws
    notes = sorted(
        (p for p in out.glob("*.wav") if p not in raws and not p.name.endswith(".partial.wav")),
        key=lambda p: p.name,
    )
    assert not [p for p in out.iterdir() if p.name.endswith((".partial.wav", ".tmp"))]
    return notes, raws[0]


def locate(haystack: np.ndarray, note: np.ndarray) -> int:
    lag, corr = rig.best_lag(haystack, note)
    assert corr >= MIN_CORR, f"the played note is not in the file (correlation {corr:.3f})"
    return lag


def check_whole_note(path: Path, raw: np.ndarray, played: np.ndarray) -> None:
    """``path`` holds all of ``played``, from its first sample to its last (within
    30 ms), and is a stretch of the raw capture."""
    data, sr = rig.read_audio(path)
    assert sr == SR
    lag = locate(data, played)
    print(f"{path.name}: note at {lag / SR:+.4f} s, file {len(data) / SR:.3f} s")
    assert abs(lag) <= TOLERANCE_S * SR, f"the file starts {lag / SR:+.4f} s off the note"
    end_error = len(data) - (lag + len(played))
    assert abs(end_error) <= TOLERANCE_S * SR, f"the file ends {end_error / SR:+.4f} s off"
    start = locate(raw, data)
    assert np.array_equal(raw[start : start + len(data)], data), "not a stretch of the capture"


def test_armed_app_captures_a_note_played_later_and_stops_after_silence(
    pulse, xdisplay, app_env, tmp_path
):
    stop_after = 1.5
    app, out = start_armable_app(app_env, tmp_path, stop_after)
    shots = tmp_path / "shots"
    shots.mkdir()
    try:
        xdisplay.key(ARM_KEY)  # a real key press, heard by the app's global hotkeys
        app.wait_state("armed", timeout=5)
        wait_icon(xdisplay, "armed", shots, app)
        note = phone_note(1)
        # Armed, it waits: nothing is recorded before the sound.
        time.sleep(2.0)
        assert app.status()["state"] == "armed"
        # paplay buffers generously (no underruns on a busy machine) and returns
        # once the server says it has played the last sample: the note's end,
        # give or take.  On PipeWire, with no recorder keeping the sink running
        # (loopcap's stream is passive, so the card may sleep), that word comes
        # up to 0.3 s after the last sample (measured: the stop 1.24 s after
        # paplay returned, 1.5 s of silence asked); hence the lower bound.
        player = pulse.play_array(note, wait=False)
        app.wait_state("recording", timeout=5)
        assert player.wait(timeout=30) == 0
        t_end = time.monotonic()
        t_stop = wait_not_recording(app, timeout=stop_after + 5)
        print(f"stop decided {t_stop - t_end:.3f} s after the note ended")
        assert t_stop - t_end <= stop_after + 0.5, (
            f"the capture stopped {t_stop - t_end:.2f} s after the note (silence {stop_after} s)"
        )
        assert t_stop - t_end >= stop_after - 0.35, "it stopped before the silence was long enough"
        notes, raw_path = saved_files(app, out)
        assert len(notes) == 1, notes
        raw, _ = rig.read_audio(raw_path)
        check_whole_note(notes[0], raw, note)
        assert ask(app.env)["state"] == "idle"
        assert "armed capture ends" in app.log
    finally:
        app.kill()


def test_armed_app_splits_three_notes_played_back_to_back(pulse, xdisplay, app_env, tmp_path):
    app, out = start_armable_app(app_env, tmp_path, stop_after_s=2.5, split=True)
    try:
        app.wait_state("idle")
        ask(app.env, "arm")
        app.wait_state("armed", timeout=5)
        notes = [phone_note(s, pause_s=0.5 + 0.3 * s) for s in (0, 1, 2)]
        gap = np.zeros((int(1.5 * SR), 2), np.float32)
        pulse.play_array(np.concatenate([notes[0], gap, notes[1], gap, notes[2]]))
        wait_not_recording(app, timeout=10)
        files, raw_path = saved_files(app, out)
        assert [p.name.rsplit("-", 1)[-1] for p in files] == ["1.wav", "2.wav", "3.wav"], files
        raw, _ = rig.read_audio(raw_path)
        for path, note in zip(files, notes, strict=True):
            check_whole_note(path, raw, note)
        for path in files:
            info = soundfile.info(path)
            assert info.samplerate == SR and info.channels == 2
    finally:
        app.kill()
