"""The icon set (loopcap/app/icons.py): every state at every tray size, told apart
by shape and not only by hue, transparent or blended into the panel, legible on
light and dark panels, and the SVG files in the repository drawn from the same
shapes."""

from __future__ import annotations

import io
import itertools
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from loopcap.app import icons
from loopcap.app.icons import COLOURS, STATES, icon_image

SIZES = (16, 22, 24, 32, 48)
ART = Path(icons.__file__).resolve().parent / "art"
LIGHT, DARK = (0xF0, 0xF0, 0xF0), (0x20, 0x20, 0x20)
#: Pixels whose greyscale differs by more than this count as different.
GREY_STEP = 24
#: Two states' renderings must differ in at least this share of their pixels.
MIN_DIFFERENT = 0.08
#: Lightness levels an icon's edge must stand away from the panel.
CONTRAST = 50


def luma(rgb: np.ndarray) -> np.ndarray:
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def grey(image: Image.Image) -> np.ndarray:
    """Alpha-weighted luminance (what is left of the icon without hue)."""
    a = np.asarray(image.convert("RGBA"), dtype=float)
    return luma(a) * a[..., 3] / 255


def erode(mask: np.ndarray, steps: int) -> np.ndarray:
    """``mask`` shrunk by ``steps`` pixels (4-neighbourhood), no scipy needed."""
    m = mask.copy()
    for _ in range(steps):
        p = np.pad(m, 1)
        m = m & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return m


@pytest.mark.parametrize("scale", [1, 2])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("state", STATES)
def test_every_state_renders_rgba_with_transparent_corners(state, size, scale):
    image = icon_image(state, size, scale=scale)
    px = size * scale
    assert image.mode == "RGBA" and image.size == (px, px)
    alpha = np.asarray(image)[..., 3]
    for y, x in ((0, 0), (0, -1), (-1, 0), (-1, -1)):
        assert alpha[y, x] == 0, f"{state} {px}px: corner {(x, y)} alpha {alpha[y, x]}"
    # Something is drawn, and mostly opaque: a glyph, not a haze.
    assert (alpha == 255).mean() > 0.25, (alpha == 255).mean()


@pytest.mark.parametrize("state", STATES)
def test_the_state_colour_fills_most_of_the_icon(state):
    """The screenshots of the system tests tell the state by the icon's most
    frequent colour: it must be the state's, exactly, at tray sizes."""
    for size in (22, 24, 32, 48, 64):
        rgb = np.asarray(icon_image(state, size, background=LIGHT))
        colours, counts = np.unique(rgb.reshape(-1, 3), axis=0, return_counts=True)
        ranked = [tuple(int(v) for v in c) for c in colours[np.argsort(-counts)]]
        top = [c for c in ranked if c != LIGHT][0]
        assert top == COLOURS[state], (size, top)


@pytest.mark.parametrize("size", [*SIZES, 44, 96])
def test_states_differ_in_greyscale(size):
    g = {s: grey(icon_image(s, size)) for s in STATES}
    for a, b in itertools.combinations(STATES, 2):
        share = (np.abs(g[a] - g[b]) > GREY_STEP).mean()
        assert share > MIN_DIFFERENT, f"{a} and {b} at {size}px differ in {share:.1%} of pixels"


@pytest.mark.parametrize("size", [*SIZES, 96])
def test_states_differ_in_shape_alone(size):
    """Drawn all in one colour, the states still differ: the badge and the
    waveform tell them, not only the hue."""
    one = icons.palette((128, 128, 128))
    g = {s: grey(icons.render(icons.glyph(s, size), size, one)) for s in STATES}
    for a, b in itertools.combinations(STATES, 2):
        share = (np.abs(g[a] - g[b]) > GREY_STEP).mean()
        assert share > MIN_DIFFERENT, f"{a} and {b} at {size}px differ in {share:.1%} in shape"


@pytest.mark.parametrize("panel", [LIGHT, DARK, (0, 0, 0), (255, 255, 255), (61, 89, 171)])
@pytest.mark.parametrize("state", STATES)
def test_on_a_panel_colour_the_icon_is_opaque_and_its_background_is_the_panel(state, panel):
    for size in (16, 22, 32):
        transparent = np.asarray(icon_image(state, size))[..., 3] == 0
        image = icon_image(state, size, background=panel)
        assert image.mode == "RGB" and image.size == (size, size)
        rgb = np.asarray(image)
        for y, x in ((0, 0), (0, -1), (-1, 0), (-1, -1)):
            assert tuple(rgb[y, x]) == panel, (size, (x, y), tuple(rgb[y, x]))
        assert (rgb[transparent] == panel).all(), "a transparent pixel is not the panel's colour"
        # What pystray's Xorg backend does with it (paste into RGB) changes nothing.
        pasted = Image.new("RGB", image.size)
        pasted.paste(image)
        assert pasted.tobytes() == image.tobytes()


@pytest.mark.parametrize("panel", [LIGHT, DARK], ids=["light", "dark"])
@pytest.mark.parametrize("size", [16, 22, 32, 48])
@pytest.mark.parametrize("state", STATES)
def test_the_edge_stands_out_on_light_and_dark_panels(state, size, panel):
    """The outer band of the glyph (its rim and the fill next to it) is, for a
    good part, at least CONTRAST levels of lightness away from the panel."""
    opaque = np.asarray(icon_image(state, size))[..., 3] > 127
    band = opaque & ~erode(opaque, max(2, size // 12))
    lightness = luma(np.asarray(icon_image(state, size, background=panel), dtype=float))
    away = np.abs(lightness - luma(np.array(panel, dtype=float)))[band]
    assert (away >= CONTRAST).mean() >= 1 / 3, (
        f"{state} {size}px: {(away >= CONTRAST).mean():.0%} of its edge stands "
        f"{CONTRAST} levels away from {panel}"
    )


def test_an_unknown_state_draws_as_an_error():
    assert icon_image("???", 22).tobytes() == icon_image("error", 22).tobytes()


def test_the_default_size_is_the_one_the_tray_used():
    assert icon_image("idle").size == (64, 64)


def test_panel_colour_is_the_colour_around_the_icon():
    shot = Image.new("RGB", (40, 32), (200, 190, 180))
    shot.paste(icon_image("recording", 22, background=(200, 190, 180)), (9, 5))
    shot.putpixel((0, 0), (0, 0, 0))  # a stray pixel does not decide it
    assert icons.panel_colour(shot) == (200, 190, 180)
    assert icons.panel_colour(shot.convert("RGBA")) == (200, 190, 180)


# --------------------------------------------------------------------------------------
# One source: the SVG files and the application icon files
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [None, *STATES])
def test_the_committed_svg_files_are_drawn_from_the_same_shapes(state):
    name = "loopcap.svg" if state is None else f"loopcap-{state}.svg"
    committed = (ART / name).read_text(encoding="utf-8")
    assert committed == icons.svg_text(state), (
        f"{name} is stale: run python -c 'from pathlib import Path; from loopcap.app.icons "
        'import write_svgs; write_svgs(Path("loopcap/app/art"))\''
    )
    root = ET.fromstring(committed)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    drawn = [
        e for e in root.iter() if e.tag.split("}")[1] in {"circle", "ellipse", "rect", "polygon"}
    ]
    assert len(drawn) >= len(icons.glyph(state))


def test_write_svgs_writes_the_app_icon_and_every_state(tmp_path):
    written = icons.write_svgs(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in ART.glob("*.svg"))


def test_app_icon_png_is_a_png_of_that_size():
    for size in (16, 48, 256):
        with Image.open(io.BytesIO(icons.app_icon_png(size))) as image:
            assert image.format == "PNG" and image.size == (size, size)
            assert image.mode == "RGBA" and image.getpixel((0, 0))[3] == 0


def test_write_app_icons_writes_png_ico_and_icns(tmp_path):
    written = {p.name: p for p in icons.write_app_icons(tmp_path)}
    assert {"loopcap.svg", "loopcap.ico", "loopcap.icns"} <= set(written)
    for n in icons.APP_SIZES:
        with Image.open(written[f"loopcap-{n}.png"]) as image:
            assert image.size == (n, n)
    with Image.open(written["loopcap.ico"]) as ico:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
        # Each size drawn for itself, not scaled from the largest.
        ico.size = (16, 16)
        ico.load()
        assert ico.convert("RGBA").tobytes() == icons.app_icon(16).tobytes()
    with Image.open(written["loopcap.icns"]) as icns:
        assert icns.format == "ICNS" and icns.size == (1024, 1024)
