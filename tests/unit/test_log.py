"""loopcap.log: loguru imported at the first message, configured as the entry
point said, from any thread, once.

The command-line cases run in a fresh interpreter: in this test process
loguru is imported already (the tests' own sinks), where ``configure``
applies at once, as the in-process case checks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import soundfile as sf

from loopcap import log

# Every child first names the log file and its size (-1: none yet).  On
# Linux it lies in the test's folder (XDG_STATE_HOME); elsewhere in the user
# log folder that other tests share, so what a child added is read from
# that size on.
PROLOGUE = """
import os, sys
from loopcap.app.logsetup import log_path
print("log file:", log_path())
print("log size before:", os.path.getsize(log_path()) if log_path().exists() else -1)
"""

# Runs loopcap's command line in-process, then says whether loguru was
# imported and the log's size; the exit status is main's.
RUN = PROLOGUE + textwrap.dedent(
    """
    from loopcap.app.cli import main
    rc = main(sys.argv[1:])
    print("loguru imported:", "loguru" in sys.modules)
    print("log size after:", os.path.getsize(log_path()) if log_path().exists() else -1)
    sys.exit(rc)
    """
)


def _child(
    tmp_path, script: str, *argv: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"), **(env or {}))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


def _said(p: subprocess.CompletedProcess[str], what: str) -> str:
    return p.stdout.split(f"{what}: ", 1)[1].splitlines()[0].strip()


def _logged(p: subprocess.CompletedProcess[str]) -> str:
    """What the child added to the log file."""
    before = max(int(_said(p, "log size before")), 0)
    return Path(_said(p, "log file")).read_bytes()[before:].decode("utf-8")


def _note(path) -> None:
    sr = 48_000
    t = np.arange(sr) / sr
    x = np.zeros(3 * sr, dtype=np.float32)
    x[sr : 2 * sr] = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2
    sf.write(path, x, sr, subtype="FLOAT")


def test_a_trim_that_logs_nothing_never_imports_loguru(tmp_path):
    _note(tmp_path / "in.wav")
    p = _child(tmp_path, RUN, "trim", "in.wav", "-o", "out.wav")
    assert p.returncode == 0, p.stderr
    assert "loguru imported: False" in p.stdout
    assert sf.info(tmp_path / "out.wav").duration < 2.5
    # ...nor wrote to the log file (on Linux: nor made it).
    assert _said(p, "log size after") == _said(p, "log size before")


def test_the_first_message_goes_to_the_terminal_and_the_log_as_configured(tmp_path):
    _note(tmp_path / "in.wav")
    (tmp_path / "out.wav").write_bytes(b"mine")
    p = _child(tmp_path, RUN, "trim", "in.wav", "-o", "out.wav")
    assert p.returncode != 0
    assert "loguru imported: True" in p.stdout
    # stderr has the plain line of setup_logging's sink, not loguru's default
    # format (a timestamp, the level, the module) from before the setup.
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert lines == ["loopcap: out.wav already exists; use --force to replace it"]
    text = _logged(p)
    assert text.count("already exists") == 1
    assert " ERROR   loopcap.app.trim: loopcap: " in text  # the caller's module, as before
    assert (tmp_path / "out.wav").read_bytes() == b"mine"


def test_a_recording_loads_loguru_before_its_capture_thread_starts(tmp_path):
    # Its reads must not share the interpreter with loguru's import.
    script = textwrap.dedent(
        """
        import sys, threading
        seen = []
        start = threading.Thread.start
        def noted(self, *a, **k):
            seen.append((self.name, "loguru" in sys.modules))
            return start(self, *a, **k)
        threading.Thread.start = noted
        from loopcap.app.cli import main
        rc = main(["record", "--duration", "1.0", "--out-dir", "out", "--format", "wav"])
        print(seen)
        sys.exit(rc)
        """
    )
    env = dict(LOOPCAP_BACKEND="fake", LOOPCAP_FAKE="signal=burst")
    p = _child(tmp_path, script, env=env)
    assert p.returncode == 0, p.stderr
    seen = eval(p.stdout.strip().splitlines()[-1])  # noqa: S307 - our own child's list
    assert seen and all(loaded for _, loaded in seen), seen


def test_threads_logging_their_first_messages_at_once_configure_it_once(tmp_path):
    script = PROLOGUE + textwrap.dedent(
        """
        import threading, time
        from loopcap.app.logsetup import setup_logging
        from loopcap.log import logger
        setup_logging()
        go = threading.Barrier(16)
        def first(i):
            go.wait()
            time.sleep(0.01 * i)  # some while loguru loads, some while it is set up
            logger.info(f"message {i}")
        ts = [threading.Thread(target=first, args=(i,)) for i in range(16)]
        for t in ts: t.start()
        for t in ts: t.join()
        """
    )
    p = _child(tmp_path, script)
    assert p.returncode == 0, p.stderr
    # Every message once, each in the configured format ("{message}" alone).
    assert sorted(p.stderr.split()) == sorted(w for i in range(16) for w in ("message", str(i))), (
        p.stderr
    )
    text = _logged(p)
    assert all(text.count(f"message {i}\n") == 1 for i in range(16))


def test_without_a_stderr_messages_still_reach_the_log_file(tmp_path):
    # pythonw.exe (Windows' start at login) runs with sys.stderr None, which
    # loguru refuses as a sink: the first message raised, and logging stopped.
    script = PROLOGUE + textwrap.dedent(
        """
        from loopcap.app.logsetup import setup_logging
        from loopcap.log import logger
        sys.stderr = None
        setup_logging()
        logger.info("running without a terminal")
        """
    )
    p = _child(tmp_path, script)
    assert p.returncode == 0, p.stderr
    assert "running without a terminal" in _logged(p)


def test_a_setup_that_fails_is_tried_again_at_the_next_message(tmp_path):
    p = _child(
        tmp_path,
        """
        from loopcap import log
        from loopcap.log import logger
        tries = []
        def setup(real):
            tries.append(1)
            if len(tries) == 1:
                raise RuntimeError("no sink yet")
            real.remove()
            real.add(print, format="{message}")
        log.configure(setup)
        try:
            logger.info("first")
        except RuntimeError as exc:
            print("raised:", exc)
        logger.info("second")
        print("tries:", len(tries))
        """,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["raised:", "no", "sink", "yet", "second", "tries:", "2"]


def test_with_loguru_imported_the_configuration_applies_at_once():
    from loguru import logger as real

    seen: list[str] = []

    def setup(lg) -> None:
        seen.append("configured")
        assert lg is real

    log.configure(setup)
    assert seen == ["configured"]  # before any message
    assert log.logger.opt is not None and log.logger.add.__self__ is real
