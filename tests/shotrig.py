"""The README's pictures, from real runs of the app on real parts, and the
steps that bring the app into each state (shared with the tests of the
icon's look and of the pictures).

* ``docs/tray.png`` (:func:`make_tray_png`): private Xvfb + trayer (a light
  and a dark panel, :data:`xrig.PANELS`) and PulseAudio; the icon shot in
  every state of :data:`PICTURE_STATES`, composed with Pillow.
* ``docs/menu.png`` and ``docs/notify.png``: see :mod:`desktopshots`.

How each state is reached, through the real parts only (:func:`bring_to`):
idle at start; armed by the arm key; recording by ``loopcap toggle``;
saving by the toggle key at the end of a long capture (:data:`LONG_S` of a
voice, saved as an Ogg Opus voice note, normalised, with its cut picture:
about a second of work here) while screenshots are taken every ~0.1 s, the
whole capture again if the save ended unseen; error by killing the sound
server under the running app (``pulse.kill()``), the server started again
afterwards, after which the app reopens its device and is idle.

``scripts/screenshots`` runs it: ``python tests/shotrig.py tray-png OUT``.
"""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

import rig  # noqa: E402
from xrig import (  # noqa: E402
    TOGGLE_HOTKEY,
    TOGGLE_KEY,
    TRAY_BOX,
    TRAY_H,
    XDisplay,
    XError,
    icon_colour,
    nearest_state,
)

__all__ = [
    "ARM_HOTKEY",
    "ARM_KEY",
    "LONG_S",
    "PICTURE_STATES",
    "bring_to",
    "catch_icon",
    "play_voice",
    "private_runtime",
    "make_tray_png",
    "shoot_states",
    "tray_picture",
]

#: The states the README picture shows, in the order :func:`bring_to` reaches them.
PICTURE_STATES = ("idle", "armed", "recording", "saving", "error")
ARM_HOTKEY, ARM_KEY = "<ctrl>+<alt>+a", "ctrl+alt+a"
#: Seconds of capture before a stop that is to show "saving": its save (Ogg
#: Opus at 16 kHz, loudness normalised, the cut picture, the raw FLAC) takes
#: about 0.9 s for 20 s here, several screenshots' worth.
LONG_S = 20.0
#: How many long captures :func:`bring_to` tries before giving up on "saving".
SAVING_TRIES = 3


def app_config(folder: Path, out: Path | None = None, **tables) -> tuple[Path, Path]:
    """The config of the pictures' app: the toggle and arm keys, a long
    arm timeout (the armed icon stays), and a save that takes a while (see
    :data:`LONG_S`); returns (config path, output folder)."""
    return rig.write_config(
        folder,
        out,
        fmt="voicenote",
        hotkeys={"toggle": TOGGLE_HOTKEY, "arm": ARM_HOTKEY},
        arm={"stop_after_silence_s": 30.0},
        output={"normalize_lufs": -16.0, "save_plot": True},
        **tables,
    )


def play_voice(pulse, seconds: float) -> None:
    """Play the voice sample over and over for ``seconds`` (gaps of 0.3 s:
    one note to the trimmer), waiting for the end."""
    voice = rig.voice(rig.SAMPLERATE)
    gap = np.zeros((int(0.3 * rig.SAMPLERATE), voice.shape[1]), np.float32)
    reps = max(1, int(np.ceil(seconds * rig.SAMPLERATE / (len(voice) + len(gap)))))
    data = np.concatenate([np.concatenate([voice, gap])] * reps)[: int(seconds * rig.SAMPLERATE)]
    pulse.play_array(data)


def bring_to(state: str, x: XDisplay, app: rig.Loopcap, pulse, shots: Path, look) -> None:
    """Bring the running ``app`` (idle, or in the state before ``state`` in
    :data:`PICTURE_STATES`) into ``state`` and call ``look(state)`` while it
    is there (``look`` waits for the icon and takes the screenshot; it
    returns False if the state ended before the icon showed it, and the
    step is tried again where it can be).  Ends with the app idle after
    "saving" and "error"."""
    env = app.env
    if state == "idle":
        app.wait_state("idle", timeout=10)
        look(state)
    elif state == "armed":
        x.key(ARM_KEY)
        app.wait_state("armed", timeout=5)
        look(state)
        x.key(ARM_KEY)  # disarm
        app.wait_state("idle", timeout=5)
    elif state == "recording":
        if rig.ask(env, "toggle")["state"] != "recording":
            app.fail("toggle did not start a capture")
        look(state)
    elif state == "saving":
        for attempt in range(SAVING_TRIES):
            if app.status()["state"] != "recording":
                rig.ask(env, "toggle")
                app.wait_state("recording", timeout=5)
            play_voice(pulse, LONG_S)
            x.key(TOGGLE_KEY)  # the stop: a key press does not wait for the save
            app.wait_state("saving", timeout=5)
            seen = look(state)
            app.wait_state("idle", timeout=30)
            if seen is not False:
                return
            print(f"saving ended before its icon was seen (try {attempt + 1})")
        app.fail(f"the saving icon was not seen in {SAVING_TRIES} long captures")
    elif state == "error":
        pulse.kill()  # the sound server dies under the app, as in a crash
        try:
            app.wait_state("error", timeout=10)
            look(state)
        finally:
            pulse.start()
        app.wait_state("idle", timeout=20)  # the device reopened on the new server
    else:
        raise ValueError(state)


# --------------------------------------------------------------------------------------
# docs/tray.png
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


def catch_icon(x: XDisplay, app: rig.Loopcap, state: str, work: Path, timeout: float = 15.0):
    """A screenshot in which the tray icon shows ``state``'s colour, taken
    while the app is in ``state``; None if the app left ``state`` before
    (a save can end between two shots); fails after ``timeout``.  A state
    that lasts is shot again half a second later (a redraw under way ends)."""
    deadline = time.monotonic() + timeout
    i = 0
    while True:
        png = x.screenshot(work / f"{state}-{i:03d}.png")
        colour = icon_colour(png)
        if colour is not None and nearest_state(colour) == state:
            break
        if app.status()["state"] != state:
            return None
        if time.monotonic() > deadline:
            raise XError(f"the {state} icon did not appear within {timeout} s (colour {colour})")
        i += 1
        time.sleep(0.05)
    if state in ("idle", "armed", "recording", "error"):
        time.sleep(0.5)
        again = x.screenshot(work / f"{state}.png")
        if nearest_state(icon_colour(again) or (0, 0, 0)) == state:
            return again
    return png


def private_runtime(env: dict[str, str], work: Path) -> dict[str, str]:
    runtime = work / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env["XDG_RUNTIME_DIR"] = str(runtime)
    return env


def shoot_states(panel: str | None, work: Path, pulse) -> list[tuple[str, Path]]:
    """Run the app on a private Xvfb + trayer (``panel``: see :data:`xrig.PANELS`)
    and the sound server ``pulse``; a screenshot of its icon in each of
    :data:`PICTURE_STATES` (see :func:`bring_to`)."""
    work.mkdir(parents=True, exist_ok=True)
    config, _ = app_config(work)
    shots: list[tuple[str, Path]] = []
    with XDisplay(tray=True, panel=panel) as x:
        env = private_runtime(rig.child_env(x.env(pulse.env()), work), work)
        app = rig.Loopcap(["run", "--config", str(config)], env)
        try:
            app.wait_running()

            def look(state: str) -> bool:
                png = catch_icon(x, app, state, work)
                if png is None:
                    return False
                shots.append((state, png))
                return True

            for state in PICTURE_STATES:
                bring_to(state, x, app, pulse, work, look)
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
