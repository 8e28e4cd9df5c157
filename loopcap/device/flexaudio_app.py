"""Per-application capture through flexaudio: Windows 11 process loopback
(a process tree), macOS process taps, Linux PipeWire (exact PIDs).

flexaudio (MIT, Rust/PyO3) lists the processes that have audio
(``flexaudio.processes()``: pid, name, executable) and opens one capture
stream per process (``flexaudio.open("process", process_id=...)``), polled
for 20 ms chunks of interleaved float32.  :class:`FlexaudioAppStream`
follows the matching processes through :class:`~loopcap.device.app_follow.
PolledAppStream`.  On Windows a stream records a process and its children:
a process whose parent also matches is left to its parent's stream (told
through psutil where it is installed; without it every matching process is
recorded).  Chunks a stream's queue dropped (its ``frame_index`` jumps:
this thread was held up) are put back as silence, so that what follows
keeps its place.  flexaudio is imported lazily: it is an optional extra
(``loopcap[app-windows]``).

Lifecycle and threads: as :mod:`loopcap.device.app_follow`.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from loopcap.device.app_follow import PolledAppSource, PolledAppStream, pid_alive
from loopcap.device.base import AppInfo, match_app
from loopcap.errors import DeviceError, DeviceLostError
from loopcap.log import logger

__all__ = [
    "FlexaudioAppSource",
    "FlexaudioAppStream",
    "flexaudio_module",
    "process_capture_support",
    "list_apps",
    "WINDOWS_TOO_OLD",
]

WINDOWS_TOO_OLD = (
    "per-application capture needs Windows 11 (build 20348 or later); "
    "this system records the whole output only"
)
#: Listings of the processes failing this long (s) end the capture.
LISTING_LOST_S = 5.0
#: Each stream's queue, in 20 ms chunks: 5 s.  flexaudio's default (about
#: 1 s, measured on PipeWire, flexaudio 0.8.1) dropped 16 chunks when the
#: polling thread was held up for 1.3 s, as a loaded host may hold it.
RING_CHUNKS = 250
#: flexaudio's ``frame_index`` counts frames at this rate (Hz), whatever
#: the stream's own (flexaudio 0.8.1: 48 kHz frames; "other primary rates
#: share units"; measured at 44.1 kHz: 960 a chunk of 882 frames).
INDEX_RATE = 48000
#: A jump of frame_index at most this many chunks longer than the drops told
#: may be told of by the next poll: a drop may be told only after the poll
#: took the chunk past its gap (CI saw a sweep placed one 256-frame chunk
#: early after flexaudio dropped 0.2 s of it).
LATE_TOLD = 2


PERMISSION = (
    "the system refused to let loopcap record other applications' sound: allow it "
    "(macOS: System Settings > Privacy & Security > Screen & System Audio Recording) "
    "and record again"
)


@dataclass
class _Drops:
    """What a stream's queue dropped, to put back as silence."""

    next: float | None = None  # the frame_index its next chunk should have
    dropped: int = 0  # flexaudio's count of chunks dropped, as last told
    unplaced: int = 0  # dropped chunks no gap in frame_index has shown yet
    frames: int = 0  # the size of its chunks (frames), as last delivered
    owed: int = 0  # chunks of the last poll's jump no drop told of (yet)


def flexaudio_module() -> Any:
    """The flexaudio module; DeviceError when it is not installed."""
    try:
        import flexaudio  # noqa: PLC0415 - lazy: an optional extra
    except ImportError as exc:
        raise DeviceError(
            f"the flexaudio package cannot be imported ({exc}): install it with "
            "pip install loopcap[app-windows]"
        ) from None
    return flexaudio


def process_capture_support() -> tuple[bool, str]:
    """Whether flexaudio can capture one process here, and if not why, as
    flexaudio's capabilities probe tells (no capture, no consent asked)."""
    fa = flexaudio_module()
    try:
        process = fa.capabilities()["sources"]["process"]
    except Exception as exc:  # its query failed: say so rather than guess
        return False, f"per-application capture cannot be probed ({exc})"
    availability = process.get("availability", {})
    if availability.get("status") == "supported":
        return True, ""
    reason = availability.get("reason") or {}
    if reason.get("kind") == "osVersionTooOld" and sys.platform == "win32":
        return False, WINDOWS_TOO_OLD
    return False, (
        "this system records the whole output only: per-application capture is "
        f"not available here ({reason.get('kind') or availability.get('status', 'unknown')})"
    )


def _translate(exc: BaseException, fa: Any) -> DeviceError | None:
    """flexaudio's typed error as loopcap's, one plain sentence; None for an
    error that concerns one process only (it vanished: not a failure)."""
    if isinstance(exc, fa.UnsupportedOsVersionError):
        return DeviceError(
            WINDOWS_TOO_OLD
            if sys.platform == "win32"
            else "per-application capture needs a newer system; this one records "
            "the whole output only"
        )
    if isinstance(exc, fa.RecordingPermissionError):
        return DeviceError(PERMISSION)
    if isinstance(exc, fa.UnsupportedError):
        return DeviceError(
            "this system records the whole output only: per-application capture is "
            f"not supported here ({exc})"
        )
    if isinstance(exc, fa.DeviceLostError):
        return DeviceLostError(
            "the sound system stopped during the capture; what was captured so far is saved"
        )
    return None


def _apps(fa: Any) -> list[tuple[AppInfo, Any]] | None:
    try:
        procs = fa.processes()
    except RuntimeError as exc:  # busy or timed out: the next scan tries again
        logger.debug("listing the processes failed: {}", exc)
        return None
    return [(AppInfo(p.name, p.executable or "", p.pid, streams=(), sinks=()), p) for p in procs]


def list_apps() -> list[AppInfo]:
    """The processes that have audio now, as flexaudio lists them."""
    apps = _apps(flexaudio_module())
    if apps is None:
        raise DeviceError("the processes that play cannot be listed now; try again")
    return [a for a, _ in apps]


def _tree_roots(pids: set[int]) -> set[int]:
    """The PIDs whose parent is not among ``pids`` (all of them where psutil,
    which tells a parent on every system, is missing)."""
    try:
        import psutil  # noqa: PLC0415 - optional: Windows' extra brings it
    except ImportError:
        return pids
    roots = set()
    for pid in pids:
        try:
            parent = psutil.Process(pid).ppid()
        except Exception:  # it vanished, or no access: record it
            parent = None
        if parent not in pids:
            roots.add(pid)
    return roots


class FlexaudioAppStream(PolledAppStream):
    """One flexaudio process stream per matching process, mixed."""

    def __init__(self, name: str, samplerate: int, channels: int) -> None:
        self._fa = flexaudio_module()
        self._failing_since: float | None = None  # when the listings began to fail
        self._drops: dict[int, _Drops] = {}  # by id(handle), until it is closed
        super().__init__(name, samplerate, channels)

    def _scan(self) -> dict[Hashable, Any] | None:
        apps = _apps(self._fa)
        if apps is None:
            # One failed listing is flexaudio being busy; failing for
            # LISTING_LOST_S, the sound system is gone (a whole-output
            # capture stops then too).
            now = self._now()
            self._failing_since = self._failing_since or now
            if now - self._failing_since >= LISTING_LOST_S:
                raise DeviceLostError(
                    "the sound system stopped answering during the capture; "
                    "what was captured so far is saved"
                )
            return None
        self._failing_since = None
        matching: dict[int, Any] = {int(p.pid): p for a, p in apps if match_app(self.app, [a])}
        if sys.platform == "win32":  # a stream records the process tree
            roots = _tree_roots(set(matching))
            matching = {pid: p for pid, p in matching.items() if pid in roots}
        return {pid: p for pid, p in matching.items()}

    def _alive(self, key: Hashable) -> bool:
        return isinstance(key, int) and pid_alive(key)

    def _open(self, key: Hashable, target: Any) -> Any:
        fa = self._fa
        try:
            return fa.open(
                "process",
                process_id=int(target.pid),
                output_rate=self.samplerate,
                output_channels=self.channels,
                ring_capacity_chunks=RING_CHUNKS,
            )
        except Exception as exc:
            error = _translate(exc, fa)
            if error is not None:
                raise error from None
            logger.debug("process {} not recorded: {}", key, exc)
            return None

    def _events(self, handle: Any, track: _Drops) -> bool:
        """Take ``handle``'s events; whether it still runs."""
        alive = True
        while (event := handle.poll_event()) is not None:
            kind = event.type
            if kind == "permissionDenied":
                raise DeviceError(PERMISSION)
            if kind in ("terminalError", "error", "deviceLost"):
                logger.debug("a capture of the app ended: {}", event.message or kind)
                alive = False
            elif kind == "chunkDropped":  # count: chunks dropped so far
                count = int(event.count)
                if count < track.dropped:  # counted again from 0 (a new stream)
                    track.dropped = 0
                track.unplaced += count - track.dropped
                track.dropped = count
            elif kind in ("stalled", "recovered"):
                # A reopened stream: its frames resume with no downtime in
                # them; the mixer places them by their arrival.
                track.unplaced, track.next = 0, None
                logger.debug("flexaudio: {}", kind)
            elif kind == "silenceWhileSourceActive" and sys.platform == "darwin":
                logger.warning("only silence arrives while the app plays: " + PERMISSION)
            else:
                logger.debug("flexaudio: {}", kind)
        return alive

    def _poll(self, handle: Any) -> tuple[np.ndarray, bool]:
        track = self._drops.setdefault(id(handle), _Drops())
        alive = self._events(handle, track)
        got = []
        try:
            while (chunk := handle.poll_chunk()) is not None:
                got.append(chunk)
        except RuntimeError as exc:  # terminal: what it delivered before is kept
            error = _translate(exc, self._fa)
            if error is not None and not isinstance(error, DeviceLostError):
                raise error from None
            alive = False
        # (A drop told after the chunks were taken: its gap shows in them.)
        alive = self._events(handle, track) and alive
        chunks: list[bytes] = []
        lost = 0
        width = 4 * self.channels  # bytes per frame (float32)
        per_index = self.samplerate / INDEX_RATE  # frames per frame_index unit
        owed, track.owed = track.owed, 0  # the last poll's alone
        for chunk in got:
            frames = len(chunk.data) // width
            if track.next is None:
                track.unplaced = 0  # dropped before its first chunk: no place
            # A jump of frame_index where flexaudio told of dropped chunks:
            # its queue dropped them while this thread was held up (a loaded
            # host).  Silence goes in their place (no more than it dropped,
            # in chunks of the size before), so that what follows keeps its
            # true place.
            size = track.frames or frames
            gap = 0 if track.next is None else round((chunk.frame_index - track.next) * per_index)
            if gap > 0 and size:
                whole = round(gap / size)
                count = min(track.unplaced, max(1, whole)) if track.unplaced > 0 else 0
                if count:
                    fill = min(gap, count * size)
                    chunks.append(bytes(fill * width))
                    lost += fill
                    track.unplaced -= count
                if 0 < whole - count <= LATE_TOLD:
                    track.owed = whole - count  # perhaps told by the next poll
            chunks.append(chunk.data)
            track.next = chunk.frame_index + frames / per_index
            track.frames = frames or track.frames
        # Drops told now of the last poll's jump: their silence goes in
        # before this poll's chunks, so that these and all that follows lie
        # at their true place (the last poll's few chunks after the jump
        # stay early by as much).
        if not got:
            track.owed = owed  # still to come
        late = min(owed, track.unplaced) if got else 0
        if late and track.frames:
            chunks.insert(0, bytes(late * track.frames * width))
            lost += late * track.frames
            track.unplaced -= late
        if lost:
            logger.warning(
                f"{1000 * lost / self.samplerate:.0f} ms of the app's sound could "
                "not be collected in time (the computer was too busy): silence stands in "
                "its place, and what follows stays at its true place"
            )
        data = np.frombuffer(b"".join(chunks), np.float32)
        return data.reshape(-1, self.channels), alive

    def _close(self, handle: Any) -> None:
        self._drops.pop(id(handle), None)
        # stop() blocks until flexaudio's worker notices, up to 250 ms
        # (measured on PipeWire: 0.25 s, or 0.01 s once the stream stalled):
        # on a thread of its own, so that a stop takes no longer than a
        # whole-output capture's and the other streams are polled meanwhile.
        threading.Thread(target=_stop, args=(handle,), name="loopcap-app-stop", daemon=True).start()


def _stop(handle: Any) -> None:
    try:
        handle.stop()
    except Exception as exc:  # stopping a failed stream: nothing to save
        logger.debug("stopping a capture of the app: {}", exc)


class FlexaudioAppSource(PolledAppSource):
    """The sound of the applications matching ``name``, through flexaudio."""

    stream_class = FlexaudioAppStream
