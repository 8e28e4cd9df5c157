#!/usr/bin/env python3
"""CPU of per-application capture (``record --app``) against whole-output capture.

For each server of ``--server`` (``pulseaudio``, ``pipewire`` or ``both``, the
default), the test rig's private server is started with one null sink,
``speakers``, kept awake, as ``bench_record_cpu.py`` does (whose helpers this
script imports).  "Apps" are ``paplay --client-name=NAME --latency-msec=40``
(40 ms, as Chromium asks), each playing the same 48 kHz stereo sound of
``--seconds`` as a stream of its own, started once loopcap has logged
"Recording from".  One run after the other, each ``--seconds`` long:

  (a) ``loopcap record --format wav`` (the whole output: the sink's monitor)
      while one stream of the app ``notes`` plays;
  (b) ``loopcap record --app notes`` while one stream of ``notes`` plays (one
      pinned record stream on it, mixed onto the timeline);
  (c) the whole output while three streams of ``notes`` play at once;
  (d) ``record --app notes`` while three streams of ``notes`` play at once
      (three record streams, mixed);
  (e) ``record --app notes`` while only another app, ``music``, plays: the
      app is waited for and nothing is recorded.

Per run: loopcap's CPU (user + system, all threads, from ``os.wait4``) as %
of one core over the whole process and "steady" (from its "Recording from"
line to its exit, the save included), its peak RSS, and the server's CPU
seconds during the run (PipeWire: pipewire, wireplumber and pipewire-pulse
together).  Each saved raw file is checked: its length is the recorded time
(``--seconds``) within 0.3 s, (a)-(d) hold sound and (e) is silent (peak below
-70 dBFS), and halfway through the run the server has as many record streams
as the case needs (one on the monitor for the whole output, one per stream
of the app with ``--app``, none in (e)).  The 1-minute load average after
each run is given, since the machine may be shared.

Prints Markdown to stdout, the servers side by side (progress on stderr);
~6 minutes per server with the default 60 s.  Needs pactl and paplay, and
pulseaudio or pipewire, wireplumber and pipewire-pulse, on PATH.

Usage::

    python benchmarks/bench_app_cpu.py [--server both] [--seconds 60] [--strict]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_record_cpu as cpu  # noqa: E402  (benchmarks/ on the path: its helpers)

#: The app recorded, and the one that plays in (e) and must not be.
APP = "notes"
OTHER_APP = "music"
#: How far (s) a raw file's length may be from the recorded time.
LENGTH_TOLERANCE_S = 0.3
#: A raw file quieter than this (peak, dBFS) holds nothing.
SILENCE_DBFS = -70.0
#: The programs each server of the rig runs.
SERVER_PROGRAMS = {
    "pulseaudio": ("pulseaudio",),
    "pipewire": ("pipewire", "wireplumber", "pipewire-pulse"),
}
#: The latency the apps' streams ask for (ms), as Chromium's do; paplay's
#: default of 2 s would let the sink render the sound ahead of its time.
APP_LATENCY_MS = 40


@dataclass(frozen=True)
class Case:
    """One run: what loopcap records (``app`` "" = the whole output), which
    apps play (one stream each) and whether the raw file must hold sound."""

    key: str
    name: str
    app: str
    players: tuple[str, ...]
    sound: bool


CASES = (
    Case("a", "whole output, 1 stream of notes", "", (APP,), True),
    Case("b", "--app notes, 1 stream of notes", APP, (APP,), True),
    Case("c", "whole output, 3 streams of notes", "", (APP,) * 3, True),
    Case("d", "--app notes, 3 streams of notes", APP, (APP,) * 3, True),
    Case("e", "--app notes, only music plays", APP, (OTHER_APP,), False),
)
#: Which whole-output run each --app run is compared with.
BASELINE = {"b": "a", "d": "c", "e": "a"}


@dataclass
class AppRun(cpu.Run):
    """A :class:`bench_record_cpu.Run` with this benchmark's checks."""

    key: str = ""
    exit_code: int | None = None
    load_1min: str = ""
    #: Record streams loopcap had open on the server halfway through the run.
    streams: int | None = None
    #: The checks of the raw file that failed (empty: all held).
    failed: list[str] = field(default_factory=list)


def play_as(server, app: str, sound: Path) -> subprocess.Popen:
    """``sound`` played as application ``app``, a stream of its own."""
    cmd = [
        "paplay",
        f"--client-name={app}",
        f"--latency-msec={APP_LATENCY_MS}",
        "-d",
        cpu.SINK,
        str(sound),
    ]
    return subprocess.Popen(
        cmd, env=server.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def record_streams(server) -> int | None:
    """How many record streams (source-outputs) the server has now: loopcap's
    only, since nothing else records on the rig's server."""
    done = subprocess.run(
        ["pactl", "list", "short", "source-outputs"],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=10,
    )
    return len(done.stdout.splitlines()) if done.returncode == 0 else None


def expected_streams(case: Case) -> int:
    """The record streams ``case`` needs: one on the monitor for the whole
    output, else one per playing stream of the app."""
    return case.players.count(case.app) if case.app else 1


def raw_peak_dbfs(path: Path) -> tuple[float, float | None]:
    """(seconds, peak dBFS or None for digital silence) of a saved file."""
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    peak = float(np.max(np.abs(data))) if len(data) else 0.0
    return len(data) / sr, (20 * float(np.log10(peak)) if peak > 0 else None)


def check_raw(run: AppRun, case: Case, stdout: str, seconds: float) -> None:
    """Read the result's raw file: its length and its sound, against ``case``."""
    lines = stdout.strip().splitlines()
    if not lines:
        run.failed.append("no JSON result")
        return
    result = json.loads(lines[-1])
    raw = result.get("raw_path") or result.get("path")
    if not raw:
        run.failed.append("no file saved")
        return
    run.audio_s, run.peak_dbfs = raw_peak_dbfs(Path(raw))
    if abs(run.audio_s - seconds) > LENGTH_TOLERANCE_S:
        run.failed.append(f"raw file {run.audio_s:.2f} s, recorded {seconds:g} s")
    silent = run.peak_dbfs is None or run.peak_dbfs < SILENCE_DBFS
    if case.sound and silent:
        run.failed.append("silent, but the app played")
    if not case.sound and not silent:
        run.failed.append(f"{run.peak_dbfs:.1f} dBFS, but only another app played")


def run_case(
    case: Case,
    loopcap: list[str],
    env: dict[str, str],
    work: Path,
    seconds: float,
    sound: Path,
    server,
) -> AppRun:
    """One run of ``case``: loopcap records ``seconds``, the apps play from its line."""
    run = AppRun(case.name, key=case.key)
    out_dir = work / case.key
    out_dir.mkdir(parents=True, exist_ok=True)
    source = ["--app", case.app] if case.app else ["--device", cpu.MONITOR]
    cmd = [*loopcap, "record", *source, "--format", "wav", "--json"]
    cmd += ["--out-dir", str(out_dir), "--duration", f"{seconds:g}"]
    srv0 = cpu.server_cpu_s(server)
    child = cpu.Child(cmd, env, ready_pattern="Recording from")
    players: list[subprocess.Popen] = []
    try:
        if child.ready.wait(cpu.READY_TIMEOUT_S):
            players = [play_as(server, app, sound) for app in case.players]
            time.sleep(seconds / 2)
            run.streams = record_streams(server)
        else:
            run.notes.append("never logged 'Recording from'")
        run.exit_code = cpu.finish_run(run, child, seconds + 60, server, srv0, ok=(0, 4))
    finally:
        child.kill()
        # The sound ends a moment after the recording; the server's CPU is taken.
        for player in players:
            try:
                player.wait(timeout=5)
            except subprocess.TimeoutExpired:
                player.kill()
                player.wait()
    run.load_1min = cpu.load_average().split()[0]
    if run.streams != expected_streams(case):
        run.failed.append(f"{run.streams} record streams, {expected_streams(case)} expected")
    # finish_run notes a bad exit status; here it is a failed check.
    run.notes = [n for n in run.notes if not n.startswith("exit status")]
    if run.exit_code in (0, 4):
        check_raw(run, case, child.stdout, seconds)
    else:
        run.failed.append(f"exit status {run.exit_code}")
    return run


def run_server(kind: str, args, loopcap: list[str], work: Path, sound: Path):
    """Every run on one private server: (its name and version, the runs)."""
    server = cpu.start_server(kind)
    runs: list[AppRun] = []
    try:
        name = cpu.server_name(kind, server.version)
        env = cpu.loopcap_env(server.env(), work / "home")
        for case in CASES:
            cpu.log(f"[{kind}] ({case.key}) {case.name} ({args.seconds:g} s)")
            runs.append(run_case(case, loopcap, env, work, args.seconds, sound, server))
            r = runs[-1]
            cpu.log(
                f"[{kind}] ({case.key}) steady {cpu.fmt(r.steady_percent)}% of a core, "
                f"exit {r.exit_code}, {'; '.join(r.failed + r.notes) or 'checks held'}"
            )
    finally:
        server.stop()
    return name, runs


def _peak(r: AppRun) -> str:
    return cpu.fmt(r.peak_dbfs, 1) if r.peak_dbfs is not None else "silence"


def cpu_table(results: dict[str, tuple[str, list[AppRun]]], seconds: float) -> str:
    """loopcap's CPU per run, the servers side by side; an --app run's steady
    CPU also as a multiple of its whole-output run's."""
    head, rule = "| run |", "|---|"
    for name, _ in results.values():
        head += (
            f" {name}: % of a core | steady % | x whole output (steady) "
            "| server CPU s | peak RSS MB |"
        )
        rule += "---:|---:|---:|---:|---:|"
    lines = [f"## CPU of loopcap ({seconds:g} s each)", "", head, rule]
    for case in CASES:
        row = f"| ({case.key}) {case.name} |"
        for _, runs in results.values():
            by_key = {r.key: r for r in runs}
            r = by_key[case.key]
            base = by_key.get(BASELINE.get(case.key, ""))
            ratio = r.steady_percent / base.steady_percent if base else None
            row += (
                f" {cpu.fmt(r.percent)} | {cpu.fmt(r.steady_percent)} | "
                f"{cpu.fmt(ratio) if base else '–'} | {cpu.fmt(r.server_cpu_s)} "
                f"| {cpu.fmt(r.maxrss_mb, 1)} |"
            )
        lines.append(row)
    lines.append("")
    return "\n".join(lines)


def check_table(results: dict[str, tuple[str, list[AppRun]]], seconds: float) -> str:
    """The raw files' checks per run, the servers side by side."""
    head, rule = "| run |", "|---|"
    for name, _ in results.values():
        head += f" {name}: exit | record streams | raw file s | peak dBFS | checks | load (1 min) |"
        rule += "---:|---:|---:|---:|---|---:|"
    lines = [
        f"## The raw files (length {seconds:g} ± {LENGTH_TOLERANCE_S:g} s; "
        f"sound where the app played, below {SILENCE_DBFS:g} dBFS in (e))",
        "",
        head,
        rule,
    ]
    for case in CASES:
        row = f"| ({case.key}) {case.name} |"
        for _, runs in results.values():
            r = next(x for x in runs if x.key == case.key)
            checks = "; ".join(r.failed + r.notes) if r.failed or r.notes else "held"
            row += (
                f" {r.exit_code} | {r.streams} | {cpu.fmt(r.audio_s)} | {_peak(r)} | "
                f"{'**' + checks + '**' if r.failed else checks} | {r.load_1min} |"
            )
        lines.append(row)
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Measure the CPU of `loopcap record --app` against whole-output capture "
        "with one and three streams of the app, on private PulseAudio and PipeWire servers "
        "(null sink). Prints Markdown tables to stdout.",
    )
    p.add_argument(
        "--seconds", type=float, default=60.0, help="length of each recording (default: 60)"
    )
    p.add_argument(
        "--server",
        choices=sorted(cpu.SERVER_CHOICES),
        default="both",
        help="the private sound server(s) to run on (default: both)",
    )
    p.add_argument(
        "--loopcap",
        default=f"{sys.executable} -m loopcap",
        help="command that runs loopcap (default: this Python's `-m loopcap`)",
    )
    p.add_argument("--keep", action="store_true", help="keep the recordings (path on stderr)")
    p.add_argument(
        "--strict", action="store_true", help="exit with status 1 when a raw file's check fails"
    )
    args = p.parse_args(argv)
    if not args.seconds > 1:
        p.error("--seconds must be more than 1")
    kinds = cpu.SERVER_CHOICES[args.server]
    needed = {"pactl", "paplay"}.union(*(SERVER_PROGRAMS[kind] for kind in kinds))
    missing = sorted(tool for tool in needed if shutil.which(tool) is None)
    if missing:
        p.error(
            f"not installed: {', '.join(missing)} (Debian: pulseaudio, pulseaudio-utils, "
            "pipewire, pipewire-pulse, wireplumber)"
        )
    loopcap = args.loopcap.split()

    work = Path(tempfile.mkdtemp(prefix="loopcap-bench-app-cpu-"))
    results: dict[str, tuple[str, list[AppRun]]] = {}
    load_start = cpu.load_average()
    try:
        cpu.log(f"working in {work}")
        sound = work / "sound.wav"
        cpu.make_sound(sound, args.seconds)
        machine = [
            *cpu.machine_lines(loopcap),
            f"- paplay: {cpu.tool_version(['paplay', '--version'])}",
            f"- Sound servers: private (the test rig's), null sink `{cpu.SINK}` at 48 kHz, "
            f"never suspended; apps are `paplay --client-name=NAME "
            f"--latency-msec={APP_LATENCY_MS}`",
        ]
        floor_mb = cpu.rss_floor_mb()
        for kind in kinds:
            results[kind] = run_server(kind, args, loopcap, work / kind, sound)
    finally:
        if args.keep:
            cpu.log(f"recordings kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"# loopcap record --app against the whole output: CPU ({args.seconds:g} s each)\n")
    print("\n".join(machine))
    print(
        f"- Load average (1, 5, 15 min): {load_start} at the start, {cpu.load_average()} at the end"
    )
    print()
    print(cpu_table(results, args.seconds))
    print(
        "% of a core: loopcap's user + system time (all threads, `os.wait4`) over its "
        'wall time; steady: from its "Recording from" line to its exit (the save '
        "included). x whole output: the steady % against the whole-output run with as "
        "many streams ((b), (e) against (a); (d) against (c)). server CPU s: the server's "
        "processes during the run, the apps' playback included. peak RSS: `ru_maxrss`; "
        f"the method reads {floor_mb:.1f} MB for `true`.\n"
    )
    print(check_table(results, args.seconds))
    ok = all(not r.failed for _, runs in results.values() for r in runs)
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
