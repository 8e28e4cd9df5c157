"""The tray app (``loopcap run``) when the sound server dies or the loopback device
disappears mid-capture, on a real private PulseAudio server, a private X display
with a tray, and sounds played into the sink and checked in the saved files.

Required: what was captured before the fault is saved and plays; the fault is
shown (``loopcap status``, the log, the tray icon's colour); the app records
normally once the server or device is back, without a restart; and never a
sample from another source.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import rig
import soundfile as sf
from procrig import let_idle_sink_settle
from rig import Loopcap, ask, wait_state, write_config

SR = rig.SAMPLERATE
RUNNING = rig.RUNNING_LINE
LEAD_IN = rig.tone(440, 0.25, amplitude=0.1)  # see test_record.LEAD_IN


def stereo(x: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(x, np.float32)[:, None], 2, axis=1)


def with_lead_in(x: np.ndarray) -> tuple[np.ndarray, int]:
    return np.concatenate([stereo(LEAD_IN), x]), len(LEAD_IN)


def cli_status(env, cwd) -> dict:
    import json

    done = rig.run_loopcap(["status", "--json"], env, cwd, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no Threads line")


def start_app(env, tmp_path, *args) -> tuple[Loopcap, Path]:
    config, out = write_config(tmp_path)
    app = Loopcap(["run", "--config", str(config), *args], env, cwd=tmp_path)
    if app.wait_line(RUNNING, timeout=30) is None:
        app.kill()
        pytest.fail(f"the app did not start; log:\n{app.stderr}")
    wait_state(env, "idle", timeout=15, proc=app)
    return app, out


def quit_app(app: Loopcap, env) -> None:
    assert ask(env, "quit")["state"] == "quitting"
    assert app.finish(15) == 0, app.stderr
    assert "Traceback" not in app.stderr, app.stderr


def saved_files(out: Path) -> list[Path]:
    return sorted(p for p in out.glob("*.raw.wav")) if out.exists() else []


def record_sweep(pulse: rig.PulseServer, env, out: Path, sink: str, count: int) -> Path:
    """One normal capture through the app with a sweep played into ``sink``;
    returns its raw file after checking the sweep is in it whole."""
    sweep = stereo(rig.chirp(0.8, f0=200.0, f1=4000.0))
    assert ask(env, "toggle")["state"] == "recording"
    time.sleep(0.3)
    pulse.play_array(sweep, sink=sink)
    time.sleep(0.3)
    assert ask(env, "toggle")["state"] in ("idle", "saving")
    deadline = time.monotonic() + 10
    while len(saved_files(out)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    files = saved_files(out)
    assert len(files) == count, files
    raw, _ = rig.read_audio(files[-1])
    newest = max(files, key=lambda p: p.stat().st_mtime_ns)
    raw, _ = rig.read_audio(newest)
    lag, corr = rig.best_lag(raw, sweep)
    assert corr >= 0.95, f"the sweep is not in the capture after the fault (corr {corr:.3f})"
    return newest


def test_sound_server_killed_then_restarted(app_env, xdisplay, tmp_path, fault_trials, new_server):
    family = "sound server killed mid-capture, then restarted (tray app)"
    survived = False
    shots = tmp_path / "shots"
    shots.mkdir()
    with new_server() as own:
        env = {**app_env, **{k: v for k, v in own.env().items() if k.startswith("PULSE_")}}
        app, out = start_app(env, tmp_path)
        let_idle_sink_settle(own)  # the new sink's first block (see IDLE_BLOCK_S)
        try:
            played, offset = with_lead_in(stereo(rig.chirp(6.0)))
            assert ask(env, "toggle")["state"] == "recording"
            t_rec = time.monotonic()
            player = own.play_array(played, wait=False)
            time.sleep(2.0)
            own.kill()
            t_kill = time.monotonic()
            player.communicate(timeout=10)

            # The fault is shown: status, log, icon.
            reply = wait_state(env, "error", timeout=5, proc=app)
            assert "sound server" in reply["message"], reply
            status = cli_status(env, tmp_path)
            assert status["state"] == "error" and "sound server" in status["message"], status
            assert any("sound server" in ln for _, ln in app.lines), app.stderr
            ok, png, colour = xdisplay.wait_icon("error", shots, timeout=8, tag="error")
            assert ok, f"the tray icon is {colour}, not the error colour ({png})"

            # What was captured is saved and plays: all of it up to the fault.
            (first,) = saved_files(out)
            stem = first.name[: -len(".raw.wav")]
            assert [Path(p).name for p in status["recent"]] == [f"{stem}.wav"], status
            data, sr = rig.read_audio(first)
            assert sr == SR and len(data) / SR >= (t_kill - t_rec) - 0.6, len(data) / SR
            lag, corr = rig.best_lag(data, played[offset : offset + SR])
            assert corr >= 0.99, f"the sound before the fault is damaged (corr {corr:.3f})"

            # Retrying while the server is down costs nothing that piles up.
            time.sleep(2.5)
            before = threads(app.pid)
            reply = ask(env)
            assert reply["state"] == "error" and "no sound server" in reply["message"], reply
            time.sleep(6.5)  # three more attempts
            after = threads(app.pid)
            assert after <= before, f"threads grew from {before} to {after} while retrying"

            # The server comes back: the app records again, without a restart.
            own.start()
            wait_state(env, "idle", timeout=10, proc=app)
            ok, png, colour = xdisplay.wait_icon("idle", shots, timeout=8, tag="idle")
            assert ok, f"the tray icon is {colour}, not idle ({png})"
            record_sweep(own, env, out, "speakers", 2)
            assert any("connected to the sound server again" in ln for _, ln in app.lines)
            quit_app(app, env)
            survived = True
        finally:
            fault_trials.add(family, survived)
            if app.alive():
                app.kill()


def test_loopback_device_removed_then_back(pulse, app_env, xdisplay, tmp_path, fault_trials):
    """The app records ``phone.monitor``; the ``phone`` sink is unloaded mid-capture
    while a 5 kHz tone plays into ``speakers``, the sink a confused recorder would
    fall back to.  Nothing of that tone may reach any file, then or while the
    device is missing; once ``phone`` is loaded again the app records from it."""
    family = "loopback device removed mid-capture, then back (tray app)"
    survived = False
    module = pulse.load_sink("phone")
    intruder = stereo(rig.tone(5000, 12.0, amplitude=0.3))
    background = None
    app = None
    try:
        app, out = start_app(app_env, tmp_path, "--device", "phone.monitor")
        let_idle_sink_settle(pulse)  # the new sink's first block (see IDLE_BLOCK_S)
        played, offset = with_lead_in(stereo(rig.chirp(4.0, f1=2000.0)))
        assert ask(app_env, "toggle")["state"] == "recording"
        player = pulse.play_array(played, sink="phone", wait=False)
        time.sleep(1.5)
        background = pulse.play_array(intruder, sink="speakers", wait=False)
        pulse.unload_module(module)
        module = None

        reply = wait_state(app_env, "error", timeout=5, proc=app)
        assert "disappeared" in reply["message"] and "phone" in reply["message"], reply
        # The log line may reach the pipe a moment after the state is set.
        deadline = time.monotonic() + 3
        while not any("disappeared" in ln for _, ln in app.lines):
            assert time.monotonic() < deadline, app.stderr
            time.sleep(0.05)
        player.communicate(timeout=10)
        (first,) = saved_files(out)
        data, _ = rig.read_audio(first)
        lag, corr = rig.best_lag(data, played[offset : offset + SR])
        assert corr >= 0.99, f"the sound before the device went is damaged (corr {corr:.3f})"

        # While it is missing: a toggle records nothing from elsewhere.
        time.sleep(2.5)
        reply = ask(app_env, "toggle")
        assert reply["state"] == "error", reply
        time.sleep(1.0)
        assert saved_files(out) == [first]
        assert not list(out.glob("*.partial.wav"))
        status = cli_status(app_env, tmp_path)
        assert status["state"] == "error" and "phone" in status["message"], status

        module = pulse.load_sink("phone")
        wait_state(app_env, "idle", timeout=10, proc=app)
        second = record_sweep(pulse, app_env, out, "phone", 2)
        for path in (first, second):
            data, _ = rig.read_audio(path)
            level = rig.tone_amplitude(data, 5000)
            assert level < 0.005, f"{path.name} holds the tone played elsewhere ({level:.3f})"
            with sf.SoundFile(path) as f:
                assert f.frames > 0
        quit_app(app, app_env)
        survived = True
    finally:
        fault_trials.add(family, survived)
        if app is not None and app.alive():
            app.kill()
        if background is not None:
            background.kill()
            background.communicate()
        if module is not None:
            pulse.unload_module(module)


def test_default_output_removed_the_switch_is_said(
    app_env, xdisplay, tmp_path, fault_trials, new_server
):
    """With the default device ("" = the default output's loopback), the default
    sink is unloaded mid-capture while a tone plays into the other sink, which
    becomes the default.  The capture is saved without that tone; the app then
    follows the new default output, and says so (status and log) instead of
    switching silently."""
    family = "default output removed mid-capture (tray app follows the new default, says so)"
    survived = False
    with new_server() as own:
        env = {**app_env, **{k: v for k, v in own.env().items() if k.startswith("PULSE_")}}
        own.load_sink("other")
        modules = own.pactl("list", "short", "modules").splitlines()
        (speakers,) = [int(m.split("\t")[0]) for m in modules if "sink_name=speakers" in m]
        app, out = start_app(env, tmp_path)
        let_idle_sink_settle(own)  # the sink's first block (see IDLE_BLOCK_S)
        try:
            played, offset = with_lead_in(stereo(rig.chirp(3.0, f1=2000.0)))
            assert ask(env, "toggle")["state"] == "recording"
            player = own.play_array(played, wait=False)
            time.sleep(1.5)
            tone = stereo(rig.tone(5000, 2.5, amplitude=0.3))
            intruder = own.play_array(tone, sink="other", wait=False)
            own.unload_module(speakers)
            reply = wait_state(env, "error", timeout=5, proc=app)
            assert "speakers.monitor" in reply["message"], reply
            player.communicate(timeout=10)
            intruder.communicate(timeout=10)

            reply = wait_state(env, "idle", timeout=10, proc=app)
            assert "now recording from" in reply["message"], reply
            assert "other.monitor" in reply["message"] and "speakers.monitor" in reply["message"]
            assert any("now recording from" in ln for _, ln in app.lines), app.stderr
            (first,) = saved_files(out)
            data, _ = rig.read_audio(first)
            lag, corr = rig.best_lag(data, played[offset : offset + SR])
            assert corr >= 0.99, f"the sound before the device went is damaged (corr {corr:.3f})"
            level = rig.tone_amplitude(data, 5000)
            assert level < 0.005, f"the capture holds the tone played elsewhere ({level:.3f})"
            record_sweep(own, env, out, "other", 2)
            quit_app(app, env)
            survived = True
        finally:
            fault_trials.add(family, survived)
            if app.alive():
                app.kill()


def test_the_app_follows_a_new_default_output_while_idle(
    app_env, xdisplay, tmp_path, fault_trials, new_server
):
    """Headphones plugged in: a new sink becomes the default while the old one
    stays.  The waiting app (default device, pre-roll on) moves to the new
    default's loopback within a few seconds and says so; the next capture
    holds what plays there and nothing of what plays on the old sink."""
    family = "default output changes while idle (tray app follows it, says so)"
    survived = False
    with new_server() as own:
        env = {**app_env, **{k: v for k, v in own.env().items() if k.startswith("PULSE_")}}
        app, out = start_app(env, tmp_path)
        try:
            own.load_sink("headphones")
            own.pactl("set-default-sink", "headphones")
            deadline = time.monotonic() + 10
            status = cli_status(env, tmp_path)
            while "headphones.monitor" not in status.get("message", ""):
                assert time.monotonic() < deadline, f"the app did not follow: {status}"
                time.sleep(0.2)
                status = cli_status(env, tmp_path)
            assert status["state"] == "idle", status
            assert "now recording from" in status["message"]
            assert "default output changed" in status["message"], status
            assert any("default output changed" in ln for _, ln in app.lines), app.stderr
            let_idle_sink_settle(own)  # the new sink's first block (see IDLE_BLOCK_S)
            intruder = own.play_array(stereo(rig.tone(5000, 2.5, amplitude=0.3)), wait=False)
            raw_path = record_sweep(own, env, out, "headphones", 1)
            intruder.communicate(timeout=10)
            raw, _ = rig.read_audio(raw_path)
            level = rig.tone_amplitude(raw, 5000)
            assert level < 0.005, f"the capture holds the old sink's tone ({level:.3f})"
            quit_app(app, env)
            survived = True
        finally:
            fault_trials.add(family, survived)
            if app.alive():
                app.kill()
