"""Per-application capture on macOS 14.2+ through catap (Core Audio process
taps, via pyobjc and a small native recorder).

catap lists the processes registered with Core Audio
(``catap.list_audio_processes()``: pid, name, bundle_id, is_outputting) and
records processes through a tap (``catap.record_processes([proc],
on_buffer=cb)``, then ``start()``/``stop()``); ``cb`` gets each buffer of
native PCM (``buffer.data``, ``buffer.format.num_channels``,
``buffer.format.sample_rate``) on catap's worker thread.  One tap per
matching process, followed and mixed by :class:`~loopcap.device.app_follow.
PolledAppStream`.  A name matches the app's name or its bundle id: browsers
play from helper processes ("Google Chrome Helper",
``com.google.Chrome.helper``), which "chrome" finds.

Without the System Audio Recording permission macOS delivers silence rather
than an error (catap's ``captured_only_silence``): said once, naming the
permission.  catap is imported lazily: it is an optional extra
(``loopcap[app-macos]``) and raises ImportError before macOS 14.2.

Lifecycle and threads: as :mod:`loopcap.device.app_follow`; the taps'
callbacks only append to a deque the reader empties.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from loopcap.device.app_follow import PolledAppSource, PolledAppStream, pid_alive
from loopcap.device.base import AppInfo, match_app
from loopcap.errors import DeviceError
from loopcap.log import logger

__all__ = [
    "CatapAppSource",
    "CatapAppStream",
    "catap_support",
    "list_apps",
    "NO_PERMISSION",
    "SILENT_S",
]

NO_PERMISSION = (
    "macOS delivers only silence from the app: loopcap needs the System Audio "
    "Recording permission (System Settings > Privacy & Security > Screen & System "
    "Audio Recording: allow the terminal or app that runs loopcap), then record again"
)
#: An app that outputs this long (s) into a tap that delivered only zeros is
#: taken as the missing permission.
SILENT_S = 3.0


def _catap() -> Any:
    try:
        import catap  # noqa: PLC0415 - lazy: an optional extra, macOS 14.2+ only
    except ImportError as exc:
        raise DeviceError(
            f"the catap package cannot be imported ({exc}): per-application capture on "
            "macOS needs macOS 14.2 or later and `pip install loopcap[app-macos]`"
        ) from None
    return catap


def catap_support() -> bool:
    """Whether catap imports here (it refuses before macOS 14.2)."""
    try:
        _catap()
    except DeviceError:
        return False
    return True


def _apps(catap: Any) -> list[tuple[AppInfo, Any]] | None:
    try:
        procs = catap.list_audio_processes()
    except OSError as exc:  # Core Audio refused this time: the next scan tries again
        logger.debug("listing the audio processes failed: {}", exc)
        return None
    return [(AppInfo(p.name, p.bundle_id or "", p.pid, streams=(), sinks=()), p) for p in procs]


def list_apps() -> list[AppInfo]:
    """The processes registered with Core Audio now."""
    apps = _apps(_catap())
    if apps is None:
        raise DeviceError("the processes that play cannot be listed now; try again")
    return [a for a, _ in apps]


@dataclass
class _Tap:
    """One process's tap and what its callback delivered (monotonic s, buffer)."""

    session: Any
    pid: int
    started: float
    buffers: deque[Any] = field(default_factory=deque)
    resampler: Any = None


class CatapAppStream(PolledAppStream):
    """One catap tap per matching process, mixed."""

    def __init__(self, name: str, samplerate: int, channels: int) -> None:
        self._catap = _catap()
        self._heard = False  # any tap delivered a sample other than zero
        self._warned = False
        self._listed: dict[Hashable, Any] = {}  # the matching processes at the last scan
        super().__init__(name, samplerate, channels)

    def _scan(self) -> dict[Hashable, Any] | None:
        apps = _apps(self._catap)
        if apps is None:
            return None
        self._listed = {int(p.pid): p for a, p in apps if match_app(self.app, [a])}
        return dict(self._listed)

    def _alive(self, key: Hashable) -> bool:
        return isinstance(key, int) and pid_alive(key)

    def _open(self, key: Hashable, target: Any) -> Any:
        tap = _Tap(session=None, pid=int(target.pid), started=self._now())
        buffers = tap.buffers

        def on_buffer(buffer: Any) -> None:
            # On catap's worker thread: queue it, no more (deque.append is atomic).
            buffers.append(buffer)

        try:
            tap.session = self._catap.record_processes([target], on_buffer=on_buffer)
            tap.session.start()
        except (OSError, LookupError, RuntimeError) as exc:  # it vanished, or Core Audio refused
            logger.debug("process {} not recorded: {}", key, exc)
            return None
        return tap

    def _frames(self, tap: _Tap, buffer: Any) -> np.ndarray:
        fmt = buffer.format
        if not fmt.is_float or fmt.bits_per_sample != 32:
            raise DeviceError(
                f"the app's sound comes in a format loopcap cannot read ({fmt.format_id}, "
                f"{fmt.bits_per_sample} bit)"
            )
        x = np.frombuffer(buffer.data, np.float32).reshape(-1, fmt.num_channels)
        if fmt.num_channels != self.channels:  # mono to both, or the first ones
            x = np.repeat(x, self.channels, axis=1) if fmt.num_channels == 1 else x
            x = x[:, : self.channels]
        if round(fmt.sample_rate) != self.samplerate:
            if tap.resampler is None:
                import soxr  # noqa: PLC0415 - only for an output not at the capture's rate

                tap.resampler = soxr.ResampleStream(
                    fmt.sample_rate, self.samplerate, self.channels, dtype="float32"
                )
            x = tap.resampler.resample_chunk(np.ascontiguousarray(x))
        return np.ascontiguousarray(x, np.float32)

    def _poll(self, handle: Any) -> tuple[np.ndarray, bool]:
        tap: _Tap = handle
        parts = []
        while tap.buffers:
            parts.append(self._frames(tap, tap.buffers.popleft()))
        frames = np.concatenate(parts) if parts else np.zeros((0, self.channels), np.float32)
        if len(frames) and frames.any():
            self._heard = True
        self._check_permission(tap)
        session = tap.session
        return frames, bool(session.is_recording and not session.capture_failed)

    def _check_permission(self, tap: _Tap) -> None:
        if self._heard or self._warned or self._now() - tap.started < SILENT_S:
            return
        process = self._listed.get(tap.pid)
        if tap.session.captured_only_silence and getattr(process, "is_outputting", False):
            self._warned = True
            logger.warning(NO_PERMISSION)

    def _close(self, handle: Any) -> None:
        tap: _Tap = handle
        try:
            tap.session.close()  # stops it and destroys the tap; idempotent
        except Exception as exc:  # a failed teardown: nothing to save
            logger.debug("closing a tap of the app: {}", exc)


class CatapAppSource(PolledAppSource):
    """The sound of the applications matching ``name``, through catap."""

    stream_class = CatapAppStream
