"""Integrated loudness (ITU-R BS.1770-4, LUFS), measured block by block.

pyloudnorm measures whole arrays held in memory; a note can be long, so this
keeps only one mean square per 100 ms step and per channel.  The K-weighting
filters are pyloudnorm's (its ``IIRfilter`` designs them for any rate); they
run here with their state carried across blocks (scipy's ``lfilter``), and the
gating is the standard's: 400 ms blocks overlapping by 75%, an absolute gate
at -70 LUFS and a relative gate 10 LU under the loudness of what passed.
Channel weights are 1 (mono and stereo).  Tests check it against pyloudnorm.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["LoudnessMeter"]

_STEP_S = 0.1  # gating blocks are 4 steps (400 ms) moved 1 step (75% overlap)


class LoudnessMeter:
    """Feed float32 blocks (frames x channels), then read :attr:`lufs`.

    Single-threaded.  ``lufs`` is ``-inf`` for silence or under 400 ms of audio.
    """

    def __init__(self, samplerate: int, channels: int) -> None:
        from pyloudnorm.iirfilter import IIRfilter  # lazy: pulls in scipy

        self.samplerate, self.channels = samplerate, channels
        # BS.1770's two stages, with pyloudnorm's parameters.
        stages = [
            IIRfilter(4.0, 1 / math.sqrt(2), 1500.0, samplerate, "high_shelf"),
            IIRfilter(0.0, 0.5, 38.0, samplerate, "high_pass"),
        ]
        self._ba = [(np.asarray(s.b, np.float64), np.asarray(s.a, np.float64)) for s in stages]
        self._zi = [np.zeros((max(len(b), len(a)) - 1, channels)) for b, a in self._ba]
        self._step = max(1, round(_STEP_S * samplerate))
        self._acc = np.zeros(channels)  # sum of squares in the current step
        self._n = 0  # frames in the current step
        self._steps: list[np.ndarray] = []  # mean square per channel per full step
        self.peak = 0.0  # sample peak of everything fed

    def feed(self, block: np.ndarray) -> None:
        from scipy.signal import lfilter

        x = np.asarray(block, dtype=np.float64).reshape(-1, self.channels)
        if len(x) == 0:
            return
        self.peak = max(self.peak, float(np.max(np.abs(x))))
        for k, (b, a) in enumerate(self._ba):
            x, self._zi[k] = lfilter(b, a, x, axis=0, zi=self._zi[k])
        sq = x * x
        i = 0
        while i < len(sq):
            take = min(self._step - self._n, len(sq) - i)
            self._acc += sq[i : i + take].sum(axis=0)
            self._n += take
            i += take
            if self._n == self._step:
                self._steps.append(self._acc / self._step)
                self._acc = np.zeros(self.channels)
                self._n = 0

    @property
    def lufs(self) -> float:
        if len(self._steps) < 4:
            return float("-inf")
        steps = np.array(self._steps).sum(axis=1)  # channel weights are all 1
        z = np.convolve(steps, np.ones(4), "valid") / 4  # 400 ms blocks, 100 ms apart
        with np.errstate(divide="ignore"):
            loud = -0.691 + 10 * np.log10(z)
        z = z[loud > -70.0]
        if len(z) == 0:
            return float("-inf")
        relative = -0.691 + 10 * math.log10(z.mean()) - 10.0
        with np.errstate(divide="ignore"):
            z = z[-0.691 + 10 * np.log10(z) > relative]
        return -0.691 + 10 * math.log10(z.mean()) if len(z) else float("-inf")
