"""Signals acted on at once, whichever thread the kernel hands them to.

Python runs signal handlers on the main thread only, between bytecodes.  A
process-directed SIGINT or SIGTERM may land on any thread (the writer's,
libpulse's, pynput's), and then the handler waits until the main thread wakes
by itself: measured, 1.04 s after a SIGINT while `loopcap record` slept in a
1 s wait, and indefinitely while the tray's event loop waits for X events.

:func:`forward_signals` makes the interpreter write each signal's number to a
socket (``signal.set_wakeup_fd``, done by whichever thread took the signal) and
keeps a daemon thread reading it, which calls back at once.

The signals are the platform's stop signals
(:attr:`loopcap.platforms.base.Platform.stop_signals`): SIGINT and SIGTERM on
Linux and macOS; SIGINT (Ctrl+C) and SIGBREAK on Windows, where SIGBREAK is
Ctrl+Break (and, by the C runtime's console handler, the closing of the
console window, which Windows follows with the end of the process a few
seconds later: not verified here), so it stops a capture the way SIGTERM
does on POSIX.  Windows delivers no
SIGTERM from outside (``os.kill`` and ``taskkill /f`` are TerminateProcess,
which nothing can catch) and has no SIGHUP or SIGKILL; nothing here names them.
The same wake-up socket works there: ``set_wakeup_fd`` takes a socket handle
on Windows (CPython issue 22018, Python 3.5), ``socket.socketpair`` exists
there (a connected pair over the loopback interface), and the console's
control handler runs on a thread of its own, which writes the signal number
to the socket the way a POSIX signal does.
"""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable, Iterable

from loopcap.platforms import current

__all__ = ["forward_signals"]

#: The sockets of the forwarding in force (see forward_signals).
_alive: list[tuple[socket.socket, socket.socket]] = []


def forward_signals(
    callback: Callable[[int], None],
    signals: Iterable[int] | None = None,
) -> Callable[[], None]:
    """Call ``callback(signum)`` when one of ``signals`` (by default the
    platform's stop signals) arrives.

    The callback runs on a thread of its own (daemon, "loopcap-signals"),
    never in the Python handler, so it must be thread-safe; it runs twice
    for one signal only if the signal repeats.  Call from the main thread.
    Returns a function that restores the previous handlers and wake-up fd.
    """
    wanted = set(current().stop_signals if signals is None else signals)
    r, w = socket.socketpair()
    w.setblocking(False)
    # The Python handler does nothing: the wake-up fd carries the signal to
    # the watch thread, which calls back.  It must not call back itself: it
    # runs on the main thread between two bytecodes, possibly inside
    # Event.wait() with the event's lock held, and a callback that sets that
    # event then waits for the lock for ever (measured: `loopcap record` hung
    # on SIGTERM, its main thread in Condition.wait, the handler in Event.set).
    previous = {s: signal.signal(s, lambda _signum, _frame: None) for s in wanted}
    old_fd = signal.set_wakeup_fd(w.fileno(), warn_on_full_buffer=False)
    closed = threading.Event()

    def watch() -> None:
        while not closed.is_set():
            try:
                data = r.recv(64)
            except OSError:
                return
            if not data:
                return
            for signum in data:
                if signum in wanted and not closed.is_set():
                    callback(signum)

    # The sockets must outlive this call even if the caller drops ``restore``
    # (a closed write end would leave the interpreter a dead wake-up fd).
    _alive.append((r, w))
    threading.Thread(target=watch, name="loopcap-signals", daemon=True).start()

    def restore() -> None:
        closed.set()
        signal.set_wakeup_fd(old_fd)
        for s, h in previous.items():
            signal.signal(s, h)
        w.close()  # the watcher's recv returns b"" and it ends
        r.close()
        if (r, w) in _alive:
            _alive.remove((r, w))

    return restore
