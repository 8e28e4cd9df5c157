"""The soundcard stream: a PulseAudio (or other soundcard) recorder read in
batches, with a watchdog that never lets audio from another device through.

Lifecycle: made by :meth:`SoundcardSource.open`; :meth:`read` on one reader
thread (it blocks); :meth:`drain` from any thread; :meth:`close` once
(idempotent), from the reader thread.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

import numpy as np

from loopcap.device.base import DRAIN_LAG_S, HANDOVER_S, DeviceInfo
from loopcap.device.soundcard.connection import pulse_extra, stream_closed, stream_opened
from loopcap.errors import DeviceError, DeviceLostError

__all__ = ["SoundcardStream"]


class _Moved(Exception):
    """The stream was moved to another device (internal to the reader)."""


class SoundcardStream:
    """A PulseAudio/soundcard recorder read in batches, with a device watchdog.

    Reading: soundcard's ``record()`` wakes Python for every fragment (a
    callback on the main loop thread, then several locked calls); at 10 ms
    fragments that alone cost over 3% of a core (measured).  Here the read
    callback is removed and the fragments wait in libpulse's queue: every
    ``HANDOVER_S`` the stream is read once, all waiting fragments under one
    lock, checked, and handed over as one block.  The fragments stay small
    (``BLOCK_S``), since that keeps the sink at low latency: the monitor then
    delivers steadily, and the start of a sound is not lost to a sink rewind.

    CPU (measured on a 2-core virtual Xeon, 48 kHz stereo, a sound playing):
    what a capture costs is mostly wake-ups, not work.  Reading every 40 ms
    and checking the device list every 0.25 s cost 0.8% of a core in this
    thread (about 170 us per read, of which 130 us fixed); reading only at
    each 0.25 s check costs 0.2%.  The samples are still stamped well:
    while audio flows, fragments arrive every 5-10 ms, so the last one taken
    arrived at most that long before its stamp, however long the period.
    Until the first audio arrives the stream is read every ``FIRST_POLL_S``,
    so the capture starts as soon as audio flows.

    Watchdog: soundcard's monitor recorder is silently moved to another source
    when its device disappears (SoundCard #123; measured here: unloading a
    null sink moves the stream to the next monitor and it keeps delivering).
    Audio is handed over only once it is known to come from the device; when
    that fails, all audio taken since the last hand-over is discarded, so not
    one block from another source reaches the file:

    - the stream's state and device index are read under the same lock as
      the audio, at every read (a local read, ~7 us).  PulseAudio tells the
      client of a move (``RECORD_STREAM_MOVED``) on the same connection,
      before any audio from the new source, and fails the stream when there
      is no source to move it to; so audio taken while the index is unchanged
      is the device's own.  That is all genuine PulseAudio needs.
    - other servers (pipewire-pulse reports a move only once the new link
      exists, possibly after some of its audio) also get the device list
      asked at every hand-over, after the audio was taken, so a device gone
      before that audio was sent is seen missing.  This round trip cost
      0.1% of a core at 4 Hz (~230 us of CPU each, measured), which genuine
      PulseAudio is spared.
    """

    BLOCK_S = 0.01  # fragment size asked from the server
    HANDOVER_S = HANDOVER_S  # how often audio is read, checked and handed over
    FIRST_POLL_S = 0.02  # how often the stream is read until audio first arrives
    DRAIN_LAG_S = DRAIN_LAG_S  # see loopcap.device.base

    def __init__(self, sc: Any, info: DeviceInfo, samplerate: int) -> None:
        self.samplerate = samplerate
        self.channels = info.channels
        self._info = info
        self._sc = sc
        self._lock = threading.Lock()
        self._closed = False
        self._next_take = 0.0
        self._next_check = 0.0
        self._held: list[np.ndarray] = []  # _read_blocking only
        self._held_t = 0.0
        self._drain_requested = threading.Event()
        self._drain_at = 0.0
        self._flowing = False
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
        stream_opened()
        self.channels = int(self._rec.channels)
        self._pa_api = getattr(sc, "pulseaudio", None)
        self._device_index: int | None = None
        self._index_now: Any = None
        #: True when the stream's device index alone tells a move (see above).
        self._moves_in_order = False
        if self._pa_api is not None:
            pa, ffi = self._pa_api._pa, self._pa_api._ffi
            # The connection this stream lives on (a reconnection later
            # replaces soundcard's global one, not this stream's).
            self._pulse = self._pa_api._pulse
            self._mainloop = self._pulse.mainloop
            extra = pulse_extra()
            if extra.device_index is not None:
                stream = extra.ffi.cast("void *", extra.address(self._rec.stream))
                self._index_now = functools.partial(extra.device_index, stream)
            if self._index_now is not None:
                try:
                    name = self._pulse.server_info.get("server name", "")
                except Exception:  # unknown: check the device list as well
                    name = ""
                self._moves_in_order = name == "pulseaudio"
            pa.pa_threaded_mainloop_lock(self._mainloop)
            try:
                pa.pa_stream_set_read_callback(self._rec.stream, ffi.NULL, ffi.NULL)
                if self._index_now is not None:
                    self._device_index = int(self._index_now())
            finally:
                pa.pa_threaded_mainloop_unlock(self._mainloop)
            self._data_ptr = extra.ffi.new("void **")
            self._nbytes_ptr = extra.ffi.new("size_t *")

    # ------------------------------------------------------------ checks

    def _server_alive(self) -> bool:
        if self._pa_api is None:
            return True
        pa = self._pa_api._pa
        pa.pa_threaded_mainloop_lock(self._mainloop)
        try:
            return pa.pa_context_get_state(self._pulse.context) == pa.PA_CONTEXT_READY
        finally:
            pa.pa_threaded_mainloop_unlock(self._mainloop)

    def _server_gone(self) -> DeviceLostError:
        return DeviceLostError(
            "the sound server stopped during the capture; what was captured so far is saved"
        )

    def _device_gone(self) -> DeviceLostError:
        return DeviceLostError(
            f"the loopback device {self._info.name!r} ({self._info.id}) disappeared "
            "during the capture; what was captured so far is saved"
        )

    def _device_present(self) -> bool:
        if not self._server_alive():
            raise self._server_gone()
        ids = {str(m.id) for m in self._sc.all_microphones(include_loopback=True)}
        return self._info.id in ids

    # ------------------------------------------------------------ reading

    def _take_available(self) -> bytearray:
        """All the audio the stream holds (float32 bytes), under one
        main-loop lock.  Raises DeviceLostError when the stream failed, and
        _Moved when it was moved to another device (the audio taken since
        the last hand-over is then dropped)."""
        api = self._pa_api
        pa, ffi = api._pa, api._ffi
        null = ffi.NULL
        stream = self._rec.stream
        data, nbytes = self._data_ptr, self._nbytes_ptr
        out = bytearray()
        pa.pa_threaded_mainloop_lock(self._mainloop)
        try:
            if pa.pa_stream_get_state(stream) != pa.PA_STREAM_READY:
                raise DeviceLostError("the loopback device stopped delivering audio")
            # One fragment per peek; copying them into one buffer costs ~2 us
            # a fragment, a numpy array per fragment ~7 us (measured).
            peek, drop, buffer = pa.pa_stream_peek, pa.pa_stream_drop, ffi.buffer
            while peek(stream, data, nbytes) == 0:
                n = nbytes[0]
                if n == 0:  # nothing left
                    break
                if data[0] == null:  # a hole in the stream: silence
                    out += bytes(n)
                else:
                    out += buffer(data[0], n)
                drop(stream)
            if self._index_now is not None and self._index_now() != self._device_index:
                raise _Moved()
        finally:
            pa.pa_threaded_mainloop_unlock(self._mainloop)
        return out

    def _take(self) -> tuple[np.ndarray, float]:
        """What the stream holds (float32, interleaved) and when it was taken."""
        try:
            frames = np.frombuffer(self._take_available(), np.float32)
        except _Moved:
            # Moved because the device went away (PulseAudio moves the streams
            # of a removed device), or moved by the user or a policy.
            if not self._device_present():
                raise self._device_gone() from None
            raise DeviceLostError(
                f"the sound server moved the capture from {self._info.name!r} "
                f"({self._info.id}) to another device; what was captured so far is saved"
            ) from None
        except DeviceLostError:
            if not self._server_alive():
                raise self._server_gone() from None
            raise
        return frames, time.monotonic()

    def read(self) -> tuple[np.ndarray, float]:
        if self._pa_api is None:
            return self._read_blocking()
        while True:
            now = time.monotonic()
            drain = self._drain_due(now)
            if drain is None:
                time.sleep(self._drain_at - now)  # the stop's last audio is in flight
                continue
            if drain or now >= self._next_take:
                if drain:  # only a drain that is due ends the request: one asked
                    self._drain_requested.clear()  # meanwhile must not be lost
                frames, t = self._take()
                if len(frames):
                    # The first audio is handed over at once: its arrival
                    # marks the start of a capture.
                    self._flowing = True
                period = self.HANDOVER_S if self._flowing else self.FIRST_POLL_S
                self._next_take = now + period
                if not self._moves_in_order and (len(frames) or drain or now >= self._next_check):
                    # Checked after the audio was taken, so it vouches for it.
                    self._next_check = now + self.HANDOVER_S
                    if not self._device_present():
                        raise self._device_gone()
                if len(frames) or drain:
                    return frames.reshape(-1, self.channels), t
            self._drain_requested.wait(max(0.0, self._next_take - now))

    def _read_blocking(self) -> tuple[np.ndarray, float]:
        """Another soundcard backend: its blocking ``record()``, with the
        audio held back until the next device check passes."""
        while True:
            now = time.monotonic()
            drain = self._drain_due(now)
            # None: record on (no check, no hand-over), the last audio is in flight.
            if drain is not None and (drain or now >= self._next_check):
                if drain:
                    self._drain_requested.clear()
                self._next_check = now + self.HANDOVER_S
                if not self._device_present():
                    self._held.clear()
                    raise self._device_gone()
                if self._held or drain:
                    out = np.concatenate(self._held) if self._held else np.zeros(0, np.float32)
                    self._held.clear()
                    return out.reshape(-1, self.channels), self._held_t
            chunk = np.asarray(self._rec.record(numframes=None), np.float32).ravel()
            if len(chunk):
                self._held.append(chunk)
                self._held_t = time.monotonic()
                if not self._flowing:
                    self._flowing = True
                    self._next_check = 0.0  # hand the first audio over at once

    def _drain_due(self, now: float) -> bool | None:
        """False: no drain asked; None: asked, but its audio may still be in
        flight (before ``_drain_at``); True: hand over what there is now."""
        if not self._drain_requested.is_set():
            return False
        return True if now >= self._drain_at else None

    def drain(self) -> None:
        """Ask :meth:`read` to check the device and return what it holds at
        once (the capture is stopping), after :attr:`DRAIN_LAG_S` for the
        audio still in flight.  Thread-safe, never blocks."""
        self._drain_at = time.monotonic() + self.DRAIN_LAG_S
        self._drain_requested.set()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._ctx.__exit__(None, None, None)
        except Exception:  # the server may be gone; nothing left to release
            pass
        stream_closed()
