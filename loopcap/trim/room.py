"""Room before a voice that begins or ends under the capture's floor.

Where the note's own floor stands over the capture's, the note's edges are
its floor's edges, to the chunk.  Where it does not (a phone's hiss under a
device's louder one, or under a hum), the edge found is where the voice
rises out of the capture's floor: the note itself began earlier, and the
voice's faint start (a breath, a soft consonant) lies under that floor,
inaudible there but part of the note.  Over seeds 1-24 of the accuracy
benchmark, 924 of 4,320 captures lost such a faint edge (the clean voice
within 40 dB of its peak: a "strict" cut), a median of 16 ms of it and
60-100 ms for the worst tenth; in every one the note's first (last) sample
lay further out still.

So at such an edge a little of the capture's floor is kept, ``ROOM_S`` at
most, and only over chunks where nothing sounds (the capture's floor on
``frame_s`` levels): the note is never widened into another sound.  Such an
edge is one where

- the capture's floor is not digital silence (nothing lies under it);
- the note's quietest stretch (a pause) lies at the capture's floor: its
  own floor does not show (a note without a pause shows nowhere where its
  floor lies, and gets none);
- within ``INSIDE_S`` inside the edge the level stands ``open_db`` over the
  capture's floor and within ``SPEECH_DEPTH_DB`` of the note's loudest:
  speech rising there, not the note's own floor;
- and (the caller's ``clear``) no sound was left out at that edge, and what
  rises there could be a voice.

A note shorter than twice ``INSIDE_S`` (0.1 s) gets none.

Seeds 1-24: strict cuts 924 -> 585, 495 captures nearer the note, one
further out (seed 18 mix021, a pop kept at the start: 32 -> 62 ms); no
category's p95 moved past 30 ms on any seed.  ``ROOM_S`` 0.05 took 45 more
strict cuts away; 0.03 keeps the cost where a note's voice begins at its
very first sample (no lead-in) within the 30 ms goal.

Pure numpy on chunk powers (``hop_s`` each); chunk indices in and out.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .levels import levels_db
from .ownfloor import quietest_db
from .params import DIGITAL_SILENCE_DB, TrimParams, window_chunks

__all__ = ["INSIDE_S", "ROOM_S", "with_room"]

#: The capture's floor kept at most beyond an edge where the voice rises out
#: of it (s).
ROOM_S = 0.03
#: How far inside the edge (s) the voice must stand clear of the floor.
INSIDE_S = 0.05
#: ...and within how far (dB) of the note's loudest: the note's own floor
#: lies 35 dB or more under its speech (``own_floor_depth_db``).
SPEECH_DEPTH_DB = 30.0


def with_room(
    powers: np.ndarray,
    a: int,
    b: int,
    floor_db: float,
    params: TrimParams,
    lo: int = 0,
    hi: int | None = None,
    clear: Callable[[int], bool] | None = None,
) -> tuple[int, int]:
    """The note's span [a, b) (chunks) with room at each edge where its voice
    rises out of the capture's floor ``floor_db`` (see the module's text),
    never past chunks ``lo``/``hi`` (the capture's ends, a neighbouring
    note), and only at the edges ``clear`` (asked last, with 0 for the
    start and 1 for the end) says nothing was left out at and what rises
    there could be a voice: a sound's faded end may lie under the floor
    there."""
    clear = clear or (lambda side: True)
    hi = len(powers) if hi is None else hi
    room = window_chunks(ROOM_S, params)
    inside = window_chunks(INSIDE_S, params)
    if b - a < 2 * inside:
        return a, b
    # Nothing lies buried under digital silence; and where the note's own
    # floor shows in its quietest stretch (a pause), its edges are its
    # floor's, to the chunk.
    if (
        floor_db <= DIGITAL_SILENCE_DB
        or quietest_db(powers[a:b], params)[1] > floor_db + params.close_db
    ):
        return a, b
    # Levels over the note, and over ROOM_S on either side of it, each on its
    # own: a frame straddling the edge would take in the voice's onset.
    x0, x1 = max(lo, a - room), min(hi, b + room)
    note = levels_db(powers[a:b], params)
    loud = float(note.max())

    def speech(part: np.ndarray) -> bool:
        top = float(part.max())
        return top >= floor_db + params.open_db and top >= loud - SPEECH_DEPTH_DB

    def at_floor(part: np.ndarray) -> np.ndarray:
        # At the floor: until a frame reaches close_db over it.
        if len(part) == 0:
            return np.zeros(0, bool)
        return levels_db(part, params) <= floor_db + params.close_db

    if speech(note[:inside]) and clear(0):
        a -= _run(at_floor(powers[x0:a])[::-1])
    if speech(note[-inside:]) and clear(1):
        b += _run(at_floor(powers[b:x1]))
    return a, b


def _run(quiet: np.ndarray) -> int:
    """How many of ``quiet``'s first items are True in a row."""
    stops = np.flatnonzero(~quiet)
    return int(stops[0]) if len(stops) else len(quiet)
