"""A sound card that sleeps: loopcap lets it, and loses nothing through it.

On both servers (``sleepy_server``: a private PulseAudio or PipeWire whose null
sink suspends after 1 s with no user).  loopcap's streams do not keep the sink
awake (PulseAudio: ``PA_STREAM_DONT_INHIBIT_AUTO_SUSPEND``; PipeWire: a passive
node), so its monitor delivers nothing while the sink sleeps, as WASAPI
loopback does in silence.  Through that:

- ``loopcap record`` starts at once, without waking the sink, and the silence
  it records keeps its wall-clock length;
- a sound that wakes the sink is kept whole, at its place: compared with
  ``parec`` recording the same monitor, none of a 0.5 s burst is missing and a
  30 ms click 0.3 s after it is as far from it as in parec's file;
- a stop in silence takes under 250 ms, and a recording of nothing is a file
  of silence and exit status 4;
- the app waits with its pre-roll while the sink sleeps, and still keeps the
  first syllable of a note that began before the toggle.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import rig
import xrig

SR = rig.SAMPLERATE
STOP_LIMIT_S = 0.25
#: How far apart (s) two sounds may be in loopcap's file compared with parec's.
SPACING_TOLERANCE_S = 0.002


def burst_then_click() -> np.ndarray:
    """0.5 s of 440 Hz at -6 dBFS, 0.3 s of silence, a 30 ms click (stereo)."""
    t = np.arange(int(0.5 * SR)) / SR
    burst = 0.5 * np.sin(2 * np.pi * 440 * t)
    click = 0.8 * np.hanning(int(0.03 * SR))
    mono = np.concatenate([burst, np.zeros(int(0.3 * SR)), click]).astype(np.float32)
    return np.repeat(mono[:, None], 2, axis=1)


def sounding_runs(x: np.ndarray, threshold: float = 0.01, join_s: float = 0.005):
    """(first, last) sample of each stretch above ``threshold``; stretches
    closer than ``join_s`` are one (a sine's zero crossings)."""
    loud = np.flatnonzero(np.abs(x) > threshold)
    if not len(loud):
        return []
    breaks = np.flatnonzero(np.diff(loud) > join_s * SR)
    starts = np.concatenate([[loud[0]], loud[breaks + 1]])
    ends = np.concatenate([loud[breaks], [loud[-1]]])
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def record(env, tmp_path) -> rig.Loopcap:
    args = ["record", "--out-dir", str(tmp_path / "out"), "--format", "wav", "--json"]
    return rig.Loopcap(args, env, tmp_path)


def test_a_recording_on_a_sleeping_sink_keeps_every_sound_in_place(
    sleepy_server, sleepy_env, tmp_path
):
    server = sleepy_server
    server.wait_sink_state("SUSPENDED", timeout=10)
    run = record(sleepy_env, tmp_path)
    t_line = run.wait_started()
    # It did not wait for audio (the sink delivers none), and lets it sleep on.
    assert t_line - run.t_launch < 1.5, f"'Recording from' after {t_line - run.t_launch:.2f} s"
    time.sleep(1.0)
    assert server.sink_state() == "SUSPENDED", "loopcap's capture woke the sink"

    parec_file = tmp_path / "parec.wav"
    parec = subprocess.Popen(
        [
            "parec",
            "-d",
            f"{server.sink}.monitor",
            "--latency-msec=10",
            "--rate=48000",
            "--channels=2",
            "--format=float32le",
            "--file-format=wav",
            str(parec_file),
        ],
        env=server.env(),
    )
    try:
        t_play = time.monotonic()
        server.play_array(burst_then_click())  # returns once it has been played
        t_played = time.monotonic()
        time.sleep(0.3)
    finally:
        parec.send_signal(signal.SIGINT)
        parec.wait(10)
    # The sink falls asleep again; then the stop comes in silence.
    server.wait_sink_state("SUSPENDED", timeout=10)
    time.sleep(0.5)
    t_sig = run.send(signal.SIGINT)
    status = run.finish()
    assert status == 0, f"exit status {status}; stderr:\n{run.stderr}"

    data, sr = rig.read_audio(run.json()["raw_path"])
    ours = rig.mono(data)
    theirs = rig.mono(rig.read_audio(parec_file)[0])
    # Silence keeps its length: the file lasts from the line to the stop.
    assert len(ours) / sr == pytest.approx(t_sig - t_line, abs=STOP_LIMIT_S)
    our_runs, their_runs = sounding_runs(ours), sounding_runs(theirs)
    assert len(our_runs) == 2, f"loopcap's file: {our_runs}"
    assert len(their_runs) == 2, f"parec's file: {their_runs}"
    (burst, click), (p_burst, p_click) = our_runs, their_runs
    # Every sample parec got of the burst and the click, loopcap got too.
    assert burst[1] - burst[0] >= p_burst[1] - p_burst[0] - 0.001 * SR, (burst, p_burst)
    assert click[1] - click[0] >= p_click[1] - p_click[0] - 0.001 * SR, (click, p_click)
    assert rig.longest_zero_run(ours[burst[0] : burst[1]]) < 5, "a hole inside the burst"
    # The click is where it was played: as far from the burst as in parec's file.
    spacing, p_spacing = (click[0] - burst[0]) / SR, (p_click[0] - p_burst[0]) / SR
    assert spacing == pytest.approx(p_spacing, abs=SPACING_TOLERANCE_S)
    # The burst is where the wall clock says: after paplay was started (it
    # takes some 30-100 ms to play, and the sink a moment to wake), and not
    # after paplay said it had been played.
    late = burst[0] / SR - (t_play - t_line)
    assert 0.0 <= late < 0.3, f"the burst is {late:.3f} s after it was asked to play"
    assert t_line + burst[0] / SR < t_played


def test_a_recording_of_a_sleeping_sink_alone_is_a_file_of_silence(
    sleepy_server, sleepy_env, tmp_path
):
    sleepy_server.wait_sink_state("SUSPENDED", timeout=10)
    run = record(sleepy_env, tmp_path)
    t_line = run.wait_started()
    time.sleep(2.0)
    t_sig = run.send(signal.SIGINT)
    status = run.finish()
    assert run.t_exit - t_sig < STOP_LIMIT_S, f"exit {(run.t_exit - t_sig) * 1000:.0f} ms after"
    assert status == 4, f"exit status {status} (4: no sound found); stderr:\n{run.stderr}"
    result = run.json()
    assert result["path"] is None
    data, sr = rig.read_audio(result["raw_path"])
    assert len(data) / sr == pytest.approx(t_sig - t_line, abs=STOP_LIMIT_S)
    assert not np.any(data), "a capture of a sleeping sink holds sound"
    assert sleepy_server.sink_state() == "SUSPENDED"


@pytest.fixture
def sleepy_app_env(sleepy_env, xdisplay):
    """``sleepy_env`` on the private X display, with a runtime folder of its own
    (the app's lock and control socket; see ``app_env``)."""
    xdisplay.ensure_tray()
    runtime = Path(tempfile.mkdtemp(prefix="loopcap-run-"))
    os.chmod(runtime, 0o700)
    env = xdisplay.env(sleepy_env)
    env["XDG_RUNTIME_DIR"] = str(runtime)
    yield env
    shutil.rmtree(runtime, ignore_errors=True)


def test_the_app_lets_the_sink_sleep_and_its_preroll_keeps_the_first_syllable(
    sleepy_server, sleepy_app_env, tmp_path
):
    env = sleepy_app_env
    config, out = rig.write_config(tmp_path, preroll_s=2.0, hotkeys={"toggle": xrig.TOGGLE_HOTKEY})
    app = rig.Loopcap(["run", "--config", str(config)], env, tmp_path)
    try:
        app.wait_running()
        # Waiting with its pre-roll stream open, the app lets the card sleep.
        sleepy_server.wait_sink_state("SUSPENDED", timeout=10)
        voice = rig.voice()  # 1.43 s; its first syllable starts at once
        player = sleepy_server.play_array(voice, wait=False)
        time.sleep(0.5)  # the toggle comes late, in the middle of the note
        assert rig.ask(env, "toggle")["state"] == "recording"
        player.wait(10)
        time.sleep(0.5)
        assert rig.ask(env, "toggle")["state"] in ("saving", "idle")
        rig.wait_state(env, "idle", timeout=15, proc=app)
        notes = [p for p in out.glob("*.wav") if ".raw." not in p.name]
        assert len(notes) == 1, sorted(p.name for p in out.iterdir())
        raw = rig.mono(rig.read_audio(notes[0].with_suffix(".raw.wav"))[0])
        played = rig.mono(voice)
        # The capture begins before the note (the pre-roll, though the sink
        # slept until the note woke it) ...
        later = int(0.1 * SR)
        lag, corr = rig.best_lag(raw, played[later:])
        assert corr >= 0.98, f"the note is not whole in the capture (corr {corr:.3f})"
        start = lag - later
        assert start >= 0, "the capture begins after the note did"
        # ... and holds its first syllable: at most what the server itself
        # drops of a sound that starts on a silent sink (PulseAudio ~9 ms).
        wrong = np.flatnonzero(
            (np.abs(played[:later]) > 0.02)
            & (np.abs(raw[start : start + later] - played[:later]) > 0.01)
        )
        missing = int(wrong[-1]) + 1 if len(wrong) else 0
        assert missing <= 0.012 * SR, f"the first {missing / SR * 1000:.1f} ms of the note are lost"
        # The saved note holds it whole.
        note = rig.mono(rig.read_audio(notes[0])[0])
        assert rig.best_lag(note, played[later:])[1] >= 0.98
    finally:
        app.kill()


@rig.on_servers("pipewire")
def test_a_silent_recording_outlasts_the_wait_for_a_sleeping_pipewire_sink(
    pulse, loopcap_env, tmp_path
):
    """A PipeWire sink that sleeps accepts loopcap's passive stream only when it
    wakes, and libpulse gives a stream the server has not accepted 30 s: a
    recording of 35 s of nothing goes on through that (it used to end after
    30 s with "the loopback device stopped delivering audio", no file)."""
    pulse.wait_sink_state("SUSPENDED", timeout=10)
    run = rig.Loopcap(
        ["record", "--out-dir", str(tmp_path / "out"), "--format", "wav", "--json"]
        + ["--duration", "35"],
        loopcap_env,
        tmp_path,
    )
    status = run.finish(timeout=60)
    assert status == 4, f"exit status {status} (4: no sound found); stderr:\n{run.stderr}"
    data, sr = rig.read_audio(run.json()["raw_path"])
    assert len(data) / sr == pytest.approx(35.0, abs=0.1)
