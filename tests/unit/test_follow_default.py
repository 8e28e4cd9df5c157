"""The waiting app follows a new default output (headphones plugged in) when
the sound server tells of it, even where the connection the devices are
listed on learns the new default a moment after the event: each client of
pipewire-pulse learns it on its own (see loopcap.device.soundcard.outputs).

Fake source, a stand-in for the device listing and the real
:class:`OutputWatcher` with its connection left out (no sound server); the
same on a real PipeWire server is in tests/system/test_faults_sound.py."""

from __future__ import annotations

import threading
import time

import pytest

import loopcap.app.controller as controller_module
from loopcap.app.apps import CaptureChoice
from loopcap.app.controller import IDLE, Controller
from loopcap.config import CaptureConfig, Config, OutputConfig
from loopcap.device import DeviceInfo
from loopcap.device.fake import FakeSource
from loopcap.device.soundcard import outputs
from loopcap.device.soundcard.outputs import OutputWatcher


class Server:
    """The default output as two connections see it: the watcher's hears the
    change at once, the listing's ``lag`` looks later."""

    def __init__(self, lag: int) -> None:
        self.default = "speakers"
        self.listed = "speakers"
        self.lag = lag
        self.looks = 0

    def set_default(self, name: str) -> None:
        self.default = name
        self.looks = 0

    def list_loopbacks(self) -> list[DeviceInfo]:
        self.looks += 1
        if self.looks > self.lag:
            self.listed = self.default
        return [
            DeviceInfo(f"{n}.monitor", f"Monitor of {n}", 2, n == self.listed)
            for n in ("speakers", "headphones")
        ]

    def open_capture_source(self, app: str, device: str) -> CaptureChoice:
        return CaptureChoice(Monitor(f"{self.listed}.monitor"))


class Monitor(FakeSource):
    """The fake device named as a sink's monitor."""

    def __init__(self, device_id: str) -> None:
        super().__init__(**FakeSource.from_env().__dict__)
        self.device_id = device_id

    @property
    def info(self) -> DeviceInfo:
        return DeviceInfo(self.device_id, f"Monitor of {self.device_id}", 2, True)


def listening_watcher(on_change) -> OutputWatcher:
    """The real watcher, its connection's thread replaced by one that only
    lives until the test ends (the events are posted by the test)."""
    watcher = OutputWatcher(on_change)
    done = threading.Event()
    watcher._thread = threading.Thread(target=done.wait, daemon=True)
    watcher._thread.start()
    watcher.close = done.set  # type: ignore[method-assign]
    return watcher


@pytest.fixture
def app(monkeypatch, tmp_path):
    monkeypatch.setenv("LOOPCAP_BACKEND", "fake")
    monkeypatch.setenv("LOOPCAP_FAKE", "signal=silence")
    # The worker's watch comes every WATCH_S while not quiet: shortened so
    # the test waits tenths of a second, not seconds.
    monkeypatch.setattr(controller_module, "WATCH_S", 0.05)
    server = Server(lag=1)
    watchers: list[OutputWatcher] = []

    def watch(on_change):
        watchers.append(listening_watcher(on_change))
        return watchers[-1]

    monkeypatch.setattr(controller_module, "list_loopbacks", server.list_loopbacks)
    monkeypatch.setattr(controller_module, "open_capture_source", server.open_capture_source)
    monkeypatch.setattr(controller_module, "watch_default_output", watch)
    cfg = Config(
        capture=CaptureConfig(preroll_s=0.5),
        output=OutputConfig(dir=str(tmp_path), format="wav"),
    )
    c = Controller(cfg)
    c.start()
    wait_for(lambda: watchers and c.snapshot.state == IDLE)
    # Once the watcher has run for a settle time, the worker sleeps until
    # the server's next event.
    monkeypatch.setattr(outputs, "SETTLE_S", 0.3)
    wait_for(lambda: watchers[0].quiet)
    yield c, server, watchers[0]
    c.quit()
    assert c.finished.wait(10)


def wait_for(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_the_app_follows_a_default_its_listing_learns_after_the_event(app):
    c, server, watcher = app
    server.set_default("headphones")
    watcher._heard(None)  # the server's event, heard on the watcher's connection
    # The first look after the event still lists the old default; the next
    # watch, while the event is fresh, finds the new one.
    wait_for(lambda: "headphones.monitor" in c.snapshot.message, timeout=3.0)
    assert "the default output changed" in c.snapshot.message
    assert c.snapshot.state == IDLE


def test_the_watcher_is_quiet_again_once_the_event_settled(app):
    c, server, watcher = app
    watcher._heard(None)  # an event that changes nothing (a sink's volume)
    assert not watcher.quiet
    wait_for(lambda: not watcher.changed.is_set())  # the controller looked
    assert not watcher.quiet  # and will look again until it settles
    wait_for(lambda: watcher.quiet, timeout=2.0)
    assert c.snapshot.message == ""  # nothing changed: nothing said
