"""Privacy on the real system parts: no network, no keys in the log.

* ``loopcap record`` on the private PulseAudio server, ``loopcap trim`` and the
  tray app run under ``strace`` (socket and connect calls, every thread): every
  socket they open is a local one (``AF_UNIX``: the sound server, the X
  server, the app's control socket); no ``AF_INET``/``AF_INET6`` socket is ever
  made, so nothing can be sent or received over a network.
* The tray app at debug level (``-v``) hears a secret typed on the private X
  display (``xdotool type``, real XTEST key events that its global hotkey
  listener receives, as the hotkey pressed right after shows): neither its log
  file nor its terminal output holds the secret, nor any of its characters in
  the form key events print (``'s'``, ``KeyCode``, ``Key.shift``).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import rig
import xrig
from rig import Loopcap, report

KEY = xrig.TOGGLE_KEY
SECRET = "Qz8kJpw4vX"
#: How key events look when printed: pynput's KeyCode/Key reprs, X keysyms.
KEY_EVENT_FORMS = ("KeyCode", "Key.", "<Key", "keysym", "vk=", "char=")


def traced(trace: Path) -> list[str]:
    """The argv prefix that runs a program under strace, recording every socket()
    and connect() of every thread, and every execve() (so that even a trace
    without sockets shows it ran) into ``trace``."""
    strace = rig.require("strace")
    return [
        strace, "-f", "-qq", "--seccomp-bpf", "-e", "trace=socket,connect,execve", "-o", str(trace),
    ]  # fmt: skip


def network_use(trace: Path) -> tuple[list[str], list[str], list[str]]:
    """(address families of socket(), of connect(), unix paths connected to)."""
    text = trace.read_text(errors="replace")
    sockets = re.findall(r"\bsocket\((\w+)", text)
    connects = re.findall(r"\bconnect\(\d+, \{sa_family=(\w+)", text)
    paths = re.findall(r'\bconnect\(\d+, \{sa_family=AF_UNIX, sun_path=@?"([^"]*)"', text)
    return sockets, connects, paths


def check_local_only(trace: Path, what: str) -> list[str]:
    """Assert that only AF_UNIX sockets were made; returns the paths connected to."""
    sockets, connects, paths = network_use(trace)
    assert sockets, f"{what}: strace saw no socket at all (is the trace working?)"
    assert set(sockets) == {"AF_UNIX"}, f"{what} made sockets of {sorted(set(sockets))}"
    assert set(connects) <= {"AF_UNIX"}, f"{what} connected to {sorted(set(connects))}"
    return paths


def test_record_and_trim_open_no_network_connection(pulse, loopcap_env, tmp_path):
    out = tmp_path / "out"
    trace = tmp_path / "record.strace"
    args = ["record", "--duration", "3", "--json", "--out-dir", str(out), "--format", "flac"]
    proc = Loopcap(args, loopcap_env, tmp_path, wrapper=traced(trace))
    time.sleep(1.2)
    pulse.play_array(rig.tone(440, 0.8))
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    saved = json.loads(stdout)
    paths = check_local_only(trace, "loopcap record")
    assert any(p.startswith(str(pulse.dir)) for p in paths), paths  # the sound server

    trim_trace = tmp_path / "trim.strace"
    done = rig.run_loopcap(
        ["trim", saved["raw_path"]], loopcap_env, tmp_path, wrapper=traced(trim_trace)
    )
    assert done.returncode == 0, done.stderr
    sockets, connects, _ = network_use(trim_trace)
    assert "execve(" in trim_trace.read_text(errors="replace"), "strace traced nothing"
    assert set(sockets) <= {"AF_UNIX"} and set(connects) <= {"AF_UNIX"}, (sockets, connects)
    report("Privacy", "no network: record and trim under strace", 2, 2)


def test_keys_typed_are_never_logged_and_the_app_stays_local(pulse, xdisplay, app_env, tmp_path):
    config, out = rig.write_config(tmp_path, hotkeys={"toggle": xrig.TOGGLE_HOTKEY})
    trace = tmp_path / "app.strace"
    args = ["-v", "run", "--config", str(config)]
    app = Loopcap(args, app_env, tmp_path, wrapper=traced(trace))
    try:
        app.wait_running(timeout=40)
        xdotool = rig.require("xdotool")
        env = xdisplay.env(app_env)

        def type_secret() -> None:
            done = subprocess.run(
                [xdotool, "type", "--delay", "15", SECRET],
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert done.returncode == 0, done.stderr

        type_secret()
        # The listener heard the keyboard all along: the hotkey works right after.
        xdisplay.key(KEY)
        app.wait_state("recording", timeout=10)
        type_secret()
        xdisplay.key(KEY)
        app.wait_state("idle", timeout=15)
        done = rig.run_loopcap(["quit"], app_env, timeout=30)
        assert done.returncode == 0, done.stderr
        assert app.finish(timeout=20) == 0, app.log
    finally:
        app.kill()
    log_file = Path(app_env["XDG_STATE_HOME"]) / "loopcap" / "log" / "loopcap.log"
    logged = log_file.read_text(encoding="utf-8")
    # The right file, and the listener ran.
    assert "hotkeys: toggle = <ctrl>+<alt>+r" in logged and "hotkeys:" in app.log, logged
    leaks = []
    for name, text in (("log file", logged), ("terminal", app.log)):
        if SECRET in text:
            leaks.append(f"the secret in the {name}")
        leaks += [f"{form!r} in the {name}" for form in KEY_EVENT_FORMS if form in text]
        leaks += [f"'{c}' in the {name}" for c in SECRET if f"'{c}'" in text or f'"{c}"' in text]
    report("Privacy", "typed secret absent from log and terminal (-v)", 1, int(not leaks))
    assert not leaks, leaks
    paths = check_local_only(trace, "the app")
    # It talks to the sound server and the X server.
    assert any(p.startswith(str(pulse.dir)) for p in paths), paths
    assert any(".X11-unix" in p for p in paths), paths
    report("Privacy", "no network: the app under strace", 1, 1)
