"""The applications that play now, and their playback streams as they come
and go: PulseAudio's (and pipewire-pulse's) sink-inputs through pulsectl.

pulsectl is a maintained ctypes binding of libpulse's introspection and
subscription API: it lists sink-inputs with their properties
(``application.name``, ``application.process.binary``,
``application.process.id``) and delivers the server's events.  It has no
record streams; those are made through soundcard's own libpulse binding
(:mod:`~loopcap.device.soundcard.passive`), beside the capture of a whole
output.  pulsectl is imported lazily: Windows and macOS have neither it nor
libpulse.

Threads: :func:`list_apps` opens and closes a connection of its own;
:class:`AppWatcher` keeps one on a thread of its own (a pulsectl connection
must not be shared between threads).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from loguru import logger

from loopcap.device.base import AppInfo, match_app
from loopcap.device.soundcard.connection import NO_SERVER
from loopcap.errors import DeviceError

__all__ = ["list_apps", "AppWatcher", "default_channels", "CLIENT_NAME"]

#: How loopcap's connections name themselves to the sound server.
CLIENT_NAME = "loopcap-apps"


def _pulsectl() -> Any:
    try:
        import pulsectl  # noqa: PLC0415 - lazy: Linux only, and connects nothing yet
    except ImportError as exc:
        raise DeviceError(
            f"the pulsectl package cannot be imported ({exc}): reinstall loopcap "
            "(pip install loopcap) and try again"
        ) from None
    return pulsectl


def _connect() -> Any:
    pulsectl = _pulsectl()
    try:
        return pulsectl.Pulse(CLIENT_NAME)
    except Exception as exc:  # pulsectl.PulseError and libpulse's own failures
        raise DeviceError(f"{NO_SERVER} ({exc})") from None


def _streams(pulse: Any) -> list[tuple[int, str, str, int | None, str]]:
    """Every playback stream: (index, application name, binary, pid, sink name)."""
    sinks = {s.index: s.name for s in pulse.sink_list()}
    out = []
    for si in pulse.sink_input_list():
        props = si.proplist
        name = props.get("application.name") or props.get("media.name") or ""
        binary = props.get("application.process.binary", "")
        try:
            pid: int | None = int(props.get("application.process.id", ""))
        except ValueError:
            pid = None
        out.append((int(si.index), name, binary, pid, sinks.get(si.sink, "")))
    return out


def _group(streams: list[tuple[int, str, str, int | None, str]]) -> list[AppInfo]:
    apps: dict[tuple[str, str, int | None], tuple[list[int], list[str]]] = {}
    for index, name, binary, pid, sink in streams:
        indices, sinks = apps.setdefault((name, binary, pid), ([], []))
        indices.append(index)
        if sink and sink not in sinks:
            sinks.append(sink)
    return [
        AppInfo(name=n, binary=b, pid=p, streams=tuple(sorted(i)), sinks=tuple(s))
        for (n, b, p), (i, s) in sorted(apps.items(), key=lambda kv: kv[0][0].lower())
    ]


def list_apps() -> list[AppInfo]:
    """The applications playing now (one per name, binary and process).
    Raises DeviceError when no sound server is reachable."""
    with _connect() as pulse:
        try:
            return _group(_streams(pulse))
        except Exception as exc:
            raise DeviceError(f"cannot list the applications playing ({exc})") from None


def default_channels() -> int:
    """The channels of the default output (2 when it cannot be told)."""
    try:
        with _connect() as pulse:
            default = pulse.server_info().default_sink_name
            for sink in pulse.sink_list():
                if sink.name == default:
                    return int(sink.channel_count)
    except Exception:  # a guess is enough: the server converts
        pass
    return 2


class AppWatcher:
    """Keeps the playback streams of the apps matching ``name`` up to date.

    A thread of its own holds a pulsectl connection subscribed to the
    server's sink-input events (new, change, remove); after each burst of
    events it lists the sink-inputs again and, when the matching set
    changed, calls ``on_change`` (from that thread: it must not block).
    :attr:`streams` maps each matching sink-input index to the monitor
    source of the sink it plays to.  It sleeps in ``poll()`` between
    events: no wake-up while nothing changes.

    Lifecycle: :meth:`start` (lists once, raises DeviceError without a
    server), then :meth:`close` once (idempotent; from any thread).
    """

    def __init__(self, name: str, on_change: Callable[[], None]) -> None:
        self.name = name
        self._on_change = on_change
        self._lock = threading.Lock()
        self._streams: dict[int, str] = {}
        self._stop = threading.Event()
        self._pulse: Any = None
        self._thread: threading.Thread | None = None
        #: Set (with a sentence) when the connection to the server was lost.
        self.error: str | None = None

    @property
    def streams(self) -> dict[int, str]:
        """{sink-input index: monitor source name} of the matching streams now."""
        with self._lock:
            return dict(self._streams)

    def start(self) -> AppWatcher:
        self._pulse = _connect()
        try:
            self._pulse.event_mask_set("sink_input", "sink")
            self._pulse.event_callback_set(self._event)
            self._refresh()
        except DeviceError:
            self._pulse.close()
            raise
        self._thread = threading.Thread(target=self._run, name="loopcap-app-watch", daemon=True)
        self._thread.start()
        return self

    def _event(self, event: Any) -> None:
        # pulsectl allows no call from its callback: stop listening, list
        # after (every event of the burst is read first).
        raise _pulsectl().PulseLoopStop

    def _refresh(self) -> None:
        try:
            monitors = {s.name: s.monitor_source_name for s in self._pulse.sink_list()}
            streams = _streams(self._pulse)
        except Exception as exc:
            raise DeviceError(f"{NO_SERVER} ({exc})") from None
        wanted = {i for app in match_app(self.name, _group(streams)) for i in app.streams}
        found = {
            index: monitors.get(sink, f"{sink}.monitor")
            for index, _, _, _, sink in streams
            if sink and index in wanted
        }
        with self._lock:
            changed, self._streams = found != self._streams, found
        if changed:
            logger.debug("streams of {!r}: {}", self.name, found)
            self._on_change()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._pulse.event_listen()  # until an event, or close()
                if not self._stop.is_set():
                    self._refresh()
        except Exception as exc:  # the server went away (or pulsectl failed)
            if not self._stop.is_set():
                self.error = f"the sound server stopped during the capture ({exc})"
                self._on_change()
        finally:
            # Released under the lock, so that close() never wakes a freed
            # connection (libpulse aborts in pa_mainloop_wakeup: measured on
            # quit after the server was killed, with the default-output
            # watcher, which is built the same way).
            with self._lock:
                pulse, self._pulse = self._pulse, None
            try:
                pulse.close()
            except Exception:  # nothing left to release
                pass

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        with self._lock:
            if self._pulse is not None:
                try:
                    self._pulse.event_listen_stop()  # thread-safe: wakes event_listen()
                except Exception:  # already closed
                    pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
