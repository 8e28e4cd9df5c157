#!/usr/bin/env python3
"""Gaps in a capture taken on an overloaded machine: ``loopcap record`` against ``parec``.

On a private server of the test rig (tests/rig.py; ``--server pipewire``, the
default, or ``pulseaudio``; the user's own sound server is never touched),
``--busy`` processes spin and one writes to the disk with fsync, so that the
sound server misses cycles now and then.  Each run starts ``loopcap record
--format wav`` on the sink's monitor, waits for its "Recording from" line,
starts ``parec --latency-msec=10`` (the small fragments loopcap asks for) on
the same monitor, then plays a sound with ``paplay``: 15 s of tones over
noise at -40 dBFS, never an exact zero.

Each recording is then compared, sample by sample, with what was played: a
gap is where it strays from the sound: a run of exact zeros, after which
the sound resumes where it was left (played later: the timeline grew) or
further on (a stretch replaced), or a jump of the sound without zeros.  A
missed server cycle reaches every recorder of the monitor, so a gap in both
recordings (within one 256-frame cycle: during a missed cycle two recorders
may be handed different cycles) was played so; a gap in one recording only
is that recorder's own.

Prints a Markdown table, one row per run and a total (progress goes to
stderr).  About 25 s a run.  Needs paplay, parec and the chosen server on PATH.

Usage::

    python benchmarks/bench_overload.py [--server pipewire] [--runs 6] [--busy 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
SR = 48000
SECONDS = 15.0
#: Two recordings' gaps this close (frames) are the same missed cycle.
SAME_GAP = 512
#: Exact equality, give or take the float32 round trip through the server.
TOL = 1e-5

sys.path.insert(0, str(REPO / "tests"))
import rig  # noqa: E402  (tests/ on the path first: the test rig's private servers)

sys.path.pop(0)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def the_sound(seconds: float = SECONDS) -> np.ndarray:
    """Mono float32: three tones over noise; no sample is exactly 0."""
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * SR)) / SR
    x = 0.1 * np.sin(2 * np.pi * 440 * t) + 0.05 * np.sin(2 * np.pi * 1234.5 * t + 1)
    x += 0.03 * np.sin(2 * np.pi * 97 * t) + 0.01 * rng.standard_normal(len(t))
    x = x.astype(np.float32)
    x[x == 0.0] = 1e-4
    return x


def gaps(got: np.ndarray, played: np.ndarray) -> list[tuple[int, int, int]] | None:
    """Each gap in ``got`` (mono) as (where in ``played``, zeros, frames of
    ``played`` they stand for: negative where some was played again); None
    where ``got`` does not hold the sound or strays from it other than so."""
    head = played[: SR // 2]
    c = np.correlate(got[: min(len(got), 8 * SR)], head, "valid")
    if not len(c):
        return None
    p = int(np.argmax(c))  # (a gap in the head still leaves it the best match)
    found: list[tuple[int, int, int]] = []
    i, block = 0, 64
    while i + block <= len(played):
        if p + block > len(got):
            return None  # the recording ended before the sound
        if np.allclose(got[p : p + block], played[i : i + block], atol=TOL):
            i += block
            p += block
            continue
        j = 0
        while abs(got[p + j] - played[i + j]) <= TOL:
            j += 1
        i, p = i + j, p + j
        zeros = 0
        while p + zeros < len(got) and got[p + zeros] == 0.0:
            zeros += 1
        # Where the sound goes on after the zeros: further on (a stretch
        # replaced, or skipped where there are none), where it was left (the
        # zeros played before it) or before (a stretch played again).
        for skipped in sorted(range(-8 * 256, 8 * 256 + 1), key=abs):
            if (zeros == 0 and skipped == 0) or i + skipped < 0:
                continue
            q = p + zeros
            if np.allclose(got[q : q + 256], played[i + skipped : i + skipped + 256], atol=TOL):
                break
        else:
            log(f"  at {i / SR:.3f} s of the sound: {zeros} zeros, and it does not go on")
            return None
        found.append((i, zeros, skipped))
        i, p = i + skipped, p + zeros
    return found


def matched(ours: list[tuple[int, int, int]], theirs: list[tuple[int, int, int]]) -> int:
    """How many of ``ours`` have one of ``theirs`` within ``SAME_GAP``."""
    return sum(any(abs(a - b) <= SAME_GAP for b, _, _ in theirs) for a, _, _ in ours)


def one_run(
    server, env: dict[str, str], wav: Path, played: np.ndarray, work: Path, first: str
) -> dict:
    """One capture by both recorders, ``first`` ("loopcap" or "parec")
    connecting first (the order of two streams in the server's graph may
    decide which one a missed cycle reaches)."""
    out = work / "captures"  # not "loopcap": python -m would import it
    out.mkdir()
    ref_path = work / "parec.raw"
    with open(ref_path, "wb") as ref_out:

        def start_parec() -> subprocess.Popen:
            p = subprocess.Popen(
                ["parec", "-d", f"{server.sink}.monitor", "--format=float32le", "--rate=48000"]
                + ["--channels=2", "--raw", "--latency-msec=10"],
                env=env,
                stdout=ref_out,
            )
            time.sleep(0.5)  # its stream connected
            return p

        ref = start_parec() if first == "parec" else None
        rec = subprocess.Popen(
            [sys.executable, "-m", "loopcap", "record", "--format", "wav"]
            + ["--out-dir", str(out), "--duration", str(SECONDS + 4)],
            env=env,
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert rec.stderr is not None
        line = rec.stderr.readline()
        if "Recording from" not in line:
            rec.kill()
            raise SystemExit(f"loopcap record did not start: {line}{rec.stderr.read()}")
        time.sleep(0.5)
        ref = ref or start_parec()
        subprocess.run(["paplay", "-d", server.sink, str(wav)], env=env, check=True)
        time.sleep(0.5)
        ref.terminate()
        ref.wait()
    rec.communicate(timeout=60)
    files = sorted(out.glob("*.raw.wav")) or sorted(out.glob("*.wav"))
    ours = sf.read(files[0], dtype="float32")[0][:, 0] if files else np.zeros(0, np.float32)
    theirs = np.fromfile(ref_path, np.float32).reshape(-1, 2)[:, 0]
    return {"first": first, "loopcap": gaps(ours, played), "parec": gaps(theirs, played)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", choices=["pipewire", "pulseaudio"], default="pipewire")
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--busy", type=int, default=3, help="spinning processes beside the disk writer")
    args = ap.parse_args()
    played = the_sound()
    server = rig.server_class(args.server)().start()
    load: list[subprocess.Popen] = []
    rows = []
    with tempfile.TemporaryDirectory(prefix="loopcap-overload-") as tmp:
        wav = Path(tmp) / "played.wav"
        sf.write(wav, np.repeat(played[:, None], 2, axis=1), SR, subtype="FLOAT")
        env = {**os.environ, **server.env()}
        junk = Path(tmp) / "junk.bin"
        try:
            load = [
                subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(args.busy)
            ]
            load.append(
                subprocess.Popen(
                    [
                        "sh",
                        "-c",
                        f"while :; do dd if=/dev/zero of={junk} bs=1M count=100 "
                        "conv=fsync 2>/dev/null; done",
                    ]
                )
            )
            for n in range(args.runs):
                work = Path(tmp) / f"run{n}"
                work.mkdir()
                rows.append(one_run(server, env, wav, played, work, ("loopcap", "parec")[n % 2]))
                log(f"run {n + 1}: {rows[-1]}")
        finally:
            for p in load:
                p.kill()
                p.wait()
            server.stop()
    print(
        f"{args.server}, {args.busy} spinning processes and a disk writer on "
        f"{os.cpu_count()} cores; {args.runs} runs of {SECONDS:g} s\n"
    )
    print(
        "| run | connected first | gaps in loopcap's | also in parec's "
        "| gaps in parec's | also in loopcap's |"
    )
    print("|---:|---|---:|---:|---:|---:|")
    total = [0, 0, 0, 0]
    for n, row in enumerate(rows, 1):
        ours, theirs = row["loopcap"], row["parec"]
        if ours is None or theirs is None:
            which = " and ".join(k for k in ("loopcap", "parec") if row[k] is None)
            print(f"| {n} | {row['first']} | not aligned ({which}) | | | |")
            continue
        cells = [len(ours), matched(ours, theirs), len(theirs), matched(theirs, ours)]
        total = [a + b for a, b in zip(total, cells, strict=True)]
        print(f"| {n} | {row['first']} | " + " | ".join(map(str, cells)) + " |")
    print("| all | | " + " | ".join(map(str, total)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
