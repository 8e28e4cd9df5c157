"""The soundcard stream: a PulseAudio (or other soundcard) recorder read in
batches, with a watchdog that never lets audio from another device through.

Lifecycle: made by :meth:`SoundcardSource.open` on the reader thread (the
capture thread); :meth:`read` there (it blocks); :meth:`drain` from any
thread; :meth:`close` once (idempotent), from the reader thread.  On Windows
the stream joins COM on that thread for its life (see
:mod:`~loopcap.device.soundcard.com`).
"""

from __future__ import annotations

import functools
import sys
import threading
import time
from typing import Any

import numpy as np

from loopcap.device.base import DRAIN_LAG_S, HANDOVER_S, DeviceInfo
from loopcap.device.soundcard.com import ComThread
from loopcap.device.soundcard.connection import pulse_extra, stream_closed, stream_opened
from loopcap.device.soundcard.passive import PassiveRecorder, StreamWaker
from loopcap.errors import DeviceError, DeviceLostError

__all__ = ["pipewire_fragment", "on_pipewire", "SoundcardStream", "capture_channels"]

#: soundcard's WASAPI backend is in use (a module constant, so tests can play Windows).
WINDOWS = sys.platform == "win32"
#: soundcard's Core Audio backend: device ids are integers (AudioObjectID).
MACOS = sys.platform == "darwin"


def pipewire_fragment(samplerate: int, block_s: float) -> int:
    """The fragment (frames) asked of pipewire-pulse: the largest power of two
    not over ``block_s``.

    pipewire-pulse hands a record stream its data in whole fragments only,
    and PipeWire (0.3.65, ``clock.power-of-two-quantum``) runs its graph in
    power-of-two quanta (256 frames for the 10 ms streams ask at 48 kHz).
    With 10 ms fragments (480 frames) what was left of the last, unfinished
    fragment when the last playing stream ended stayed in the server, since
    the graph then stops: the last 32 frames of a chirp were missing in 4
    runs of 8, while parec on the same monitor had them.  A fragment that
    divides the quantum leaves nothing behind (measured: 0 in 32 runs).
    """
    frames = max(1, int(samplerate * block_s))
    return 1 << (frames.bit_length() - 1)


def on_pipewire(api: Any) -> bool:
    """Whether soundcard's PulseAudio connection is to pipewire-pulse."""
    try:
        name = str(api._pulse.server_info.get("server name", ""))
    except Exception:  # unknown: keep PulseAudio's fragment
        return False
    return "pipewire" in name.lower()


def capture_channels(device_channels: int, windows: bool | None = None) -> int:
    """The channels to record from a loopback of ``device_channels``.

    All of them: loopcap downmixes afterwards, when it encodes (the
    Converter of :mod:`loopcap.output.encode`), never in the capture.  On
    Windows at least two, since WASAPI loopback recorded as one channel is
    garbage (SoundCard README, "Known Issues"); soundcard asks WASAPI to
    convert the mix format (AUTOCONVERTPCM), so a mono device is upmixed.
    """
    windows = WINDOWS if windows is None else windows
    return max(2, device_channels) if windows else device_channels


class _NeverReady(Exception):
    """The stream failed while still pending (internal to the reader)."""


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
    While the device delivers nothing (a sink that sleeps) the reader
    sleeps: a read that found nothing asks libpulse to wake it at the next
    fragment (:class:`~loopcap.device.soundcard.passive.StreamWaker`), as it
    does at any change of the stream's state or device, and otherwise looks
    again only every ``IDLE_S``.  The waiting app used to wake here 4 times
    a second all day (and 50 before that, reading every 20 ms until the
    first audio).  The audio loses nothing by it: the first fragment is
    taken as it arrives, so the run it begins is placed at least as well as
    by a read every hand-over (see :func:`~loopcap.device.base.run_start`).

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
    #: While the device delivers nothing and libpulse will wake the reader at
    #: the next fragment, state change or move, the reader still looks this
    #: often (s): a safety net, and the device-list check of the servers that
    #: need it (see below).
    IDLE_S = 10.0
    DRAIN_LAG_S = DRAIN_LAG_S  # see loopcap.device.base

    def __init__(self, sc: Any, info: DeviceInfo, samplerate: int) -> None:
        self.samplerate = samplerate
        self.channels = capture_channels(info.channels)
        self._info = info
        self._sc = sc
        self._lock = threading.Lock()
        self._closed = False
        self._next_take = 0.0
        self._next_check = 0.0
        self._held: list[np.ndarray] = []  # _read_blocking only
        self._held_t = 0.0
        self._drain_requested = threading.Event()
        #: Set by drain() and the stream's callbacks: the reader looks at once.
        self._wake = threading.Event()
        self._waker: StreamWaker | None = None
        self._drain_at = 0.0
        self._flowing = False
        # This runs on the capture thread, which on Windows must join COM
        # before soundcard's WASAPI calls (see loopcap.device.soundcard.com).
        self._com = ComThread(sc) if WINDOWS else None
        # Core Audio ids are integers, and soundcard matches a str id only
        # against the names (coreaudio.py's _match_device).
        key: Any = int(info.id) if MACOS and info.id.isdigit() else info.id
        self._pa_api = getattr(sc, "pulseaudio", None)
        blocksize = max(1, int(samplerate * self.BLOCK_S))
        if self._pa_api is not None and on_pipewire(self._pa_api):
            blocksize = pipewire_fragment(samplerate, self.BLOCK_S)
        self._ctx: Any = None
        try:
            # (Core Audio has no loopback flag: it only warns that it has none.)
            mic = sc.get_microphone(key, include_loopback=not MACOS)
            if self._pa_api is not None:
                # Our own stream, so the sink may sleep (see passive.py).
                self._passive_args = (
                    self._pa_api,
                    str(mic.id),
                    samplerate,
                    self.channels,
                    blocksize,
                )
                self._rec: Any = PassiveRecorder(*self._passive_args).open()
            else:
                self._ctx = mic.recorder(
                    samplerate=samplerate, channels=self.channels, blocksize=blocksize
                )
                self._rec = self._ctx.__enter__()
        except Exception as exc:
            if self._com is not None:
                self._com.close()
            if isinstance(exc, DeviceError):
                raise
            raise DeviceError(f"cannot open the loopback device {info.name!r} ({exc})") from None
        stream_opened()
        self._ready_seen = False  # the stream has been READY (not only pending)
        self._device_index: int | None = None  # read once the stream is READY
        self._index_now: Any = None
        #: True when the stream's device index alone tells a move (see above).
        self._moves_in_order = False
        if self._pa_api is not None:
            # The connection this stream lives on (a reconnection later
            # replaces soundcard's global one, not this stream's).
            self._pulse = self._pa_api._pulse
            self._mainloop = self._pulse.mainloop
            self._waker = StreamWaker.make(self._wake)
            self._bind_queries()
            if self._index_now is not None:
                try:
                    name = self._pulse.server_info.get("server name", "")
                except Exception:  # unknown: check the device list as well
                    name = ""
                self._moves_in_order = name == "pulseaudio"
            extra = pulse_extra()
            self._data_ptr = extra.ffi.new("void **")
            self._nbytes_ptr = extra.ffi.new("size_t *")

    def _bind_queries(self) -> None:
        """Point the device index and name queries, and the waker, at the
        current stream."""
        extra = pulse_extra()
        if self._waker is not None:
            with self._pulse._lock_mainloop():
                self._waker.watch(self._rec.stream)
        if extra.device_index is not None:
            stream = extra.ffi.cast("void *", extra.address(self._rec.stream))
            self._index_now = functools.partial(extra.device_index, stream)
            self._name_now = functools.partial(extra.lib.pa_stream_get_device_name, stream)
            self._string = extra.ffi.string

    def _reconnect_pending(self) -> None:
        """Replace a stream that failed while pending by a new pending one.

        libpulse fails a stream the server has not accepted within its 30 s
        timeout; a PipeWire sink that sleeps accepts a passive stream only
        once it wakes, so while nothing plays the stream must be made again
        every 30 s (measured: a silent ``loopcap record`` on PipeWire ended
        after 30.4 s with "stopped delivering audio")."""
        old = self._rec
        self._rec = PassiveRecorder(*self._passive_args).open()
        self._forget(old)
        old.close()
        self._bind_queries()

    def _forget(self, rec: Any) -> None:
        """No more callbacks from ``rec``'s stream (see StreamWaker.forget)."""
        if self._waker is not None and rec.stream is not None:
            try:
                with self._pulse._lock_mainloop():
                    self._waker.forget(rec.stream)
            except Exception:  # the connection is gone: nothing will call back
                pass

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
        ids = {str(m.id) for m in self._sc.all_microphones(include_loopback=not MACOS)}
        return self._info.id in ids

    # ------------------------------------------------------------ reading

    def _take_available(self) -> bytearray:
        """All the audio the stream holds (float32 bytes), under one
        main-loop lock.  Raises DeviceLostError when the stream failed, and
        _Moved when it was moved to another device (the audio taken since
        the last hand-over is then dropped)."""
        api = self._pa_api
        if api is None:  # read() takes this path only on PulseAudio
            raise DeviceLostError("the loopback device cannot be read this way")
        pa, ffi = api._pa, api._ffi
        null = ffi.NULL
        stream = self._rec.stream
        data, nbytes = self._data_ptr, self._nbytes_ptr
        out = bytearray()
        pa.pa_threaded_mainloop_lock(self._mainloop)
        try:
            state = pa.pa_stream_get_state(stream)
            if state == pa.PA_STREAM_CREATING:
                # Pending: a PipeWire sink that sleeps accepts a passive
                # stream only once it wakes (see passive.py).  Nothing to read.
                if self._waker is not None:
                    self._waker.arm(stream)
                return out
            if state != pa.PA_STREAM_READY:
                if not self._ready_seen:
                    raise _NeverReady()
                raise DeviceLostError("the loopback device stopped delivering audio")
            self._ready_seen = True
            if self._index_now is not None and self._device_index is None:
                # The server may have connected the stream elsewhere than
                # asked: PipeWire's restore-stream puts a new stream of an
                # application where an earlier one was moved to.
                name = self._name_now()
                if name and self._string(name).decode() != self._info.id:
                    raise _Moved()
                self._device_index = int(self._index_now())
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
            if not out and self._waker is not None:
                self._waker.arm(stream)  # nothing now: sleep until there is
        finally:
            pa.pa_threaded_mainloop_unlock(self._mainloop)
        return out

    def _take(self) -> tuple[np.ndarray, float]:
        """What the stream holds (float32, interleaved) and when it was taken."""
        try:
            frames = np.frombuffer(self._take_available(), np.float32)
        except _NeverReady:
            if not self._device_present():  # raises when the server is gone
                raise self._device_gone() from None
            self._reconnect_pending()
            frames = np.zeros(0, np.float32)
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
        woken = False
        while True:
            now = time.monotonic()
            drain = self._drain_due(now)
            if drain is None:
                time.sleep(self._drain_at - now)  # the stop's last audio is in flight
                continue
            if drain or woken or now >= self._next_take:
                if drain:  # only a drain that is due ends the request: one asked
                    self._drain_requested.clear()  # meanwhile must not be lost
                # Cleared before the look, so a callback during it wakes the next wait.
                self._wake.clear()
                frames, t = self._take()
                idle = not len(frames) and self._waker is not None
                self._next_take = now + (self.IDLE_S if idle else self.HANDOVER_S)
                if not self._moves_in_order and (len(frames) or drain or now >= self._next_check):
                    # Checked after the audio was taken, so it vouches for it.
                    self._next_check = now + self.HANDOVER_S
                    if not self._device_present():
                        raise self._device_gone()
                if len(frames) or drain:
                    return frames.reshape(-1, self.channels), t
            woken = self._wake.wait(max(0.0, self._next_take - now))

    def _read_blocking(self) -> tuple[np.ndarray, float]:
        """Another soundcard backend (WASAPI, Core Audio): its blocking
        ``record()``, with the audio held back until the next device check
        passes.

        The watchdog is the one of the PulseAudio path's other servers: the
        device list is asked at every hand-over (``HANDOVER_S``), after the
        audio was taken, and all audio held since the last check is dropped
        when the device is gone.  A soundcard loopback is bound to one
        device id, as a PulseAudio monitor is bound to its sink: when the
        default output changes and the old device stays (Bluetooth headphones
        connect), the capture goes on from the old one, as on Linux; when the
        device is removed or unplugged, WASAPI's calls fail
        (AUDCLNT_E_DEVICE_INVALIDATED, 0x88890004, raised by soundcard as a
        bare RuntimeError) or the check above finds it missing: both end
        the capture with a DeviceLostError, what was written is kept, and
        the app reopens the default output's loopback and says so (the
        controller's retry), as on Linux.

        No data in silence: WASAPI loopback delivers no packets while nothing
        plays (SoundCard #70, #137).  soundcard 0.4.6's ``_record_chunk``
        then sleeps a quarter of the minimum device period at a time and,
        after four default periods (~40 ms), returns zeros for the time
        that passed, measured with ``perf_counter``.  So ``record()`` never
        blocks long, and the zeros arrive stamped like audio.  They may be
        off by up to four device periods; the writer's
        :class:`~loopcap.writer.timeline.Timeline` places blocks by their
        arrival and inserts silence only where the audio falls more than
        ``resync_s`` (0.15 s) short of the wall clock, so the file keeps
        wall time and no gap lands inside a sound.
        """
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
                    if not self._held:  # a drain with nothing held: nothing up to now
                        return np.zeros((0, self.channels), np.float32), now
                    out = np.concatenate(self._held)
                    self._held.clear()
                    return out.reshape(-1, self.channels), self._held_t
            try:
                chunk = np.asarray(self._rec.record(numframes=None), np.float32).ravel()
            except Exception as exc:  # soundcard's bare RuntimeError (see above)
                self._held.clear()
                if not self._device_present():
                    raise self._device_gone() from None
                raise DeviceLostError(
                    f"the loopback device {self._info.name!r} stopped delivering audio ({exc}); "
                    "what was captured so far is saved"
                ) from None
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
        self._wake.set()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            if self._ctx is not None:
                self._ctx.__exit__(None, None, None)
            else:
                self._forget(self._rec)
                self._rec.close()
        except Exception:  # the server may be gone; nothing left to release
            pass
        finally:
            if self._com is not None:
                self._com.close()
        stream_closed()
