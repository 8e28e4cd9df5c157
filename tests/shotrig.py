"""The README's picture of the tray icon, from a real run of the app: private
Xvfb + trayer (a light and a dark panel, :data:`xrig.PANELS`) and PulseAudio,
the icon shot idle, armed (the arm key) and recording (``loopcap toggle``),
composed with Pillow.  ``scripts/screenshots`` runs it
(``python tests/shotrig.py tray-png docs/tray.png``).
"""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

import rig  # noqa: E402
from xrig import TOGGLE_HOTKEY, TRAY_BOX, TRAY_H, XDisplay, XError  # noqa: E402

__all__ = ["tray_picture", "shoot_states", "make_tray_png"]


# --------------------------------------------------------------------------------------
# The README picture of the tray icon
# --------------------------------------------------------------------------------------


def _label(text: str, width: int, size: int = 20):
    """``text`` centred in black on a white strip ``width`` pixels wide (Pillow:
    ImageMagick's ``label:`` needs a font configuration not every machine has)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=size)
    strip = Image.new("RGB", (width, size + 12), "white")
    draw = ImageDraw.Draw(strip)
    draw.text((width // 2, (size + 12) // 2), text, fill="black", font=font, anchor="mm")
    return strip


def tray_picture(
    rows: list[tuple[str, list[tuple[str, Path]]]], out, scale: int = 4, width: int = 40
) -> Path:
    """The README picture of the tray icon: one row per panel (``rows``: [(panel
    label, [(state label, screenshot)])]), each tile the right-hand ``width``
    pixels of the tray area (where the icon docks) scaled up ``scale`` times
    without smoothing, labelled with its state; written to ``out`` with Pillow."""
    from PIL import Image

    tile_w, tile_h = width * scale, TRAY_H * scale
    pad = 8
    tiles: list[list] = []
    for _, shots in rows:
        line = []
        for label, png in shots:
            with Image.open(png) as im:
                crop = im.convert("RGB").crop((TRAY_BOX[2] - width, TRAY_BOX[1], *TRAY_BOX[2:]))
            big = crop.resize((tile_w, tile_h), Image.Resampling.NEAREST)
            strip = _label(label, tile_w)
            tile = Image.new("RGB", (tile_w, tile_h + strip.height), "white")
            tile.paste(big, (0, 0))
            tile.paste(strip, (0, tile_h))
            line.append(tile)
        tiles.append(line)
    head = max(_label(name, 200).width for name, _ in rows)
    columns = max(len(line) for line in tiles)
    row_h = tiles[0][0].height
    picture = Image.new(
        "RGB",
        (head + columns * (tile_w + pad) + pad, len(rows) * (row_h + pad) + pad),
        "white",
    )
    for r, ((name, _), line) in enumerate(zip(rows, tiles, strict=True)):
        y = pad + r * (row_h + pad)
        picture.paste(_label(name, head), (0, y + (tile_h - 32) // 2))
        for c, tile in enumerate(line):
            picture.paste(tile, (head + pad + c * (tile_w + pad), y))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    picture.save(out, optimize=True)
    return out


#: The states the README picture shows, and how the app is brought to each.
PICTURE_STATES = ("idle", "armed", "recording")
ARM_HOTKEY, ARM_KEY = "<ctrl>+<alt>+a", "ctrl+alt+a"


def shoot_states(panel: str | None, work: Path, pulse) -> list[tuple[str, Path]]:
    """Run the app on a private Xvfb + trayer (``panel``: see :data:`PANELS`)
    and the sound server ``pulse``; a screenshot of its icon in each of
    :data:`PICTURE_STATES` (armed by the arm key, recording by ``toggle``)."""
    work.mkdir(parents=True, exist_ok=True)
    runtime = work / "run"
    runtime.mkdir(mode=0o700)
    config, _ = rig.write_config(
        work,
        hotkeys={"toggle": TOGGLE_HOTKEY, "arm": ARM_HOTKEY},
        arm={"stop_after_silence_s": 30.0},
    )
    shots: list[tuple[str, Path]] = []
    with XDisplay(tray=True, panel=panel) as x:
        env = rig.child_env(x.env(pulse.env()), work)
        env["XDG_RUNTIME_DIR"] = str(runtime)
        app = rig.Loopcap(["run", "--config", str(config)], env)
        try:
            app.wait_running()
            for state in PICTURE_STATES:
                if state == "armed":
                    x.key(ARM_KEY)
                elif state == "recording":
                    x.key(ARM_KEY)  # disarm
                    app.wait_state("idle", timeout=5)
                    rig.ask(env, "toggle")
                ok, _, colour = x.wait_icon(state, work, timeout=15, tag=state)
                if not ok:
                    raise XError(f"the {state} icon did not appear (colour {colour})")
                time.sleep(0.5)  # a redraw under way finishes
                shots.append((state, x.screenshot(work / f"{state}.png")))
            rig.ask(env, "toggle")
            app.wait_state("idle", timeout=10)
        finally:
            app.send(signal.SIGTERM)
            app.finish(10)
    return shots


def make_tray_png(out) -> Path:
    """Run the app under private Xvfb + trayer (a light and a dark panel) and
    PulseAudio; picture its icon in each of :data:`PICTURE_STATES`; write the
    README picture to ``out``."""
    work = Path(tempfile.mkdtemp(prefix="loopcap-traypng-run-"))
    try:
        with rig.PulseServer() as pulse:
            rows = [
                (label, shoot_states(panel, work / label, pulse))
                for label, panel in (("light panel", "light"), ("dark panel", "dark"))
            ]
        return tray_picture(rows, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "tray-png":
        print(make_tray_png(sys.argv[2]))
        sys.exit(0)
    sys.exit(f"usage: {sys.argv[0]} tray-png OUT.png")
