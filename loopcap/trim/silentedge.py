"""A note's bounds to the sample where the capture's floor is digital
silence.  Pure numpy, no I/O of its own.

The segmenter bounds a note in whole chunks (``hop_s``, 2.5 ms at the
default): the note's first (last) sample lies somewhere inside its first
(last) chunk, and up to a chunk of silence before (after) it is kept with it.
Where the capture's floor is digital silence, every sample of that silence
is exactly (or all but) zero, and the note's own floor (a microphone's noise,
tens of dB over it) is not: the bounds move in over the silent samples at
either end, and never over a sample that holds anything.  This takes in
nothing and cuts nothing heard; it leaves out the silent part of another
app's sound that overlaps the note's edge (seed 17 mix003: a click's
silent tail, 4.5 ms past the note's last sample, kept with it) and the
quantization of the edges (the category ``zero``: median 1.2 ms, all of it
under a chunk).

Positions are sample (frame) indices; amplitudes are linear (full scale 1).
"""

from __future__ import annotations

import numpy as np

from .params import MIN_DB, Reader

__all__ = ["SILENT_AMP", "silent_edges"]

#: A sample of digital silence lies at most this far (linear) from zero: -120
#: dBFS.  Mixing in float leaves traces at -130 dBFS and under where a sound
#: has ended (seed 17 mix003: a click's silent tail, -134 to -200 dBFS); a
#: 16-bit capture's least step lies at -96 dBFS, a 24-bit one's at -138.  The
#: quietest note's floor in the benchmark's captures lies at -94 dBFS RMS
#: (seed 8 mix033): one of its samples in 25 or so lies this near zero, and
#: two in a row one in 600, so the bound moves in over a sample or two of it
#: at most (0.04 ms, nothing heard).
SILENT_AMP = 1e-6
#: The capture's floor is digital silence where its level lies at ``MIN_DB``
#: (dBFS) or under.
SILENT_FLOOR_DB = MIN_DB
#: The bounds move in at most this many frames at either end: over what the
#: chunks at the edges hold and the frames a sound's silent end adds.
MAX_MOVE = 4096


def silent_edges(read: Reader, start: int, end: int, floor_db: float) -> tuple[int, int]:
    """[start, end) (frames) moved in over the digitally silent samples at
    either end, where the capture's floor ``floor_db`` (dBFS) is digital
    silence; else as given.  An end whose ``MAX_MOVE`` frames next to it are
    all silent stays where it is (what lies past them is not looked at)."""
    if floor_db > SILENT_FLOOR_DB or end <= start:
        return start, end
    n = min(MAX_MOVE, end - start)
    loud_head = _loud(read(start, start + n))
    loud_tail = _loud(read(end - n, end))
    new_start = start + int(np.argmax(loud_head)) if loud_head.any() else start
    new_end = end - int(np.argmax(loud_tail[::-1])) if loud_tail.any() else end
    return (new_start, new_end) if new_end > new_start else (start, end)


def _loud(x: np.ndarray) -> np.ndarray:
    """Per frame (all channels), whether it holds anything over digital
    silence."""
    x = np.abs(np.nan_to_num(np.asarray(x, dtype=np.float64)))
    return (x.max(axis=1) if x.ndim > 1 else x) > SILENT_AMP
