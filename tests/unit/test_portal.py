"""Global shortcuts through the XDG desktop portal, against a stand-in portal
on a private ``dbus-daemon`` (never the user's bus): registration first, the
three ids bound with the ``[hotkeys]`` values as preferred triggers, one
action per press however the desktop repeats a held key, the user's changed
bindings reported, the fallback when there is no portal, and the latency
from the portal's Activated to the controller's ``post``.
"""

from __future__ import annotations

import statistics
import threading
import time

import pytest
from dbusrig import PrivateBus
from portal_standin import PortalStandIn

from loopcap.app.desktop import APP_ID
from loopcap.app.desktop.bus import DesktopUnavailable, SessionBus
from loopcap.app.desktop.keys import PressFilter, portal_trigger
from loopcap.app.desktop.portal import PortalShortcuts
from loopcap.app.hotkeys import BACKEND_ENV, hotkey_doctor_lines, start_hotkeys
from loopcap.config import HotkeysConfig

pytestmark = pytest.mark.skipif(
    not __import__("sys").platform.startswith("linux"), reason="D-Bus is Linux's"
)


class Posted:
    """A stand-in for ``controller.post``: records (action, monotonic time)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, float]] = []
        self.event = threading.Event()

    def __call__(self, action: str) -> None:
        self.items.append((action, time.monotonic()))
        self.event.set()

    def actions(self) -> list[str]:
        return [a for a, _ in self.items]

    def wait(self, count: int, timeout: float = 3.0) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.items) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        return len(self.items) >= count


@pytest.fixture
def bus():
    with PrivateBus() as private:
        yield private


@pytest.fixture
def client(bus):
    sb = SessionBus(bus.address).connect()
    yield sb
    sb.close()


def settle(seconds: float = 0.4) -> None:
    """Long enough for any signal still on its way (and the debounce gap)."""
    time.sleep(seconds)


# -- pure parts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "hotkey, trigger",
    [
        ("<ctrl>+<alt>+r", "CTRL+ALT+r"),
        ("<alt>+<ctrl>+x", "CTRL+ALT+x"),
        ("<shift>+<cmd>+<f9>", "SHIFT+LOGO+F9"),
        ("<ctrl>+<page_down>", "CTRL+Page_Down"),
        ("<ctrl>+,", "CTRL+comma"),
        ("<ctrl>+<65>", None),  # a pynput key code: the desktop asks the user
        ("", None),
    ],
)
def test_pynput_hotkeys_become_the_shortcuts_spec_triggers(hotkey, trigger):
    assert portal_trigger(hotkey) == trigger


def test_the_press_filter_counts_presses_not_repeats():
    f = PressFilter(repeat_gap_s=0.3, stuck_s=2.0)
    assert f.activated("toggle", 0.0)
    f.deactivated("toggle", 0.1)
    assert not f.activated("toggle", 0.13)  # a held key's next pair
    f.deactivated("toggle", 0.16)
    assert f.activated("toggle", 1.0)  # a new press
    assert not f.activated("toggle", 1.6)  # Activated alone while held (Hyprland)
    assert f.activated("toggle", 4.0)  # a lost Deactivated does not eat the next press
    assert f.activated("arm", 4.0)  # ids are independent


# -- on the bus ----------------------------------------------------------------------


def test_registers_then_binds_the_three_ids_with_the_configs_triggers(bus, client):
    config = HotkeysConfig(toggle="<ctrl>+<alt>+r", cancel="<ctrl>+<alt>+x", arm="<shift>+<f9>")
    with PortalStandIn(bus.address) as portal:
        shortcuts = PortalShortcuts(client, APP_ID, config, Posted()).start(5.0)
        try:
            members = portal.members()
            register = members.index("org.freedesktop.host.portal.Registry.Register")
            create = members.index("org.freedesktop.portal.GlobalShortcuts.CreateSession")
            bind = members.index("org.freedesktop.portal.GlobalShortcuts.BindShortcuts")
            assert register < create < bind
            assert register == 0  # before any other portal call on the connection
            reg_call = portal.calls[register]
            assert reg_call[2][0] == APP_ID
            assert reg_call[1] == client.bus.unique_name  # the same connection
            bind_body = portal.calls[bind][2]
            assert bind_body[0] == shortcuts.session
            offered = {sid: info["preferred_trigger"].value for sid, info in bind_body[1]}
            assert offered == {"toggle": "CTRL+ALT+r", "cancel": "CTRL+ALT+x", "arm": "SHIFT+F9"}
            assert bind_body[2] == ""  # no parent window
            assert shortcuts.registered is True
            assert shortcuts.bindings() == offered
        finally:
            shortcuts.close()


def test_an_empty_hotkey_is_not_bound(bus, client):
    config = HotkeysConfig(cancel="")
    with PortalStandIn(bus.address) as portal:
        shortcuts = PortalShortcuts(client, APP_ID, config, Posted()).start(5.0)
        assert set(shortcuts.bindings()) == {"toggle", "arm"}
        assert portal.wait_for("org.freedesktop.portal.GlobalShortcuts.BindShortcuts")
        shortcuts.close()


def test_one_press_is_one_action_and_a_held_key_is_one_action(bus, client):
    posted = Posted()
    with PortalStandIn(bus.address) as portal:
        shortcuts = PortalShortcuts(client, APP_ID, HotkeysConfig(), posted).start(5.0)
        try:
            portal.press("toggle")
            assert posted.wait(1)
            settle()
            assert posted.actions() == ["toggle"]
            # Held: 5 Activated/Deactivated pairs 30 ms apart.
            portal.press("toggle", repeats=5, interval_s=0.03)
            assert posted.wait(2)
            settle()
            assert posted.actions() == ["toggle", "toggle"]
            # Held where the desktop repeats Activated alone (Hyprland #4827).
            portal.press("cancel", repeats=5, interval_s=0.03, pairs=False)
            assert posted.wait(3)
            settle()
            assert posted.actions() == ["toggle", "toggle", "cancel"]
            # An id that is not ours does nothing.
            portal.press("something-else")
            settle()
            assert posted.actions() == ["toggle", "toggle", "cancel"]
        finally:
            shortcuts.close()


def test_a_binding_changed_in_the_desktops_settings_is_reported_not_rebound(bus, client):
    with PortalStandIn(bus.address) as portal:
        shortcuts = PortalShortcuts(client, APP_ID, HotkeysConfig(), Posted()).start(5.0)
        try:
            binds = portal.members().count("org.freedesktop.portal.GlobalShortcuts.BindShortcuts")
            portal.change("toggle", "Super+F12")
            deadline = time.monotonic() + 3
            while shortcuts.bindings().get("toggle") != "Super+F12":
                assert time.monotonic() < deadline, shortcuts.bindings()
                time.sleep(0.01)
            assert shortcuts.bindings()["cancel"] == "CTRL+ALT+x"
            settle(0.2)
            assert (
                portal.members().count("org.freedesktop.portal.GlobalShortcuts.BindShortcuts")
                == binds
            )
        finally:
            shortcuts.close()


def test_an_older_portal_without_the_registry_still_works(bus, client):
    posted = Posted()
    with PortalStandIn(bus.address, registry=False) as portal:
        shortcuts = PortalShortcuts(client, APP_ID, HotkeysConfig(), posted).start(5.0)
        try:
            assert shortcuts.registered is None
            portal.press("arm")
            assert posted.wait(1) and posted.actions() == ["arm"]
        finally:
            shortcuts.close()


def test_no_portal_no_global_shortcuts_or_a_cancelled_dialog_is_desktop_unavailable(bus, client):
    with pytest.raises(DesktopUnavailable, match="no XDG desktop portal"):
        PortalShortcuts(client, APP_ID, HotkeysConfig(), Posted()).start(3.0)
    with PortalStandIn(bus.address, shortcuts=False):
        with pytest.raises(DesktopUnavailable, match="no global shortcuts"):
            PortalShortcuts(client, APP_ID, HotkeysConfig(), Posted()).start(3.0)
    with PortalStandIn(bus.address, bind_response=1):
        with pytest.raises(DesktopUnavailable, match="cancelled"):
            PortalShortcuts(client, APP_ID, HotkeysConfig(), Posted()).start(3.0)


def test_a_slow_dialog_does_not_hold_up_the_start(bus, client):
    posted = Posted()
    with PortalStandIn(bus.address, bind_delay_s=1.0) as portal:
        t0 = time.monotonic()
        shortcuts = PortalShortcuts(client, APP_ID, HotkeysConfig(), posted).start(0.3)
        try:
            assert time.monotonic() - t0 < 1.0
            assert shortcuts.pending_bind and shortcuts.bindings() == {}
            deadline = time.monotonic() + 3
            while not shortcuts.bindings():
                assert time.monotonic() < deadline
                time.sleep(0.01)
            assert not shortcuts.pending_bind
            portal.press("toggle")
            assert posted.wait(1)
        finally:
            shortcuts.close()


def test_close_ends_the_session_once_and_silences_the_keys(bus, client):
    posted = Posted()
    with PortalStandIn(bus.address) as portal:
        shortcuts = PortalShortcuts(client, APP_ID, HotkeysConfig(), posted).start(5.0)
        session = shortcuts.session
        shortcuts.close()
        shortcuts.close()
        assert portal.closed == [session]
        assert portal.members().count("org.freedesktop.portal.Session.Close") == 1
        portal.sessions[session] = {}  # the desktop would still send to it
        portal.press("toggle")
        settle()
        assert posted.actions() == []


def test_start_hotkeys_prefers_the_portal_and_describes_why(bus, client, monkeypatch):
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    posted = Posted()
    with PortalStandIn(bus.address) as portal:
        hotkeys = start_hotkeys(HotkeysConfig(), posted, session_bus=client)
        try:
            assert hotkeys.backend == "portal" and hotkeys.heard
            lines = hotkeys.describe()
            assert "desktop portal" in lines[0] and "toggle = CTRL+ALT+r" in lines[0]
            assert any("pynput not used" in line for line in lines[1:])
            portal.press("toggle")
            assert posted.wait(1) and posted.actions() == ["toggle"]
        finally:
            hotkeys.stop()
            hotkeys.stop()
        assert portal.members().count("org.freedesktop.portal.Session.Close") == 1


def test_start_hotkeys_falls_back_to_none_without_a_portal_or_a_display(bus, monkeypatch):
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("XDG_SESSION_TYPE", "tty")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)  # its own connection
    hotkeys = start_hotkeys(HotkeysConfig(), Posted())
    try:
        assert hotkeys.backend == "none" and not hotkeys.heard
        lines = hotkeys.describe()
        assert "loopcap toggle" in lines[0]
        assert "portal not used: no XDG desktop portal" in lines[1]
        assert "pynput not used: no X display" in lines[2]
    finally:
        hotkeys.stop()
    doctor = hotkey_doctor_lines(HotkeysConfig())
    assert doctor[0][0] == "warn" and "loopcap toggle" in doctor[0][1]


def test_doctor_lists_what_the_desktop_bound_without_binding(bus, monkeypatch):
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
    with PortalStandIn(bus.address) as portal:
        lines = hotkey_doctor_lines(HotkeysConfig())
        assert lines[0][0] == "ok" and "desktop portal" in lines[0][1]
        members = portal.members()
        assert "org.freedesktop.portal.GlobalShortcuts.BindShortcuts" not in members
        assert "org.freedesktop.portal.GlobalShortcuts.ListShortcuts" in members
        assert "org.freedesktop.portal.Session.Close" in members


def test_latency_from_activated_to_post(bus, client, capsys):
    """The median time from the portal's Activated to ``post``, over 50 presses
    (the time in the desktop before the signal is not counted)."""
    posted = Posted()
    with PortalStandIn(bus.address) as portal:
        shortcuts = PortalShortcuts(client, APP_ID, HotkeysConfig(), posted).start(5.0)
        try:
            delays = []
            ids = ("toggle", "cancel", "arm")  # each id past its debounce gap in turn
            for i in range(50):
                sent = portal.signal("Activated", ids[i % 3])
                assert posted.wait(i + 1), f"press {i} was not posted"
                delays.append(posted.items[i][1] - sent)
                portal.signal("Deactivated", ids[i % 3])
                time.sleep(0.11)
        finally:
            shortcuts.close()
    median_ms = statistics.median(delays) * 1000
    with capsys.disabled():
        print(f"\nportal Activated -> post: median {median_ms:.2f} ms over 50 presses")
    assert median_ms < 50
