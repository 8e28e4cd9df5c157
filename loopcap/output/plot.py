"""A picture of one capture's cut: its level over time, what was kept, what was left out.

:func:`cut_picture` draws a PNG from what the trimmer already has, the chunk
powers (:attr:`loopcap.trim.LevelMeter.powers`, one float32 per ``hop_s``),
so the audio is never decoded again:

- the level in dBFS (the trimmer's own levels, :func:`loopcap.trim.levels_db`),
  drawn as the minimum and maximum of each pixel column over a lighter area
  under the maximum, so an hour draws in bounded memory and time (the levels
  are computed piece by piece, ``SCAN_CHUNKS`` at a time);
- each note kept, on a pale blue band between two dark boundary lines
  (numbered when a capture is split);
- each sound left out (a chime, a click, music): the regions above the floor
  (:func:`loopcap.trim.find_regions`) outside the notes, on a hatched pale
  orange band, their level in orange; silence in grey;
- the capture's floor (:func:`loopcap.trim.estimate_floor_db`) as a dashed
  green line;
- a time axis in s (m:ss from two minutes on, h:mm:ss from an hour on), a dB
  axis, and a title line (name, duration, what was kept).

The colours differ in lightness as well as hue, and left-out bands are
hatched, so the picture reads in greyscale too.  The PNG is written to a
hidden temporary beside ``path``, then given its name atomically, never over
an existing file.  The returned :class:`CutPlot` holds the pixel geometry
(the axis mapping, the columns of every boundary) so tests and callers need
not guess.

Single-threaded, no state between calls.  Times are in seconds, levels in
dBFS, positions in samples (frames) or pixels as named.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from loopcap.fs import create_exclusive, link_exclusive
from loopcap.naming import temporary_name
from loopcap.trim import (
    MIN_DB,
    Bounds,
    LevelMeter,
    TrimParams,
    estimate_floor_db,
    find_regions,
    levels_db,
    levels_in_blocks,
)
from loopcap.trim.params import hop_frames, window_chunks

__all__ = ["COLOURS", "DEFAULT_SIZE", "CutPlot", "render_cut", "cut_picture"]

#: Width x height of the picture in pixels when the caller does not say.
DEFAULT_SIZE = (1200, 380)

RGB = tuple[int, int, int]

#: Every colour of the picture, by role (RGB).  Lightness (CIE L*) in the
#: comments: the roles that lie side by side differ in it, not only in hue.
COLOURS: dict[str, RGB] = {
    "background": (255, 255, 255),  # L* 100
    "grid": (236, 236, 236),  # 93
    "axis": (60, 60, 60),  # 25
    "text": (34, 34, 34),  # 13
    "muted": (110, 110, 110),  # 46
    "kept_band": (214, 230, 247),  # 91
    "kept_area": (126, 164, 218),  # 67
    "kept_level": (28, 79, 150),  # 34
    "left_band": (253, 228, 204),  # 92: as light as kept_band, but hatched
    "left_hatch": (240, 182, 128),  # 78
    "left_area": (246, 196, 146),  # 82
    "left_level": (178, 84, 0),  # 47
    "quiet_area": (228, 228, 228),  # 91
    "quiet_level": (150, 150, 150),  # 62
    "floor": (22, 128, 58),  # 47
    "boundary": (17, 17, 17),  # 5
}

_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_TOP, _MARGIN_BOTTOM = 58, 18, 40, 44
_TIME_STEPS_S: tuple[float, ...] = (
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30,
    60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600,
)  # fmt: skip
_MIN_TICK_PX = 80  # time labels at least this far apart
_HATCH = 7  # one hatch stripe every this many pixels (diagonal)


@dataclass(frozen=True)
class CutPlot:
    """What was drawn, in pixels: the axis mapping and every boundary's column.

    The plot area is columns ``[left, right)`` and rows ``[top, bottom)``;
    column ``x`` shows the times ``[t_of(x), t_of(x + 1))``.  Levels run from
    ``db_top`` at row ``top`` to ``db_bottom`` at row ``bottom - 1``.
    """

    path: Path | None
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    duration_s: float
    db_top: float
    db_bottom: float
    floor_db: float
    #: The notes kept, in seconds, and the columns of their start and end lines.
    notes_s: tuple[tuple[float, float], ...]
    note_x: tuple[tuple[int, int], ...]
    #: The sounds left out (outside every note), in seconds and as pixel
    #: column spans ``[x0, x1)`` (at least one column each).
    left_out_s: tuple[tuple[float, float], ...]
    left_out_x: tuple[tuple[int, int], ...]
    #: The time axis's ticks: (column, label).
    time_ticks: tuple[tuple[int, str], ...]

    @property
    def seconds_per_px(self) -> float:
        """How much time one column covers (s)."""
        return self.duration_s / (self.right - self.left)

    def x_of(self, t_s: float) -> int:
        """The column that shows time ``t_s`` (clipped to the plot area)."""
        x = self.left + math.floor(t_s / self.seconds_per_px) if self.duration_s > 0 else self.left
        return min(max(x, self.left), self.right - 1)

    def t_of(self, x: int) -> float:
        """The time (s) at the left edge of column ``x``."""
        return (x - self.left) * self.seconds_per_px

    def y_of(self, db: float) -> int:
        """The row of level ``db`` (dBFS; clipped to the plot area)."""
        span = self.db_top - self.db_bottom
        y = self.top + round((self.db_top - db) / span * (self.bottom - 1 - self.top))
        return min(max(y, self.top), self.bottom - 1)


def _clock(t_s: float, decimals: int = 0) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour on), with ``decimals`` of a second."""
    scale = 10**decimals
    t = round(t_s * scale)
    whole, frac = divmod(t, scale)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    sec = f"{s:02d}" + (f".{frac:0{decimals}d}" if decimals else "")
    return f"{h}:{m:02d}:{sec}" if h else f"{m}:{sec}"


def _long(duration_s: float) -> bool:
    """Whether times are written as clocks rather than seconds."""
    return duration_s >= 120


def _when(t_s: float, duration_s: float) -> str:
    """A time for the title: ``12.35 s`` or ``4:05.3``."""
    return _clock(t_s, 1) if _long(duration_s) else f"{t_s:.2f} s"


def _length(t_s: float) -> str:
    """A length for the title: ``3.30 s``, ``1:02.5``."""
    return _clock(t_s, 1) if t_s >= 60 else f"{t_s:.2f} s"


def _time_ticks(duration_s: float, width_px: int) -> tuple[float, list[float]]:
    """A step from ``_TIME_STEPS_S`` that keeps labels ``_MIN_TICK_PX`` apart,
    and the tick times from 0 to ``duration_s``."""
    fit = [s for s in _TIME_STEPS_S if duration_s <= 0 or width_px * s / duration_s >= _MIN_TICK_PX]
    step = max(fit[0] if fit else _TIME_STEPS_S[-1], 1 if _long(duration_s) else 0)
    n = int(duration_s / step + 1e-9)
    return step, [k * step for k in range(n + 1)]


def _tick_label(t_s: float, step: float, duration_s: float) -> str:
    if _long(duration_s):
        return _clock(t_s)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{t_s:.{decimals}f}"


def _column_levels(
    powers: np.ndarray, params: TrimParams, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Minimum and maximum level (dBFS) of the chunks each of ``width``
    columns covers; column ``c`` covers chunks ``[c * n // width, (c+1) * n // width)``.

    Levels are computed ``SCAN_CHUNKS`` at a time: memory stays a few pieces'
    worth however long the capture.  Fewer chunks than columns: each column
    shows the chunk under its middle.
    """
    n = len(powers)
    if n == 0:
        empty = np.full(width, np.nan, np.float32)
        return empty, empty.copy()
    if n < width:
        lv = levels_db(powers, params)
        under = np.minimum(((np.arange(width) + 0.5) * n / width).astype(np.int64), n - 1)
        return lv[under], lv[under].copy()
    lo = np.full(width, np.inf, np.float32)
    hi = np.full(width, -np.inf, np.float32)
    for s, lv in levels_in_blocks(powers, params):
        cols = np.arange(s, s + len(lv), dtype=np.int64) * width // n
        starts = np.concatenate(([0], np.flatnonzero(np.diff(cols)) + 1))
        which = cols[starts]
        lo[which] = np.minimum(lo[which], np.minimum.reduceat(lv, starts))
        hi[which] = np.maximum(hi[which], np.maximum.reduceat(lv, starts))
    return lo, hi


def _outside(
    regions: list[tuple[int, int]], notes: list[tuple[int, int]], blur: int
) -> list[tuple[int, int]]:
    """The parts of ``regions`` (chunk spans) that no note covers.

    A region is found on levels smoothed over ``frame_s`` while a note's
    edges are refined to the raw chunks, so a note's own region reaches a
    chunk or two past it: such a rim (shorter than ``blur`` chunks, touching
    the note) is not a sound left out.
    """
    edges = {e for span in notes for e in span}
    out: list[tuple[int, int]] = []
    for a, b in regions:
        pieces = [(a, b)]
        for na, nb in notes:
            pieces = [
                part
                for pa, pb in pieces
                for part in ((pa, min(pb, na)), (max(pa, nb), pb))
                if part[1] > part[0]
            ]
        out.extend(p for p in pieces if p[1] - p[0] >= blur or not edges & set(p))
    return out


def _db_range(floor_db: float, peak_db: float) -> tuple[float, float]:
    """The dB axis: from a little above the loudest level (-60 to 0 dBFS) to
    a little under the floor, on 10 dB steps; at least 40 dB, at most 100 (a
    floor of digital silence lies below the axis, drawn on its bottom row)."""
    peak = peak_db if math.isfinite(peak_db) else 0.0
    top = min(0.0, max(-60.0, 10.0 * math.ceil((peak + 3) / 10)))
    bottom = 10.0 * math.floor((floor_db - 10) / 10)
    bottom = min(max(bottom, top - 100), top - 40)
    return top, bottom


def render_cut(
    powers: np.ndarray | LevelMeter,
    samplerate: int | None,
    notes: Bounds | Sequence[Bounds] | None,
    *,
    params: TrimParams | None = None,
    title: str = "",
    frames: int | None = None,
    size: tuple[int, int] = DEFAULT_SIZE,
) -> tuple[Image.Image, CutPlot]:
    """Draw the picture (see :func:`cut_picture`) and return it, unsaved,
    with its geometry (``CutPlot.path`` None)."""
    if isinstance(powers, LevelMeter):
        meter = powers
        if samplerate is not None and samplerate != meter.samplerate:
            raise ValueError(f"samplerate {samplerate} but the meter's is {meter.samplerate}")
        samplerate, params = meter.samplerate, params or meter.params
        frames = meter.frames if frames is None else frames
        powers = meter.powers
    if samplerate is None or samplerate <= 0:
        raise ValueError("a positive samplerate is needed with bare powers")
    params = params or TrimParams()
    hop = hop_frames(samplerate, params)
    frames = len(powers) * hop if frames is None else frames
    notes = [notes] if isinstance(notes, Bounds) else sorted(notes or [], key=lambda b: b.start)
    width, height = size
    left, top = _MARGIN_LEFT, _MARGIN_TOP
    right, bottom = width - _MARGIN_RIGHT, height - _MARGIN_BOTTOM
    if right - left < 16 or bottom - top < 16:
        raise ValueError(f"a picture of {width}x{height} px leaves no room to plot")
    pw, ph = right - left, bottom - top
    duration = frames / samplerate

    floor = notes[0].floor_db if notes else estimate_floor_db(powers, params)
    lo, hi = _column_levels(powers, params, pw)
    db_top, db_bottom = _db_range(floor, float(np.nanmax(hi)) if len(powers) else -math.inf)
    chunk_notes = [(b.start // hop, -(-b.end // hop)) for b in notes]
    regions = find_regions(None, floor, params, powers)
    left_out = _outside(regions, chunk_notes, 2 * window_chunks(params.frame_s, params))
    left_out_s = tuple(
        (a * hop / samplerate, min(b * hop, frames) / samplerate) for a, b in left_out
    )

    plot = CutPlot(
        path=None, width=width, height=height, left=left, right=right, top=top,
        bottom=bottom, duration_s=duration, db_top=db_top, db_bottom=db_bottom,
        floor_db=floor, notes_s=tuple((b.start_s, b.end_s) for b in notes), note_x=(),
        left_out_s=left_out_s, left_out_x=(), time_ticks=(),
    )  # fmt: skip

    def span_x(a_s: float, b_s: float) -> tuple[int, int]:
        x0 = plot.x_of(a_s)
        x1 = left + math.ceil(b_s / plot.seconds_per_px) if duration > 0 else x0 + 1
        return x0, min(max(x1, x0 + 1), right)

    left_out_x = tuple(span_x(a, b) for a, b in left_out_s)
    kept_x = [span_x(a, b) for a, b in plot.notes_s]
    note_x = tuple((plot.x_of(a), plot.x_of(b)) for a, b in plot.notes_s)

    # The plot area as an array: bands, then the level, column by column.
    area = np.empty((ph, pw, 3), np.uint8)
    area[:] = COLOURS["background"]
    step, tick_times = _time_ticks(duration, pw)
    ticks = [(plot.x_of(t), _tick_label(t, step, duration)) for t in tick_times]
    db_step = 10 if ph / ((db_top - db_bottom) / 10) >= 22 else 20
    db_ticks = list(range(int(db_top), int(db_bottom) - 1, -db_step))
    for x, _ in ticks:
        area[:, x - left] = COLOURS["grid"]
    for db in db_ticks:
        area[plot.y_of(db) - top, :] = COLOURS["grid"]
    kind = np.zeros(pw, np.uint8)  # 0 quiet, 1 left out, 2 kept
    rows, cols = np.arange(ph, dtype=np.int32)[:, None], np.arange(pw, dtype=np.int32)[None, :]
    hatch = (rows + cols) % _HATCH < 2
    for x0, x1 in left_out_x:
        kind[x0 - left : x1 - left] = 1
    for x0, x1 in kept_x:
        kind[x0 - left : x1 - left] = 2
    band = kind[None, :] == 1
    area[band & ~hatch] = COLOURS["left_band"]
    area[band & hatch] = COLOURS["left_hatch"]
    area[np.broadcast_to(kind[None, :] == 2, (ph, pw))] = COLOURS["kept_band"]

    def row(db: np.ndarray) -> np.ndarray:
        span = db_top - db_bottom
        y = np.round((db_top - np.nan_to_num(db, nan=db_bottom)) / span * (ph - 1))
        return np.clip(y, 0, ph - 1).astype(np.int64)

    y_max, y_min = row(hi), row(lo)
    under = rows >= y_max[None, :]
    level = under & (rows <= y_min[None, :])
    for k, name in enumerate(("quiet", "left", "kept")):
        mine = kind[None, :] == k
        area[under & ~level & mine] = COLOURS[f"{name}_area"]
        area[level & mine] = COLOURS[f"{name}_level"]
    fy = plot.y_of(floor) - top
    dashes = (np.arange(pw) % 10) < 6
    for dy in (0, 1):
        if fy + dy < ph:
            area[fy + dy, dashes] = COLOURS["floor"]
    for xa, xb in note_x:
        for x in (xa, xb):
            area[:, x - left] = COLOURS["boundary"]

    img = Image.new("RGB", size, COLOURS["background"])
    img.paste(Image.fromarray(area, "RGB"), (left, top))
    plot = dataclasses.replace(plot, note_x=note_x, left_out_x=left_out_x, time_ticks=tuple(ticks))
    _decorate(ImageDraw.Draw(img), plot, notes, kept_x, db_ticks, title)
    return img, plot


def _decorate(
    draw: ImageDraw.ImageDraw,
    plot: CutPlot,
    notes: list[Bounds],
    kept_x: list[tuple[int, int]],
    db_ticks: list[int],
    title: str,
) -> None:
    """Axes, labels, note numbers, the title line and the legend."""
    c = COLOURS
    # Pillow's bundled font (its bitmap font where Pillow lacks FreeType).
    small, normal = ImageFont.load_default(size=12), ImageFont.load_default(size=14)
    left, right, top, bottom = plot.left, plot.right, plot.top, plot.bottom
    draw.rectangle((left - 1, top - 1, right, bottom), outline=c["axis"])
    for x, label in plot.time_ticks:
        draw.line((x, bottom, x, bottom + 4), fill=c["axis"])
        box = draw.textbbox((x, bottom + 6), label, font=small, anchor="mt")
        shift = min(0, plot.width - 2 - box[2]) or max(0, 2 - box[0])  # keep it whole
        draw.text((x + shift, bottom + 6), label, fill=c["text"], font=small, anchor="mt")
    unit = "time (s)" if not _long(plot.duration_s) else "time (m:ss)"
    if plot.duration_s >= 3600:
        unit = "time (h:mm:ss)"
    draw.text((right, plot.height - 4), unit, fill=c["muted"], font=small, anchor="rd")
    for db in db_ticks:
        y = plot.y_of(db)
        draw.line((left - 5, y, left - 1, y), fill=c["axis"])
        draw.text((left - 8, y), f"{db}", fill=c["text"], font=small, anchor="rm")
    draw.text((6, top - 6), "dBFS", fill=c["muted"], font=small, anchor="ld")
    fy = plot.y_of(plot.floor_db)
    digital = plot.floor_db <= MIN_DB
    label = "floor: digital silence" if digital else f"floor {plot.floor_db:.0f} dB"
    box = draw.textbbox((right - 4, fy - 3), label, font=small, anchor="rd")
    draw.rectangle((box[0] - 3, box[1] - 1, box[2] + 2, box[3] + 1), fill=c["background"])
    draw.text((right - 4, fy - 3), label, fill=c["floor"], font=small, anchor="rd")
    for xa, xb in plot.note_x:  # a mark above each boundary, to find it at a glance
        for x in (xa, xb):
            draw.polygon([(x - 4, top - 8), (x + 4, top - 8), (x, top - 2)], fill=c["boundary"])
    if len(notes) > 1:
        for k, (x0, x1) in enumerate(kept_x, 1):
            text = str(k)
            if draw.textlength(text, font=small) + 4 <= x1 - x0:
                draw.text(((x0 + x1) // 2, top + 3), text, fill=c["kept_level"], font=small,
                          anchor="mt")  # fmt: skip
    # The title line: name, duration, what was kept; the legend on the right.
    dur = plot.duration_s
    parts = [title] if title else []
    parts.append(_length(dur))
    if not notes:
        parts.append("no note found")
    elif len(notes) == 1:
        ((a, b),) = plot.notes_s
        parts.append(f"kept {_when(a, dur)} to {_when(b, dur)} ({_length(b - a)})")
    else:
        total = sum(b - a for a, b in plot.notes_s)
        parts.append(f"{len(notes)} notes, kept {_length(total)}")
    line = "  \u00b7  ".join(parts)
    draw.text((left, 14), line, fill=c["text"], font=normal, anchor="lm")
    _legend(draw, right, left + draw.textlength(line, font=normal) + 24, small)


def _legend(
    draw: ImageDraw.ImageDraw,
    right: int,
    room_from: float,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
) -> None:
    """The legend, ending at column ``right``; left out where it would reach
    left of ``room_from`` (a narrow picture, a long title)."""
    c = COLOURS
    items = (("floor", False), ("left out", True), ("kept", False))
    if right - sum(draw.textlength(name, font=font) + 32 for name, _ in items) < room_from:
        return
    x = right
    for name, hatched in items:
        x -= int(draw.textlength(name, font=font))
        draw.text((x, 14), name, fill=c["text"], font=font, anchor="lm")
        x -= 18
        if name == "floor":
            draw.line((x, 14, x + 5, 14), fill=c["floor"], width=2)
            draw.line((x + 9, 14, x + 14, 14), fill=c["floor"], width=2)
        else:
            fill = c["left_band"] if hatched else c["kept_band"]
            draw.rectangle((x, 8, x + 13, 20), fill=fill, outline=c["muted"])
            for d in range(0, 14, 4) if hatched else ():
                end = (x + min(13, d + 12), 20 - min(12, 13 - d))
                draw.line((x + d, 20, *end), fill=c["left_hatch"])
        x -= 14


def cut_picture(
    powers: np.ndarray | LevelMeter,
    samplerate: int | None,
    notes: Bounds | Sequence[Bounds] | None,
    path: Path | str,
    *,
    params: TrimParams | None = None,
    title: str = "",
    frames: int | None = None,
    size: tuple[int, int] = DEFAULT_SIZE,
) -> CutPlot:
    """Write a PNG of one capture's cut to ``path`` and return its geometry.

    ``powers``: the trimmer's chunk powers (one per ``params.hop_s``), or the
    :class:`~loopcap.trim.LevelMeter` that holds them (its samplerate, params
    and frame count are used; ``samplerate`` may then be None).  ``notes``:
    the note found (:class:`~loopcap.trim.Bounds`, frames), every note of a
    split, or None when none was found.  ``frames``: the capture's length
    (default: the powers' chunks times the hop).  ``title``: what the capture
    is called (its file name); its duration and the span kept follow it on
    the title line.  ``size``: (width, height) in pixels.

    The PNG is written to a hidden temporary beside ``path`` (created
    exclusively, fsync'ed) and then linked to ``path``: FileExistsError if
    ``path`` exists, which is never overwritten.
    """
    path = Path(path)
    if path.exists():
        raise FileExistsError(path)
    img, plot = render_cut(
        powers, samplerate, notes, params=params, title=title, frames=frames, size=size
    )
    tmp = path.with_name(temporary_name(path.name))
    fd = create_exclusive(tmp)
    try:
        with os.fdopen(fd, "wb") as f:
            img.save(f, "PNG", optimize=False, compress_level=6)
            f.flush()
            os.fsync(f.fileno())
        link_exclusive(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dataclasses.replace(plot, path=path)
