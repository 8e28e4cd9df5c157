"""What every control transport shares: the commands, the one-line protocol,
the transport interface, and the sentences a client is told.

The protocol: a client sends one line with a command; the server answers one
line of JSON (``{"ok": true, "state": ...}``) and hangs up.  A server whose
handler fails hangs up without an answer.  Over a Unix socket the lines are
the stream itself; over :mod:`multiprocessing.connection` each line is one
message.

The transports (:mod:`.unix` for Linux and macOS, :mod:`.pipe` for Windows)
implement :class:`Transport`; :func:`loopcap.app.control.transport_for` picks
one by the platform's name.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Protocol

from loopcap.errors import LoopcapError, NotRunning

__all__ = [
    "COMMANDS",
    "MAX_LINE",
    "MAX_REPLY",
    "CONNECTION_TIMEOUT_S",
    "CLOSE_WAIT_S",
    "Handler",
    "Serving",
    "Transport",
    "Answering",
    "cli_commands",
    "reply_to",
    "parse_reply",
    "not_running",
    "no_answer",
    "no_answer_within",
    "unreachable",
]

#: Every command the control channel takes, in the order ``loopcap --help``
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
#: Longest reply a client reads, in bytes (a status lists the recent files).
MAX_REPLY = 1 << 20
#: How long one connection may take to send its line and read the answer, in seconds.
CONNECTION_TIMEOUT_S = 5.0
#: How long closing a server waits for answers still being given, in seconds.
CLOSE_WAIT_S = 1.0

#: ``handler(command) -> reply``: called on a per-connection thread, so it must
#: be thread-safe; it may block (a toggle waits for the controller).
Handler = Callable[[str], dict]


class Serving(Protocol):
    """A server that is listening, on a daemon thread of its own."""

    def close(self) -> None:
        """Stop listening and wait (at most :data:`CLOSE_WAIT_S`) for the answers
        under way.  Idempotent and thread-safe: a second caller returns once
        the first has finished.  Never call from a handler."""


class Transport(Protocol):
    """One way to reach the running app: the server side and the client side."""

    @property
    def address(self) -> str:
        """Where the server listens: a socket file, or a pipe's name."""

    def serve(self, handler: Handler) -> Serving:
        """Listen and answer every connection with ``handler`` until closed.
        Call only while holding the instance lock (a socket file found then
        is a crashed instance's).  Raises OSError if it cannot listen."""

    def ask(self, command: str, timeout_s: float) -> dict:
        """Send ``command`` to the running app and return its reply.  Raises
        :class:`NotRunning` when nothing listens, :class:`LoopcapError` when it
        does not answer within ``timeout_s`` or hangs up without an answer."""


class Answering:
    """A count of the connections being answered, so that closing a server can
    wait for them: ``loopcap quit`` must hear "quitting" before the process
    ends (measured: without the wait, 2 in 8 got no answer).  Thread-safe."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def begin(self) -> None:
        """One more connection (call before its thread starts)."""
        with self._idle:
            self._count += 1

    def end(self) -> None:
        """A connection answered or given up (call exactly once per :meth:`begin`)."""
        with self._idle:
            self._count -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until no connection is being answered; False after ``timeout_s``."""
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout=timeout_s)


def cli_commands() -> dict[str, str]:
    """The commands that are ``loopcap`` subcommands, with their help."""
    return {name: text for name, text in COMMANDS.items() if text is not None}


def reply_to(line: str, handler: Handler) -> bytes:
    """The answer to one request line: the handler's reply for a known command,
    an error for anything else, as one JSON line.  The handler's exceptions
    propagate (the connection then ends without an answer)."""
    command = line.strip()
    if command not in COMMANDS:
        reply = {"ok": False, "error": f"unknown command {command[:40]!r}"}
    else:
        reply = handler(command)
    return (json.dumps(reply) + "\n").encode()


def parse_reply(data: bytes | str) -> dict:
    """A client's reading of the answer; no answer or a broken one is :func:`no_answer`."""
    try:
        reply = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise no_answer() from None
    if not isinstance(reply, dict):
        raise no_answer()
    return reply


def not_running() -> NotRunning:
    return NotRunning("loopcap is not running: start it with `loopcap` (or `loopcap run`)")


def no_answer() -> LoopcapError:
    return LoopcapError("the running loopcap gave no answer; see its log")


def no_answer_within(timeout_s: float) -> LoopcapError:
    return LoopcapError(f"the running loopcap did not answer within {timeout_s:g} s; see its log")


def unreachable(exc: OSError) -> LoopcapError:
    return LoopcapError(f"cannot reach the running loopcap: {exc.strerror or exc}")
