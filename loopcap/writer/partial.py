"""The crash-safe streaming writer: queue -> ``<stem>.partial.wav`` on disk.

Audio goes to disk as it arrives, never accumulated in memory.  The partial
file is a 32-bit float WAV (RF64 past 4 GiB), written as each block arrives (every 0.25 s);
every ``SYNC_INTERVAL_S`` its header is rewritten and the file fsync'ed.  So
a SIGKILL loses at most the audio not yet handed over (0.25 s), a power cut
at most about 0.85 s (libsndfile can read the samples of a WAV whose header
was never finalised, and :mod:`loopcap.writer.recover` repairs it).  The
file is created exclusively, private and locked (:func:`loopcap.fs.create_locked`)
until :meth:`release`, so recovery tells a live capture (written or saved) from a dead one.

When the file cannot be written any more (the disk is full, the folder was
deleted or moved, an I/O error), the writer moves the capture to a rescue
folder (:mod:`loopcap.writer.rescue`): a new partial file there receives a copy of
everything written so far, read back from the old file (still open even if
deleted), and the capture goes on in it; the old file is then removed.  So a
capture is never cut short by its folder, and it is crash-safe throughout.
:attr:`PartialWriter.rescues` tells where it went and why.

Lifecycle: construct (creates the file), :meth:`start` (thread), then
:meth:`finish` once from any thread; it returns the result when the file is
closed; :meth:`release` once the saved files are made (drops the lock).
The writer thread is the only one that touches the file.
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from loopcap.capture.reader import Block
from loopcap.device import DRAIN_LAG_S, HANDOVER_S
from loopcap.errors import OutputError
from loopcap.log import logger
from loopcap.naming import stem_of_partial
from loopcap.trim import LevelMeter
from loopcap.writer.rescue import Rescue, copy_written, describe, reserve_rescue_partial
from loopcap.writer.timeline import Timeline, run_start

__all__ = ["PartialWriter", "WriteResult"]

#: How often the header is rewritten and the file fsync'ed.  Audio is
#: written as soon as it arrives (every HANDOVER_S, 0.25 s), so a SIGKILL,
#: which keeps what was written, loses at most the 0.25 s not yet handed
#: over; a power cut loses at most that plus this interval (plus
#: SYNC_SLACK_S): under 1 s.  Each sync costs ~0.3 ms of CPU (measured; the
#: fsync most of it): 0.12% of a core at the former 4 Hz, 0.06% now.
SYNC_INTERVAL_S = 0.5
#: A block arriving this much before a sync is due syncs at once, so the
#: syncs ride on the blocks' wake-ups instead of waking the thread apart.
SYNC_SLACK_S = 0.1
#: With no block for this long (a little more than one hand-over: the device
#: is silent), silence is written up to IDLE_MARGIN_S ago, so the file on
#: disk keeps up with the wall clock during a silent device.
IDLE_AFTER_S = HANDOVER_S + 0.05
IDLE_MARGIN_S = 2 * HANDOVER_S
#: Then silence is written this often.
IDLE_TICK_S = HANDOVER_S
#: After a stop request, how long to wait for audio still in flight: the
#: device's last hand-over comes DRAIN_LAG_S after the request, and its read
#: and the trip through the queues take well under 0.09 s more.
STOP_GRACE_S = DRAIN_LAG_S + 0.09
#: How long the first audio of a run (the capture's first, or the first
#: after the device delivered nothing) is held with what follows it before
#: it is placed: late audio then has time to come, and more arrivals time
#: the run better.
HOLD_S = 0.4
#: A block that arrives at most this long (s) after the previous one follows
#: it: the device delivered at every read in between (reads come every
#: HANDOVER_S while audio flows).  A sink suspends only after a second or
#: more of silence (PulseAudio's module-suspend-on-idle, WirePlumber), so
#: it cannot stop and start again within this.
CONTIGUOUS_S = 2 * HANDOVER_S
#: A run that would begin at most this long (s) after the audio before it
#: follows it (see PartialWriter._settle).
STALL_S = 0.1
#: Put on the queue by finish() to wake the writer at once.
_WAKE = object()
_SFC_UPDATE_HEADER_NOW = 0x1060  # libsndfile sf_command: rewrite the header now
_SFC_RF64_AUTO_DOWNGRADE = 0x1210  # libsndfile: write RF64 as WAV while under 4 GiB
#: What a failed write raises: OSError from the OS, LibsndfileError (a
#: RuntimeError) from libsndfile, which reports a full disk as "System error".
_WRITE_ERRORS = (OSError, RuntimeError)
#: How many times one write may move the capture on (one per rescue folder).
_SWITCHES = 2


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


class PartialWriter:
    """Drains ``blocks`` into ``path`` on its own thread, on the timeline of ``t0``.

    ``fd`` is the file made by :func:`loopcap.fs.create_locked`; the writer
    owns it from here on and closes it.  ``meter``, if given, is fed every frame written to
    the file, silence included, on the writer thread, so the trimmer's levels
    are ready when the capture ends (no second pass over the file); it must
    not be touched until :meth:`finish` has returned.

    Lifecycle: construct, :meth:`start`, :meth:`finish` once, :meth:`release`;
    or :meth:`close` (idempotent: finishes if needed, then releases), which a
    ``with`` block calls.
    """

    def __init__(
        self,
        path: Path,
        fd: int,
        samplerate: int,
        channels: int,
        t0: float,
        blocks: queue.Queue,
        meter: LevelMeter | None = None,
    ) -> None:
        self.path = path
        self.meter = meter
        self.samplerate = samplerate
        self.channels = channels
        self.timeline = Timeline(samplerate, t0)
        self.blocks = blocks
        self.peak = 0.0
        self.level_dbfs = float("-inf")  # RMS of the latest block, for meters
        self.error: Exception | None = None
        self._t_stop: float | None = None
        self._skip = 0
        self._pending: list[tuple[float, np.ndarray]] = []  # a run held by _accept
        self._last_t: float | None = None  # arrival of the last block accepted
        self._pending_since = 0.0
        self._done = threading.Event()
        self.rescues: list[Rescue] = []
        self.lost_frames = 0  # written, then unreadable when moved to a rescue folder
        self._fd: int | None = fd
        self._file: sf.SoundFile | None = None
        try:
            try:
                self._file = self._open(fd)
            except _WRITE_ERRORS as exc:  # not even the header fits
                self._switch(exc)
            self._sync()  # a valid header on disk from the first moment
        except OutputError:  # no folder at all takes it: nothing was recorded yet
            if self._file is not None:
                try:
                    self._file.close()
                except _WRITE_ERRORS:
                    pass
            fd, self._fd = self._fd, None
            if fd is not None:
                os.close(fd)
            # Made exclusively a moment ago, it holds at most a header: no audio.
            self.path.unlink(missing_ok=True)
            raise
        self._thread = threading.Thread(target=self._run, name="loopcap-writer", daemon=True)

    def _open(self, fd: int) -> sf.SoundFile:
        # RF64 with auto-downgrade: a plain WAV (RIFF, WAVE_FORMAT_EXTENSIBLE)
        # while the file is under 4 GiB, RF64 beyond, switched by libsndfile
        # at a header rewrite.  A plain WAV's 32-bit sizes stop at 4 GiB (3.1
        # hours of 48 kHz stereo float): measured, a 3.3-hour WAV read back as
        # 3.1 hours, the rest lost; as RF64 all 3.3 hours, closed or not.
        f = sf.SoundFile(
            fd,
            "w",
            samplerate=self.samplerate,
            channels=self.channels,
            format="RF64",
            subtype="FLOAT",
            closefd=False,
        )
        sf._snd.sf_command(f._file, _SFC_RF64_AUTO_DOWNGRADE, sf._ffi.NULL, 1)
        return f

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

    def stop_at(self, t_stop: float | None = None) -> None:
        """Say where the file ends (monotonic time, default now), without
        waiting; audio after it is left out from now on.  Call before asking
        the capture to hand over what it holds, then :meth:`finish`."""
        if self._t_stop is None:
            self._t_stop = time.monotonic() if t_stop is None else t_stop
        try:
            self.blocks.put_nowait(_WAKE)  # the writer may wait ~0.5 s for a block
        except queue.Full:  # the writer is busy and will see the stop anyway
            pass

    def finish(self, t_stop: float | None = None, timeout: float = 10.0) -> WriteResult:
        """Stop at monotonic time ``t_stop`` (default: now; ignored after
        :meth:`stop_at`) and close the file.

        Audio up to ``t_stop`` still in flight is awaited briefly; silence
        fills the rest, so the file lasts exactly until ``t_stop``.  The
        file stays locked until :meth:`release`.
        """
        self.stop_at(t_stop)
        if not self._done.wait(timeout):
            # Still writing (a disk that hangs, a long copy to a rescue folder):
            # the file is not finished, and its descriptor stays the writer's.
            raise OutputError(
                f"writing {self.path} has not finished after {timeout:g} s; the capture "
                "stays there and `loopcap recover` repairs it"
            )
        if self.error is not None:
            raise OutputError(f"writing {self.path} failed ({self.error})")
        return WriteResult(
            self.path, self.timeline.position, self.samplerate, self.channels, self.peak
        )

    def release(self) -> None:
        """Close the file's descriptor, which drops its lock: recovery may
        then take a partial file that is still there.  Call once the capture
        is saved (or given up).  Idempotent; call only after :meth:`finish`."""
        if self._thread.is_alive():
            # The writer still uses the descriptor (finish timed out): closing
            # it under the thread could close a descriptor reused meanwhile.
            # The lock then lasts as long as the process; nothing is lost.
            logger.warning(f"{self.path} is still being written; it is left locked")
            return
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        """Finish (if :meth:`finish` was not called) and release.  Idempotent;
        errors of the finish are logged, not raised: use :meth:`finish` to
        see them."""
        if self._thread.is_alive() and not self._done.is_set():
            try:
                self.finish()
            except OutputError as exc:
                logger.error(str(exc))
        self.release()

    def __enter__(self) -> PartialWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ thread

    def _live(self) -> tuple[int, sf.SoundFile]:
        """The open descriptor and file (constructor to :meth:`release`; writer thread)."""
        if self._fd is None or self._file is None:
            raise ValueError(f"{self.path}: the capture file is not open")
        return self._fd, self._file

    def _sync(self) -> None:
        """Rewrite the header and flush to disk; notice a file that was
        deleted or moved away.  Moves to a rescue folder when that fails."""
        try:
            fd, file = self._live()
            sf._snd.sf_command(file._file, _SFC_UPDATE_HEADER_NOW, sf._ffi.NULL, 0)
            os.fsync(fd)
            gone = self._gone()
        except _WRITE_ERRORS as exc:
            self._switch(exc)
            return
        if gone:
            self._switch(gone)

    def _gone(self) -> str | None:
        """Why the file is no longer where it was created, or None."""
        try:
            there = os.stat(self.path)
        except FileNotFoundError:
            return "the folder or the file was deleted during the capture"
        mine = os.fstat(self._live()[0])
        if (there.st_dev, there.st_ino) != (mine.st_dev, mine.st_ino):
            return "the file was moved or replaced during the capture"
        return None

    def _write(self, frames: np.ndarray) -> None:
        if len(frames):
            for attempt in range(_SWITCHES + 1):
                try:
                    self._live()[1].write(frames)
                    break
                except _WRITE_ERRORS as exc:
                    if attempt == _SWITCHES:
                        raise
                    self._switch(exc)
            self.timeline.advance(len(frames))
            if self.meter is not None:
                self.meter.feed(frames)

    def _switch(self, cause: BaseException | str) -> None:
        """Go on in a rescue folder with a copy of all written so far.

        The copy is read back through the open descriptor, so it works when
        the file was deleted.  Raises OutputError when no rescue folder
        takes it (the writer then stops with that error; the old file, if it
        still exists, keeps what it holds).
        """
        # The file is None when the first open failed; the descriptor never.
        old_path, old_fd, old_file = self.path, self._fd, self._file
        if old_fd is None:
            raise ValueError(f"{self.path}: the capture file is not open")
        reason = describe(cause, old_path.parent)
        frames = self.timeline.position
        avoid = [r.failed for r in self.rescues] + [old_path.parent]
        stem = stem_of_partial(old_path.name)
        new_path, new_fd = reserve_rescue_partial(stem, avoid)
        new_file = None
        try:
            new_file = self._open(new_fd)
            copied = copy_written(old_fd, old_path, frames, self.channels, new_file)
            if copied < frames:
                # Never shift the timeline: what could not be read back
                # becomes silence, and the loss is reported.
                self.lost_frames += frames - copied
                logger.error(
                    f"{(frames - copied) / self.samplerate:.2f} s of the capture written to "
                    f"{old_path} could not be read back; silence stands in for it"
                )
                gap = np.zeros((min(frames - copied, self.samplerate), self.channels), np.float32)
                left = frames - copied
                while left > 0:
                    new_file.write(gap[: min(left, len(gap))])
                    left -= min(left, len(gap))
            sf._snd.sf_command(new_file._file, _SFC_UPDATE_HEADER_NOW, sf._ffi.NULL, 0)
            os.fsync(new_fd)
        except BaseException:
            if new_file is not None:
                new_file.close()
            os.close(new_fd)
            new_path.unlink(missing_ok=True)
            raise
        # The copy is on disk: the old file is not needed (and on a full
        # disk its space is welcome).
        if old_file is not None:
            try:
                old_file.close()
            except _WRITE_ERRORS:
                pass
        try:
            there, mine = os.stat(old_path), os.fstat(old_fd)
            if (there.st_dev, there.st_ino) == (mine.st_dev, mine.st_ino):
                os.unlink(old_path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            logger.warning(f"{old_path} could not be removed ({exc.strerror}); it is a copy")
        os.close(old_fd)
        self.path, self._fd, self._file = new_path, new_fd, new_file
        self.rescues.append(Rescue(old_path.parent, new_path.parent, reason))
        logger.error(
            f"loopcap: the output folder {old_path.parent} cannot take the capture ({reason}); "
            f"it goes on in {new_path.parent}, with the {frames / self.samplerate:.1f} s "
            "recorded so far"
        )

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
        if len(frames) == 0:
            return
        last, self._last_t = self._last_t, block.t
        if last is not None and block.t - last <= CONTIGUOUS_S:
            # The device delivered at the previous read too: this audio
            # follows that block's, however little of it there is.  (A short
            # block is the device stopping mid-period: a sink that suspends
            # once a sound ends.  Placed by its arrival it would land up to a
            # hand-over late, with silence before it: measured, a click
            # 170-190 ms late on PipeWire.)
            if self._pending:
                self._pending.append((block.t, frames))
                self._settle(time.monotonic())
            else:
                self._put(frames)
            return
        # The first audio, or the first after the device delivered nothing
        # (asleep, or late: a monitor can pause ~0.1 s when a new stream
        # starts on its sink, then deliver all it owes).  Hold it with what
        # follows for HOLD_S, then place the run where its arrivals say.
        self._settle(time.monotonic(), force=True)  # an earlier run stands as it is
        self._pending_since = time.monotonic()
        self._pending.append((block.t, frames))

    def _settle(self, now: float, force: bool = False) -> None:
        """Write the held run of audio (see :meth:`_accept`) once ``HOLD_S``
        has passed since it began (at once with ``force``).

        The run is contiguous audio; a block is stamped when it arrives,
        never early but up to a read late, so the run cannot have begun
        later than any block's arrival minus the audio up to that block's
        end: the earliest such bound places it (the one rule of
        :func:`~loopcap.writer.timeline.run_start`).  Silence fills the time
        before it; at the very start of the file, audio of the first block
        played before position 0 is cut instead.
        """
        if not self._pending or (not force and now - self._pending_since < HOLD_S):
            return
        pending, self._pending = self._pending, []
        sr = self.samplerate
        start = run_start([(t, len(f)) for t, f in pending], sr)
        lead = round((start - self.timeline.t0) * sr) - self.timeline.position
        # Stamps are late by a little, never early, so a run that merely came
        # late (a stall: nothing lost) looks as if it began that little after
        # where the audio before it ended.  A run after real silence begins
        # at least a hand-over after it (see CONTIGUOUS_S), so up to
        # STALL_S is taken as no gap; at the start of the file only a
        # rounding's worth is.
        tolerance = round((STALL_S if self.timeline.position else 0.001) * sr)
        if lead > tolerance:
            self._write_silence(lead)
        elif lead < 0 and self.timeline.position == 0:
            # Played before position 0: a stream's first read hands over all
            # the server had (an idle PulseAudio null sink renders 2 s at a
            # time), so only the first block can hold such audio.
            t, first = pending[0]
            pending[0] = (t, first[min(-lead, len(first)) :])
        for _, frames in pending:
            self._put(frames)

    def _put(self, frames: np.ndarray) -> None:
        if self._t_stop is not None:
            # Nothing played after the stop request belongs in the file.
            room = self.timeline.frames_at(self._t_stop) - self.timeline.position
            frames = frames[: max(0, room)]
        if len(frames):
            # min/max make no temporary array and let NaN and inf through, so
            # the copy that replaces them is made only when there are some;
            # einsum sums the squares without a temporary, and without waking
            # a BLAS thread pool as np.dot can.  Measured on a 0.25 s block
            # after a sleep, as in a capture: ~180 us instead of ~280 us for
            # nan_to_num, abs, max and a float64 square (12 us instead of 52
            # us when warm).
            lo, hi = float(frames.min()), float(frames.max())
            if not (np.isfinite(lo) and np.isfinite(hi)):
                frames = np.nan_to_num(frames, nan=0.0, posinf=1.0, neginf=-1.0)
                lo, hi = float(frames.min()), float(frames.max())
            self.peak = max(self.peak, hi, -lo)
            flat = frames.reshape(-1)
            rms = math.sqrt(float(np.einsum("i,i->", flat, flat)) / len(flat))
            self.level_dbfs = 20 * math.log10(rms) if rms > 0 else float("-inf")
            self._write(frames)

    def _wait_s(
        self, now: float, last_sync: float, last_block: float, stop_seen: float | None
    ) -> float:
        """How long the thread may wait for a block before it has work to do.

        It wakes for blocks (every 0.25 s while audio flows) and otherwise
        only when something is due: a sync, held audio to settle, silence to
        write for a device that delivers nothing, the end of the stop grace.
        (It used to wake every 0.1 s: 10 wake-ups a second for nothing.)
        """
        due = last_sync + SYNC_INTERVAL_S + SYNC_SLACK_S
        if self._pending:
            due = min(due, self._pending_since + HOLD_S)
        if self._t_stop is None:
            idle_at = last_block + IDLE_AFTER_S
            due = min(due, idle_at if idle_at > now else now + IDLE_TICK_S)
        elif stop_seen is not None:
            due = min(due, stop_seen + STOP_GRACE_S)
        return min(max(due - now, 0.0), 1.0) + 0.001

    def _run(self) -> None:
        now = last_sync = last_block = time.monotonic()
        stop_seen_at: float | None = None
        try:
            while True:
                try:
                    block = self.blocks.get(
                        timeout=self._wait_s(now, last_sync, last_block, stop_seen_at)
                    )
                except queue.Empty:
                    block = False
                now = time.monotonic()
                if block is None:  # END: the capture ended (stop or error)
                    break
                if block is _WAKE:
                    block = False
                if block is not False and not len(block.frames):
                    # The device's drain found nothing more (see
                    # capture.reader): all audio up to block.t has come.
                    if self._t_stop is not None and block.t >= self._t_stop:
                        break
                    block = False
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
                if now - last_sync >= SYNC_INTERVAL_S - (SYNC_SLACK_S if block else 0.0):
                    self._sync()
                    last_sync = now
            self._settle(time.monotonic(), force=True)
            if self._t_stop is not None:
                # The file lasts until the stop request even if the device was silent.
                # (After a device error it ends with the last audio received.)
                self._write_silence(self.timeline.silence_until(self._t_stop))
            self._sync()  # last chance to notice a deleted or failing folder
            try:
                self._live()[1].close()
                os.fsync(self._live()[0])
            except _WRITE_ERRORS as exc:
                self._switch(exc)
                self._live()[1].close()
                os.fsync(self._live()[0])
        except Exception as exc:  # nowhere left to write: keep what is on disk
            logger.error(f"writing {self.path} failed: {exc}")
            self.error = exc
            try:
                if self._file is not None:
                    self._file.close()
            except Exception:
                pass
        finally:
            self._done.set()  # the fd, and its lock, are kept until release()
