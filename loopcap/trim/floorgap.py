"""A sound after the note that falls straight to the capture's floor, with
none of the note's own floor after it, is not the note's.

A voice note carries its own floor (its microphone's noise) after its last
word: the recording stops after the speaker does (the captures of the
accuracy benchmark hold 0.1-0.5 s of it at normal speed, 0.05 s at twice
the speed). Where that floor is heard over the capture's
(:func:`~loopcap.trim.ownfloor.floor_limits`), the note ends no later than
where the level falls halfway to the capture's floor. A video's word just
before that, after a pause where only the note's floor was heard, was
taken for the note's quiet last word (issue 15: seed 6 mix016, 0.87 s of
a video's word kept after the note, its level falling from the word
straight to the capture's floor within 0.08 s); the note's own last word
leaves its floor heard after it.

Here such a sound is left out: the note ends where the pause before it
ends, where its floor alone was heard. Only after a pause of ``PAUSE_S``
or more, and where the sound stays well under the note's loudest
(``NEAR_DB``): a video plays well under the note.

Only the end is looked at this way: at the start, a video's word that ran
from a pause of its own into the note's lead-in merged with the note's
quiet first word, and the pause after that word was taken for the one
before the note (seed 12 mix040: its first word cut, 307 ms).

Pure numpy, no I/O.  Positions are chunk indices ``[start, end)``; levels
in dBFS; times in seconds.
"""

from __future__ import annotations

import numpy as np

from .params import TrimParams, window_chunks
from .runs import runs_of

__all__ = ["end_before_gap"]

#: A 10 ms level no more than this far (dB) over the note's own floor is
#: that floor alone: the background pauses there.
BAND_DB = 3.0
#: The note's floor heard for this long (s) after the last sound, up to
#: where the level falls to the capture's floor, says the sound was the
#: note's: its own floor goes on after its last word (at least 0.1 s on the
#: benchmark's notes at normal speed).  A video's word fading out passes
#: under the band's top up to 0.08 s before the level falls that far
#: (seed 6 mix016); at 0.06 s that word was kept.
TRAIL_S = 0.09
#: The pause before the sound: the note's floor alone for at least this
#: long (s), longer than a stop's closure inside a word (seeds 1-24: 6
#: captures better at 0.15 s, 5 at 0.2 s, 4 at 0.25 s, none worse).
PAUSE_S = 0.15
#: The sound left out peaks at least this far (dB, over ``PEAK_S``) under
#: the note's loudest: a video's words stood 12-14 dB under it where they
#: were left out (seeds 1-13; at 14 dB one of three left); a word of the
#: note's own that loud is kept.
NEAR_DB = 12.0
#: Peaks measured over this window (s), as the background model's short
#: levels are.
PEAK_S = 0.05


def end_before_gap(
    short: np.ndarray,
    peaks: np.ndarray,
    core: tuple[int, int],
    end: int,
    own_db: float,
    params: TrimParams,
) -> int:
    """Where the note ends, no later than ``end`` (a chunk: where its own
    floor, ``own_db`` dBFS, stops being heard after its ``core``, chunks
    [start, end)): the end of the last ``PAUSE_S`` after the core where the
    10 ms levels ``short`` (dBFS) stay no more than ``BAND_DB`` over that
    floor, where a sound follows it that falls to ``end`` within
    ``TRAIL_S`` and peaks (``peaks``: levels over ``PEAK_S``, dBFS)
    ``NEAR_DB`` or more under the core's loudest; else ``end``."""
    a = core[1]
    if end <= a:
        return end
    quiet = short[a:end] <= own_db + BAND_DB
    loud = np.flatnonzero(~quiet)
    if len(loud) == 0 or end - (a + int(loud[-1]) + 1) >= window_chunks(TRAIL_S, params):
        return end
    need = window_chunks(PAUSE_S, params)
    pauses = [(s, e) for s, e in runs_of(quiet) if e - s >= need]
    if not pauses:
        return end
    gap = a + pauses[-1][1]
    top = float(peaks[core[0] : core[1]].max()) - NEAR_DB
    if gap >= end or float(peaks[gap:end].max()) > top:
        return end
    return gap
