"""The control socket (loopcap.app.control) without a running app: its one list
of commands, its answers, the stale socket of a crashed instance, its close."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

from loopcap.app.cli import build_parser
from loopcap.app.control import COMMANDS, ControlServer, InstanceLock, cli_commands, send
from loopcap.errors import LoopcapError, NotRunning


@pytest.fixture
def runtime(monkeypatch):
    # Short: a socket path must fit in 108 bytes.
    path = Path(tempfile.mkdtemp(prefix="loopcap-ctl-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(path))
    yield path
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _raw(path: Path, line: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(str(path))
        s.sendall(line)
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return data


def test_the_cli_subcommands_are_the_control_commands_with_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    offered = set(sub.choices)
    assert set(cli_commands()) <= offered
    # Commands without help are the hotkeys' and the tray's, not subcommands.
    assert not {c for c, text in COMMANDS.items() if text is None} & offered
    assert list(cli_commands()) == ["toggle", "stop", "status", "quit"]


def test_answers_a_known_command_and_refuses_an_unknown_one(runtime):
    calls = []
    with ControlServer(lambda c: calls.append(c) or {"ok": True, "state": "idle"}) as server:
        assert oct(server.path.stat().st_mode & 0o777) == "0o600"
        for command in COMMANDS:
            assert send(command) == {"ok": True, "state": "idle"}
        assert _raw(server.path, b"dance\n") == (
            b'{"ok": false, "error": "unknown command \'dance\'"}\n'
        )
    assert calls == list(COMMANDS)
    assert not server.path.exists()


def test_a_failing_handler_closes_the_connection_and_the_server_goes_on(runtime):
    def handler(command: str) -> dict:
        if command == "stop":
            raise RuntimeError("a bug")
        return {"ok": True, "state": "idle"}

    with ControlServer(handler) as server:
        assert _raw(server.path, b"stop\n") == b""
        with pytest.raises(LoopcapError, match="gave no answer"):
            send("stop")
        assert send("status") == {"ok": True, "state": "idle"}


def test_takes_over_the_socket_a_crashed_instance_left(runtime):
    path = runtime / "loopcap" / "control.sock"
    path.parent.mkdir(mode=0o700)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens: what a crash leaves
    with pytest.raises(NotRunning):
        send("status")
    with ControlServer(lambda c: {"ok": True, "state": "idle"}):
        assert send("status")["state"] == "idle"


def test_close_is_idempotent_and_waits_for_an_answer_under_way(runtime):
    started, answered = threading.Event(), threading.Event()

    def slow(command: str) -> dict:
        started.set()
        time.sleep(0.3)
        answered.set()
        return {"ok": True, "state": "quitting"}

    server = ControlServer(slow)
    server.close()  # never started: nothing to do
    server.start()
    replies = []
    t = threading.Thread(target=lambda: replies.append(send("quit")))
    t.start()
    assert started.wait(5)
    t0 = time.monotonic()
    server.close()
    took = time.monotonic() - t0
    assert answered.is_set(), "close returned before the answer under way was given"
    server.close()
    t.join(5)
    assert replies == [{"ok": True, "state": "quitting"}]
    assert took < ControlServer.CLOSE_WAIT_S + ControlServer.POLL_S + 0.5, took
    with pytest.raises(NotRunning):
        send("status")


def test_the_instance_lock_is_held_once_and_released_by_its_block(runtime):
    with InstanceLock() as lock:
        assert (runtime / "loopcap" / "app.lock").read_text() == str(os.getpid())
        with pytest.raises(LoopcapError, match="already running"):
            InstanceLock().acquire()
        lock.release()
        lock.release()  # idempotent
        with InstanceLock():
            pass
