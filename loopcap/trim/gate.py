"""Live sound/silence decisions for hands-free (armed) capture: pure numpy.

An armed capture must start when sound begins and stop after a stretch of
silence, decided on the live stream, not after the fact.  :class:`SoundGate`
uses the trimmer's measures (:mod:`loopcap.trim`): chunk powers every
``hop_s``, levels over ``frame_s``, and the floor as the quietest
``floor_window_s`` heard so far.  Sound begins where the level stays
``open_db`` above the floor for ``onset_s`` (a click is too short to count);
it goes on while levels over ``edge_window_s`` stay ``close_db`` above it (a
voice note's own noise floor in its pauses keeps it going).

Time is the monotonic clock of the blocks' arrival (see
:class:`loopcap.capture.Block`).  Silence is judged against the wall clock by
the caller (:meth:`SoundGate.silent_for`): an idle loopback device may
deliver nothing at all while nothing plays.

Single-threaded: feed blocks from one thread; the two read-only attributes
(``onset_t``, ``last_sound_t``) may be read from any thread.
"""

from __future__ import annotations

import collections

import numpy as np

from .levels import chunk_powers
from .params import MIN_DB, TrimParams, hop_frames, window_chunks

__all__ = ["SoundGate", "ONSET_S"]

#: Sound must stay above the gate this long (s) to start a capture.
ONSET_S = 0.03
#: The floor is the quietest stretch of the last this many seconds.
FLOOR_MEMORY_S = 60.0


class SoundGate:
    """Feed blocks with :meth:`feed`; read :attr:`onset_t` and :attr:`last_sound_t`."""

    def __init__(self, samplerate: int, params: TrimParams | None = None) -> None:
        p = params or TrimParams()
        self.params = p
        self.samplerate = samplerate
        self.hop = hop_frames(samplerate, p)
        self._frame_n = window_chunks(p.frame_s, p)
        self._edge_n = max(self._frame_n, round(p.edge_window_s / p.hop_s))
        self._floor_n = window_chunks(p.floor_window_s, p)
        self._carry = np.zeros((0, 1), np.float32)
        self._recent = np.zeros(0, np.float32)  # the last chunk powers, for the windows
        self._floor_sum = 0.0
        self._floor_count = 0
        self._floors: collections.deque[float] = collections.deque(
            maxlen=max(1, round(FLOOR_MEMORY_S / p.floor_window_s))
        )
        self._run = 0  # chunks in a row above the open threshold
        self.onset_t: float | None = None  # when sound first began (monotonic s)
        self.last_sound_t: float | None = None  # the last moment of sound heard

    @property
    def floor_db(self) -> float:
        """The quietest ``floor_window_s`` heard so far (``MIN_DB`` before any)."""
        if not self._floors:
            return MIN_DB
        return float(max(MIN_DB, 10 * np.log10(max(min(self._floors), 1e-30))))

    def feed(self, frames: np.ndarray, t_end: float) -> None:
        """One block of audio (frames x channels, float) whose last frame
        arrived at monotonic ``t_end``."""
        x = np.asarray(frames, dtype=np.float32)
        if x.ndim == 1:
            x = x[:, None]
        if len(x) == 0:
            return
        if self._carry.shape[1] != x.shape[1]:
            self._carry = np.zeros((0, x.shape[1]), np.float32)
        x = np.concatenate([self._carry, x])
        usable = len(x) - len(x) % self.hop
        self._carry = x[usable:]
        if not usable:
            return
        powers = chunk_powers(x[:usable], self.hop)
        # Time of the end of each chunk: the block's end is t_end, minus
        # what is still carried over.
        t_last = t_end - len(self._carry) / self.samplerate
        t = t_last - (len(powers) - 1 - np.arange(len(powers))) * self.hop / self.samplerate
        self._update_floor(powers)
        keep = self._edge_n - 1
        joined = np.concatenate([self._recent, powers])
        self._recent = joined[-keep:] if keep else joined[:0]
        floor = self.floor_db
        p = self.params
        short = _trailing_mean(joined, self._frame_n)[-len(powers) :]
        edge = _trailing_mean(joined, self._edge_n)[-len(powers) :]
        with np.errstate(divide="ignore"):
            loud = 10 * np.log10(np.maximum(short, 1e-30)) > floor + p.open_db
            audible = 10 * np.log10(np.maximum(edge, 1e-30)) > floor + p.close_db
        need = max(1, round(ONSET_S / p.hop_s))
        # No decision before the floor is known: hiss would pass for sound.
        if self.onset_t is None and self._floors:
            for i in range(len(powers)):
                self._run = self._run + 1 if loud[i] else 0
                if self._run >= need:
                    # Sound began where the run began.
                    self.onset_t = float(t[i]) - need * self.hop / self.samplerate
                    break
        if self.onset_t is not None and audible.any():
            self.last_sound_t = float(t[np.flatnonzero(audible)[-1]])

    def silent_for(self, now: float) -> float:
        """Seconds since the last sound (0 before sound has begun)."""
        if self.last_sound_t is None:
            return 0.0
        return max(0.0, now - self.last_sound_t)

    def _update_floor(self, powers: np.ndarray) -> None:
        """Mean power per whole ``floor_window_s``; the floor is their minimum."""
        i = 0
        while i < len(powers):
            take = min(self._floor_n - self._floor_count, len(powers) - i)
            self._floor_sum += float(powers[i : i + take].sum(dtype=np.float64))
            self._floor_count += take
            i += take
            if self._floor_count == self._floor_n:
                self._floors.append(self._floor_sum / self._floor_n)
                self._floor_sum, self._floor_count = 0.0, 0


def _trailing_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Mean of each item and the ``n - 1`` before it (fewer at the start).

    ``scipy.signal.lfilter(np.ones(n), 1, x)`` would give the sums too, but
    the gate runs in the waiting app, and importing scipy.signal adds ~72 MiB
    to it (measured for issue 11); on a block's few dozen chunks a cumulative
    sum is as fast.
    """
    c = np.concatenate(([0.0], np.cumsum(x, dtype=np.float64)))
    idx = np.arange(1, len(x) + 1)
    lo = np.maximum(idx - n, 0)
    return (c[idx] - c[lo]) / (idx - lo)
