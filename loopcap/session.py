"""One recording: source or tap -> capture -> writer -> saved files.

:class:`Recording` wires the parts together, decides where position 0 lies
(:func:`align_start`, the one place that does) and owns the file names.  It
is used by ``loopcap record`` and by the app; it knows nothing of either.

Lifecycle (any one thread drives it)::

    rec = Recording(source_or_tap, config.output, samplerate)
    rec.start()        # opens the device if need be, waits for audio to flow
    ...                # rec.elapsed_s / rec.level_dbfs for meters
    saved = rec.stop() # within ~0.2 s: the partial file is closed and saved

``stop()`` never waits on the device: soundcard's ``record()`` may be blocked
for seconds, so the capture thread is told to stop and left to end by itself.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loopcap.capture.reader import Block
from loopcap.capture.tap import Tap
from loopcap.config import OutputConfig
from loopcap.device import HANDOVER_S, Source
from loopcap.errors import LoopcapError, OutputError
from loopcap.formats import capture_target
from loopcap.fs import create_locked, ensure_private_dir
from loopcap.log import logger
from loopcap.naming import PARTIAL_SUFFIX, claim, partial_name, render_stem, stem_of_partial
from loopcap.output.reading import analyse_file, notes_in_capture
from loopcap.output.save import save_capture, save_plot
from loopcap.trim import Bounds, LevelMeter, TrimParams, ended_otherwise
from loopcap.writer.partial import PartialWriter, WriteResult
from loopcap.writer.rescue import Rescue, describe, rescued_error, reserve_rescue_partial

__all__ = ["Recording", "Saved", "align_start"]


def align_start(
    ring: list[Block], t_from: float, samplerate: int
) -> tuple[float, list[Block], int]:
    """Decide where a recording's position 0 lies, and what audio it keeps.

    ``ring`` is the audio captured before the start (oldest first, as
    :meth:`Tap.begin <loopcap.capture.tap.Tap.begin>` gives it); ``t_from``
    is the monotonic time the recording should begin at (the start request
    minus the pre-roll).  Returns ``t0`` (position 0, monotonic), the blocks
    to write first (cut so that nothing played before ``t0`` is kept), and
    how many frames of the audio still to come were played before ``t0``
    (the writer skips them).

    A block is stamped when it arrives, which is never early but can be late
    by a few ms; so a block cannot have begun later than its arrival minus
    its length, nor later than the next block's start minus its length: the
    earliest such estimate, taken backwards over the blocks, times each one
    (measured: without this, the file's position 0 was 0-25 ms off from the
    moment loopcap said "Recording from").  A gap in delivery (a device that
    delivered nothing for a while) is kept as such: a later block never
    pulls an earlier one across it.  Position 0 is ``t_from``, even where the
    ring begins later: the device delivered nothing before (a sink that
    slept), so the file holds silence there.  (The caller never asks for
    time before its tap opened.)
    """
    if not ring:
        return t_from, [], 0
    lengths = [len(b.frames) / samplerate for b in ring]
    starts = [b.t - n for b, n in zip(ring, lengths, strict=True)]
    for i in range(len(ring) - 2, -1, -1):
        starts[i] = min(starts[i], starts[i + 1] - lengths[i])
    t0 = t_from
    kept = []
    for block, start in zip(ring, starts, strict=True):
        cut = max(0, round((t0 - start) * samplerate))
        if cut < len(block.frames):
            kept.append(Block(block.t, block.frames[cut:]))
    # Audio played between the ring's last block and t0 is still on its way
    # if the device is delivering (its blocks come every hand-over): skip it.
    in_flight = t0 - (starts[-1] + lengths[-1])
    skip = round(in_flight * samplerate) if 0 < in_flight <= 2 * HANDOVER_S else 0
    return t0, kept, skip


@dataclass(frozen=True)
class Saved:
    """A finished capture: the trimmed notes and/or the raw capture."""

    raw_path: Path | None  # the untrimmed capture; None when not kept
    duration_s: float  # of the whole capture
    peak_dbfs: float
    samplerate: int
    channels: int
    paths: tuple[Path, ...] = ()  # every saved note (one unless split; none: no sound)
    notes: tuple[Bounds, ...] = ()  # their spans within the capture, in step with paths
    #: Set when the device failed mid-capture, or the capture had to be saved
    #: in a rescue folder (the message says where).
    error: LoopcapError | None = None
    #: The picture of the cut (``[output] save_plot``); None when not asked
    #: for or when it could not be written.
    plot: Path | None = None

    @property
    def path(self) -> Path | None:
        """The (first) trimmed note; None when no sound was found."""
        return self.paths[0] if self.paths else None

    @property
    def bounds(self) -> Bounds | None:
        """The (first) note's span within the capture."""
        return self.notes[0] if self.notes else None

    def as_dict(self) -> dict:
        b = self.bounds
        return {
            "path": str(self.path) if self.path else None,
            "raw_path": str(self.raw_path) if self.raw_path else None,
            "duration_s": round(self.duration_s, 6),
            "start_s": round(b.start_s, 6) if b else None,
            "end_s": round(b.end_s, 6) if b else None,
            "kept_s": round(b.kept_s, 6) if b else None,
            "peak_dbfs": round(self.peak_dbfs, 2) if self.peak_dbfs > -1e9 else None,
            "samplerate": self.samplerate,
            "channels": self.channels,
            "plot": str(self.plot) if self.plot else None,
            "notes": [
                {
                    "path": str(p),
                    "start_s": round(n.start_s, 6),
                    "end_s": round(n.end_s, 6),
                    "kept_s": round(n.kept_s, 6),
                }
                for p, n in zip(self.paths, self.notes, strict=False)
            ],
        }


class Recording:
    """One capture into ``output.directory``, from a device or a running tap.

    ``source`` is what to record from: a :class:`~loopcap.device.Source`
    (``loopcap record``: a :class:`~loopcap.capture.tap.Tap` of its own, with
    no pre-roll, is opened for this recording and closed at its end), or the
    app's running :class:`~loopcap.capture.tap.Tap` (its pre-roll is kept; the
    tap goes on after the recording).  Either way the recording takes the
    tap's blocks, places position 0 with :func:`align_start`, and hands them
    to one :class:`~loopcap.writer.partial.PartialWriter`, which feeds the
    trimmer's :class:`~loopcap.trim.LevelMeter` as it writes.

    Lifecycle: :meth:`start`, then :meth:`stop` once, from one thread;
    :meth:`close` (idempotent; a ``with`` block calls it) stops and saves a
    recording still running, so nothing is lost on the way out.
    """

    def __init__(
        self,
        source: Source | Tap,
        output: OutputConfig,
        samplerate: int,
        directory: Path | None = None,
        fmt: str | None = None,
        trim: TrimParams | None = None,
        split: bool | None = None,
        rescue_on_start: bool = False,
    ) -> None:
        self.source = source
        self.rescue_on_start = rescue_on_start
        self.rescues: list[Rescue] = []
        self.trim = trim or TrimParams()
        self.output = output
        self.samplerate = samplerate
        self.directory = directory or output.directory
        self.format = fmt or output.format
        self.split = output.split if split is None else split
        self.started_at = _dt.datetime.now()
        self.stem = ""
        self.t0 = 0.0
        self.tap: Tap | None = None  # set by start()
        self.writer: PartialWriter | None = None
        self.saved: Saved | None = None  # set by stop()
        self._stopped = False  # stop() ran (even if its save failed)

    # ------------------------------------------------------------ start

    def _reserve_partial(self) -> tuple[Path, int]:
        """Pick a stem no file in the folder uses yet; create and lock its partial file."""
        ensure_private_dir(self.directory)
        ext = "." + capture_target(self.format).ext
        # Names a save of this stem may make (or a rescue's ".wav"): none may exist.
        suffixes = (PARTIAL_SUFFIX, ext, ".raw" + ext, ".wav", ".raw.flac", "-1" + ext)

        def taken(stem: str) -> bool:
            return any((self.directory / f"{stem}{s}").exists() for s in suffixes)

        def make(stem: str) -> tuple[str, Path, int]:
            partial = self.directory / partial_name(stem)
            try:
                return stem, partial, create_locked(partial)
            except FileExistsError:
                raise
            except OSError as exc:
                raise OutputError(
                    f"cannot write to the output folder {self.directory} "
                    f"({exc.strerror}): choose a writable folder"
                ) from None

        self.stem, partial, fd = claim(render_stem(self.output.stem, self.started_at), make, taken)
        return partial, fd

    def start(self, t_start: float | None = None) -> None:
        """Begin at monotonic ``t_start`` (default now) minus the tap's pre-roll;
        returns once the timeline has started (:attr:`t0`).

        From a device, the tap is opened here, and position 0 is the moment
        it is open: the start never waits for audio (a sink that sleeps
        delivers none), and the writer places what comes by its arrival.
        Raises DeviceError when the device cannot be opened or has failed.
        """
        try:
            partial, fd = self._reserve_partial()
        except (OutputError, OSError) as exc:
            if not self.rescue_on_start:
                raise
            partial, fd = self._reserve_rescue(exc)
        own = not isinstance(self.source, Tap)
        tap = None
        began = False
        handed = False  # the writer owns the file (and closes it) from then on
        try:
            tap = self._running_tap()
            if t_start is None:
                t_start = time.monotonic()
            blocks, ring = tap.begin()
            began = True
            # The pre-roll, but never time before the tap opened (an app
            # started a moment ago has none of it to give).
            t_from = max(t_start - tap.preroll_s, tap.opened_at)
            self.t0, first, skip = align_start(ring, t_from, self.samplerate)
            meter = LevelMeter(self.samplerate, self.trim)
            handed = True
            self.writer = PartialWriter(
                partial, fd, self.samplerate, tap.channels, self.t0, blocks, meter
            )
            self.writer.skip(skip)
            for block in first:
                self.writer.accept_first(block)  # the pre-roll: it may fail to write
            self.writer.start()
        except BaseException:
            if not handed:
                os.close(fd)
                partial.unlink(missing_ok=True)
            elif self.writer is not None:
                # What the pre-roll put on disk stays, unlocked: recover repairs it.
                self.writer.release()
                self.writer = None
            if tap is not None and began:
                tap.end()
            if tap is not None and own:
                tap.close()
            raise
        self.tap = tap
        logger.debug(f"capture started: {partial}")

    def _running_tap(self) -> Tap:
        """The tap to record from: the app's, or one opened for this recording."""
        if isinstance(self.source, Tap):
            if self.source.error is not None:
                raise self.source.error
            return self.source
        tap = Tap(self.source, self.samplerate, preroll_s=0.0)
        try:
            tap.start()
        except BaseException:
            tap.close()
            raise
        return tap

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
        self.stem = stem_of_partial(partial.name)
        return partial, fd

    # ------------------------------------------------------------ running

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.t0 if self.t0 else 0.0

    @property
    def level_dbfs(self) -> float:
        return self.writer.level_dbfs if self.writer else float("-inf")

    @property
    def channels(self) -> int:
        return self.writer.channels if self.writer else 0

    @property
    def failed(self) -> bool:
        """True once the device has failed; :meth:`stop` then saves what there is."""
        return self.tap is not None and self.tap.error is not None

    def when_ended(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` (on the tap's router thread) if the capture ends by
        itself (the device failed), so a waiting thread can sleep."""
        if self.tap is None:
            raise LoopcapError("the recording has not started")
        self.tap.when_ended(fn)

    # ------------------------------------------------------------ stop

    def close(self) -> None:
        """Stop and save a recording still running (nothing is lost on the
        way out); idempotent, and nothing to do before :meth:`start`."""
        if self.writer is not None and not self._stopped:
            self.stop()

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stop(self, t_stop: float | None = None) -> Saved:
        """Finish the capture (at monotonic ``t_stop``, default now) and save it.

        Never waits on the device: the tap hands over what it holds within
        ``DRAIN_LAG_S`` and the writer waits at most its stop grace for it.
        """
        if self.tap is None or self.writer is None:
            raise LoopcapError("the recording was stopped before it started")
        if self._stopped:  # the tap may be serving another recording by now
            raise LoopcapError("the recording was already stopped")
        self._stopped = True
        tap = self.tap
        t_stop = time.monotonic() if t_stop is None else t_stop
        if tap.error is not None:
            t_stop = None  # the device failed: the file ends with its last audio
        # The end is set before the audio held by the device is asked for, so
        # nothing played after it gets in.
        self.writer.stop_at(t_stop)
        tap.flush()
        try:
            try:
                result = self.writer.finish()
            finally:
                tap.end()
                if tap is not self.source:  # this recording's own tap
                    tap.close()
            overflow = tap.capture.overflow_frames
            if overflow:
                logger.error(
                    f"{overflow / self.samplerate:.1f} s of audio were lost "
                    "because the writer fell behind (disk or CPU too slow)"
                )
            error = tap.error
            rescues = self.rescues + self.writer.rescues
            if rescues:
                # The capture lives in a rescue folder now: it is saved there.
                self.directory = result.path.parent
                self.stem = stem_of_partial(result.path.name)
                lost_s = self.writer.lost_frames / self.samplerate
                error = error or rescued_error(rescues, self.directory, lost_s)
            paths, raw_path, notes, plot = self._finalise(result, ended_early=tap.error is not None)
        finally:
            self.writer.release()  # the partial file is locked until saved
        self.saved = Saved(
            raw_path,
            result.duration_s,
            result.peak_dbfs,
            result.samplerate,
            result.channels,
            paths=paths,
            notes=notes,
            error=error,
            plot=plot,
        )
        return self.saved

    def _finalise(
        self, result: WriteResult, ended_early: bool = False
    ) -> tuple[tuple[Path, ...], Path | None, tuple, Path | None]:
        """Find the notes in the closed partial WAV and save them
        (:func:`~loopcap.output.save.save_capture`): ``<stem>.<ext>`` (with
        ``split``, one ``<stem>-N.<ext>`` per note) and the capture as
        ``<stem>.raw.<ext>``; never overwriting, and the partial file stays
        until all are safely written.  With ``[output] save_plot``, then the
        picture of the cut (:func:`~loopcap.output.save.save_plot`): beside
        a single note ``<note stem>.png``, else (a split, or no sound found)
        one ``<stem>.png`` showing every note."""
        notes: tuple[Bounds, ...] = ()
        writer = self.writer
        meter = writer.meter if writer is not None and not writer.lost_frames else None
        if result.frames and meter is not None and meter.frames == result.frames:
            # The writer measured every frame as it wrote it: no second pass.
            notes = notes_in_capture(result.path, meter, split=self.split)
        elif result.frames:
            # What is in the file is not what was measured (audio that could
            # not be read back when the capture moved to a rescue folder is
            # silence there): measure the file itself.
            analysis = analyse_file(result.path, self.trim, split=self.split)
            notes, meter = analysis.notes, analysis.meter
        else:
            meter = None
        if ended_early:
            # The device went away mid-note: its error line says so; a note
            # running to the end was not cut by a stop pressed too early.
            notes = ended_otherwise(notes)
        paths, raw_path = save_capture(
            result.path,
            notes,
            self.directory,
            self.stem,
            self.format,
            self.started_at,
            self.samplerate,
            normalize_lufs=self.output.normalize_lufs,
            keep=self.output.keep_raw,
        )
        plot = None
        if self.output.save_plot and meter is not None:
            ext = capture_target(self.format).ext
            first = paths[0].name if len(paths) == 1 else f"{self.stem}.{ext}"
            title = first if paths else raw_path.name if raw_path else self.stem
            plot = save_plot(meter, notes, self.directory, first, ext, title=title)
        return paths, raw_path, notes, plot
