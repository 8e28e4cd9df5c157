"""The one save loop: a source file and the notes found in it -> saved files.

Both ways loopcap saves go through :func:`write_notes`: a finished capture
(:func:`save_capture`, called by :class:`~loopcap.session.Recording`) and a
file given to ``loopcap trim`` (:mod:`loopcap.app.trim`).  Given the notes
(:class:`~loopcap.trim.Bounds`) already found, however they were found, it
writes each note with naming's ``-N`` rule (:func:`note_paths`), the gain
that brings it to ``normalize_lufs`` and its tags; :func:`keep_raw` gives a
capture its ``<stem>.raw.<ext>`` copy; :func:`save_plot` draws the picture of
the cut beside the notes (``[output] save_plot``, ``loopcap trim --plot``).

Every file is written atomically (a hidden temporary, then its name) and
never over an existing one unless ``force``; the source is never modified,
and a capture's partial file is removed only once all is safely written.

Single-threaded; no state between calls.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import soundfile as sf

from loopcap.errors import OutputError
from loopcap.formats import Target, capture_target, raw_target
from loopcap.fs import link_exclusive
from loopcap.log import logger
from loopcap.naming import PLOT_SUFFIX, claim, note_name, plot_name, raw_stem, unique_path
from loopcap.output.encode import Tags
from loopcap.output.export import normalize_gain_db, write_span
from loopcap.trim import Bounds, LevelMeter

__all__ = ["SaveFailed", "note_paths", "write_notes", "keep_raw", "save_capture", "save_plot"]


class SaveFailed(Exception):
    """Writing ``dst`` failed because of ``cause`` (also its ``__cause__``);
    what the user is told is the caller's."""

    def __init__(self, dst: Path, cause: Exception) -> None:
        super().__init__(f"{dst}: {cause}")
        self.dst = dst
        self.cause = cause


def note_paths(first: Path, ext: str, count: int, free: bool = False) -> list[Path]:
    """Where each of ``count`` notes goes: ``first`` for a single note, else
    ``-1``, ``-2``... added before the extension (:func:`loopcap.naming.note_name`).

    ``free``: a name already taken gets ``-2``, ``-3``... added instead
    (:func:`loopcap.naming.unique_path`; ``first`` must end in ``.ext``).
    Otherwise the names are as they are, for the caller to check.
    """
    names = [note_name(first.name, ext, k, count) for k in range(1, count + 1)]
    if not free:
        return [first.with_name(name) for name in names]
    suffix = "." + ext
    return [unique_path(first.parent, name[: -len(suffix)], suffix) for name in names]


def write_notes(
    src: Path,
    placed: Iterable[tuple[Path, Bounds]],
    target: Target,
    captured: _dt.datetime | None = None,
    normalize_lufs: float = 0.0,
    usable_bytes: int | None = None,
    whole: bool = False,
    force: bool = False,
) -> None:
    """Write each (destination, note) of ``placed``, in order: frames
    [note.start, note.end) of ``src`` in ``target``'s format, brought to
    ``normalize_lufs`` (0: as captured), tagged with the destination's stem,
    ``captured`` and the note's length.

    ``whole``, ``force`` and ``usable_bytes`` are :func:`write_span`'s.
    A note that carries a ``reason`` (kept whole under a background, or
    cut off by the capture's stop or start) gets a warning line saying why.
    Stops at the first failure with :class:`SaveFailed` (the notes written
    before it stay).
    """
    for dst, note in placed:
        if note.reason:
            # The trimmer kept more than the note (the whole capture, under
            # music or another voice), or the note runs to the capture's
            # edge: one line that says why.
            logger.warning(f"{dst.name}: {note.reason}")
        try:
            gain = 0.0
            if normalize_lufs:
                gain = normalize_gain_db(
                    src, note.start, note.end, target, normalize_lufs, usable_bytes
                )
            write_span(
                src,
                dst,
                note.start,
                note.end,
                target,
                force=force,
                tags=Tags(dst.stem, captured, note.kept_s),
                gain_db=gain,
                usable_bytes=usable_bytes,
                whole=whole,
            )
        except Exception as exc:
            raise SaveFailed(dst, exc) from exc


def keep_raw(
    partial: Path, folder: Path, stem: str, fmt: str, captured: _dt.datetime, samplerate: int
) -> Path:
    """Give a closed partial capture its raw name, ``<stem>.raw.<ext>`` in
    ``folder`` (made unique), encoding it if needed; the partial file is then
    gone.

    The raw capture is kept whole and faithful: for the lossy, 16 kHz
    ``voicenote`` format it is kept as FLAC (:func:`loopcap.formats.raw_target`).
    When encoding fails, the partial file gets a ``.raw.wav`` name instead and
    OutputError says so.
    """
    target = raw_target(fmt)
    target_path = unique_path(folder, raw_stem(stem), f".{target.ext}")
    if target.format == "WAV":
        link_exclusive(partial, target_path)
        return target_path
    try:
        frames = sf.info(partial).frames
        tags = Tags(target_path.stem, captured, frames / samplerate)
        write_span(partial, target_path, 0, frames, target, tags=tags, whole=True)
    except Exception as exc:
        # The capture itself is safe in the partial file: give it a WAV name.
        fallback = unique_path(folder, raw_stem(stem), ".wav")
        link_exclusive(partial, fallback)
        raise OutputError(
            f"encoding to {fmt} failed ({exc}); the capture is saved as {fallback}"
        ) from None
    os.unlink(partial)
    return target_path


def save_capture(
    partial: Path,
    notes: Sequence[Bounds],
    folder: Path,
    stem: str,
    fmt: str,
    captured: _dt.datetime,
    samplerate: int,
    normalize_lufs: float = 0.0,
    keep: bool = True,
) -> tuple[tuple[Path, ...], Path | None]:
    """Save a finished capture: each note as ``<stem>.<ext>`` (several:
    ``<stem>-N.<ext>``) in format ``fmt``, and the capture itself as
    ``<stem>.raw.<ext>`` when ``keep`` or when there is no note.

    Never overwrites (a taken name gets ``-2``...); the partial file stays
    until every file is safely written, and is then removed (or becomes the
    raw capture).  Returns the notes' paths and the raw capture's (None when
    not kept).  Raises OutputError when a note cannot be written (the raw
    capture is then kept, and the message says where).
    """
    target = capture_target(fmt)
    paths = note_paths(folder / f"{stem}.{target.ext}", target.ext, len(notes), free=True)
    try:
        write_notes(
            partial,
            zip(paths, notes, strict=True),
            target,
            captured=captured,
            normalize_lufs=normalize_lufs,
            whole=True,
        )
    except SaveFailed as exc:
        raw = keep_raw(partial, folder, stem, fmt, captured, samplerate)
        raise OutputError(
            f"saving the trimmed note failed ({exc.cause}); the capture is kept as {raw}"
        ) from None
    if not notes:
        logger.info("no sound found in the capture; only the raw capture is kept")
    raw_path = None
    if keep or not paths:
        raw_path = keep_raw(partial, folder, stem, fmt, captured, samplerate)
    else:
        os.unlink(partial)
    return tuple(paths), raw_path


def save_plot(
    meter: LevelMeter,
    notes: Sequence[Bounds],
    folder: Path,
    first: str,
    ext: str,
    title: str = "",
) -> Path | None:
    """Draw the picture of a cut (:func:`loopcap.output.plot.cut_picture`)
    from the ``meter`` that measured the capture (finished, as the trimmer
    leaves it), showing ``notes`` (every note of a split), as
    ``<stem>.png`` in ``folder``: :func:`loopcap.naming.plot_name` of
    ``first``, the name of the first note before a split numbers it.

    Never over an existing file: a taken name gets ``-2``, ``-3``...
    (:func:`loopcap.naming.claim`).  A picture is an extra: any failure is
    logged as a warning and gives None, never an error of the save.
    Returns the picture's path.
    """
    # Imported when used: Pillow is loaded only when a picture is asked for.
    from loopcap.output.plot import cut_picture

    stem = plot_name(first, ext)[: -len(PLOT_SUFFIX)]

    def make(name: str) -> Path:
        plot = cut_picture(meter, None, notes, folder / f"{name}{PLOT_SUFFIX}", title=title)
        return folder / f"{name}{PLOT_SUFFIX}" if plot.path is None else plot.path

    def taken(name: str) -> bool:
        path = folder / f"{name}{PLOT_SUFFIX}"
        return path.exists() or path.is_symlink()

    try:
        path = claim(stem, make, taken)
    except Exception as exc:  # a picture never fails the save
        logger.opt(exception=exc).debug("the picture of the cut failed")
        logger.warning(f"the picture of the cut was not written ({exc}); the notes are saved")
        return None
    logger.debug(f"picture of the cut: {path}")
    return path
