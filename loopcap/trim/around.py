"""A background that starts just after the capture does: a video's voice,
music or a tone heard before and after the note, though not in the
capture's first or last fraction of a second.

Pure numpy, no I/O.  :func:`~loopcap.trim.background.spans_capture` sends a
capture to the background model when its first and last
:data:`~loopcap.trim.background.PROBE_S` sound.  A video's voice that
begins 0.2-0.5 s into the capture (in a pause between its sentences), or
ends that long before it, leaves a probe quiet; the ordinary segmenter then
joins the video's words to the note, across pauses shorter than
``max_pause_s`` (issue 15: 1.4-2.5 s of a video's voice kept).

What tells such a background from a notification sound or a click beside
the note is that it lasts: outside the note (as the background model finds
it), before it and after it alike, it sounds for a good share of the time
(``AROUND_SHARE``), and it never falls quiet for longer than a speaker's
pause (``SPEAKER_PAUSE_S``), the capture's quiet first and last moments
included.  A note over silence or a device's floor has nothing outside it
but its quiet lead-in and tail (its own floor lies inside the span the
background model finds), and a notification sound lasts 1.5 s at most,
with seconds of silence between it and the capture's ends or the note.

A background heard on one side of the note only (a video's voice that
pauses at the capture's other end, or after the note until the capture
ends silent) is told the same way, side by side (:func:`plays_beside`):
there the note's edge on that side is the background model's (see
``find_bounds``), the end only up to the first pause at the capture's
floor after it (:func:`paused_after`).

Positions are chunk indices ``[start, end)``; levels in dBFS.
"""

from __future__ import annotations

import numpy as np

from .levels import levels_db
from .params import TrimParams, window_chunks
from .runs import runs_of

__all__ = [
    "AROUND_SHARE",
    "SPEAKER_PAUSE_S",
    "plays_around",
    "plays_beside",
    "paused_after",
    "quiet_ends",
    "quiet_sides",
    "settle_edge",
]

#: Levels over windows of this length (s): a syllable's, as the background
#: model's short levels (:data:`~loopcap.trim.background.EDGE_S`).
AROUND_FRAME_S = 0.05
#: The background sounds (``edge_db`` over the capture's floor) for at least
#: this share of the lead-in and of the tail: a video's voice with its
#: pauses, a tune's notes, a fan (0.16-0.69 on either side where one starts
#: after the capture, seeds 1-15); a note between silences, chimes and
#: clicks beside it, whose silences all last under 1.2 s: 0.07 at most on
#: one side or the other.
AROUND_SHARE = 0.15
#: ...and is never silent for longer than this (s) outside the note: a
#: speaker's pause between sentences.  A note's lead-in or tail with nothing
#: but its pre-roll, or a chime seconds away, has a longer silence.
SPEAKER_PAUSE_S = 1.0
#: A pause at the capture's floor this long (s) or longer, after the note
#: as the background model finds it, parts the note from what the segmenter
#: joined to it across that pause (see :func:`paused_after`).
FLOOR_PAUSE_S = 0.15
#: The background model's edge and the segmenter's agree when they lie
#: this close (s): the model's padding past the last level it walked over
#: (:data:`~loopcap.trim.background.PAD_S`).
AGREE_S = 0.08


def quiet_ends(powers: np.ndarray, floor_db: float, params: TrimParams) -> bool:
    """Whether the capture's first or last ``SPEAKER_PAUSE_S`` is silent
    throughout (no level over ``AROUND_FRAME_S`` stands ``edge_db`` over its
    floor, ``floor_db``): then nothing plays around the note (see
    :func:`plays_around`), told from those two stretches alone, without the
    background model."""
    return any(quiet_sides(powers, floor_db, params))


def quiet_sides(powers: np.ndarray, floor_db: float, params: TrimParams) -> tuple[bool, bool]:
    """Whether the capture's first and whether its last ``SPEAKER_PAUSE_S``
    is silent throughout (see :func:`quiet_ends`); neither in a capture of
    two such stretches or less."""
    pause = window_chunks(SPEAKER_PAUSE_S, params)
    n = len(powers)
    if n <= 2 * pause:
        return False, False
    threshold = floor_db + params.edge_db

    def silent(lo: int, hi: int) -> bool:
        return not bool(
            (levels_db(powers[lo:hi], params, frame_s=AROUND_FRAME_S) > threshold).any()
        )

    return silent(0, pause + 1), silent(n - pause - 1, n)


def plays_around(
    powers: np.ndarray, floor_db: float, span: tuple[int, int], params: TrimParams
) -> bool:
    """Whether something plays around the note ``span`` (chunks, as the
    background model finds it): before it and after it, its levels over
    ``AROUND_FRAME_S`` stand ``edge_db`` over the capture's floor
    (``floor_db``, dBFS) for ``AROUND_SHARE`` of the time, and fall under
    that for no longer than ``SPEAKER_PAUSE_S`` at a time."""
    return all(plays_beside(powers, floor_db, span, params))


def plays_beside(
    powers: np.ndarray, floor_db: float, span: tuple[int, int], params: TrimParams
) -> tuple[bool, bool]:
    """Whether something plays before the note ``span`` (chunks), and
    whether after it, each side told on its own as :func:`plays_around`
    tells both."""
    a, b = span
    sound = levels_db(powers, params, frame_s=AROUND_FRAME_S) > floor_db + params.edge_db
    pause = window_chunks(SPEAKER_PAUSE_S, params)

    def plays(part: np.ndarray) -> bool:
        if len(part) == 0 or float(np.mean(part)) < AROUND_SHARE:
            return False
        return not any(e - s > pause for s, e in runs_of(~part))

    return plays(sound[:a]), plays(sound[b:])


def settle_edge(
    powers: np.ndarray, floor_db: float, model: int, found: int, step: int, params: TrimParams
) -> int:
    """Which of two edges (chunks; its start for ``step`` -1, its end for
    +1: outwards) of the note stands: ``model``, the background model's, or
    ``found``, the segmenter's, which joins whatever
    sounds across a short pause to the note and judges the sounds at its
    edges by their spectrum.

    Where the segmenter's lies further out by more than ``AGREE_S``, it
    took in the background (its words after a pause): the model's stands.
    Within ``AGREE_S`` both found the same edge, and the outer one is kept
    (when unsure, keep).  Where the model's lies further out, the
    segmenter's stands only if what lies between them rises ``open_db`` over
    the capture's floor (``floor_db``, dBFS; over ``frame_s``): a sound the
    segmenter left out by its spectrum, into which the model's walk over the
    background's median ran on; a fainter stretch is the note's fading end
    under the background, which the model keeps."""
    out = (found - model) * step
    if out >= 0:
        return found if out <= window_chunks(AGREE_S, params) else model
    level = levels_db(powers[min(found, model) : max(found, model)], params)
    return found if float(level.max()) > floor_db + params.open_db else model


def paused_before(
    powers: np.ndarray, floor_db: float, lo: int, hi: int, params: TrimParams
) -> int | None:
    """Where the last pause at the capture's floor (as :func:`paused_after`)
    that begins in chunks [lo, hi) ends, when something sounds before it
    after ``lo``; else None.  Between the note's start as the segmenter
    finds it (``lo``) and the background model's (``hi``, which may lie
    inside the pause), such a pause parts a sound the segmenter joined to
    the note (a video's last words) from it; without one, what lies before
    the model's start runs on into the note."""
    if hi <= lo:
        return None
    pause = window_chunks(FLOOR_PAUSE_S, params)
    level = levels_db(powers, params, frame_s=AROUND_FRAME_S)
    quiet = level[lo : hi + pause] <= floor_db + params.edge_db
    for s, e in reversed(runs_of(quiet)):
        if e - s >= pause and 0 < s < hi - lo:
            return lo + e
    return None


def paused_after(
    powers: np.ndarray, floor_db: float, lo: int, hi: int, params: TrimParams
) -> int | None:
    """Where the first pause at the capture's floor (``floor_db``, dBFS;
    levels over ``AROUND_FRAME_S`` no more than ``edge_db`` over it) of at
    least ``FLOOR_PAUSE_S`` in chunks [lo, hi) begins, when something
    sounds again after it before ``hi``; else None.  Between the note's end
    as the background model finds it (``lo``) and the segmenter's
    (``hi``), such a pause parts the note from a sound the segmenter joined
    to it: a video's next words."""
    if hi <= lo:
        return None
    quiet = levels_db(powers, params, frame_s=AROUND_FRAME_S)[lo:hi] <= floor_db + params.edge_db
    pause = window_chunks(FLOOR_PAUSE_S, params)
    for s, e in runs_of(quiet):
        if e - s >= pause and e < hi - lo:
            return lo + s
    return None
