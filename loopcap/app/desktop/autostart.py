"""Start at login: ``loopcap autostart on|off|status`` and ``[app] start_at_login``.

One backend per system, chosen once by :func:`backend` (there is no
well-kept library for this; each is a few lines of the system's own format):

* Linux and other XDG desktops: an autostart entry,
  ``$XDG_CONFIG_HOME/autostart/<APP_ID>.desktop`` (default ``~/.config``;
  XDG Autostart spec), the app's desktop entry plus
  ``X-GNOME-Autostart-enabled=true``.  An entry with ``Hidden=true`` (how
  desktops' settings switch an entry off) counts as off.
* Windows: the value ``loopcap`` under the per-user Run key,
  ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run`` (winreg, imported
  when used).
* macOS: a LaunchAgent, ``~/Library/LaunchAgents/<APP_ID>.plist`` with
  ``RunAtLoad`` (plistlib); launchd reads it at the next login.

Every backend writes :func:`loopcap.app.desktop.desktop_file.launch_command`.
:func:`apply` makes the entry agree with ``[app] start_at_login``: the app
calls it at every start, so the config has the last word (README, "Start at
login").  :func:`enable` and :func:`disable` are idempotent.  File and
registry work only: any thread; errors are OSError.
"""

from __future__ import annotations

import importlib
import os
import plistlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from loopcap.app.desktop import APP_ID
from loopcap.app.desktop.desktop_file import entry_text, launch_command, write_atomic

__all__ = [
    "Status",
    "Backend",
    "XdgAutostart",
    "WindowsRunKey",
    "LaunchAgent",
    "backend",
    "enable",
    "disable",
    "status",
    "apply",
]

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "loopcap"


@dataclass(frozen=True)
class Status:
    """Whether loopcap starts at login, where that is kept, and the command."""

    enabled: bool
    where: str
    command: str | None = None

    def line(self) -> str:
        if not self.enabled:
            return f"off ({self.where} does not start loopcap)"
        return f"on: {self.where} starts `{self.command}`"


class Backend(Protocol):
    def enable(self, argv: list[str]) -> None: ...
    def disable(self) -> None: ...
    def status(self) -> Status: ...


class XdgAutostart:
    """``<config home>/autostart/<APP_ID>.desktop``."""

    def __init__(self, config_home: Path | None = None) -> None:
        if config_home is None:
            value = os.environ.get("XDG_CONFIG_HOME", "")
            config_home = Path(value) if os.path.isabs(value) else Path.home() / ".config"
        self.path = config_home / "autostart" / f"{APP_ID}.desktop"

    def text(self, argv: list[str]) -> str:
        return entry_text(argv, {"X-GNOME-Autostart-enabled": "true"})

    def enable(self, argv: list[str]) -> None:
        want = self.text(argv)
        try:
            if self.path.read_text(encoding="utf-8") == want:
                return
        except (OSError, UnicodeDecodeError):
            pass
        write_atomic(self.path, want.encode())

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)

    def status(self) -> Status:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return Status(False, str(self.path))
        keys = dict(
            line.split("=", 1) for line in text.splitlines() if "=" in line and line[0] != "#"
        )
        on = (
            keys.get("Hidden", "false").strip() != "true"
            and keys.get("X-GNOME-Autostart-enabled", "true").strip() != "false"
        )
        return Status(on, str(self.path), keys.get("Exec") if on else None)


class WindowsRunKey:
    """The value :data:`RUN_VALUE` under HKCU's Run key.  ``winreg``: the module
    (tests pass a fake; default the real one, imported when used)."""

    def __init__(self, winreg: Any = None) -> None:
        self._winreg = winreg

    @property
    def winreg(self) -> Any:
        if self._winreg is None:
            # Any: mypy on Linux sees winreg's stubs without their Windows names.
            self._winreg = importlib.import_module("winreg")
        return self._winreg

    @property
    def where(self) -> str:
        return f"HKEY_CURRENT_USER\\{RUN_KEY}\\{RUN_VALUE}"

    def enable(self, argv: list[str]) -> None:
        w = self.winreg
        with w.CreateKeyEx(w.HKEY_CURRENT_USER, RUN_KEY, 0, w.KEY_SET_VALUE) as key:
            w.SetValueEx(key, RUN_VALUE, 0, w.REG_SZ, subprocess.list2cmdline(argv))

    def disable(self) -> None:
        w = self.winreg
        try:
            with w.OpenKey(w.HKEY_CURRENT_USER, RUN_KEY, 0, w.KEY_SET_VALUE) as key:
                w.DeleteValue(key, RUN_VALUE)
        except FileNotFoundError:  # no key, or no value: already off
            pass

    def status(self) -> Status:
        w = self.winreg
        try:
            with w.OpenKey(w.HKEY_CURRENT_USER, RUN_KEY, 0, w.KEY_QUERY_VALUE) as key:
                value, _kind = w.QueryValueEx(key, RUN_VALUE)
        except FileNotFoundError:
            return Status(False, self.where)
        return Status(True, self.where, str(value))


class LaunchAgent:
    """``<home>/Library/LaunchAgents/<APP_ID>.plist``."""

    def __init__(self, home: Path | None = None) -> None:
        home = Path.home() if home is None else home
        self.path = home / "Library" / "LaunchAgents" / f"{APP_ID}.plist"

    def plist(self, argv: list[str]) -> bytes:
        return plistlib.dumps(
            {
                "Label": APP_ID,
                "ProgramArguments": list(argv),
                "RunAtLoad": True,
                # Started at login for the user's session; not restarted when it quits.
                "KeepAlive": False,
                "ProcessType": "Interactive",
                "LimitLoadToSessionType": "Aqua",
            }
        )

    def enable(self, argv: list[str]) -> None:
        want = self.plist(argv)
        try:
            if self.path.read_bytes() == want:
                return
        except OSError:
            pass
        write_atomic(self.path, want)

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)

    def status(self) -> Status:
        try:
            data = plistlib.loads(self.path.read_bytes())
        except (OSError, plistlib.InvalidFileException, ValueError):
            return Status(False, str(self.path))
        argv = data.get("ProgramArguments") if isinstance(data, dict) else None
        on = isinstance(argv, list) and not data.get("Disabled", False)
        return Status(on, str(self.path), " ".join(map(str, argv)) if on and argv else None)


def backend(platform: str = sys.platform) -> Backend:
    """The system's start-at-login backend (Windows, macOS, else XDG)."""
    if platform == "win32":
        return WindowsRunKey()
    if platform == "darwin":
        return LaunchAgent()
    return XdgAutostart()


def enable(argv: list[str] | None = None, where: Backend | None = None) -> Status:
    """Start loopcap at login (idempotent).  Raises OSError."""
    b = backend() if where is None else where
    b.enable(argv or launch_command())
    return b.status()


def disable(where: Backend | None = None) -> Status:
    """Do not start loopcap at login (idempotent).  Raises OSError."""
    b = backend() if where is None else where
    b.disable()
    return b.status()


def status(where: Backend | None = None) -> Status:
    return (backend() if where is None else where).status()


def apply(start_at_login: bool, where: Backend | None = None) -> Status:
    """Make the entry agree with ``[app] start_at_login`` (on: written, or
    rewritten when it starts another command; off: removed).  Raises OSError."""
    return enable(where=where) if start_at_login else disable(where=where)
