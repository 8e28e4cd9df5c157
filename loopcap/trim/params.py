"""The trimmer's vocabulary: its parameters, the span it finds, the reader it
is handed.  Pure data, no I/O.

Times are in seconds, levels in dBFS, positions in samples (frames); the
analysis works on *chunks* of ``hop_s`` seconds (:func:`hop_frames` samples).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["MIN_DB", "TrimParams", "Bounds", "Reader", "hop_frames", "window_chunks"]

#: Level given to digital silence, in dBFS (below any real device's floor).
MIN_DB = -140.0
#: A capture floor at or under this (dBFS) is digital silence: nothing
#: audible lies under it, so no room is kept for a voice buried there
#: (room.py), and its samples lie within ``silentedge.SILENT_AMP`` (-120
#: dBFS) of zero, so the bounds move in to the note's first and last sample
#: (silentedge.py).  Float mixing leaves traces down to -134 dBFS and under
#: where a sound has ended (seed 17 mix003); a 24-bit capture's least step
#: lies at -138 dBFS.
DIGITAL_SILENCE_DB = MIN_DB + 10.0


@dataclass(frozen=True)
class TrimParams:
    """The ``[trim]`` table of the config."""

    #: Analysis resolution: one level every ``hop_s`` seconds.
    hop_s: float = 0.0025
    #: Window over which a level is averaged, in seconds.
    frame_s: float = 0.01
    #: Length of the quietest stretch that defines the capture's floor, in s.
    floor_window_s: float = 0.1
    #: A sound begins where the level rises this far above the floor (dB).
    open_db: float = 12.0
    #: ...and extends while it stays this far above the floor (dB): the
    #: note's audible boundary.
    close_db: float = 6.0
    #: Sounds that never reach ``open_db`` count if ``close_db`` above the
    #: floor for this long in all (s): a quiet note never clear of the hiss.
    open_after_s: float = 0.2
    #: Sounds separated by less silence than this are one sound (seconds).
    merge_gap_s: float = 0.6
    #: A sound this close to the note (s) is part of it (a pause between
    #: sentences) if it could be a voice.
    max_pause_s: float = 1.7
    #: Sounds shorter than this (s) are fragments.  They used to end the note
    #: by their length alone; since issue 15 (a 55 ms fragment of a quiet
    #: note over a whine cut 7.8 s of it) a fragment is judged like any sound
    #: (a bright one ends the note, a voice-like one joins it, any other is
    #: stepped over), so the single-note trimmer and the splitter no longer
    #: read this key; kept so that configs naming it stay valid.
    min_sound_s: float = 0.08
    #: Over ``presence_window_s`` seconds, a level this far (dB) above the
    #: floor is the note's own noise floor: it joins whatever it spans.
    presence_window_s: float = 0.25
    presence_db: float = 1.5
    #: How far (dB) a voice note's own noise floor lies below its speech at
    #: most: over a capture floor further down than that, its pauses are
    #: never silent.
    note_snr_db: float = 65.0
    #: ...but where a sound's quietest ``floor_window_s`` lies this far (dB)
    #: below its loudest moment and ``close_db`` over the capture's floor, that
    #: is the note's own floor showing in a pause: its pauses are not silent.
    own_floor_depth_db: float = 35.0
    #: Sounds whose RMS frequency lies above this (Hz) are clicks or noise
    #: bursts, never joined to the note across a pause.
    bright_hz: float = 2400.0
    #: ...and across a silent pause only sounds that could be a voice join
    #: it: at least this share of their power under 400 Hz (a voice's pitch;
    #: chimes lie higher) and a pitch period at least this clear (0..1; a
    #: thump or a knock has none).  See :mod:`loopcap.trim.voice`.
    voice_low_share: float = 0.08
    voice_periodicity: float = 0.3
    #: The note's quiet edges (a fading last syllable, its own floor) reach as
    #: far as levels over ``edge_window_s`` seconds stay ``edge_db`` above the floor.
    edge_window_s: float = 0.05
    edge_db: float = 3.0
    #: In a capture of several notes (``split``), a sound is a note only if
    #: it lasts at least this long (s) and could be a voice; others are other
    #: sounds.
    min_note_s: float = 0.5
    #: Kept before the note's first and after its last audible moment (s).
    pad_s: float = 0.0


@dataclass(frozen=True)
class Bounds:
    """The note's span in samples, ``start`` inclusive, ``end`` exclusive.

    ``reason``: None for a note found; else one line saying why more than
    the note was kept (the whole capture, when the note could not be told
    from a sound playing throughout it), for the caller to show.
    """

    start: int
    end: int
    floor_db: float
    samplerate: int
    reason: str | None = None

    @property
    def start_s(self) -> float:
        return self.start / self.samplerate

    @property
    def end_s(self) -> float:
        return self.end / self.samplerate

    @property
    def kept_s(self) -> float:
        return (self.end - self.start) / self.samplerate


#: ``read(start, end)`` -> frames [start, end) of the audio (float32, frames x
#: channels): lets the trimmer look closer at a few short sounds.
Reader = Callable[[int, int], np.ndarray]


def hop_frames(samplerate: int, params: TrimParams) -> int:
    """Samples per chunk (one chunk power every ``params.hop_s``), at least 1."""
    return max(1, round(params.hop_s * samplerate))


def window_chunks(seconds: float, params: TrimParams) -> int:
    """Chunks in a window of ``seconds`` (a level's frame, the floor's window),
    at least 1."""
    return max(1, round(seconds / params.hop_s))
