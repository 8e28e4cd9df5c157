"""The trimmer: a voice note's boundaries in a capture, pure numpy/scipy.

Nothing here does I/O or starts threads, and nothing here imports another
part of loopcap but :mod:`loopcap.errors`: callers hand in arrays (or a
``read(start, end)`` callable for a closer look at a span) and get frame
positions back.
"""

from loopcap.trim.core import (
    MIN_DB,
    Bounds,
    LevelMeter,
    Reader,
    TrimParams,
    bounds_of_array,
    chunk_powers,
    estimate_floor_db,
    find_bounds,
    find_notes,
    find_regions,
    levels_db,
    levels_in_blocks,
    notes_of_array,
)

__all__ = [
    "TrimParams",
    "Bounds",
    "LevelMeter",
    "Reader",
    "MIN_DB",
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
