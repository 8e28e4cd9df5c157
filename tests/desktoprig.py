"""Real desktop parts on a private X display and session bus, for the pictures
and their tests: a notification server that draws (Debian's ``dunst``) and a
StatusNotifierItem host that draws its items and their menus (Debian's
``xfce4-panel`` with its "Status Tray" plugin, which is also the
``org.kde.StatusNotifierWatcher``).

Neither touches the user's desktop: each runs with ``DISPLAY`` on a private
Xvfb (:class:`xrig.XDisplay`), ``DBUS_SESSION_BUS_ADDRESS`` on a private
``dbus-daemon`` (:class:`dbusrig.PrivateBus`) and every XDG folder inside its
own temporary folder.

* :class:`Dunst` -- ``dunst -config FILE``: notifications drawn top right,
  light frame on a dark body; :meth:`Dunst.history` reads
  what it showed (``dunstctl history``), :meth:`Dunst.displayed` how many are
  on screen (``dunstctl count displayed``).
* :class:`XfcePanel` -- ``xfce4-panel --disable-wm-check`` with one panel
  across the top (:data:`PANEL_H` high) holding only the Status Tray plugin,
  configured through xfconf (its ``xfconfd`` started here, with this folder as
  its config home: a daemon the bus activated would read the caller's);
  :meth:`XfcePanel.items` reads the watcher's ``RegisteredStatusNotifierItems``.
* :func:`mapped_windows` -- the viewable top-level windows (GTK's menus are
  override-redirect windows of their own: :func:`new_popup` finds one).

Lifecycle: use each as a context manager (``with Dunst(x, bus) as d``); stop
kills what was started, by its process id, and removes the folder.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from baserig import require

__all__ = [
    "DUNST_WIDTH",
    "DesktopPartError",
    "PANEL_H",
    "Dunst",
    "XfcePanel",
    "mapped_windows",
    "new_popup",
]

#: dunst's notification width and its distance from the screen's top right
#: corner, in pixels (its window is found by :func:`new_popup`).
DUNST_WIDTH, DUNST_OFFSET = 400, 8
#: The panel's height in pixels (xfce4-panel's ``size``).
PANEL_H = 32

DUNSTRC = f"""\
[global]
    monitor = 0
    follow = none
    width = {DUNST_WIDTH}
    height = 150
    origin = top-right
    offset = {DUNST_OFFSET}x{DUNST_OFFSET}
    padding = 10
    horizontal_padding = 12
    frame_width = 2
    frame_color = "#8fa1b3"
    separator_color = frame
    font = DejaVu Sans 10
    markup = full
    format = "<b>%s</b>\\n%b"
    alignment = left
    word_wrap = yes
    ellipsize = middle
    icon_position = left
    min_icon_size = 32
    max_icon_size = 48
    show_indicators = no
    history_length = 20
    corner_radius = 0
    icon_path = {{icon_path}}
    mouse_left_click = do_action, close_current
[urgency_low]
    background = "#2b303b"
    foreground = "#e6e6e6"
    timeout = 0
[urgency_normal]
    background = "#2b303b"
    foreground = "#e6e6e6"
    timeout = 0
[urgency_critical]
    background = "#2b303b"
    foreground = "#ffffff"
    frame_color = "#d08770"
    timeout = 0
"""

#: xfce4-panel's configuration: one panel along the top edge, the whole width,
#: with the Status Tray plugin alone in it (``systray``: it hosts
#: StatusNotifierItems and XEmbed icons, and is the watcher).
PANEL_XML = f"""\
<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-panel" version="1.0">
  <property name="configver" type="int" value="2"/>
  <property name="panels" type="array">
    <value type="int" value="1"/>
    <property name="panel-1" type="empty">
      <property name="position" type="string" value="p=6;x=0;y=0"/>
      <property name="length" type="uint" value="100"/>
      <property name="position-locked" type="bool" value="true"/>
      <property name="size" type="uint" value="{PANEL_H}"/>
      <property name="plugin-ids" type="array">
        <value type="int" value="1"/>
      </property>
    </property>
  </property>
  <property name="plugins" type="empty">
    <property name="plugin-1" type="string" value="systray">
      <property name="icon-size" type="int" value="24"/>
      <property name="square-icons" type="bool" value="true"/>
    </property>
  </property>
</channel>
"""


class DesktopPartError(RuntimeError):
    """A desktop part did not start or did not answer (with its log)."""


def _private_dirs(folder: Path) -> dict[str, str]:
    dirs = {
        "HOME": folder / "home",
        "XDG_CONFIG_HOME": folder / "config",
        "XDG_CACHE_HOME": folder / "cache",
        "XDG_DATA_HOME": folder / "data",
        "XDG_STATE_HOME": folder / "state",
        "XDG_RUNTIME_DIR": folder / "run",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return {name: str(path) for name, path in dirs.items()}


class _Part:
    """A process (or a few) of a desktop part, started with a private environment."""

    NAME = "part"

    def __init__(self, xdisplay, bus) -> None:
        self.x = xdisplay
        self.bus = bus
        self.folder = Path(tempfile.mkdtemp(prefix=f"loopcap-{self.NAME}-"))
        self.procs: list[subprocess.Popen] = []
        env = bus.env(xdisplay.env())
        env.update(_private_dirs(self.folder))
        # No accessibility bus (GTK would start one per process and linger).
        env.update(NO_AT_BRIDGE="1", GTK_A11Y="none")
        env.pop("SESSION_MANAGER", None)
        self.env = env

    def _spawn(self, argv: list[str], log: str) -> subprocess.Popen:
        with open(self.folder / log, "ab") as out:
            proc = subprocess.Popen(
                argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        try:
            return (self.folder / name).read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"

    def _bus_names(self) -> list[str]:
        done = subprocess.run(
            [
                "dbus-send",
                f"--bus={self.bus.address}",
                "--print-reply=literal",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.ListNames",
            ],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return done.stdout.split()

    def _wait_name(self, name: str, timeout: float, log: str) -> None:
        deadline = time.monotonic() + timeout
        while name not in self._bus_names():
            dead = [p for p in self.procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                self.stop()
                raise DesktopPartError(
                    f"{self.NAME}: {name} not on the bus after {timeout} s:\n{self.log(log)}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        self.procs.clear()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Dunst(_Part):
    """dunst 1.9 drawing notifications on the private display (see module doc)."""

    NAME = "dunst"

    def __init__(self, xdisplay, bus, icon_dirs=()) -> None:
        super().__init__(xdisplay, bus)
        #: Where dunst looks up a notification's named icon (an app installs
        #: its icon in its own data folder, which this dunst does not search).
        self.icon_dirs = [str(d) for d in icon_dirs]

    def start(self) -> Dunst:
        require("dunst")
        require("dunstctl")
        require("dbus-send")
        rc = self.folder / "dunstrc"
        rc.write_text(DUNSTRC.replace("{icon_path}", ":".join(self.icon_dirs)), encoding="utf-8")
        self._spawn(["dunst", "-config", str(rc)], "dunst.log")
        self._wait_name("org.freedesktop.Notifications", 10, "dunst.log")
        return self

    def __enter__(self) -> Dunst:
        return self.start()

    def _ctl(self, *args: str) -> str:
        done = subprocess.run(
            ["dunstctl", *args], env=self.env, capture_output=True, text=True, timeout=10
        )
        if done.returncode != 0:
            raise DesktopPartError(f"dunstctl {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def displayed(self) -> int:
        """How many notifications dunst shows now."""
        return int(self._ctl("count", "displayed").strip())

    def history(self) -> list[dict[str, str]]:
        """The notifications dunst has closed, newest first: [{"appname",
        "summary", "body"}] (``dunstctl history``; a notification enters it
        when it is closed, :meth:`close_all`)."""
        data = json.loads(self._ctl("history"))
        out = []
        for entry in data.get("data", [[]])[0]:
            out.append(
                {
                    key: str(entry.get(key, {}).get("data", ""))
                    for key in ("appname", "summary", "body")
                }
            )
        return out

    def close_all(self) -> None:
        self._ctl("close-all")


class XfcePanel(_Part):
    """xfce4-panel with its Status Tray plugin as the StatusNotifierItem host
    (see module doc).  ``watcher`` is the bus name a loopcap on ``bus`` finds."""

    NAME = "xfce4-panel"
    WATCHER = "org.kde.StatusNotifierWatcher"

    def start(self) -> XfcePanel:
        require("xfce4-panel")
        require("dbus-send")
        channel = Path(self.env["XDG_CONFIG_HOME"]) / "xfce4" / "xfconf" / "xfce-perchannel-xml"
        channel.mkdir(parents=True)
        (channel / "xfce4-panel.xml").write_text(PANEL_XML, encoding="utf-8")
        # xfconfd first, with this environment: activated by the bus it would
        # inherit dbus-daemon's, and read the caller's configuration folder.
        self._spawn([_xfconfd()], "xfconfd.log")
        self._wait_name("org.xfce.Xfconf", 10, "xfconfd.log")
        # --disable-wm-check: Xvfb has no window manager, and the panel would
        # wait for one before it loads its plugins.
        self._spawn(["xfce4-panel", "--disable-wm-check"], "panel.log")
        self._wait_name(self.WATCHER, 20, "panel.log")
        return self

    def __enter__(self) -> XfcePanel:
        return self.start()

    def items(self) -> list[str]:
        """The watcher's RegisteredStatusNotifierItems (``bus-name/object-path``)."""
        done = subprocess.run(
            [
                "dbus-send",
                f"--bus={self.bus.address}",
                "--print-reply=literal",
                f"--dest={self.WATCHER}",
                "/StatusNotifierWatcher",
                "org.freedesktop.DBus.Properties.Get",
                f"string:{self.WATCHER}",
                "string:RegisteredStatusNotifierItems",
            ],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if done.returncode != 0:
            raise DesktopPartError(f"the watcher did not answer: {done.stderr.strip()}")
        words = done.stdout.replace("variant", " ").replace("array", " ").split()
        return [w for w in words if "/" in w or w.startswith(":")]


def _xfconfd() -> str:
    """xfconfd's path, from its D-Bus service file (it lives in a libexec
    folder that depends on the architecture)."""
    for base in ("/usr/share/dbus-1/services", "/usr/local/share/dbus-1/services"):
        service = Path(base) / "org.xfce.Xfconf.service"
        if service.exists():
            for line in service.read_text().splitlines():
                if line.startswith("Exec="):
                    return line[len("Exec=") :].split()[0]
    require("xfconfd")  # fails the test: xfconf is not installed
    raise AssertionError("unreachable")


def mapped_windows(display: str) -> dict[int, tuple[int, int, int, int, bool]]:
    """The viewable children of the root window: id -> (left, top, right,
    bottom, override-redirect)."""
    from Xlib import X
    from Xlib import display as xdisplay

    d = xdisplay.Display(display)
    try:
        out = {}
        for window in d.screen().root.query_tree().children:
            try:
                attrs = window.get_attributes()
                if attrs.map_state != X.IsViewable:
                    continue
                g = window.get_geometry()
            except Exception:  # gone meanwhile
                continue
            out[window.id] = (
                g.x,
                g.y,
                g.x + g.width,
                g.y + g.height,
                bool(attrs.override_redirect),
            )
        return out
    finally:
        d.close()


def new_popup(
    display: str, before: dict[int, tuple[int, int, int, int, bool]], timeout: float = 5.0
) -> tuple[int, int, int, int] | None:
    """The box of an override-redirect window (a menu) mapped since ``before``
    (:func:`mapped_windows`), the largest if several; None after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        now = mapped_windows(display)
        fresh = [
            box[:4]
            for wid, box in now.items()
            if box[4] and wid not in before and (box[2] - box[0]) * (box[3] - box[1]) > 400
        ]
        if fresh:
            return max(fresh, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
        if time.monotonic() > deadline:
            return None
        time.sleep(0.1)
