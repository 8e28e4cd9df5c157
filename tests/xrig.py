"""X display helpers for the desktop app's system tests: a private X server, a
system tray, screenshots, real key presses and clicks.

Nothing here touches the display of the person running the tests: every program
is started with ``DISPLAY`` pointing at a private Xvfb server on a display
number nobody uses, and that server is stopped at the end.

Parts:

* :class:`XDisplay` -- ``Xvfb :N -screen 0 640x480x24 -nolisten tcp -noreset`` on a free
  display number, optionally with a system tray (``trayer``, docked 200x32 in
  the top-right corner, white-tinted, opaque), ``env()`` for subprocesses.
* Screenshots: :meth:`XDisplay.screenshot` (ImageMagick ``import -window root``),
  :func:`tray_crop`, :func:`icon_colour` (the dominant colour of the icon in the
  tray area), :func:`icon_box` (where the icon is, to click it),
  :func:`nearest_state`.
* Input: :meth:`XDisplay.key` (``xdotool key``), :meth:`XDisplay.click`
  (``xdotool mousemove`` + ``click``).
* :func:`wait_icon` -- until the tray icon shows a state, else fail the test
  with the app's log.
* :data:`PANELS` -- trayer's options for a light and a dark panel (the README's
  pictures: ``shotrig.py``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

import rig  # noqa: E402

WIDTH, HEIGHT = 640, 480
TRAY_W, TRAY_H = 200, 32
#: The tray area: top-right corner, (left, top, right, bottom).
TRAY_BOX = (WIDTH - TRAY_W, 0, WIDTH, TRAY_H)
TRAY_SELECTION = "_NET_SYSTEM_TRAY_S0"
#: trayer's background options by panel: ``None`` its default (opaque, GTK's
#: window colour, (220, 218, 213) here); a tint over the (black) root window
#: with no transparency left: a light or a dark panel.
PANELS: dict[str | None, list[str]] = {
    None: ["--transparent", "false", "--tint", "0xffffff"],
    "light": ["--transparent", "true", "--alpha", "0", "--tint", "0xf0f0f0"],
    "dark": ["--transparent", "true", "--alpha", "0", "--tint", "0x303030"],
}
#: The app's toggle hotkey as the tests configure it, and the keys that press it.
TOGGLE_HOTKEY = "<ctrl>+<alt>+r"
TOGGLE_KEY = "ctrl+alt+r"

#: The icon's colour per state, as loopcap draws it (loopcap/app/icons.py).
STATE_COLOURS = {
    "idle": (128, 128, 128),
    "recording": (230, 40, 40),
    "saving": (245, 170, 20),
    "error": (90, 40, 140),
    "armed": (30, 120, 230),
}


class XError(RuntimeError):
    pass


# --------------------------------------------------------------------------------------
# The private X server and its tray
# --------------------------------------------------------------------------------------


def _display_taken(n: int) -> bool:
    return Path(f"/tmp/.X{n}-lock").exists() or Path(f"/tmp/.X11-unix/X{n}").exists()


def _free_display_numbers(first: int = 90, last: int = 400):
    for n in range(first, last):
        if not _display_taken(n):
            yield n


class XDisplay:
    """A private Xvfb server, with or without a system tray.

    Use as a context manager, or :meth:`start` / :meth:`stop`::

        with XDisplay(tray=True) as x:
            subprocess.run(["xdotool", "key", "ctrl+alt+r"], env={**os.environ, **x.env()})
    """

    READY_TIMEOUT_S = 10.0

    def __init__(self, tray: bool = True, panel: str | None = None) -> None:
        self.want_tray = tray
        self.panel_args = PANELS[panel]
        self.number: int | None = None
        self.xvfb: subprocess.Popen | None = None
        self.trayer: subprocess.Popen | None = None
        self.dir = Path(tempfile.mkdtemp(prefix="loopcap-x-"))

    # -- environment -------------------------------------------------------------------

    @property
    def display(self) -> str:
        assert self.number is not None, "start() first"
        return f":{self.number}"

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """``base`` (default ``os.environ``) with DISPLAY pointing at this server only."""
        env = dict(os.environ if base is None else base)
        env.pop("WAYLAND_DISPLAY", None)
        env.pop("XAUTHORITY", None)
        env["DISPLAY"] = self.display
        env["XDG_SESSION_TYPE"] = "x11"
        return env

    # -- life cycle --------------------------------------------------------------------

    def start(self) -> XDisplay:
        rig.require("Xvfb")
        if self.want_tray:
            rig.require("trayer")
        last_error = ""
        for n in _free_display_numbers():
            log = open(self.dir / f"xvfb-{n}.log", "wb")
            proc = subprocess.Popen(
                # -noreset: else the server resets whenever its last client
                # leaves, and a client connecting at that moment is refused.
                ["Xvfb", f":{n}", *f"-screen 0 {WIDTH}x{HEIGHT}x24 -nolisten tcp -noreset".split()],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            log.close()
            self.number, self.xvfb = n, proc
            if self._wait_ready(proc):
                break
            last_error = (self.dir / f"xvfb-{n}.log").read_text(errors="replace")[-2000:]
            self._kill(proc)
            self.number, self.xvfb = None, None
            if "server already active" not in last_error and "lock" not in last_error.lower():
                raise XError(f"Xvfb :{n} did not start:\n{last_error}")
        else:
            raise XError(f"no free X display number; last Xvfb said:\n{last_error}")
        if self.want_tray:
            try:
                self.start_tray()
            except BaseException:
                self.stop()
                raise
        return self

    def _wait_ready(self, proc: subprocess.Popen) -> bool:
        """True once our Xvfb answers; False if it exits (the number is taken)."""
        deadline = time.monotonic() + self.READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            # The lock file names the owner: another server on the same number
            # must not be mistaken for ours.
            try:
                owner = int(Path(f"/tmp/.X{self.number}-lock").read_text().strip())
            except (OSError, ValueError):
                owner = None
            if owner == proc.pid and self._connects():
                return True
            time.sleep(0.05)
        return False

    def _connects(self) -> bool:
        try:
            from Xlib import display
        except ImportError:  # fall back on a program
            done = subprocess.run(
                ["xdotool", "getdisplaygeometry"], env=self.env(), capture_output=True, timeout=5
            )
            return done.returncode == 0
        try:
            d = display.Display(self.display)
        except Exception:
            return False
        d.close()
        return True

    def tray_owner(self) -> int:
        """The window id owning the system tray selection (0: no tray)."""
        from Xlib import X, display

        d = display.Display(self.display)
        try:
            owner = d.get_selection_owner(d.intern_atom(TRAY_SELECTION))
            return 0 if owner == X.NONE else owner.id
        finally:
            d.close()

    def start_tray(self) -> None:
        """Start trayer and wait until it owns the system tray selection."""
        rig.require("trayer")
        if self.tray_running:
            return
        log = open(self.dir / "trayer.log", "ab")
        self.trayer = subprocess.Popen(
            [
                "trayer",
                *f"--edge top --align right --widthtype pixel --width {TRAY_W}".split(),
                *f"--heighttype pixel --height {TRAY_H}".split(),
                *self.panel_args,
            ],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + self.READY_TIMEOUT_S
        while not self.tray_owner():
            if self.trayer.poll() is not None or time.monotonic() > deadline:
                text = (self.dir / "trayer.log").read_text(errors="replace")[-2000:]
                self.stop_tray()
                raise XError(f"trayer did not take the system tray:\n{text}")
            time.sleep(0.05)

    @property
    def tray_running(self) -> bool:
        return self.trayer is not None and self.trayer.poll() is None

    def stop_tray(self) -> None:
        if self.trayer is not None:
            self._kill(self.trayer, signal.SIGTERM)
            self.trayer = None
        deadline = time.monotonic() + 5
        while self.xvfb is not None and self.tray_owner() and time.monotonic() < deadline:
            time.sleep(0.05)

    def ensure_tray(self) -> None:
        """Bring the tray back if it is gone (a test stopped it, or it crashed)."""
        if self.want_tray and not (self.tray_running and self.tray_owner()):
            self.stop_tray()
            self.start_tray()

    @staticmethod
    def _kill(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def stop(self) -> None:
        if self.trayer is not None:
            self._kill(self.trayer)
            self.trayer = None
        if self.xvfb is not None:
            self._kill(self.xvfb)
            self.xvfb = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> XDisplay:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- screen and input --------------------------------------------------------------

    def screenshot(self, path) -> Path:
        """The whole screen as a PNG file (ImageMagick ``import -window root``)."""
        rig.require("import")
        path = Path(path)
        done = subprocess.run(
            ["import", "-window", "root", str(path)],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=10,
        )
        if done.returncode != 0 or not path.exists():
            raise XError(f"import -window root failed: {done.stderr.strip()}")
        return path

    def key(self, combo: str) -> None:
        """Press and release a key combination for real (XTEST), e.g. ``ctrl+alt+r``."""
        rig.require("xdotool")
        done = subprocess.run(
            ["xdotool", "key", combo],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=10,
        )
        if done.returncode != 0:
            raise XError(f"xdotool key {combo} failed: {done.stderr.strip()}")

    def click(self, x: int, y: int, button: int = 1) -> None:
        """Move the pointer to (x, y) and click."""
        rig.require("xdotool")
        done = subprocess.run(
            # No --sync: it waits for a motion event, which never comes when
            # the pointer lands on an embedded tray icon here.
            ["xdotool", "mousemove", str(x), str(y), "sleep", "0.1", "click", str(button)],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=10,
        )
        if done.returncode != 0:
            raise XError(f"xdotool click at {x},{y} failed: {done.stderr.strip()}")

    def wait_icon(self, state: str, shots_dir, timeout: float = 8.0, tag: str = "shot"):
        """Take screenshots until the tray icon shows ``state``'s colour.

        Returns ``(ok, png, colour)``: whether it did within ``timeout``, the last
        screenshot and the icon colour found in it (None: no icon).
        """
        shots_dir = Path(shots_dir)
        deadline = time.monotonic() + timeout
        i = 0
        while True:
            png = self.screenshot(shots_dir / f"{tag}-{i:03d}.png")
            colour = icon_colour(png)
            if colour is not None and nearest_state(colour) == state:
                return True, png, colour
            if time.monotonic() > deadline:
                return False, png, colour
            i += 1
            time.sleep(0.1)


def wait_icon(x: XDisplay, state: str, shots: Path, app: rig.Loopcap, timeout: float = 8.0):
    """The screenshot in which the tray icon shows ``state``'s colour; if it does
    not within ``timeout``, fail the test with ``app``'s log."""
    ok, png, colour = x.wait_icon(state, shots, timeout=timeout, tag=state)
    if not ok:
        app.fail(
            f"the tray icon is not {state} {STATE_COLOURS[state]} within {timeout} s: "
            f"icon colour {colour} in {png}"
        )
    return png


# --------------------------------------------------------------------------------------
# Reading screenshots
# --------------------------------------------------------------------------------------


def tray_crop(png):
    """The tray area (top-right 200x32) of a screenshot, as an RGB Pillow image."""
    from PIL import Image

    with Image.open(png) as im:
        return im.convert("RGB").crop(TRAY_BOX)


def _icon_pixels(img) -> tuple[tuple[int, int, int], list]:
    """(background colour, [(x, y, rgb)] of the pixels that are not background)."""
    px = img.load()
    w, h = img.size
    counts: dict[tuple[int, int, int], int] = {}
    for y in range(h):
        for x in range(w):
            counts[px[x, y]] = counts.get(px[x, y], 0) + 1
    background = max(counts, key=counts.get)
    out = []
    for y in range(h):
        for x in range(w):
            c = px[x, y]
            # The tray's own colour, and black: pystray's Xorg backend draws the
            # icon's transparent corners black.
            if _close(c, background, 12) or max(c) < 24:
                continue
            out.append((x, y, c))
    return background, out


def _close(a, b, tol: int) -> bool:
    return all(abs(int(p) - int(q)) <= tol for p, q in zip(a, b, strict=True))


def icon_colour(png, min_pixels: int = 40) -> tuple[int, int, int] | None:
    """The icon's dominant colour in the tray area, or None if no icon is there.

    The most frequent colour among pixels that are neither the tray's background
    (its most frequent colour) nor black; anti-aliased edges are too few to win.
    """
    _, pixels = _icon_pixels(tray_crop(png))
    if len(pixels) < min_pixels:
        return None
    counts: dict[tuple[int, int, int], int] = {}
    for _, _, c in pixels:
        counts[c] = counts.get(c, 0) + 1
    colour = max(counts, key=counts.get)
    return colour if counts[colour] >= min_pixels else None


def icon_box(png) -> tuple[int, int, int, int] | None:
    """Screen coordinates (left, top, right, bottom) of the icon in the tray area."""
    _, pixels = _icon_pixels(tray_crop(png))
    if not pixels:
        return None
    xs = [p[0] for p in pixels]
    ys = [p[1] for p in pixels]
    left, top = TRAY_BOX[0], TRAY_BOX[1]
    return left + min(xs), top + min(ys), left + max(xs) + 1, top + max(ys) + 1


def nearest_state(colour, tol: int = 30) -> str | None:
    """The state whose icon colour ``colour`` is (within ``tol`` per channel), or None."""
    for state, ref in STATE_COLOURS.items():
        if _close(colour, ref, tol):
            return state
    return None
