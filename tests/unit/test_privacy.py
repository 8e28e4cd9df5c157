"""Privacy: captures and logs are readable by their user alone, and the control
socket answers only its user.

* ``loopcap record`` (fake source) and ``loopcap trim`` run in a child process
  with umask 000, the most permissive there is: every file they create is 0600
  and every folder 0700, parents of the captures folder and of the log folder
  included.
* The control socket: another user can neither reach it (its folder is 0700)
  nor, if the folder and the socket were opened to everyone, be answered
  (``SO_PEERCRED``).  Acting as another user needs root.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import rig
import soundfile as sf
from filerig import note
from rig import report, user_dirs

pytestmark = pytest.mark.posix  # file modes under umask 000, fork and AF_UNIX: POSIX only

NOBODY = 65534


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(os.stat(path).st_mode))


def run_loopcap(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return rig.run_loopcap(args, env, preexec_fn=lambda: os.umask(0))


def test_files_and_folders_are_private_whatever_the_umask(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPCAP_")}
    env.update(user_dirs(tmp_path / "user"))
    # Nothing of loopcap's yet: the log folder's parents are created too.
    state = Path(env["XDG_STATE_HOME"])
    env.update(LOOPCAP_BACKEND="fake", LOOPCAP_FAKE="signal=burst", PYTHONUNBUFFERED="1")
    out = tmp_path / "new" / "captures"
    config = tmp_path / "config" / "config.toml"
    done = run_loopcap(["--config", str(config), "config", "--init"], env)
    assert done.returncode == 0, done.stderr
    config.write_text(
        config.read_text().replace('dir = ""', f"dir = {json.dumps(str(out))}"), encoding="utf-8"
    )
    done = run_loopcap(["--config", str(config), "record", "--duration", "1", "--json"], env)
    assert done.returncode == 0, done.stderr
    saved = json.loads(done.stdout)
    note_out = tmp_path / "new" / "trimmed" / "note.trimmed.flac"
    src = tmp_path / "note.wav"
    sf.write(src, note(), 8000)
    os.chmod(src, 0o644)
    done = run_loopcap(
        ["trim", str(src), "--out-dir", str(note_out.parent), "--format", "flac"], env
    )
    assert done.returncode == 0, done.stderr

    log = state / "loopcap" / "log" / "loopcap.log"
    files = [Path(saved["path"]), Path(saved["raw_path"]), note_out, log, config]
    folders = [
        tmp_path / "new", out, note_out.parent,  # the captures folder and its new parent
        state / "loopcap", state / "loopcap" / "log",  # the log folder and its parent
        config.parent,
    ]  # fmt: skip
    modes = {**{str(p): mode(p) for p in files}, **{str(p): mode(p) for p in folders}}
    expected = {**{str(p): "0o600" for p in files}, **{str(p): "0o700" for p in folders}}
    handled = sum(modes[k] == v for k, v in expected.items())
    report("Privacy", "files 0600 and folders 0700 under umask 000", len(expected), handled)
    assert modes == expected
    # Nothing else was created anywhere in those folders.
    made = sorted(p.name for p in out.iterdir())
    assert made == sorted([Path(saved["path"]).name, Path(saved["raw_path"]).name])


# --------------------------------------------------------------------------------------
# The control socket
# --------------------------------------------------------------------------------------


def as_nobody(path: Path) -> str:
    """In a forked child acting as user ``nobody``: connect to the socket at
    ``path``, send ``status``; returns what happened: "refused: <why>" when it
    cannot connect, else the reply ("" when the server hung up without one)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: system calls only, then _exit
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(5)
                try:
                    s.connect(str(path))
                except OSError as exc:
                    result = f"refused: {exc.strerror}"
                else:
                    data = b""
                    try:  # a reset (the server hung up on unread data) is no reply
                        s.sendall(b"status\n")
                        while chunk := s.recv(4096):
                            data += chunk
                    except ConnectionResetError:
                        pass
                    result = data.decode(errors="replace")
            os.write(w, result.encode()[:4000])
        finally:
            os._exit(0)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 4096):
        chunks.append(chunk)
    os.close(r)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()


def test_control_socket_answers_only_its_user(monkeypatch):
    if os.geteuid() != 0:
        rig.unavailable("acting as another user needs root")
    from loguru import logger

    from loopcap.app.control import ControlServer, send

    runtime = Path(tempfile.mkdtemp(prefix="loopcap-peer-"))  # short: a socket path
    os.chmod(runtime, 0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    calls = []
    warnings = []
    sink = logger.add(lambda m: warnings.append(str(m)), level="WARNING")
    server = ControlServer(lambda command: calls.append(command) or {"ok": True, "state": "idle"})
    server.start()
    try:
        assert send("status") == {"ok": True, "state": "idle"}  # its own user: answered
        assert calls == ["status"]
        assert mode(server.path.parent) == "0o700" and mode(server.path) == "0o600"
        # Another user cannot even reach it...
        first = as_nobody(server.path)
        assert first == "refused: Permission denied", first
        # ...and with the folder and the socket opened to everyone, is not answered.
        os.chmod(server.path.parent, 0o755)
        os.chmod(runtime, 0o755)
        os.chmod(server.path, 0o777)
        second = as_nobody(server.path)
        deadline = time.monotonic() + 5
        while not warnings and time.monotonic() < deadline:
            time.sleep(0.01)
        assert second == "", second
        assert calls == ["status"], "the handler ran for another user"
        assert any("refused a control connection from another user" in w for w in warnings)
        report("Privacy", "control socket refuses another user", 2, 2)
    finally:
        logger.remove(sink)
        server.close()
        os.chmod(runtime, 0o700)
        import shutil

        shutil.rmtree(runtime, ignore_errors=True)
