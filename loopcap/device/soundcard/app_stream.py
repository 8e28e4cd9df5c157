"""One application's sound alone: a record stream per playback stream of it,
mixed onto one timeline.

:class:`AppWatcher` follows the app's playback streams (sink-inputs) as they
come and go; each is recorded by a :class:`PassiveRecorder` on its sink's
monitor with ``pa_stream_set_monitor_stream`` and ``PA_STREAM_DONT_MOVE``
(``parec --monitor-stream=IDX``).  A record stream so pinned fails when its
playback stream ends or moves to another sink, where an unpinned one would
be moved to another source (PipeWire re-links it to a fallback, possibly the
microphone): so it never delivers another application's sound.  A stream
that ends is no error; one that moved is recorded again on its new sink.
The :class:`~loopcap.device.mixer.Mixer` puts their audio on one timeline.

Lifecycle: made by :meth:`AppSource.open` on the reader thread (the capture
thread); :meth:`AppStream.read` there (it blocks); :meth:`AppStream.drain`
from any thread; :meth:`AppStream.close` once (idempotent).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import numpy as np

from loopcap.device.base import DRAIN_LAG_S, HANDOVER_S, DeviceInfo, Stream
from loopcap.device.mixer import Mixer
from loopcap.device.soundcard.apps import AppWatcher
from loopcap.device.soundcard.connection import (
    pulse_extra,
    soundcard_module,
    stream_closed,
    stream_opened,
)
from loopcap.device.soundcard.passive import PassiveRecorder
from loopcap.errors import DeviceError, DeviceLostError
from loopcap.log import logger

__all__ = ["AppSource", "AppStream"]

BLOCK_S = 0.01  # fragment size asked from the server, as for a whole output
#: A record stream whose playback stream the server reported gone is read on
#: for up to this long (s), until it fails by itself: the end of the sound
#: can still be on its way (measured on PipeWire 0.3.65: the last ~0.25 s
#: arrived after the sink-input's removal event).
LINGER_S = 0.6


class AppSource:
    """The sound of the applications matching ``name`` (see
    :func:`loopcap.device.open_app_source`)."""

    def __init__(self, name: str, channels: int) -> None:
        self.app = name
        key = name.strip().lower()
        self.info = DeviceInfo(
            id=f"app:{key}", name=f"{name.strip()} (app)", channels=channels, default=False
        )

    def open(self, samplerate: int) -> Stream:
        return AppStream(self.app, self.info, samplerate)


class _Recorder:
    """One pinned record stream, and the audio it delivered.

    The audio is taken from libpulse's queue as it arrives, by a read
    callback on libpulse's main-loop thread: when the playback stream ends,
    the server kills the pinned record stream, and libpulse then refuses to
    hand over what its queue still holds (``pa_stream_peek`` wants a READY
    stream).  Read at each hand-over only, the last ~0.25 s of every stream
    was lost (measured on both servers).  The callback does nothing but
    copy bytes; :meth:`take` swaps them out under the same lock.
    """

    def __init__(self, api: Any, index: int, source: str, samplerate: int, channels: int):
        self.index = index
        self.source = source
        self.key = (index, source)
        self._api = api
        blocksize = max(1, int(samplerate * BLOCK_S))
        self.rec = PassiveRecorder(
            api, source, samplerate, channels, blocksize, monitor_stream=index
        ).open()
        #: None until the first audio came; then whether it came from the
        #: source asked (PipeWire's restore-stream may connect a stream
        #: elsewhere): never another source's audio.
        self.verified: bool | None = None
        #: When the server reported its playback stream gone (monotonic s).
        self.gone_at: float | None = None
        self.pending = bytearray()  # guarded by the main-loop lock
        pa, ffi = api._pa, api._ffi
        data, nbytes = ffi.new("void **"), ffi.new("size_t *")
        null, buffer, peek, drop = ffi.NULL, ffi.buffer, pa.pa_stream_peek, pa.pa_stream_drop
        pending = self.pending
        extra = pulse_extra()
        name_of = extra.lib.pa_stream_get_device_name if extra.lib is not None else None
        expected = source.encode()

        def on_read(stream: Any, _n: int, _userdata: Any) -> None:
            # On libpulse's main-loop thread, its lock held: copy, no more.
            if self.verified is None:
                name = name_of(extra.ffi.cast("void *", stream)) if name_of else extra.ffi.NULL
                self.verified = name == extra.ffi.NULL or extra.ffi.string(name) == expected
            if not self.verified:
                return  # (left in libpulse's queue; the reader closes it)
            while peek(stream, data, nbytes) == 0 and nbytes[0]:
                pending.extend(bytes(nbytes[0]) if data[0] == null else buffer(data[0], nbytes[0]))
                drop(stream)

        self._callback = ffi.callback("pa_stream_request_cb_t", on_read)
        with self.rec._locked():
            pa.pa_stream_set_read_callback(self.rec.stream, self._callback, null)

    def close(self) -> None:
        self.rec.close()  # (after this no callback runs: the stream is freed)


class AppStream:
    """The mix of an application's playback streams; nothing while none plays.

    Reads every :data:`HANDOVER_S` while a record stream is open, and at
    once when the app's streams change (so a new stream is recorded from
    its first fragments); with none open it sleeps until one appears.
    """

    HANDOVER_S = HANDOVER_S
    DRAIN_LAG_S = DRAIN_LAG_S

    def __init__(self, name: str, info: DeviceInfo, samplerate: int) -> None:
        self.samplerate = samplerate
        self.channels = info.channels
        self._info = info
        sc = soundcard_module()
        api = getattr(sc, "pulseaudio", None)
        if api is None:
            raise DeviceError("per-application capture needs PulseAudio or PipeWire")
        self._api = api
        self._pulse = api._pulse  # this stream's connection
        self._pa, self._ffi = api._pa, api._ffi
        self._wake = threading.Event()
        self._changed = threading.Event()
        self._drain_requested = threading.Event()
        self._drain_at = 0.0
        self._closed = False
        self._close_lock = threading.Lock()
        self._recorders: dict[tuple[int, str], _Recorder] = {}
        self._out: deque[tuple[np.ndarray, float]] = deque()
        self._next_take = 0.0
        self._mixer = Mixer(samplerate, self.channels, epoch=time.monotonic())
        self._watcher = AppWatcher(name, self._on_change)
        self._watcher.start()
        stream_opened()
        # (An app that plays nothing now is no error: the app shell says so
        # once, naming the apps that do play; see loopcap.app.apps.)

    def _on_change(self) -> None:
        self._changed.set()
        self._wake.set()

    # ------------------------------------------------------------ streams

    def _sync(self) -> None:
        """Record every stream of the app, and only those (reader thread)."""
        if self._watcher.error:
            raise DeviceLostError(f"{self._watcher.error}; what was captured so far is saved")
        wanted = {(i, src) for i, src in self._watcher.streams.items()}
        now = time.monotonic()
        for key, rec in self._recorders.items():
            if key not in wanted and rec.gone_at is None:
                rec.gone_at = now  # read on until it fails or LINGER_S passed
        for index, source in sorted(wanted - self._recorders.keys()):
            try:
                rec = _Recorder(self._api, index, source, self.samplerate, self.channels)
            except DeviceError as exc:  # the stream ended meanwhile, or the server is gone
                if not self._server_alive():
                    raise self._server_gone() from None
                logger.debug("stream {} of the app not recorded: {}", index, exc)
                continue
            self._recorders[rec.key] = rec
            logger.debug("recording stream {} of the app on {}", index, source)

    def _server_alive(self) -> bool:
        pa = self._pa
        pa.pa_threaded_mainloop_lock(self._pulse.mainloop)
        try:
            return bool(pa.pa_context_get_state(self._pulse.context) == pa.PA_CONTEXT_READY)
        finally:
            pa.pa_threaded_mainloop_unlock(self._pulse.mainloop)

    def _server_gone(self) -> DeviceLostError:
        return DeviceLostError(
            "the sound server stopped during the capture; what was captured so far is saved"
        )

    # ------------------------------------------------------------ reading

    def _take(self, rec: _Recorder) -> tuple[np.ndarray, bool]:
        """What ``rec`` delivered since the last take (float32 frames x
        channels), and whether it still runs (False: its playback stream
        ended or moved)."""
        pa = self._pa
        stream = rec.rec.stream
        alive = True
        pa.pa_threaded_mainloop_lock(self._pulse.mainloop)
        try:
            state = pa.pa_stream_get_state(stream)
            if rec.verified is False or state not in (pa.PA_STREAM_READY, pa.PA_STREAM_CREATING):
                alive = False  # (what it delivered before is in rec.pending)
            out = bytes(rec.pending)
            rec.pending.clear()
        finally:
            pa.pa_threaded_mainloop_unlock(self._pulse.mainloop)
        frames = np.frombuffer(out, np.float32).reshape(-1, self.channels)
        return frames, alive

    def _read_all(self) -> None:
        for rec in list(self._recorders.values()):
            frames, alive = self._take(rec)
            now = time.monotonic()
            self._mixer.add(rec.key, frames, now)
            if not alive or (rec.gone_at is not None and now - rec.gone_at >= LINGER_S):
                # Its playback stream ended, or moved (the watcher then names
                # the new sink and it is recorded there): not an error.
                rec.close()
                self._mixer.end(rec.key)
                del self._recorders[rec.key]
                if not alive and not self._server_alive():
                    raise self._server_gone()

    def read(self) -> tuple[np.ndarray, float]:
        while True:
            if self._out:
                return self._out.popleft()
            now = time.monotonic()
            drain = self._drain_requested.is_set()
            if drain and now < self._drain_at:
                time.sleep(self._drain_at - now)  # the stop's last audio is in flight
                continue
            if self._changed.is_set():
                self._changed.clear()
                self._sync()
                # A new stream's first read comes soon, to place it well.
                self._next_take = min(self._next_take, now + 0.05)
            if drain or now >= self._next_take:
                self._read_all()
                self._next_take = now + self.HANDOVER_S
                until = None if drain else self._mixer.safe_until(time.monotonic())
                self._out.extend(self._mixer.take(until))
                if drain:
                    self._drain_requested.clear()
                    if not self._out:
                        return np.zeros((0, self.channels), np.float32), time.monotonic()
                if self._out:
                    # Handed over now, not after the next wait: with the
                    # app's last stream gone, that wait lasts until it plays
                    # again, and a note's tail was written seconds late.
                    continue
            self._wake.clear()
            if self._changed.is_set() or self._drain_requested.is_set():
                continue
            # With nothing recorded and nothing held there is nothing to do:
            # sleep until the app plays (the watcher wakes us) or a stop.
            busy = self._recorders or self._mixer.holding
            timeout = max(0.0, self._next_take - now) if busy else None
            self._wake.wait(timeout)

    def drain(self) -> None:
        """Ask :meth:`read` to return all it holds, after :attr:`DRAIN_LAG_S`
        for the audio still in flight.  Thread-safe, never blocks."""
        self._drain_at = time.monotonic() + self.DRAIN_LAG_S
        self._drain_requested.set()
        self._wake.set()

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._watcher.close()
        for rec in self._recorders.values():
            rec.close()
        self._recorders.clear()
        stream_closed()
