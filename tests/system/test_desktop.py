"""The app on today's desktops, through their own D-Bus services (issue 12's
contract): a private session bus with stand-ins for the XDG portal, the
StatusNotifierWatcher and the notification server; an X display with no
XEmbed tray; ``XDG_SESSION_TYPE=wayland``; real audio through the private
PulseAudio server.

- A portal shortcut with the id ``toggle`` is bound; a press (Activated +
  Deactivated) starts a capture and the next one stops it and saves
  ``<stem>.raw.wav`` and ``<stem>.wav``.
- A StatusNotifierItem is registered; its dbusmenu has an item labelled
  "Start..." while idle; a ``clicked`` event on it starts a capture, after
  which an item labelled "Stop..." exists, and clicking it stops and saves.
- Within 10 s of each saved pair, ``Notify`` is called once with the saved
  file's name in the summary or body.
- SIGTERM: exit 0 within 5 s.

The latency from the portal's Activated to the app saying "recording" is
printed (measured, not held to a number).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import numpy as np
import pytest
import rig
import xrig
from dbusrig import PrivateBus
from notify_standin import NotificationServer
from portal_standin import PortalStandIn
from sni_standin import SniClient, SniWatcher

from loopcap.app.desktop.bus import SessionBus

SWEEP = np.repeat(rig.chirp(0.8, f0=200.0, f1=4000.0)[:, None], 2, axis=1)
BIND = "org.freedesktop.portal.GlobalShortcuts.BindShortcuts"


def saved_pairs(out: Path) -> dict[str, set[str]]:
    """Stem -> {"raw", "note"} of the finished captures in ``out``."""
    pairs: dict[str, set[str]] = {}
    for p in out.glob("*.wav") if out.exists() else []:
        if p.name.endswith(".partial.wav"):
            continue
        if p.name.endswith(".raw.wav"):
            pairs.setdefault(p.name[: -len(".raw.wav")], set()).add("raw")
        else:
            pairs.setdefault(p.stem, set()).add("note")
    return pairs


def wait_pairs(app: rig.Loopcap, out: Path, count: int, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        pairs = saved_pairs(out)
        done = [s for s, kinds in pairs.items() if kinds == {"raw", "note"}]
        if app.status()["state"] == "idle" and len(done) >= count:
            return pairs
        if time.monotonic() > deadline:
            app.fail(f"after {timeout} s: {pairs}, state {app.status()['state']}")
        time.sleep(0.05)


def play_a_note(pulse) -> None:
    time.sleep(0.3)
    pulse.play_array(SWEEP)
    time.sleep(0.3)


def mentions(notified, stem: str) -> bool:
    return stem in notified.summary or stem in notified.body


@pytest.fixture
def desktop():
    """(private bus, portal, watcher, notification server, an X display with no tray)."""
    with (
        PrivateBus() as bus,
        PortalStandIn(bus.address) as portal,
        SniWatcher(bus.address) as watcher,
        NotificationServer(bus.address) as notes,
        xrig.XDisplay(tray=False) as bare,
    ):
        yield bus, portal, watcher, notes, bare


def test_portal_shortcut_sni_menu_and_notifications_on_wayland(pulse, start_app, app_env, desktop):
    bus, portal, watcher, notes, bare = desktop
    assert not bare.tray_owner()
    env = bare.env(app_env)
    env.update(DBUS_SESSION_BUS_ADDRESS=bus.address, XDG_SESSION_TYPE="wayland")
    app, out = start_app(env=env)

    # -- the portal: "toggle" bound, one press starts, the next stops and saves.
    assert portal.wait_for(BIND), portal.members()
    bound = {sid for shortcuts in portal.sessions.values() for sid in shortcuts}
    assert {"toggle", "cancel", "arm"} <= bound, portal.sessions
    latencies = []
    t_press = portal.press("toggle")
    latencies.append(app.wait_state("recording", timeout=5) - t_press)
    play_a_note(pulse)
    portal.press("toggle")
    pairs = wait_pairs(app, out, 1)
    (first,) = [s for s, kinds in pairs.items() if kinds == {"raw", "note"}]
    calls = notes.wait_for(1, timeout=10)
    assert len(calls) == 1 and mentions(calls[0], first), calls

    # -- the StatusNotifierItem and its menu.
    service = watcher.wait_registered()
    with SessionBus(bus.address) as session:
        menu = SniClient(session, service)
        assert any(label.startswith("Start") for label in menu.labels()), menu.labels()
        menu.click("Start")
        app.wait_state("recording", timeout=5)
        deadline = time.monotonic() + 5
        while not any(label.startswith("Stop") for label in menu.labels()):
            assert time.monotonic() < deadline, menu.labels()
            time.sleep(0.05)
        play_a_note(pulse)
        menu.click("Stop")
        pairs = wait_pairs(app, out, 2)
    (second,) = [s for s, k in pairs.items() if k == {"raw", "note"} and s != first]
    calls = notes.wait_for(2, timeout=10)
    assert len(calls) == 2 and mentions(calls[1], second), calls

    # -- one more press for the latency figure, then SIGTERM ends it at once.
    time.sleep(0.4)
    t_press = portal.press("toggle")
    latencies.append(app.wait_state("recording", timeout=5) - t_press)
    print(f"portal press -> recording: {[f'{1000 * x:.0f} ms' for x in latencies]}")
    t_term = time.monotonic()
    app.proc.send_signal(signal.SIGTERM)
    assert app.finish(timeout=5) == 0, app.log
    assert app.t_exit is not None and app.t_exit - t_term < 5.0
    assert "Traceback" not in app.log, app.log


def test_the_first_run_is_said_once_in_a_desktop_notification(tmp_path, desktop):
    """With no config file yet, the app's first start says how it works once,
    in a notification from the desktop's server as well as on the terminal;
    the next start says nothing."""
    bus, _portal, _watcher, notes, _bare = desktop
    env = rig.child_env(dict(bus.env()), tmp_path / "user")
    env.pop("DISPLAY", None)
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env.update(LOOPCAP_BACKEND="fake", XDG_RUNTIME_DIR=str(runtime))
    for start in range(2):
        app = rig.Loopcap(["run", "--no-tray"], env, tmp_path)
        app.wait_running()
        if start == 0:
            (welcome,) = notes.wait_for(1, timeout=10)
            assert welcome.summary == "Welcome to loopcap", welcome
            music = Path(env["XDG_MUSIC_DIR"]) / "loopcap"
            assert f"Notes are saved in {music}." in welcome.body, welcome.body
        assert rig.ask(env, "quit").get("state") == "quitting"
        assert app.finish(20) == 0, app.log
    time.sleep(0.5)  # a second welcome would have come by now
    assert len(notes.calls) == 1, notes.calls
