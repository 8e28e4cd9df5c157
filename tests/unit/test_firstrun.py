"""The first run explains itself once: the summary's lines (pure), the marker
that remembers it, two starts of ``loopcap run --no-tray`` against a new
HOME (the second says nothing), and doctor's closing summary."""

from pathlib import Path

import pytest
from faultrig import private_env
from rig import RUNNING_LINE, Loopcap, ask

from loopcap.app.doctor import FAIL, OK, WARN, closing_lines
from loopcap.app.firstrun import MARKER_NAME, first_start, marker_path, welcome_lines
from loopcap.config import Config, HotkeysConfig, OutputConfig

HEADING = "loopcap's first run"


def config(tmp_path, **hotkeys) -> Config:
    return Config(
        output=OutputConfig(dir=str(tmp_path / "notes")), hotkeys=HotkeysConfig(**hotkeys)
    )


def test_the_lines_say_the_key_the_folder_and_the_menu(tmp_path):
    keys, saved, menu = welcome_lines(config(tmp_path, toggle="<ctrl>+<alt>+n"))
    assert "<ctrl>+<alt>+n" in keys and "toggle" in keys
    assert saved == f"Notes are saved in {tmp_path / 'notes'}."
    assert "menu" in menu and "Click the loopcap icon" in menu


def test_where_keys_are_not_heard_it_says_how_to_bind_one(tmp_path):
    keys, _, _ = welcome_lines(config(tmp_path), hotkeys_heard=False)
    assert "<ctrl>+<alt>+r" not in keys
    assert "desktop shortcut" in keys and "`loopcap toggle`" in keys
    keys, _, _ = welcome_lines(config(tmp_path, toggle=""))
    assert "no key is set" in keys and "`loopcap toggle`" in keys


def test_the_menu_line_follows_the_tray(tmp_path):
    cfg = config(tmp_path)
    plain = welcome_lines(cfg, has_menu=False)[2]
    assert "to start or stop a capture" in plain and "no menu" in plain
    none = welcome_lines(cfg, has_menu=None)[2]
    assert "no tray icon" in none and "`loopcap quit`" in none
    assert len({plain, none, welcome_lines(cfg, has_menu=True)[2]}) == 3


def test_first_start_is_true_once(tmp_path):
    conf = tmp_path / "cfg" / "config.toml"
    marker = tmp_path / "cfg" / MARKER_NAME
    assert first_start(conf, marker) is True
    assert marker.exists()
    assert first_start(conf, marker) is False
    assert first_start(conf, marker) is False


def test_a_config_file_means_not_the_first_start(tmp_path):
    conf = tmp_path / "config.toml"
    conf.write_text("")
    assert first_start(conf, tmp_path / MARKER_NAME) is False
    assert not (tmp_path / MARKER_NAME).exists()


def test_the_marker_lives_in_the_config_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert marker_path() == tmp_path / "loopcap" / MARKER_NAME


@pytest.mark.posix  # the control socket the test quits it through
def test_two_starts_of_the_app_say_it_once(tmp_path):
    env = private_env(tmp_path / "root")
    env["LOOPCAP_BACKEND"] = "fake"
    said = []
    for _ in range(2):
        app = Loopcap(["run", "--no-tray"], env)
        if app.wait_line(RUNNING_LINE, timeout=30) is None:
            app.fail("the app did not start")
        assert ask(env, "quit").get("state") == "quitting"
        assert app.finish(20) == 0
        said.append(app.stderr)
    first, second = said
    assert first.count(HEADING) == 1, first
    music = Path(env["XDG_MUSIC_DIR"]) / "loopcap"
    assert f"Notes are saved in {music}." in first
    # No display here: keys are not heard, and there is no tray.
    assert "bind a desktop shortcut to the command `loopcap toggle`" in first
    assert "no tray icon" in first
    assert HEADING not in second and "Notes are saved" not in second, second
    assert (Path(env["XDG_CONFIG_HOME"]) / "loopcap" / MARKER_NAME).exists()


def test_doctor_ends_with_the_summary_when_all_is_well(tmp_path):
    cfg = config(tmp_path)
    checks = [(OK, "sound server reachable"), (WARN, "tray: no display found")]
    out = closing_lines(cfg, checks, hotkeys_heard=True, has_menu=None)
    assert out[0] == "loopcap can record here."
    assert out[1] == ""
    assert out[3:] == [f"  {line}" for line in welcome_lines(cfg, has_menu=None)]
    failed = closing_lines(cfg, [*checks, (FAIL, "test capture: no device")])
    assert failed == ["loopcap cannot record here yet: fix the FAIL lines above."]
