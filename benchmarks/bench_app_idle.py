"""CPU of the desktop app while it waits, and while it records.

Starts a private PulseAudio server (tests/rig.py) and runs `loopcap run` for
``--seconds`` in each setting: waiting with ``[capture] preroll_s`` 0 and 2
without a tray icon (``--no-tray``), then, on a private X display with a
system tray (tests/xrig.py: Xvfb + trayer), waiting with its icon and
recording (``loopcap toggle``) while a sound plays.  The process's CPU time
(all threads) is read from /proc after a warm-up.  Prints a Markdown table.

    .venv/bin/python benchmarks/bench_app_idle.py [--seconds 30] [--no-x] [--loopcap CMD]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import rig  # noqa: E402

WARMUP_S = 4.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percent(pid: int, seconds: float) -> float:
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    c1, t1 = cpu_seconds(pid), time.monotonic()
    return (c1 - c0) / (t1 - t0) * 100


def measure(
    loopcap: list[str],
    env: dict[str, str],
    preroll_s: float,
    seconds: float,
    tmp: Path,
    tray: bool,
    pulse=None,
) -> list[tuple[str, float]]:
    """Rows (what, % of one core): waiting, and with ``pulse`` recording as well."""
    tag = f"{preroll_s:g}-{'tray' if tray else 'no-tray'}"
    cfg = tmp / f"config-{tag}.toml"
    cfg.write_text(f'[capture]\npreroll_s = {preroll_s}\n[output]\ndir = "{tmp / "out"}"\n')
    env = dict(env)
    run_dir = tmp / f"run-{tag}"
    run_dir.mkdir(mode=0o700)
    env.update(
        XDG_RUNTIME_DIR=str(run_dir),
        XDG_STATE_HOME=str(tmp / "state"),
        XDG_CONFIG_HOME=str(tmp / "cfg"),
        HOME=str(tmp),
    )
    args = [*loopcap, "run", "--config", str(cfg)]
    if not tray:
        env.pop("DISPLAY", None)
        args.append("--no-tray")
    where = "with its tray icon" if tray else "no tray icon"
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    try:
        time.sleep(WARMUP_S)
        rows.append((f"waiting, {where}, pre-roll {preroll_s:g} s", percent(proc.pid, seconds)))
        if pulse is not None:
            sound = rig.write_wav(
                tmp / "sound.wav",
                (np.random.default_rng(1).standard_normal((int(48000 * (seconds + 6)), 2)) * 0.05),
            )
            player = pulse.play_file(sound, wait=False)
            toggle = [*loopcap, "toggle"]
            try:
                subprocess.run(toggle, env=env, capture_output=True, timeout=30)
                time.sleep(2.0)
                what = f"recording while a sound plays, {where}, pre-roll {preroll_s:g} s"
                rows.append((what, percent(proc.pid, seconds)))
                subprocess.run(toggle, env=env, capture_output=True, timeout=30)
            finally:
                player.kill()
                player.wait()
    finally:
        proc.terminate()
        proc.wait(20)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="measured time per row")
    ap.add_argument("--no-x", action="store_true", help="leave out the rows with a tray icon")
    ap.add_argument(
        "--loopcap",
        default=f"{sys.executable} -m loopcap",
        help="command that runs loopcap (default: this Python's `-m loopcap`)",
    )
    args = ap.parse_args()
    loopcap = args.loopcap.split()
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as d, rig.PulseServer() as pulse:
        tmp = Path(d)
        for p in (0.0, 2.0):
            rows += measure(loopcap, pulse.env(), p, args.seconds, tmp, tray=False)
        if not args.no_x:
            if not (shutil.which("Xvfb") and shutil.which("trayer")):
                print(
                    "Xvfb or trayer is missing: the rows with a tray icon are left out",
                    file=sys.stderr,
                )
            else:
                import xrig  # noqa: PLC0415 - needs Xvfb and trayer

                with xrig.XDisplay(tray=True) as x:
                    env = x.env(pulse.env())
                    rows += measure(loopcap, env, 2.0, args.seconds, tmp, True, pulse)
    print(f"## loopcap app: CPU ({args.seconds:g} s measured after {WARMUP_S:g} s)\n")
    print("| app | CPU, % of one core |")
    print("|---|---:|")
    for what, pct in rows:
        print(f"| {what} | {pct:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
