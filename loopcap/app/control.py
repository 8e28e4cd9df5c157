"""Control of the running app from outside: ``loopcap toggle|stop|status``.

A Unix socket in the user's runtime folder (0700), accepting only
connections from the same user (checked with ``SO_PEERCRED``).  One request
per connection: a line with a command, answered by one line of JSON.

A lock file held (``flock``) for the app's lifetime tells a live instance
from the socket of a crashed one, which is taken over.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path

import platformdirs
from loguru import logger

from loopcap.errors import LoopcapError
from loopcap.fs import ensure_private_dir, try_lock

__all__ = ["runtime_dir", "InstanceLock", "ControlServer", "send", "COMMANDS"]

COMMANDS = ("toggle", "start", "stop", "cancel", "arm", "status", "quit")


class NotRunning(LoopcapError):
    """No loopcap app is running to take the command."""


def runtime_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR")
    path = Path(base) / "loopcap" if base else Path(platformdirs.user_runtime_dir("loopcap"))
    return ensure_private_dir(path)


def socket_path() -> Path:
    return runtime_dir() / "control.sock"


class InstanceLock:
    """Held by the one running app.  ``acquire`` raises if another holds it."""

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


def _peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid


class ControlServer:
    """Serves the socket on a daemon thread.  ``handler(command) -> dict``."""

    #: How long :meth:`close` waits for answers still being given, in seconds.
    CLOSE_WAIT_S = 1.0

    def __init__(self, handler: Callable[[str], dict]) -> None:
        self.handler = handler
        self.path = socket_path()
        self._sock: socket.socket | None = None
        self._thread = threading.Thread(target=self._serve, name="loopcap-control", daemon=True)
        self._answering = 0  # connections being answered
        self._idle = threading.Condition()

    def start(self) -> None:
        # The instance lock is held, so a socket file here is a crashed one's.
        if self.path.exists() or self.path.is_symlink():
            logger.info("taking over the control socket of an earlier loopcap that did not exit")
            self.path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # the socket file is created 0600
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old)
        sock.listen(8)
        self._sock = sock
        self._thread.start()

    def close(self) -> None:
        """Stop accepting, then give the answers already under way a moment to
        reach their clients: ``loopcap quit`` must hear "quitting" before the
        process ends (measured: without the wait, 2 in 8 got no answer)."""
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self.path.unlink(missing_ok=True)
                self._sock = None
        with self._idle:
            self._idle.wait_for(lambda: self._answering == 0, timeout=self.CLOSE_WAIT_S)

    def _serve(self) -> None:
        while self._sock is not None:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            # One thread per connection: a toggle waits for the controller,
            # and a burst of them must not queue behind each other here.
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with self._idle:
            self._answering += 1
        try:
            self._answer_one(conn)
        finally:
            with self._idle:
                self._answering -= 1
                self._idle.notify_all()

    def _answer_one(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(5.0)
                if _peer_uid(conn) != os.getuid():
                    logger.warning("refused a control connection from another user")
                    return
                line = conn.makefile("r", encoding="utf-8").readline(256).strip()
                if line not in COMMANDS:
                    reply = {"ok": False, "error": f"unknown command {line[:40]!r}"}
                else:
                    reply = self.handler(line)
                conn.sendall((json.dumps(reply) + "\n").encode())
            except Exception as exc:  # a bad client must not end the server
                logger.debug(f"control connection failed: {exc}")


def send(command: str, timeout: float = 10.0) -> dict:
    """Send one command to the running app and return its reply."""
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
