"""Notifications after a save, through desktop-notifier, against a stand-in
``org.freedesktop.Notifications`` on a private session bus (never the user's)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from loopcap.app.desktop.notify import Notifier, describe
from loopcap.errors import DeviceLostError, OutputError
from loopcap.session import Saved
from loopcap.trim import Bounds

pytestmark = pytest.mark.skipif(
    not __import__("sys").platform.startswith("linux"), reason="the D-Bus backend is Linux's"
)


def bounds(kept_s: float) -> Bounds:
    return Bounds(start=24000, end=24000 + round(kept_s * 48000), floor_db=-80.0, samplerate=48000)


def a_save(folder: Path, kept_s: float = 3.2, **kw) -> Saved:
    note = folder / "loopcap-2026-01-02_03-04-05.wav"
    raw = folder / "loopcap-2026-01-02_03-04-05.raw.wav"
    return Saved(
        raw_path=raw,
        duration_s=kept_s + 1.0,
        peak_dbfs=-3.0,
        samplerate=48000,
        channels=2,
        paths=(note,),
        notes=(bounds(kept_s),),
        **kw,
    )


@pytest.fixture
def bus(monkeypatch):
    from dbusrig import PrivateBus

    with PrivateBus() as b:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", b.address)
        yield b


@pytest.fixture
def server(bus):
    from notify_standin import NotificationServer

    with NotificationServer(bus.address) as s:
        yield s


@pytest.fixture
def opened():
    got: list[Path] = []
    event = threading.Event()

    def opener(folder: Path) -> None:
        got.append(folder)
        event.set()

    return got, event, opener


def test_a_save_notifies_once_with_the_file_name(server, tmp_path, opened):
    _, _, opener = opened
    n = Notifier(True, opener=opener)
    try:
        t0 = time.monotonic()
        future = n.saved(a_save(tmp_path))
        assert time.monotonic() - t0 < 0.1, "saved() must not wait for the desktop"
        assert future is not None and future.result(5) is True
        calls = server.wait_for(1)
        assert time.monotonic() - t0 < 1.0
        time.sleep(0.2)  # nothing more comes
        assert len(server.calls) == 1
        call = calls[0]
        assert "loopcap-2026-01-02_03-04-05.wav" in call.summary + call.body
        assert "3.2 s" in call.body
        assert call.app_name == "loopcap"
        assert "default" in call.actions[::2], "a click must have an action to run"
    finally:
        n.close()


def test_the_default_action_opens_the_folder(server, tmp_path, opened):
    got, event, opener = opened
    n = Notifier(True, opener=opener)
    try:
        assert n.saved(a_save(tmp_path)).result(5)
        call = server.wait_for(1)[0]
        server.invoke(call.id, "default")
        assert event.wait(5), "clicking the notification did not open anything"
        assert got == [tmp_path]
    finally:
        n.close()


def test_a_dismissed_notification_opens_nothing(server, tmp_path, opened):
    got, event, opener = opened
    n = Notifier(True, opener=opener)
    try:
        assert n.saved(a_save(tmp_path)).result(5)
        server.close_notification(server.wait_for(1)[0].id)
        assert not event.wait(0.5)
        assert got == []
    finally:
        n.close()


def test_disabled_sends_nothing(server, tmp_path):
    n = Notifier(False)
    assert n.saved(a_save(tmp_path)) is None
    assert n.failed("disk full") is None
    time.sleep(0.3)
    assert server.calls == []
    n.close()


def test_no_server_no_exception(bus, tmp_path):
    n = Notifier(True, timeout_s=2.0)
    try:
        future = n.saved(a_save(tmp_path))
        assert future is not None and future.result(5) is False
        # ...and again: the failure is not sticky, nor does it raise later.
        assert n.saved(a_save(tmp_path)).result(5) is False
    finally:
        n.close()


def test_no_session_bus_at_all(monkeypatch, tmp_path):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-such-bus")
    n = Notifier(True, timeout_s=2.0)
    try:
        assert n.saved(a_save(tmp_path)).result(5) is False
    finally:
        n.close()


def test_server_that_came_late_is_used(bus, tmp_path):
    from notify_standin import NotificationServer

    n = Notifier(True, timeout_s=2.0)
    try:
        assert n.saved(a_save(tmp_path)).result(5) is False
        with NotificationServer(bus.address) as server:
            assert n.saved(a_save(tmp_path)).result(5) is True
            assert len(server.wait_for(1)) == 1
    finally:
        n.close()


def test_closed_notifier_is_quiet(server, tmp_path):
    n = Notifier(True)
    n.close()
    n.close()
    assert n.saved(a_save(tmp_path)) is None
    assert server.calls == []


# ------------------------------------------------------------ the texts (pure)


def test_texts_no_sound(tmp_path):
    raw = tmp_path / "x.raw.wav"
    m = describe(Saved(raw, 4.0, -80.0, 48000, 2))
    assert m.summary == "No sound captured"
    assert "x.raw.wav" in m.body
    assert m.folder == tmp_path


def test_texts_device_gone(tmp_path):
    m = describe(a_save(tmp_path, error=DeviceLostError("the sink vanished")))
    assert "the sound device went away: what was captured is saved in" in m.body
    assert str(tmp_path) in m.body
    assert "loopcap-2026-01-02_03-04-05.wav" in m.body


def test_texts_other_error_and_split(tmp_path):
    m = describe(a_save(tmp_path, error=OutputError("saved in the rescue folder /r.")))
    assert m.body.startswith("saved in the rescue folder /r: what was captured")
    split = Saved(
        tmp_path / "r.wav",
        9.0,
        -3.0,
        48000,
        2,
        paths=(tmp_path / "a-1.wav", tmp_path / "a-2.wav"),
        notes=(bounds(1.0), bounds(2.5)),
    )
    m = describe(split)
    assert m.summary == "Saved 2 notes"
    assert "a-1.wav to a-2.wav" in m.body and "3.5 s" in m.body


# ------------------------------------------------------------ the controller's hook


def test_the_controller_notifies_once_per_save_and_not_on_cancel(
    server, tmp_path, monkeypatch, opened
):
    from loopcap.app.controller import IDLE, Controller
    from loopcap.config import CaptureConfig, Config, OutputConfig

    monkeypatch.setenv("LOOPCAP_BACKEND", "fake")
    monkeypatch.setenv("LOOPCAP_FAKE", "signal=burst")
    cfg = Config(
        capture=CaptureConfig(preroll_s=0.0), output=OutputConfig(dir=str(tmp_path), format="wav")
    )
    notifier = Notifier(True, opener=opened[2])
    c = Controller(cfg, notifier=notifier)
    c.start()
    try:
        for n in (1, 2):
            c.post("start").wait(5)
            time.sleep(1.2)
            c.post("stop").wait(10)
            saved = c.snapshot.saved
            assert c.snapshot.state == IDLE and saved is not None
            t_saved = time.monotonic()
            calls = server.wait_for(n, 5)
            assert len(calls) == n
            assert time.monotonic() - t_saved < 1.0, "notified more than a second after"
            name = (saved.path or saved.raw_path).name
            assert name in calls[-1].summary + calls[-1].body
        c.post("start").wait(5)
        time.sleep(0.3)
        c.post("cancel").wait(10)
        time.sleep(0.5)
        assert len(server.calls) == 2, "a cancelled capture is not a save"
    finally:
        c.quit()
        assert c.finished.wait(10)
        notifier.close()


def test_texts_say_why_a_note_runs_to_the_capture_end(tmp_path):
    from loopcap.trim.cutoff import CUT_OFF_REASON

    cut = Bounds(24000, 192000, -80.0, 48000, CUT_OFF_REASON)
    note = tmp_path / "n.wav"
    saved = Saved(tmp_path / "r.wav", 4.0, -3.0, 48000, 2, paths=(note,), notes=(cut,))
    m = describe(saved)
    assert m.summary == "Saved n.wav"
    assert m.body.endswith(f"; {CUT_OFF_REASON}")
    assert "3.5 s note" in m.body
