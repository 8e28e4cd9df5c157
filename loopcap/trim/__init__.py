"""The trimmer: a voice note's boundaries in a capture, numpy (and, for a
note over a background, a voice detector run in onnxruntime).

Nothing here starts a thread but the voice detector's reader
(:func:`~loopcap.trim.hearing.heard_ahead`), which has ended before the
call that started it returns; nothing here imports another part of
loopcap but :mod:`loopcap.errors`; no I/O but the voice detector's model,
read once from the package's own files (:mod:`~loopcap.trim.judge`):
callers hand in arrays (or a ``read(start, end)`` callable for a closer
look at a span) and get frame positions back.

Its modules, in the order of the flow: :mod:`~loopcap.trim.params` (the
parameters and the span found), :mod:`~loopcap.trim.levels` (chunk powers,
levels, the floor), :mod:`~loopcap.trim.regions` (sounds and their edges),
:mod:`~loopcap.trim.looks` and :mod:`~loopcap.trim.voice` (the closer looks at
a few sounds), :mod:`~loopcap.trim.edges` (a chime or a click over the
note's own floor at its edge, with :mod:`~loopcap.trim.edgefloor`: that floor
beside it), :mod:`~loopcap.trim.spectrum` (the note's
quiet edges by their spectrum), :mod:`~loopcap.trim.release` (a word-final
stop's release after its closure), :mod:`~loopcap.trim.background` (a sound
playing throughout the capture: music, a hum, another voice; with
:mod:`~loopcap.trim.ownfloor`: the note's own floor under it, and
:mod:`~loopcap.trim.judge`: a voice detector that bounds the note's edges
there, and :mod:`~loopcap.trim.hearing`: the span it hears, at its rate),
:mod:`~loopcap.trim.segmenter` (the floor, the sounds and the rules that
join them into a note), :mod:`~loopcap.trim.steady` (a capture that is one
steady sound throughout), :mod:`~loopcap.trim.notes` (one note or every note) and
:mod:`~loopcap.trim.meter` (:class:`LevelMeter`, which feeds it block by
block); beside them :mod:`~loopcap.trim.gate` (live sound/silence for armed
capture) and :mod:`~loopcap.trim.loudness` (LUFS).
"""

from loopcap.trim.background import BACKGROUND_REASON
from loopcap.trim.cutoff import CUT_OFF_REASON, STARTED_REASON, ended_otherwise
from loopcap.trim.levels import chunk_powers, estimate_floor_db, levels_db, levels_in_blocks
from loopcap.trim.meter import LevelMeter, bounds_of_array, notes_of_array
from loopcap.trim.notes import find_bounds, find_notes
from loopcap.trim.params import MIN_DB, Bounds, Reader, TrimParams
from loopcap.trim.regions import find_regions
from loopcap.trim.steady import STEADY_REASON

__all__ = [
    "TrimParams",
    "Bounds",
    "LevelMeter",
    "Reader",
    "MIN_DB",
    "BACKGROUND_REASON",
    "CUT_OFF_REASON",
    "STARTED_REASON",
    "STEADY_REASON",
    "ended_otherwise",
    "chunk_powers",
    "levels_db",
    "estimate_floor_db",
    "find_regions",
    "levels_in_blocks",
    "find_bounds",
    "bounds_of_array",
    "find_notes",
    "notes_of_array",
]
