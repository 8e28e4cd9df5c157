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

from loopcap.device.base import AppInfo, match_app
from loopcap.device.soundcard.connection import NO_SERVER
from loopcap.device.soundcard.events import CLIENT_NAME, EventListener, connect
from loopcap.errors import DeviceError
from loopcap.log import logger

__all__ = ["list_apps", "AppWatcher", "default_channels", "CLIENT_NAME"]


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
    with connect() as pulse:
        try:
            return _group(_streams(pulse))
        except Exception as exc:
            raise DeviceError(f"cannot list the applications playing ({exc})") from None


def default_channels() -> int:
    """The channels of the default output (2 when it cannot be told)."""
    try:
        with connect() as pulse:
            default = pulse.server_info().default_sink_name
            for sink in pulse.sink_list():
                if sink.name == default:
                    return int(sink.channel_count)
    except Exception:  # a guess is enough: the server converts
        pass
    return 2


class AppWatcher(EventListener):
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

    thread_name = "loopcap-app-watch"

    def __init__(self, name: str, on_change: Callable[[], None]) -> None:
        super().__init__("sink_input", "sink")
        self.name = name
        self._on_change = on_change
        self._streams_lock = threading.Lock()
        self._streams: dict[int, str] = {}
        #: Set (with a sentence) when the connection to the server was lost.
        self.error: str | None = None

    @property
    def streams(self) -> dict[int, str]:
        """{sink-input index: monitor source name} of the matching streams now."""
        with self._streams_lock:
            return dict(self._streams)

    def _started(self, pulse: Any) -> None:
        self._refresh(pulse)

    def _heard(self, pulse: Any) -> None:
        self._refresh(pulse)

    def _lost(self, exc: BaseException | None) -> None:
        self.error = f"the sound server stopped during the capture ({exc})"
        self._on_change()

    def _refresh(self, pulse: Any) -> None:
        try:
            monitors = {s.name: s.monitor_source_name for s in pulse.sink_list()}
            streams = _streams(pulse)
        except Exception as exc:
            raise DeviceError(f"{NO_SERVER} ({exc})") from None
        wanted = {i for app in match_app(self.name, _group(streams)) for i in app.streams}
        found = {
            index: monitors.get(sink, f"{sink}.monitor")
            for index, _, _, _, sink in streams
            if sink and index in wanted
        }
        with self._streams_lock:
            changed, self._streams = found != self._streams, found
        if changed:
            logger.debug("streams of {!r}: {}", self.name, found)
            self._on_change()
