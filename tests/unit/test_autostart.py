"""Start at login and the desktop entry, in a temporary HOME: the XDG entry
for real, the Windows Run key with a fake winreg, the macOS LaunchAgent read
back with plistlib; ``loopcap autostart`` and ``loopcap install-desktop``."""

from __future__ import annotations

import plistlib
import sys
from pathlib import Path

import pytest

from loopcap.app.cli import main
from loopcap.app.desktop import APP_ID, autostart, desktop_file

ARGV = ["/opt/py env/bin/python", "-m", "loopcap", "run"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    return home


def keys(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:])


# ------------------------------------------------------------ Linux: XDG autostart


def test_xdg_on_status_off_idempotent(home):
    b = autostart.XdgAutostart()
    assert b.path == home / "cfg" / "autostart" / f"{APP_ID}.desktop"
    assert not autostart.status(b).enabled
    st = autostart.enable(ARGV, b)
    assert st.enabled and b.path.exists()
    first = b.path.read_bytes()
    mtime = b.path.stat().st_mtime_ns
    autostart.enable(ARGV, b)  # again: the same entry, not rewritten
    assert b.path.read_bytes() == first and b.path.stat().st_mtime_ns == mtime
    k = keys(b.path)
    assert k["Exec"] == '"/opt/py env/bin/python" -m loopcap run'
    assert k["Type"] == "Application" and k["Icon"] == APP_ID
    assert k["X-GNOME-Autostart-enabled"] == "true"
    assert autostart.status(b).command == k["Exec"]
    assert not autostart.disable(b).enabled and not b.path.exists()
    assert not autostart.disable(b).enabled  # again: still off, no error


def test_xdg_config_home_unset_means_dot_config(home, monkeypatch):
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert autostart.XdgAutostart().path == home / ".config" / "autostart" / f"{APP_ID}.desktop"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/ignored")  # the spec: absolute only
    assert autostart.XdgAutostart().path.parent.parent == home / ".config"


def test_xdg_hidden_entry_is_off(home):
    b = autostart.XdgAutostart()
    autostart.enable(ARGV, b)
    b.path.write_text(b.path.read_text() + "Hidden=true\n")
    assert not b.status().enabled
    autostart.enable(ARGV, b)  # turning it on again rewrites the switched-off entry
    assert b.status().enabled


def test_apply_follows_the_config_and_refreshes_the_command(home):
    b = autostart.XdgAutostart()
    assert autostart.apply(True, b).enabled
    b.path.write_text(b.path.read_text().replace("-m loopcap", "-m oldplace"))
    assert "oldplace" not in autostart.apply(True, b).command
    assert not autostart.apply(False, b).enabled and not b.path.exists()


def test_exec_quoting():
    line = desktop_file.exec_line(["/a b/py", "50%", 'say "$x"', "back\\slash"])
    # Spec: quote reserved characters, escape " ` $ \\ inside quotes, double %;
    # then the string escape doubles every backslash.
    assert line == '"/a b/py" 50%% "say \\\\"\\\\$x\\\\"" "back\\\\\\\\slash"'


# ------------------------------------------------------------ Windows: the Run key


class FakeKey:
    def __init__(self, store: dict, path: str) -> None:
        self.store, self.path = store, path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class FakeWinreg:
    """The part of winreg the backend uses, over a dict of key path -> values."""

    HKEY_CURRENT_USER = "HKCU"
    KEY_SET_VALUE, KEY_QUERY_VALUE, REG_SZ = 2, 1, 1

    def __init__(self) -> None:
        self.keys: dict[str, dict[str, tuple[object, int]]] = {}

    def CreateKeyEx(self, root, path, reserved, access):  # noqa: N802
        return FakeKey(self.keys.setdefault(f"{root}\\{path}", {}), path)

    def OpenKey(self, root, path, reserved, access):  # noqa: N802
        if f"{root}\\{path}" not in self.keys:
            raise FileNotFoundError(path)
        return FakeKey(self.keys[f"{root}\\{path}"], path)

    def SetValueEx(self, key, name, reserved, kind, value):  # noqa: N802
        assert kind == self.REG_SZ and isinstance(value, str)
        key.store[name] = (value, kind)

    def QueryValueEx(self, key, name):  # noqa: N802
        if name not in key.store:
            raise FileNotFoundError(name)
        return key.store[name]

    def DeleteValue(self, key, name):  # noqa: N802
        if name not in key.store:
            raise FileNotFoundError(name)
        del key.store[name]


def test_windows_run_key():
    reg = FakeWinreg()
    b = autostart.WindowsRunKey(reg)
    assert not b.status().enabled  # no Run key at all
    b.disable()  # nothing to delete: fine
    argv = [r"C:\Program Files\Python311\pythonw.exe", "-m", "loopcap", "run"]
    assert autostart.enable(argv, b).enabled
    assert autostart.enable(argv, b).enabled
    run = reg.keys[r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run"]
    assert run == {
        "loopcap": (r'"C:\Program Files\Python311\pythonw.exe" -m loopcap run', reg.REG_SZ)
    }
    assert b.status().command == run["loopcap"][0]
    assert not autostart.disable(b).enabled and run == {}
    assert not autostart.disable(b).enabled


def test_windows_launches_pythonw(tmp_path, monkeypatch):
    (tmp_path / "python.exe").write_bytes(b"")
    (tmp_path / "pythonw.exe").write_bytes(b"")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python.exe"))
    assert desktop_file.launch_command("win32")[0] == str(tmp_path / "pythonw.exe")
    assert desktop_file.launch_command("linux")[0] == str(tmp_path / "python.exe")


# ------------------------------------------------------------ macOS: a LaunchAgent


def test_macos_launch_agent(home):
    b = autostart.LaunchAgent()
    assert b.path == home / "Library" / "LaunchAgents" / f"{APP_ID}.plist"
    assert not b.status().enabled
    autostart.enable(ARGV, b)
    autostart.enable(ARGV, b)
    data = plistlib.loads(b.path.read_bytes())
    assert data["Label"] == APP_ID
    assert data["ProgramArguments"] == ARGV
    assert data["RunAtLoad"] is True and data["KeepAlive"] is False
    assert b.status().enabled
    b.path.write_bytes(b"not a plist")
    assert not b.status().enabled
    assert not autostart.disable(b).enabled and not b.path.exists()
    autostart.disable(b)


def test_backend_per_system():
    assert isinstance(autostart.backend("win32"), autostart.WindowsRunKey)
    assert isinstance(autostart.backend("darwin"), autostart.LaunchAgent)
    assert isinstance(autostart.backend("linux"), autostart.XdgAutostart)


# ------------------------------------------------------------ the desktop entry


def test_install_desktop_entry_and_icons(home):
    done = desktop_file.install(ARGV)
    assert done.entry == home / "data" / "applications" / f"{APP_ID}.desktop"
    k = keys(done.entry)
    assert k["Icon"] == APP_ID and k["Name"] == "loopcap"
    assert k["Exec"].startswith('"/opt/py env/bin/python"')
    assert "AudioVideo" in k["Categories"].split(";")
    png = home / "data" / "icons" / "hicolor" / "48x48" / "apps" / f"{APP_ID}.png"
    assert png in done.icons
    from PIL import Image

    with Image.open(png) as im:
        assert im.size == (48, 48)
    assert desktop_file.ensure(ARGV) is None  # up to date: nothing written
    assert desktop_file.ensure(["/elsewhere/python", "-m", "loopcap", "run"]) is not None


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG only")
def test_cli_autostart_and_install_desktop(home, capsys):
    assert main(["autostart", "status"]) == 0
    assert capsys.readouterr().out.startswith("off")
    assert main(["autostart", "on"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("on: ") and "start_at_login = false" in out.err
    assert (home / "cfg" / "autostart" / f"{APP_ID}.desktop").exists()
    assert main(["autostart", "off"]) == 0
    assert capsys.readouterr().out.startswith("off")
    assert main(["install-desktop"]) == 0
    assert (home / "data" / "applications" / f"{APP_ID}.desktop").exists()
