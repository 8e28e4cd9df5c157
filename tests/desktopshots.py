"""The README's pictures of the app on a desktop's own services:
``docs/menu.png`` (the tray's menu as a real StatusNotifierItem host draws
it, "Recent captures" open) and ``docs/notify.png`` (the notification of a
saved note as a real notification server draws it).

:func:`desktop_session` runs the app on a private Xvfb with no XEmbed tray,
a private session bus, xfce4-panel's Status Tray (the watcher and the host)
and dunst (:mod:`desktoprig`); :class:`DesktopSession` opens the item's menu
with a right click (xdotool), saves a note, and finds the windows the host
and the server drew.  The tests of these pictures use the same steps
(``tests/system/test_pictures.py``).  ``scripts/screenshots`` runs
``python tests/desktopshots.py MENU_OUT NOTIFY_OUT``.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

import desktoprig  # noqa: E402
import rig  # noqa: E402
from dbusrig import PrivateBus  # noqa: E402
from shotrig import app_config, play_voice, private_runtime  # noqa: E402
from xrig import XDisplay  # noqa: E402

__all__ = [
    "RECENT_ROW",
    "DesktopSession",
    "desktop_session",
    "make_desktop_pngs",
    "menu_picture",
    "menu_rows",
]

#: The row of "Recent captures" in the tray's menu (loopcap/app/menu.py):
#: Start capture, Capture the next sound (arm), Record from, Open captures
#: folder, Recent captures.
RECENT_ROW = 4


class DesktopSession:
    """The app on a private bus with a real StatusNotifierItem host and
    notification server (made by :func:`desktop_session`): ``x`` the display,
    ``panel`` (:class:`desktoprig.XfcePanel`), ``dunst``
    (:class:`desktoprig.Dunst`), ``app``, ``env``, ``out`` (its captures
    folder), ``work`` (a folder for screenshots), ``pulse``."""

    def __init__(self, x, panel, dunst, app, out: Path, work: Path, pulse) -> None:
        self.x, self.panel, self.dunst, self.app = x, panel, dunst, app
        self.env, self.out, self.work, self.pulse = app.env, out, work, pulse

    def item_box(self, png) -> tuple[int, int, int, int] | None:
        """Screen box of the item's icon in the panel (the pixels of the
        panel's strip that are not its background colour), or None."""
        from PIL import Image

        with Image.open(png) as im:
            strip = im.convert("RGB").crop((0, 0, 640, desktoprig.PANEL_H - 1))
        counts = strip.getcolors(640 * desktoprig.PANEL_H) or []
        background = max(counts)[1]
        px = strip.load()
        hits = [
            (cx, cy)
            for cy in range(strip.height)
            for cx in range(strip.width)
            if max(abs(a - b) for a, b in zip(px[cx, cy], background, strict=True)) > 24
        ]
        if len(hits) < 40:
            return None
        xs, ys = [h[0] for h in hits], [h[1] for h in hits]
        return min(xs), min(ys), max(xs) + 1, max(ys) + 1

    def wait_item(self, timeout: float = 10.0) -> tuple[int, int, int, int]:
        """The icon's box once the panel draws it; fails the test after ``timeout``."""
        deadline = time.monotonic() + timeout
        i = 0
        while True:
            png = self.x.screenshot(self.work / f"panel-{i:03d}.png")
            box = self.item_box(png)
            if box is not None:
                return box
            if time.monotonic() > deadline:
                self.app.fail(f"the panel shows no icon within {timeout} s ({png})")
            i += 1
            time.sleep(0.1)

    def open_menu(self) -> tuple[tuple[int, int, int, int], Path]:
        """Right-click the item; (the menu's screen box, a screenshot of it open)."""
        box = self.wait_item()
        before = desktoprig.mapped_windows(self.x.display)
        self.x.click((box[0] + box[2]) // 2, (box[1] + box[3]) // 2, 3)
        menu = desktoprig.new_popup(self.x.display, before)
        if menu is None:
            self.app.fail("no menu opened on a right click on the panel's icon")
        time.sleep(0.5)  # GTK draws the menu after mapping it
        return menu, self.x.screenshot(self.work / "menu-open.png")

    def hover(self, x: int, y: int) -> None:
        """Move the pointer to (x, y) (a submenu opens where it rests)."""
        subprocess.run(
            ["xdotool", "mousemove", str(x), str(y)],
            env=self.x.env(),
            check=True,
            capture_output=True,
            timeout=10,
        )

    def open_submenu(self, menu, png: Path, row: int):
        """Rest the pointer on the ``row``-th entry of the open ``menu`` (its
        screenshot ``png``); (the submenu's screen box, a screenshot)."""
        rows = menu_rows(png, menu)
        top, bottom = rows[row]
        before = desktoprig.mapped_windows(self.x.display)
        self.hover(menu[0] + 60, (top + bottom) // 2)
        sub = desktoprig.new_popup(self.x.display, before)
        if sub is None:
            self.app.fail(f"no submenu opened at the menu's row {row} {rows[row]}")
        time.sleep(0.5)
        return sub, self.x.screenshot(self.work / "submenu-open.png")

    def close_menu(self) -> None:
        self.x.key("Escape")

    def save_a_note(self) -> None:
        """Record the voice sample and stop: a saved note and its notification."""
        rig.ask(self.env, "toggle")
        self.app.wait_state("recording", timeout=5)
        time.sleep(0.3)
        play_voice(self.pulse, 4.0)
        time.sleep(0.3)
        rig.ask(self.env, "toggle")  # answers once saved
        self.app.wait_state("idle", timeout=20)

    def wait_notification(self, before, timeout: float = 10.0):
        """(dunst's window box, a screenshot) once a notification is drawn
        after the windows ``before`` (:func:`desktoprig.mapped_windows`)."""
        deadline = time.monotonic() + timeout
        while self.dunst.displayed() == 0:
            if time.monotonic() > deadline:
                self.app.fail(f"dunst shows no notification within {timeout} s")
            time.sleep(0.05)
        box = desktoprig.new_popup(self.x.display, before, timeout)
        if box is None:
            self.app.fail("dunst counts a notification but no window of it is mapped")
        time.sleep(0.5)  # drawn after it is mapped
        return box, self.x.screenshot(self.work / "notification.png")


@contextlib.contextmanager
def desktop_session(work: Path, pulse) -> Iterator[DesktopSession]:
    """Xvfb with no XEmbed tray, a private session bus, xfce4-panel's Status
    Tray (the watcher and host) and dunst, and the app on them (its SNI tray,
    its notifications through dunst); stopped in reverse at the end."""
    work.mkdir(parents=True, exist_ok=True)
    # The captures in ~/Music/loopcap of the app's private home, as by default:
    # the notification names that folder.
    home = work  # child_env puts HOME at work/home
    config, out = app_config(work, home / "home" / "Music" / "loopcap", app={"notify": True})
    app_icons = home / "home" / ".local" / "share" / "icons" / "hicolor" / "48x48" / "apps"
    with (
        XDisplay(tray=False) as x,
        PrivateBus() as bus,
        desktoprig.XfcePanel(x, bus) as panel,
        desktoprig.Dunst(x, bus, icon_dirs=[app_icons]) as dunst,
    ):
        env = private_runtime(bus.env(rig.child_env(x.env(pulse.env()), home)), work)
        app = rig.Loopcap(["run", "--config", str(config)], env)
        try:
            app.wait_running()
            if "StatusNotifierItem" not in app.stderr:
                app.fail("the app did not choose the StatusNotifierItem tray")
            yield DesktopSession(x, panel, dunst, app, out, work, pulse)
        finally:
            app.send(signal.SIGTERM)
            app.finish(10)


def _save_crop(png: Path, box, out, margin: int = 0, background=(255, 255, 255)) -> Path:
    from PIL import Image

    with Image.open(png) as im:
        crop = im.convert("RGB").crop(box)
    picture = Image.new("RGB", (crop.width + 2 * margin, crop.height + 2 * margin), background)
    picture.paste(crop, (margin, margin))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    picture.save(out, optimize=True)
    return out


def menu_rows(png: Path, menu: tuple[int, int, int, int]) -> list[tuple[int, int]]:
    """The screen rows (top, bottom) of the entries of the open ``menu``:
    bands of rows holding text (pixels much darker than the menu's
    background), top to bottom; a separator's faint line is not text."""
    from PIL import Image

    with Image.open(png) as im:
        grey = im.convert("L").crop(menu)
    px = grey.load()
    background = max(grey.getcolors(grey.width * grey.height) or [(0, 255)])[1]
    inked = [
        any(px[cx, cy] < background - 100 for cx in range(4, grey.width - 4))
        for cy in range(grey.height)
    ]
    bands: list[tuple[int, int]] = []
    for cy, ink in enumerate(inked):
        if ink and (not bands or bands[-1][1] != cy + menu[1] - 1):
            bands.append((cy + menu[1], cy + menu[1]))
        elif ink:
            bands[-1] = (bands[-1][0], cy + menu[1])
    return bands


def menu_picture(png: Path, menus: list[tuple[int, int, int, int]], out) -> Path:
    """The README picture of the menu: the panel's left end and the open
    ``menus`` (a menu and its submenu) under it, on white (the root window
    around them is black)."""
    from PIL import Image

    right = max(m[2] for m in menus) + 12
    bottom = max(m[3] for m in menus) + 12
    with Image.open(png) as im:
        shot = im.convert("RGB")
    picture = Image.new("RGB", (right, bottom), "white")
    picture.paste(shot.crop((0, 0, right, desktoprig.PANEL_H + 1)), (0, 0))
    for menu in menus:
        picture.paste(shot.crop(menu), menu[:2])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    picture.save(out, optimize=True)
    return out


def make_desktop_pngs(menu_out, notify_out) -> tuple[Path, Path]:
    """Run the app with a real SNI host and notification server; write the
    picture of its open menu to ``menu_out`` (after one saved note, so
    "Recent captures" has it) and of the notification of a saved note to
    ``notify_out``."""
    work = Path(tempfile.mkdtemp(prefix="loopcap-"))
    try:
        with rig.PulseServer() as pulse, desktop_session(work, pulse) as s:
            before = desktoprig.mapped_windows(s.x.display)
            s.save_a_note()
            box, png = s.wait_notification(before)
            notify = _save_crop(png, box, notify_out)
            s.dunst.close_all()
            time.sleep(0.3)
            menu, png = s.open_menu()
            # (Not the note's own submenu as well: the 640 px screen has no
            # room for it on the right, and GTK would draw it over the menu.)
            sub, png = s.open_submenu(menu, png, RECENT_ROW)
            shown = menu_picture(png, [menu, sub], menu_out)
            s.close_menu()
        return shown, notify
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3:
        print(*make_desktop_pngs(sys.argv[1], sys.argv[2]), sep="\n")
        sys.exit(0)
    sys.exit(f"usage: {sys.argv[0]} MENU.png NOTIFY.png")
