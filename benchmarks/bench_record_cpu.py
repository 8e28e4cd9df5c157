#!/usr/bin/env python3
"""CPU cost of ``loopcap record`` against ``parec``, on private PulseAudio and PipeWire servers.

For each server of ``--server`` (``pulseaudio``, ``pipewire`` or ``both``, the
default), the test rig's private server (tests/rig.py, ``rig.server_class``)
is started in a temporary directory with one null sink, ``speakers``, kept
awake (the user's own sound server is never touched).  A sound of
``--seconds`` (48 kHz stereo noise and tones) is played into the sink, and its
monitor is recorded, one run after the other, by:

  (a) ``loopcap record --format wav`` while the sound plays,
  (b) ``parec -d speakers.monitor --file-format=wav ... float32le`` at its
      default (2 s) fragments while the same sound plays,
  (d) parec asking for the small fragments loopcap asks for
      (``--parec-latency-msec``, default 10: ``--latency-msec=10``), the
      matched comparison,
  (c) ``loopcap record --format wav`` while nothing plays (idle).

Each recorder's CPU time (user + system, all threads) and peak RSS come from
``os.wait4`` on the child.  "steady" figures leave out start-up: they count
only from the moment the recorder was ready (loopcap's "Recording from" line,
which it prints at once, parec's stream appearing on the server) to its exit.
The server's own CPU time during each run is reported too (PipeWire: pipewire,
wireplumber and pipewire-pulse together), since small fragments cost the server
work as well.

Prints Markdown to stdout: the servers side by side, then each server's
detailed table (progress goes to stderr).  Takes ~4.5 minutes per server with
the default 60 s.  Needs pactl, paplay and parec, and pulseaudio or pipewire,
wireplumber and pipewire-pulse, on PATH.

Usage::

    python benchmarks/bench_record_cpu.py [--server both] [--seconds 60] [--parec-latency-msec 10]
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
SAMPLERATE = 48000
CHANNELS = 2
SINK = "speakers"
MONITOR = f"{SINK}.monitor"
CLK_TCK = os.sysconf("SC_CLK_TCK")
READY_TIMEOUT_S = 20.0

# Goals stated for loopcap's recording path.
GOAL_RATIO_TO_PAREC = 3.0
GOAL_PERCENT_OF_CORE = 2.0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- server

sys.path.insert(0, str(REPO / "tests"))
import rig  # noqa: E402  (tests/ on the path first: the test rig's private servers)

sys.path.pop(0)

#: What ``--server`` takes, and the order of the tables' columns.
SERVER_CHOICES = {
    "pulseaudio": ("pulseaudio",),
    "pipewire": ("pipewire",),
    "both": rig.SERVER_KINDS,
}
SERVER_NAMES = {"pulseaudio": "PulseAudio", "pipewire": "PipeWire"}


def server_name(kind: str, version: str) -> str:
    """ "PulseAudio 16.1" or "PipeWire 0.3.65" from what ``pactl info`` says
    (pipewire-pulse calls itself "PulseAudio (on PipeWire 0.3.65) 15.0.0")."""
    found = re.search(r"on PipeWire ([\d.]+)", version) if kind == "pipewire" else None
    number = found.group(1) if found else version.rsplit(" ", 1)[-1]
    return f"{SERVER_NAMES[kind]} {number}"


def start_server(kind: str):
    """A started private server of ``kind`` from the test rig, its null sink
    awake for the whole run: PulseAudio's rig loads no suspend-on-idle by
    default, and ``suspend_after_s=0`` tells WirePlumber never to suspend it
    (its own rule would put it to sleep after 5 s of silence, in the idle run)."""
    suspend = 0 if kind == "pipewire" else None
    server = rig.server_class(kind)(sink=SINK, samplerate=SAMPLERATE, suspend_after_s=suspend)
    return server.start()


def server_pids(server) -> list[int]:
    """The pids of the server's processes: PulseAudio's one, or PipeWire's three
    (pipewire, wireplumber, pipewire-pulse)."""
    procs = getattr(server, "procs", None)
    if procs:
        return [p.pid for p in procs.values()]
    return [server.proc.pid]


def server_cpu_s(server) -> float:
    """CPU seconds (user + system) the server's processes have used so far."""
    total = 0.0
    for pid in server_pids(server):
        cpu = proc_cpu_s(pid)
        if cpu is None:
            return float("nan")
        total += cpu
    return total


# ---------------------------------------------------------------------------- helpers


def proc_cpu_s(pid: int) -> float | None:
    """utime + stime of a live process (all its threads), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the ")" field 3 (state) is index 0, so utime (14) / stime (15) are 11 / 12.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def make_sound(path: Path, seconds: float) -> None:
    """48 kHz stereo test sound of ``seconds``: 0.5 s of silence, then two tones
    over noise at -26 dBFS, then 0.5 s of silence (a note, for loopcap's trimmer)."""
    rng = np.random.default_rng(7)
    n = int(seconds * SAMPLERATE)
    t = np.arange(n) / SAMPLERATE
    noise = rng.standard_normal((n, CHANNELS)) * 10 ** (-26 / 20)
    tones = np.stack(
        [0.2 * np.sin(2 * np.pi * 440.0 * t), 0.2 * np.sin(2 * np.pi * 660.0 * t)], axis=1
    )
    data = (noise + tones).astype(np.float32)
    edge = min(n // 4, SAMPLERATE // 2)
    data[:edge] = 0
    data[n - edge :] = 0
    sf.write(path, data, SAMPLERATE, subtype="FLOAT")


@dataclass
class Run:
    name: str
    audio_s: float = 0.0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    user_s: float = 0.0
    sys_s: float = 0.0
    steady_cpu_s: float = 0.0
    steady_wall_s: float = 0.0
    maxrss_mb: float = 0.0
    server_cpu_s: float = 0.0
    peak_dbfs: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def percent(self) -> float:
        return 100 * self.cpu_s / self.wall_s if self.wall_s else float("nan")

    @property
    def steady_percent(self) -> float:
        return 100 * self.steady_cpu_s / self.steady_wall_s if self.steady_wall_s else float("nan")


# The recorder is started through this small launcher rather than directly: a
# child forked from this (large, numpy-laden) process starts with this
# process's resident size as its ru_maxrss, and keeps it across exec, so its
# peak RSS would read as ours.  The launcher is a bare Python (~7 MB) that
# forks the recorder, reaps it with os.wait4 and reports the rusage on a pipe.
LAUNCHER = r"""
import json, os, sys
fd = int(sys.argv[1])
pid = os.fork()
if pid == 0:
    os.close(fd)
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
os.write(fd, ("%d\n" % pid).encode())
_, status, ru = os.wait4(pid, 0)
os.write(fd, (json.dumps({"status": status, "utime": ru.ru_utime, "stime": ru.ru_stime,
                          "maxrss_kib": ru.ru_maxrss}) + "\n").encode())
"""


@dataclass
class Usage:
    exit_code: int
    user_s: float
    sys_s: float
    maxrss_kib: int
    t_end: float


class Child:
    """A recorder process (run through LAUNCHER) whose stderr/stdout are
    collected and whose rusage comes from os.wait4 when it ends."""

    def __init__(self, cmd: list[str], env: dict[str, str], ready_pattern: str | None) -> None:
        self.ready = threading.Event()
        self.t_ready: float | None = None
        self.cpu_at_ready: float | None = None
        self.stderr_lines: list[str] = []
        self.stdout = ""
        self.usage: Usage | None = None
        self._pattern = ready_pattern
        self._ended = threading.Event()
        r, w = os.pipe()
        self.t_launch = time.monotonic()
        self.launcher = subprocess.Popen(
            [sys.executable, "-S", "-c", LAUNCHER, str(w), *cmd],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            pass_fds=(w,),
        )
        os.close(w)
        self._status = os.fdopen(r, "r")
        self.pid = int(self._status.readline())
        self._threads = [
            threading.Thread(target=self._read_err, daemon=True),
            threading.Thread(target=self._read_out, daemon=True),
            threading.Thread(target=self._read_status, daemon=True),
        ]
        for th in self._threads:
            th.start()

    def _read_err(self) -> None:
        for line in self.launcher.stderr:
            self.stderr_lines.append(line.rstrip("\n"))
            if self._pattern and not self.ready.is_set() and self._pattern in line:
                self.mark_ready()

    def _read_out(self) -> None:
        self.stdout = self.launcher.stdout.read()

    def _read_status(self) -> None:
        line = self._status.readline()
        t_end = time.monotonic()
        if line:
            u = json.loads(line)
            self.usage = Usage(
                os.waitstatus_to_exitcode(u["status"]),
                u["utime"],
                u["stime"],
                u["maxrss_kib"],
                t_end,
            )
        self._ended.set()

    def mark_ready(self) -> None:
        self.cpu_at_ready = proc_cpu_s(self.pid)
        self.t_ready = time.monotonic()
        self.ready.set()

    def signal(self, sig: int) -> None:
        if not self._ended.is_set():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float) -> Usage:
        """Wait for the recorder to end (killing it after ``timeout``); its rusage."""
        if not self._ended.wait(timeout):
            self.signal(signal.SIGKILL)
            self._ended.wait(10)
        self.launcher.wait(timeout=10)
        for th in self._threads:
            th.join(timeout=5)
        if self.usage is None:
            raise RuntimeError(f"the launcher failed: {self.stderr_lines[-5:]}")
        return self.usage

    def kill(self) -> None:
        self.signal(signal.SIGKILL)


def rss_floor_mb() -> float:
    """Peak RSS the launcher method reports for a process that does nothing."""
    child = Child(["true"], dict(os.environ), None)
    return child.wait(10).maxrss_kib / 1024


def finish_run(run: Run, child: Child, timeout: float, server, srv0: float, ok=(0,)) -> int:
    usage = child.wait(timeout)
    code, t_end = usage.exit_code, usage.t_end
    run.user_s, run.sys_s = usage.user_s, usage.sys_s
    run.cpu_s = usage.user_s + usage.sys_s
    run.wall_s = t_end - child.t_launch
    run.maxrss_mb = usage.maxrss_kib / 1024  # ru_maxrss is in KiB on Linux
    if child.t_ready is not None and child.cpu_at_ready is not None:
        run.steady_cpu_s = run.cpu_s - child.cpu_at_ready
        run.steady_wall_s = t_end - child.t_ready
    run.server_cpu_s = server_cpu_s(server) - srv0
    if code not in ok:
        run.notes.append(f"exit status {code}")
        log("\n".join(child.stderr_lines[-15:]))
    return code


# ---------------------------------------------------------------------------- runs


def loopcap_env(base: dict[str, str], home: Path) -> dict[str, str]:
    env = dict(base)
    env.pop("LOOPCAP_BACKEND", None)
    env.pop("LOOPCAP_FAKE", None)
    for var, sub in (
        ("HOME", "home"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_MUSIC_DIR", "music"),
    ):
        path = home / sub
        path.mkdir(parents=True, exist_ok=True)
        env[var] = str(path)
    return env


def run_loopcap(
    name: str,
    loopcap: list[str],
    env: dict[str, str],
    out_dir: Path,
    seconds: float,
    sound: Path | None,
    server,
) -> Run:
    run = Run(name)
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        *loopcap,
        "record",
        "--format",
        "wav",
        "--device",
        MONITOR,
        "--out-dir",
        str(out_dir),
        "--duration",
        f"{seconds:g}",
        "--json",
    ]
    srv0 = server_cpu_s(server)
    child = Child(cmd, env, ready_pattern="Recording from")
    player = None
    try:
        if not child.ready.wait(READY_TIMEOUT_S):
            run.notes.append("never logged 'Recording from'")
        elif sound is not None:
            player = subprocess.Popen(
                ["paplay", "-d", SINK, str(sound)], env=server.env(), stderr=subprocess.PIPE
            )
        code = finish_run(run, child, seconds + 60, server, srv0, ok=(0, 4))
    finally:
        child.kill()
        if player is not None:
            player.wait(timeout=seconds + 30)
    # Exit status 4 means "no sound found": only the raw capture was kept.
    if code in (0, 4) and child.stdout.strip():
        result = json.loads(child.stdout.strip().splitlines()[-1])
        run.notes = [n for n in run.notes if not n.startswith("exit status")]
        if code == 4:
            run.notes.append("no note found, raw capture only")
        path = Path(result.get("raw_path") or result["path"])
        run.audio_s = sf.info(str(path)).frames / SAMPLERATE
        run.peak_dbfs = result["peak_dbfs"]
        if abs(run.audio_s - result["duration_s"]) > 0.01:
            run.notes.append(f"file has {run.audio_s:.2f} s, JSON says {result['duration_s']}")
    return run


def wait_for_source_output(server, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(
            ["pactl", "list", "short", "source-outputs"],
            env=server.env(),
            capture_output=True,
            text=True,
        ).stdout
        if out.strip():
            return True
        time.sleep(0.02)
    return False


def run_parec(
    name: str, out: Path, seconds: float, sound: Path, server, latency_msec: int | None
) -> Run:
    run = Run(name)
    cmd = [
        "parec",
        "-d",
        MONITOR,
        "--file-format=wav",
        "--rate",
        "48000",
        "--channels",
        "2",
        "--format",
        "float32le",
    ]
    if latency_msec:
        cmd.append(f"--latency-msec={latency_msec}")
    cmd.append(str(out))
    srv0 = server_cpu_s(server)
    child = Child(cmd, server.env(), ready_pattern=None)
    player = None
    try:
        if wait_for_source_output(server, READY_TIMEOUT_S):
            child.mark_ready()
        else:
            run.notes.append("stream never appeared on the server")
        player = subprocess.Popen(
            ["paplay", "-d", SINK, str(sound)], env=server.env(), stderr=subprocess.PIPE
        )
        player.wait(timeout=seconds + 30)
        # parec gets the monitor in fragments (2 s by default): wait until the whole
        # sound has reached the file before stopping it, so it records all of it.
        want = int(seconds * SAMPLERATE) * CHANNELS * 4
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (out.stat().st_size if out.exists() else 0) < want:
            time.sleep(0.05)
        child.signal(signal.SIGINT)  # parec closes the WAV properly on SIGINT
        code = finish_run(run, child, 30, server, srv0, ok=(0, -signal.SIGINT))
    finally:
        child.kill()
        if player is not None and player.poll() is None:
            player.kill()
            player.wait()
    if code in (0, -signal.SIGINT) and out.exists():
        info = sf.info(str(out))
        run.audio_s = info.frames / info.samplerate
        data, _ = sf.read(str(out), dtype="float32")
        peak = float(np.max(np.abs(data))) if len(data) else 0.0
        run.peak_dbfs = round(20 * np.log10(peak), 2) if peak > 0 else None
    return run


# ---------------------------------------------------------------------------- report


def tool_version(cmd: list[str]) -> str:
    """First line a program prints for its version, or "unavailable"."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unavailable"


def loopcap_source() -> str:
    """Where this Python imports loopcap from, and its git commit if it is a checkout."""
    try:
        where = subprocess.run(
            [sys.executable, "-c", "import loopcap, os; print(os.path.dirname(loopcap.__file__))"],
            capture_output=True,
            text=True,
            timeout=20,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not where:
        return "not importable by this Python"

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", "-C", where, *args], capture_output=True, text=True, timeout=20
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return f"`{where}` (not a git checkout)"
    dirty = git("status", "--porcelain", "--", ".")
    return f"`{where}` at commit {commit}" + (" with uncommitted changes" if dirty else "")


def machine_lines(loopcap: list[str]) -> list[str]:
    """Markdown bullet lines: CPU, kernel, Python and library versions."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def pkg(name: str) -> str:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return "not installed"

    return [
        f"- CPU: {model}; `nproc` = {len(os.sched_getaffinity(0))}",
        f"- loopcap code: {loopcap_source()}",
        f"- Kernel: {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; {tool_version([*loopcap, '--version'])}; "
        f"numpy {pkg('numpy')}; soundfile {pkg('soundfile')} "
        f"(libsndfile {sf.__libsndfile_version__}); SoundCard {pkg('SoundCard')}",
    ]


def fmt(x: float | None, digits: int = 2) -> str:
    if x is None or x != x:
        return "–"
    return f"{x:.{digits}f}"


def _ratio(a: float, b: float | None) -> float:
    return a / b if b else float("nan")


def report(runs: list[Run], heading: str, floor_mb: float) -> tuple[str, bool]:
    """The detailed table of one server's runs and its goals; (Markdown, goals met)."""
    parec = next((r for r in runs if r.name == "parec, sound playing"), None)
    matched = next((r for r in runs if r.name.startswith("parec --latency")), None)
    lines = [
        heading,
        "",
        "| run | audio s | wall s | CPU s (user+sys) | % of one core | ratio to parec "
        "| steady CPU s | steady % of one core | steady ratio to parec | peak RSS MB "
        "| server CPU s | peak dBFS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        ratio = _ratio(r.cpu_s, parec.cpu_s if parec else None)
        sratio = _ratio(r.steady_cpu_s, parec.steady_cpu_s if parec else None)
        note = f" ({'; '.join(r.notes)})" if r.notes else ""
        lines.append(
            f"| {r.name}{note} | {fmt(r.audio_s, 1)} | {fmt(r.wall_s, 1)} "
            f"| {fmt(r.cpu_s)} ({fmt(r.user_s)}+{fmt(r.sys_s)}) | {fmt(r.percent)} "
            f"| {fmt(ratio, 1)} | {fmt(r.steady_cpu_s)} | {fmt(r.steady_percent)} "
            f"| {fmt(sratio, 1)} | {fmt(r.maxrss_mb, 1)} | {fmt(r.server_cpu_s)} "
            f"| {fmt(r.peak_dbfs, 1) if r.peak_dbfs is not None else 'silence'} |"
        )
    lines += [
        "",
        "CPU s: user + system time of the recorder process (all threads), from `os.wait4`. "
        "% of one core: CPU s / wall s. steady: from the moment the recorder was ready "
        "to its exit (start-up left out). server CPU s: what the server's processes "
        "spent during the run (its playback work included). peak RSS: `ru_maxrss` "
        f"from `os.wait4`; the method reads {floor_mb:.1f} MB for `true`, so smaller "
        "values cannot be told apart.",
        "",
    ]
    ok = True
    lc = next((r for r in runs if r.name == "loopcap, sound playing"), None)
    checks = []
    if lc and matched:
        checks += [
            (
                f"loopcap CPU at most {GOAL_RATIO_TO_PAREC:g}x parec's at the same latency "
                "(whole process)",
                lc.cpu_s <= GOAL_RATIO_TO_PAREC * matched.cpu_s,
                f"{_ratio(lc.cpu_s, matched.cpu_s):.1f}x",
            ),
            (
                f"loopcap CPU at most {GOAL_RATIO_TO_PAREC:g}x parec's at the same latency "
                "(steady)",
                lc.steady_cpu_s <= GOAL_RATIO_TO_PAREC * matched.steady_cpu_s,
                f"{_ratio(lc.steady_cpu_s, matched.steady_cpu_s):.1f}x",
            ),
        ]
    if lc:
        checks += [
            (
                f"loopcap under {GOAL_PERCENT_OF_CORE:g}% of one core (whole process)",
                lc.percent < GOAL_PERCENT_OF_CORE,
                f"{lc.percent:.2f}%",
            ),
            (
                f"loopcap under {GOAL_PERCENT_OF_CORE:g}% of one core (steady)",
                lc.steady_percent < GOAL_PERCENT_OF_CORE,
                f"{lc.steady_percent:.2f}%",
            ),
        ]
    if checks:
        lines += ["| goal | measured | met |", "|---|---:|:---:|"]
        for text, passed, measured in checks:
            ok &= passed
            lines.append(f"| {text} | {measured} | {'yes' if passed else '**no**'} |")
        lines.append("")
    return "\n".join(lines), ok


def side_by_side(results: dict[str, tuple[str, list[Run]]], seconds: float) -> str:
    """One table, the servers' columns side by side: per run, the recorder's
    CPU (whole run and steady, % of one core), its ratio to parec at the same
    latency, and the server's CPU seconds."""
    kinds = list(results)
    head = "| run |"
    rule = "|---|"
    for kind in kinds:
        name = results[kind][0]
        head += f" {name}: CPU s | % of a core | steady % | x parec same latency | server CPU s |"
        rule += "---:|---:|---:|---:|---:|"
    names: list[str] = []
    for _, runs in results.values():
        names += [r.name for r in runs if r.name not in names]
    lines = [
        f"## Both servers side by side ({seconds:g} s each)",
        "",
        head,
        rule,
    ]
    for name in names:
        row = f"| {name} |"
        for kind in kinds:
            runs = results[kind][1]
            r = next((x for x in runs if x.name == name), None)
            matched = next((x for x in runs if x.name.startswith("parec --latency")), None)
            if r is None:
                row += " – | – | – | – | – |"
                continue
            note = " (" + "; ".join(r.notes) + ")" if r.notes else ""
            row += (
                f" {fmt(r.cpu_s)}{note} | {fmt(r.percent)} | {fmt(r.steady_percent)} "
                f"| {fmt(_ratio(r.cpu_s, matched.cpu_s if matched else None), 1)} "
                f"| {fmt(r.server_cpu_s)} |"
            )
        lines.append(row)
    lines.append("")
    return "\n".join(lines)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as /proc/loadavg gives them."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def run_server(kind: str, args, loopcap: list[str], work: Path, sound: Path):
    """Every run of one server: (the server's name and version, the runs)."""
    server = start_server(kind)
    runs: list[Run] = []
    try:
        name = server_name(kind, server.version)
        env = loopcap_env(server.env(), work / "home")
        log(f"[{kind}] (a) loopcap while the sound plays ({args.seconds:g} s)")
        runs.append(
            run_loopcap(
                "loopcap, sound playing", loopcap, env, work / "a", args.seconds, sound, server
            )
        )
        if not args.skip_parec_default:
            log(f"[{kind}] (b) parec while the sound plays ({args.seconds:g} s)")
            runs.append(
                run_parec("parec, sound playing", work / "b.wav", args.seconds, sound, server, None)
            )
        if args.parec_latency_msec:
            ms = args.parec_latency_msec
            log(f"[{kind}] (d) parec --latency-msec={ms} while the sound plays")
            runs.append(
                run_parec(
                    f"parec --latency-msec={ms}, sound playing",
                    work / "d.wav",
                    args.seconds,
                    sound,
                    server,
                    ms,
                )
            )
        if not args.skip_idle:
            log(f"[{kind}] (c) loopcap while nothing plays ({args.seconds:g} s)")
            runs.append(
                run_loopcap("loopcap, idle", loopcap, env, work / "c", args.seconds, None, server)
            )
    finally:
        server.stop()
    return name, runs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Measure the CPU time of `loopcap record` against parec on private "
        "PulseAudio and PipeWire servers (null sink), while a sound plays and while idle. "
        "Prints Markdown tables to stdout.",
    )
    p.add_argument(
        "--seconds", type=float, default=60.0, help="length of each recording (default: 60)"
    )
    p.add_argument(
        "--server",
        choices=sorted(SERVER_CHOICES),
        default="both",
        help="the private sound server(s) to run on (default: both)",
    )
    p.add_argument(
        "--loopcap",
        default=f"{sys.executable} -m loopcap",
        help="command that runs loopcap (default: this Python's `-m loopcap`)",
    )
    p.add_argument(
        "--parec-latency-msec",
        type=int,
        default=10,
        metavar="MS",
        help="also run parec with --latency-msec=MS, loopcap's fragments "
        "(default: 10; 0 leaves it out)",
    )
    p.add_argument(
        "--skip-parec-default",
        action="store_true",
        help="leave out parec at its default (2 s) fragments",
    )
    p.add_argument("--skip-idle", action="store_true", help="leave out the idle loopcap run")
    p.add_argument("--keep", action="store_true", help="keep the recordings (path on stderr)")
    p.add_argument("--strict", action="store_true", help="exit with status 1 when a goal is missed")
    args = p.parse_args(argv)
    if not args.seconds > 0:
        p.error("--seconds must be positive")
    kinds = SERVER_CHOICES[args.server]
    tools = ["pactl", "paplay", "parec"]
    tools += ["pulseaudio"] if "pulseaudio" in kinds else []
    tools += ["pipewire", "wireplumber", "pipewire-pulse"] if "pipewire" in kinds else []
    for tool in tools:
        if shutil.which(tool) is None:
            p.error(
                f"{tool} is not installed (Debian: pulseaudio, pulseaudio-utils, pipewire, "
                "pipewire-pulse, wireplumber)"
            )
    loopcap = args.loopcap.split()

    work = Path(tempfile.mkdtemp(prefix="loopcap-bench-cpu-"))
    results: dict[str, tuple[str, list[Run]]] = {}
    load_start = load_average()
    try:
        log(f"working in {work}")
        sound = work / "sound.wav"
        make_sound(sound, args.seconds)
        machine = [
            *machine_lines(loopcap),
            f"- parec: {tool_version(['parec', '--version'])}",
            f"- Sound servers: private (the test rig's), null sink `{SINK}` at 48 kHz, "
            "never suspended",
        ]
        floor_mb = rss_floor_mb()
        for kind in kinds:
            results[kind] = run_server(kind, args, loopcap, work / kind, sound)
    finally:
        if args.keep:
            log(f"recordings kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    ok = True
    print(f"# loopcap record vs parec: CPU ({args.seconds:g} s of 48 kHz stereo)\n")
    print("\n".join(machine))
    print(f"- Load average (1, 5, 15 min): {load_start} at the start, {load_average()} at the end")
    print()
    if len(results) > 1:
        print(side_by_side(results, args.seconds))
    for name, runs in results.values():
        text, passed = report(runs, f"## {name}", floor_mb)
        ok &= passed
        print(text)
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
