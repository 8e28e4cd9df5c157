"""The rig's one loopcap process wrapper and config writer (``rig.py``), on the
fake source: what the other tests rely on when they time, kill or configure
loopcap."""

from __future__ import annotations

import os
import signal
import time

import pytest
import rig

from loopcap.config import load_config

pytestmark = pytest.mark.posix  # exit statuses of SIGABRT/SIGKILL: POSIX only


@pytest.fixture
def fake_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPCAP_")}
    env = rig.child_env(env, tmp_path / "user")
    env.update(LOOPCAP_BACKEND="fake", LOOPCAP_FAKE="signal=burst")
    return env


def test_write_config_is_read_back_by_loopcap(tmp_path):
    out = tmp_path / 'the user\'s "quoted" folder'
    path, got_out = rig.write_config(
        tmp_path / "cfg",
        out,
        preroll_s=1.5,
        fmt="flac",
        output={"split": True},
        arm={"stop_after_silence_s": 2.5},
        hotkeys={"toggle": "<ctrl>+<alt>+t"},
    )
    assert path == tmp_path / "cfg" / "config.toml" and got_out == out
    config = load_config(path)
    assert config.capture.preroll_s == 1.5
    assert config.output.dir == str(out)
    assert config.output.format == "flac" and config.output.split is True
    assert config.arm.stop_after_silence_s == 2.5
    assert config.hotkeys.toggle == "<ctrl>+<alt>+t"
    # The defaults: a wav capture into folder/out, no pre-roll.
    path, out = rig.write_config(tmp_path / "plain")
    config = load_config(path)
    assert out == tmp_path / "plain" / "out" and config.output.dir == str(out)
    assert config.output.format == "wav" and config.capture.preroll_s == 0.0


def test_a_capture_is_timed_from_its_start_line_to_its_exit(tmp_path, fake_env):
    out = tmp_path / "out"
    proc = rig.Loopcap(["record", "--duration", "0.5", "--json", "--out-dir", str(out)], fake_env)
    t_start = proc.wait_started(timeout=30)
    assert proc.finish(30) == 0, proc.stderr
    assert proc.t_launch < t_start < proc.t_exit
    assert proc.t_start == t_start == proc.line_time(rig.START_LINE)
    times = [t for t, _ in proc.lines]
    assert times == sorted(times)
    assert proc.json()["raw_path"].startswith(str(out))
    assert proc.communicate() == (proc.stdout, proc.stderr)
    assert proc.kill()[1] is False  # already ended: nothing killed
    assert proc.wait_line("no such line", timeout=5) is None  # ended: no wait


def test_a_hung_process_fails_the_test_with_its_threads_stacks(fake_env, tmp_path):
    proc = rig.Loopcap(["record", "--out-dir", str(tmp_path / "out")], fake_env)
    try:
        proc.wait_started(timeout=30)
        t0 = time.monotonic()
        with pytest.raises(pytest.fail.Exception) as failed:
            proc.finish(0.5)
        assert time.monotonic() - t0 < 10
        assert not proc.alive() and proc.returncode == -signal.SIGABRT
        message = str(failed.value)
        assert "did not exit within 0.5 s" in message, message
        assert "thread 0x" in message.lower(), message  # faulthandler's dump
    finally:
        proc.kill()


def test_kill_reports_a_running_process_and_reaps_it(fake_env, tmp_path):
    proc = rig.Loopcap(["record", "--out-dir", str(tmp_path / "out")], fake_env)
    proc.wait_started(timeout=30)
    t_kill, was_alive = proc.kill()
    assert was_alive and proc.returncode == -signal.SIGKILL
    assert t_kill <= proc.t_exit
    assert proc.proc.stderr.closed and proc.proc.stdout.closed
