"""The command line: parse, dispatch, and the one error boundary.

``main(argv=None) -> int`` never raises for a user-facing problem: a
:class:`~loopcap.errors.LoopcapError` becomes one line on stderr and its exit
status.  Tests call ``main([...])`` directly.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path

from loopcap import __version__
from loopcap.app.control import COMMANDS, cli_commands, send
from loopcap.app.logsetup import setup_logging
from loopcap.app.record import cmd_record, recorded
from loopcap.config import Config, default_config_path, load_config
from loopcap.errors import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    ConfigError,
    DeviceError,
    LoopcapError,
)
from loopcap.formats import CAPTURE_FORMATS, FORMATS
from loopcap.log import load as load_logger
from loopcap.log import logger

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
    _source_options(run)
    ctl = {}
    for name, text in cli_commands().items():
        ctl[name] = sub.add_parser(name, help=text)
        ctl[name].add_argument("--json", action="store_true", help="print the reply as JSON")
    ctl["toggle"].add_argument(
        "--arm",
        action="store_true",
        help="arm instead: capture the next sound, stop after silence (again: disarm)",
    )
    doc = sub.add_parser("doctor", help="check that loopcap can do its job here")

    a = sub.add_parser("autostart", help="start loopcap at login: on, off, or status")
    a.add_argument("switch", choices=("on", "off", "status"), help="what to do")
    inst = sub.add_parser(
        "install-desktop",
        help="install loopcap's desktop entry and icon for your user (Linux)",
    )

    d = sub.add_parser("devices", help="list the loopback devices")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    ap = sub.add_parser("apps", help="list the applications playing sound now (for --app)")
    ap.add_argument("--json", action="store_true", help="machine-readable output")

    r = sub.add_parser("record", help="record the system's output audio")
    r.add_argument(
        "--duration",
        type=float,
        metavar="SECONDS",
        help="stop after this many seconds (default: Ctrl+C)",
    )
    _source_options(r)
    r.add_argument("--out-dir", metavar="DIR", help="folder for the capture")
    r.add_argument("--format", choices=sorted(CAPTURE_FORMATS), help="file format")
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
    # "*", not "+": a file right after --plot is taken by it and handed back
    # (loopcap.app.trim.cmd_trim), which says when none is left.
    t.add_argument("files", nargs="*", metavar="FILE", help="audio files (WAV, FLAC, OGG, MP3)")
    where = t.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", metavar="OUT", help="output file (one input only)")
    where.add_argument("--out-dir", metavar="DIR", help="folder for the outputs")
    t.add_argument(
        "--format",
        choices=sorted(FORMATS),
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
        "--plot",
        nargs="?",
        const="",
        default=None,
        metavar="FILE.png",
        help="also draw a picture of the cut: FILE.png (one input), or <output stem>.png "
        "beside each output (a split: one picture showing every note); never over a file",
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
    for sp in (run, *ctl.values(), doc, a, inst, d, ap, r, t, rc, c):
        sp.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS)
        sp.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS)
    return p


def _source_options(parser: argparse.ArgumentParser) -> None:
    """``--device`` or ``--app``: what ``record`` and ``run`` record."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--device", metavar="NAME", help="loopback device: part of its name or id")
    which.add_argument(
        "--app",
        metavar="NAME",
        help="record this application only: part of its name or program, as `loopcap apps` "
        'lists them (default: [capture] app; "" for the whole output)',
    )


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
    if args.command == "install-desktop":
        return cmd_install_desktop(args)
    if args.command in COMMANDS:
        if getattr(args, "arm", False):
            args.command = "arm"
        return cmd_control(args)
    config = load_config(args.config)
    record_dir = args.out_dir if args.command == "record" and args.out_dir else None
    _recover_quietly(Path(record_dir) if record_dir else config.output.directory)
    if args.command in ("run", "record"):
        load_logger()  # before any capture thread, not in the middle of its reads
    return _WITH_CONFIG[args.command](args, config)


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


def cmd_devices(args: argparse.Namespace, config: Config) -> int:
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


def cmd_apps(args: argparse.Namespace, config: Config) -> int:
    """``loopcap apps``: the applications playing now, what ``--app`` matches."""
    from loopcap.app.apps import app_line
    from loopcap.device import app_capture_support, list_apps

    supported, why = app_capture_support()
    if not supported:
        raise DeviceError(why)
    apps = list_apps()
    if args.json:
        print(json.dumps([dataclasses.asdict(a) for a in apps], indent=2))
        return EXIT_OK
    if not apps:
        print("no application is playing sound now")
        return EXIT_OK
    for app in apps:
        print(app_line(app))
    print("(record one with --app NAME: a part of its name or program, any case)")
    return EXIT_OK


def cmd_recover(args: argparse.Namespace, config: Config) -> int:
    from loopcap.writer.recover import find_partials, recover_dir

    folder = Path(args.dir) if args.dir else config.output.directory
    left = find_partials(folder)  # the start-up pass may already have done them
    done = recover_dir(folder)
    if args.json:
        print(
            json.dumps([{"path": str(r.path), "duration_s": round(r.duration_s, 6)} for r in done])
        )
    elif not left:
        print(f"nothing to recover in {folder}")
    else:
        for r in done:
            print(f"recovered {r.path} ({r.duration_s:.1f} s)")
    return EXIT_OK


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    from loopcap.app.firstrun import first_start
    from loopcap.app.main import run_app

    _meet_the_desktop(config)
    path = Path(args.config) if args.config else default_config_path()
    # The first start is one without a config file (a --config given is
    # someone who has set loopcap up): the app then explains itself, once.
    first_run = None if args.config else lambda: first_start(path)
    app, device = recorded(args, config)
    return run_app(config, path, no_tray=args.no_tray, device=device, app=app, first_run=first_run)


def _meet_the_desktop(config: Config) -> None:
    """Before the app starts: its desktop entry and icon installed (Linux; the
    portal names the app by that entry, so it must exist before the app
    registers; the first start installs it, a move to another environment
    refreshes it), and the start-at-login entry made to agree with
    ``[app] start_at_login``.  A failure is logged, never fatal."""
    from loopcap.app.desktop import autostart, desktop_file

    if sys.platform not in ("win32", "darwin"):
        try:
            done = desktop_file.ensure()
            if done is not None:
                logger.info(f"installed the desktop entry {done.entry}")
        except OSError as exc:
            logger.warning(f"the desktop entry cannot be installed ({exc})")
    try:
        before = autostart.status()
        after = autostart.apply(config.app.start_at_login)
        if before != after:
            logger.info(f"start at login ([app] start_at_login): {after.line()}")
    except OSError as exc:
        logger.warning(f"start at login cannot be set up ({exc})")


def cmd_autostart(args: argparse.Namespace, config: Config) -> int:
    from loopcap.app.desktop import autostart

    try:
        if args.switch == "on":
            st = autostart.enable()
        elif args.switch == "off":
            st = autostart.disable()
        else:
            st = autostart.status()
    except OSError as exc:
        raise LoopcapError(f"start at login cannot be changed ({exc})") from None
    print(st.line())
    want = config.app.start_at_login
    if args.switch != "status" and st.enabled != want:
        where = config.source or default_config_path()
        print(
            f"note: [app] start_at_login = {str(want).lower()} in {where}: loopcap's next "
            f"start makes the entry agree with it again; set start_at_login = "
            f"{str(st.enabled).lower()} there to keep this",
            file=sys.stderr,
        )
    return EXIT_OK


def cmd_install_desktop(args: argparse.Namespace) -> int:
    from loopcap.app.desktop import desktop_file

    if sys.platform in ("win32", "darwin"):
        raise LoopcapError("install-desktop is for Linux desktops (XDG desktop entries)")
    try:
        done = desktop_file.install()
    except OSError as exc:
        raise LoopcapError(f"the desktop entry cannot be installed ({exc})") from None
    print(done.entry)
    print(f"{len(done.icons)} icons in {done.icons[0].parents[2]}")
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace, config: Config) -> int:
    from loopcap.app.doctor import run_doctor

    return run_doctor(config)


def cmd_trim(args: argparse.Namespace, config: Config) -> int:
    # Imported when used: the batch trim brings in the decoders.
    from loopcap.app.trim import cmd_trim as trim_command

    return trim_command(args, config)


def cmd_control(args: argparse.Namespace) -> int:
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


#: The commands that load the config first (and repair what a crash left).
_WITH_CONFIG: dict[str, Callable[[argparse.Namespace, Config], int]] = {
    "devices": cmd_devices,
    "apps": cmd_apps,
    "record": cmd_record,
    "recover": cmd_recover,
    "trim": cmd_trim,
    "run": cmd_run,
    "doctor": cmd_doctor,
    "autostart": cmd_autostart,
}
