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

soundcard keeps that one connection for the life of the process and never
reconnects: after the sound server is restarted it lists no devices at all.
So before each use the connection is checked, and a dead one is replaced by
a fresh one (see :func:`_reconnect_if_lost`); the app can then carry on once
the server is back, without a restart.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from loguru import logger

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


#: Serialises the import of soundcard and the replacement of its connection.
_SC_LOCK = threading.Lock()
#: Streams opened and not yet closed: a dead connection is freed only when
#: none of its streams can still touch it.
_open_streams = 0


def _soundcard() -> Any:
    """Import soundcard (translating its import-time failures) with a live
    connection to the sound server.  Thread-safe."""
    with _SC_LOCK:
        try:
            import soundcard  # noqa: PLC0415 - lazy on purpose, see module docstring
        except AssertionError as exc:
            # soundcard's PulseAudio backend asserts the context reached READY.
            _free_failed_import(exc)
            raise DeviceError(NO_SERVER) from None
        except (OSError, RuntimeError) as exc:
            raise DeviceError(f"the sound system cannot be used ({exc}): {NO_SERVER}") from None
        _reconnect_if_lost(soundcard)
        _guard_pulse(soundcard)
        return soundcard


def _free_connection(pa: Any, conn: Any) -> None:
    """Stop and free a soundcard ``_PulseAudio`` whose context failed.

    Without this every failed attempt leaves a libpulse main-loop thread
    behind: retrying every 2 s through a long outage would pile them up.
    """
    if getattr(conn, "context", None) is not None:
        pa.pa_threaded_mainloop_lock(conn.mainloop)
        try:
            pa.pa_context_disconnect(conn.context)
            pa.pa_context_unref(conn.context)
        finally:
            pa.pa_threaded_mainloop_unlock(conn.mainloop)
    if getattr(conn, "mainloop", None) is not None:
        pa.pa_threaded_mainloop_stop(conn.mainloop)
        pa.pa_threaded_mainloop_free(conn.mainloop)


def _free_failed_import(exc: BaseException) -> None:
    """Free the connection a failed ``import soundcard`` left running.

    The half-built ``_PulseAudio`` is only reachable from the traceback (its
    ``__init__`` raised); its module is gone from ``sys.modules``.
    """
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        conn = frame.f_locals.get("self")
        pa = frame.f_globals.get("_pa")
        if type(conn).__name__ == "_PulseAudio" and pa is not None:
            try:
                _free_connection(pa, conn)
            except Exception:  # best effort: a leak is better than a crash
                logger.debug("could not free a failed sound server connection")
            return


def _reconnect_if_lost(sc: Any) -> None:
    """Replace soundcard's PulseAudio connection if the server went away.

    soundcard looks its connection up as the module global
    ``soundcard.pulseaudio._pulse`` at every call, so a fresh one serves every
    later call.  Raises DeviceError while no server can be reached.
    """
    api = getattr(sc, "pulseaudio", None)
    old = getattr(api, "_pulse", None)
    if old is None:
        return  # not the PulseAudio backend
    if old._pa_context_get_state(old.context) == api._pa.PA_CONTEXT_READY:
        return
    fresh = api._PulseAudio.__new__(api._PulseAudio)
    try:
        fresh.__init__()
    except AssertionError:
        _free_connection(api._pa, fresh)
        raise DeviceError(NO_SERVER) from None
    api._pulse = fresh
    if _open_streams == 0:
        _free_connection(api._pa, old)
    logger.info("connected to the sound server again")


def _guard_pulse(sc: Any) -> None:
    """Make soundcard's PulseAudio queries safe once the server is gone.

    soundcard unrefs every operation it starts; after the server dies libpulse
    returns NULL instead of an operation and ``pa_operation_unref(NULL)``
    aborts the whole process (measured here: SIGABRT from a device list or a
    player's drain after the server was killed).  An instance attribute on
    the proxy skips the unref for NULL.
    """
    pulse = getattr(getattr(sc, "pulseaudio", None), "_pulse", None)
    if pulse is None or "_pa_operation_unref" in vars(pulse):
        return
    null = sc.pulseaudio._ffi.NULL
    unref = type(pulse)._pa_operation_unref

    def safe_unref(operation: Any) -> None:
        if operation != null:
            unref(pulse, operation)

    pulse._pa_operation_unref = safe_unref
    # soundcard frees the PulseAudio main loop at exit, while a capture thread
    # may still be blocked in record() using it: libpulse then aborts the
    # process (measured: SIGABRT in pa_mutex_free).  The OS closes the
    # connection at exit anyway.
    atexit.unregister(pulse._shutdown)


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
    """A PulseAudio/soundcard recorder read in batches, plus a device watchdog.

    Reading: soundcard's ``record()`` wakes Python for every fragment (a
    callback on the main loop thread, then several locked calls); at 10 ms
    fragments that alone cost over 3% of a core (measured).  Here the read
    callback is removed and the stream is polled every ``POLL_S``: all the
    fragments that arrived are taken under one lock.  The fragments stay small
    (``BLOCK_S``), since that keeps the sink at low latency: the monitor then
    delivers steadily, and the start of a sound is not lost to a sink rewind.

    Watchdog: soundcard's monitor recorder is silently moved to another source
    when its device disappears (SoundCard #123; measured here: unloading a
    null sink moves the stream to the next monitor and it keeps delivering).
    So every CHECK_INTERVAL_S the device list is checked, and audio read since
    the last good check is held back: when the device is gone it is
    discarded, so not one block from another source reaches the file.
    """

    BLOCK_S = 0.01  # fragment size asked from the server
    POLL_S = 0.04  # how often the stream is read

    def __init__(self, sc: Any, info: DeviceInfo, samplerate: int) -> None:
        self.samplerate = samplerate
        self.channels = info.channels
        self._info = info
        self._sc = sc
        self._lock = threading.Lock()
        self._closed = False
        self._held: list[np.ndarray] = []
        self._held_t = 0.0
        self._next_check = 0.0
        self._drain_requested = threading.Event()
        self._first = True
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
        global _open_streams
        with _SC_LOCK:
            _open_streams += 1
        self.channels = int(self._rec.channels)
        self._pa_api = getattr(sc, "pulseaudio", None)
        if self._pa_api is not None:
            pa, pulse = self._pa_api._pa, self._pa_api._pulse
            with pulse._lock_mainloop():
                pa.pa_stream_set_read_callback(
                    self._rec.stream, self._pa_api._ffi.NULL, self._pa_api._ffi.NULL
                )
            self._data_ptr = self._pa_api._ffi.new("void**")
            self._nbytes_ptr = self._pa_api._ffi.new("size_t*")

    # ------------------------------------------------------------ checks

    def _server_alive(self) -> bool:
        if self._pa_api is None:
            return True
        pulse = self._pa_api._pulse
        return pulse._pa_context_get_state(pulse.context) == self._pa_api._pa.PA_CONTEXT_READY

    def _server_gone(self) -> DeviceLostError:
        return DeviceLostError(
            "the sound server stopped during the capture; what was captured so far is saved"
        )

    def _device_present(self) -> bool:
        if not self._server_alive():
            raise self._server_gone()
        ids = {str(m.id) for m in self._sc.all_microphones(include_loopback=True)}
        return self._info.id in ids

    # ------------------------------------------------------------ reading

    def _take_available(self) -> list[np.ndarray]:
        """All fragments the stream holds, under one main-loop lock."""
        api = self._pa_api
        pa, ffi = api._pa, api._ffi
        stream = self._rec.stream
        out = []
        with api._pulse._lock_mainloop():
            if pa.pa_stream_get_state(stream) == pa.PA_STREAM_FAILED:
                raise DeviceLostError("the loopback device stopped delivering audio")
            while pa.pa_stream_readable_size(stream) > 0:
                self._data_ptr[0] = ffi.NULL
                self._nbytes_ptr[0] = 0
                if pa.pa_stream_peek(stream, self._data_ptr, self._nbytes_ptr) < 0:
                    break
                n = self._nbytes_ptr[0]
                if n == 0:
                    break
                if self._data_ptr[0] == ffi.NULL:  # a hole in the stream: silence
                    out.append(np.zeros(n // 4, np.float32))
                else:
                    out.append(np.frombuffer(ffi.buffer(self._data_ptr[0], n), np.float32).copy())
                pa.pa_stream_drop(stream)
        return out

    def _read_some(self) -> list[np.ndarray]:
        if self._pa_api is None:  # another soundcard backend: its blocking read
            return [np.asarray(self._rec.record(numframes=None), np.float32).ravel()]
        try:
            return self._take_available()
        except DeviceLostError:
            if not self._server_alive():
                raise self._server_gone() from None
            raise

    def read(self) -> tuple[np.ndarray, float]:
        while True:
            now = time.monotonic()
            drain = self._drain_requested.is_set()
            if drain or now >= self._next_check:
                self._drain_requested.clear()
                self._next_check = now + CHECK_INTERVAL_S
                if not self._device_present():
                    self._held.clear()
                    raise DeviceLostError(
                        f"the loopback device {self._info.name!r} ({self._info.id}) disappeared "
                        "during the capture; what was captured so far is saved"
                    )
                if self._held or drain:
                    out = np.concatenate(self._held) if self._held else np.zeros(0, np.float32)
                    self._held.clear()
                    return out.reshape(-1, self.channels), self._held_t
            chunks = self._read_some()
            if chunks:
                self._held.extend(chunks)
                self._held_t = time.monotonic()
                if self._first:
                    # Hand the first audio over at once: its arrival marks the
                    # start of a capture, which should not wait for the next check.
                    self._first = False
                    self._next_check = 0.0
                    continue
            self._drain_requested.wait(self.POLL_S)

    def drain(self) -> None:
        """Ask :meth:`read` to check the device and return what it holds at
        once (the capture is stopping).  Thread-safe, never blocks."""
        self._drain_requested.set()

    def close(self) -> None:
        global _open_streams
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._ctx.__exit__(None, None, None)
        except Exception:  # the server may be gone; nothing left to release
            pass
        with _SC_LOCK:
            _open_streams -= 1
