"""soundcard's connection to the sound server: imported lazily, kept alive.

``import soundcard`` connects to PulseAudio at import time and raises a bare
``AssertionError`` when no server is reachable; :func:`soundcard_module`
turns that (and a missing package) into a :class:`~loopcap.errors.DeviceError`.

soundcard keeps that one connection for the life of the process and never
reconnects: after the sound server is restarted it lists no devices at all.
So before each use the connection is checked, and a dead one is replaced by
a fresh one (see :func:`_reconnect_if_lost`); the app can then carry on once
the server is back, without a restart.

Threads: every function here is thread-safe (one lock, ``_SC_LOCK``).
"""

from __future__ import annotations

import atexit
import sys
import threading
import traceback
from typing import Any

from loopcap.device.soundcard.com import join_com
from loopcap.errors import DeviceError
from loopcap.log import logger

__all__ = ["NO_SERVER", "soundcard_module", "pulse_extra", "stream_opened", "stream_closed"]

NO_SERVER = (
    "no sound server is running: start PulseAudio or PipeWire (pipewire-pulse) and try again"
)

#: Serialises the import of soundcard and the replacement of its connection.
_SC_LOCK = threading.Lock()
#: Streams opened and not yet closed: a dead connection is freed only when
#: none of its streams can still touch it.
_open_streams = 0
#: soundcard's connections not freed: their main loops are stopped at exit
#: (by _stop_main_loops, registered once).
_connections: list[Any] = []
_stop_registered = False


def soundcard_module() -> Any:
    """Import soundcard (translating its import-time failures) with a live
    connection to the sound server.  Thread-safe."""
    with _SC_LOCK:
        try:
            import soundcard  # noqa: PLC0415 - lazy on purpose, see the package docstring
        except ImportError as exc:
            # Not installed (or a broken install): a device error, not a crash.
            raise DeviceError(
                f"the soundcard package cannot be imported ({exc}): reinstall loopcap "
                "(pip install loopcap) and try again"
            ) from None
        except AssertionError as exc:
            # soundcard's PulseAudio backend asserts the context reached READY.
            _free_failed_import(exc)
            raise DeviceError(NO_SERVER) from None
        except (OSError, RuntimeError) as exc:
            raise DeviceError(f"the sound system cannot be used ({exc}): {NO_SERVER}") from None
        if sys.platform == "win32":
            # soundcard initialised COM only on the thread that imported it;
            # this one lists or finds devices (see loopcap.device.soundcard.com).
            join_com(soundcard)
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
        if conn in _connections:
            _connections.remove(conn)
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
    if api is None or old is None:
        return  # not the PulseAudio backend (WASAPI, Core Audio)
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
    # connection at exit anyway; the main loop is only stopped.
    atexit.unregister(pulse._shutdown)
    global _stop_registered
    if not _stop_registered:
        atexit.register(_stop_main_loops, sc.pulseaudio._pa)
        _stop_registered = True
    _connections.append(pulse)


def _stop_main_loops(pa: Any) -> None:
    """Stop the main loop of every connection not freed (at exit).

    A daemon thread that holds a main loop's lock when the interpreter is
    torn down (a capture thread still reading: the lock is taken through
    cffi, which lets go of the GIL) dies there, for CPython ends every
    thread that asks for the GIL back once finalization has begun.  The lock
    is priority-inheriting, so the kernel marks it "owner died", and the
    main loop's own thread, locking it next, aborts the process in glibc
    (measured: 1 exit of ``loopcap record`` in 400 on PipeWire, SIGABRT in
    ``__pthread_mutex_lock_full``, the core showing libpulse's thread in
    ``pa_mutex_lock`` from its poll).  atexit runs before that teardown;
    stopping a loop joins its thread, so nothing is left to take a dead
    thread's lock.  Nothing is freed: a daemon thread may still use the loop.
    """
    # Not under _SC_LOCK: a daemon thread may hold it for ever at exit.
    running, _connections[:] = list(_connections), []
    for conn in running:
        try:
            pa.pa_threaded_mainloop_stop(conn.mainloop)
        except Exception:  # best effort, at exit
            logger.debug("could not stop a sound server connection's main loop")


class _Extra:
    """A small cffi instance of loopcap's own beside soundcard's.

    Every C type named for the first time on soundcard's instance is parsed
    together with all of soundcard's declarations: ~10 ms of CPU each
    (measured), 30 ms for the three a stream needs, 70 ms for declaring
    ``pa_stream_get_device_index`` there.  Here each costs well under 1 ms;
    cffi types are shared between instances, so what is made here passes to
    soundcard's functions.
    """

    def __init__(self) -> None:
        import cffi  # noqa: PLC0415 - soundcard's own dependency

        self.ffi = cffi.FFI()
        self.ffi.cdef(
            """
            uint32_t pa_stream_get_device_index(void *s);
            const char *pa_stream_get_device_name(void *s);
            void *pa_proplist_new(void);
            int pa_proplist_sets(void *p, const char *key, const char *value);
            void pa_proplist_free(void *p);
            void *pa_stream_new_with_proplist(
                void *c, const char *name, const void *ss, const void *map, void *p);
            int pa_stream_set_monitor_stream(void *s, uint32_t sink_input_idx);
            void pa_stream_set_read_callback(
                void *s, void (*cb)(void *s, size_t nbytes, void *userdata), void *userdata);
            void pa_stream_set_state_callback(
                void *s, void (*cb)(void *s, void *userdata), void *userdata);
            void pa_stream_set_moved_callback(
                void *s, void (*cb)(void *s, void *userdata), void *userdata);
            int pa_stream_get_state(void *s);
            int pa_stream_disconnect(void *s);
            """
        )
        self.device_index: Any = None  # (pa_stream address) -> its device index
        self.lib: Any = None
        for name in ("pulse", "libpulse.so.0", "libpulse.so"):
            try:
                self.lib = self.ffi.dlopen(name)
                self.device_index = self.lib.pa_stream_get_device_index
                break
            except (OSError, AttributeError):
                continue
        if self.device_index is None:
            logger.debug("pa_stream_get_device_index is not available")

    def new_stream(
        self, context: int, name: bytes, spec: int, chmap: int, props: dict[str, str]
    ) -> int | None:
        """``pa_stream_new_with_proplist``: a new, unconnected stream that
        carries ``props``; its address, or None when libpulse lacks the
        call.  ``context``, ``spec`` and ``chmap`` are addresses; the caller
        holds the main loop's lock.  (soundcard creates its streams with
        ``pa_stream_new``, without properties, and libpulse sends a stream's
        properties only when it is created.)"""
        lib, ffi = self.lib, self.ffi
        if lib is None:
            return None
        try:
            proplist = lib.pa_proplist_new()
        except AttributeError:
            return None
        try:
            for key, value in props.items():
                lib.pa_proplist_sets(proplist, key.encode(), value.encode())
            new = lib.pa_stream_new_with_proplist(
                ffi.cast("void *", context),
                name,
                ffi.cast("void *", spec),
                ffi.cast("void *", chmap),
                proplist,
            )
        finally:
            lib.pa_proplist_free(proplist)
        return None if new == ffi.NULL else self.address(new)

    def set_monitor_stream(self, stream: int, sink_input: int) -> bool:
        """``pa_stream_set_monitor_stream``: before it connects, make the
        record stream ``stream`` (an address) record only the playback
        stream ``sink_input`` (what ``parec --monitor-stream`` does).  False
        when libpulse lacks the call or refuses.  The caller holds the main
        loop's lock."""
        if self.lib is None:
            return False
        try:
            call = self.lib.pa_stream_set_monitor_stream
        except AttributeError:
            return False
        return int(call(self.ffi.cast("void *", stream), sink_input)) == 0

    def address(self, pointer: Any) -> int:
        return int(self.ffi.cast("uintptr_t", pointer))


_extra: _Extra | None = None


def pulse_extra() -> _Extra:
    global _extra
    with _SC_LOCK:
        if _extra is None:
            _extra = _Extra()
        return _extra


def stream_opened() -> None:
    """Count a stream that uses the current connection (see _reconnect_if_lost)."""
    global _open_streams
    with _SC_LOCK:
        _open_streams += 1


def stream_closed() -> None:
    """Uncount a stream: its connection may be freed once it is replaced."""
    global _open_streams
    with _SC_LOCK:
        _open_streams -= 1
