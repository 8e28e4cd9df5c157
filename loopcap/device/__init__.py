"""Loopback sources, with the backend chosen once per process.

The backend comes from the ``LOOPCAP_BACKEND`` environment variable
(``soundcard``, the default, or ``fake``), the way pystray picks its backend
from ``PYSTRAY_BACKEND``; it is imported lazily, so a command that never
touches a device never imports soundcard (which connects to the sound server
at import time).

- :mod:`loopcap.device.base`: the :class:`Source`/:class:`Stream` interface.
- :mod:`loopcap.device.soundcard`: the real backend, the only module that
  touches soundcard and libpulse.
- :mod:`loopcap.device.fake`: a deterministic fake for tests and benchmarks.
"""

from __future__ import annotations

import os

from loopcap.device.base import DRAIN_LAG_S, HANDOVER_S, DeviceInfo, Source, Stream

__all__ = [
    "DeviceInfo",
    "Source",
    "Stream",
    "list_loopbacks",
    "open_source",
    "backend_name",
    "server_name",
    "HANDOVER_S",
    "DRAIN_LAG_S",
]


def backend_name() -> str:
    """The audio backend chosen for this process (``soundcard`` or ``fake``)."""
    return os.environ.get("LOOPCAP_BACKEND", "soundcard").strip().lower() or "soundcard"


def list_loopbacks() -> list[DeviceInfo]:
    """All loopback devices, the default output's first."""
    if backend_name() == "fake":
        from loopcap.device.fake import FakeSource

        return [FakeSource.from_env().info]
    from loopcap.device.soundcard import SoundcardBackend

    return SoundcardBackend().list()


def open_source(name: str = "") -> Source:
    """Find the loopback device ``name`` (case-insensitive substring of its
    name or id; "" = the default output's loopback).

    Raises DeviceError with the available devices listed when none matches.
    """
    if backend_name() == "fake":
        from loopcap.device.fake import FakeSource

        return FakeSource.from_env()
    from loopcap.device.soundcard import SoundcardBackend

    return SoundcardBackend().find(name)


def server_name() -> str:
    """The sound server as a user knows it ("PulseAudio 16.1", "PipeWire
    0.3.65 (its PulseAudio server)", "Windows audio (WASAPI)"...), or ""
    when it cannot be told.  Raises DeviceError when no server is reachable."""
    if backend_name() == "fake":
        return "loopcap's fake device"
    from loopcap.device.soundcard import SoundcardBackend

    return SoundcardBackend().server_name()
