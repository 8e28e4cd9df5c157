"""The tray icon and the application icon: one vector design, drawn with Pillow.

The art is a short list of :class:`Shape` primitives (ellipses, polygons and
rounded rectangles in coordinates normalised to the unit square), made by
:func:`glyph`.  The same list is

* rasterised by :func:`render` at any size: drawn 4x larger, then each
  4x4 block averaged (a box filter: every pixel gets the share of it a shape
  covers; Pillow resizes RGBA premultiplied, so edges blend right), with the
  few lengths that would blur at 16-24 px snapped to whole pixels.  LANCZOS
  was tried: its ringing left a haze of alpha 1-18 around the glyph, up to
  the corners, where a panel must show through exactly;
* written as SVG by :func:`svg_text` (``loopcap/app/art/*.svg`` are those
  files, kept in step by a test), so the repository holds one design.

No SVG renderer is used: cairosvg needs libcairo (absent on Windows and
macOS unless installed apart), resvg-py is a 1.4 MB native wheel from a
young project, and a few filled shapes need neither.

The design: a speech bubble (a voice note) holding a waveform, in the
state's colour (:data:`COLOURS`), and a badge in the lower right corner
that tells the state by its shape as well: none when idle, a filled dot when
recording, a target ring when armed, a down arrow when saving, a warning
triangle with "!" on error.  The bubble's rim is a shade of its colour of
contrasting lightness, so it stands out on light and dark panels alike.
Transparent background (RGBA), except where the caller names the panel's
colour: pystray's Xorg backend draws the image on its window without alpha
(transparent pixels come out black), so there :func:`icon_image` composites
the icon onto the panel's colour and returns an opaque image.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image, ImageDraw

__all__ = [
    "APP_COLOUR",
    "COLOURS",
    "STATES",
    "Shape",
    "app_icon",
    "app_icon_png",
    "glyph",
    "icon_image",
    "panel_colour",
    "render",
    "svg_text",
    "write_app_icons",
    "write_svgs",
]

RGB = tuple[int, int, int]
RGBA = tuple[int, int, int, int]
Point = tuple[float, float]

#: State -> RGB (the tests' screenshots tell the state by this colour too).
COLOURS: dict[str, RGB] = {
    "idle": (128, 128, 128),
    "recording": (230, 40, 40),
    "saving": (245, 170, 20),
    "error": (90, 40, 140),
    "armed": (30, 120, 230),
}
STATES = tuple(COLOURS)
#: The application icon's colour (the .desktop file, notifications, builds).
APP_COLOUR: RGB = (20, 130, 150)

#: Supersampling factor of :func:`render`.
SUPERSAMPLE = 4
#: The size the SVG files are drawn for (no pixel snapping shows at it).
SVG_SIZE = 256
#: Sizes in the application icon files.
APP_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)

Paint = Literal["fill", "rim", "mark", "clear"]


@dataclass(frozen=True)
class Shape:
    """One primitive of the art, in coordinates normalised to the unit square.

    ``kind`` ``"ellipse"``: ``points`` is ((cx, cy), (rx, ry));
    ``"rect"``: ((x0, y0), (x1, y1)) with corner ``radius``;
    ``"polygon"``: the vertices.  ``paint`` names a colour of the palette
    (the state's ``fill``, its contrasting ``rim``, the ``mark`` drawn on the
    fill) or ``"clear"``: make the area transparent again.
    """

    kind: Literal["ellipse", "rect", "polygon"]
    paint: Paint
    points: tuple[Point, ...]
    radius: float = 0.0


# ----------------------------------------------------------------------- colours


def _lightness(rgb: Sequence[int]) -> float:
    """Luma (ITU-R BT.601), 0-255."""
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    r, g, bl = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return (r, g, bl)


def palette(colour: RGB) -> dict[str, RGB]:
    """The colours of a glyph of ``colour``: the rim is darker for a light
    colour and lighter for a dark one, so the outline stands out on the panel
    the fill is weakest on; the marks are white on a dark fill, dark on a
    light one."""
    light = _lightness(colour)
    if light >= 150:
        rim = _mix(colour, (0, 0, 0), 0.5)
    elif light < 80:
        rim = _mix(colour, (255, 255, 255), 0.6)
    else:
        rim = _mix(colour, (0, 0, 0), 0.3)
    mark = (255, 255, 255) if light < 150 else _mix(colour, (0, 0, 0), 0.72)
    return {"fill": colour, "rim": rim, "mark": mark}


# ----------------------------------------------------------------------- geometry


def _offset_polygon(points: Sequence[Point], d: float) -> tuple[Point, ...]:
    """``points`` moved ``d`` outwards (inwards when negative), mitred."""
    n = len(points)
    area = sum(
        points[i][0] * points[(i + 1) % n][1] - points[(i + 1) % n][0] * points[i][1]
        for i in range(n)
    )
    sign = 1.0 if area > 0 else -1.0  # outward normal side for this winding
    lines = []
    for i in range(n):
        (x0, y0), (x1, y1) = points[i], points[(i + 1) % n]
        length = math.hypot(x1 - x0, y1 - y0)
        nx, ny = sign * (y1 - y0) / length, -sign * (x1 - x0) / length
        lines.append(((x0 + nx * d, y0 + ny * d), (x1 - x0, y1 - y0)))
    out = []
    for i in range(n):
        (p, r), (q, s) = lines[i - 1], lines[i]
        cross = r[0] * s[1] - r[1] * s[0]
        if abs(cross) < 1e-12:
            out.append(q)
            continue
        t = ((q[0] - p[0]) * s[1] - (q[1] - p[1]) * s[0]) / cross
        out.append((p[0] + t * r[0], p[1] + t * r[1]))
    return tuple(out)


def _outlined_polygon(points: Sequence[Point], rim: float) -> list[Shape]:
    return [
        Shape("polygon", "rim", tuple(points)),
        Shape("polygon", "fill", _offset_polygon(points, -rim)),
    ]


def _disc(c: Point, r: float, paint: Paint) -> Shape:
    return Shape("ellipse", paint, (c, (r, r)))


def glyph(state: str | None, px: int = SVG_SIZE) -> list[Shape]:
    """The art of ``state`` (None: the application icon, no badge) as drawn at
    ``px`` pixels: lengths that must stay crisp are snapped to whole pixels
    and thin ones kept at least a pixel wide."""
    unit = 1.0 / px

    def snap(v: float) -> float:
        return round(v * px) / px

    rim = max(unit, 0.04)
    shapes: list[Shape] = []

    # The bubble: an ellipse with a tail at its lower left.
    c, rx, ry = (0.47, 0.43), 0.44, 0.38
    tail = ((0.18, 0.66), (0.09, 0.93), (0.40, 0.78))
    shapes.append(Shape("ellipse", "rim", (c, (rx, ry))))
    shapes.append(Shape("polygon", "rim", tail))
    shapes.append(Shape("ellipse", "fill", (c, (rx - rim, ry - rim))))
    shapes.append(Shape("polygon", "fill", _offset_polygon(tail, -rim)))

    # The waveform: five bars, whole pixels wide and apart.
    bar_w = max(1, round(px * 0.075)) * unit
    gap = max(1, round(px * 0.06)) * unit
    # Armed: waiting for sound, the waveform lies flat.
    heights = (0.16, 0.34, 0.48, 0.30, 0.14) if state != "armed" else (0.0,) * 5
    x = snap(c[0] - (5 * bar_w + 4 * gap) / 2)
    for h in heights:
        half = max(unit, snap(h / 2), bar_w / 2)
        y0, y1 = snap(c[1]) - half, snap(c[1]) + half
        shapes.append(Shape("rect", "mark", ((x, y0), (x + bar_w, y1)), radius=bar_w / 2))
        x += bar_w + gap

    if state is None or state == "idle":
        return shapes

    # The badge, in a clearing of the bubble.
    bc = (0.75, 0.75)
    r = 0.245
    clearing = r + max(unit, 0.06)
    shapes.append(_disc(bc, clearing, "clear"))
    cx, cy = bc
    if state == "recording":
        shapes += [_disc(bc, r, "rim"), _disc(bc, r - rim, "fill")]
    elif state == "armed":
        inner = r * 0.62
        shapes += [
            _disc(bc, r, "rim"),
            _disc(bc, r - rim, "fill"),
            _disc(bc, inner, "rim"),
            _disc(bc, inner - rim, "clear"),
        ]
        if px >= 24:  # the bull's eye: too small to see below
            shapes += [_disc(bc, r * 0.22, "rim"), _disc(bc, r * 0.22 - rim, "fill")]
    elif state == "saving":
        shaft = max(unit, snap(r * 0.32))
        head = r * 0.98
        arrow = (
            (cx - shaft, cy - r),
            (cx + shaft, cy - r),
            (cx + shaft, cy - r * 0.05),
            (cx + head, cy - r * 0.05),
            (cx, cy + r),
            (cx - head, cy - r * 0.05),
            (cx - shaft, cy - r * 0.05),
        )
        shapes += _outlined_polygon(arrow, rim)
    else:  # error, and any state not known
        top, base, half = cy - r * 1.02, cy + r * 0.75, r * 0.92
        shapes += _outlined_polygon(((cx, top), (cx + half, base), (cx - half, base)), rim)
        stem = max(unit, snap(r * 0.2))
        shapes.append(
            Shape("rect", "mark", ((cx - stem / 2, cy - r * 0.4), (cx + stem / 2, cy + r * 0.2)))
        )
        shapes.append(
            Shape("rect", "mark", ((cx - stem / 2, cy + r * 0.34), (cx + stem / 2, cy + r * 0.56)))
        )
    return shapes


# ----------------------------------------------------------------------- rendering


def render(
    shapes: Iterable[Shape], size: int, colours: dict[str, RGB], background: RGB | None = None
) -> Image.Image:
    """``shapes`` as a ``size`` x ``size`` RGBA image on a transparent square
    (anti-aliased: drawn :data:`SUPERSAMPLE` times larger, then box-filtered
    down); onto ``background`` instead: an opaque RGB image."""
    big = size * SUPERSAMPLE
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    for shape in shapes:
        ink: RGBA = (0, 0, 0, 0) if shape.paint == "clear" else colours[shape.paint] + (255,)
        pts = [(x * big, y * big) for x, y in shape.points]
        if shape.kind == "ellipse":
            (cx, cy), (rx, ry) = pts
            draw.ellipse((cx - rx, cy - ry, cx + rx - 1, cy + ry - 1), fill=ink)
        elif shape.kind == "rect":
            (x0, y0), (x1, y1) = pts
            box = (round(x0), round(y0), round(x1) - 1, round(y1) - 1)
            draw.rounded_rectangle(box, radius=shape.radius * big, fill=ink)
        else:
            draw.polygon(pts, fill=ink)
    small = img.resize((size, size), Image.Resampling.BOX)
    if background is None:
        return small
    out = Image.new("RGBA", small.size, tuple(background) + (255,))
    out.alpha_composite(small)
    return out.convert("RGB")


def icon_image(
    state: str, size: int = 64, background: RGB | None = None, scale: int = 1
) -> Image.Image:
    """The tray icon of ``state`` (an unknown state draws as ``error``),
    ``size * scale`` pixels square (``scale`` 2: HiDPI).

    RGBA on a transparent square; with ``background`` (the RGB the panel
    shows behind the icon), composited onto it: an opaque RGB image whose
    corners are exactly ``background`` -- for trays that ignore alpha
    (pystray's Xorg backend draws transparent pixels black).
    """
    px = size * scale
    known = state if state in COLOURS else "error"
    return render(glyph(known, px), px, palette(COLOURS[known]), background)


def panel_colour(image: Image.Image) -> RGB:
    """The colour a panel shows around an icon: the most frequent colour on the
    border of ``image`` (a screenshot of the icon's place and a margin around
    it; any mode Pillow converts to RGB)."""
    rgb = image.convert("RGB")
    w, h = rgb.size
    border = [(x, y) for x in range(w) for y in (0, h - 1)]
    border += [(x, y) for y in range(1, h - 1) for x in (0, w - 1)]
    counts = Counter(rgb.getpixel(p) for p in border)
    colour = counts.most_common(1)[0][0]
    assert isinstance(colour, tuple)
    return (int(colour[0]), int(colour[1]), int(colour[2]))


# ----------------------------------------------------------------------- files


def _svg_number(v: float) -> str:
    return f"{v * SVG_SIZE:.2f}".rstrip("0").rstrip(".")


def _svg_element(shape: Shape, fill: str) -> str:
    n = _svg_number
    if shape.kind == "ellipse":
        (cx, cy), (rx, ry) = shape.points
        if rx == ry:
            return f'<circle cx="{n(cx)}" cy="{n(cy)}" r="{n(rx)}" fill="{fill}"/>'
        return f'<ellipse cx="{n(cx)}" cy="{n(cy)}" rx="{n(rx)}" ry="{n(ry)}" fill="{fill}"/>'
    if shape.kind == "rect":
        (x0, y0), (x1, y1) = shape.points
        corner = f' rx="{n(shape.radius)}"' if shape.radius else ""
        return (
            f'<rect x="{n(x0)}" y="{n(y0)}" width="{n(x1 - x0)}" height="{n(y1 - y0)}"'
            f'{corner} fill="{fill}"/>'
        )
    points = " ".join(f"{n(x)},{n(y)}" for x, y in shape.points)
    return f'<polygon points="{points}" fill="{fill}"/>'


def svg_text(state: str | None) -> str:
    """The SVG of ``state``'s icon (None: the application icon), from the same
    shapes :func:`icon_image` draws; a "clear" shape becomes a mask over what
    was drawn before it."""
    colours = palette(APP_COLOUR if state is None else COLOURS[state])
    hexes = {k: "#{:02x}{:02x}{:02x}".format(*v) for k, v in colours.items()}
    defs: list[str] = []
    body: list[str] = []
    for shape in glyph(state, SVG_SIZE):
        if shape.paint == "clear":
            mask = f"clear{len(defs)}"
            defs.append(
                f'<mask id="{mask}"><rect width="{SVG_SIZE}" height="{SVG_SIZE}" fill="#fff"/>'
                f"{_svg_element(shape, '#000')}</mask>"
            )
            body = [f'<g mask="url(#{mask})">', *("  " + line for line in body), "</g>"]
        else:
            body.append(_svg_element(shape, hexes[shape.paint]))
    title = "loopcap" if state is None else f"loopcap: {state}"
    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SVG_SIZE}" height="{SVG_SIZE}" '
        f'viewBox="0 0 {SVG_SIZE} {SVG_SIZE}">',
        f"<title>{title}</title>",
        "<!-- Generated by loopcap.app.icons.write_svgs(): edit glyph() there, not this. -->",
    ]
    if defs:
        lines += ["<defs>", *("  " + d for d in defs), "</defs>"]
    lines += body
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def write_svgs(folder: Path) -> list[Path]:
    """Write ``loopcap.svg`` (the application icon) and ``loopcap-<state>.svg``
    for every state into ``folder`` (``loopcap/app/art`` in the repository)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for state in (None, *STATES):
        path = folder / ("loopcap.svg" if state is None else f"loopcap-{state}.svg")
        path.write_text(svg_text(state), encoding="utf-8")
        written.append(path)
    return written


def app_icon(size: int) -> Image.Image:
    """The application icon (the glyph in :data:`APP_COLOUR`, no badge), RGBA."""
    return render(glyph(None, size), size, palette(APP_COLOUR))


def app_icon_png(size: int) -> bytes:
    """The application icon as PNG file contents, ``size`` pixels square."""
    buffer = io.BytesIO()
    app_icon(size).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def write_app_icons(folder: Path) -> list[Path]:
    """Write the application icon into ``folder``: ``loopcap.svg``,
    ``loopcap-<N>.png`` for N in :data:`APP_SIZES` (for the hicolor theme and
    the notification), ``loopcap.ico`` (Windows, every size up to 256) and
    ``loopcap.icns`` (macOS).  Each size is rendered for itself, not scaled."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    svg = folder / "loopcap.svg"
    svg.write_text(svg_text(None), encoding="utf-8")
    written.append(svg)
    images = {n: app_icon(n) for n in APP_SIZES}
    for n, image in images.items():
        path = folder / f"loopcap-{n}.png"
        image.save(path, format="PNG", optimize=True)
        written.append(path)
    ico = folder / "loopcap.ico"
    largest = images[max(APP_SIZES)]
    largest.save(
        ico,
        format="ICO",
        sizes=[(n, n) for n in APP_SIZES],
        append_images=[images[n] for n in APP_SIZES if n != max(APP_SIZES)],
    )
    written.append(ico)
    # ICNS holds 16, 32, 64, 128, 256, 512 and 1024; Pillow picks each from
    # the images given (by size) and scales the largest for the rest.
    icns = folder / "loopcap.icns"
    big = app_icon(1024)
    big.save(icns, format="ICNS", append_images=[images[n] for n in (16, 32, 64, 128, 256)])
    written.append(icns)
    return written
