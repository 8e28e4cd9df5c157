"""The desktop app while it waits with the pre-roll on: CPU, wake-ups, and whether the sink sleeps.

For each server of ``--server`` (``pulseaudio``, ``pipewire`` or ``both``, the
default), the test rig's private server (tests/rig.py, ``rig.server_class``) is
started twice: once with a null sink that sleeps after 1 s of silence
(``suspend_after_s=1``: PulseAudio's module-suspend-on-idle, WirePlumber's
suspend timeout) and once with one that never sleeps.  On each, with nothing
playing:

* **no client**: the server alone, for ``--seconds`` (what the server costs
  when nobody records);
* **app waiting**: ``loopcap run --no-tray`` with ``[capture] preroll_s = 2``,
  measured for ``--seconds`` after a warm-up of 4 s (its stream is open by
  then, and a sink that may sleep has had 3 s to do so).

Per row: the app's CPU (% of one core: all its threads' run time from
``/proc/PID/task/*/schedstat``, nanoseconds, so finer than /proc's 10 ms
ticks), its wake-ups per second (the threads' voluntary + involuntary context
switches from ``/proc/PID/task/*/status`` over the window: each is one time a
thread went off the CPU, so one per wake-up), the server's CPU (PulseAudio's
process; PipeWire's pipewire, wireplumber and pipewire-pulse together), and
the sink's states seen, polled once a second with ``pactl``.  The goal: below
0.2% of a core and a few wake-ups a second while nothing plays.

With ``--tray`` it adds, on a private X display with a system tray
(tests/xrig.py: Xvfb + trayer) and a sink that never sleeps, the app waiting
with its icon and recording (``loopcap toggle``) while a sound plays.

Prints Markdown to stdout (progress on stderr); ~2.5 min per server.

    .venv/bin/python benchmarks/bench_app_idle.py [--server both] [--seconds 30] [--tray]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import rig  # noqa: E402

WARMUP_S = 4.0
PREROLL_S = 2.0
SUSPEND_AFTER_S = 1
GOAL_PERCENT = 0.2
SERVER_CHOICES = {
    "pulseaudio": ("pulseaudio",),
    "pipewire": ("pipewire",),
    "both": rig.SERVER_KINDS,
}
SERVER_NAMES = {"pulseaudio": "PulseAudio", "pipewire": "PipeWire"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- /proc


def _tasks(pid: int) -> list[Path]:
    try:
        return list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []


def run_ns(pid: int) -> int:
    """Nanoseconds on the CPU of all the process's live threads (schedstat's
    first field; a thread that ended in between is lost, which only lowers
    the figure for its last moments)."""
    total = 0
    for task in _tasks(pid):
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def switches(pid: int) -> int:
    """Voluntary + involuntary context switches of all the process's live threads."""
    total = 0
    for task in _tasks(pid):
        try:
            text = (task / "status").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                total += int(line.split()[1])
    return total


def server_pids(server) -> list[int]:
    """The pids of the server's processes: PulseAudio's one, or PipeWire's three."""
    procs = getattr(server, "procs", None)
    if procs:
        return [p.pid for p in procs.values()]
    return [server.proc.pid]


@dataclass
class Window:
    """What one measured window saw."""

    app_percent: float | None = None
    app_wakeups_s: float | None = None
    server_percent: float = 0.0
    states: list[str] = field(default_factory=list)

    @property
    def states_text(self) -> str:
        """The sink's states in the order seen, with the share of polls in each."""
        if not self.states:
            return "–"
        order = list(dict.fromkeys(self.states))
        return ", ".join(f"{s} {100 * self.states.count(s) / len(self.states):.0f}%" for s in order)


def measure_window(server, app_pid: int | None, seconds: float) -> Window:
    """CPU and wake-ups of ``app_pid`` (None: no app) and the server's CPU over
    ``seconds``, the sink's state polled once a second meanwhile."""
    win = Window()
    spids = server_pids(server)
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            try:
                win.states.append(server.sink_state())
            except Exception as exc:  # a failed poll is reported, not fatal
                win.states.append(f"error {exc}")
            stop.wait(1.0)

    s0 = sum(run_ns(p) for p in spids)
    a0 = (run_ns(app_pid), switches(app_pid)) if app_pid else None
    t0 = time.monotonic()
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    time.sleep(seconds)
    t1 = time.monotonic()
    s1 = sum(run_ns(p) for p in spids)
    if app_pid and a0:
        a1 = (run_ns(app_pid), switches(app_pid))
        win.app_percent = (a1[0] - a0[0]) / 1e9 / (t1 - t0) * 100
        win.app_wakeups_s = (a1[1] - a0[1]) / (t1 - t0)
    stop.set()
    poller.join(5)
    win.server_percent = (s1 - s0) / 1e9 / (t1 - t0) * 100
    return win


# ---------------------------------------------------------------------------- the app


def start_app(loopcap: list[str], env: dict[str, str], tmp: Path, tag: str, tray: bool):
    """``loopcap run`` with pre-roll on, its folders in ``tmp``; the Popen."""
    folder = tmp / tag
    cfg, _ = rig.write_config(folder, preroll_s=PREROLL_S)
    env = rig.child_env(env, folder)
    run_dir = folder / "run"
    run_dir.mkdir(mode=0o700)
    env["XDG_RUNTIME_DIR"] = str(run_dir)
    # The user's session bus is not the app's here: no portal, tray or
    # notification of theirs.
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    args = [*loopcap, "run", "--config", str(cfg)]
    if not tray:
        env.pop("DISPLAY", None)
        args.append("--no-tray")
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, env


def stop_app(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def silent_player(server) -> subprocess.Popen:
    """A stream that plays digital silence into the sink for as long as it runs
    (``pacat`` from /dev/zero, at its default latency): what holds a sink awake
    that would otherwise sleep, as any playing application does."""
    with open("/dev/zero", "rb") as zero:  # the child has its own copy
        return subprocess.Popen(
            [
                "pacat",
                "--playback",
                "-d",
                server.sink,
                "--format=float32le",
                "--rate=48000",
                "--channels=2",
                "--raw",
            ],
            env=server.env(),
            stdin=zero,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


#: The sink settings of the rows: (label, suspend_after_s per kind, a silent
#: player holds the sink awake).  PulseAudio's rig sink never sleeps without
#: suspend_after_s; WirePlumber's own rule (5 s) is turned off with 0.
SETTINGS = (
    (
        f"sink sleeps after {SUSPEND_AFTER_S} s",
        {"pulseaudio": SUSPEND_AFTER_S, "pipewire": SUSPEND_AFTER_S},
        False,
    ),
    ("sink never suspended by the server", {"pulseaudio": None, "pipewire": 0}, False),
    ("sink held awake by a player of silence", {"pulseaudio": None, "pipewire": 0}, True),
)


def idle_rows(
    kind: str, loopcap: list[str], seconds: float, tmp: Path
) -> tuple[str, list[tuple[str, Window]]]:
    """The rows of one server: no client and app waiting, for each of
    :data:`SETTINGS`; (the server's name and version, the rows)."""
    rows = []
    version = "?"
    for n, (sink, suspend, held) in enumerate(SETTINGS):
        with rig.server_class(kind)(suspend_after_s=suspend[kind]) as server:
            version = server.version
            player = silent_player(server) if held else None
            try:
                time.sleep(WARMUP_S)
                log(f"[{kind}] {sink}: no client ({seconds:g} s)")
                rows.append((f"no client, {sink}", measure_window(server, None, seconds)))
                log(f"[{kind}] {sink}: app waiting, pre-roll {PREROLL_S:g} s ({seconds:g} s)")
                proc, _ = start_app(loopcap, server.env(), tmp, f"{kind}-{n}", tray=False)
                try:
                    time.sleep(WARMUP_S)
                    if proc.poll() is not None:
                        raise RuntimeError(f"loopcap run exited with status {proc.returncode}")
                    win = measure_window(server, proc.pid, seconds)
                finally:
                    stop_app(proc)
                rows.append((f"app waiting, pre-roll {PREROLL_S:g} s, {sink}", win))
            finally:
                if player is not None:
                    player.kill()
                    player.wait()
    return server_name(kind, version), rows


def server_name(kind: str, version: str) -> str:
    """ "PulseAudio 16.1" or "PipeWire 0.3.65" from what ``pactl info`` says
    (pipewire-pulse calls itself "PulseAudio (on PipeWire 0.3.65) 15.0.0")."""
    found = re.search(r"on PipeWire ([\d.]+)", version) if kind == "pipewire" else None
    number = found.group(1) if found else version.rsplit(" ", 1)[-1]
    return f"{SERVER_NAMES[kind]} {number}"


def tray_rows(kind: str, loopcap: list[str], seconds: float, tmp: Path) -> list[tuple[str, Window]]:
    """The app with its tray icon, waiting and recording while a sound plays
    (sink that never sleeps)."""
    import xrig  # noqa: PLC0415 - needs Xvfb and trayer

    rows = []
    suspend = 0 if kind == "pipewire" else None
    with rig.server_class(kind)(suspend_after_s=suspend) as server, xrig.XDisplay(tray=True) as x:
        proc, env = start_app(loopcap, x.env(server.env()), tmp, f"{kind}-tray", tray=True)
        try:
            time.sleep(WARMUP_S)
            log(f"[{kind}] tray: waiting ({seconds:g} s)")
            rows.append(
                ("app waiting with its tray icon", measure_window(server, proc.pid, seconds))
            )
            noise = np.random.default_rng(1).standard_normal((int(48000 * (seconds + 6)), 2))
            player = server.play_array(noise * 0.05, wait=False)
            toggle = [*loopcap, "toggle"]
            try:
                subprocess.run(toggle, env=env, capture_output=True, timeout=30)
                time.sleep(2.0)
                log(f"[{kind}] tray: recording ({seconds:g} s)")
                win = measure_window(server, proc.pid, seconds)
                rows.append(("app recording while a sound plays, with its tray icon", win))
                subprocess.run(toggle, env=env, capture_output=True, timeout=30)
            finally:
                player.kill()
                player.wait()
        finally:
            stop_app(proc)
    return rows


# ---------------------------------------------------------------------------- report


def fmt(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def table(results: dict[str, tuple[str, list[tuple[str, Window]]]]) -> list[str]:
    """The servers side by side: per row, app CPU %, app wake-ups/s, server CPU %, sink."""
    head, rule = "| app |", "|---|"
    for name, _ in results.values():
        head += f" {name}: app CPU % | app wake-ups/s | server CPU % | sink |"
        rule += "---:|---:|---:|---|"
    names: list[str] = []
    for _, rows in results.values():
        names += [n for n, _ in rows if n not in names]
    lines = [head, rule]
    for name in names:
        line = f"| {name} |"
        for _, rows in results.values():
            win = next((w for n, w in rows if n == name), None)
            if win is None:
                line += " – | – | – | – |"
            else:
                line += (
                    f" {fmt(win.app_percent, 3)} | {fmt(win.app_wakeups_s, 1)} "
                    f"| {fmt(win.server_percent, 3)} | {win.states_text} |"
                )
        lines.append(line)
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="measured time per row")
    ap.add_argument(
        "--server",
        choices=sorted(SERVER_CHOICES),
        default="both",
        help="the private sound server(s) to run on (default: both)",
    )
    ap.add_argument(
        "--tray", action="store_true", help="add the rows with a tray icon (Xvfb and trayer)"
    )
    ap.add_argument(
        "--loopcap",
        default=f"{sys.executable} -m loopcap",
        help="command that runs loopcap (default: this Python's `-m loopcap`)",
    )
    ap.add_argument(
        "--strict", action="store_true", help="exit with status 1 when the CPU goal is missed"
    )
    args = ap.parse_args()
    loopcap = args.loopcap.split()
    if args.tray and not (shutil.which("Xvfb") and shutil.which("trayer")):
        ap.error("--tray needs Xvfb and trayer")
    load_start = load_average()
    results: dict[str, tuple[str, list[tuple[str, Window]]]] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for kind in SERVER_CHOICES[args.server]:
            name, rows = idle_rows(kind, loopcap, args.seconds, tmp)
            if args.tray:
                rows += tray_rows(kind, loopcap, args.seconds, tmp)
            results[kind] = (name, rows)
    print(f"## loopcap app: CPU and wake-ups ({args.seconds:g} s measured after {WARMUP_S:g} s)\n")
    print(f"Load average (1, 5, 15 min): {load_start} at the start, {load_average()} at the end.\n")
    print("\n".join(table(results)))
    print(
        "\napp CPU %: all the app's threads' run time (schedstat) over the window, "
        "in % of one core. app wake-ups/s: voluntary + involuntary context switches "
        "of its threads per second. server CPU %: the server's processes (PipeWire: "
        "pipewire, wireplumber, pipewire-pulse). sink: the states `pactl` reported, "
        "polled once a second, with the share of polls.\n"
    )
    ok = True
    print("| goal | server | measured | met |\n|---|---|---:|:---:|")
    for name, rows in results.values():
        for row, win in rows:
            # The goal is for a sink where nothing plays (not even silence).
            waiting = row.startswith("app waiting, pre-roll") and "held awake" not in row
            if waiting and win.app_percent is not None:
                passed = win.app_percent < GOAL_PERCENT
                ok &= passed
                print(
                    f"| below {GOAL_PERCENT:g}% of a core: {row} | {name} "
                    f"| {win.app_percent:.3f}% ({fmt(win.app_wakeups_s, 1)} wake-ups/s) "
                    f"| {'yes' if passed else '**no**'} |"
                )
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
