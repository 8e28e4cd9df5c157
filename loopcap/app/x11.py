"""A fix for a hang in python-xlib's thread-safe mode (0.33, the latest).

pystray's Xorg backend shares one X connection between its event loop (the
main thread) and whichever thread changes the icon: that thread queues a
message and calls ``flush()``, then waits for the loop to act on it.  With
``Xlib.threaded`` imported the connection has real locks, but
``send_and_recv`` still has a lost wake-up: a thread that is only *sending*
(a flush, while another thread receives) returns early when the socket turns
readable, and on that path it clears ``send_active`` without waking a thread
that went to sleep waiting for it to send its request.  If that sleeper is
the event loop, nobody is left to send its request or read the reply, and the
icon hangs for good (measured on Xvfb: the loop stuck in ``get_geometry``
after 24 to 231 replies in a 3-thread stress run; in CI the tray icon never
appeared).

The fix wraps ``send_and_recv``: when any call returns, a thread still waiting
for a sender or a receiver that no longer exists is woken.  python-xlib's own
contract is that a woken caller re-checks and calls again ("it is not
guaranteed that the return condition has been fulfilled when the function
returns"), so an extra wake-up is always safe; a missed one is the bug.
"""

from __future__ import annotations

import functools

__all__ = ["fix_send_and_recv"]


def fix_send_and_recv() -> bool:
    """Patch ``Xlib.protocol.display.Display.send_and_recv`` once.

    Returns True if python-xlib is present (patched now or before), False if
    it is not installed (no X11 here).  Safe to call from any thread, any
    number of times; affects every display, including pystray's and pynput's.
    """
    try:
        from Xlib.protocol import display as xdisplay
    except ImportError:
        return False
    original = xdisplay.Display.send_and_recv
    if getattr(original, "_loopcap_fixed", False):
        return True

    @functools.wraps(original)
    def send_and_recv(self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        finally:
            _wake_orphans(self)

    send_and_recv._loopcap_fixed = True  # type: ignore[attr-defined]
    xdisplay.Display.send_and_recv = send_and_recv
    return True


def _wake_orphans(conn) -> None:
    """Wake threads that wait for a sender or receiver that has gone.

    Runs after every ``send_and_recv`` return, under the connection's
    ``send_recv_lock`` (the lock python-xlib guards these fields with).
    """
    lock = conn.send_recv_lock
    lock.acquire()
    try:
        if conn.request_waiting and not conn.send_active:
            conn.request_waiting = 0
            conn.request_wait_lock.release()
        if conn.event_waiting and not conn.recv_active:
            conn.event_waiting = 0
            conn.event_wait_lock.release()
    finally:
        lock.release()
