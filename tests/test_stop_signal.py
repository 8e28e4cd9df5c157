"""`loopcap record`'s stop flag wakes the main thread whichever thread the
kernel hands the signal to (a process-directed SIGINT may land on the writer's
or libpulse's thread, and Python runs the handler on the main thread only)."""

from __future__ import annotations

import signal
import threading
import time

from loopcap.cli import _StopFlag


def _signal_from_another_thread(sig: int, delay_s: float) -> threading.Thread:
    def run() -> None:
        time.sleep(delay_s)
        # Deliver to this thread, not the main one: the case a timed wait misses.
        signal.pthread_kill(threading.get_ident(), sig)

    t = threading.Thread(target=run)
    t.start()
    return t


def test_a_signal_taken_by_another_thread_wakes_the_wait_at_once():
    stop = _StopFlag()
    stop.install()
    try:
        t = _signal_from_another_thread(signal.SIGINT, 0.2)
        t0 = time.monotonic()
        woke = stop.wait(10.0)
        while not woke and time.monotonic() - t0 < 10.0:
            woke = stop.wait(10.0 - (time.monotonic() - t0))
        took = time.monotonic() - t0
        t.join()
    finally:
        stop.uninstall()
    assert woke and stop.t_request is not None
    assert took < 1.0, f"woke {took:.2f} s after the wait began (signal at 0.2 s)"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_end_wakes_without_a_stop_request():
    stop = _StopFlag()
    stop.install()
    try:
        threading.Timer(0.1, stop.end).start()
        t0 = time.monotonic()
        assert stop.wait(10.0)
        assert time.monotonic() - t0 < 1.0
        assert stop.t_request is None
    finally:
        stop.uninstall()


def test_wait_times_out_when_nothing_happens():
    stop = _StopFlag()
    stop.install()
    try:
        t0 = time.monotonic()
        assert not stop.wait(0.2)
        assert 0.15 < time.monotonic() - t0 < 2.0
    finally:
        stop.uninstall()
