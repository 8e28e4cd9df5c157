"""Loopback sources: the only module that touches soundcard.

A *source* is a loopback device (the monitor of an output on Linux, WASAPI
loopback on Windows, a virtual device such as BlackHole on macOS).  Opening
it gives a *stream* whose :meth:`Stream.read` blocks until the device has
data.  Everything else in loopcap sees only this small interface, so the real
backend and the deterministic fake (:mod:`loopcap.fakesource`) are
interchangeable.  The backend is chosen once, from the ``LOOPCAP_BACKEND``
environment variable (``soundcard``, the default, or ``fake``), the way
pystray picks its backend from ``PYSTRAY_BACKEND``.

soundcard is imported lazily, on first use: ``import soundcard`` connects to
PulseAudio at import time and raises a bare ``AssertionError`` when no server
is reachable; every such foreign error is turned into a
:class:`~loopcap.errors.DeviceError` here.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from loopcap.errors import DeviceError, DeviceLostError

__all__ = [
    "DeviceInfo",
    "Source",
    "Stream",
    "list_loopbacks",
    "open_source",
    "backend_name",
]

#: How often a running stream checks that its device still exists, in seconds.
CHECK_INTERVAL_S = 0.25

NO_SERVER = (
    "no sound server is running: start PulseAudio or PipeWire (pipewire-pulse) and try again"
)
MACOS_HINT = (
    "macOS has no loopback device of its own: install a virtual device such as BlackHole, "
    "route your output through a Multi-Output Device that includes it, and try again"
)


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

    def read(self) -> np.ndarray:
        """Block until audio is available; return float32 frames x channels.

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


def backend_name() -> str:
    """The audio backend chosen for this process (``soundcard`` or ``fake``)."""
    return os.environ.get("LOOPCAP_BACKEND", "soundcard").strip().lower() or "soundcard"


def list_loopbacks() -> list[DeviceInfo]:
    """All loopback devices, the default output's first."""
    if backend_name() == "fake":
        from loopcap.fakesource import FakeSource

        return [FakeSource.from_env().info]
    return _SoundcardBackend().list()


def open_source(name: str = "") -> Source:
    """Find the loopback device ``name`` (case-insensitive substring of its
    name or id; "" = the default output's loopback).

    Raises DeviceError with the available devices listed when none matches.
    """
    if backend_name() == "fake":
        from loopcap.fakesource import FakeSource

        return FakeSource.from_env()
    return _SoundcardBackend().find(name)


# ---------------------------------------------------------------- soundcard


def _soundcard() -> Any:
    """Import soundcard, translating its import-time failures."""
    try:
        import soundcard  # noqa: PLC0415 - lazy on purpose, see module docstring
    except AssertionError:
        # soundcard's PulseAudio backend asserts the context reached READY.
        raise DeviceError(NO_SERVER) from None
    except (OSError, RuntimeError) as exc:
        raise DeviceError(f"the sound system cannot be used ({exc}): {NO_SERVER}") from None
    return soundcard


class _SoundcardBackend:
    def __init__(self) -> None:
        self.sc = _soundcard()

    def _default_speaker_id(self) -> str | None:
        try:
            return self.sc.default_speaker().id
        except Exception:  # no default output is not fatal for listing
            return None

    def list(self) -> list[DeviceInfo]:
        try:
            mics = self.sc.all_microphones(include_loopback=True)
        except Exception as exc:
            raise DeviceError(f"cannot list sound devices ({exc}): {NO_SERVER}") from None
        speaker = self._default_speaker_id()
        out = []
        for mic in mics:
            if not getattr(mic, "isloopback", False):
                continue
            # PulseAudio names a sink's monitor "<sink>.monitor"; WASAPI
            # gives the loopback the speaker's own id.
            is_default = speaker is not None and mic.id in (speaker, f"{speaker}.monitor")
            out.append(
                DeviceInfo(
                    id=str(mic.id),
                    name=str(mic.name),
                    channels=int(mic.channels),
                    default=is_default,
                )
            )
        out.sort(key=lambda d: not d.default)
        return out

    def find(self, name: str) -> Source:
        devices = self.list()
        if not devices:
            if sys.platform == "darwin":
                raise DeviceError(f"no loopback device found: {MACOS_HINT}")
            raise DeviceError(
                "no loopback device found: check that an output device exists "
                "(loopcap doctor lists what it sees)"
            )
        if not name:
            match = [d for d in devices if d.default] or devices[:1]
        else:
            low = name.lower()
            match = [d for d in devices if d.id.lower() == low]
            match = match or [d for d in devices if low in d.id.lower() or low in d.name.lower()]
        if not match:
            available = "; ".join(f"{d.name} ({d.id})" for d in devices)
            raise DeviceError(f"no loopback device named {name!r}; available: {available}")
        return _SoundcardSource(self.sc, match[0])


class _SoundcardSource:
    def __init__(self, sc: Any, info: DeviceInfo) -> None:
        self.sc = sc
        self.info = info

    def open(self, samplerate: int) -> Stream:
        return _SoundcardStream(self.sc, self.info, samplerate)


class _SoundcardStream:
    """A soundcard recorder plus a device watchdog.

    soundcard's monitor recorder is silently moved to another source when its
    device disappears (SoundCard #123; measured here: unloading a null sink
    moves the stream to the next monitor and it keeps delivering).  So every
    CHECK_INTERVAL_S the device list is checked, and blocks read since the last
    good check are held back: when the device is gone they are discarded, so
    not one block from another source reaches the file.
    """

    # Frames per block asked from the server: 10 ms at 48 kHz.  Asking for
    # small fragments also makes PulseAudio run the sink at low latency, so
    # the monitor delivers steadily instead of in 2-second bursts.
    BLOCK_S = 0.01

    def __init__(self, sc: Any, info: DeviceInfo, samplerate: int) -> None:
        self.samplerate = samplerate
        self.channels = info.channels
        self._info = info
        self._sc = sc
        self._lock = threading.Lock()
        self._closed = False
        self._held: list[np.ndarray] = []
        self._next_check = 0.0
        self._drain_requested = False
        try:
            mic = sc.get_microphone(info.id, include_loopback=True)
            self._ctx = mic.recorder(
                samplerate=samplerate,
                channels=info.channels,
                blocksize=max(1, int(samplerate * self.BLOCK_S)),
            )
            self._rec = self._ctx.__enter__()
        except Exception as exc:
            raise DeviceError(f"cannot open the loopback device {info.name!r} ({exc})") from None
        self.channels = int(self._rec.channels)

    def _server_alive(self) -> bool:
        try:
            pulse = self._sc.pulseaudio._pulse  # PulseAudio backend only
        except AttributeError:
            return True
        ctx_state = pulse._pa_context_get_state(pulse.context)
        return ctx_state == self._sc.pulseaudio._pa.PA_CONTEXT_READY

    def _device_present(self) -> bool:
        if not self._server_alive():
            raise DeviceLostError(
                "the sound server stopped during the capture; what was captured so far is saved"
            )
        ids = {str(m.id) for m in self._sc.all_microphones(include_loopback=True)}
        return self._info.id in ids

    def read(self) -> np.ndarray:
        while True:
            now = time.monotonic()
            drain = self._drain_requested
            if drain or now >= self._next_check:
                self._drain_requested = False
                self._next_check = now + CHECK_INTERVAL_S
                if not self._device_present():
                    self._held.clear()
                    raise DeviceLostError(
                        f"the loopback device {self._info.name!r} disappeared during the capture; "
                        "what was captured so far is saved"
                    )
                if self._held or drain:
                    out = (
                        np.concatenate(self._held)
                        if self._held
                        else np.zeros((0, self.channels), np.float32)
                    )
                    self._held.clear()
                    return out
            try:
                data = self._rec.record(numframes=None)
            except TypeError:
                # soundcard returns None for a hole in the stream (no data
                # pointer, zero bytes); nothing to keep, read again.
                continue
            except Exception as exc:
                if not self._server_alive():
                    raise DeviceLostError(
                        "the sound server stopped during the capture; "
                        "what was captured so far is saved"
                    ) from None
                raise DeviceLostError(
                    f"the loopback device stopped delivering audio ({exc})"
                ) from None
            if len(data):
                self._held.append(np.asarray(data, dtype=np.float32))

    def drain(self) -> None:
        """Ask :meth:`read` to check the device and return what it holds at
        its next turn (the capture is stopping).  Thread-safe, never blocks."""
        self._drain_requested = True

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._ctx.__exit__(None, None, None)
        except Exception:  # the server may be gone; nothing left to release
            pass
