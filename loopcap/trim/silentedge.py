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

from .levels import chunk_powers
from .params import DIGITAL_SILENCE_DB, Reader

__all__ = ["SILENT_AMP", "as_metered", "silent_edges"]

#: A sample of digital silence lies at most this far (linear) from zero: -120
#: dBFS.  Mixing in float leaves traces at -130 dBFS and under where a sound
#: has ended (seed 17 mix003: a click's silent tail, -134 to -200 dBFS); a
#: 16-bit capture's least step lies at -90 dBFS, a 24-bit one's at -138.  The
#: quietest note's floor in the benchmark's captures lies at -94 dBFS RMS
#: (seed 8 mix033): one of its samples in 25 or so lies this near zero, and
#: two in a row one in 600, so the bound moves in over a sample or two of it
#: at most (0.04 ms, nothing heard).
SILENT_AMP = 1e-6
#: The bounds move in at most this many frames at either end: over what the
#: chunks at the edges hold and the frames a sound's silent end adds.
MAX_MOVE = 4096


def silent_edges(
    read: Reader,
    start: int,
    end: int,
    floor_db: float,
    powers: np.ndarray | None = None,
    hop: int = 0,
) -> tuple[int, int]:
    """[start, end) (frames) moved in over the digitally silent samples at
    either end, where the capture's floor ``floor_db`` (dBFS) is digital
    silence; else as given.  An end whose ``MAX_MOVE`` frames next to it are
    all silent stays where it is (what lies past them is not looked at).

    With the meter's chunk ``powers`` (``hop`` frames each), an end moves
    only where what ``read`` gives there is what the meter measured:
    libsndfile's seek is not to the sample in every format (Ogg Vorbis,
    libsndfile issue #885: a read after a seek came back up to 832 frames
    off, and the end moved 16 ms into the note), and a read that is off is
    not looked at."""
    if floor_db > DIGITAL_SILENCE_DB or end <= start:
        return start, end
    n = min(MAX_MOVE, end - start)
    head, tail = read(start, start + n), read(end - n, end)
    new_start, new_end = start, end
    if as_metered(head, start, powers, hop):
        loud_head = _loud(head)
        new_start = start + int(np.argmax(loud_head)) if loud_head.any() else start
    if as_metered(tail, end - n, powers, hop):
        loud_tail = _loud(tail)
        new_end = end - int(np.argmax(loud_tail[::-1])) if loud_tail.any() else end
    return (new_start, new_end) if new_end > new_start else (start, end)


def as_metered(x: np.ndarray, at: int, powers: np.ndarray | None, hop: int) -> bool:
    """Whether frames ``x``, read from frame ``at`` on, hold the chunk powers
    the meter measured there (every whole chunk in them, to float32's
    rounding); True without ``powers``.  False where no whole chunk lies in
    them: nothing to check is not trusted."""
    if powers is None or hop <= 0:
        return True
    k0 = -(-at // hop)  # the first whole chunk
    skip = k0 * hop - at
    m = min((len(x) - skip) // hop, len(powers) - k0)
    if m <= 0:
        return False
    got = chunk_powers(np.asarray(x[skip : skip + m * hop], np.float32), hop)
    return bool(np.allclose(got, powers[k0 : k0 + m], rtol=1e-3, atol=1e-12))


def _loud(x: np.ndarray) -> np.ndarray:
    """Per frame (all channels), whether it holds anything over digital
    silence."""
    x = np.abs(np.nan_to_num(np.asarray(x, dtype=np.float64)))
    return (x.max(axis=1) if x.ndim > 1 else x) > SILENT_AMP
