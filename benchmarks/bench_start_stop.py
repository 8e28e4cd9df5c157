"""Start-up time, stop latency and the loss at SIGKILL of ``loopcap record``, on both servers.

For each server of ``--server`` (``pulseaudio``, ``pipewire`` or ``both``, the
default), the test rig's private server (tests/rig.py, ``rig.server_class``)
is started with a null sink that sleeps after 1 s of silence
(``suspend_after_s=1``), and ``loopcap record --format wav --device
speakers.monitor`` is measured with the sink in two states:

* **asleep**: SUSPENDED when loopcap starts (waited for before each run);
* **awake**: held awake by a player of digital silence (``pacat`` from
  /dev/zero, the sink RUNNING), as any playing application holds it.

Per state:

* **launch**: from the exec of ``python -m loopcap record`` to its
  "Recording from" line on stderr (its arrival in this process), ``--runs``
  times (default 10): median and max;
* **stop**: in the same runs, 1 s after "Recording from", with nothing but
  silence recorded: from SIGINT to the process's exit (reaped by a thread
  blocked in ``wait``), median and max; the exit status (4: nothing found, the
  silence kept as the raw capture) and the raw file's length are checked;
* **SIGKILL**: a recording while a tone plays (started at "Recording from"),
  SIGKILLed 4 s after "Recording from", then ``loopcap recover`` on its
  folder: the seconds the recovered file holds of the seconds that ran, and
  the seconds of tone in it (blocks of 10 ms above -30 dBFS), ``--kills``
  times (default 3).

Prints Markdown tables to stdout (progress on stderr); ~1.5 min per server.

    .venv/bin/python benchmarks/bench_start_stop.py [--server both] [--runs 10] [--kills 3]
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import rig  # noqa: E402

SUSPEND_AFTER_S = 1
STOP_AFTER_S = 1.0
KILL_AFTER_S = 4.0
TONE_DBFS = -12.0
SERVER_CHOICES = {
    "pulseaudio": ("pulseaudio",),
    "pipewire": ("pipewire",),
    "both": rig.SERVER_KINDS,
}
SERVER_NAMES = {"pulseaudio": "PulseAudio", "pipewire": "PipeWire"}
STATES = ("asleep", "awake")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class Result:
    """What one server in one sink state gave."""

    launch_s: list[float] = field(default_factory=list)
    stop_s: list[float] = field(default_factory=list)
    raw_s: list[float] = field(default_factory=list)
    exits: list[int] = field(default_factory=list)
    # (seconds that ran, seconds recovered, seconds of tone in the file, tone played)
    kills: list[tuple[float, float, float, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def server_name(kind: str, version: str) -> str:
    """ "PulseAudio 16.1" or "PipeWire 0.3.65" from what ``pactl info`` says
    (pipewire-pulse calls itself "PulseAudio (on PipeWire 0.3.65) 15.0.0")."""
    found = re.search(r"on PipeWire ([\d.]+)", version) if kind == "pipewire" else None
    number = found.group(1) if found else version.rsplit(" ", 1)[-1]
    return f"{SERVER_NAMES[kind]} {number}"


def silent_player(server) -> subprocess.Popen:
    """``pacat`` playing digital silence into the sink until killed."""
    with open("/dev/zero", "rb") as zero:  # the child has its own copy
        return subprocess.Popen(
            [
                "pacat",
                "--playback",
                "-d",
                server.sink,
                "--raw",
                "--format=float32le",
                "--rate=48000",
                "--channels=2",
            ],
            env=server.env(),
            stdin=zero,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


def settle(server, state: str) -> None:
    """Wait until the sink is in the state a run starts from."""
    server.wait_sink_state("SUSPENDED" if state == "asleep" else "RUNNING", timeout=15)


def record_args(out: Path) -> list[str]:
    """``loopcap record`` of the sink's monitor into ``out``, its result as JSON."""
    device = f"{rig.SINK}.monitor"
    return ["record", "--format", "wav", "--device", device, "--out-dir", str(out), "--json"]


def launch_and_stop(server, state: str, env: dict[str, str], out: Path, result: Result) -> None:
    """One run: exec to "Recording from", then SIGINT after 1 s of silence."""
    settle(server, state)
    proc = rig.Loopcap(record_args(out), env)
    try:
        t_line = proc.wait_started(timeout=20)
        result.launch_s.append(t_line - proc.t_launch)
        time.sleep(max(0.0, t_line + STOP_AFTER_S - time.monotonic()))
        t_sig = proc.send(signal.SIGINT)
        code = proc.finish(timeout=20)
        result.stop_s.append(proc.t_exit - t_sig)
        result.exits.append(code)
        if code in (0, 4) and proc.stdout.strip():
            doc = json.loads(proc.stdout)
            raw = doc.get("raw_path") or doc.get("path")
            result.raw_s.append(sf.info(raw).duration if raw else float("nan"))
    finally:
        if proc.alive():
            proc.kill()


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * 48000)) / 48000
    mono = 10 ** (TONE_DBFS / 20) * np.sin(2 * np.pi * 440.0 * t)
    return np.stack([mono, mono], axis=1).astype(np.float32)


def tone_seconds(path: Path) -> float:
    """Seconds of the file in 10 ms blocks whose level is above -30 dBFS."""
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    block = rate // 100
    n = len(data) // block
    if n == 0:
        return 0.0
    rms = np.sqrt(np.mean(data[: n * block].reshape(n, block, -1) ** 2, axis=(1, 2)))
    return float(np.count_nonzero(rms > 10 ** (-30 / 20)) * block / rate)


def kill_and_recover(server, state: str, env: dict[str, str], out: Path, result: Result) -> None:
    """A tone recorded for 4 s, SIGKILL, ``loopcap recover``: what was kept."""
    settle(server, state)
    out.mkdir(parents=True, exist_ok=True)
    proc = rig.Loopcap(record_args(out), env)
    player = None
    try:
        t_line = proc.wait_started(timeout=20)
        player = server.play_array(tone(KILL_AFTER_S + 3), wait=False)
        t_play = time.monotonic()
        time.sleep(max(0.0, t_line + KILL_AFTER_S - time.monotonic()))
        t_kill, _ = proc.kill()
    finally:
        if proc.alive():
            proc.kill()
        if player is not None:
            player.kill()
            player.wait()
    done = rig.run_loopcap(["recover", "--json", str(out)], env=env, timeout=60)
    kept = json.loads(done.stdout or "[]") if done.returncode == 0 else []
    if not kept:
        result.notes.append(f"recover gave nothing (exit {done.returncode}: {done.stderr[-200:]})")
        result.kills.append((t_kill - t_line, 0.0, 0.0, t_kill - t_play))
        return
    path = Path(kept[0]["path"])
    result.kills.append(
        (t_kill - t_line, sf.info(str(path)).duration, tone_seconds(path), t_kill - t_play)
    )


def run_server(kind: str, runs: int, kills: int, tmp: Path) -> tuple[str, dict[str, Result]]:
    results: dict[str, Result] = {}
    with rig.server_class(kind)(suspend_after_s=SUSPEND_AFTER_S) as server:
        name = server_name(kind, server.version)
        env = rig.child_env(server.env(), tmp / kind)
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        for state in STATES:
            result = results[state] = Result()
            player = silent_player(server) if state == "awake" else None
            try:
                for i in range(runs):
                    log(f"[{kind}] sink {state}: launch and stop {i + 1}/{runs}")
                    launch_and_stop(server, state, env, tmp / kind / f"{state}-{i}", result)
                for i in range(kills):
                    log(f"[{kind}] sink {state}: SIGKILL {i + 1}/{kills}")
                    kill_and_recover(server, state, env, tmp / kind / f"kill-{state}-{i}", result)
            finally:
                if player is not None:
                    player.kill()
                    player.wait()
    return name, results


def med_max(values: list[float], digits: int = 2) -> str:
    if not values:
        return "–"
    return f"{statistics.median(values):.{digits}f} / {max(values):.{digits}f}"


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--server",
        choices=sorted(SERVER_CHOICES),
        default="both",
        help="the private sound server(s) to run on (default: both)",
    )
    ap.add_argument("--runs", type=int, default=10, help="launch/stop runs per sink state")
    ap.add_argument("--kills", type=int, default=3, help="SIGKILL runs per sink state")
    args = ap.parse_args()
    load_start = load_average()
    all_results: dict[str, tuple[str, dict[str, Result]]] = {}
    with tempfile.TemporaryDirectory() as d:
        for kind in SERVER_CHOICES[args.server]:
            all_results[kind] = run_server(kind, args.runs, args.kills, Path(d))
    names = [name for name, _ in all_results.values()]
    cols = [(name, state) for name in names for state in STATES]
    print("## loopcap record: start, stop and SIGKILL\n")
    print(f"Load average (1, 5, 15 min): {load_start} at the start, {load_average()} at the end.\n")
    head = "| | " + " | ".join(f"{n}, sink {s}" for n, s in cols) + " |"
    rule = "|---|" + "---:|" * len(cols)
    rows: dict[str, list[str]] = {
        f'launch to "Recording from", s (median / max of {args.runs})': [],
        f"stop: SIGINT to exit in silence, s (median / max of {args.runs})": [],
        "exit statuses of the stops": [],
        f"raw file of the stopped runs, s (median; SIGINT {STOP_AFTER_S:g} s after the line)": [],
        f'SIGKILL {KILL_AFTER_S:g} s after "Recording from": s kept / s that ran (each run)': [],
        "tone in the recovered file, s / s the tone played before the kill": [],
    }
    keys = list(rows)
    for _, results in all_results.values():
        for state in STATES:
            r = results[state]
            rows[keys[0]].append(med_max(r.launch_s))
            rows[keys[1]].append(med_max(r.stop_s, 3))
            rows[keys[2]].append(", ".join(f"{c}x{r.exits.count(c)}" for c in sorted(set(r.exits))))
            rows[keys[3]].append(f"{statistics.median(r.raw_s):.2f}" if r.raw_s else "–")
            rows[keys[4]].append("; ".join(f"{k:.2f} / {ran:.2f}" for ran, k, _, _ in r.kills))
            rows[keys[5]].append("; ".join(f"{t:.2f} / {p:.2f}" for _, _, t, p in r.kills))
    print(head)
    print(rule)
    for key, values in rows.items():
        print(f"| {key} | " + " | ".join(values) + " |")
    notes = [
        f"{name}, sink {state}: {note}"
        for name, results in all_results.values()
        for state, r in results.items()
        for note in r.notes
    ]
    if notes:
        print("\n" + "\n".join(f"- {n}" for n in notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
