"""Control of the running app from outside: ``loopcap toggle|stop|status|quit``.

One request per connection: a line with a command, answered by one line of
JSON (:mod:`.protocol`), over the platform's transport, chosen once per
process by :func:`loopcap.platforms.current`'s name (:func:`transport_for`):

* Linux and macOS (:mod:`.unix`): a Unix socket, 0600 in the user's 0700
  runtime folder, each peer's uid checked (``SO_PEERCRED`` on Linux,
  ``LOCAL_PEERCRED`` on macOS);
* Windows (:mod:`.pipe`): the named pipe ``\\\\.\\pipe\\loopcap-<user>``, each
  peer proving it knows a secret kept in the user's private profile.

A lock file held for the app's lifetime (:class:`InstanceLock`) tells a live
instance from the socket of a crashed one, which is taken over.

:data:`COMMANDS` is the one list of control commands: the server accepts
exactly these, and the command line makes its subcommands from it.
"""

from __future__ import annotations

import os
from pathlib import Path

from loopcap.app.control.protocol import (
    CLOSE_WAIT_S,
    COMMANDS,
    Handler,
    Serving,
    Transport,
    cli_commands,
)
from loopcap.errors import LoopcapError
from loopcap.fs import ensure_private_dir, try_lock
from loopcap.platforms import current, paths

__all__ = [
    "COMMANDS",
    "cli_commands",
    "runtime_dir",
    "socket_path",
    "transport_for",
    "transport",
    "InstanceLock",
    "ControlServer",
    "send",
]


def runtime_dir() -> Path:
    """The private (0700 on POSIX) runtime folder of loopcap, created if missing:
    ``$XDG_RUNTIME_DIR/loopcap`` when that is set (Linux sessions set it, and
    the tests do), else platformdirs' (:func:`loopcap.platforms.paths.runtime_dir`)."""
    return ensure_private_dir(paths.runtime_dir())


def socket_path() -> Path:
    """The control socket's file (Linux and macOS)."""
    return runtime_dir() / "control.sock"


def transport_for(name: str, user: str | None = None) -> Transport:
    """The control transport of the platform called ``name`` ("linux", "macos",
    "windows"); ``user``: whose pipe on Windows (default: this user's).  Its
    address is read now (the runtime folder follows ``XDG_RUNTIME_DIR``)."""
    if name in ("linux", "macos"):
        from loopcap.app.control.unix import PEER_UID, UnixTransport

        return UnixTransport(socket_path(), PEER_UID[name])
    if name == "windows":
        from loopcap.app.control.pipe import PipeTransport, pipe_address, secret_path

        return PipeTransport(pipe_address(user or current().user_id()), secret_path())
    raise LoopcapError(f"loopcap has no control channel for the platform {name!r}")


def transport() -> Transport:
    """This platform's control transport (:func:`transport_for`)."""
    return transport_for(current().name)


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
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | current().open_flags, 0o600)
        try:
            locked = try_lock(fd)
            if not locked:
                try:
                    pid = os.read(fd, 32).decode(errors="replace").strip() or "?"
                except OSError:  # Windows: the holder's locked byte cannot be read
                    pid = "?"
                raise LoopcapError(
                    f"loopcap is already running (pid {pid}); use `loopcap toggle`, "
                    "`loopcap stop` or `loopcap status` to control it"
                )
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
        except BaseException:
            os.close(fd)
            raise
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


class ControlServer:
    """Serves the control channel on a daemon thread.  ``handler(command) -> dict``
    is called on a per-connection thread and must be thread-safe.

    Lifecycle: :meth:`start` (or ``with``), then :meth:`close` (idempotent;
    safe if :meth:`start` never ran or failed).  Start only while holding the
    :class:`InstanceLock`: a socket file found then is a crashed instance's.
    """

    #: How long :meth:`close` waits for answers still being given, in seconds.
    CLOSE_WAIT_S = CLOSE_WAIT_S
    #: How often the serving thread looks for :meth:`close`, in seconds: never
    #: (0), it sleeps until a connection or close() wakes it (.unix, .pipe).
    POLL_S = 0.0

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.transport = transport()
        #: The socket file (Linux, macOS) or the pipe's name (Windows).
        self.path = Path(self.transport.address)
        self._serving: Serving | None = None

    def start(self) -> None:
        """Listen; raises :class:`LoopcapError` when the channel cannot be opened
        (on Windows, a pipe of that name that another user created first)."""
        try:
            self._serving = self.transport.serve(self.handler)
        except OSError as exc:
            raise LoopcapError(
                f"cannot open the control channel {self.transport.address}: {exc}"
            ) from exc

    def close(self) -> None:
        """Stop accepting, then give the answers already under way a moment to
        reach their clients (``loopcap quit`` must hear "quitting").  Never
        call from a handler (it waits for the serving thread)."""
        serving, self._serving = self._serving, None
        if serving is not None:
            serving.close()

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
    return transport().ask(command, timeout)
