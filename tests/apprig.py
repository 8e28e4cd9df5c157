"""Two "apps" playing into one sink at once, for the per-application capture
tests: music all along (:func:`music`) and notes, each played as an
application of its own (:func:`play_file_as`); and where a note lies twice in
a recording (:func:`two_notes`).

Imports :mod:`baserig` and :mod:`soundrig` only (see :mod:`rig`).
"""

from __future__ import annotations

import subprocess

import numpy as np
from baserig import SAMPLERATE as SR
from baserig import require
from soundrig import best_lag

__all__ = [
    "NOTES_APART_S",
    "POSITION_TOLERANCE_S",
    "SILENCE_DBFS",
    "music",
    "play_file_as",
    "two_notes",
]

#: How far (s) the second note may be from its true distance to the first.
POSITION_TOLERANCE_S = 0.02
#: Where only the other app played, the recording stays below this (dBFS).
SILENCE_DBFS = -70.0
#: The notes app plays its second note this long (s) after its first.
NOTES_APART_S = 7.0


def music(seconds: float) -> np.ndarray:
    """Chords of three tones that change every 0.5 s, at about -14 dBFS (stereo)."""
    t = np.arange(int(seconds * SR)) / SR
    roots = np.array([220.0, 247.0, 262.0, 196.0])[(t // 0.5).astype(int) % 4]
    phase = 2 * np.pi * np.cumsum(roots) / SR
    x = 0.1 * (np.sin(phase) + np.sin(1.25 * phase) + np.sin(1.5 * phase))
    return np.repeat(x[:, None], 2, axis=1).astype(np.float32)


def two_notes(x: np.ndarray, note: np.ndarray) -> tuple[int, float, int, float]:
    """Where ``note`` lies in ``x`` twice: (first lag, its correlation, second
    lag, its correlation)."""
    n = len(note)
    a, ca = best_lag(x, note)
    before, cb = best_lag(x[: max(a, 1)], note)
    after, cc = best_lag(x[a + n :], note)
    if cb >= cc:
        return before, cb, a, ca
    return a, ca, a + n + after, cc


def play_file_as(server, client: str, path, wait: bool = True) -> subprocess.Popen | None:
    """paplay ``path`` as application ``client`` (a stream of its own) on
    ``server``'s sink; ``wait``: until it has played (None), else the running
    player.  With 40 ms of latency, as Chromium's streams ask (paplay's
    default of 2 s would let the sink render a sound ahead of its time)."""
    require("paplay")
    cmd = ["paplay", f"--client-name={client}", "--latency-msec=40", "-d", server.sink, str(path)]
    if wait:
        subprocess.run(cmd, env=server.env(), check=True, timeout=60)
        return None
    return subprocess.Popen(cmd, env=server.env())
