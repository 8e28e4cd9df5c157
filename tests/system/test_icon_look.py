"""The tray icon as the XEmbed tray (trayer under Xvfb) shows it, in every
state (idle, armed, recording, saving, error): no black corners, the panel's
own colour around the glyph, and states that differ in greyscale.

pystray's Xorg backend draws the icon's image onto its window without alpha, so
a transparent pixel shows black unless the app composites the icon onto the
panel's colour (``icon_image(state, size, background=...)``).  The icon's window
is found by its WM_CLASS (pystray names it ``<name>SystemTrayIcon``); its border
pixels in a screenshot must be the colour the panel shows just outside it.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import rig
import shotrig
import xrig

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


def check_no_black_corners(
    xdisplay, png, state: str, app: rig.Loopcap
) -> tuple[int, int, int, int]:
    """Fail unless the icon window's border in ``png`` is the panel's colour
    and nothing in it is black; returns the window's screen box."""
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
    return box


def icon_greys(png, box) -> list[int]:
    """The icon window's pixels in greyscale (Pillow's "L": ITU-R 601 luma)."""
    from PIL import Image

    with Image.open(png) as shot:
        return [int(v) for v in np.asarray(shot.convert("L").crop(box)).ravel()]


def check_distinct_in_grey(looks: dict[str, tuple[Path, tuple[int, int, int, int]]]) -> None:
    """Every two states' icons differ in greyscale, in more than a few
    anti-aliased pixels: by shape (the badge), not only by hue."""
    greys = {state: icon_greys(png, box) for state, (png, box) in looks.items()}
    sizes = {len(g) for g in greys.values()}
    assert len(sizes) == 1, f"the icon window changed size between states: {looks}"
    states = list(greys)
    for i, a in enumerate(states):
        for b in states[i + 1 :]:
            differ = sum(abs(p - q) > GREY_STEP for p, q in zip(greys[a], greys[b], strict=True))
            print(f"{a} vs {b}: {differ} pixels differ by more than {GREY_STEP} in grey")
            assert differ >= GREY_PIXELS, (
                f"{a} and {b} look alike in greyscale: only {differ} pixels differ "
                f"({looks[a][0]}, {looks[b][0]})"
            )


#: Two states' icons differ in greyscale where at least GREY_PIXELS pixels
#: differ by more than GREY_STEP levels of 255 (a 24 px icon has 576).
GREY_STEP, GREY_PIXELS = 40, 12


def walk_the_states(x: xrig.XDisplay, env, pulse, tmp_path, shots, tag: str) -> None:
    """Start the app on ``x`` and check the icon's look in every state of
    :data:`shotrig.PICTURE_STATES`, reached through the real parts
    (:func:`shotrig.bring_to`: the arm key, ``toggle``, the stop of a long
    capture while it saves, the sound server killed under it), and idle
    again at the end; then that the states differ in greyscale."""
    config, _ = shotrig.app_config(tmp_path / tag)
    app = rig.Loopcap(["run", "--config", str(config)], env, tmp_path)
    looks: dict[str, tuple[Path, tuple[int, int, int, int]]] = {}
    try:
        app.wait_running()

        def look(state: str) -> bool:
            png = shotrig.catch_icon(x, app, state, shots)
            if png is None:  # the save ended between two screenshots
                return False
            box = check_no_black_corners(x, png, f"{tag} {state}", app)
            looks.setdefault(state, (png, box))
            return True

        for state in shotrig.PICTURE_STATES:
            shotrig.bring_to(state, x, app, pulse, shots, look)
        look("idle")
    finally:
        app.kill()
        pulse.start()  # no-op while it runs
    assert set(looks) == set(shotrig.PICTURE_STATES), looks
    check_distinct_in_grey(looks)


def test_the_icon_has_no_black_corners_on_the_xembed_tray(
    xdisplay, app_env, pulse, tmp_path, shots
):
    walk_the_states(xdisplay, app_env, pulse, tmp_path, shots, "default")


@pytest.mark.parametrize("panel", ["light", "dark"])
def test_the_icon_takes_the_panels_colour(panel, app_env, pulse, tmp_path, shots):
    """On panels of other colours than the first guess (GTK's grey): the app
    reads the colour around its icon from the screen."""
    with xrig.XDisplay(tray=True, panel=panel) as x:
        walk_the_states(x, x.env(app_env), pulse, tmp_path, shots, panel)
