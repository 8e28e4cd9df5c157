"""``loopcap record``: one capture from the terminal, until Ctrl+C, a duration,
silence (``--arm``) or the device's end.

Runs on the main thread, which only waits (or draws the level meter); the
capture and the writer have threads of their own (:mod:`loopcap.session`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from loopcap.app.logsetup import warning_counts
from loopcap.config import Config, check_app_name
from loopcap.errors import EXIT_NO_SOUND, EXIT_OK, ConfigError
from loopcap.log import logger

__all__ = ["cmd_record", "StopFlag", "recorded"]


class StopFlag:
    """Set by SIGINT/SIGTERM (see :mod:`loopcap.app.signals`: at once, whichever
    thread takes the signal), the duration or the capture's end; the main
    thread sleeps on :attr:`event`.  :meth:`install` on the main thread,
    :meth:`uninstall` at the end."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.t_request: float | None = None
        self._restore: Callable[[], None] | None = None

    def install(self) -> None:
        from loopcap.app.signals import forward_signals

        self._restore = forward_signals(self.set)

    def uninstall(self) -> None:
        if self._restore is not None:
            self._restore()
            self._restore = None

    def set(self, *_: object) -> None:
        if self.t_request is None:
            self.t_request = time.monotonic()
        self.event.set()


def _meter(level_dbfs: float, width: int = 30) -> str:
    """A bar of ``width`` characters for a level from -60 to 0 dBFS."""
    frac = 0.0 if not math.isfinite(level_dbfs) else min(1.0, max(0.0, (level_dbfs + 60) / 60))
    n = round(frac * width)
    return "#" * n + "-" * (width - n)


def cmd_record(args: argparse.Namespace, config: Config) -> int:
    from loopcap.app.apps import open_capture_source
    from loopcap.capture.arm import ARM_CHECK_S
    from loopcap.session import Recording

    if args.duration is not None and not (args.duration > 0 and math.isfinite(args.duration)):
        raise ConfigError(
            f"--duration {args.duration} is invalid: give a positive number of seconds"
        )
    app, device = recorded(args, config)
    choice = open_capture_source(app, device)
    source = choice.source
    if choice.note:
        # Said once: the capture runs all the same and is silence until the app plays.
        logger.warning(f"loopcap: {choice.note}")
    tap = armed = None
    stop = StopFlag()
    stop.install()
    try:
        t_start = None
        if args.arm:
            tap, armed, t_start = _wait_for_sound(source, config, stop)
            if t_start is None:
                print("no sound came; nothing was recorded")
                return EXIT_NO_SOUND
        rec = Recording(
            source if tap is None else tap,
            config.output,
            config.capture.samplerate,
            directory=Path(args.out_dir).expanduser() if args.out_dir else None,
            fmt=args.format,
            trim=config.trim,
            split=args.split,
        )
        rec.start(t_start)
        logger.info(
            f"Recording from {source.info.name!r} ({rec.samplerate} Hz, "
            f"{rec.channels} ch) into {rec.directory}; "
            + (
                "press Ctrl+C to stop."
                if args.duration is None
                else f"stopping after {args.duration:g} s."
            )
        )
        live = sys.stdout.isatty() and not args.json
        deadline = rec.t0 + args.duration if args.duration is not None else None
        # Without a meter to draw this thread only waits: a signal, the
        # duration or the capture's end (a failed device) wakes it.
        rec.when_ended(stop.event.set)
        while not stop.event.is_set() and not rec.failed:
            # An armed capture's silence clock to read, or a meter to draw.
            timeout = ARM_CHECK_S if armed is not None else 0.1 if live else 1.0
            if deadline is not None:
                timeout = min(timeout, deadline - time.monotonic())
                if timeout <= 0:
                    stop.t_request = deadline
                    break
            if armed is not None:
                reason = armed.stop_reason(time.monotonic(), rec.t0)
                if reason is not None:
                    logger.info(f"stopping: {reason}")
                    break
            stop.event.wait(timeout)
            if live:
                s = rec.elapsed_s
                print(
                    f"\r{int(s // 60):02d}:{s % 60:04.1f} [{_meter(rec.level_dbfs)}] "
                    f"{rec.level_dbfs:6.1f} dBFS ",
                    end="",
                    flush=True,
                )
        if live:
            print()
        saved = rec.stop(stop.t_request)
    finally:
        if armed is not None:
            armed.detach()
        if tap is not None:
            tap.close()
        stop.uninstall()
    if args.json:
        print(json.dumps(saved.as_dict()))
    else:
        peak = f"{saved.peak_dbfs:.1f} dBFS" if math.isfinite(saved.peak_dbfs) else "silence"
        for path, note in zip(saved.paths, saved.notes, strict=False):
            print(
                f"saved {path} ({note.kept_s:.2f} s of {saved.duration_s:.2f} s "
                f"captured, peak {peak})"
            )
        if saved.raw_path is not None:
            print(f"raw capture kept as {saved.raw_path} ({saved.duration_s:.2f} s)")
        if saved.plot is not None:
            print(f"picture of the cut: {saved.plot}")
    if warning_counts:
        logger.info(f"{sum(warning_counts.values())} warnings during the capture were logged")
    if saved.error is not None:
        raise saved.error
    if saved.path is None:
        logger.warning("no sound found in the capture: only the raw capture was kept")
        return EXIT_NO_SOUND
    return EXIT_OK


def recorded(args: argparse.Namespace, config: Config) -> tuple[str, str]:
    """(app, device) that ``record`` and ``run`` record: ``--device`` (the
    whole output of that device), ``--app`` (that application; "" the whole
    output), else ``[capture] app`` and ``device``.  Checks ``--app``."""
    if getattr(args, "device", None) is not None:
        return "", args.device
    app = getattr(args, "app", None)
    if app is not None:
        check_app_name(app, "--app")
        return app, config.capture.device
    return config.capture.app, config.capture.device


def _wait_for_sound(source, config: Config, stop: StopFlag):
    """``record --arm``: open the device, wait until sound begins (or Ctrl+C).

    Returns the running tap, its :class:`~loopcap.capture.arm.Armed` watcher and the
    monotonic time to start the recording at (None if stopped first).
    """
    from loopcap.capture.arm import ARM_LEAD_S, Armed
    from loopcap.capture.tap import Tap

    tap = Tap(source, config.capture.samplerate, config.capture.preroll_s)
    tap.start()
    began = threading.Event()
    onsets: list[float] = []  # the onset Armed reports, once, on the tap's router thread

    def on_sound(t: float) -> None:
        onsets.append(t)
        began.set()

    armed = Armed(tap, config.arm, config.trim, on_sound)
    armed.attach()
    logger.info(f"Armed on {source.info.name!r}: waiting for sound (Ctrl+C to give up).")
    while not began.wait(0.1):
        if stop.event.is_set() or tap.ended.is_set():
            armed.detach()
            if tap.error is not None:
                tap.close()
                raise tap.error
            return tap, armed, None
    return tap, armed, onsets[0] - ARM_LEAD_S
