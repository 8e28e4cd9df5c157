"""CPU of the desktop app while it waits (idle), with and without pre-roll.

Starts a private PulseAudio server (tests/rig.py), runs `loopcap run --no-tray`
for ``--seconds`` with ``[capture] preroll_s`` set to 0 and to 2, and reads the
process's CPU time from /proc after a warm-up.  Prints a Markdown table.

    .venv/bin/python benchmarks/bench_app_idle.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import rig  # noqa: E402

WARMUP_S = 4.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(pulse: rig.PulseServer, preroll_s: float, seconds: float, tmp: Path) -> float:
    cfg = tmp / f"config-{preroll_s:g}.toml"
    cfg.write_text(f'[capture]\npreroll_s = {preroll_s}\n[output]\ndir = "{tmp / "out"}"\n')
    env = pulse.env()
    run_dir = tmp / f"run-{preroll_s:g}"
    run_dir.mkdir(mode=0o700)
    env.update(
        XDG_RUNTIME_DIR=str(run_dir),
        XDG_STATE_HOME=str(tmp / "state"),
        XDG_CONFIG_HOME=str(tmp / "cfg"),
        HOME=str(tmp),
    )
    env.pop("DISPLAY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "loopcap", "run", "--no-tray", "--config", str(cfg)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(WARMUP_S)
        c0, t0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu_seconds(proc.pid), time.monotonic()
    finally:
        proc.terminate()
        proc.wait(10)
    return (c1 - c0) / (t1 - t0) * 100


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="measured time per run")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d, rig.PulseServer() as pulse:
        rows = [(p, measure(pulse, p, args.seconds, Path(d))) for p in (0.0, 2.0)]
    print(f"## loopcap app waiting idle ({args.seconds:g} s measured after {WARMUP_S:g} s)\n")
    print("| pre-roll | CPU, % of one core |")
    print("|---:|---:|")
    for p, pct in rows:
        print(f"| {p:g} s | {pct:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
