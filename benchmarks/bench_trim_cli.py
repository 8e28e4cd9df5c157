#!/usr/bin/env python3
"""How long one voice note takes from the command line: ``loopcap trim
FILE -o OUT``, a fresh process each time, on captures of ``trim_dataset.py``,
per category, beside sox and ffmpeg trimming the same file.

The goal (issue 15): a single note in under 0.3 s of wall time.  That time is
mostly Python's start and its imports (numpy, soundfile, and onnxruntime
where something plays under the note; loguru only once something is logged),
so the table also shows what those alone take.

The captures are timed as users run the command: with Python's bytecode
cache written (one untimed run first; ``PYTHONDONTWRITEBYTECODE`` is removed
from the children's environment, else every run would compile loopcap's
modules anew, 50-60 ms).  Each capture's runs are interleaved with the other
commands' so that a machine busy for a moment weighs on all of them alike;
the best and the median of ``--runs`` count.

Usage::

    python benchmarks/bench_trim_cli.py [--cases DIR] [--seed 1] [--per-category 3]
        [--runs 8] [--against PATH]

``--cases DIR`` reuses the captures in DIR (made by trim_dataset.py) or, when
DIR has no manifest.json, generates them there (seed ``--seed``); without
it they are generated in a temporary directory.  ``--against PATH`` also
times another checkout of loopcap (its source folder put first on
``PYTHONPATH``), interleaved with this one: a before-and-after on the same
files.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import trim_dataset  # noqa: E402
from bench_trim_accuracy import FFMPEG_AF, SOX_ARGS, category  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

#: The captures timed, by category: between silences and device floors
#: (no onnxruntime), and with something playing under the note; then, with
#: ``--long``, a note between silences and one over music made longer.
CATEGORIES = ("zero", "hiss", "music", "tone", "overlap_sounds", "video_voice")


def child_env(source: Path) -> dict[str, str]:
    """The environment of a timed run: loopcap imported from ``source``, the
    bytecode cache written and read as in a user's install."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(source), *filter(None, [env.get("PYTHONPATH")])])
    return env


def wall(cmd: list[str], env: dict[str, str] | None = None) -> float:
    """Seconds from spawning ``cmd`` to its exit; raises if it fails.  The
    child's CPU seconds (user and system) are added to ``CPU[-1]``'s list
    when one is open (see :func:`main`)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    # From a folder with no loopcap in it: ``python -m`` puts the working
    # directory first on sys.path, ahead of PYTHONPATH (run from a checkout,
    # --against would time that checkout twice).
    p = subprocess.run(cmd, capture_output=True, env=env, check=False, cwd=tempfile.gettempdir())
    dt = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        err = p.stderr.decode(errors="replace")[-600:]
        raise RuntimeError(f"{' '.join(cmd[:4])} ... failed ({p.returncode}): {err}")
    if CPU:
        CPU[-1].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return dt


#: Where :func:`wall` puts the CPU seconds of the runs being timed.
CPU: list[list[float]] = []


def pick(cases: list[dict], per: int) -> list[tuple[str, dict]]:
    """The first ``per`` captures of each of ``CATEGORIES`` present."""
    chosen = []
    for cat in CATEGORIES:
        chosen += [(cat, c) for c in cases if category(c) == cat][:per]
    return chosen


def lengthened(case: dict, cdir: Path, seconds: float, into: Path) -> dict:
    """A capture like ``case`` whose note lasts about ``seconds``: the note's
    own span (true start to true end) played again and again, the capture's
    lead-in and tail around it.  The dataset's notes last 2-10 s; people's
    voice notes often last a minute."""
    x, sr = sf.read(str(cdir / case["file"]), dtype="float32", always_2d=True)
    a, b = round(case["true_start_s"] * sr), round(case["true_end_s"] * sr)
    times = max(1, round(seconds * sr / (b - a)))
    y = np.concatenate([x[:a], *[x[a:b]] * times, x[b:]])
    path = into / f"{case['id']}-{seconds:g}s.wav"
    sf.write(str(path), y, sr, subtype="FLOAT")
    return {"id": f"{case['id']} ({len(y) / sr:.0f} s)", "path": path}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", help="directory of captures (generated there if missing)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-category", type=int, default=3)
    ap.add_argument("--runs", type=int, default=8, help="timed runs per capture and command")
    ap.add_argument("--against", help="another loopcap checkout to time beside this one")
    ap.add_argument(
        "--long",
        default="30,60",
        help="also notes lengthened to these seconds (comma-separated; '' for none)",
    )
    a = ap.parse_args(argv)

    tmp_cases = None
    if a.cases:
        cdir = Path(a.cases)
    else:
        tmp_cases = tempfile.TemporaryDirectory(prefix="trimcli-")
        cdir = Path(tmp_cases.name)
    if not (cdir / "manifest.json").exists():
        print(f"generating captures (seed {a.seed}) in {cdir} ...", file=sys.stderr)
        trim_dataset.generate(cdir, 120, a.seed, new=trim_dataset.N_MIX)
    cases = json.loads((cdir / "manifest.json").read_text())["cases"]
    chosen = pick(cases, a.per_category)
    for c in chosen:
        c[1]["path"] = cdir / c[1]["file"]
    long_dir = tempfile.TemporaryDirectory(prefix="trimcli-long-")
    for seconds in [float(v) for v in a.long.split(",") if v.strip()]:
        for cat in ("zero", "music"):
            first = next((c for c in cases if category(c) == cat), None)
            if first is not None:
                chosen.append(
                    (
                        f"{cat}, a {seconds:g} s note",
                        lengthened(first, cdir, seconds, Path(long_dir.name)),
                    )
                )

    py = sys.executable
    sources = {"loopcap": ROOT}
    if a.against:
        sources["loopcap (--against)"] = Path(a.against).resolve()
    envs = {name: child_env(src) for name, src in sources.items()}
    bare = child_env(ROOT)

    with tempfile.TemporaryDirectory(prefix="trimcli-out-") as td:
        out = Path(td) / "out.wav"
        commands: dict[str, tuple[list[str] | None, dict[str, str] | None]] = {
            "python -c pass": ([py, "-c", "pass"], bare),
            "python: import numpy, soundfile": (
                [py, "-c", "import numpy, soundfile"],
                bare,
            ),
            "python: the same and onnxruntime": (
                [py, "-c", "import numpy, soundfile, onnxruntime"],
                bare,
            ),
        }
        times: dict[tuple[str, ...], list[float]] = {}
        cpu: dict[tuple[str, ...], list[float]] = {}
        for name, (cmd, env) in commands.items():
            wall(cmd, env)
            CPU.append(cpu.setdefault(("", name), []))
            times[("", name)] = [wall(cmd, env) for _ in range(a.runs)]
            CPU.clear()

        for cat, case in chosen:
            src = case["path"]
            runs: dict[str, tuple[list[str], dict[str, str] | None]] = {}
            for name, env in envs.items():
                cmd = [py, "-m", "loopcap", "trim", str(src), "-o", str(out), "--force"]
                runs[name] = (cmd, env)
            if shutil.which("sox"):
                runs["sox silence … reverse … reverse"] = (
                    ["sox", "-V1", str(src), str(out), *SOX_ARGS],
                    None,
                )
            if shutil.which("ffmpeg"):
                runs["ffmpeg silenceremove + areverse"] = (
                    [
                        *("ffmpeg", "-nostdin", "-y", "-loglevel", "error"),
                        *("-i", str(src), "-af", FFMPEG_AF, str(out)),
                    ],
                    None,
                )
            for cmd, env in runs.values():  # untimed: the bytecode cache, the page cache
                wall(cmd, env)
            for _ in range(a.runs):
                for name, (cmd, env) in runs.items():
                    CPU.append(cpu.setdefault((cat, case["id"], name), []))
                    times.setdefault((cat, case["id"], name), []).append(wall(cmd, env))
                    CPU.clear()
            print(f"  {cat} {case['id']}: done", file=sys.stderr)

    where = f"seed {a.seed}" if not a.cases else f"{cdir}"
    print(
        f"A fresh process per run, the bytecode cache written; {a.runs} runs of each "
        f"command per capture, {a.per_category} captures per category ({where}).\n"
    )
    print("| what | best (s) | median (s) | CPU, median (s) |")
    print("|---|---:|---:|---:|")
    for key, v in times.items():
        if len(key) == 2:
            c = statistics.median(cpu[key])
            print(f"| {key[1]} | {min(v):.3f} | {statistics.median(v):.3f} | {c:.3f} |")
    names = list(dict.fromkeys(k[2] for k in times if len(k) == 3))
    print(
        "\nPer category: the slowest capture's best run, the median of all runs, and the "
        "median CPU time (user and system, seconds).\n"
    )
    print("| category | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for cat in dict.fromkeys(c for c, _ in chosen):
        cells = []
        for n in names:
            per_case = [v for k, v in times.items() if len(k) == 3 and k[0] == cat and k[2] == n]
            slowest = max(min(v) for v in per_case)
            every = [t for v in per_case for t in v]
            used = [
                t for k, v in cpu.items() if len(k) == 3 and k[0] == cat and k[2] == n for t in v
            ]
            cells.append(
                f"{slowest:.3f}, {statistics.median(every):.3f}, {statistics.median(used):.3f}"
            )
        print(f"| {cat} | " + " | ".join(cells) + " |")
    long_dir.cleanup()
    if tmp_cases is not None:
        tmp_cases.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
