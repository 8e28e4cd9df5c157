"""A PulseAudio record stream that lets its sink sleep, opened without waiting.

soundcard's recorder (``soundcard.pulseaudio._Recorder``) connects with
``PA_STREAM_ADJUST_LATENCY`` alone and no stream properties, so an open
monitor stream counts as a user of its sink: PulseAudio's
``pa_sink_check_suspend()`` never lets the sink suspend, and PipeWire keeps
the node running (measured: a null sink stayed IDLE for as long as the app
waited with its pre-roll, SUSPENDED with no client).  A laptop's sound card
then never sleeps, and a desktop may show a recording indicator that never
goes out.  And soundcard's ``__enter__`` waits until the stream is READY,
which on PipeWire (0.3.65) a passive stream on a sleeping sink is not until
something plays: ``loopcap record`` hung there.

:class:`PassiveRecorder` makes the same stream as soundcard (same buffer
attributes, float32) through soundcard's own libpulse binding, with:

- ``PA_STREAM_DONT_INHIBIT_AUTO_SUSPEND`` (PulseAudio: the source output
  does not keep its sink awake);
- the property ``node.passive = true`` (pipewire-pulse 0.3.65 ignores the
  flag but copies stream properties onto its node; a passive node does not
  keep its driver running);
- no wait for READY beyond :data:`OPEN_WAIT_S`: a stream still CREATING
  then is *pending*, and delivers once the sink wakes.

With ``monitor_stream`` set it records one playback stream (a sink-input)
of the sink alone, as ``parec --monitor-stream=IDX`` does, for per-application
capture: ``pa_stream_set_monitor_stream`` before it connects, and
``PA_STREAM_DONT_MOVE``, so that when the playback stream ends or moves to
another sink the record stream fails instead of being moved: PipeWire
re-links an unpinned stream to a fallback source, possibly the microphone.

The monitor delivers nothing while the sink sleeps, as WASAPI loopback does
in silence; the writer keeps the wall-clock timeline through that (see
:class:`~loopcap.writer.timeline.Timeline`).

:class:`StreamWaker` lets the reader sleep while such a stream has nothing
to say, and wakes it when it has: audio after none, a change of state
(ready, failed) or of device (moved).

Threads: every call takes soundcard's main-loop lock itself; one owner
thread (the capture thread) opens, reads and closes.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from loopcap.device.soundcard.connection import pulse_extra
from loopcap.errors import DeviceError

__all__ = [
    "PassiveRecorder",
    "StreamWaker",
    "DONT_INHIBIT_AUTO_SUSPEND",
    "DONT_MOVE",
    "PASSIVE_PROPS",
    "OPEN_WAIT_S",
]

#: ``PA_STREAM_DONT_INHIBIT_AUTO_SUSPEND`` (pulse/def.h; not among soundcard's
#: declarations).
DONT_INHIBIT_AUTO_SUSPEND = 0x8000
#: ``PA_STREAM_DONT_MOVE`` (pulse/def.h): never move the stream elsewhere.
DONT_MOVE = 0x0200
#: The stream properties that make pipewire-pulse's node passive.
PASSIVE_PROPS = {"node.passive": "true", "media.name": "loopcap capture"}
#: How long :meth:`PassiveRecorder.open` waits for the server to accept the
#: stream (s).  PulseAudio answers within milliseconds, asleep or not; a
#: PipeWire sink that sleeps answers when it wakes, so the stream is left
#: pending rather than holding up the start of a recording.
OPEN_WAIT_S = 0.05


class PassiveRecorder:
    """One record stream on ``source_id`` (a PulseAudio source name).

    ``api`` is ``soundcard.pulseaudio``.  ``monitor_stream``: the index of
    a sink-input of the sink whose monitor ``source_id`` is, to record that
    playback stream alone (see the module docstring).  Lifecycle: :meth:`open` once, then
    :meth:`state` / the stream pointer :attr:`stream` for reading, then
    :meth:`close` once (idempotent).
    """

    def __init__(
        self,
        api: Any,
        source_id: str,
        samplerate: int,
        channels: int,
        blocksize: int,
        monitor_stream: int | None = None,
    ) -> None:
        self._api = api
        self._pulse = api._pulse  # this stream's connection, even after a reconnection
        self.source_id = source_id
        self.samplerate = samplerate
        self.channels = channels
        self.blocksize = blocksize
        self.monitor_stream = monitor_stream
        self.stream: Any = None

    def _locked(self) -> Any:
        return self._pulse._lock_mainloop()

    def open(self) -> PassiveRecorder:
        """Create and connect the stream; wait up to :data:`OPEN_WAIT_S` for
        the server to accept it.  Raises DeviceError when it refuses."""
        pa, ffi = self._api._pa, self._api._ffi
        extra = pulse_extra()
        spec = ffi.new("pa_sample_spec*")
        spec.format = pa.PA_SAMPLE_FLOAT32LE
        spec.rate = self.samplerate
        spec.channels = self.channels
        chmap = ffi.new("pa_channel_map*")
        pa.pa_channel_map_init_extend(chmap, self.channels, pa.PA_CHANNEL_MAP_DEFAULT)
        attr = ffi.new("pa_buffer_attr*")
        # As soundcard asks: small fragments keep the monitor delivering
        # steadily; the rest is left to the server.
        attr.maxlength = 2**32 - 1
        attr.fragsize = self.blocksize * self.channels * 4
        attr.minreq = attr.prebuf = 2**32 - 1
        attr.tlength = attr.fragsize
        flags = pa.PA_STREAM_ADJUST_LATENCY | DONT_INHIBIT_AUTO_SUSPEND
        if self.monitor_stream is not None:
            flags |= DONT_MOVE
        with self._locked():
            address = extra.new_stream(
                extra.address(self._pulse.context),
                b"loopcap capture",
                extra.address(spec),
                extra.address(chmap),
                PASSIVE_PROPS,
            )
            if address is None:  # no proplist support: a stream like soundcard's
                stream = pa.pa_stream_new(self._pulse.context, b"loopcap capture", spec, chmap)
            else:
                stream = ffi.cast("pa_stream *", address)
            if stream == ffi.NULL:
                raise DeviceError(
                    f"the sound server refused a capture stream on {self.source_id!r}"
                )
            self.stream = stream
            if self.monitor_stream is not None and not extra.set_monitor_stream(
                extra.address(stream), self.monitor_stream
            ):
                failed = -1  # never the whole sink instead of the one stream
            else:
                failed = pa.pa_stream_connect_record(stream, self.source_id.encode(), attr, flags)
        if failed < 0:
            self.close()
            raise DeviceError(f"cannot connect a capture stream to {self.source_id!r}")
        deadline = time.monotonic() + OPEN_WAIT_S
        while (state := self.state()) == pa.PA_STREAM_CREATING and time.monotonic() < deadline:
            time.sleep(0.005)
        if state not in (pa.PA_STREAM_READY, pa.PA_STREAM_CREATING):
            self.close()
            raise DeviceError(f"the sound server did not open a capture of {self.source_id!r}")
        return self

    def state(self) -> int:
        """The stream's libpulse state (``PA_STREAM_*``)."""
        with self._locked():
            return int(self._api._pa.pa_stream_get_state(self.stream))

    def close(self) -> None:
        """Disconnect and free the stream.  Idempotent; never raises (the
        server may be gone).

        A pending stream cannot be disconnected yet: libpulse refuses
        (``PA_ERR_BADSTATE``) until the server has answered, keeps it, and
        once the sink wakes it records for ever, unread (measured on
        PipeWire: the closed stream still listed as a source-output, and the
        process woken 100 times a second while the sink played).  Such a
        stream is disconnected by :func:`_disconnect_when_answered` when the
        answer comes."""
        stream, self.stream = self.stream, None
        if stream is None:
            return
        pa = self._api._pa
        try:
            with self._locked():
                state = pa.pa_stream_get_state(stream)
                if state == pa.PA_STREAM_READY:
                    pa.pa_stream_disconnect(stream)
                elif state == pa.PA_STREAM_CREATING:
                    _disconnect_when_answered(stream)
                pa.pa_stream_unref(stream)
        except Exception:  # nothing left to release
            pass


#: ``PA_STREAM_READY`` (pulse/def.h).
_PA_STREAM_READY = 2
#: The one state callback of pending streams that were closed (made once,
#: never freed: libpulse may call it at any time after).
_closer: Any = None


def _disconnect_when_answered(stream: Any) -> None:
    """Disconnect the pending ``stream`` as soon as the server answers (see
    :meth:`PassiveRecorder.close`); no other callback of it runs meanwhile.
    The caller holds the main-loop lock."""
    global _closer
    extra = pulse_extra()
    lib, ffi = extra.lib, extra.ffi
    if lib is None:
        return
    if _closer is None:

        def on_state(pointer: Any, _userdata: Any) -> None:
            if lib.pa_stream_get_state(pointer) == _PA_STREAM_READY:
                lib.pa_stream_disconnect(pointer)  # (unlinks it: no callback after)

        _closer = ffi.callback("void(void *, void *)", on_state)
    pointer = ffi.cast("void *", extra.address(stream))
    lib.pa_stream_set_read_callback(pointer, ffi.NULL, ffi.NULL)
    lib.pa_stream_set_moved_callback(pointer, ffi.NULL, ffi.NULL)
    lib.pa_stream_set_state_callback(pointer, _closer, ffi.NULL)


class StreamWaker:
    """Sets ``wake`` (a :class:`threading.Event`) when a record stream has
    something for its reader: audio after it found none, or a change of
    state or device.

    libpulse calls back on its main-loop thread, with the lock held, for
    every fragment that arrives (the read callback), for each change of
    state (ready, failed, terminated) and for a move to another device.
    The state and move callbacks stay on for the stream's life: they come
    a few times in it.  The read callback would come every 10 ms while audio
    flows, so it is set only by :meth:`arm`, when the reader found nothing,
    and unsets itself at the first fragment: the reader then reads every
    ``HANDOVER_S`` again, and sleeps while the device delivers nothing (a
    sink that sleeps) instead of looking every hand-over, 4 times a second.

    Lifecycle: made once per reader with :meth:`make` (None when libpulse
    lacks the calls: the reader then looks every hand-over); :meth:`watch`
    each stream it reads, :meth:`arm` when a read found nothing, and
    :meth:`forget` each stream before it is closed, all with the main-loop
    lock held.  libpulse holds pointers to its callbacks for as long as the
    stream lives, and a stream closed while pending (a sleeping PipeWire
    sink) lives on inside libpulse until the server answers, which it does
    when the sink wakes: without :meth:`forget` it then called a freed
    callback (measured: the app died without a word when a sound played
    after it had followed a new default output).
    """

    def __init__(self, wake: threading.Event) -> None:
        extra = pulse_extra()
        lib, ffi = extra.lib, extra.ffi
        self._extra = extra
        self._set_read = lib.pa_stream_set_read_callback
        self._set_state = lib.pa_stream_set_state_callback
        self._set_moved = lib.pa_stream_set_moved_callback

        def on_data(stream: Any, _nbytes: int, _userdata: Any) -> None:
            lib.pa_stream_set_read_callback(stream, ffi.NULL, ffi.NULL)  # once
            wake.set()

        def on_change(_stream: Any, _userdata: Any) -> None:
            wake.set()

        self._on_data = ffi.callback("void(void *, size_t, void *)", on_data)
        self._on_change = ffi.callback("void(void *, void *)", on_change)

    @classmethod
    def make(cls, wake: threading.Event) -> StreamWaker | None:
        """A waker setting ``wake``, or None when libpulse (or cffi) cannot
        call back here."""
        try:
            return cls(wake)
        except (AttributeError, MemoryError, RuntimeError):  # no such call; no callbacks
            return None

    def _pointer(self, stream: Any) -> Any:
        extra = self._extra
        return extra.ffi.cast("void *", extra.address(stream))

    def watch(self, stream: Any) -> None:
        """Wake on ``stream``'s changes of state and device from now on.
        The caller holds the main-loop lock."""
        pointer, null = self._pointer(stream), self._extra.ffi.NULL
        self._set_state(pointer, self._on_change, null)
        self._set_moved(pointer, self._on_change, null)

    def forget(self, stream: Any) -> None:
        """Call back no more for ``stream``.  The caller holds the
        main-loop lock."""
        pointer, null = self._pointer(stream), self._extra.ffi.NULL
        self._set_read(pointer, null, null)
        self._set_state(pointer, null, null)
        self._set_moved(pointer, null, null)

    def arm(self, stream: Any) -> None:
        """Wake at ``stream``'s next fragment of audio (once).  The caller
        holds the main-loop lock, under which it found the stream empty, so
        no fragment can slip in between."""
        self._set_read(self._pointer(stream), self._on_data, self._extra.ffi.NULL)
