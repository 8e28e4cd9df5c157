"""SIGKILL at random (seeded) moments: ``loopcap record`` and the app, on the fake
source's counter signal, whose every frame tells its position in the stream.

Each trial starts a real loopcap process, kills it with SIGKILL at a moment
drawn for its phase, then repairs the folder the way a user would (``loopcap
recover DIR``, or for the app its next start), and checks:

* nothing unreadable is left: every file in the folder opens and reads with
  soundfile (no ``.partial.wav``, no half-written temporary);
* nothing is lost up to one second before the kill: a file holds the counter
  from the capture's first frame, in order, no frame missing or doubled, for
  at least (kill - start - 1 s), where start is the moment loopcap said it was
  recording (for a kill while saving: up to the stop).

Phases: *start* (from launch, through imports, opening the device and the
first header), *middle* (recording), *save* (a ``--duration`` capture killed
around its end: finishing the file, trimming, encoding, renaming).  Kills
that land after the process has already exited are drawn again.

CI runs 36 trials of ``record`` and 10 of the app; ``--soak`` runs 300 and 40.
The real PulseAudio server gets its own trials in system/test_faults_kill_real.py.
"""

from __future__ import annotations

import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from faultrig import audio_files, counter_run, private_env, unplayable
from rig import START_LINE, Loopcap, ask, run_loopcap, write_config
from rig import wait_state as app_wait_state

pytestmark = pytest.mark.posix  # SIGKILL at random moments and its exit status: POSIX only

SEED = 20261122


@dataclass
class Outcome:
    """One trial: where the kill landed and what was found afterwards."""

    phase: str
    fmt: str
    killed: bool  # the process was still running at the kill
    needed_s: float  # audio that had to survive
    kept_s: float  # contiguous counter audio found in the best file
    problems: list[str]
    ran_s: float | None = None  # from "Recording from" to the kill (or the stop)

    @property
    def missing_s(self) -> float | None:
        """Audio recorded before the kill that no file holds (at most 1 s allowed)."""
        return None if self.ran_s is None else max(0.0, self.ran_s - self.kept_s)

    @property
    def survived(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        text = f"{self.phase}/{self.fmt}: needed {self.needed_s:.2f} s, kept {self.kept_s:.2f} s"
        if self.missing_s is not None:
            text += f", missing {self.missing_s:.2f} s"
        return text + (f"; {'; '.join(self.problems)}" if self.problems else "")


@pytest.fixture
def fake_env(tmp_path) -> dict[str, str]:
    env = private_env(tmp_path / "env")
    env["LOOPCAP_BACKEND"] = "fake"
    env["LOOPCAP_FAKE"] = "signal=counter"
    env["TMPDIR"] = str(tmp_path)
    return env


def recover_cli(env: dict[str, str], folder: Path) -> list[dict]:
    done = run_loopcap(["recover", str(folder), "--json"], env, timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout) if done.stdout.strip().startswith("[") else []


def inspect(folder: Path, needed_s: float) -> tuple[float, list[str]]:
    """(seconds of counter audio kept in the best file, problems found)."""
    problems = [f"unreadable {bad}" for bad in unplayable(folder)]
    left = [p.name for p in folder.rglob("*") if p.name.endswith((".partial.wav", ".tmp"))]
    if left:
        problems.append(f"left over: {left}")
    kept = 0.0
    for path in audio_files(folder):
        if path.name.startswith("."):
            continue
        try:
            run = counter_run(path)
        except Exception as exc:  # reported by unplayable() already
            problems.append(f"{path.name}: {exc}")
            continue
        if run.breaks:
            problems.append(f"{path.name}: {run.breaks} frames missing, doubled or foreign")
        if run.tail_zeros > 0.05 * 48000:
            problems.append(f"{path.name}: {run.tail_zeros} silent frames at the end")
        kept = max(kept, run.audio_frames / 48000)
    if kept < needed_s:
        problems.append(f"only {kept:.2f} s kept of the {needed_s:.2f} s before the kill - 1 s")
    return kept, problems


def record_trial(env: dict[str, str], folder: Path, rng: random.Random, phase: str) -> Outcome:
    fmt = rng.choice(["wav", "flac"])
    args = ["record", "--out-dir", str(folder), "--format", fmt, "--json"]
    duration = None
    if phase == "save":
        duration = round(rng.uniform(0.8, 2.0), 3)
        args += ["--duration", str(duration)]
    proc = Loopcap(args, env)
    if phase == "start":
        _sleep_until(proc.t_launch + rng.uniform(0.05, 0.8))
    else:
        t_line = proc.wait_line(START_LINE, timeout=30)
        if t_line is None:
            proc.kill()
            return Outcome(phase, fmt, True, 0, 0, [f"never started: {proc.stderr[-300:]}"])
        if phase == "middle":
            _sleep_until(t_line + rng.uniform(0.1, 3.0))
        else:
            _sleep_until(t_line + duration + rng.uniform(-0.02, 0.07))
    t_kill, killed = proc.kill()
    t_line = proc.line_time(START_LINE)
    end = t_kill if duration is None or t_line is None else min(t_kill, t_line + duration)
    needed = max(0.0, end - t_line - 1.0) if t_line is not None else 0.0
    ran = end - t_line if t_line is not None else None
    if not killed:
        return Outcome(phase, fmt, False, needed, 0, [])
    recover_cli(env, folder)
    kept, problems = inspect(folder, needed)
    return Outcome(phase, fmt, True, needed, kept, problems, ran)


def _sleep_until(t: float) -> None:
    time.sleep(max(0.0, t - time.monotonic()))


def run_trials(trial, count: int, seed: int, phases: tuple[str, ...], workers: int = 2):
    """``count`` landed kills, drawn in order from ``seed``; two run side by side."""
    outcomes: list[Outcome] = []
    draws = iter(range(10 * count))

    def one(i: int) -> Outcome:
        rng = random.Random(seed * 1000 + i)
        return trial(rng, phases[i % len(phases)], i)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        while len(outcomes) < count:
            batch = [next(draws) for _ in range(min(workers, count - len(outcomes)))]
            for outcome in pool.map(one, batch):
                if outcome.killed:
                    outcomes.append(outcome)
    return outcomes


def report(fault_trials, family: str, outcomes: list[Outcome]) -> None:
    for o in outcomes:
        fault_trials.add(family, o.survived, o.describe())
    failed = [o.describe() for o in outcomes if not o.survived]
    phases = {p: sum(o.phase == p for o in outcomes) for p in ("start", "middle", "save")}
    missing = [o.missing_s for o in outcomes if o.missing_s is not None]
    print(
        f"{family}: {len(outcomes)} trials {phases}; recorded before the kill but in no "
        f"file: at most {max(missing, default=0.0):.2f} s (1 s allowed), median "
        f"{sorted(missing)[len(missing) // 2] if missing else 0.0:.2f} s"
    )
    assert not failed, f"{len(failed)} of {len(outcomes)} trials lost audio:\n" + "\n".join(failed)


def kill_record(tmp_path, fake_env, fault_trials, count: int, seed: int):
    def trial(rng, phase, i):
        return record_trial(fake_env, tmp_path / f"t{i:03d}", rng, phase)

    outcomes = run_trials(trial, count, seed, ("start", "middle", "save"))
    report(fault_trials, "SIGKILL of `loopcap record` (fake source)", outcomes)


@pytest.mark.timeout(600)  # 36 trials; a hang guard only
def test_sigkill_record_at_random_moments(tmp_path, fake_env, fault_trials):
    kill_record(tmp_path, fake_env, fault_trials, count=36, seed=SEED)


@pytest.mark.soak
@pytest.mark.timeout(1800)
def test_sigkill_record_soak(tmp_path, fake_env, fault_trials):
    kill_record(tmp_path, fake_env, fault_trials, count=300, seed=SEED + 1)


# --------------------------------------------------------------------------------------
# The app
# --------------------------------------------------------------------------------------


def app_trial(tmp_path: Path, base_env: dict[str, str], rng: random.Random, phase: str, i: int):
    """Kill ``loopcap run --no-tray`` while recording or saving; its next start
    repairs the captures folder."""
    root = tmp_path / f"a{i:03d}"
    env = private_env(root, base_env)
    fmt = rng.choice(["wav", "flac"])
    config, out = write_config(root, fmt=fmt)
    args = ["run", "--no-tray", "--config", str(config)]
    app = Loopcap(args, env)
    if app.wait_line("loopcap is running", timeout=30) is None:
        app.kill()
        return Outcome(phase, fmt, True, 0, 0, [f"the app did not start: {app.stderr[-300:]}"])
    app_wait_state(env, "idle", proc=app)
    assert ask(env, "toggle")["state"] == "recording"
    t_rec = time.monotonic()
    t_stop = None
    if phase == "middle":
        _sleep_until(t_rec + rng.uniform(0.2, 2.5))
    else:
        _sleep_until(t_rec + rng.uniform(0.5, 1.5))
        t_stop = time.monotonic()
        ask(env, "toggle", timeout=10) if rng.random() < 0.5 else _toggle_nowait(env)
        _sleep_until(t_stop + rng.uniform(0.0, 0.08))
    t_kill, killed = app.kill()
    needed = max(0.0, min(t_kill, t_stop or t_kill) - t_rec - 1.0)
    # The next start repairs what the killed one left.
    again = Loopcap(args, env)
    started = again.wait_line("loopcap is running", timeout=30) is not None
    problems = [] if started else [f"the next start failed: {again.stderr[-300:]}"]
    if started:
        app_wait_state(env, "idle", proc=again)
        reply = ask(env, "quit")  # answered before the process ends
        if reply.get("state") != "quitting":
            problems.append(f"quit answered {reply}")
        if again.finish(20) != 0:
            problems.append(f"the next start exited {again.returncode}")
    else:
        again.kill()
    kept, found = inspect(out, needed)
    ran = min(t_kill, t_stop or t_kill) - t_rec
    return Outcome(phase, fmt, killed, needed, kept, problems + found, ran)


def _toggle_nowait(env) -> None:
    """Send a toggle without waiting for the reply (the kill may come first)."""
    ask(env, "toggle", reply=False)


def kill_app(tmp_path, fake_env, fault_trials, count: int, seed: int):
    def trial(rng, phase, i):
        return app_trial(tmp_path, fake_env, rng, phase, i)

    outcomes = run_trials(trial, count, seed, ("middle", "save"))
    report(fault_trials, "SIGKILL of the app, `loopcap run` (fake source)", outcomes)


def test_sigkill_app_at_random_moments(tmp_path, fake_env, fault_trials):
    kill_app(tmp_path, fake_env, fault_trials, count=10, seed=SEED + 2)


@pytest.mark.soak
@pytest.mark.timeout(1800)
def test_sigkill_app_soak(tmp_path, fake_env, fault_trials):
    kill_app(tmp_path, fake_env, fault_trials, count=40, seed=SEED + 3)
