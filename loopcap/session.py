"""One recording: source -> capture -> writer -> saved file.

:class:`Recording` wires the parts together and owns the file names.  It is
used by ``loopcap record`` and, later, by the app; it knows nothing of either.

Lifecycle (any one thread drives it)::

    rec = Recording(source, config.output, samplerate)
    rec.start()        # opens the device, waits for audio to flow, returns
    ...                # rec.elapsed_s / rec.level_dbfs for meters
    saved = rec.stop() # within ~0.2 s: the partial file is closed and renamed

``stop()`` never waits on the device: soundcard's ``record()`` may be blocked
for seconds, so the capture thread is told to stop and left to end by itself.
"""

from __future__ import annotations

import datetime as _dt
import os
import queue
import time
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf
from loguru import logger

from loopcap.capture.reader import END, Block, Capture
from loopcap.capture.tap import Tap
from loopcap.config import FORMATS, OutputConfig
from loopcap.device import Source
from loopcap.errors import LoopcapError, OutputError
from loopcap.fs import ensure_private_dir, link_exclusive, render_stem
from loopcap.output.encode import Tags
from loopcap.output.reading import analyse_file, normalize_gain_db, write_span
from loopcap.trim import Bounds, TrimParams
from loopcap.writer.partial import PARTIAL_SUFFIX, PartialWriter, WriteResult, create_partial
from loopcap.writer.recover import unique_path
from loopcap.writer.rescue import Rescue, describe, rescued_error, reserve_rescue_partial

__all__ = ["Recording", "Saved", "WARMUP_TIMEOUT_S"]

#: How long to wait for the device's first audio before starting the timeline
#: anyway.  An idle PulseAudio null sink sleeps up to 2 s before its monitor
#: delivers (measured here); WASAPI loopback delivers nothing until sound plays.
WARMUP_TIMEOUT_S = 3.0
#: After the first audio, how long to gather blocks to align position 0 (s);
#: longer than the device check interval, so more than one delivery is seen.
ALIGN_S = 0.3


@dataclass(frozen=True)
class Saved:
    """A finished capture: the trimmed note and/or the raw capture."""

    path: Path | None  # the trimmed note; None when no sound was found
    raw_path: Path | None  # the untrimmed capture; None when not kept
    duration_s: float  # of the whole capture
    peak_dbfs: float
    samplerate: int
    channels: int
    bounds: Bounds | None = None  # the note's span within the capture
    #: Set when the device failed mid-capture, or the capture had to be saved
    #: in a rescue folder (the message says where).
    error: LoopcapError | None = None
    paths: tuple[Path, ...] = ()  # every saved note (one unless split)
    notes: tuple[Bounds, ...] = ()  # their spans within the capture

    def as_dict(self) -> dict:
        b = self.bounds
        return {
            "path": str(self.path) if self.path else None,
            "raw_path": str(self.raw_path) if self.raw_path else None,
            "duration_s": round(self.duration_s, 4),
            "start_s": round(b.start_s, 4) if b else None,
            "end_s": round(b.end_s, 4) if b else None,
            "kept_s": round(b.kept_s, 4) if b else None,
            "peak_dbfs": round(self.peak_dbfs, 2) if self.peak_dbfs > -1e9 else None,
            "samplerate": self.samplerate,
            "channels": self.channels,
            "notes": [
                {
                    "path": str(p),
                    "start_s": round(n.start_s, 4),
                    "end_s": round(n.end_s, 4),
                    "kept_s": round(n.kept_s, 4),
                }
                for p, n in zip(self.paths, self.notes, strict=False)
            ],
        }


class Recording:
    """One capture from ``source`` into ``output.directory``."""

    def __init__(
        self,
        source: Source,
        output: OutputConfig,
        samplerate: int,
        directory: Path | None = None,
        fmt: str | None = None,
        trim: TrimParams | None = None,
        tap: Tap | None = None,
        split: bool | None = None,
        rescue_on_start: bool = False,
    ) -> None:
        self.source = source
        self.rescue_on_start = rescue_on_start
        self.rescues: list[Rescue] = []
        self.tap = tap
        self.trim = trim or TrimParams()
        self.output = output
        self.samplerate = samplerate
        self.directory = directory or output.directory
        self.format = fmt or output.format
        self.split = output.split if split is None else split
        self.started_at = _dt.datetime.now()
        self.stem = ""
        self.t0 = 0.0
        self.capture: Capture | None = None
        self.writer: PartialWriter | None = None
        self._first_blocks: list = []

    # ------------------------------------------------------------ start

    def _reserve_partial(self) -> tuple[Path, int]:
        """Pick a stem no file in the folder uses yet; create and lock its partial file."""
        ensure_private_dir(self.directory)
        base = render_stem(self.output.stem, self.started_at)
        ext = "." + FORMATS[self.format].ext
        n = 1
        while True:
            stem = base if n == 1 else f"{base}-{n}"
            taken = any(
                (self.directory / f"{stem}{s}").exists()
                for s in (PARTIAL_SUFFIX, ext, ".raw" + ext, ".wav", ".raw.flac", "-1" + ext)
            )
            if not taken:
                partial = self.directory / f"{stem}{PARTIAL_SUFFIX}"
                try:
                    fd = create_partial(partial)
                except FileExistsError:
                    n += 1
                    continue
                except OSError as exc:
                    raise OutputError(
                        f"cannot write to the output folder {self.directory} "
                        f"({exc.strerror}): choose a writable folder"
                    ) from None
                self.stem = stem
                return partial, fd
            n += 1

    def start(self, t_start: float | None = None) -> None:
        """Open the device and begin; returns once the timeline has started.

        With a :class:`~loopcap.capture.tap.Tap` the device is already open: the
        recording begins at monotonic ``t_start`` (default now) minus the
        tap's pre-roll.  Raises DeviceError when the device cannot be opened.
        """
        try:
            partial, fd = self._reserve_partial()
        except (OutputError, OSError) as exc:
            if not self.rescue_on_start:
                raise
            partial, fd = self._reserve_rescue(exc)
        if self.tap is not None:
            if self.tap.error is not None:
                os.close(fd)
                partial.unlink(missing_ok=True)
                raise self.tap.error
            blocks, self.t0 = self.tap.begin(time.monotonic() if t_start is None else t_start)
            self.capture = self.tap.capture
            try:
                self.writer = PartialWriter(
                    partial, fd, self.samplerate, self.tap.channels, self.t0, blocks
                )
            except BaseException:
                self.tap.end()
                raise
            self.writer.start()
            return
        try:
            capture = self._open_capture()
        except BaseException:
            os.close(fd)
            partial.unlink(missing_ok=True)
            raise
        self.t0, lead, drop = self._align_start(self._first_blocks)
        self.capture = capture
        try:
            self.writer = PartialWriter(
                partial, fd, self.samplerate, capture.channels, self.t0, capture.queue
            )
        except BaseException:
            capture.stop()
            raise
        self.writer.skip(drop)
        for block in lead:
            self.writer.accept_first(block)
        self.writer.start()
        logger.debug(f"capture started: {partial}")

    def _reserve_rescue(self, exc: BaseException) -> tuple[Path, int]:
        """The output folder cannot be written at the start: record into a
        rescue folder instead (the app does, so the note playing now is not
        lost) and say so at once."""
        reason = describe(exc, self.directory)
        if isinstance(exc, OutputError):  # "cannot write to ... (Reason): ..."
            reason = str(exc).partition("(")[2].partition(")")[0] or reason
        stem = render_stem(self.output.stem, self.started_at)
        partial, fd = reserve_rescue_partial(stem, [self.directory])
        self.rescues.append(Rescue(self.directory, partial.parent, reason))
        logger.error(
            f"loopcap: the output folder {self.directory} cannot be written ({reason}); "
            f"this capture goes to {partial.parent}"
        )
        self.directory = partial.parent
        self.stem = partial.name[: -len(PARTIAL_SUFFIX)]
        return partial, fd

    def _open_capture(self) -> Capture:
        """Start the capture thread and wait for audio to flow.

        Position 0 of the file is when audio starts to flow: the first block
        arrives, or the warm-up times out on a device that delivers nothing.
        """
        capture = Capture(self.source, self.samplerate)
        capture.start()
        capture.opened.wait()
        if capture.error is not None:
            raise capture.error
        try:
            first = capture.queue.get(timeout=WARMUP_TIMEOUT_S)
        except queue.Empty:
            first = None
        if first is END:
            raise capture.error or LoopcapError("the capture ended before it began")
        blocks = [] if first is None else [first]
        # Gather a little more to learn the device's timing (see _align_start).
        deadline = time.monotonic() + ALIGN_S
        while first is not None and (left := deadline - time.monotonic()) > 0:
            try:
                block = capture.queue.get(timeout=left)
            except queue.Empty:
                break
            if block is END:
                raise capture.error or LoopcapError("the capture ended before it began")
            blocks.append(block)
        self._first_blocks = blocks
        return capture

    def _align_start(self, blocks: list) -> tuple[float, list, int]:
        """Choose position 0 = now, and cut the audio gathered so far to match.

        A block is stamped when it arrives, which is never early but can be
        late by a few ms; so the earliest ``arrival - audio before it`` over
        several blocks is the best estimate of when the first sample played.
        Audio played before "now" is dropped: the capture starts when loopcap
        says "Recording from" (measured: without this, the file's position 0
        was 0-25 ms off from that moment).  Returns t0, the blocks to write
        first, and how many frames of audio still to come must be skipped.
        """
        t0 = time.monotonic()
        if not blocks:
            return t0, [], 0
        sr = self.samplerate
        seen = 0
        first_played = float("inf")
        for b in blocks:
            first_played = min(first_played, b.t - (seen + len(b.frames)) / sr)
            seen += len(b.frames)
        drop = max(0, round((t0 - first_played) * sr))
        kept = []
        for b in blocks:
            n = len(b.frames)
            if drop >= n:
                drop -= n
                continue
            kept.append(Block(b.t, b.frames[drop:]))
            drop = 0
        # Audio played before t0 may still be on its way (the device hands
        # blocks over after each check): the writer skips that much more.
        return t0, kept, drop

    # ------------------------------------------------------------ running

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.t0 if self.t0 else 0.0

    @property
    def level_dbfs(self) -> float:
        return self.writer.level_dbfs if self.writer else float("-inf")

    @property
    def failed(self) -> bool:
        """True once the device has failed; :meth:`stop` then saves what there is."""
        return self.capture is not None and self.capture.error is not None

    # ------------------------------------------------------------ stop

    def stop(self, t_stop: float | None = None) -> Saved:
        """Finish the capture (at monotonic ``t_stop``, default now) and save it."""
        assert self.capture is not None and self.writer is not None, "start() first"
        t_stop = time.monotonic() if t_stop is None else t_stop
        if self.capture.error is not None:
            t_stop = None  # the device failed: the file ends with its last audio
        # The end is set before the audio held by the device is asked for, so
        # nothing played after it gets in.
        self.writer.stop_at(t_stop)
        if self.tap is None:
            self.capture.stop()
        else:
            self.tap.flush()  # the app's capture goes on: only hand over now
        try:
            try:
                result = self.writer.finish()
            finally:
                if self.tap is not None:
                    self.tap.end()
            if self.capture.overflow_frames:
                logger.error(
                    f"{self.capture.overflow_frames / self.samplerate:.1f} s of audio were lost "
                    "because the writer fell behind (disk or CPU too slow)"
                )
            error = self.capture.error
            rescues = self.rescues + self.writer.rescues
            if rescues:
                # The capture lives in a rescue folder now: it is saved there.
                self.directory = result.path.parent
                self.stem = result.path.name[: -len(PARTIAL_SUFFIX)]
                lost_s = self.writer.lost_frames / self.samplerate
                error = error or rescued_error(rescues, self.directory, lost_s)
            paths, raw_path, notes = self._finalise(result)
        finally:
            self.writer.release()  # the partial file is locked until saved
        return Saved(
            paths[0] if paths else None,
            raw_path,
            result.duration_s,
            result.peak_dbfs,
            result.samplerate,
            result.channels,
            bounds=notes[0] if notes else None,
            error=error,
            paths=paths,
            notes=notes,
        )

    def _finalise(self, result: WriteResult) -> tuple[tuple[Path, ...], Path | None, tuple]:
        """Trim the closed partial WAV into ``<stem>.<ext>`` (with ``split``,
        one ``<stem>-N.<ext>`` per note) and keep it as ``<stem>.raw.<ext>``;
        never overwriting, and the partial file stays until all are safely
        written."""
        target = FORMATS[self.format]
        partial = result.path
        notes: tuple[Bounds, ...] = ()
        if result.frames:
            analysis = analyse_file(partial, self.trim, split=self.split)
            if self.split:
                notes = analysis.notes
            elif analysis.bounds is not None:
                notes = (analysis.bounds,)
        paths: list[Path] = []
        for k, bounds in enumerate(notes, 1):
            stem = self.stem if len(notes) == 1 else f"{self.stem}-{k}"
            path = unique_path(self.directory, stem, f".{target.ext}")
            try:
                gain = 0.0
                if self.output.normalize_lufs:
                    gain = normalize_gain_db(
                        partial, bounds.start, bounds.end, target, self.output.normalize_lufs
                    )
                tags = Tags(path.stem, self.started_at, bounds.kept_s)
                write_span(
                    partial,
                    path,
                    bounds.start,
                    bounds.end,
                    target,
                    tags=tags,
                    gain_db=gain,
                    whole=True,
                )
            except Exception as exc:
                raw = self._keep_raw(partial)
                raise OutputError(
                    f"saving the trimmed note failed ({exc}); the capture is kept as {raw}"
                ) from None
            paths.append(path)
        if not notes:
            logger.info("no sound found in the capture; only the raw capture is kept")
        raw_path = None
        if self.output.keep_raw or not paths:
            raw_path = self._keep_raw(partial)
        else:
            os.unlink(partial)
        return tuple(paths), raw_path, notes

    def _keep_raw(self, partial: Path) -> Path:
        """Give the partial WAV its final raw name, encoding it if needed.

        The raw capture is kept whole and faithful: for the lossy, 16 kHz
        ``voicenote`` format it is kept as FLAC.
        """
        target = FORMATS["flac" if self.format == "voicenote" else self.format]
        target_path = unique_path(self.directory, f"{self.stem}.raw", f".{target.ext}")
        if target.format == "WAV":
            link_exclusive(partial, target_path)
            return target_path
        try:
            frames = sf.info(partial).frames
            tags = Tags(target_path.stem, self.started_at, frames / self.samplerate)
            write_span(partial, target_path, 0, frames, target, tags=tags, whole=True)
        except Exception as exc:
            # The capture itself is safe in the partial file: give it a WAV name.
            fallback = unique_path(self.directory, f"{self.stem}.raw", ".wav")
            link_exclusive(partial, fallback)
            raise OutputError(
                f"encoding to {self.format} failed ({exc}); the capture is saved as {fallback}"
            ) from None
        os.unlink(partial)
        return target_path
