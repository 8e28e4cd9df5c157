r"""The control channel on Windows: a named pipe ``\\.\pipe\loopcap-<user>``
that only the same user can use.

Windows has no ``AF_UNIX`` peer credentials, and :mod:`multiprocessing.connection`
(the standard library's named pipes) creates its pipes with the default
security descriptor, which lets every user open them for reading.  So the
user is proven by a secret instead: 32 random bytes in a file in the user's
own data folder (``%LOCALAPPDATA%``, private to the user on Windows; on POSIX,
where the tests run, the file is 0600), made on the first start and reused.
Both ends prove they know it with the standard library's HMAC
challenge-response (``deliver_challenge``/``answer_challenge``, what
``Listener(authkey=...)`` and ``Client(authkey=...)`` do), the client first,
then the server: a client never sends a command to a pipe that cannot prove
it is the app's.  (Another user could create a pipe of that name before
loopcap starts: loopcap then fails to listen, since ``multiprocessing``
creates the first instance with ``FILE_FLAG_FIRST_PIPE_INSTANCE``, and the
impostor cannot pass the handshake.)

The handshake runs on each connection's own thread, with every read bounded
(:class:`_Deadline`), never in the accepting loop: a peer that opens the pipe
and never answers (any user may, read-only) would otherwise stop the server.

The family and the address are parameters, so the very same code runs in the
tests on Linux with ``family="AF_UNIX"`` and a socket file as the address.

Threads: one daemon thread accepts ("loopcap-control"), blocked in
``accept()`` without a period; :meth:`PipeServing.close` wakes it with a
connection of its own.  Each connection is answered on a daemon thread.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from multiprocessing import AuthenticationError
from multiprocessing.connection import (
    Client,
    Connection,
    Listener,
    answer_challenge,
    deliver_challenge,
)
from pathlib import Path
from typing import Any, Protocol, cast

from loopcap.app.control.protocol import (
    CLOSE_WAIT_S,
    CONNECTION_TIMEOUT_S,
    MAX_LINE,
    MAX_REPLY,
    Answering,
    Handler,
    no_answer,
    no_answer_within,
    not_running,
    parse_reply,
    reply_to,
    unreachable,
)
from loopcap.fs import create_exclusive, ensure_private_dir, link_exclusive
from loopcap.log import logger
from loopcap.platforms import paths

__all__ = [
    "PIPE_PREFIX",
    "SECRET_BYTES",
    "pipe_address",
    "secret_path",
    "load_secret",
    "PipeTransport",
    "PipeServing",
]

PIPE_PREFIX = "\\\\.\\pipe\\loopcap-"
#: Length of the per-user secret, in bytes.
SECRET_BYTES = 32
#: The listening queue (``multiprocessing``'s default is 1).
BACKLOG = 8


def pipe_address(user: str) -> str:
    r"""``\\.\pipe\loopcap-<user>``, the user's name or SID made safe for a
    pipe's name (no backslash; letters, digits, ``.``, ``_`` and ``-``)."""
    return PIPE_PREFIX + (re.sub(r"[^A-Za-z0-9._-]", "_", user) or "_")


def secret_path() -> Path:
    """The per-user secret file, in the user's data folder
    (``%LOCALAPPDATA%\\loopcap`` on Windows: :func:`loopcap.platforms.paths.data_dir`),
    not the runtime folder, which Windows' disk cleanup may empty under a
    running app."""
    return paths.data_dir() / "control.key"


def load_secret(path: Path, create: bool) -> bytes:
    """The secret at ``path``; with ``create``, made (32 random bytes) when
    missing or damaged.  Raises FileNotFoundError without ``create`` when
    there is none.  Safe against two processes making it at once: the file
    appears whole under its name (written aside, then linked exclusively),
    and the loser reads the winner's."""
    try:
        key = path.read_bytes()
        if len(key) == SECRET_BYTES or not create:
            return key
        logger.warning(f"the control key {path} is damaged; making a new one")
        path.unlink()
    except FileNotFoundError:
        if not create:
            raise
    ensure_private_dir(path.parent)
    # A name of its own per attempt: processes (and, in the tests, threads) racing.
    aside = path.with_name(f"{path.name}.{secrets.token_hex(8)}.new")
    key = secrets.token_bytes(SECRET_BYTES)
    fd = create_exclusive(aside)  # 0600 on POSIX; the profile is private on Windows
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(key)
            f.flush()
            os.fsync(f.fileno())
        link_exclusive(aside, path)
    except FileExistsError:
        aside.unlink(missing_ok=True)
        return path.read_bytes()  # another loopcap made it first
    except BaseException:
        aside.unlink(missing_ok=True)
        raise
    logger.info(f"made the control key {path}")
    return key


class _Link(Protocol):
    """What is used of a connection: a socket's ``Connection`` or, on Windows,
    a ``PipeConnection`` (typeshed types ``accept()`` as either there)."""

    def send_bytes(self, buf: bytes) -> None: ...
    def recv_bytes(self, maxlength: int | None = None) -> bytes: ...
    def poll(self, timeout: float | None = 0.0) -> bool: ...
    def close(self) -> None: ...


class _Deadline:
    """A connection whose reads give up with TimeoutError after ``timeout_s``:
    what the standard library's handshake functions are given, since they
    only call ``send_bytes`` and ``recv_bytes`` and have no timeout of their own."""

    def __init__(self, conn: _Link, timeout_s: float) -> None:
        self._conn = conn
        self._timeout_s = timeout_s

    def send_bytes(self, buf: bytes) -> None:
        self._conn.send_bytes(buf)

    def recv_bytes(self, maxlength: int | None = None) -> bytes:
        if not self._conn.poll(self._timeout_s):
            raise TimeoutError("the other end did not answer in time")
        return self._conn.recv_bytes(maxlength)

    def handshake(self) -> Connection[Any, Any]:
        """This, typed as what the handshake functions take (duck typing)."""
        return cast("Connection[Any, Any]", self)


class PipeTransport:
    r"""The control channel at ``address``, for those who know the secret in
    ``secret``.  ``family``: ``"AF_PIPE"`` (Windows, ``\\.\pipe\...``) or, for
    the tests, ``"AF_UNIX"`` with a socket file."""

    def __init__(self, address: str, secret: Path, family: str = "AF_PIPE") -> None:
        self._address = address
        self.secret = secret
        self.family = family

    @property
    def address(self) -> str:
        return self._address

    def serve(self, handler: Handler) -> PipeServing:
        key = load_secret(self.secret, create=True)
        return PipeServing(self._address, self.family, key, handler)

    def ask(self, command: str, timeout_s: float) -> dict:
        try:
            key = load_secret(self.secret, create=False)
        except FileNotFoundError:
            raise not_running() from None  # never started on this account
        try:
            conn = Client(self._address, self.family)
        except (FileNotFoundError, ConnectionRefusedError):
            raise not_running() from None
        except OSError as exc:  # e.g. a pipe of that name that is not ours to open
            raise unreachable(exc) from None
        with conn:
            timed = _Deadline(conn, timeout_s).handshake()
            try:
                # Client(authkey=...)'s order: this end proves itself, then the
                # server does; the command goes only to a server that knew the key.
                answer_challenge(timed, key)
                deliver_challenge(timed, key)
                conn.send_bytes((command + "\n").encode())
                data = timed.recv_bytes(MAX_REPLY)
            except TimeoutError:
                raise no_answer_within(timeout_s) from None
            except (AuthenticationError, EOFError, OSError):
                raise no_answer() from None
        return parse_reply(data)


class PipeServing:
    """A listening pipe (see the module's notes on threads and the handshake).
    Created listening; :meth:`close` stops it."""

    def __init__(self, address: str, family: str, key: bytes, handler: Handler) -> None:
        self.address = address
        self.family = family
        self.handler = handler
        self.answering = Answering()
        self._key = key
        self._closing = threading.Event()
        self._close_lock = threading.Lock()
        self._closed = False
        # No authkey here: Listener.accept() would run the handshake in the
        # accepting loop, where a silent peer would block it for ever.
        self._listener = Listener(address, family, backlog=BACKLOG)
        self._thread = threading.Thread(target=self._serve, name="loopcap-control", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn = self._listener.accept()
            except ConnectionError as exc:  # one client's trouble
                logger.debug(f"control pipe: accept failed: {exc}")
                continue
            except OSError as exc:
                if not self._closing.is_set():
                    logger.warning(f"the control channel stopped: {exc}")
                return
            if self._closing.is_set():  # close()'s wake-up (or a late client)
                conn.close()
                return
            self.answering.begin()
            try:
                threading.Thread(
                    target=self._answer, args=(conn,), name="loopcap-control-answer", daemon=True
                ).start()
            except BaseException:
                self.answering.end()
                conn.close()
                raise

    def _answer(self, conn: _Link) -> None:
        """One connection: the handshake, a command, one JSON line back."""
        try:
            timed = _Deadline(conn, CONNECTION_TIMEOUT_S).handshake()
            try:
                deliver_challenge(timed, self._key)
                answer_challenge(timed, self._key)
            except AuthenticationError:
                logger.warning("refused a control connection that did not know the user's key")
                return
            line = timed.recv_bytes(MAX_LINE).decode("utf-8", errors="replace")
            conn.send_bytes(reply_to(line, self.handler))
        except Exception as exc:  # a bad client or a failing handler must not end the server
            logger.debug(f"control connection failed: {exc}")
        finally:
            conn.close()
            self.answering.end()

    def close(self) -> None:
        """Stop accepting, then give the answers under way up to
        :data:`CLOSE_WAIT_S` to reach their clients.  Idempotent, thread-safe
        (a second caller waits for the first); never from a handler.

        ``accept()`` cannot be interrupted from another thread (on Windows it
        waits on the pipe's event without a timeout), so a connection of our
        own wakes it, and the loop sees :attr:`_closing`."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._closing.set()
            try:
                Client(self.address, self.family).close()
            except OSError as exc:
                logger.debug(f"control pipe: no wake-up connection: {exc}")
            self._thread.join(CLOSE_WAIT_S)
            self._listener.close()  # on AF_UNIX this removes the socket file
            self.answering.wait_idle(CLOSE_WAIT_S)
