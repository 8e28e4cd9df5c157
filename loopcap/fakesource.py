"""A deterministic fake loopback source for fast tests and benchmarks.

It behaves like the real thing where the real thing is awkward: reads block,
an idle device can deliver nothing for a while (gaps), and the device can
vanish.  It is selected with ``LOOPCAP_BACKEND=fake``; ``LOOPCAP_FAKE`` holds
comma-separated ``key=value`` settings, e.g.
``LOOPCAP_FAKE="speed=200,signal=noise,lose_after_s=3"``:

- ``speed``: how much faster than real time blocks are delivered (1 = real
  time; ``inf`` = as fast as they are asked for).
- ``signal``: ``silence``, ``tone`` (440 Hz at -12 dBFS, continuous),
  ``burst`` (that tone from 0.5 s to 1.0 s of every 2 seconds, silence
  between) or ``noise`` (-30 dBFS).
- ``gap``: ``start:end`` in seconds of delivered audio during which the device
  delivers nothing (the audio of that span is lost, as on an idle monitor);
  the read blocks for the gap's duration instead.
- ``stall``: ``start:end`` in seconds during which the device delivers
  nothing but loses nothing: from ``end`` on it hands over what it owes as
  fast as it is read (a late delivery, as a monitor can do when a stream
  starts on its sink).
- ``lose_after_s``: raise DeviceLostError after this much audio.
- ``block_frames``: frames per read (default 480, 10 ms at 48 kHz).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from loopcap.errors import DeviceLostError

__all__ = ["FakeSource", "FakeStream"]


@dataclass
class FakeSource:
    """Settings of a fake device; :meth:`open` gives a fresh stream."""

    samplerate: int = 48000
    channels: int = 2
    signal: str = "tone"
    speed: float = 1.0
    block_frames: int = 480
    gaps_s: list[tuple[float, float]] = field(default_factory=list)
    stalls_s: list[tuple[float, float]] = field(default_factory=list)
    lose_after_s: float | None = None
    name: str = "Fake loopback"

    stream: FakeStream | None = None

    @property
    def info(self):  # DeviceInfo, imported lazily to keep the import graph one-way
        from loopcap.device import DeviceInfo

        return DeviceInfo(id="fake.monitor", name=self.name, channels=self.channels, default=True)

    @classmethod
    def from_env(cls) -> FakeSource:
        src = cls()
        spec = os.environ.get("LOOPCAP_FAKE", "")
        for item in filter(None, (p.strip() for p in spec.split(","))):
            key, _, value = item.partition("=")
            if key == "speed":
                src.speed = math.inf if value == "inf" else float(value)
            elif key == "signal":
                src.signal = value
            elif key == "gap":
                a, _, b = value.partition(":")
                src.gaps_s.append((float(a), float(b)))
            elif key == "stall":
                a, _, b = value.partition(":")
                src.stalls_s.append((float(a), float(b)))
            elif key == "lose_after_s":
                src.lose_after_s = float(value)
            elif key == "block_frames":
                src.block_frames = int(value)
            elif key == "channels":
                src.channels = int(value)
            else:
                raise ValueError(f"unknown LOOPCAP_FAKE setting {key!r}")
        return src

    def open(self, samplerate: int) -> FakeStream:
        self.samplerate = samplerate
        self.stream = FakeStream(self)  # the latest, for tests to read its clock
        return self.stream


class FakeStream:
    """Reads are paced by the wall clock divided by ``speed``.  One reader thread.

    At speed 1, position ``p`` plays at monotonic ``t_open + p / samplerate``.
    """

    def __init__(self, source: FakeSource) -> None:
        self.src = source
        self.samplerate = source.samplerate
        self.channels = source.channels
        self.position = 0  # frames produced so far, delivered or lost in a gap
        self._t0 = time.monotonic()  # when position 0 played (at speed 1)
        self._rng = np.random.default_rng(1234)
        self.closed = False

    @property
    def t_open(self) -> float:
        return self._t0

    def _make(self, start: int, n: int) -> np.ndarray:
        sr, ch = self.samplerate, self.channels
        if self.src.signal == "silence":
            return np.zeros((n, ch), np.float32)
        if self.src.signal == "noise":
            x = self._rng.standard_normal(n).astype(np.float32) * np.float32(10 ** (-30 / 20))
        else:
            t = (np.arange(start, start + n) / sr).astype(np.float64)
            x = (0.25 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
            if self.src.signal == "burst":
                phase = np.mod(t, 2.0)
                x[(phase < 0.5) | (phase >= 1.0)] = 0.0
        return np.repeat(x[:, None], ch, axis=1)

    def _in_gap(self, pos_s: float) -> tuple[float, float] | None:
        for a, b in self.src.gaps_s:
            if a <= pos_s < b:
                return a, b
        return None

    def read(self) -> tuple[np.ndarray, float]:
        sr = self.samplerate
        while True:
            if self.closed:
                raise DeviceLostError("the fake device was closed")
            pos_s = self.position / sr
            if self.src.lose_after_s is not None and pos_s >= self.src.lose_after_s:
                raise DeviceLostError(
                    "the loopback device 'Fake loopback' disappeared during "
                    "the capture; what was captured so far is saved"
                )
            n = self.src.block_frames
            # Pace by the wall clock: the block ending at position+n is due then.
            if math.isfinite(self.src.speed):
                due = self._t0 + (self.position + n) / sr / self.src.speed
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            gap = self._in_gap(pos_s)
            if gap is not None:
                # The device delivers nothing for the gap: those frames are gone.
                self.position = max(self.position + n, int(gap[1] * sr))
                continue
            for a, b in self.src.stalls_s:
                if a <= pos_s < b:
                    # Hold back until the stall ends; the blocks owed then come
                    # one after another as fast as they are read.
                    if math.isfinite(self.src.speed):
                        delay = self._t0 + b / self.src.speed - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                    break
            block = self._make(self.position, n)
            self.position += n
            return block, time.monotonic()

    def close(self) -> None:
        self.closed = True
