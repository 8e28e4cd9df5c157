"""The output folder full, deleted or unwritable, with real loopcap processes
(``loopcap record`` and the app, ``loopcap run --no-tray``) on the fake source's
counter signal: the capture goes on whole in the rescue folder, the user is told
where in one clear line, and nothing is dropped.

The small disks are real tmpfs mounts (root only: in CI a must; see
faultrig.require_mount).  The rescue folder is ``$XDG_DATA_HOME/loopcap/rescue``
(``~/.local/share/loopcap/rescue``).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from faultrig import counter_run, private_env, rescue_dir, tmpfs, unplayable
from rig import START_LINE, Loopcap, ask, wait_state, write_config

pytestmark = pytest.mark.posix  # small disks are tmpfs mounts: Linux

SR = 48000
FAMILY = "output folder full, deleted or unwritable"


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    env = private_env(tmp_path / "env")
    env["LOOPCAP_BACKEND"] = "fake"
    env["TMPDIR"] = str(tmp_path)
    return env


def assert_whole(path: Path, at_least_s: float):
    run = counter_run(path)
    assert run.intact, f"{path}: {run.breaks} frames missing, doubled or foreign"
    assert run.tail_zeros < 0.02 * SR, run
    assert run.seconds >= at_least_s, f"{path}: {run.seconds:.2f} s, expected {at_least_s} s"
    return run


def record(env, out: Path, *args) -> Loopcap:
    return Loopcap(["record", "--out-dir", str(out), "--format", "wav", "--json", *args], env)


def error_lines(proc: Loopcap) -> list[str]:
    return [line for _, line in proc.lines if line.startswith("loopcap:")]


def test_record_disk_full_mid_capture(tmp_path, env, fault_trials):
    survived = False
    try:
        out = tmp_path / "small"
        env["LOOPCAP_FAKE"] = "signal=counter,speed=4"
        with tmpfs(out, size="2m"):  # 5.4 s of audio; 3 s at 4x is 12 s
            proc = record(env, out, "--duration", "3")
            assert proc.finish(30) == 1, proc.stderr
            assert sorted(p.name for p in out.iterdir()) == []
        result = proc.json()
        raw = Path(result["raw_path"])
        assert raw.parent == rescue_dir(env)
        assert_whole(raw, 11.0)
        moved, final = error_lines(proc)
        assert "No space left on device" in moved and str(rescue_dir(env)) in moved, moved
        assert "saved whole in" in final and str(rescue_dir(env)) in final, final
        assert "Traceback" not in proc.stderr
        assert unplayable(rescue_dir(env)) == []
        survived = True
    finally:
        fault_trials.add(FAMILY, survived, "record: disk full mid-capture")


def test_record_folder_deleted_mid_capture(tmp_path, env, fault_trials):
    survived = False
    try:
        out = tmp_path / "captures"
        env["LOOPCAP_FAKE"] = "signal=counter"
        proc = record(env, out, "--duration", "2.5")
        t_line = proc.wait_line(START_LINE)
        assert t_line is not None, proc.stderr
        time.sleep(max(0.0, t_line + 1.0 - time.monotonic()))
        shutil.rmtree(out)
        assert proc.finish(30) == 1, proc.stderr
        raw = Path(proc.json()["raw_path"])
        assert raw.parent == rescue_dir(env)
        run = assert_whole(raw, 2.45)
        assert run.seconds == pytest.approx(2.5, abs=0.05)
        assert any("deleted" in line for line in error_lines(proc)), proc.stderr
        survived = True
    finally:
        fault_trials.add(FAMILY, survived, "record: folder deleted mid-capture")


def test_record_refuses_an_unwritable_folder_before_recording(tmp_path, env, fault_trials):
    """At the terminal, nothing has been recorded yet: one clear line, status 1,
    and no file anywhere (the rescue folder is for captures under way)."""
    survived = False
    try:
        out = tmp_path / "ro"
        env["LOOPCAP_FAKE"] = "signal=counter"
        with tmpfs(out, size="1m", ro=True):
            proc = record(env, out, "--duration", "1")
            assert proc.finish(30) == 1
        lines = [ln for _, ln in proc.lines if ln.strip()]
        assert len(lines) == 1 and "Read-only file system" in lines[0], proc.stderr
        assert "cannot write to the output folder" in lines[0]
        assert not rescue_dir(env).exists() or not list(rescue_dir(env).iterdir())
        survived = True
    finally:
        fault_trials.add(FAMILY, survived, "record: read-only folder at the start")


def start_app(env, tmp_path, out: Path) -> Loopcap:
    config, _ = write_config(tmp_path, out)
    app = Loopcap(["run", "--no-tray", "--config", str(config)], env)
    assert app.wait_line("loopcap is running", timeout=30) is not None, app.stderr
    wait_state(env, "idle", proc=app)
    return app


def capture_once(env, seconds: float) -> dict:
    assert ask(env, "toggle")["state"] == "recording"
    time.sleep(seconds)
    ask(env, "toggle")
    deadline = time.monotonic() + 10
    while (reply := ask(env))["state"] in ("recording", "saving"):
        assert time.monotonic() < deadline, reply
        time.sleep(0.05)
    return reply


def test_app_unwritable_folder_then_fixed(tmp_path, env, fault_trials):
    """The hotkey is pressed while the captures folder is read-only: the note
    playing now is recorded into the rescue folder and the app says where; once
    the folder is writable again the next capture goes there."""
    survived = False
    env["LOOPCAP_FAKE"] = "signal=counter"
    out = tmp_path / "ro"
    app = None
    try:
        with tmpfs(out, size="4m", ro=True):
            app = start_app(env, tmp_path, out)
            reply = capture_once(env, 1.5)
            assert reply["state"] == "error", reply
            rescue = rescue_dir(env)
            assert "Read-only file system" in reply["message"], reply
            assert str(rescue) in reply["message"], reply
            (saved,) = [Path(p) for p in reply["recent"]]
            assert saved.parent == rescue
            assert_whole(saved, 1.4)
            assert any(str(rescue) in line for line in error_lines(app)), app.stderr

            subprocess.run(["mount", "-o", "remount,rw", str(out)], check=True)
            reply = capture_once(env, 1.0)
            assert reply["state"] == "idle", reply
            newest = Path(reply["recent"][0])
            assert newest.parent == out
            assert_whole(newest, 0.9)
            assert ask(env, "quit")["state"] == "quitting"
            assert app.finish(20) == 0, app.stderr
        survived = True
    finally:
        if app is not None and app.alive():
            app.kill()
        fault_trials.add(FAMILY, survived, "app: read-only folder, then writable again")


def test_app_disk_full_mid_capture(tmp_path, env, fault_trials):
    survived = False
    env["LOOPCAP_FAKE"] = "signal=counter,speed=4"
    out = tmp_path / "small"
    app = None
    try:
        with tmpfs(out, size="2m"):
            app = start_app(env, tmp_path, out)
            reply = capture_once(env, 3.0)  # 12 s of audio into 2 MB
            assert reply["state"] == "error", reply
            assert "No space left on device" in reply["message"], reply
            (saved,) = [Path(p) for p in reply["recent"]]
            assert saved.parent == rescue_dir(env)
            assert_whole(saved, 11.0)
            assert not list(out.iterdir())
            assert ask(env, "quit")["state"] == "quitting"
            assert app.finish(20) == 0, app.stderr
        survived = True
    finally:
        if app is not None and app.alive():
            app.kill()
        fault_trials.add(FAMILY, survived, "app: disk full mid-capture")
