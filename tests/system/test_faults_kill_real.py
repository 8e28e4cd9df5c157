"""SIGKILL of ``loopcap record`` recording the real private PulseAudio server, at
seeded random moments, while a sweep plays into the sink: after ``loopcap recover
DIR`` every file plays, and the sweep is in the recovered capture, intact, up to
at least one second before the kill.

The many cheap trials run on the fake source (test_faults_kill.py); these few
check the same on the real device path (soundcard, the device watchdog's held
blocks, an idle sink waking up).  CI: 6 trials; ``--soak``: 30.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np
import pytest
import rig
from faultrig import audio_files, unplayable
from procrig import IDLE_BLOCK_S, let_idle_sink_settle

SR = rig.SAMPLERATE
SEED = 20261123
START_LINE = rig.START_LINE
LEAD_IN = rig.tone(440, 0.25, amplitude=0.1)


def trial(pulse, env, folder: Path, rng: random.Random, phase: str) -> tuple[bool, str]:
    sweep = np.repeat(rig.chirp(8.0, f0=100.0, f1=4000.0)[:, None], 2, axis=1)
    played = np.concatenate([np.repeat(LEAD_IN[:, None], 2, axis=1), sweep])
    args = ["record", "--out-dir", str(folder), "--format", "wav", "--json"]
    # The sweep plays once an idle PulseAudio null sink has left the 2 s block
    # it rendered before the recorder came (see procrig.IDLE_BLOCK_S): before
    # that the sink itself delivers nothing.
    settle = IDLE_BLOCK_S if getattr(pulse, "kind", "pulseaudio") == "pulseaudio" else 0.0
    duration = settle + 2.5 if phase == "save" else None
    if duration:
        args += ["--duration", str(duration)]
    proc = rig.Loopcap(args, env)
    player = None
    try:
        if phase == "start":
            time.sleep(rng.uniform(0.1, 1.0))
        else:
            t_line = proc.wait_line(START_LINE, timeout=30)
            if t_line is None:
                return False, f"{phase}: never started: {proc.stderr[-300:]}"
            let_idle_sink_settle(pulse)
            player = pulse.play_array(played, wait=False)
            if duration is None:
                delay = settle + rng.uniform(0.5, 3.5)
            else:
                delay = duration + rng.uniform(-0.03, 0.05)  # saving takes ~50 ms
            time.sleep(max(0.0, t_line + delay - time.monotonic()))
        t_kill, killed = proc.kill()
    finally:
        if player is not None:
            player.kill()
            player.communicate()  # also closes its pipe
    if not killed:
        return True, "ended before the kill"  # not counted
    t_line = proc.line_time(START_LINE)
    end = t_kill if duration is None or t_line is None else min(t_kill, t_line + duration)
    needed = max(0.0, end - t_line - 1.0) if t_line is not None else 0.0
    done = rig.run_loopcap(["recover", str(folder), "--json"], env, timeout=60)
    problems = []
    if done.returncode != 0 or "Traceback" in done.stderr:
        problems.append(f"recover failed: {done.stderr.strip()[-300:]}")
    problems += [f"unreadable {bad}" for bad in unplayable(folder)]
    left = [p.name for p in folder.glob("*") if p.name.endswith((".partial.wav", ".tmp"))]
    if left:
        problems.append(f"left over {left}")
    files = [p for p in audio_files(folder) if not p.name.startswith(".")]
    best = max(files, key=lambda p: p.stat().st_size, default=None)
    kept = rig.read_audio(best)[0] if best is not None else np.zeros((0, 2))
    if len(kept) / SR < needed:
        problems.append(f"{len(kept) / SR:.2f} s kept of {needed:.2f} s needed")
    # The sweep as far as it had played one second before the kill is all there.
    head = len(LEAD_IN)
    if needed > 1.0 and len(kept):
        lag, corr = rig.best_lag(kept, played[head : head + SR // 2])
        n = int(needed * SR) - lag - SR // 10  # the file's time line to the sweep's
        if n > SR // 2:
            seg, ref = rig.aligned(kept[:, 0], played[head : head + n, 0], lag)
            c = float(np.dot(seg, ref) / (np.linalg.norm(seg) * np.linalg.norm(ref)))
            if c < 0.99 or len(seg) < n:
                problems.append(f"the sweep's first {n / SR:.2f} s: corr {c:.3f}, {len(seg)} f")
    note = f"{phase}: needed {needed:.2f} s, kept {len(kept) / SR:.2f} s"
    if t_line is not None:
        note += f", missing {max(0.0, end - t_line - len(kept) / SR):.2f} s"
    return not problems, note + (f"; {'; '.join(problems)}" if problems else "")


def run(pulse, loopcap_env, tmp_path, fault_trials, count: int, seed: int):
    family = "SIGKILL of `loopcap record` (real PulseAudio server)"
    phases = ("middle", "save", "middle", "start", "middle", "save")
    results = []
    i = 0
    while len(results) < count and i < 4 * count:
        rng = random.Random(seed * 1000 + i)
        ok, note = trial(pulse, loopcap_env, tmp_path / f"r{i:03d}", rng, phases[i % len(phases)])
        i += 1
        if note == "ended before the kill":
            continue
        results.append((ok, note))
        fault_trials.add(family, ok, note)
    missing = [float(n.split("missing ")[1].split(" s")[0]) for _, n in results if "missing" in n]
    print("\n".join(note for _, note in results))
    worst = max(missing, default=0.0)
    print(f"{family}: recorded before the kill but in no file: at most {worst:.2f} s")
    failed = [note for ok, note in results if not ok]
    assert not failed, "\n".join(failed)
    assert len(results) == count


def test_sigkill_record_on_the_real_server(pulse, loopcap_env, tmp_path, fault_trials):
    run(pulse, loopcap_env, tmp_path, fault_trials, count=6, seed=SEED)


@pytest.mark.soak
@pytest.mark.timeout(900)
def test_sigkill_record_on_the_real_server_soak(pulse, loopcap_env, tmp_path, fault_trials):
    run(pulse, loopcap_env, tmp_path, fault_trials, count=30, seed=SEED + 1)
