"""The loopback source interface every backend implements.

A *source* is a loopback device (the monitor of an output on Linux, WASAPI
loopback on Windows, a virtual device such as BlackHole on macOS).  Opening
it gives a *stream* whose :meth:`Stream.read` blocks until the device has
data.  Everything above :mod:`loopcap.device` sees only this small interface,
so the real backend and the deterministic fake are interchangeable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = [
    "AppInfo",
    "DeviceInfo",
    "Source",
    "Stream",
    "HANDOVER_S",
    "DRAIN_LAG_S",
    "match_app",
    "run_start",
]

# The timing every stream keeps; the capture, the writer and the session
# derive their own waits from these two numbers.

#: While audio flows, a stream hands over what it holds at least this often
#: (s).  The soundcard stream reads, checks its device and hands over once
#: per period: each wake-up costs ~130 us of CPU (measured), so a longer
#: period is cheaper, and the writer's disk latency follows it.
HANDOVER_S = 0.25
#: After :meth:`Stream.drain`, the last hand-over waits this long (s) for audio
#: still on its way from the server (a 10 ms fragment, then the socket).
#: Without the wait a stop made the moment a player finished lost the sound's
#: last fragment (measured in the app's SIGTERM test, about 1 run in 3, once
#: signals were acted on within 13 ms).
DRAIN_LAG_S = 0.06


@dataclass(frozen=True)
class DeviceInfo:
    """One loopback device as the user sees it."""

    id: str
    name: str
    channels: int
    default: bool  # True for the loopback of the default output


@dataclass(frozen=True)
class AppInfo:
    """An application that plays now, as the sound server names it.

    ``streams`` are its playback streams (PulseAudio sink-input indices) and
    ``sinks`` the outputs they play to, both as they were when listed.
    """

    name: str  # application.name ("Chromium", "WhatsApp")
    binary: str  # application.process.binary ("chromium"), "" if unknown
    pid: int | None
    streams: tuple[int, ...]
    sinks: tuple[str, ...]


def match_app(name: str, apps: list[AppInfo]) -> list[AppInfo]:
    """The apps whose application name or process binary contains ``name``,
    case-insensitively (none for an empty name): "chrom" finds Chromium and
    Google Chrome, "whatsapp" the desktop app."""
    low = name.strip().lower()
    if not low:
        return []
    return [a for a in apps if low in a.name.lower() or low in a.binary.lower()]


class Stream(Protocol):
    """An open capture stream.  Not thread-safe: one reader thread only."""

    samplerate: int
    channels: int

    def read(self) -> tuple[np.ndarray, float]:
        """Block until audio is available; return float32 frames x channels and
        the monotonic time the last of them arrived.

        Raises DeviceLostError when the device or the sound server went away.
        May block for seconds on an idle device: never call it from a thread
        that must stay responsive.
        """

    def drain(self) -> None:
        """Ask :meth:`read` to return what it holds within ``DRAIN_LAG_S``
        (a capture is stopping).  Thread-safe, never blocks."""

    def close(self) -> None:
        """Release the device.  Idempotent."""


class Source(Protocol):
    """A loopback device that can be opened for capture."""

    @property
    def info(self) -> DeviceInfo:
        """The device as the user sees it (read-only; a plain attribute will do)."""

    def open(self, samplerate: int) -> Stream:
        """Open a capture stream (48 kHz float32, the device's channels)."""


def run_start(arrivals: list[tuple[float, int]], samplerate: int) -> float:
    """When a run of contiguous blocks began (monotonic s).

    ``arrivals`` holds each block's arrival time and length in frames,
    oldest first.  A block is stamped when it arrives, which is never early
    but can be late by a read or more; so the run cannot have begun later
    than any block's arrival minus all the audio up to that block's end.
    The earliest of these bounds is the best estimate (measured: placing by
    the first block alone put position 0 up to 25 ms off).  The writer
    places a run by it, and so does the per-application mixer
    (:mod:`loopcap.device.mixer`) each of its streams.
    """
    start = float("inf")
    total = 0
    for t, n in arrivals:
        total += n
        start = min(start, t - total / samplerate)
    return start
