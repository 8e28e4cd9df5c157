"""The tray icon as the XEmbed tray (trayer under Xvfb) shows it: no black
corners, the panel's own colour around the glyph.

pystray's Xorg backend draws the icon's image onto its window without alpha, so
a transparent pixel shows black unless the app composites the icon onto the
panel's colour (``icon_image(state, size, background=...)``).  The icon's window
is found by its WM_CLASS (pystray names it ``<name>SystemTrayIcon``); its border
pixels in a screenshot must be the colour the panel shows just outside it.
"""

from __future__ import annotations

import time

import pytest
import rig
import xrig
from xrig import wait_icon

#: Per channel: how far a pixel of the icon window's border may be from the panel.
TOLERANCE = 6


def icon_window_box(xdisplay: xrig.XDisplay) -> tuple[int, int, int, int] | None:
    """Screen (left, top, right, bottom) of loopcap's tray icon window, or None."""
    from Xlib import X, display

    d = display.Display(xdisplay.display)
    try:
        root = d.screen().root
        todo = [root]
        while todo:
            window = todo.pop()
            try:
                wm_class = window.get_wm_class()
                children = window.query_tree().children
            except Exception:
                continue
            todo.extend(children)
            if wm_class and wm_class[0] == "loopcapSystemTrayIcon":
                if window.get_attributes().map_state != X.IsViewable:
                    continue
                g = window.get_geometry()
                pos = window.translate_coords(root, 0, 0)
                left, top = -pos.x, -pos.y
                return left, top, left + g.width, top + g.height
        return None
    finally:
        d.close()


def border_pixels(image, box, inset: int = 0):
    """The pixels on the rectangle ``box`` shrunk by ``inset`` (RGB image)."""
    left, top, right, bottom = (
        box[0] + inset,
        box[1] + inset,
        box[2] - 1 - inset,
        box[3] - 1 - inset,
    )
    px = image.load()
    out = []
    for x in range(left, right + 1):
        out += [((x, top), px[x, top]), ((x, bottom), px[x, bottom])]
    for y in range(top + 1, bottom):
        out += [((left, y), px[left, y]), ((right, y), px[right, y])]
    return out


def check_no_black_corners(xdisplay, png, state: str, app: rig.Loopcap) -> None:
    from PIL import Image

    box = None
    deadline = time.monotonic() + 5
    while box is None and time.monotonic() < deadline:
        box = icon_window_box(xdisplay)
        if box is None:
            time.sleep(0.1)
    if box is None:
        app.fail("no loopcap tray icon window found")
    with Image.open(png) as shot:
        image = shot.convert("RGB")
    width, height = image.size
    # The panel: what shows in a 3-pixel frame around the icon window, inside the tray.
    tray = xrig.TRAY_BOX
    outer = (
        max(box[0] - 3, tray[0]),
        max(box[1] - 3, tray[1]),
        min(box[2] + 3, tray[2], width),
        min(box[3] + 3, tray[3], height),
    )
    around = [
        c
        for (x, y), c in border_pixels(image, outer)
        if not (box[0] <= x < box[2] and box[1] <= y < box[3])
    ]
    assert around, f"no panel pixels around the icon window {box} in {png}"
    counts: dict[tuple[int, int, int], int] = {}
    for c in around:
        counts[c] = counts.get(c, 0) + 1
    panel = max(counts, key=counts.__getitem__)
    edge = border_pixels(image, box)
    corners = [
        image.getpixel(p)
        for p in (
            (box[0], box[1]),
            (box[2] - 1, box[1]),
            (box[0], box[3] - 1),
            (box[2] - 1, box[3] - 1),
        )
    ]
    off = [
        (xy, c)
        for xy, c in edge
        if any(abs(a - b) > TOLERANCE for a, b in zip(c, panel, strict=True))
    ]
    print(
        f"{state}: icon window {box}, panel {panel}, corners {corners}, {len(off)} of "
        f"{len(edge)} border pixels off the panel colour"
    )
    assert not off, (
        f"{state}: the icon window's border is not the panel's colour {panel}: "
        f"{off[:8]} (corners {corners}) in {png}"
    )
    inside = [image.getpixel((x, y)) for x in range(box[0], box[2]) for y in range(box[1], box[3])]
    black = [c for c in inside if max(c) < 24]
    assert not black, f"{state}: {len(black)} black pixels in the icon window {box} ({png})"


ARM_HOTKEY, ARM_KEY = "<ctrl>+<alt>+a", "ctrl+alt+a"


def walk_the_states(x: xrig.XDisplay, env, tmp_path, shots, tag: str) -> None:
    """Start the app on ``x`` and check the icon's look idle, armed (the arm
    key), idle again (the arm key once more), recording and idle after saving."""
    config, _ = rig.write_config(
        tmp_path / tag,
        hotkeys={"toggle": xrig.TOGGLE_HOTKEY, "arm": ARM_HOTKEY},
        arm={"stop_after_silence_s": 30.0},
    )
    app = rig.Loopcap(["run", "--config", str(config)], env, tmp_path)
    try:
        app.wait_running()

        def look(state: str) -> None:
            wait_icon(x, state, shots, app)
            time.sleep(0.3)  # a redraw under way finishes
            png = x.screenshot(shots / f"{tag}-{state}-look.png")
            check_no_black_corners(x, png, f"{tag} {state}", app)

        look("idle")
        x.key(ARM_KEY)
        app.wait_state("armed", timeout=5)
        look("armed")
        x.key(ARM_KEY)
        app.wait_state("idle", timeout=5)
        look("idle")
        assert rig.ask(env, "toggle")["state"] == "recording"
        look("recording")
        assert rig.ask(env, "toggle")["state"] in {"saving", "idle"}
        app.wait_state("idle", timeout=8)
        look("idle")
    finally:
        app.kill()


def test_the_icon_has_no_black_corners_on_the_xembed_tray(xdisplay, app_env, tmp_path, shots):
    walk_the_states(xdisplay, app_env, tmp_path, shots, "default")


@pytest.mark.parametrize("panel", ["light", "dark"])
def test_the_icon_takes_the_panels_colour(panel, app_env, tmp_path, shots):
    """On panels of other colours than the first guess (GTK's grey): the app
    reads the colour around its icon from the screen."""
    with xrig.XDisplay(tray=True, panel=panel) as x:
        walk_the_states(x, x.env(app_env), tmp_path, shots, panel)
