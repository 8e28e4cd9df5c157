#!/usr/bin/env python3
"""Peak memory of ``loopcap record`` against the length of the recording.

loopcap records from its fake source (``LOOPCAP_BACKEND=fake``), which
delivers audio ``--speed`` times faster than real time, so 10, 30 and 60
minutes of 48 kHz stereo audio take 3, 9 and 18 s at the default 200x.  For
each length it reports:

- peak RSS of the whole run (``ru_maxrss`` from ``os.wait4``): the capture
  plus what ``record`` does after the stop (the trimmer's analysis pass over
  the file, saving the files);
- peak RSS while recording: the process's ``VmHWM`` read from /proc just
  before the stop;
- wall time, CPU time, and the recorded file's duration read back with
  soundfile, against the length asked for and the JSON that loopcap printed.

The fake delivers blocks of ``--block-frames`` (default 12000 = 0.25 s, the
size of the blocks the real PulseAudio stream puts on the capture queue,
which hands over what it read every 0.25 s).  The goal: under 80 MB, and no
growth with the length.  Prints Markdown to stdout; ~1 minute with the
defaults; needs ~2.3 GB of free disk for the 60-minute file (each file is
deleted once checked).

Usage::

    python benchmarks/bench_record_memory.py [--minutes 10 30 60] [--speed 200]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_record_cpu import Child, fmt, log, machine_lines, rss_floor_mb  # noqa: E402

SAMPLERATE = 48000
GOAL_MB = 80.0
#: Growth from the shortest to the longest recording counted as "flat".
FLAT_MB = 5.0


def vm_kib(pid: int, key: str) -> int | None:
    """A ``Vm*`` line of /proc/PID/status, in KiB (None once the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


@dataclass
class Result:
    minutes: float
    wall_s: float = 0.0
    record_wall_s: float = 0.0
    cpu_s: float = 0.0
    maxrss_mb: float = 0.0
    hwm_recording_mb: float | None = None
    rss_samples_mb: list[float] = field(default_factory=list)
    file_s: float = 0.0
    json_s: float | None = None
    file_mb: float = 0.0
    exit_code: int = 0
    note_found: bool | None = None
    lost_lines: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def target_s(self) -> float:
        return self.minutes * 60


def record_one(
    loopcap: list[str],
    env: dict[str, str],
    out_dir: Path,
    minutes: float,
    speed: float,
    block_frames: int,
) -> Result:
    res = Result(minutes)
    out_dir.mkdir(parents=True)
    # --duration is wall-clock time; the fake delivers `speed` times faster.  At the
    # start loopcap gathers 0.3 s of blocks to align position 0 with the wall
    # clock, assuming a real-time device; the fake delivers `speed` times as much
    # meanwhile, so files come out somewhat longer than asked (never shorter).
    duration = minutes * 60 / speed
    cmd = [
        *loopcap,
        "record",
        "--format",
        "wav",
        "--out-dir",
        str(out_dir),
        "--duration",
        f"{duration:g}",
        "--json",
    ]
    child = Child(cmd, env, ready_pattern="Recording from")
    try:
        if not child.ready.wait(30):
            res.notes.append("never logged 'Recording from'")
        else:
            # Sample the RSS while recording; read the high-water mark just before the stop.
            stop_at = child.t_ready + duration - 0.15
            while time.monotonic() < stop_at:
                rss = vm_kib(child.pid, "VmRSS")
                if rss is None:
                    break
                res.rss_samples_mb.append(rss / 1024)
                time.sleep(min(0.1, max(0.0, stop_at - time.monotonic())))
            hwm = vm_kib(child.pid, "VmHWM")
            res.hwm_recording_mb = hwm / 1024 if hwm is not None else None
            res.record_wall_s = time.monotonic() - child.t_ready
        usage = child.wait(duration + 600)
    finally:
        child.kill()
    res.exit_code = usage.exit_code
    res.wall_s = usage.t_end - child.t_launch
    res.cpu_s = usage.user_s + usage.sys_s
    res.maxrss_mb = usage.maxrss_kib / 1024
    res.lost_lines = sum("fell behind" in line for line in child.stderr_lines)
    if res.exit_code not in (0, 4):
        res.notes.append(f"exit status {res.exit_code}")
        log("\n".join(child.stderr_lines[-15:]))
        return res
    # 4: no sound found, so only the raw capture was kept (the fake's steady signal).
    res.note_found = res.exit_code == 0
    result = json.loads(child.stdout.strip().splitlines()[-1])
    res.json_s = result.get("duration_s")
    raw = result.get("raw_path") or result.get("path")
    if raw:
        info = sf.info(raw)
        res.file_s = info.frames / info.samplerate
        res.file_mb = Path(raw).stat().st_size / 1e6
        if info.samplerate != SAMPLERATE or info.channels != 2:
            res.notes.append(f"{info.samplerate} Hz, {info.channels} ch")
    if res.json_s is not None and abs(res.file_s - res.json_s) > 0.01:
        res.notes.append(f"file {res.file_s:.2f} s but JSON {res.json_s} s")
    lost = [line for line in child.stderr_lines if "frames were lost" in line]
    if lost:
        res.notes.append(lost[-1].strip())
    return res


def report(results: list[Result], args, machine: list[str], floor_mb: float) -> tuple[str, bool]:
    lines = [
        f"## loopcap record: peak memory against length (fake source at {args.speed:g}x)",
        "",
        *machine,
        f"- Fake source: `LOOPCAP_FAKE=speed={args.speed:g},signal={args.signal},"
        f"block_frames={args.block_frames}`; `--format wav`",
        "",
        "| audio asked | audio in file (soundfile) | JSON duration_s | wall s | CPU s "
        "| RSS while recording, MB (min-max) | peak RSS while recording MB "
        "| peak RSS whole run MB | file MB | note found |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in results:
        rss = (
            f"{min(r.rss_samples_mb):.1f}-{max(r.rss_samples_mb):.1f}" if r.rss_samples_mb else "–"
        )
        note = f" ({'; '.join(r.notes)})" if r.notes else ""
        found = "–" if r.note_found is None else ("yes" if r.note_found else "no")
        lines.append(
            f"| {r.minutes:g} min{note} | {r.file_s / 60:.2f} min ({r.file_s:.1f} s) "
            f"| {fmt(r.json_s, 2)} | {r.wall_s:.1f} | {r.cpu_s:.1f} | {rss} "
            f"| {fmt(r.hwm_recording_mb, 1)} | {r.maxrss_mb:.1f} | {r.file_mb:.0f} | {found} |"
        )
    lines += [
        "",
        "peak RSS whole run: `ru_maxrss` of the loopcap process from `os.wait4`, start to "
        "exit, the trimmer's pass over the finished file included (the method reads "
        f"{floor_mb:.1f} MB for `true`). peak RSS while recording: `VmHWM` from "
        '/proc just before the stop. note found: "no" is expected here, the fake\'s '
        "signal is steady so the trimmer finds no note and only the raw capture is kept "
        "(exit status 4).",
        "",
    ]
    ok = True
    if results:
        peak = max(r.maxrss_mb for r in results)
        growth = results[-1].maxrss_mb - results[0].maxrss_mb
        hwms = [r.hwm_recording_mb for r in results if r.hwm_recording_mb is not None]
        rec_growth = hwms[-1] - hwms[0] if len(hwms) == len(results) else float("nan")
        short = [
            r
            for r in results
            if r.json_s is None or r.file_s < r.target_s - max(1.0, 0.02 * r.target_s)
        ]
        checks = [
            (f"peak RSS under {GOAL_MB:g} MB (whole run)", f"{peak:.1f} MB", peak < GOAL_MB),
            (
                f"no growth with length, whole run (< {FLAT_MB:g} MB "
                f"from {results[0].minutes:g} to {results[-1].minutes:g} min)",
                f"{growth:+.1f} MB",
                growth < FLAT_MB,
            ),
            (
                f"no growth with length while recording (< {FLAT_MB:g} MB)",
                f"{rec_growth:+.1f} MB",
                rec_growth < FLAT_MB,
            ),
            (
                "files hold at least the length asked for (within 2%)",
                "all" if not short else ", ".join(f"{r.minutes:g} min" for r in short) + " off",
                not short,
            ),
        ]
        lines += ["| goal | measured | met |", "|---|---:|:---:|"]
        for text, measured, passed in checks:
            ok &= passed
            lines.append(f"| {text} | {measured} | {'yes' if passed else '**no**'} |")
        lines.append("")
    return "\n".join(lines), ok


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Measure the peak RSS and wall time of `loopcap record` for recordings "
        "of increasing length, using the fake source at high speed. Prints Markdown "
        "tables to stdout.",
    )
    p.add_argument(
        "--minutes",
        type=float,
        nargs="+",
        default=[10, 30, 60],
        help="lengths of audio to record, in minutes (default: 10 30 60)",
    )
    p.add_argument("--speed", type=float, default=200.0, help="fake source speed-up (default: 200)")
    p.add_argument(
        "--block-frames",
        type=int,
        default=12000,
        help="frames per block from the fake source (default: 12000, the 0.25 s blocks "
        "the PulseAudio stream hands to the capture queue)",
    )
    p.add_argument(
        "--signal",
        choices=["silence", "tone", "noise"],
        default="noise",
        help="fake signal (default: noise)",
    )
    p.add_argument(
        "--loopcap",
        default=f"{sys.executable} -m loopcap",
        help="command that runs loopcap (default: this Python's `-m loopcap`)",
    )
    p.add_argument("--keep", action="store_true", help="keep the recordings (path on stderr)")
    p.add_argument("--strict", action="store_true", help="exit with status 1 when a goal is missed")
    args = p.parse_args(argv)
    if not args.speed > 0 or any(m <= 0 for m in args.minutes):
        p.error("--speed and --minutes must be positive")
    loopcap = args.loopcap.split()

    work = Path(tempfile.mkdtemp(prefix="loopcap-bench-mem-"))
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "PIPEWIRE_", "LOOPCAP_"))
    }
    for var, sub in (
        ("HOME", "home"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_RUNTIME_DIR", "runtime"),
        ("XDG_MUSIC_DIR", "music"),
    ):
        (work / sub).mkdir(mode=0o700)
        env[var] = str(work / sub)
    env["LOOPCAP_BACKEND"] = "fake"
    env["LOOPCAP_FAKE"] = (
        f"speed={args.speed:g},signal={args.signal},block_frames={args.block_frames}"
    )
    results: list[Result] = []
    try:
        log(f"working in {work}")
        machine = machine_lines(loopcap)
        floor_mb = rss_floor_mb()
        for i, minutes in enumerate(sorted(args.minutes)):
            log(f"{minutes:g} min of audio ({minutes * 60 / args.speed:.1f} s at {args.speed:g}x)")
            out = work / f"rec{i}"
            results.append(record_one(loopcap, env, out, minutes, args.speed, args.block_frames))
            if not args.keep:
                shutil.rmtree(out, ignore_errors=True)
    finally:
        if args.keep:
            log(f"recordings kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    text, ok = report(results, args, machine, floor_mb)
    print(text)
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
