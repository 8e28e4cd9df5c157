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
- :mod:`loopcap.device.mixer`: one application's streams on one timeline.

Per-application capture (:func:`open_app_source`, :func:`list_apps`) exists
where :func:`app_capture_support` says so: on Linux, through PulseAudio's
(and pipewire-pulse's) per-stream monitor.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from loopcap.device.base import (
    DRAIN_LAG_S,
    HANDOVER_S,
    AppInfo,
    DeviceInfo,
    Source,
    Stream,
    match_app,
)
from loopcap.errors import DeviceError

if TYPE_CHECKING:
    from loopcap.device.soundcard.outputs import OutputWatcher

__all__ = [
    "AppInfo",
    "DeviceInfo",
    "Source",
    "Stream",
    "list_loopbacks",
    "open_source",
    "backend_name",
    "server_name",
    "watch_default_output",
    "HANDOVER_S",
    "DRAIN_LAG_S",
    "app_capture_support",
    "list_apps",
    "match_app",
    "open_app_source",
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


def watch_default_output(on_change: Callable[[], None]) -> OutputWatcher | None:
    """Call ``on_change`` (from a thread of the watcher's, never blocking)
    whenever the sound server says the default output may have changed;
    the watcher, or None where the server cannot tell (Windows, macOS, the
    fake backend, no pulsectl connection): the caller then looks for itself
    now and then.  See :mod:`loopcap.device.soundcard.outputs`; close the
    watcher when done."""
    if backend_name() == "fake" or sys.platform in ("win32", "darwin"):
        return None
    from loopcap.device.soundcard.outputs import OutputWatcher

    try:
        return OutputWatcher(on_change).start()
    except Exception:  # no server, or pulsectl refused the subscription: poll
        return None


# Per-application capture.  Windows (10 2004+) can capture one process tree
# with AUDIOCLIENT_ACTIVATION_TYPE_PROCESS_LOOPBACK (ActivateAudioInterfaceAsync),
# macOS 14.4+ with a Core Audio process tap (CATapDescription); soundcard
# offers neither (SoundCard #130 asks for per-app capture), and no maintained
# Python package wraps them as of this writing (PyAudioWPatch and
# pyaudiowpatch give whole-device WASAPI loopback only; the process-loopback
# examples are C++ samples, and the macOS taps only Swift/Objective-C ones).
# A backend slots in as a module under device/soundcard/ (or its own
# package) with an AppSource whose Stream delivers the app's mix, stamped
# like any stream; these functions then pick it by sys.platform.


def app_capture_support() -> tuple[bool, str]:
    """Whether this system can record one application alone, and if not, a
    sentence that says so."""
    if backend_name() == "fake":
        return True, ""
    if sys.platform == "win32":
        return False, (
            "this system records the whole output only: per-application capture "
            "on Windows is not available in loopcap yet"
        )
    if sys.platform == "darwin":
        return False, (
            "this system records the whole output only: per-application capture "
            "on macOS is not available in loopcap yet"
        )
    return True, ""


def list_apps() -> list[AppInfo]:
    """The applications playing now; DeviceError when no sound server is
    reachable (or the system cannot tell, see :func:`app_capture_support`)."""
    supported, why = app_capture_support()
    if not supported:
        raise DeviceError(why)
    if backend_name() == "fake":
        from loopcap.device.fake import fake_apps

        return fake_apps()
    from loopcap.device.soundcard.apps import list_apps as listed

    return listed()


def open_app_source(name: str) -> Source:
    """The sound of the applications matching ``name`` (see
    :func:`match_app`) alone, the mix of all their playback streams on one
    timeline; its stream delivers nothing while none plays.

    Never fails because the app is not playing now: its streams are
    recorded when they appear (and the capture is silence until then).
    Raises DeviceError where per-application capture is not available
    (Windows, macOS) or for an empty name.
    """
    supported, why = app_capture_support()
    if not supported:
        raise DeviceError(why)
    if not name.strip():
        raise DeviceError("name the application to record (loopcap apps lists those playing)")
    if backend_name() == "fake":
        from loopcap.device.fake import FakeSource

        fake = FakeSource.from_env()
        fake.name, fake.id = f"{name.strip()} (app)", f"app:{name.strip().lower()}"
        return fake
    from loopcap.device.soundcard.app_stream import AppSource
    from loopcap.device.soundcard.apps import default_channels

    return AppSource(name, default_channels())
