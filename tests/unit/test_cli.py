"""The command line's error boundary, config commands and record on the fake source."""

import json
import os

import numpy as np
import pytest
import rig
import soundfile as sf

from loopcap.app.cli import main


def test_config_path_and_init(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert main(["config", "--path"]) == 0
    path = capsys.readouterr().out.strip()
    assert path == str(tmp_path / "loopcap" / "config.toml")
    assert main(["config", "--init"]) == 0
    text = open(path).read()
    assert "[capture]" in text and "[output]" in text
    open(path, "a").write("# mine\n")
    assert main(["config", "--init"]) == 2  # never over an existing one
    assert "already exists" in capsys.readouterr().err
    assert open(path).read().endswith("# mine\n")


def test_bad_config_is_one_line_and_status_2(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[output]\nformat = "aiff"\n')
    assert main(["--config", str(cfg), "record"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "output.format" in err and "'aiff'" in err


def test_bad_duration(capsys):
    assert main(["record", "--duration", "-1"]) == 2
    assert "--duration" in capsys.readouterr().err


def test_usage_error_status():
    assert main(["record", "--format", "aiff"]) == 2
    assert main(["nonsense"]) == 2


def run(args, env):
    return rig.run_loopcap(args, env)


def test_no_sound_server_is_one_clear_line(tmp_path):
    env = dict(
        os.environ,
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path),
        XDG_STATE_HOME=str(tmp_path),
        PULSE_SERVER=f"unix:{tmp_path}/no-such-socket",
    )
    env.pop("LOOPCAP_BACKEND", None)
    for args in (["record", "--duration", "1", "--out-dir", str(tmp_path / "o")], ["devices"]):
        r = run(args, env)
        assert r.returncode == 3, r.stderr
        assert "no sound server is running" in r.stderr
        assert "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_record_on_fake_source(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LOOPCAP_BACKEND", "fake")
    monkeypatch.setenv("LOOPCAP_FAKE", "signal=burst")
    out = tmp_path / "o"
    assert (
        main(["record", "--duration", "1.0", "--out-dir", str(out), "--format", "wav", "--json"])
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert abs(result["duration_s"] - 1.0) < 0.05
    assert result["peak_dbfs"] > -13 and result["channels"] == 2
    assert sf.info(result["raw_path"]).frames == round(result["duration_s"] * 48000)
    # The burst plays 0.5-1.0 s on the device's clock, whose stream begins at
    # about position 0 (the start does not wait for audio; on a loaded
    # machine the burst landed 5-8 ms early, the fake stream having begun
    # before the start was asked for); the note keeps a short lead before the
    # burst, wherever it landed.
    raw, _ = sf.read(result["raw_path"], dtype="float32")
    first = int(np.flatnonzero(np.abs(raw).max(axis=1) > 0.01)[0])  # the burst's first sample
    assert 0.45 < first / 48000 < 0.55
    start = round(result["start_s"] * 48000)  # the JSON's seconds name the sample
    assert first - 0.06 * 48000 < start <= first and abs(result["kept_s"] - 0.5) < 0.003
    assert sf.info(result["path"]).frames == round(result["kept_s"] * 48000)


def test_device_lost_saves_and_exits_3(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LOOPCAP_BACKEND", "fake")
    monkeypatch.setenv("LOOPCAP_FAKE", "lose_after_s=1.0,signal=tone")
    out = tmp_path / "o"
    assert main(["record", "--duration", "5", "--out-dir", str(out), "--json"]) == 3
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    # Lost 1.0 s into the device's clock, whose stream begins at position 0.
    assert 0.95 < result["duration_s"] < 1.05
    assert sf.info(result["raw_path"]).duration == pytest.approx(result["duration_s"], abs=1e-3)
    assert "disappeared" in captured.err


def test_python_warnings_go_to_the_log_and_are_counted(tmp_path, monkeypatch):
    import warnings

    from loopcap.app import logsetup

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    logsetup.setup_logging()
    logsetup.warning_counts.clear()
    warnings.warn("data discontinuity in recording", RuntimeWarning, stacklevel=1)
    warnings.warn("data discontinuity in recording", RuntimeWarning, stacklevel=1)
    assert logsetup.warning_counts["RuntimeWarning"] == 2  # every one, not just the first
    from loguru import logger

    logger.complete()
    log = logsetup.log_path()
    assert log.is_relative_to(tmp_path)
    assert "data discontinuity in recording" in log.read_text()
    if os.name == "posix":  # Windows has no such modes (its profile is private)
        assert oct(log.stat().st_mode & 0o777) == "0o600"
