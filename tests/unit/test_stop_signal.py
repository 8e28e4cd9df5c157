"""Signals are acted on at once whichever thread the kernel hands them to.

A process-directed SIGINT may land on the writer's or libpulse's thread, and
Python runs its handler on the main thread only, when that thread next wakes.
``signal.pthread_kill`` aims a signal at one thread, which reproduces that.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest

from loopcap.app.record import StopFlag
from loopcap.app.signals import forward_signals

pytestmark = pytest.mark.posix  # signal.pthread_kill aims a signal at one thread: POSIX only


def _signal_from_another_thread(sig: int, delay_s: float) -> threading.Thread:
    def run() -> None:
        time.sleep(delay_s)
        signal.pthread_kill(threading.get_ident(), sig)  # to this thread, not the main one

    t = threading.Thread(target=run)
    t.start()
    return t


def test_stop_flag_wakes_at_once_when_another_thread_takes_the_signal():
    stop = StopFlag()
    stop.install()
    try:
        t = _signal_from_another_thread(signal.SIGINT, 0.2)
        t0 = time.monotonic()
        woke = stop.event.wait(10.0)  # a blocked wait: no bytecode runs on the main thread
        took = time.monotonic() - t0
        t.join()
    finally:
        stop.uninstall()
    assert woke and stop.t_request is not None
    assert took < 1.0, f"woke {took:.2f} s after the wait began (signal at 0.2 s)"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.set_wakeup_fd(-1) == -1  # the wake-up fd is restored too


def test_forward_signals_calls_back_with_the_signal_and_only_the_asked_ones():
    got: list[int] = []
    called = threading.Event()

    def callback(signum: int) -> None:
        got.append(signum)
        called.set()

    before = signal.getsignal(signal.SIGTERM)
    restore = forward_signals(callback, (signal.SIGTERM,))
    try:
        _signal_from_another_thread(signal.SIGTERM, 0.05).join()
        assert called.wait(2.0)
    finally:
        restore()
    assert signal.SIGTERM in got and set(got) == {signal.SIGTERM}
    assert signal.getsignal(signal.SIGTERM) is before


def test_stop_flag_wait_times_out_when_nothing_happens():
    stop = StopFlag()
    stop.install()
    try:
        t0 = time.monotonic()
        assert not stop.event.wait(0.2)
        assert 0.15 < time.monotonic() - t0 < 2.0
        assert stop.t_request is None
    finally:
        stop.uninstall()
