"""Recording one application in the app shell: ``[capture] app``, ``loopcap
apps``, ``record --app``, the controller's choice and the tray's "Record
from" submenu, on the fake source with a stand-in for the device layer's
application listing (no sound server)."""

from __future__ import annotations

import json
import time

import pytest
import soundfile as sf

import loopcap.device as device
from loopcap.app.cli import main
from loopcap.app.controller import IDLE, RECORDING, Controller, Snapshot
from loopcap.config import CaptureConfig, Config, OutputConfig, load_config
from loopcap.device import AppInfo
from loopcap.device.fake import FakeSource
from loopcap.errors import ConfigError, DeviceError


def _app(name, binary="paplay", pid=100, streams=(7,), sinks=("speakers",)):
    return AppInfo(name, binary, pid, tuple(streams), tuple(sinks))


MUSIC = _app("music", pid=101, streams=(3,))
NOTES = _app("notes", pid=102, streams=(4, 5))
CHROMIUM = _app("Chromium", "chromium", 200, (9,))


class Apps:
    """A stand-in for the device layer's per-application functions (the
    matching rule, :func:`loopcap.device.match_app`, is the real one)."""

    def __init__(self) -> None:
        self.playing: list = [MUSIC]
        self.supported = (True, "")
        self.opened: list[str] = []

    def list_apps(self):
        return list(self.playing)

    def app_capture_support(self):
        return self.supported

    def open_app_source(self, name: str):
        if not self.supported[0]:
            raise DeviceError(self.supported[1])
        self.opened.append(name)
        return AppSource(name)


class AppSource(FakeSource):
    """The fake device named as an application's source is."""

    def __init__(self, app: str) -> None:
        super().__init__(**FakeSource.from_env().__dict__)
        self.app = app

    @property
    def info(self):
        return device.DeviceInfo(f"app:{self.app.lower()}", f"{self.app} (app)", 2, False)


@pytest.fixture
def apps(monkeypatch):
    monkeypatch.setenv("LOOPCAP_BACKEND", "fake")
    monkeypatch.setenv("LOOPCAP_FAKE", "signal=burst")
    stand_in = Apps()
    for name in ("list_apps", "app_capture_support", "open_app_source"):
        monkeypatch.setattr(device, name, getattr(stand_in, name))
    return stand_in


# ---------------------------------------------------------------- config


@pytest.mark.parametrize(
    "text, words",
    [
        ("app = 3", ["capture.app", "string"]),
        ('app = "  "', ["capture.app", "loopcap apps"]),
        ('app = "a\\u0007b"', ["capture.app", "control characters"]),
        (f'app = "{"x" * 201}"', ["capture.app", "200"]),
    ],
)
def test_a_bad_app_names_the_key(tmp_path, text, words):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[capture]\n{text}\n")
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    for word in words:
        assert word in str(err.value)


def test_the_app_is_read_and_defaults_to_everything(tmp_path):
    assert Config().capture.app == ""
    cfg = tmp_path / "c.toml"
    cfg.write_text('[capture]\napp = "Chromium"\n')
    assert load_config(cfg).capture.app == "Chromium"


# ---------------------------------------------------------------- loopcap apps


def test_apps_lists_the_applications_playing(apps, capsys):
    apps.playing = [MUSIC, CHROMIUM]
    assert main(["apps"]) == 0
    out = capsys.readouterr().out
    assert "music (paplay, pid 101, 1 stream (3) on speakers)" in out
    assert "Chromium (chromium, pid 200, 1 stream (9) on speakers)" in out
    assert main(["apps", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[1] == {
        "name": "Chromium",
        "binary": "chromium",
        "pid": 200,
        "streams": [9],
        "sinks": ["speakers"],
    }


def test_apps_with_nothing_playing(apps, capsys):
    apps.playing = []
    assert main(["apps"]) == 0
    assert "no application is playing" in capsys.readouterr().out
    assert main(["apps", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_apps_where_the_system_records_the_whole_output_only(apps, capsys):
    apps.supported = (False, "this system records the whole output only: no backend")
    assert main(["apps"]) == 3
    assert "records the whole output only" in capsys.readouterr().err
    assert main(["record", "--app", "notes", "--duration", "0.5"]) == 3
    assert "records the whole output only" in capsys.readouterr().err


# ---------------------------------------------------------------- record --app


def test_record_app_waits_for_an_app_not_playing_and_says_so_once(apps, tmp_path, capsys):
    out = tmp_path / "o"
    args = ["record", "--app", "notes", "--duration", "1.0", "--out-dir", str(out)]
    assert main([*args, "--format", "wav", "--json"]) == 0
    assert apps.opened == ["notes"]
    result = json.loads(capsys.readouterr().out)
    assert abs(result["duration_s"] - 1.0) < 0.05
    assert sf.info(result["raw_path"]).frames == round(result["duration_s"] * 48000)
    from loguru import logger

    from loopcap.app.logsetup import log_path

    logger.complete()
    log = log_path().read_text()
    said = [line for line in log.splitlines() if "no application matching 'notes'" in line]
    assert len(said) >= 1 and "playing now: music (paplay)" in said[-1]
    assert "Recording from 'notes (app)'" in log


def test_record_app_names_the_app_it_records(apps, tmp_path, capsys):
    from loguru import logger

    from loopcap.app.logsetup import log_path

    apps.playing = [MUSIC, NOTES]
    out = tmp_path / "o"
    assert main(["record", "--app", "NOT", "--duration", "0.5", "--out-dir", str(out)]) in (0, 4)
    logger.complete()
    log = log_path().read_text()
    assert "recording the application 'NOT' only: notes (paplay, pid 102" in log


def test_the_config_s_app_and_what_overrides_it(apps, tmp_path):
    from loopcap.app.cli import build_parser
    from loopcap.app.record import recorded

    cfg = Config(capture=CaptureConfig(app="chromium", device="spk"))
    parse = build_parser().parse_args
    assert recorded(parse(["record"]), cfg) == ("chromium", "spk")
    assert recorded(parse(["record", "--app", "notes"]), cfg) == ("notes", "spk")
    assert recorded(parse(["record", "--app", ""]), cfg) == ("", "spk")  # the whole output
    assert recorded(parse(["record", "--device", "hdmi"]), cfg) == ("", "hdmi")
    assert recorded(parse(["run", "--app", "x"]), cfg) == ("x", "spk")
    with pytest.raises(ConfigError, match="--app"):
        recorded(parse(["record", "--app", " "]), cfg)


def test_app_and_device_together_are_a_usage_error(capsys):
    assert main(["record", "--app", "a", "--device", "b"]) == 2
    assert "not allowed with" in capsys.readouterr().err
    assert main(["run", "--app", "a", "--device", "b"]) == 2


# ---------------------------------------------------------------- the controller


@pytest.fixture
def controller(apps, tmp_path):
    cfg = Config(
        capture=CaptureConfig(preroll_s=0.5, app="notes"),
        output=OutputConfig(dir=str(tmp_path), format="wav"),
    )
    c = Controller(cfg)
    seen: list[Snapshot] = []
    c.subscribe(seen.append)
    c.start()
    yield c, seen
    c.quit()
    assert c.finished.wait(10)


def wait_for(pred, timeout=8.0):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_the_app_records_the_app_of_its_config_and_says_it_waits(controller, apps):
    c, seen = controller
    assert apps.opened == ["notes"]
    assert c.snapshot.state == IDLE and c.snapshot.app == "notes"
    assert "no application matching 'notes'" in c.snapshot.message
    assert c._tap is not None and c._tap.source.info.id == "app:notes"


def test_choosing_an_app_and_everything_again_while_idle(controller, apps):
    c, seen = controller
    apps.playing = [MUSIC, CHROMIUM]
    c.choose_app("Chromium").wait(5)
    snap = c.snapshot
    assert snap.state == IDLE and snap.app == "Chromium"
    assert snap.message == "now recording 'Chromium' only (Chromium (app))"
    assert c._tap is not None and c._tap.source.info.id == "app:chromium"
    c.choose_app("").wait(5)
    snap = c.snapshot
    assert snap.app == "" and snap.message.startswith("now recording everything the output plays")
    assert c._tap is not None and c._tap.source.info.id == "fake.monitor"
    assert apps.opened == ["notes", "Chromium"]
    # A capture after the choice records the whole output: the burst is there.
    c.post("start").wait(5)
    time.sleep(1.2)
    c.post("stop").wait(10)
    wait_for(lambda: c.snapshot.saved is not None)
    assert c.snapshot.saved.bounds is not None


def test_no_choice_while_a_capture_runs(controller, apps):
    c, seen = controller
    c.post("start").wait(5)
    assert c.snapshot.state == RECORDING
    c.choose_app("").wait(5)
    assert c.snapshot.state == RECORDING and c.snapshot.app == "notes"
    c.post("stop").wait(10)
    assert c.snapshot.state == IDLE and c.snapshot.app == "notes"
    assert apps.opened == ["notes"]


def test_an_explicit_device_records_the_whole_output(apps, tmp_path):
    cfg = Config(capture=CaptureConfig(app="notes"), output=OutputConfig(dir=str(tmp_path)))
    assert Controller(cfg, device="fake").app == ""
    assert Controller(cfg).app == "notes"
    assert Controller(cfg, app="").app == ""


# ---------------------------------------------------------------- the menu


def _record_from(snap, apps_playing, why=""):
    from loopcap.app.menu import RECORD_FROM, menu_entries

    chosen: list[str] = []
    entries = menu_entries(
        snap,
        lambda name: None,
        lambda: None,  # type: ignore[arg-type,return-value]
        None,  # type: ignore[arg-type]
        lambda: None,
        choose_app=chosen.append,
        apps=lambda: (apps_playing, why),
    )
    (sub,) = [e for e in entries if e.label == RECORD_FROM]
    return sub.children, chosen


def _shown(children):
    return [(e.label, e.checked, e.enabled) for e in children if not e.separator]


def test_record_from_lists_the_apps_playing_and_everything(apps):
    children, chosen = _record_from(Snapshot(IDLE), [MUSIC, CHROMIUM, CHROMIUM])
    assert _shown(children) == [
        ("Everything", True, True),
        ("music", False, True),
        ("Chromium", False, True),
    ]
    children[3].action()
    children[0].action()
    assert chosen == ["Chromium", ""]


def test_record_from_checks_the_app_recorded(apps):
    children, _ = _record_from(Snapshot(IDLE, app="chrom"), [MUSIC, CHROMIUM])
    assert _shown(children) == [
        ("Everything", False, True),
        ("music", False, True),
        ("Chromium", True, True),
    ]
    # An app chosen that plays nothing now is still shown, checked.
    children, _ = _record_from(Snapshot(IDLE, app="notes"), [MUSIC])
    assert _shown(children)[-1] == ("notes (not playing now)", True, False)


def test_record_from_is_greyed_out_while_recording(apps):
    children, _ = _record_from(Snapshot(RECORDING, started=time.monotonic()), [MUSIC])
    assert [enabled for _, _, enabled in _shown(children)] == [False, False]


def test_record_from_says_why_there_is_nothing_to_choose(apps):
    children, _ = _record_from(Snapshot(IDLE), [], "this system records the whole output only")
    assert _shown(children)[-1] == ("(this system records the whole output only)", None, False)
    children, _ = _record_from(Snapshot(IDLE), [])
    assert _shown(children)[-1] == ("(no application is playing now)", None, False)


def test_the_title_says_which_app_is_recorded():
    from loopcap.app.menu import status_title

    assert status_title(Snapshot(IDLE, app="chromium")) == "loopcap: idle (chromium only)"
    assert status_title(Snapshot(IDLE)) == "loopcap: idle"


def test_apps_playing_never_raises(apps, monkeypatch):
    from loopcap.app.apps import apps_playing

    apps.playing = [NOTES]
    assert apps_playing() == ([NOTES], "")
    apps.supported = (False, "this system records the whole output only")
    assert apps_playing() == ([], "this system records the whole output only")
    apps.supported = (True, "")

    def gone():
        raise DeviceError("no sound server is running")

    monkeypatch.setattr(device, "list_apps", gone)
    assert apps_playing() == ([], "no sound server is running")


# ---------------------------------------------------------------- doctor


def test_doctor_lists_the_apps_and_the_config_s_app(apps):
    from loopcap.app.doctor import FAIL, OK, WARN, app_lines

    lines = app_lines("", (True, ""), [MUSIC, CHROMIUM])
    assert lines == [
        (
            OK,
            "applications playing: music (paplay, pid 101, 1 stream (3) on speakers); "
            "Chromium (chromium, pid 200, 1 stream (9) on speakers)",
        )
    ]
    assert app_lines("chrom", (True, ""), [CHROMIUM])[-1] == (
        OK,
        "[capture] app = 'chrom': records Chromium only",
    )
    verdict, text = app_lines("notes", (True, ""), [MUSIC])[-1]
    assert verdict == WARN and "silence until it plays" in text
    assert app_lines("", (True, ""), None, "no server")[0][0] == WARN
    assert app_lines("", (False, "this system records the whole output only"), None) == [
        (OK, "per-app capture: not here: this system records the whole output only")
    ]
    assert app_lines("notes", (False, "whole output only"), None)[0][0] == FAIL
