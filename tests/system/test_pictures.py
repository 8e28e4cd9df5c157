"""The app with a real StatusNotifierItem host and a real notification
server, as the README's pictures show them (``docs/menu.png``,
``docs/notify.png``): Debian's xfce4-panel (its Status Tray plugin is the
watcher and the host, and draws the item's dbusmenu with GTK) and dunst, on a
private Xvfb and session bus (:mod:`desktoprig`,
:func:`desktopshots.desktop_session`).

- The watcher lists loopcap's item; the panel draws its icon (idle grey);
  a right click opens a menu below the panel with one row per entry of
  loopcap's menu, and a click on its first row ("Start capture") starts a
  capture.
- After a saved note dunst shows one notification, drawn (its window holds
  its background and light text), and its history has loopcap's text: the
  saved file's name.
"""

from __future__ import annotations

import time

import desktopshots
import numpy as np
import pytest
import rig
import xrig
from desktoprig import PANEL_H, mapped_windows

from loopcap.app.controller import Snapshot
from loopcap.app.menu import menu_entries

#: dunst's background in the rig's config (desktoprig.DUNSTRC), RGB.
DUNST_BACKGROUND = (0x2B, 0x30, 0x3B)


@pytest.fixture(scope="module")
def session(pulse, tmp_path_factory):
    pulse.start()  # no-op while it runs
    with desktopshots.desktop_session(tmp_path_factory.mktemp("desktop"), pulse) as s:
        yield s


def dominant(png, box, exclude) -> tuple[int, int, int]:
    from PIL import Image

    with Image.open(png) as im:
        crop = im.convert("RGB").crop(box)
    counts = sorted(crop.getcolors(crop.width * crop.height) or [], reverse=True)
    return next(c for _, c in counts if c != exclude)


def test_the_sni_host_shows_the_item_and_its_menu(session):
    s = session
    items = s.panel.items()
    assert any(f"-{s.app.pid}-" in item for item in items), (items, s.app.pid)

    box = s.wait_item()
    png = s.x.screenshot(s.work / "item.png")
    colour = dominant(png, box, exclude=dominant(png, (0, 0, 640, PANEL_H - 1), None))
    print(f"item at {box}, colour {colour}")
    assert xrig.nearest_state(colour) == "idle", colour
    assert box[3] <= PANEL_H, box

    closed = s.x.screenshot(s.work / "menu-closed.png")
    menu, opened = s.open_menu()
    print(f"menu at {menu}")
    assert menu[1] >= PANEL_H - 2 and menu[3] - menu[1] > 100, menu
    from PIL import Image, ImageChops

    with Image.open(closed) as a, Image.open(opened) as b:
        diff = ImageChops.difference(a.convert("RGB").crop(menu), b.convert("RGB").crop(menu))
    changed = int((np.asarray(diff).max(axis=2) > 24).sum())
    area = (menu[2] - menu[0]) * (menu[3] - menu[1])
    assert changed > area // 2, f"the menu's area barely changed: {changed} of {area} pixels"

    # The app's menu, "Record from" included (no app plays in this test).
    entries = menu_entries(
        Snapshot("idle"),
        lambda _: None,
        lambda: s.out,
        s.work / "config.toml",
        lambda: None,
        choose_app=lambda _: None,
        apps=lambda: ([], ""),
    )
    labelled = [e.label for e in entries if not e.separator]
    rows = desktopshots.menu_rows(opened, menu)
    print(f"menu rows {rows}; loopcap's entries {labelled}")
    assert len(rows) == len(labelled), (rows, labelled)

    # The first row is "Start capture": a click on it starts a capture.
    top, bottom = rows[0]
    s.x.click(menu[0] + 60, (top + bottom) // 2)
    s.app.wait_state("recording", timeout=5)
    assert rig.ask(s.env, "toggle")["state"] in ("idle", "saving")
    s.app.wait_state("idle", timeout=20)
    deadline = time.monotonic() + 5
    while s.dunst.displayed():  # that save's notification: not this test's business
        s.dunst.close_all()
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_dunst_draws_the_notification_of_a_saved_note(session):
    s = session
    s.dunst.close_all()
    time.sleep(0.3)
    before = mapped_windows(s.x.display)
    known = set(s.out.glob("*.ogg")) if s.out.exists() else set()
    s.save_a_note()
    (note,) = set(s.out.glob("*.ogg")) - known
    box, png = s.wait_notification(before)
    print(f"notification at {box}")
    assert s.dunst.displayed() == 1

    from PIL import Image

    with Image.open(png) as im:
        pixels = np.asarray(im.convert("RGB").crop(box)).reshape(-1, 3).astype(int)
    body = int((np.abs(pixels - DUNST_BACKGROUND).max(axis=1) < 8).sum())
    text = int((pixels.min(axis=1) > 180).sum())
    print(f"{body} background and {text} text pixels of {len(pixels)}")
    assert body > len(pixels) // 2, "the window is not dunst's drawing"
    assert text > 300, "no text drawn in the notification"

    s.dunst.close_all()
    deadline = time.monotonic() + 5
    while not (history := s.dunst.history()):
        assert time.monotonic() < deadline, "dunst's history is empty"
        time.sleep(0.1)
    latest = history[0]
    print(latest)
    assert latest["appname"] == "loopcap", latest
    assert note.name in latest["summary"] + latest["body"], (note.name, latest)
