"""Loopback sources, with the backend chosen once per process.

The backend comes from the ``LOOPCAP_BACKEND`` environment variable
(``soundcard``, the default, or ``fake``), the way pystray picks its backend
from ``PYSTRAY_BACKEND``; it is imported lazily, so a command that never
touches a device never imports soundcard (which connects to the sound server
at import time).  Likewise ``LOOPCAP_APP_BACKEND`` (``flexaudio``) forces
the backend of per-application capture: flexaudio on any system, Linux on
PipeWire included (its tests use it); unset, each system gets its own
(PulseAudio's per-stream monitor on Linux, flexaudio on Windows, catap on
macOS).

- :mod:`loopcap.device.base`: the :class:`Source`/:class:`Stream` interface.
- :mod:`loopcap.device.soundcard`: the real backend, the only module that
  touches soundcard and libpulse.
- :mod:`loopcap.device.fake`: a deterministic fake for tests and benchmarks.
- :mod:`loopcap.device.mixer`: one application's streams on one timeline.
- :mod:`loopcap.device.flexaudio_app`, :mod:`loopcap.device.catap_app`: one
  application's processes through flexaudio (Windows) and catap (macOS),
  followed by :mod:`loopcap.device.app_follow`.

Per-application capture (:func:`open_app_source`, :func:`list_apps`) exists
where :func:`app_capture_support` says so: on Linux, through PulseAudio's
(and pipewire-pulse's) per-stream monitor; on Windows 11 through flexaudio
(``loopcap[app-windows]``); on macOS 14.2+ through catap
(``loopcap[app-macos]``).
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
    "app_backend_name",
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


# Per-application capture.  Windows (11, build 20348+) captures one process
# tree with AUDIOCLIENT_ACTIVATION_TYPE_PROCESS_LOOPBACK, macOS 14.2+ one
# process with a Core Audio process tap; soundcard offers neither (SoundCard
# #130 asks for per-app capture).  Two maintained packages wrap them, each an
# optional extra imported lazily: flexaudio (Windows; Linux on PipeWire too,
# chosen there only by LOOPCAP_APP_BACKEND) and catap (macOS).  Each backend
# is a module of its own with a Source whose Stream delivers the app's mix,
# stamped like any stream (loopcap.device.app_follow holds their shared part).


def app_backend_name() -> str:
    """The per-application backend forced by ``LOOPCAP_APP_BACKEND``
    (``flexaudio``), or "" for this system's own."""
    return os.environ.get("LOOPCAP_APP_BACKEND", "").strip().lower()


def _app_backend() -> tuple[str, str]:
    """(backend, "") where one application can be recorded alone, or ("",
    the sentence that says why not)."""
    if backend_name() == "fake":
        return "fake", ""
    forced = app_backend_name()
    if forced == "flexaudio" or (not forced and sys.platform == "win32"):
        from loopcap.device.flexaudio_app import process_capture_support

        try:
            supported, why = process_capture_support()
        except DeviceError:  # flexaudio is not installed
            return "", (
                "this system records the whole output only: per-application capture "
                "on Windows needs Windows 11 and `pip install loopcap[app-windows]`"
            )
        return ("flexaudio", "") if supported else ("", why)
    if forced:
        return "", f"LOOPCAP_APP_BACKEND={forced} is not a backend loopcap knows (flexaudio)"
    if sys.platform == "darwin":
        from loopcap.device.catap_app import catap_support

        if catap_support():
            return "catap", ""
        return "", (
            "this system records the whole output only: per-application capture "
            "on macOS needs macOS 14.2 or later and `pip install loopcap[app-macos]`"
        )
    return "pulse", ""


def app_capture_support() -> tuple[bool, str]:
    """Whether this system can record one application alone, and if not, a
    sentence that says so."""
    backend, why = _app_backend()
    return bool(backend), why


def list_apps() -> list[AppInfo]:
    """The applications playing now; DeviceError when no sound server is
    reachable (or the system cannot tell, see :func:`app_capture_support`)."""
    backend, why = _app_backend()
    if not backend:
        raise DeviceError(why)
    if backend == "fake":
        from loopcap.device.fake import fake_apps

        return fake_apps()
    if backend == "flexaudio":
        from loopcap.device.flexaudio_app import list_apps as flexaudio_apps

        return flexaudio_apps()
    if backend == "catap":
        from loopcap.device.catap_app import list_apps as catap_apps

        return catap_apps()
    from loopcap.device.soundcard.apps import list_apps as listed

    return listed()


def open_app_source(name: str) -> Source:
    """The sound of the applications matching ``name`` (see
    :func:`match_app`) alone, the mix of all their playback streams on one
    timeline; its stream delivers nothing while none plays.

    Never fails because the app is not playing now: its streams are
    recorded when they appear (and the capture is silence until then).
    Raises DeviceError where per-application capture is not available
    (Windows before 11 or without flexaudio, macOS before 14.2 or without
    catap) or for an empty name.
    """
    backend, why = _app_backend()
    if not backend:
        raise DeviceError(why)
    if not name.strip():
        raise DeviceError("name the application to record (loopcap apps lists those playing)")
    if backend == "flexaudio":
        from loopcap.device.flexaudio_app import FlexaudioAppSource

        return FlexaudioAppSource(name)
    if backend == "catap":
        from loopcap.device.catap_app import CatapAppSource

        return CatapAppSource(name)
    if backend == "fake":
        from loopcap.device.fake import FakeSource

        fake = FakeSource.from_env()
        fake.name, fake.id = f"{name.strip()} (app)", f"app:{name.strip().lower()}"
        return fake
    from loopcap.device.soundcard.app_stream import AppSource
    from loopcap.device.soundcard.apps import default_channels

    return AppSource(name, default_channels())
