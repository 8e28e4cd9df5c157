"""loopcap's desktop entry and icon, installed for the user (Linux, XDG).

The XDG portal names an app by the name of its installed ``.desktop`` file:
since xdg-desktop-portal 1.21 an app outside a sandbox registers that ID
first (``org.freedesktop.host.portal.Registry.Register``), and GNOME 50
refuses an ID without an installed entry (electron/electron#51875).  So
:func:`install` writes ``$XDG_DATA_HOME/applications/<APP_ID>.desktop``
(default ``~/.local/share``) with ``Icon=<APP_ID>``, and the app icon as
``$XDG_DATA_HOME/icons/hicolor/<N>x<N>/apps/<APP_ID>.png`` for every size of
:data:`loopcap.app.icons.APP_SIZES` plus ``scalable/apps/<APP_ID>.svg``.
``loopcap run`` calls :func:`ensure` at every start (so the first start
installs it, and a reinstall into another environment refreshes ``Exec``);
``loopcap install-desktop`` calls :func:`install`.

:func:`launch_command` is the one command line that starts the app, used here,
by the autostart entry (:mod:`loopcap.app.desktop.autostart`) and by the
Windows Run key and macOS LaunchAgent: ``<python> -m loopcap run`` with
the absolute path of the interpreter loopcap is installed in, not the
``loopcap`` script found on PATH: a graphical session's PATH often lacks
``~/.local/bin`` (where pipx puts the script) at login, an absolute
interpreter path needs no PATH at all, and on Windows ``pythonw.exe`` starts
without a console window (``loopcap.exe`` is a console program).

Pure file writing: any thread; a file is replaced atomically (written beside
it, then ``os.replace``), so a crash never leaves half an entry.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from loopcap.app.desktop import APP_ID

__all__ = [
    "Installed",
    "launch_command",
    "exec_line",
    "entry_text",
    "applications_dir",
    "entry_path",
    "install",
    "ensure",
    "write_atomic",
]

NAME = "loopcap"
COMMENT = "Keep the voice notes your computer plays"


@dataclass(frozen=True)
class Installed:
    """What :func:`install` wrote: the entry and the icon files."""

    entry: Path
    icons: tuple[Path, ...]


def launch_command(platform: str = sys.platform) -> list[str]:
    """The argv that starts the desktop app (see the module's docstring for why
    the interpreter and not the ``loopcap`` script)."""
    python = Path(sys.executable)
    if platform == "win32":
        quiet = python.with_name("pythonw.exe")
        if quiet.exists():
            python = quiet
    return [str(python), "-m", "loopcap", "run"]


def _quote_arg(arg: str) -> str:
    """One argument of ``Exec`` (Desktop Entry spec, "The Exec key"): quoted
    when it holds a reserved character, with ``"`` `` ` `` ``$`` ``\\`` escaped
    by a backslash; ``%`` is doubled (field codes)."""
    arg = arg.replace("%", "%%")
    reserved = set(" \t\n\"'\\><~|&;$*?#()`")
    if arg and not (set(arg) & reserved):
        return arg
    inner = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return f'"{inner}"'


def exec_line(argv: list[str]) -> str:
    """``argv`` as an ``Exec=`` value: arguments quoted as the spec says, then
    every backslash doubled (the value is a string, whose escapes come first)."""
    return " ".join(_quote_arg(a) for a in argv).replace("\\", "\\\\")


def entry_text(argv: list[str] | None = None, extra: dict[str, str] | None = None) -> str:
    """The desktop entry's text; ``extra`` keys are appended (autostart's)."""
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.5",
        f"Name={NAME}",
        "GenericName=Voice note recorder",
        f"Comment={COMMENT}",
        f"Exec={exec_line(argv or launch_command())}",
        f"Icon={APP_ID}",
        "Terminal=false",
        "Categories=AudioVideo;Audio;Recorder;",
        "Keywords=voice;note;record;loopback;whatsapp;",
        "StartupNotify=false",
        "X-GNOME-UsesNotifications=true",
    ]
    lines += [f"{k}={v}" for k, v in (extra or {}).items()]
    return "\n".join(lines) + "\n"


def data_home() -> Path:
    """``$XDG_DATA_HOME``, or ``~/.local/share`` when unset or not absolute."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if os.path.isabs(value) else Path.home() / ".local" / "share"


def applications_dir() -> Path:
    return data_home() / "applications"


def entry_path() -> Path:
    """Where the entry goes: ``<applications>/<APP_ID>.desktop``."""
    return applications_dir() / f"{APP_ID}.desktop"


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` (written beside it, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _icon_files() -> dict[Path, bytes]:
    from loopcap.app.icons import APP_SIZES, app_icon_png, svg_text

    hicolor = data_home() / "icons" / "hicolor"
    files = {hicolor / f"{n}x{n}" / "apps" / f"{APP_ID}.png": app_icon_png(n) for n in APP_SIZES}
    files[hicolor / "scalable" / "apps" / f"{APP_ID}.svg"] = svg_text(None).encode()
    return files


def install(argv: list[str] | None = None) -> Installed:
    """Write the entry and the icons (replacing older ones).  Raises OSError."""
    icons = _icon_files()
    for path, data in icons.items():
        write_atomic(path, data)
    entry = entry_path()
    write_atomic(entry, entry_text(argv).encode())
    return Installed(entry, tuple(icons))


def ensure(argv: list[str] | None = None) -> Installed | None:
    """:func:`install` when the entry is missing or starts another command
    (loopcap moved to another environment); None when it is up to date.
    Raises OSError."""
    entry = entry_path()
    want = entry_text(argv)
    try:
        if entry.read_text(encoding="utf-8") == want:
            return None
    except (OSError, UnicodeDecodeError):
        pass
    return install(argv)
