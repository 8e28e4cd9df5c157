#!/usr/bin/env python3
"""How fast loopcap trims a long capture, against reading it and against sox
and ffmpeg.

A capture of ``--minutes`` (default 60) at 48 kHz stereo float WAV (about
1.4 GB for an hour) is written to a temporary directory: hiss at -60 dBFS
with a voice note (real voices from /usr/share/sounds/alsa over a -50 dBFS
phone floor) somewhere in the middle.  Then, each in its own process so that
its peak RSS (``os.wait4``'s ``ru_maxrss``) is its own:

- *soundfile read*: ``soundfile.blocks(blocksize=61440)`` over the whole file,
  doing nothing with the blocks (the baseline: what reading costs);
- *loopcap analysis*: the same blocks into ``LevelMeter.feed``, then
  ``find_bounds``;
- *loopcap trim*: the analysis, then the kept span copied to a new WAV;
- *sox*: ``sox in.wav out.wav silence 1 0.1 1% reverse silence 1 0.1 1% reverse``;
- *ffmpeg*: ``silenceremove=start_periods=1:start_threshold=-50dB`` with the
  ``areverse`` trick for the end, written as float WAV.

Each runs five times and the fastest run counts (the file is in the page cache by
then).  The Python children run as in a user's install: with Python's
bytecode cache written (one untimed run first; ``PYTHONDONTWRITEBYTECODE``,
which some environments set, is removed from theirs), else every run would
compile loopcap's modules anew wherever the cache is stale.  Prints a
Markdown table to stdout; the capture is deleted at the end.

Usage::

    python benchmarks/bench_trim_speed.py [--minutes 60] [--dir /tmp] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 48000
BLOCK = 61440
ALSA_DIR = Path("/usr/share/sounds/alsa")

CHILD_READ = f"""
import sys, soundfile as sf
n = 0
for b in sf.blocks(sys.argv[1], blocksize={BLOCK}, dtype="float32", always_2d=True):
    n += len(b)
print(n)
"""

CHILD_ANALYSE = f"""
import sys, soundfile as sf
from loopcap.trim import LevelMeter, find_bounds
info = sf.info(sys.argv[1])
m = LevelMeter(info.samplerate)
with sf.SoundFile(sys.argv[1]) as f:
    for blk in f.blocks(blocksize={BLOCK}, dtype="float32", always_2d=True):
        m.feed(blk)

    def read(a, e):
        f.seek(a)
        return f.read(e - a, dtype="float32", always_2d=True)

    b = m.find_bounds(read)
print(b.start, b.end)
"""

CHILD_TRIM = (
    CHILD_ANALYSE
    + f"""
with sf.SoundFile(sys.argv[1]) as src, sf.SoundFile(
        sys.argv[2], "w", samplerate=src.samplerate, channels=src.channels,
        subtype="FLOAT") as dst:
    src.seek(b.start)
    left = b.end - b.start
    while left > 0:
        x = src.read(min({BLOCK}, left), dtype="float32", always_2d=True)
        if not len(x):
            break
        dst.write(x)
        left -= len(x)
"""
)

SOX_ARGS = ["silence", "1", "0.1", "1%", "reverse", "silence", "1", "0.1", "1%", "reverse"]
FFMPEG_SR = "silenceremove=start_periods=1:start_threshold=-50dB"
FFMPEG_AF = f"{FFMPEG_SR},areverse,{FFMPEG_SR},areverse"


def make_capture(path: Path, minutes: float, seed: int = 7) -> tuple[float, float]:
    """Write the long capture; return the note's (start_s, end_s)."""
    rng = np.random.default_rng(seed)
    clips = []
    for p in [p for p in sorted(ALSA_DIR.glob("*.wav")) if p.name != "Noise.wav"][:3]:
        clips.append(sf.read(str(p), dtype="float32")[0])
    voice = [np.zeros(int(0.3 * SR), np.float32)]
    for c in clips:
        voice += [c * np.float32(0.5), np.zeros(int(0.6 * SR), np.float32)]
    voice = np.concatenate(voice)
    note = voice + rng.standard_normal(len(voice), dtype=np.float32) * np.float32(10 ** (-50 / 20))
    total = int(minutes * 60 * SR)
    note_start = int(total * 0.55)
    note_end = note_start + len(note)
    hiss = np.float32(10 ** (-60 / 20))
    block = 10 * SR
    with sf.SoundFile(str(path), "w", samplerate=SR, channels=2, subtype="FLOAT") as f:
        for pos in range(0, total, block):
            n = min(block, total - pos)
            x = rng.standard_normal((n, 2), dtype=np.float32) * hiss
            a, b = max(pos, note_start), min(pos + n, note_end)
            if a < b:
                x[a - pos : b - pos] += note[a - note_start : b - note_start, None]
            f.write(x)
    return note_start / SR, note_end / SR


LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
print("@rusage", ru.ru_maxrss, ru.ru_utime + ru.ru_stime, file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))
"""
GNU_TIME = "/usr/bin/time"


def child_env() -> dict[str, str]:
    """The children's environment: this one, with the bytecode cache written
    and read as in a user's install."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def measure(cmd: list[str]) -> tuple[float, float, float, str]:
    """Run ``cmd``; return (wall s, CPU s, peak RSS MiB, stdout).

    The peak RSS is ``ru_maxrss`` from ``wait4`` on the process, taken by a
    small launcher: Linux carries the high-water mark of the process that
    forks and execs into the new program, so a launcher as big as this script
    (numpy loaded) would hide every figure below its own size.  GNU time
    (``/usr/bin/time``, ~1 MiB) is that launcher when installed; otherwise a
    bare ``python -I -S`` doing fork, exec and ``os.wait4`` (~7 MiB).
    """
    if os.path.exists(GNU_TIME):
        full = [GNU_TIME, "-f", "@rusage %M %U %S", *cmd]
    else:
        full = [sys.executable, "-I", "-S", "-c", LAUNCHER, *cmd]
    t0 = time.perf_counter()
    p = subprocess.run(full, capture_output=True, check=False, env=child_env())
    wall = time.perf_counter() - t0
    err = p.stderr.decode(errors="replace")
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({p.returncode}): {err[-800:]}")
    line = [ln for ln in err.splitlines() if ln.startswith("@rusage ")][-1].split()
    rss_kib = float(line[1])
    cpu = sum(float(v) for v in line[2:])
    return wall, cpu, rss_kib / 1024, p.stdout.decode().strip()


def launcher_name() -> str:
    return "GNU time" if os.path.exists(GNU_TIME) else "a python -I -S launcher (os.wait4)"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--dir", default=None, help="where to put the capture (default: system temp)")
    ap.add_argument("--runs", type=int, default=5, help="runs per tool; the fastest counts")
    a = ap.parse_args(argv)
    for prog in ("sox", "ffmpeg"):
        if not shutil.which(prog):
            ap.error(f"{prog} not on PATH")

    t_all = time.perf_counter()
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="trimspeed-", dir=a.dir) as td:
        td = Path(td)
        src = td / "capture.wav"
        out = td / "out.wav"
        t0 = time.perf_counter()
        ns, ne = make_capture(src, a.minutes)
        size = src.stat().st_size
        print(
            f"wrote {size / 1e9:.2f} GB ({a.minutes:g} min) in {time.perf_counter() - t0:.0f} s;"
            f" note at {ns:.3f}-{ne:.3f} s",
            file=sys.stderr,
        )
        tools = [
            ("soundfile read (blocks of 61440)", [py, "-c", CHILD_READ, str(src)]),
            ("loopcap analysis (LevelMeter + find_bounds)", [py, "-c", CHILD_ANALYSE, str(src)]),
            (
                "loopcap trim (analysis + write kept span)",
                [py, "-c", CHILD_TRIM, str(src), str(out)],
            ),
            ("sox silence … reverse … reverse", ["sox", "-V1", str(src), str(out), *SOX_ARGS]),
            (
                "ffmpeg silenceremove + areverse",
                [
                    "ffmpeg",
                    "-nostdin",
                    "-y",
                    "-loglevel",
                    "error",
                    "-i",
                    str(src),
                    "-af",
                    FFMPEG_AF,
                    "-c:a",
                    "pcm_f32le",
                    str(out),
                ],
            ),
        ]
        results = []
        for name, cmd in tools:
            if cmd[0] == py:
                measure(cmd)  # untimed: writes the bytecode cache where it is stale
            best = None
            for r in range(a.runs):
                out.unlink(missing_ok=True)
                wall, cpu, rss, stdout = measure(cmd)
                kept = ""
                if out.exists():
                    kept = f"kept {sf.info(str(out)).frames / SR:.3f} s"
                elif stdout:
                    kept = stdout.splitlines()[-1]
                print(
                    f"  {name} run {r + 1}: {wall:.2f} s, CPU {cpu:.2f} s, {rss:.0f} MiB ({kept})",
                    file=sys.stderr,
                )
                if best is None or wall < best[0]:
                    best = (wall, cpu, rss, kept)
            results.append((name, *best))
        out.unlink(missing_ok=True)
        src.unlink()

    audio_s = a.minutes * 60
    base = results[0][1]
    print(
        f"{a.minutes:g}-minute capture, 48 kHz stereo float WAV ({size / 1e9:.2f} GB), "
        f"hiss at -60 dBFS, note at {ns:.1f}-{ne:.1f} s; best of {a.runs} runs, "
        "page cache warm.\n"
    )
    print(f"Machine: {machine()}. Peak RSS: ru_maxrss from wait4, via {launcher_name()}.\n")
    print("| what | seconds | × real time | × soundfile read | CPU seconds | peak RSS (MiB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, wall, cpu, rss, _ in results:
        print(
            f"| {name} | {wall:.2f} | {audio_s / wall:,.0f} | {wall / base:.2f} | {cpu:.2f} "
            f"| {rss:,.0f} |"
        )
    print(f"\n(run time {time.perf_counter() - t_all:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
