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

__all__ = ["DeviceInfo", "Source", "Stream", "HANDOVER_S", "DRAIN_LAG_S"]

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
