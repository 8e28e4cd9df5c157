"""A note still playing when the capture stopped (the stop pressed too
early), or already playing when it started (started too late).

Pure numpy, no I/O.  Such a capture is silence (digital zero, dither or a
device's floor) at one end, then the note, which runs to the capture's
other end.  :func:`~loopcap.trim.background.spans_capture` counts the note
that reaches a probe as sound at that end, and a capture of 3 s or more
went to the background model and was kept whole as "something plays
throughout the capture", its silence kept too.

What tells such a note from a background that runs to the capture's end (a
video's voice after the note) is that it is one voice, continuous up to the
end: from where it starts it never falls silent (under ``edge_db`` over the
capture's floor) for longer than ``WORD_PAUSE_S``, while a background
voice pauses between the note and itself, and between its sentences.  On
the other side lies true silence: the capture's steady floor, with nothing
over it from the capture's end up to the note.

Positions are chunk indices ``[start, end)``; levels in dBFS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from .levels import levels_db
from .params import Bounds, TrimParams, window_chunks
from .runs import runs_of

__all__ = ["CUT_OFF_REASON", "STARTED_REASON", "WORD_PAUSE_S", "cut_off", "ended_otherwise"]

#: Why a note is kept up to the capture's end: one line for the user.
CUT_OFF_REASON = (
    "the note was still playing when the capture stopped: kept up to the capture's "
    "end, and its end may be missing"
)
#: ...and up from the capture's start.
STARTED_REASON = (
    "the note was already playing when the capture started: kept from the capture's "
    "start, and its start may be missing"
)

#: Levels over windows of this length (s): a syllable's.
FRAME_S = 0.05
#: The note never falls silent for longer than this (s) from its start to
#: the capture's end: the pauses between a speaker's words.
WORD_PAUSE_S = 0.5
#: ...measured at this far (dB) under the note's loudest (over ``FRAME_S``):
#: a quieter background that plays on after the note (music, a video's
#: voice 20-40 dB under it) counts as a pause, a speaker's quieter words do
#: not.
VOICE_DB = 15.0
#: ...and its loudest stands this far (dB) over the capture's floor: a
#: voice over silence, dither or a device's hiss, not a note whose "floor"
#: is a quiet moment of music 20-25 dB under it.
CLEAR_DB = 30.0
#: The silence on the other side lasts at least this long (s): the
#: capture's lead-in before the note.
SILENCE_S = 0.15
#: ...and the note sounds in the capture's last (first) this long (s).
END_S = 0.1


def cut_off(powers: np.ndarray, floor_db: float, span: tuple[int, int], params: TrimParams) -> int:
    """Which end of the capture the note ``span`` (chunks, as the segmenter
    found it) runs into: +1 its end (the stop pressed while it played), -1
    its start, 0 neither (or both).  Levels over ``FRAME_S`` against the
    capture's floor ``floor_db`` (dBFS, a steady one)."""
    n = len(powers)
    a, b = span
    end = window_chunks(END_S, params)
    silence = window_chunks(SILENCE_S, params)
    pause = window_chunks(WORD_PAUSE_S, params)
    if n < 2 * (end + silence) or b <= a:
        return 0
    # The levels over FRAME_S spread a frame past the note's own edges.
    frame = window_chunks(FRAME_S, params)
    level = levels_db(powers, params, frame_s=FRAME_S)
    sound = level > floor_db + params.edge_db
    peak = float(level[a:b].max())
    if peak < floor_db + CLEAR_DB:
        return 0
    loud = level > max(floor_db + params.edge_db, peak - VOICE_DB)

    def continuous(part: np.ndarray) -> bool:
        return bool(part.any()) and not any(e - s > pause for s, e in runs_of(~part))

    head, tail = bool(sound[:end].any()), bool(sound[n - end :].any())
    if tail and not head and a >= silence and not sound[: max(0, a - frame)].any():
        return 1 if continuous(loud[a:]) else 0
    if head and not tail and n - b >= silence and not sound[b + frame :].any():
        return -1 if continuous(loud[:b]) else 0
    return 0


def ended_otherwise(notes: Sequence[Bounds]) -> tuple[Bounds, ...]:
    """``notes`` without :data:`CUT_OFF_REASON`: for a capture that ended
    for another reason the user is told of already (a device that went
    away, a file cut short), where "still playing when the capture
    stopped" would say it twice, and wrongly name the stop."""
    return tuple(replace(b, reason=None) if b.reason == CUT_OFF_REASON else b for b in notes)
