"""The control channel's transports (loopcap.app.control.unix and .pipe), run
here on Linux: the Windows named-pipe transport through the very same code
on a Unix socket address (its family is a parameter), the macOS peer check
through its parser fed bytes built by hand, and the choice of transport by
the platform's name."""

from __future__ import annotations

import os
import shutil
import struct
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Client
from pathlib import Path

import pytest
from loguru import logger

from loopcap.app.control import ControlServer, InstanceLock, transport_for
from loopcap.app.control.pipe import (
    PIPE_PREFIX,
    SECRET_BYTES,
    PipeTransport,
    load_secret,
    pipe_address,
)
from loopcap.app.control.protocol import COMMANDS
from loopcap.errors import LoopcapError, NotRunning

if sys.platform == "win32":
    pytest.skip("these tests run the transports on Unix addresses", allow_module_level=True)

from loopcap.app.control import unix  # noqa: E402  (after the skip: POSIX only)

IDLE = {"ok": True, "state": "idle"}


@pytest.fixture
def short_dir():
    """A folder with a short path: a Unix socket's path must fit in 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="lc-ch-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def warnings():
    seen: list[str] = []
    sink = logger.add(lambda m: seen.append(str(m)), level="WARNING")
    yield seen
    logger.remove(sink)


def wait_for(predicate, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def recorder(reply: dict = IDLE):
    calls: list[str] = []

    def handler(command: str) -> dict:
        calls.append(command)
        return reply

    return calls, handler


def pipe(short_dir: Path, user: str = "ann") -> PipeTransport:
    """The Windows transport on a Unix socket: ``user``'s address and secret."""
    return PipeTransport(
        str(short_dir / f"{user}.pipe"), short_dir / user / "control.key", family="AF_UNIX"
    )


# --------------------------------------------------------------------------------------
# macOS: LOCAL_PEERCRED's struct xucred
# --------------------------------------------------------------------------------------


def xucred(version: int, uid: int, groups: list[int]) -> bytes:
    """A struct xucred as Darwin's <sys/ucred.h> lays it out, packed by hand:
    u_int version, uid_t uid, short ngroups, 2 bytes of padding, gid_t[16]."""
    data = struct.pack("=I", version) + struct.pack("=I", uid) + struct.pack("=h", len(groups))
    data += b"\0\0"
    data += b"".join(struct.pack("=I", g) for g in groups + [0] * (16 - len(groups)))
    return data


def test_xucred_is_76_bytes_and_gives_the_peers_uid():
    data = xucred(0, 501, [20, 12, 61, 79])
    assert len(data) == unix.XUCRED.size == 76
    assert unix.parse_xucred(data) == 501
    assert unix.parse_xucred(xucred(0, 0, [0])) == 0
    # getsockopt may return more than was asked for on a newer kernel: the head counts.
    assert unix.parse_xucred(data + b"\xff" * 8) == 501


@pytest.mark.parametrize(
    "data, why",
    [
        (xucred(1, 501, [20]), "version 1"),
        (xucred(0, 501, [20])[:75], "75 bytes"),
        (b"", "0 bytes"),
        (struct.pack("=IIh2x16I", 0, 501, 17, *[0] * 16), "17 groups"),
        (struct.pack("=IIh2x16I", 0, 501, -1, *[0] * 16), "-1 groups"),
    ],
)
def test_a_peer_that_cannot_be_told_is_refused_not_guessed(data, why):
    with pytest.raises(OSError, match=why.split()[0]):
        unix.parse_xucred(data)


# --------------------------------------------------------------------------------------
# The choice of transport
# --------------------------------------------------------------------------------------


def test_each_platform_name_gets_its_transport(short_dir, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(short_dir))
    monkeypatch.setenv("XDG_DATA_HOME", str(short_dir / "data"))
    linux = transport_for("linux")
    assert isinstance(linux, unix.UnixTransport)
    assert linux.peer_uid is unix.linux_peer_uid
    assert linux.address == str(short_dir / "loopcap" / "control.sock")
    macos = transport_for("macos")
    assert isinstance(macos, unix.UnixTransport)
    assert macos.peer_uid is unix.macos_peer_uid
    assert macos.address == linux.address
    windows = transport_for("windows", user="OFFICE\\ann lee")
    assert isinstance(windows, PipeTransport)
    assert windows.family == "AF_PIPE"
    assert windows.address == "\\\\.\\pipe\\loopcap-OFFICE_ann_lee"
    assert windows.secret == short_dir / "data" / "loopcap" / "control.key"
    assert not windows.secret.exists(), "choosing a transport must not create its secret"
    with pytest.raises(LoopcapError, match="no control channel"):
        transport_for("amiga")


def test_the_platform_chosen_once_picks_the_servers_transport(short_dir, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(short_dir))
    server = ControlServer(lambda c: IDLE)
    assert isinstance(server.transport, unix.UnixTransport)
    assert server.transport.peer_uid is unix.linux_peer_uid
    assert server.path == short_dir / "loopcap" / "control.sock"


def test_pipe_names_keep_only_safe_characters():
    assert pipe_address("ann") == PIPE_PREFIX + "ann"
    assert pipe_address("S-1-5-21-1004336348-1177238915-682003330-512") == (
        PIPE_PREFIX + "S-1-5-21-1004336348-1177238915-682003330-512"
    )
    assert pipe_address("a\\b/c:d") == PIPE_PREFIX + "a_b_c_d"
    assert pipe_address("") == PIPE_PREFIX + "_"


# --------------------------------------------------------------------------------------
# Linux and macOS: the Unix socket
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("peer", ["another user", "cannot be told"])
def test_the_unix_socket_refuses_a_peer_of_another_user(short_dir, warnings, peer):
    def other_uid(conn) -> int:
        if peer == "cannot be told":
            raise OSError("no credentials")
        return os.getuid() + 1

    calls, handler = recorder()
    transport = unix.UnixTransport(short_dir / "c.sock", other_uid)
    serving = transport.serve(handler)
    try:
        with pytest.raises(LoopcapError, match="gave no answer"):
            transport.ask("status", 5)
        assert wait_for(lambda: warnings)
        assert calls == [], "the handler ran for a refused peer"
        assert "refused a control connection" in warnings[0]
    finally:
        serving.close()


def test_the_unix_socket_answers_its_user_and_closes_promptly(short_dir):
    calls, handler = recorder()
    transport = unix.UnixTransport(short_dir / "c.sock", unix.linux_peer_uid)
    serving = transport.serve(handler)
    assert transport.ask("toggle", 5) == IDLE
    assert transport.ask("dance", 5) == {"ok": False, "error": "unknown command 'dance'"}
    t0 = time.monotonic()
    serving.close()
    assert time.monotonic() - t0 < 0.3
    serving.close()
    assert calls == ["toggle"]
    assert not (short_dir / "c.sock").exists()
    with pytest.raises(NotRunning):
        transport.ask("status", 5)


def test_the_unix_socket_thread_sleeps_without_a_period(short_dir, monkeypatch):
    """Its selector waits with no timeout, and an idle server does not wake
    (the standard library's serve_forever woke every 0.5 s)."""
    timeouts: list[float | None] = []

    class Counting(unix.selectors.DefaultSelector):  # type: ignore[name-defined,misc]
        def select(self, timeout=None):
            timeouts.append(timeout)
            return super().select(timeout)

    monkeypatch.setattr(unix.selectors, "DefaultSelector", Counting)
    transport = unix.UnixTransport(short_dir / "c.sock", unix.linux_peer_uid)
    serving = transport.serve(lambda c: IDLE)
    try:
        time.sleep(0.6)
        assert timeouts == [None], timeouts
        assert transport.ask("status", 5) == IDLE
        assert wait_for(lambda: len(timeouts) == 2), timeouts
    finally:
        serving.close()
    assert timeouts == [None, None]


# --------------------------------------------------------------------------------------
# Windows: the named pipe's code on a Unix address
# --------------------------------------------------------------------------------------


def test_the_pipe_answers_every_command_and_refuses_an_unknown_one(short_dir):
    calls, handler = recorder()
    transport = pipe(short_dir)
    serving = transport.serve(handler)
    try:
        for command in COMMANDS:
            assert transport.ask(command, 5) == IDLE
        assert transport.ask("dance", 5) == {"ok": False, "error": "unknown command 'dance'"}
    finally:
        serving.close()
    assert calls == list(COMMANDS)


def test_the_pipe_refuses_a_client_with_the_wrong_key(short_dir, warnings):
    calls, handler = recorder()
    serving = pipe(short_dir, "ann").serve(handler)
    try:
        impostor = PipeTransport(
            str(short_dir / "ann.pipe"), short_dir / "bob" / "control.key", family="AF_UNIX"
        )
        load_secret(impostor.secret, create=True)
        with pytest.raises(LoopcapError, match="gave no answer"):
            impostor.ask("quit", 5)
        assert wait_for(lambda: warnings)
        assert "did not know the user's key" in warnings[0]
        assert calls == [], "the handler ran for a client without the key"
    finally:
        serving.close()


def test_the_secret_is_made_once_by_the_server_and_reused(short_dir):
    transport = pipe(short_dir)
    with pytest.raises(NotRunning):  # never started: no secret, and asking makes none
        transport.ask("status", 5)
    assert not transport.secret.exists()
    first = transport.serve(lambda c: IDLE)
    key = transport.secret.read_bytes()
    assert len(key) == SECRET_BYTES
    assert oct(transport.secret.stat().st_mode & 0o777) == "0o600"
    assert oct(transport.secret.parent.stat().st_mode & 0o777) == "0o700"
    first.close()
    with pytest.raises(NotRunning):  # the secret stays, nobody listens
        transport.ask("status", 5)
    second = transport.serve(lambda c: IDLE)
    try:
        assert transport.secret.read_bytes() == key
        assert transport.ask("status", 5) == IDLE
    finally:
        second.close()
    assert [p.name for p in transport.secret.parent.iterdir()] == ["control.key"]


def test_a_damaged_secret_is_replaced_by_the_server_only(short_dir):
    path = short_dir / "k" / "control.key"
    path.parent.mkdir()
    path.write_bytes(b"short")
    assert load_secret(path, create=False) == b"short"  # a client never rewrites it
    key = load_secret(path, create=True)
    assert len(key) == SECRET_BYTES and key != b"short" and path.read_bytes() == key


def test_servers_starting_at_once_agree_on_one_secret(short_dir):
    path = short_dir / "k" / "control.key"
    keys: list[bytes] = []
    barrier = threading.Barrier(8)

    def make() -> None:
        barrier.wait()
        keys.append(load_secret(path, create=True))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(keys) == 8 and len(set(keys)) == 1 and path.read_bytes() == keys[0]
    assert [p.name for p in path.parent.iterdir()] == ["control.key"]


def test_two_users_pipes_do_not_mix(short_dir):
    ann_calls, ann_handler = recorder({"ok": True, "state": "ann"})
    bob_calls, bob_handler = recorder({"ok": True, "state": "bob"})
    ann, bob = pipe(short_dir, "ann"), pipe(short_dir, "bob")
    ann_serving, bob_serving = ann.serve(ann_handler), bob.serve(bob_handler)
    try:
        assert ann.secret.read_bytes() != bob.secret.read_bytes()
        assert ann.ask("status", 5)["state"] == "ann"
        assert bob.ask("status", 5)["state"] == "bob"
        # Bob's key on Ann's pipe, and Ann's on Bob's: refused both ways.
        for address, secret in ((ann.address, bob.secret), (bob.address, ann.secret)):
            with pytest.raises(LoopcapError, match="gave no answer"):
                PipeTransport(address, secret, family="AF_UNIX").ask("stop", 5)
        assert ann_calls == ["status"] and bob_calls == ["status"]
    finally:
        ann_serving.close()
        bob_serving.close()


def test_the_pipe_closes_promptly_idempotently_and_from_two_threads(short_dir):
    transport = pipe(short_dir)
    serving = transport.serve(lambda c: IDLE)
    assert transport.ask("status", 5) == IDLE
    t0 = time.monotonic()
    closers = [threading.Thread(target=serving.close) for _ in range(2)]
    for t in closers:
        t.start()
    for t in closers:
        t.join(5)
    took = time.monotonic() - t0
    assert took < 0.3, took
    serving.close()
    with pytest.raises(NotRunning):
        transport.ask("status", 5)
    assert not Path(transport.address).exists()


def test_closing_the_pipe_waits_for_an_answer_under_way(short_dir):
    started, answered = threading.Event(), threading.Event()

    def slow(command: str) -> dict:
        started.set()
        time.sleep(0.3)
        answered.set()
        return {"ok": True, "state": "quitting"}

    transport = pipe(short_dir)
    serving = transport.serve(slow)
    replies: list[dict] = []
    t = threading.Thread(target=lambda: replies.append(transport.ask("quit", 5)))
    t.start()
    assert started.wait(5)
    serving.close()
    assert answered.is_set(), "close returned before the answer under way was given"
    t.join(5)
    assert replies == [{"ok": True, "state": "quitting"}]


def test_a_failing_handler_gives_no_answer_and_the_pipe_goes_on(short_dir):
    def handler(command: str) -> dict:
        if command == "stop":
            raise RuntimeError("a bug")
        return IDLE

    transport = pipe(short_dir)
    serving = transport.serve(handler)
    try:
        with pytest.raises(LoopcapError, match="gave no answer"):
            transport.ask("stop", 5)
        assert transport.ask("status", 5) == IDLE
    finally:
        serving.close()


def test_a_silent_peer_does_not_hold_up_the_pipe(short_dir, monkeypatch):
    """Anyone may open the pipe (read-only, on Windows) and say nothing: the
    handshake runs on the connection's thread and gives up in time."""
    from loopcap.app.control import pipe as pipe_module

    monkeypatch.setattr(pipe_module, "CONNECTION_TIMEOUT_S", 0.3)
    transport = pipe(short_dir)
    serving = transport.serve(lambda c: IDLE)
    try:
        with Client(transport.address, "AF_UNIX") as silent:
            t0 = time.monotonic()
            assert transport.ask("status", 5) == IDLE
            assert time.monotonic() - t0 < 0.25
            assert serving.answering.wait_idle(2), "the silent peer's thread did not give up"
            assert silent.poll(1)  # it was sent the challenge, and never answered
    finally:
        serving.close()


def test_a_pipe_client_gives_up_on_a_slow_answer(short_dir):
    release = threading.Event()
    transport = pipe(short_dir)
    serving = transport.serve(lambda c: release.wait(5) and IDLE or IDLE)
    try:
        t0 = time.monotonic()
        with pytest.raises(LoopcapError, match="did not answer within 0.3 s"):
            transport.ask("toggle", 0.3)
        assert time.monotonic() - t0 < 1.5
    finally:
        release.set()
        serving.close()


# --------------------------------------------------------------------------------------
# The instance lock on every platform
# --------------------------------------------------------------------------------------


def test_the_instance_lock_is_not_inherited_by_child_processes(short_dir, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(short_dir))
    with InstanceLock() as lock:
        assert lock._fd is not None and not os.get_inheritable(lock._fd)


def test_a_held_lock_whose_pid_cannot_be_read_is_still_refused_clearly(short_dir, monkeypatch):
    """On Windows the holder's locked byte cannot be read by a second instance."""
    import loopcap.app.control as control

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(short_dir))
    opened: list[int] = []
    real_open = os.open

    def spy_open(*args, **kwargs) -> int:
        fd = real_open(*args, **kwargs)
        opened.append(fd)
        return fd

    def unreadable(fd: int, n: int) -> bytes:
        raise PermissionError(13, "the region is locked")

    monkeypatch.setattr(control, "try_lock", lambda fd: False)
    monkeypatch.setattr(control.os, "open", spy_open)
    monkeypatch.setattr(control.os, "read", unreadable)
    with pytest.raises(LoopcapError, match=r"already running \(pid \?\)"):
        InstanceLock().acquire()
    monkeypatch.undo()
    assert len(opened) == 1
    with pytest.raises(OSError):  # closed, not leaked
        os.fstat(opened[0])


def test_an_address_that_cannot_be_reached_is_one_clear_error(short_dir):
    """Not "unexpected error": a socket or pipe that is not ours to open."""
    too_long = short_dir / ("x" * 200)
    load_secret(short_dir / "k", create=True)
    for transport in (
        unix.UnixTransport(too_long, unix.linux_peer_uid),
        PipeTransport(str(too_long), short_dir / "k", family="AF_UNIX"),
    ):
        with pytest.raises(LoopcapError, match="cannot reach the running loopcap"):
            transport.ask("status", 5)


def test_a_channel_that_cannot_be_opened_is_one_clear_error(short_dir, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(short_dir))
    server = ControlServer(lambda c: IDLE)
    server.transport = unix.UnixTransport(short_dir / ("x" * 200), unix.linux_peer_uid)
    with pytest.raises(LoopcapError, match="cannot open the control channel"):
        server.start()
    server.close()  # nothing was started: nothing to do
