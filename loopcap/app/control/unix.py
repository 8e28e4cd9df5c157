"""The control channel on Linux and macOS: a Unix socket in the user's private
runtime folder, answering only its own user.

The socket file is created 0600 in a 0700 folder, so another user cannot even
connect; and every connection's peer is checked all the same (a folder opened
by mistake, a socket reached through a bind mount): on Linux with
``SO_PEERCRED``, on macOS with ``LOCAL_PEERCRED``, which has no Python
constant of its own and answers with a ``struct xucred``
(:func:`parse_xucred`).  Darwin uses ``SOL_LOCAL``/``LOCAL_PEERCRED`` instead
of ``SOL_SOCKET``/``SO_PEERCRED`` (rust-lang/libc #807; the version field must
be checked, haskell/network #308).

Threads: one daemon thread accepts ("loopcap-control"); each accepted
connection is answered on a daemon thread of its own, because a toggle waits
for the controller and a burst of them must not queue behind each other.  The
accepting thread sleeps in a selector on the listening socket and a wake-up
socket pair, without a period: it runs only for a connection or for
:meth:`UnixServing.close` (measured with ``strace -c`` over 10 s idle: 20
``poll`` wake-ups with the standard library's ``serve_forever(0.5)`` before,
none now).
"""

from __future__ import annotations

import os
import selectors
import socket
import struct
import sys
import threading
from collections.abc import Callable
from pathlib import Path

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
from loopcap.log import logger

if sys.platform == "win32":  # the whole module is POSIX's; Windows has .pipe
    raise ImportError("the Unix control socket is for Linux and macOS")

__all__ = [
    "SOL_LOCAL",
    "LOCAL_PEERCRED",
    "XUCRED_VERSION",
    "XUCRED",
    "PeerUid",
    "PEER_UID",
    "parse_xucred",
    "linux_peer_uid",
    "macos_peer_uid",
    "UnixTransport",
    "UnixServing",
]

#: Darwin's <sys/un.h>: the option level of local sockets, and the option that
#: reads the peer's credentials (Python names neither).
SOL_LOCAL = 0
LOCAL_PEERCRED = 1
#: Darwin's <sys/ucred.h>: the layout version :func:`parse_xucred` knows.
XUCRED_VERSION = 0
#: ``struct xucred {u_int cr_version; uid_t cr_uid; short cr_ngroups;
#: gid_t cr_groups[16];}``, in the machine's byte order, with the two bytes
#: of padding after ``cr_ngroups``: 76 bytes.
XUCRED = struct.Struct("=IIh2x16I")

#: ``peer_uid(connection) -> uid`` of the process at the other end; OSError
#: when it cannot be told.
PeerUid = Callable[[socket.socket], int]


def parse_xucred(data: bytes) -> int:
    """The peer's effective uid from the bytes ``LOCAL_PEERCRED`` gave.

    Raises OSError for anything but a whole ``xucred`` of the known version:
    a peer that cannot be identified is refused, never guessed.
    """
    if len(data) < XUCRED.size:
        raise OSError(f"LOCAL_PEERCRED gave {len(data)} bytes, not a struct xucred")
    version, uid, ngroups, *_groups = XUCRED.unpack_from(data)
    if version != XUCRED_VERSION:
        raise OSError(f"struct xucred version {version}, expected {XUCRED_VERSION}")
    if not 0 <= ngroups <= 16:
        raise OSError(f"struct xucred with {ngroups} groups")
    return uid


def linux_peer_uid(conn: socket.socket) -> int:
    """The peer's uid from ``SO_PEERCRED`` (``struct ucred {pid, uid, gid}``)."""
    if sys.platform == "darwin":  # no SO_PEERCRED there: macos_peer_uid
        raise OSError("SO_PEERCRED is Linux's")
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid


def macos_peer_uid(conn: socket.socket) -> int:
    """The peer's uid from ``LOCAL_PEERCRED`` (:func:`parse_xucred`)."""
    return parse_xucred(conn.getsockopt(SOL_LOCAL, LOCAL_PEERCRED, XUCRED.size))


#: How each POSIX platform (by :attr:`loopcap.platforms` name) tells its peer.
PEER_UID: dict[str, PeerUid] = {"linux": linux_peer_uid, "macos": macos_peer_uid}


class UnixTransport:
    """The control channel at the socket file ``path`` (in a private folder),
    accepting peers whose ``peer_uid`` is this process's uid."""

    def __init__(self, path: Path, peer_uid: PeerUid) -> None:
        self.path = path
        self.peer_uid = peer_uid

    @property
    def address(self) -> str:
        return str(self.path)

    def serve(self, handler: Handler) -> UnixServing:
        return UnixServing(self.path, handler, self.peer_uid)

    def ask(self, command: str, timeout_s: float) -> dict:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            try:
                sock.connect(str(self.path))
            except (FileNotFoundError, ConnectionRefusedError):
                raise not_running() from None
            except OSError as exc:  # e.g. a socket file that is not ours
                raise unreachable(exc) from None
            try:
                sock.sendall((command + "\n").encode())
                with sock.makefile("rb") as f:
                    data = f.readline(MAX_REPLY)
            except TimeoutError:
                raise no_answer_within(timeout_s) from None
            except OSError:
                raise no_answer() from None
        return parse_reply(data)


class UnixServing:
    """A listening control socket (see the module's notes on threads).

    Created listening; :meth:`close` stops it.  A socket file already at
    ``path`` is a crashed instance's (the caller holds the instance lock) and
    is replaced.
    """

    def __init__(self, path: Path, handler: Handler, peer_uid: PeerUid) -> None:
        self.path = path
        self.handler = handler
        self.peer_uid = peer_uid
        self.answering = Answering()
        self._close_lock = threading.Lock()
        self._closed = False
        if path.exists() or path.is_symlink():
            logger.info("taking over the control socket of an earlier loopcap that did not exit")
            path.unlink()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._wake_r, self._wake_w = socket.socketpair()
        try:
            old = os.umask(0o177)  # the socket file is created 0600
            try:
                self._sock.bind(str(path))
            finally:
                os.umask(old)
            self._sock.listen(8)
            # Non-blocking: a connection the selector saw may be gone by accept().
            self._sock.setblocking(False)
        except BaseException:
            for s in (self._sock, self._wake_r, self._wake_w):
                s.close()
            raise
        self._thread = threading.Thread(target=self._serve, name="loopcap-control", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._sock, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while True:
                # No timeout: only a connection or close() wakes this thread.
                for key, _ in selector.select():
                    if key.fileobj is self._wake_r:
                        return
                    self._accept()

    def _accept(self) -> None:
        try:
            conn, _ = self._sock.accept()
        except (BlockingIOError, ConnectionAbortedError):
            return  # the client gave up between the wake-up and accept()
        except OSError as exc:
            logger.debug(f"control socket: accept failed: {exc}")
            return
        try:
            uid = self.peer_uid(conn)
        except OSError as exc:
            logger.warning(f"refused a control connection whose user cannot be told ({exc})")
            conn.close()
            return
        if uid != os.getuid():
            logger.warning("refused a control connection from another user")
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

    def _answer(self, conn: socket.socket) -> None:
        """One connection: read a command line, answer one JSON line."""
        try:
            with conn:
                conn.settimeout(CONNECTION_TIMEOUT_S)
                with conn.makefile("r", encoding="utf-8", errors="replace") as f:
                    line = f.readline(MAX_LINE)
                conn.sendall(reply_to(line, self.handler))
        except Exception as exc:  # a bad client or a failing handler must not end the server
            logger.debug(f"control connection failed: {exc}")
        finally:
            self.answering.end()

    def close(self) -> None:
        """Stop accepting, remove the socket file, then give the answers under
        way up to :data:`CLOSE_WAIT_S` to reach their clients.  Idempotent,
        thread-safe (a second caller waits for the first); never from a handler."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._wake_w.send(b"\0")
                self._thread.join()
            finally:
                self._sock.close()
                self.path.unlink(missing_ok=True)
                self._wake_r.close()
                self._wake_w.close()
            self.answering.wait_idle(CLOSE_WAIT_S)
