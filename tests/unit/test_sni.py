"""The StatusNotifierItem tray (loopcap.app.desktop.sni) on a private session
bus with a stand-in watcher (tests/sni_standin.py): registration, the item's
properties, the dbusmenu menu and its clicks, the state changes, and the
fall-back when there is no SNI host."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from loopcap.app.controller import ARMED, IDLE, RECORDING, Snapshot

pytestmark = [
    pytest.mark.posix,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="D-Bus: Linux only"),
]


class FakeController:
    """What SniTray uses of the controller: post, snapshot, subscribe, directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.snapshot = Snapshot(IDLE)
        self.posted: list[str] = []
        self.listeners: list = []
        self._posted = threading.Event()

    def post(self, name: str) -> threading.Event:
        self.posted.append(name)
        self._posted.set()
        done = threading.Event()
        done.set()
        return done

    def subscribe(self, listener) -> None:
        self.listeners.append(listener)

    def choose_app(self, name: str) -> threading.Event:
        return self.post(f"app:{name}")

    def wait_posted(self, n: int, timeout: float = 5.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.posted) < n and time.monotonic() < deadline:
            self._posted.wait(0.05)
            self._posted.clear()
        return list(self.posted)


def wait_for(check, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


@pytest.fixture(autouse=True)
def playing(monkeypatch):
    """The applications "Record from" lists: a stand-in, never a sound server's."""
    from loopcap.device import AppInfo

    apps = [AppInfo("music_box", "paplay", 7, (3,), ("speakers",))]
    monkeypatch.setattr("loopcap.app.menu.apps_playing", lambda: (list(apps), ""))
    return apps


@pytest.fixture
def bus():
    from dbusrig import PrivateBus

    with PrivateBus() as b:
        yield b


@pytest.fixture
def app_bus(bus):
    from loopcap.app.desktop.bus import SessionBus

    with SessionBus(bus.address) as session:
        yield session


@pytest.fixture
def watcher(bus):
    from sni_standin import SniWatcher

    with SniWatcher(bus.address) as w:
        yield w


@pytest.fixture
def tray(app_bus, watcher, tmp_path):
    from loopcap.app.desktop.sni import SniTray

    controller = FakeController(tmp_path / "captures")
    quits: list[int] = []
    t = SniTray(app_bus, controller, tmp_path / "config.toml", lambda: quits.append(1))
    t.quits = quits  # type: ignore[attr-defined]
    yield t
    t.stop()


@pytest.fixture
def client(tray, watcher):
    from sni_standin import SniClient

    return SniClient(watcher.session, watcher.wait_registered())


def test_it_registers_with_the_watcher_under_its_own_connection(tray, watcher, app_bus):
    service = watcher.wait_registered()
    assert service.startswith("org.kde.StatusNotifierItem-")
    assert tray.service == service
    assert [sender for sender, _ in watcher.registrations] == [app_bus.bus.unique_name]


def test_the_item_s_properties(client):
    assert client.property("Category") == "ApplicationStatus"
    assert client.property("Id").startswith("loopcap")
    assert client.property("Title") == "loopcap"
    assert client.property("Status") == "Active"
    assert client.property("ItemIsMenu") is False
    assert client.property("Menu") == "/MenuBar"
    tooltip = client.property("ToolTip")
    assert tooltip[2] == "loopcap" and "idle" in tooltip[3]
    sizes = [(w, h) for w, h, _ in client.property("IconPixmap")]
    assert sizes == [(22, 22), (32, 32), (48, 48)]
    for w, h, data in client.property("IconPixmap"):
        assert len(data) == w * h * 4
    assert client.property("Version", "/MenuBar", "com.canonical.dbusmenu") == 3


def test_pixmaps_are_argb_in_network_order():
    from PIL import Image

    from loopcap.app.desktop.sni_item import argb32

    image = Image.new("RGBA", (2, 1), (10, 20, 30, 40))
    image.putpixel((1, 0), (1, 2, 3, 255))
    assert argb32(image) == bytes([40, 10, 20, 30, 255, 1, 2, 3])


def test_the_menu_while_idle(client):
    labels = client.labels()
    assert labels[0].startswith("Start")
    for wanted in (
        "Capture the next sound",
        "Open captures folder",
        "Recent captures",
        "Open config file",
        "Quit",
    ):
        assert any(label.startswith(wanted) for label in labels), (wanted, labels)
    recent = [p for _, p in client.items() if p.get("label") == "Recent captures"][0]
    assert recent["children-display"] == "submenu"
    assert "(none yet)" in labels
    assert any(p.get("type") == "separator" for _, p in client.items())


def test_a_click_on_start_posts_toggle(client, tray):
    client.click("Start")
    assert tray.controller.wait_posted(1) == ["toggle"]
    client.click("Capture the next sound")
    assert tray.controller.wait_posted(2) == ["toggle", "arm"]


def test_a_left_click_on_the_icon_toggles(client, tray):
    client.activate()
    assert tray.controller.wait_posted(1) == ["toggle"]


def test_quit_calls_on_quit(client, tray):
    client.click("Quit")
    assert wait_for(lambda: tray.quits == [1])


def test_recording_turns_start_into_stop(client, tray):
    revision, _ = client.layout()
    since = len(client.signals)
    tray.show(Snapshot(RECORDING, started=time.monotonic()))
    updated = client.wait_signal("LayoutUpdated", since=since)
    assert updated[0] > revision and updated[1] == 0
    assert client.wait_signal("NewStatus", since=since) == ["NeedsAttention"]
    client.wait_signal("NewIcon", since=since)
    new_revision, _ = client.layout()
    assert new_revision == updated[0]
    labels = client.labels()
    assert labels[0].startswith("Stop") and not any(x.startswith("Start") for x in labels)
    assert client.property("Status") == "NeedsAttention"
    assert "recording" in client.property("ToolTip")[3]
    # The arm item is greyed out while recording (a property change on a kept id).
    arm = client.find("Capture the next sound")
    assert client.wait_signal("ItemsPropertiesUpdated", since=since)[0][0][0] == arm
    assert dict(client.items())[arm]["enabled"] is False
    client.click("Stop")
    assert tray.controller.wait_posted(1) == ["toggle"]


def test_a_stale_click_does_not_do_the_opposite(client, tray):
    start = client.find("Start")
    tray.show(Snapshot(RECORDING, started=time.monotonic()))
    assert wait_for(lambda: client.labels()[0].startswith("Stop"))
    with pytest.raises(RuntimeError, match="InvalidArgs"):
        client.click(start)
    assert tray.controller.posted == []


def test_an_unchanged_state_does_not_bump_the_revision(client, tray):
    tray.show(Snapshot(ARMED, armed=True))
    assert wait_for(lambda: client.labels()[1] == "Disarm")
    revision, _ = client.layout()
    tray.show(Snapshot(ARMED, armed=True))
    time.sleep(0.2)
    assert client.layout()[0] == revision


def test_recent_captures_keep_their_underscores(client, tray, tmp_path):
    note = tmp_path / "note_1.wav"
    note.write_bytes(b"")
    tray.show(Snapshot(IDLE, recent=(note,)))
    assert wait_for(lambda: "note__1.wav" in client.labels())


def test_run_blocks_until_stop_and_the_item_goes(client, tray):
    runner = threading.Thread(target=tray.run)
    runner.start()
    time.sleep(0.2)
    assert runner.is_alive()
    assert tray.controller.listeners == [tray.show]
    tray.stop()
    runner.join(3)
    assert not runner.is_alive()
    with pytest.raises(RuntimeError):
        client.property("Status")
    tray.stop()  # idempotent


def test_a_new_watcher_gets_the_item_again(tray, watcher, bus):
    from sni_standin import SniWatcher

    watcher.wait_registered()
    watcher.stop()
    with SniWatcher(bus.address) as again:
        assert again.wait_registered() == tray.service


def test_no_watcher_is_desktop_unavailable(app_bus, tmp_path):
    from loopcap.app.desktop.bus import DesktopUnavailable
    from loopcap.app.desktop.sni import SniTray, sni_support

    assert sni_support(app_bus)[0] is False
    with pytest.raises(DesktopUnavailable, match="no StatusNotifierWatcher"):
        SniTray(app_bus, FakeController(tmp_path), tmp_path / "c.toml", lambda: None)
    # Nothing left behind: the item's objects are not exported.
    assert app_bus.bus._path_exports.get("/StatusNotifierItem") in (None, {}, [])


def test_a_watcher_without_a_host_is_desktop_unavailable(bus, app_bus, tmp_path):
    from sni_standin import SniWatcher

    from loopcap.app.desktop.bus import DesktopUnavailable
    from loopcap.app.desktop.sni import SniTray, sni_support

    with SniWatcher(bus.address, host=False) as w:
        ok, reason = sni_support(app_bus)
        assert not ok and "no host" in reason
        with pytest.raises(DesktopUnavailable, match="no host"):
            SniTray(app_bus, FakeController(tmp_path), tmp_path / "c.toml", lambda: None)
        assert w.items == []
    with SniWatcher(bus.address) as w:
        assert sni_support(app_bus)[0] is True


def test_record_from_is_a_radio_group_read_again_when_shown(client, tray, playing):
    from loopcap.device import AppInfo

    items = dict(client.items())
    everything, music = client.find("Everything"), client.find("music__box")
    assert items[everything]["toggle-type"] == "radio" and items[everything]["toggle-state"] == 1
    assert items[music]["toggle-type"] == "radio" and items[music]["toggle-state"] == 0
    client.click(music)
    assert tray.controller.wait_posted(1) == ["app:music_box"]
    # A new app plays: the host asks before it shows the menu, and gets it.
    playing.append(AppInfo("WhatsApp", "whatsapp", 8, (4,), ("speakers",)))
    revision, _ = client.layout()
    record_from = client.find("Record from")
    (changed,) = client.call(
        "/MenuBar", "com.canonical.dbusmenu", "AboutToShow", "i", [record_from]
    )
    assert changed is True and client.layout()[0] > revision
    assert "WhatsApp" in client.labels()
    (changed,) = client.call(
        "/MenuBar", "com.canonical.dbusmenu", "AboutToShow", "i", [record_from]
    )
    assert changed is False  # nothing new
    # The app recorded is the one checked.
    tray.show(Snapshot(IDLE, app="whats"))
    assert wait_for(lambda: dict(client.items())[client.find("WhatsApp")]["toggle-state"] == 1)
    assert dict(client.items())[client.find("Everything")]["toggle-state"] == 0


def test_escape_label():
    from loopcap.app.desktop.dbusmenu import escape_label

    assert escape_label("a_b__c") == "a__b____c"
