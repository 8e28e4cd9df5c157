"""A deterministic fake loopback source for fast tests and benchmarks.

It behaves like the real thing where the real thing is awkward: reads block,
an idle device can deliver nothing for a while (gaps), and the device can
vanish.  It is selected with ``LOOPCAP_BACKEND=fake``; ``LOOPCAP_FAKE`` holds
comma-separated ``key=value`` settings, e.g.
``LOOPCAP_FAKE="speed=200,signal=noise,lose_after_s=3"``:

- ``speed``: how much faster than real time blocks are delivered (1 = real
  time; ``inf`` = as fast as they are asked for).
- ``fast_after_s``: deliver in real time for this much audio, and only then
  ``speed`` times faster (a capture then starts as on a real device).
- ``end_after_s``: after exactly this much audio the device delivers nothing
  more (reads block until the stream is closed).
- ``signal``: ``silence``, ``tone`` (440 Hz at -12 dBFS, continuous),
  ``burst`` (that tone from 0.5 s to 1.0 s of every 2 seconds, silence
  between), ``noise`` (-30 dBFS) or ``counter``: every frame tells its own
  position in the device's stream (see :func:`decode_counter`), so a test can
  say exactly which frames a file holds, which are missing and which are
  doubled.  It sounds like steady noise (-24 dBFS peak): the trimmer finds
  no note in it.
- ``gap``: ``start:end`` in seconds of delivered audio during which the device
  delivers nothing (the audio of that span is lost, as on an idle monitor);
  the read blocks for the gap's duration instead.
- ``stall``: ``start:end`` in seconds during which the device delivers
  nothing but loses nothing: from ``end`` on it hands over what it owes as
  fast as it is read (a late delivery, as a monitor can do when a stream
  starts on its sink).
- ``lose_after_s``: raise DeviceLostError after this much audio.
- ``block_frames``: frames per read (default 480, 10 ms at 48 kHz).

``LOOPCAP_FAKE_APPS`` lists the applications the fake says are playing
(:func:`fake_apps`), ``;``-separated ``name:binary:pid:streams``, e.g.
``"Chromium:chromium:4242:3,7;Music:mpv::9"``; with the fake backend,
``open_app_source(name)`` gives the fake device above under the app's name.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from loopcap.device.base import AppInfo, DeviceInfo
from loopcap.errors import DeviceLostError

__all__ = ["FakeSource", "FakeStream", "counter_frames", "decode_counter", "fake_apps"]

# The counter signal: frame ``p`` holds ``W(p mod 2**20)`` in channel 0 and
# ``W((p >> 20) XOR (p mod 2**20))`` in channel 1, where ``W(k) = (k * A mod
# 2**20 - 2**19) / 2**23``.  Multiplying by an odd A scrambles consecutive
# positions into noise-like values; A is odd, so W can be inverted.  Every
# value is a multiple of 2**-23 below 1/16, exact in float32 and in 24-bit PCM
# (FLAC), so files in those formats decode to the exact positions.
_COUNTER_BITS = 20
_COUNTER_MASK = (1 << _COUNTER_BITS) - 1
_COUNTER_A = 648_117  # odd, about 0.618 * 2**20
_COUNTER_A_INV = pow(_COUNTER_A, -1, 1 << _COUNTER_BITS)


def _scramble(k: np.ndarray) -> np.ndarray:
    code = (k * _COUNTER_A) & _COUNTER_MASK
    return ((code - (1 << (_COUNTER_BITS - 1))) / float(1 << 23)).astype(np.float32)


def _unscramble(x: np.ndarray) -> np.ndarray:
    code = np.rint(np.asarray(x, np.float64) * (1 << 23)).astype(np.int64)
    return ((code + (1 << (_COUNTER_BITS - 1))) * _COUNTER_A_INV) & _COUNTER_MASK


def counter_frames(start: int, n: int, channels: int = 2) -> np.ndarray:
    """Frames ``start .. start+n-1`` of the counter signal (float32, n x channels)."""
    p = np.arange(start, start + n, dtype=np.int64)
    lo = p & _COUNTER_MASK
    cols = [_scramble(lo)]
    if channels >= 2:
        cols.append(_scramble(((p >> _COUNTER_BITS) & _COUNTER_MASK) ^ lo))
    while len(cols) < channels:
        cols.append(cols[0])
    return np.stack(cols, axis=1)


def decode_counter(frames: np.ndarray) -> np.ndarray:
    """Stream positions (int64) of frames of the counter signal.

    ``frames`` is n x channels as read back from a file; with two channels
    or more the positions are exact up to 2**40 frames (seven months at
    48 kHz), with one channel they are modulo 2**20.  A frame that is not
    the counter (silence written by the timeline, say) decodes to some
    position that does not fit its neighbours.
    """
    frames = np.asarray(frames)
    if frames.ndim == 1:
        frames = frames[:, None]
    lo = _unscramble(frames[:, 0])
    if frames.shape[1] < 2:
        return lo
    hi = _unscramble(frames[:, 1]) ^ lo
    return (hi << _COUNTER_BITS) | lo


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
    fast_after_s: float = 0.0
    end_after_s: float | None = None
    name: str = "Fake loopback"
    id: str = "fake.monitor"

    stream: FakeStream | None = None

    @property
    def info(self) -> DeviceInfo:
        return DeviceInfo(id=self.id, name=self.name, channels=self.channels, default=True)

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
            elif key == "fast_after_s":
                src.fast_after_s = float(value)
            elif key == "end_after_s":
                src.end_after_s = float(value)
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


def fake_apps() -> list[AppInfo]:
    """The applications ``LOOPCAP_FAKE_APPS`` says are playing (see above)."""
    apps = []
    spec = os.environ.get("LOOPCAP_FAKE_APPS", "")
    for item in filter(None, (p.strip() for p in spec.split(";"))):
        name, binary, pid, streams = (item.split(":") + ["", "", ""])[:4]
        apps.append(
            AppInfo(
                name=name,
                binary=binary,
                pid=int(pid) if pid else None,
                streams=tuple(int(i) for i in streams.split(",") if i),
                sinks=("fake",),
            )
        )
    return apps


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

    def _due(self, position: int) -> float:
        """Monotonic time at which the audio up to ``position`` is delivered."""
        t = position / self.samplerate
        fast = self.src.fast_after_s
        if t > fast:
            t = fast + (t - fast) / self.src.speed
        return self._t0 + t

    def _make(self, start: int, n: int) -> np.ndarray:
        sr, ch = self.samplerate, self.channels
        if self.src.signal == "counter":
            return counter_frames(start, n, ch)
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
            if self.src.end_after_s is not None:
                n = min(n, round(self.src.end_after_s * sr) - self.position)
                if n <= 0:  # the device has nothing more to give
                    time.sleep(0.05)
                    continue
            # Pace by the wall clock: the block ending at position+n is due then.
            if math.isfinite(self.src.speed):
                delay = self._due(self.position + n) - time.monotonic()
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
                        delay = self._due(round(b * sr)) - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                    break
            block = self._make(self.position, n)
            self.position += n
            return block, time.monotonic()

    def drain(self) -> None:
        """Nothing to do: the fake holds nothing back, every block is handed
        over as it is made."""

    def close(self) -> None:
        self.closed = True
