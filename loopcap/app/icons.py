"""Tray icon images: one distinct colour per state, drawn with Pillow."""

from __future__ import annotations

from PIL import Image, ImageDraw

__all__ = ["COLOURS", "icon_image"]

#: State -> RGB.  Distinct in hue and brightness, so they tell apart at a
#: glance and for colour-blind users too (idle is grey, error is dark).
COLOURS = {
    "idle": (128, 128, 128),
    "recording": (230, 40, 40),
    "saving": (245, 170, 20),
    "error": (90, 40, 140),
    "armed": (30, 120, 230),
}


def icon_image(state: str, size: int = 64) -> Image.Image:
    """A filled disc in the state's colour on a transparent square."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    colour = COLOURS.get(state, COLOURS["error"])
    m = size // 16
    d.ellipse((m, m, size - m - 1, size - m - 1), fill=colour + (255,))
    if state == "error":  # an exclamation mark, so it does not rely on colour alone
        w = size // 10
        d.rectangle(
            (size // 2 - w // 2, size // 4, size // 2 + w // 2, size * 9 // 16),
            fill=(255, 255, 255, 255),
        )
        d.rectangle(
            (size // 2 - w // 2, size * 11 // 16, size // 2 + w // 2, size * 11 // 16 + w),
            fill=(255, 255, 255, 255),
        )
    return img
