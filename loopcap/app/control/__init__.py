"""Control of the running app from outside: ``loopcap toggle|stop|status|quit``.

A Unix socket in the user's runtime folder (0700), accepting only
connections from the same user (checked with ``SO_PEERCRED`` for every
connection).  One request per connection: a line with a command, answered by
one line of JSON.  The server is the standard library's
:class:`socketserver.ThreadingUnixStreamServer`: one thread per connection,
because a toggle waits for the controller and a burst of them must not queue
behind each other.

A lock file held (``flock``) for the app's lifetime tells a live instance
from the socket of a crashed one, which is taken over.

:data:`COMMANDS` is the one list of control commands: the server accepts
exactly these, and the command line makes its subcommands from it.
"""

from __future__ import annotations

import json
import os
import socket
import socketserver
import struct
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import platformdirs
from loguru import logger

from loopcap.errors import LoopcapError, NotRunning
from loopcap.fs import ensure_private_dir, try_lock

__all__ = [
    "COMMANDS",
    "cli_commands",
    "runtime_dir",
    "socket_path",
    "InstanceLock",
    "ControlServer",
    "send",
]

#: Every command the control socket takes, in the order ``loopcap --help``
#: lists them, with the help of its ``loopcap`` subcommand; None: no
#: subcommand of its own (``start``, ``cancel`` and ``arm`` come from the
#: hotkeys and the tray; ``loopcap toggle --arm`` sends ``arm``).
COMMANDS: dict[str, str | None] = {
    "toggle": "start or stop a capture in the running app",
    "start": None,
    "stop": "stop and save the running app's capture",
    "cancel": None,
    "arm": None,
    "status": "show what the running app is doing",
    "quit": "save any capture and quit the running app",
}

#: Longest request line read, in characters (the longest command is 6).
MAX_LINE = 256
#: How long one connection may take to send its line and read the answer, in seconds.
CONNECTION_TIMEOUT_S = 5.0


def cli_commands() -> dict[str, str]:
    """The commands that are ``loopcap`` subcommands, with their help."""
    return {name: text for name, text in COMMANDS.items() if text is not None}


def runtime_dir() -> Path:
    """The private (0700) runtime folder of loopcap, created if missing."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    path = Path(base) / "loopcap" if base else Path(platformdirs.user_runtime_dir("loopcap"))
    return ensure_private_dir(path)


def socket_path() -> Path:
    return runtime_dir() / "control.sock"


class InstanceLock:
    """Held by the one running app for its lifetime.

    :meth:`acquire` (or ``with``) raises :class:`LoopcapError` if another
    process holds it; :meth:`release` is idempotent.  Any thread; the lock
    belongs to the process (it lives as long as the descriptor).
    """

    def __init__(self) -> None:
        self.path = runtime_dir() / "app.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        if not try_lock(fd):
            pid = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise LoopcapError(
                f"loopcap is already running (pid {pid}); use `loopcap toggle`, "
                "`loopcap stop` or `loopcap status` to control it"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


def _peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid


class _Answer(socketserver.BaseRequestHandler):
    """One connection: read a command line, answer one JSON line.  Runs on a
    thread of its own; the peer has been checked by ``verify_request``."""

    server: _Server

    def handle(self) -> None:
        conn = self.request
        try:
            conn.settimeout(CONNECTION_TIMEOUT_S)
            line = conn.makefile("r", encoding="utf-8").readline(MAX_LINE).strip()
            if line not in COMMANDS:
                reply = {"ok": False, "error": f"unknown command {line[:40]!r}"}
            else:
                reply = self.server.handler(line)
            conn.sendall((json.dumps(reply) + "\n").encode())
        except Exception as exc:  # a bad client must not end the server
            logger.debug(f"control connection failed: {exc}")


class _Server(socketserver.ThreadingUnixStreamServer):
    """The listening socket, with the same-user check and a count of the
    answers under way (for :meth:`ControlServer.close`)."""

    daemon_threads = True  # a hung client must not keep the process alive
    block_on_close = False  # close waits for answers itself, with a time limit
    request_queue_size = 8

    def __init__(self, path: Path, handler: Callable[[str], dict]) -> None:
        super().__init__(str(path), _Answer, bind_and_activate=False)
        self.handler = handler
        self.answering = 0  # connections being answered
        self.idle = threading.Condition()

    def server_bind(self) -> None:
        old = os.umask(0o177)  # the socket file is created 0600
        try:
            super().server_bind()
        finally:
            os.umask(old)

    def verify_request(self, request, client_address) -> bool:
        """Called for every connection, before its thread starts."""
        if _peer_uid(request) != os.getuid():
            logger.warning("refused a control connection from another user")
            return False
        return True

    def process_request(self, request, client_address) -> None:
        with self.idle:
            self.answering += 1
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._answered()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._answered()

    def _answered(self) -> None:
        with self.idle:
            self.answering -= 1
            self.idle.notify_all()

    def handle_error(self, request, client_address) -> None:
        # Not the default traceback on stderr: one debug line, as for a bad client.
        logger.debug(f"control connection failed: {sys.exc_info()[1]}")


class ControlServer:
    """Serves the control socket on a daemon thread.  ``handler(command) -> dict``
    is called on a per-connection thread and must be thread-safe.

    Lifecycle: :meth:`start` (or ``with``), then :meth:`close` (idempotent;
    safe if :meth:`start` never ran or failed).  Start only while holding the
    :class:`InstanceLock`: a socket file found then is a crashed instance's.
    """

    #: How long :meth:`close` waits for answers still being given, in seconds.
    CLOSE_WAIT_S = 1.0
    #: How often the serving thread looks for :meth:`close`, in seconds (the
    #: standard library's default): the most :meth:`close` waits for it.  Its
    #: wake-ups cost 0.01% of a core while the app waits (measured; a blocking
    #: accept() cost nothing, but closing its socket from another thread is not
    #: a reliable way to end it).
    POLL_S = 0.5

    def __init__(self, handler: Callable[[str], dict]) -> None:
        self.handler = handler
        self.path = socket_path()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # The instance lock is held, so a socket file here is a crashed one's.
        if self.path.exists() or self.path.is_symlink():
            logger.info("taking over the control socket of an earlier loopcap that did not exit")
            self.path.unlink()
        server = _Server(self.path, self.handler)
        try:
            server.server_bind()
            server.server_activate()
        except BaseException:
            server.server_close()
            raise
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": self.POLL_S},
            name="loopcap-control",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        """Stop accepting, then give the answers already under way a moment to
        reach their clients: ``loopcap quit`` must hear "quitting" before the
        process ends (measured: without the wait, 2 in 8 got no answer).
        Never call from a handler (it waits for the serving thread)."""
        server, self._server = self._server, None
        if server is None:
            return
        try:
            server.shutdown()  # returns once serve_forever has returned
            server.server_close()
        finally:
            self.path.unlink(missing_ok=True)
        with server.idle:
            server.idle.wait_for(lambda: server.answering == 0, timeout=self.CLOSE_WAIT_S)

    def __enter__(self) -> ControlServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def send(command: str, timeout: float = 10.0) -> dict:
    """Send one command to the running app and return its reply.

    Raises :class:`~loopcap.errors.NotRunning` when no app listens, and
    :class:`~loopcap.errors.LoopcapError` when it does not answer in ``timeout`` s.
    """
    path = socket_path()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    with sock:
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            raise NotRunning(
                "loopcap is not running: start it with `loopcap` (or `loopcap run`)"
            ) from None
        try:
            sock.sendall((command + "\n").encode())
            data = sock.makefile("r", encoding="utf-8").readline()
        except TimeoutError:
            raise LoopcapError(
                f"the running loopcap did not answer within {timeout:g} s; see its log"
            ) from None
    try:
        return json.loads(data)
    except json.JSONDecodeError:
        raise LoopcapError("the running loopcap gave no answer; see its log") from None
