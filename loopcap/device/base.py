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

__all__ = ["DeviceInfo", "Source", "Stream"]


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

    def close(self) -> None:
        """Release the device.  Idempotent."""


class Source(Protocol):
    """A loopback device that can be opened for capture."""

    info: DeviceInfo

    def open(self, samplerate: int) -> Stream:
        """Open a capture stream (48 kHz float32, the device's channels)."""
