"""The crash-safe streaming writer: queue -> ``<stem>.partial.wav`` on disk.

Audio goes to disk as it arrives, never accumulated in memory.  The partial
file is a 32-bit float WAV; every ``SYNC_INTERVAL_S`` its header is rewritten
and the file fsync'ed, so a SIGKILL or a power cut loses at most that much
(libsndfile can read the samples of a WAV whose header was never finalised,
and :mod:`loopcap.recover` repairs it).  The file is created exclusively with
mode 0600 and locked (``flock``) while written, so recovery can tell a live
capture from a dead one.

Lifecycle: construct (creates the file), :meth:`start` (thread), then
:meth:`finish` once from any thread; it returns the result when the file is
closed.  The writer thread is the only one that touches the file.
"""

from __future__ import annotations

import fcntl
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from loguru import logger

from loopcap.capture import Block
from loopcap.errors import OutputError
from loopcap.paths import create_exclusive
from loopcap.timeline import Timeline

__all__ = ["PartialWriter", "WriteResult", "PARTIAL_SUFFIX", "create_partial"]

PARTIAL_SUFFIX = ".partial.wav"
SYNC_INTERVAL_S = 0.25
#: With no block for this long, silence is written up to IDLE_MARGIN_S ago, so
#: the file on disk keeps up with the wall clock during a silent device.
IDLE_AFTER_S = 0.3
IDLE_MARGIN_S = 0.5
#: After a stop request, how long to wait for audio still in flight.
STOP_GRACE_S = 0.12
#: How long audio that arrived short of the wall clock is held, waiting for
#: the rest to come late, before the shortfall is written as silence.
HOLD_S = 0.4
_SFC_UPDATE_HEADER_NOW = 0x1060  # libsndfile sf_command: rewrite the header now


@dataclass(frozen=True)
class WriteResult:
    path: Path
    frames: int
    samplerate: int
    channels: int
    peak: float  # absolute sample peak, linear

    @property
    def duration_s(self) -> float:
        return self.frames / self.samplerate

    @property
    def peak_dbfs(self) -> float:
        return 20 * np.log10(self.peak) if self.peak > 0 else float("-inf")


def create_partial(path: Path) -> int:
    """Create ``path`` exclusively (0600) and lock it; returns the fd.

    Raises FileExistsError if the name is taken, OSError if it cannot be created.
    """
    fd = create_exclusive(path)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


class PartialWriter:
    """Drains ``blocks`` into ``path`` on its own thread, on the timeline of ``t0``.

    ``fd`` is the file made by :func:`create_partial`; the writer owns it from
    here on and closes it.
    """

    def __init__(
        self, path: Path, fd: int, samplerate: int, channels: int, t0: float, blocks: queue.Queue
    ) -> None:
        self.path = path
        self.samplerate = samplerate
        self.channels = channels
        self.timeline = Timeline(samplerate, t0)
        self.blocks = blocks
        self.peak = 0.0
        self.level_dbfs = float("-inf")  # RMS of the latest block, for meters
        self.error: Exception | None = None
        self._t_stop: float | None = None
        self._skip = 0
        self._pending: list[tuple[float, np.ndarray]] = []
        self._pending_since = 0.0
        self._done = threading.Event()
        self._fd = fd
        self._file = sf.SoundFile(
            fd,
            "w",
            samplerate=samplerate,
            channels=channels,
            format="WAV",
            subtype="FLOAT",
            closefd=False,
        )
        self._sync()  # a valid header on disk from the first moment
        self._thread = threading.Thread(target=self._run, name="loopcap-writer", daemon=True)

    @property
    def position_s(self) -> float:
        return self.timeline.position / self.samplerate

    def skip(self, frames: int) -> None:
        """Leave out the next ``frames`` frames that arrive (played before t0)."""
        self._skip = frames

    def accept_first(self, block: Block) -> None:
        """Write a block gathered before the writer started; call before :meth:`start`."""
        self._accept(block)

    def start(self) -> None:
        self._thread.start()

    def finish(self, t_stop: float | None = None, timeout: float = 10.0) -> WriteResult:
        """Stop at monotonic time ``t_stop`` (default: now) and close the file.

        Audio up to ``t_stop`` still in flight is awaited briefly; silence
        fills the rest, so the file lasts exactly until ``t_stop``.
        """
        self._t_stop = time.monotonic() if t_stop is None else t_stop
        self._done.wait(timeout)
        if self.error is not None:
            raise OutputError(f"writing {self.path} failed ({self.error})")
        return WriteResult(
            self.path, self.timeline.position, self.samplerate, self.channels, self.peak
        )

    # ------------------------------------------------------------ thread

    def _sync(self) -> None:
        sf._snd.sf_command(self._file._file, _SFC_UPDATE_HEADER_NOW, sf._ffi.NULL, 0)
        os.fsync(self._fd)

    def _write(self, frames: np.ndarray) -> None:
        if len(frames):
            self._file.write(frames)
            self.timeline.advance(len(frames))

    def _write_silence(self, n: int) -> None:
        chunk = np.zeros((min(n, self.samplerate), self.channels), np.float32)
        while n > 0:
            k = min(n, len(chunk))
            self._write(chunk[:k])
            n -= k

    def _accept(self, block: Block) -> None:
        frames = block.frames
        if frames.ndim != 2 or frames.shape[1] != self.channels:
            frames = frames.reshape(-1, self.channels)
        if self._skip:
            k = min(self._skip, len(frames))
            frames = frames[k:]
            self._skip -= k
        n = len(frames)
        if n == 0:
            return
        if self._pending or self.timeline.silence_before(block.t, n) > 0:
            # Less audio than wall time has passed: it is either late (it may
            # still come: measured here, a monitor can pause ~0.1 s when a new
            # stream starts on its sink, then deliver all it owes) or lost (an
            # idle device delivered nothing).  Hold it and decide in _settle().
            if not self._pending:
                self._pending_since = time.monotonic()
            self._pending.append((block.t, frames))
            self._settle(time.monotonic())
            return
        self._put(frames)

    def _settle(self, now: float, force: bool = False) -> None:
        """Write held audio: as it is if what came since caught up with the
        wall clock, else after the silence still missing, once ``HOLD_S`` has
        passed (or at once with ``force``)."""
        if not self._pending:
            return
        total = sum(len(f) for _, f in self._pending)
        short = self.timeline.frames_at(self._pending[-1][0]) - (self.timeline.position + total)
        if short > self.timeline.resync_frames:
            if not force and now - self._pending_since < HOLD_S:
                return
            self._write_silence(short)
        pending, self._pending = self._pending, []
        for _, frames in pending:
            self._put(frames)

    def _put(self, frames: np.ndarray) -> None:
        if self._t_stop is not None:
            # Nothing played after the stop request belongs in the file.
            room = self.timeline.frames_at(self._t_stop) - self.timeline.position
            frames = frames[: max(0, room)]
        if len(frames):
            finite = np.nan_to_num(frames, nan=0.0, posinf=1.0, neginf=-1.0)
            self.peak = max(self.peak, float(np.max(np.abs(finite))))
            rms = float(np.sqrt(np.mean(np.square(finite, dtype=np.float64))))
            self.level_dbfs = 20 * np.log10(rms) if rms > 0 else float("-inf")
            self._write(finite)

    def _run(self) -> None:
        last_sync = last_block = time.monotonic()
        stop_seen_at: float | None = None
        try:
            while True:
                try:
                    block = self.blocks.get(timeout=0.1)
                except queue.Empty:
                    block = False
                now = time.monotonic()
                if block is None:  # END: the capture ended (stop or error)
                    break
                if block is not False:
                    last_block = now
                    self._accept(block)
                    if self._t_stop is not None and block.t >= self._t_stop:
                        break  # audio up to the stop request has arrived
                elif self._pending:
                    self._settle(now)
                elif now - last_block > IDLE_AFTER_S and self._t_stop is None:
                    self._write_silence(self.timeline.silence_until(now - IDLE_MARGIN_S))
                if self._t_stop is not None:
                    stop_seen_at = stop_seen_at or now
                    if now - stop_seen_at > STOP_GRACE_S:
                        break
                if now - last_sync >= SYNC_INTERVAL_S:
                    self._sync()
                    last_sync = now
            self._settle(time.monotonic(), force=True)
            if self._t_stop is not None:
                # The file lasts until the stop request even if the device was silent.
                # (After a device error it ends with the last audio received.)
                self._write_silence(self.timeline.silence_until(self._t_stop))
            self._file.close()
            os.fsync(self._fd)
        except Exception as exc:  # disk full, I/O error: keep what is on disk
            logger.error(f"writing {self.path} failed: {exc}")
            self.error = exc
            try:
                self._file.close()
            except Exception:
                pass
        finally:
            os.close(self._fd)  # releases the flock
            self._done.set()
