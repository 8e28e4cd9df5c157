"""Every name a capture's stem yields, and the one "add -N" rule.

A capture is named by its *stem*, rendered from the ``[output] stem``
template (:func:`render_stem`).  From it come:

- ``<stem>.partial.wav``: the capture while it is written (:data:`PARTIAL_SUFFIX`);
- ``<stem>.<ext>``: the trimmed note, or with several notes ``<stem>-1.<ext>``,
  ``<stem>-2.<ext>``... (:func:`note_name`);
- ``<stem>.raw.<ext>``: the untrimmed capture (:func:`raw_stem`);
- ``<stem>.png``: the picture of the cut, one for all the notes of a split
  (:func:`plot_name`);
- ``.<name>.<pid>.tmp``: the hidden temporary a file is written to before it
  gets its name (:func:`temporary_name`);

and from a file given to ``loopcap trim``, ``<name>.trimmed.<ext>`` and
``<name>.trimmed-N.<ext>`` (:func:`trimmed_name`).

One rule makes a name unique: ``-2``, ``-3``... is added to the stem until
the name is free (:func:`numbered`, :func:`claim`, :func:`unique_path`); the
session, recover, the rescue folders, the batch trim and the trash all use it.

No I/O beyond asking whether names exist (through a callable or a folder's
``Path.exists``); creating the file is the caller's, handed in as a callable.
"""

from __future__ import annotations

import datetime as _dt
import os
import string
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

__all__ = [
    "PARTIAL_SUFFIX",
    "MAX_STEM_BYTES",
    "render_stem",
    "partial_name",
    "stem_of_partial",
    "raw_stem",
    "note_name",
    "trimmed_name",
    "PLOT_SUFFIX",
    "plot_name",
    "temporary_name",
    "is_temporary_of",
    "numbered",
    "claim",
    "unique_path",
]

T = TypeVar("T")

#: How a capture in progress is named: a 32-bit float WAV, locked while written.
PARTIAL_SUFFIX = ".partial.wav"

#: Longest stem in bytes: room in a 255-byte file name for "-NN.raw.flac",
#: ".partial.wav" and the hidden temporary's "." + ".<pid>.tmp".
MAX_STEM_BYTES = 200


def render_stem(template: str, now: _dt.datetime | None = None) -> str:
    """Render the stem template; refuse anything that is not a plain file name.

    The only field is ``{now}`` (a ``datetime``), with an optional strftime
    spec: ``{now:%Y-%m-%d}``.  Raises ValueError with a reason (a clause for
    the config's error sentence) when the template is malformed or its result
    could name anything but a new file in the output folder: a path (``/``,
    ``..``), a hidden name, control characters, NUL, an empty or overlong
    name, or a name loopcap keeps for captures in progress (``*.partial``).
    """
    now = now or _dt.datetime.now()
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ValueError(
            f"it must be a file name where {{now}} is the only field ({exc})"
        ) from None
    if any(f != "now" for f in fields):
        bad = next(f for f in fields if f != "now")
        raise ValueError(
            f"it must be a file name where {{now}} is the only field, as in "
            f"'loopcap-{{now:%Y-%m-%d_%H-%M-%S}}', not {{{bad}}}"
        )
    try:
        stem = template.format(now=now)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
        raise ValueError(
            f"it must be a file name where {{now}} is the only field ({exc})"
        ) from None
    if "\x00" in stem:
        raise ValueError("it must not contain NUL characters")
    if not stem or "/" in stem or "\\" in stem or stem in (".", "..") or stem.startswith("."):
        raise ValueError("it must give a plain file name, not a path or a hidden name")
    if any(ord(c) < 32 or ord(c) == 127 for c in stem):
        raise ValueError("it must not contain control characters (line breaks, tabs)")
    if len(os.fsencode(stem)) > MAX_STEM_BYTES:
        raise ValueError(f"it must give a name of at most {MAX_STEM_BYTES} bytes")
    if stem.lower().endswith(".partial"):
        raise ValueError("it must not end in '.partial' (the name of captures in progress)")
    return stem


def partial_name(stem: str) -> str:
    """``<stem>.partial.wav``."""
    return stem + PARTIAL_SUFFIX


def stem_of_partial(name: str) -> str:
    """The stem of a ``<stem>.partial.wav`` name (ValueError for any other)."""
    if not name.endswith(PARTIAL_SUFFIX):
        raise ValueError(f"{name!r} is not the name of a capture in progress")
    return name[: -len(PARTIAL_SUFFIX)]


def raw_stem(stem: str) -> str:
    """``<stem>.raw``: the stem of the untrimmed capture (``<stem>.raw.<ext>``)."""
    return f"{stem}.raw"


def numbered(stem: str, n: int) -> str:
    """The one "-N" rule: ``stem`` for n = 1, else ``stem-N``."""
    return stem if n == 1 else f"{stem}-{n}"


def note_name(first: str, ext: str, k: int, count: int) -> str:
    """The name of note ``k`` (from 1) of ``count``: ``first`` itself when
    there is one note, else ``-k`` added before the extension:
    ``x.ogg`` -> ``x-2.ogg`` (a name not ending in ``.ext`` gets ``-k.ext``)."""
    if count == 1:
        return first
    base = first[: -len(ext) - 1] if first.endswith("." + ext) else first
    return f"{base}-{k}.{ext}"


def trimmed_name(input_stem: str, ext: str) -> str:
    """``loopcap trim``'s default output name: ``<input stem>.trimmed.<ext>``."""
    return f"{input_stem}.trimmed.{ext}"


#: The picture of a cut (:mod:`loopcap.output.plot`) is a PNG.
PLOT_SUFFIX = ".png"


def plot_name(first: str, ext: str) -> str:
    """The picture of the cut of a note saved as ``first`` (a file name):
    ``x.flac`` -> ``x.png``; a name not ending in ``.ext`` gets ``.png`` added.

    ``first`` is the name the first note would have alone (before
    :func:`note_name` numbers a split), so the one picture of a split,
    showing every note, is ``<stem>.png`` beside ``<stem>-1.<ext>``...
    """
    base = first[: -len(ext) - 1] if first.endswith("." + ext) else first
    return base + PLOT_SUFFIX


def temporary_name(name: str, pid: int | None = None) -> str:
    """The hidden temporary a file named ``name`` is written to: ``.<name>.<pid>.tmp``."""
    return f".{name}.{os.getpid() if pid is None else pid}.tmp"


def is_temporary_of(name: str, stem: str) -> bool:
    """Whether ``name`` may be a temporary of a file whose name begins with
    ``<stem>.`` (see :func:`temporary_name`)."""
    return name.startswith(f".{stem}.") and name.endswith(".tmp")


def claim(stem: str, make: Callable[[str], T], taken: Callable[[str], bool] | None = None) -> T:
    """Give a new file the first free name the "-N" rule makes of ``stem``.

    For each candidate stem (``stem``, ``stem-2``, ``stem-3``...) not
    ``taken``, ``make(candidate)`` creates the file and returns what the
    caller needs (a path, an fd); a FileExistsError from it (someone took the
    name meanwhile) moves on to the next.  Any other error is raised.
    """
    n = 0
    while True:
        n += 1
        name = numbered(stem, n)
        if taken is not None and taken(name):
            continue
        try:
            return make(name)
        except FileExistsError:
            continue


def unique_path(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/stem+suffix``, or with ``-2``, ``-3``... added to the stem if taken
    (a dangling symbolic link counts as taken)."""

    def taken(name: str) -> bool:
        path = folder / f"{name}{suffix}"
        return path.exists() or path.is_symlink()

    return claim(stem, lambda name: folder / f"{name}{suffix}", taken)
