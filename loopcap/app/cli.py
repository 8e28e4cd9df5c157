"""The command line: parse, dispatch, and the one error boundary.

``main(argv=None) -> int`` never raises for a user-facing problem: a
:class:`~loopcap.errors.LoopcapError` becomes one line on stderr and its exit
status.  Tests call ``main([...])`` directly.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from pathlib import Path

from loguru import logger

from loopcap import __version__
from loopcap.app.logsetup import setup_logging, warning_counts
from loopcap.config import FORMATS, Config, default_config_path, load_config
from loopcap.errors import (
    EXIT_ERROR,
    EXIT_NO_SOUND,
    EXIT_OK,
    EXIT_USAGE,
    ConfigError,
    LoopcapError,
)

__all__ = ["main", "build_parser"]

EXAMPLE_CONFIG = Path(__file__).parent.parent / "config.example.toml"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="loopcap", description="Keep the voice notes your computer plays."
    )
    p.add_argument("--version", action="version", version=f"loopcap {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="debug messages on the terminal")
    p.add_argument(
        "--config", metavar="PATH", help="config file (default: %(default)s)", default=None
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="the desktop app: wait in the tray (the default)")
    run.add_argument("--no-tray", action="store_true", help="hotkeys and the terminal only")
    run.add_argument("--device", metavar="NAME", help="loopback device: part of its name or id")
    ctl = []
    for name, text in (
        ("toggle", "start or stop a capture in the running app"),
        ("stop", "stop and save the running app's capture"),
        ("status", "show what the running app is doing"),
        ("quit", "save any capture and quit the running app"),
    ):
        ctl.append(sub.add_parser(name, help=text))
        ctl[-1].add_argument("--json", action="store_true", help="print the reply as JSON")
    ctl[0].add_argument(
        "--arm",
        action="store_true",
        help="arm instead: capture the next sound, stop after silence (again: disarm)",
    )
    doc = sub.add_parser("doctor", help="check that loopcap can do its job here")

    d = sub.add_parser("devices", help="list the loopback devices")
    d.add_argument("--json", action="store_true", help="machine-readable output")

    r = sub.add_parser("record", help="record the system's output audio")
    r.add_argument(
        "--duration",
        type=float,
        metavar="SECONDS",
        help="stop after this many seconds (default: Ctrl+C)",
    )
    r.add_argument("--device", metavar="NAME", help="loopback device: part of its name or id")
    r.add_argument("--out-dir", metavar="DIR", help="folder for the capture")
    r.add_argument("--format", choices=sorted(FORMATS), help="file format")
    r.add_argument("--json", action="store_true", help="print the result as JSON")
    r.add_argument(
        "--arm",
        action="store_true",
        help="wait for sound, capture it, stop after [arm] stop_after_silence_s of silence",
    )
    r.add_argument(
        "--split", action="store_true", default=None, help="save each note as its own file"
    )

    t = sub.add_parser("trim", help="trim audio files to the voice note in them")
    t.add_argument("files", nargs="+", metavar="FILE", help="audio files (WAV, FLAC, OGG, MP3)")
    where = t.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", metavar="OUT", help="output file (one input only)")
    where.add_argument("--out-dir", metavar="DIR", help="folder for the outputs")
    t.add_argument(
        "--format",
        choices=sorted([*FORMATS, "opus"]),
        help="output format (default: the input's); voicenote = Ogg Opus 16 kHz mono",
    )
    t.add_argument("--force", action="store_true", help="replace existing outputs")
    t.add_argument("--json", action="store_true", help="one JSON object per file")
    t.add_argument(
        "--split",
        action="store_true",
        help="one output per note (<stem>.trimmed-N.<ext>) for files of consecutive notes",
    )
    t.add_argument(
        "--normalize-lufs",
        type=float,
        metavar="LUFS",
        help="bring each note to this loudness, e.g. -16 (default: [output] normalize_lufs)",
    )

    rc = sub.add_parser("recover", help="repair captures interrupted by a crash")
    rc.add_argument("dir", nargs="?", help="folder to repair (default: the captures folder)")
    rc.add_argument("--json", action="store_true", help="print the result as JSON")

    c = sub.add_parser("config", help="where the config file is; write an example")
    g = c.add_mutually_exclusive_group(required=True)
    g.add_argument("--path", action="store_true", help="print the config file's path")
    g.add_argument("--init", action="store_true", help="write the documented example there")

    # --config is accepted after the command too, as the docs show it.
    for sp in (run, *ctl, doc, d, r, t, rc, c):
        sp.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS)
        sp.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage or help
        return int(exc.code or 0) if exc.code in (0, None) else EXIT_USAGE
    setup_logging(args.verbose)
    if args.command is None:
        args = parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "run"])
    try:
        return _dispatch(args)
    except LoopcapError as exc:
        logger.error(f"loopcap: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: one line here, the traceback in the log
        logger.opt(exception=exc).debug("unexpected error")
        logger.error(f"loopcap: unexpected error: {exc!r} (details in the log file)")
        return EXIT_ERROR


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "config":
        return cmd_config(args)
    if args.command in ("toggle", "stop", "status", "quit"):
        if getattr(args, "arm", False):
            args.command = "arm"
        return cmd_control(args)
    config = load_config(args.config)
    record_dir = args.out_dir if args.command == "record" and args.out_dir else None
    _recover_quietly(Path(record_dir) if record_dir else config.output.directory)
    if args.command == "devices":
        return cmd_devices(args)
    if args.command == "record":
        return cmd_record(args, config)
    if args.command == "recover":
        return cmd_recover(args, config)
    if args.command == "trim":
        return cmd_trim(args, config)
    if args.command == "run":
        from loopcap.app.main import run_app

        path = Path(args.config) if args.config else default_config_path()
        return run_app(config, path, no_tray=args.no_tray, device=args.device)
    if args.command == "doctor":
        from loopcap.app.doctor import run_doctor

        return run_doctor(config)
    raise AssertionError(args.command)


def _recover_quietly(folder: Path) -> None:
    """Every start repairs what a crash left behind in the captures folder
    and in the rescue folders (:mod:`loopcap.writer.rescue`)."""
    from loopcap.writer.recover import recover_dir
    from loopcap.writer.rescue import rescue_dirs

    for where in (folder, *rescue_dirs()):
        try:
            recover_dir(where)
        except OSError as exc:
            logger.debug(f"recovery of {where} skipped: {exc}")


# ---------------------------------------------------------------- commands


def cmd_config(args: argparse.Namespace) -> int:
    path = Path(args.config) if args.config else default_config_path()
    if args.path:
        print(path)
        return EXIT_OK
    if path.exists():
        raise ConfigError(
            f"{path} already exists; it was left unchanged (remove it first "
            "to write a fresh example)"
        )
    from loopcap.fs import create_exclusive, ensure_private_dir

    ensure_private_dir(path.parent)
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    fd = create_exclusive(path)
    with open(fd, "w", encoding="utf-8") as f:
        f.write(text)
    print(path)
    return EXIT_OK


def cmd_devices(args: argparse.Namespace) -> int:
    from loopcap.device import list_loopbacks

    devices = list_loopbacks()
    if args.json:
        print(json.dumps([d.__dict__ for d in devices], indent=2))
        return EXIT_OK
    if not devices:
        print("no loopback devices found")
    for d in devices:
        mark = "*" if d.default else " "
        print(f"{mark} {d.id}\t{d.name}\t{d.channels} ch")
    if devices:
        print("(* = loopback of the default output)")
    return EXIT_OK


def cmd_recover(args: argparse.Namespace, config: Config) -> int:
    from loopcap.writer.recover import find_partials, recover_dir

    folder = Path(args.dir) if args.dir else config.output.directory
    left = find_partials(folder)  # the start-up pass may already have done them
    done = recover_dir(folder)
    if args.json:
        print(
            json.dumps([{"path": str(r.path), "duration_s": round(r.duration_s, 4)} for r in done])
        )
    elif not left:
        print(f"nothing to recover in {folder}")
    else:
        for r in done:
            print(f"recovered {r.path} ({r.duration_s:.1f} s)")
    return EXIT_OK


class _StopFlag:
    """Set by SIGINT/SIGTERM (see :mod:`loopcap.app.signals`: at once, whichever
    thread takes the signal), the duration or the capture's end; the main
    thread sleeps on :attr:`event`.  :meth:`install` on the main thread,
    :meth:`uninstall` at the end."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.t_request: float | None = None
        self._restore = None

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
    frac = 0.0 if not math.isfinite(level_dbfs) else min(1.0, max(0.0, (level_dbfs + 60) / 60))
    n = round(frac * width)
    return "#" * n + "-" * (width - n)


def cmd_record(args: argparse.Namespace, config: Config) -> int:
    from loopcap.capture.arm import ARM_CHECK_S
    from loopcap.device import open_source
    from loopcap.session import Recording

    if args.duration is not None and not (args.duration > 0 and math.isfinite(args.duration)):
        raise ConfigError(
            f"--duration {args.duration} is invalid: give a positive number of seconds"
        )
    source = open_source(args.device if args.device is not None else config.capture.device)
    tap = armed = None
    stop = _StopFlag()
    stop.install()
    try:
        t_start = None
        if args.arm:
            tap, armed, t_start = _wait_for_sound(source, config, stop)
            if t_start is None:
                print("no sound came; nothing was recorded")
                return EXIT_NO_SOUND
        rec = Recording(
            source,
            config.output,
            config.capture.samplerate,
            directory=Path(args.out_dir).expanduser() if args.out_dir else None,
            fmt=args.format,
            trim=config.trim,
            tap=tap,
            split=args.split,
        )
        rec.start(t_start)
        logger.info(
            f"Recording from {source.info.name!r} ({rec.samplerate} Hz, "
            f"{rec.capture.channels} ch) into {rec.directory}; "
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
        rec.capture.when_ended(stop.event.set)
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
    if warning_counts:
        logger.info(f"{sum(warning_counts.values())} warnings during the capture were logged")
    if saved.error is not None:
        raise saved.error
    if saved.path is None:
        logger.warning("no sound found in the capture: only the raw capture was kept")
        return EXIT_NO_SOUND
    return EXIT_OK


def _wait_for_sound(source, config: Config, stop: _StopFlag):
    """``record --arm``: open the device, wait until sound begins (or Ctrl+C).

    Returns the running tap, its :class:`~loopcap.capture.arm.Armed` watcher and the
    monotonic time to start the recording at (None if stopped first).
    """
    from loopcap.capture.arm import ARM_LEAD_S, Armed
    from loopcap.capture.tap import Tap

    tap = Tap(source, config.capture.samplerate, config.capture.preroll_s)
    tap.start()
    began = threading.Event()
    armed = Armed(tap, config.arm, config.trim, lambda _t: began.set())
    armed.attach()
    logger.info(f"Armed on {source.info.name!r}: waiting for sound (Ctrl+C to give up).")
    while not began.wait(0.1):
        if stop.event.is_set() or tap.ended.is_set():
            armed.detach()
            if tap.error is not None:
                tap.close()
                raise tap.error
            return tap, armed, None
    return tap, armed, armed.onset_t - ARM_LEAD_S


def cmd_trim(args: argparse.Namespace, config: Config) -> int:
    from loopcap.app.trim import trim_files

    if args.output and len(args.files) > 1:
        raise ConfigError("-o names one output file; with several inputs use --out-dir")
    out_dir = Path(args.out_dir).expanduser() if args.out_dir else None
    lufs = config.output.normalize_lufs if args.normalize_lufs is None else args.normalize_lufs
    if lufs and not -60 <= lufs <= -5:
        raise ConfigError(f"--normalize-lufs {lufs:g} is invalid: give -60 to -5 (LUFS), or 0")
    if out_dir is not None:
        if out_dir.exists() and not out_dir.is_dir():
            raise ConfigError(f"--out-dir {out_dir} is a file, not a folder")
        from loopcap.fs import ensure_private_dir

        ensure_private_dir(out_dir)
    results = trim_files(
        [Path(f) for f in args.files],
        out=Path(args.output).expanduser() if args.output else None,
        out_dir=out_dir,
        fmt=args.format,
        force=args.force,
        params=config.trim,
        split=args.split,
        normalize_lufs=lufs,
    )
    bar = None
    if len(args.files) > 1 and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=len(args.files), unit="file", file=sys.stderr, leave=False)
    failed = no_sound = 0
    for res in results:
        if bar is not None:
            bar.update(1)
        if res.error:
            failed += not res.no_sound
            no_sound += res.no_sound
            (bar.write if bar else lambda m: logger.error(m))(f"loopcap: {res.error}")
        elif res.truncated:
            logger.warning(f"loopcap: {res.input}: the file is truncated; trimmed what decodes")
        if args.json:
            print(json.dumps(res.as_dict()), flush=True)
        elif res.notes:
            for path, b in res.notes:
                print(f"{path}\t{b.start_s:.3f}-{b.end_s:.3f} s ({b.kept_s:.2f} s kept)")
        elif res.output is not None:
            print(
                f"{res.output}\t{res.start_s:.3f}-{res.end_s:.3f} s ({res.kept_s:.2f} s kept)",
                flush=True,
            )
    if bar is not None:
        bar.close()
    if failed:
        return EXIT_ERROR
    return EXIT_NO_SOUND if no_sound else EXIT_OK


def cmd_control(args: argparse.Namespace) -> int:
    from loopcap.app.control import send

    reply = send(args.command)
    if args.json:
        print(json.dumps(reply))
    elif not reply.get("ok", False):
        raise LoopcapError(reply.get("error", "the running loopcap refused the command"))
    elif args.command == "status":
        line = reply["state"]
        if reply["state"] == "recording":
            s = int(reply.get("elapsed_s", 0))
            line += f" {s // 60:02d}:{s % 60:02d}"
        if reply.get("message"):
            line += f" ({reply['message']})"
        print(line)
    else:
        print(reply["state"])
    return EXIT_OK
