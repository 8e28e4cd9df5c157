#!/usr/bin/env python3
"""What the picture of a cut costs on an hour-long capture: time and memory.

Two steps, each in its own Python process so its memory is its own:

- *meter*: a ``--minutes`` (default 60) capture at 48 kHz stereo, generated
  block by block (61440 frames, hiss at -60 dBFS, a 40 s voice-like note at
  55 %, a click every 5 minutes (2 ms at 0.5), a chime before the note), fed through
  :class:`loopcap.trim.LevelMeter`, then ``find_bounds``: what a save does
  anyway.  Its chunk powers and the note are handed to the next step.
- *plot*: :func:`loopcap.output.plot.cut_picture` on those powers (the PNG
  written beside nothing else, in a temporary folder), fastest of ``--runs``;
  also ``render_cut`` alone (drawing without encoding and writing the PNG).

Memory: ``tracemalloc``'s peak over the step (numpy's arrays are traced; the
PIL image's own pixel buffers are not, they are ``width * height * 4`` bytes,
1.8 MB at the default size) and the process's peak RSS (``ru_maxrss``) before
and after the step: what the step adds to the process.  The meter's
"before" is after the generator's buffers are made (7 noise blocks and the
note: 11 MB); the plot's "before" is after the
powers are loaded (5.5 MB for an hour) and one small picture drawn (imports,
fonts).  Times are wall clock.
Prints a Markdown table.

Usage::

    python benchmarks/bench_plot.py [--minutes 60] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

SR = 48000
BLOCK = 61440

COMMON = """
import json, resource, sys, time, tracemalloc
from pathlib import Path
import numpy as np

def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
"""

CHILD_METER = (
    COMMON
    + f"""
from loopcap.trim import LevelMeter
SR, BLOCK = {SR}, {BLOCK}
minutes, out = float(sys.argv[1]), Path(sys.argv[2])
rng = np.random.default_rng(7)
total = int(minutes * 60 * SR)
# A few noise blocks, reused in turn: generating 345 million normals would
# take longer than what is measured, and the levels cannot tell.
pool = [rng.standard_normal((BLOCK, 2), dtype=np.float32) * np.float32(1e-3) for _ in range(7)]
# 40 s of a voice-like sound (a pitch gliding 110-170 Hz, 11 harmonics, a
# pause every 2.5 s), made a second at a time to keep the generator small.
note = np.empty(40 * SR, np.float32)
for s in range(0, len(note), SR):
    t = np.arange(s, s + SR) / SR
    phase = 2 * np.pi * (140 * t - 30 / (2 * np.pi * 0.3) * np.cos(2 * np.pi * 0.3 * t))
    x = sum(np.sin(k * phase) / k for k in range(1, 12))
    note[s : s + SR] = 0.05 * x * (np.sin(2 * np.pi * 0.4 * t) > -0.3)
del t, phase, x
chime_t = np.arange(int(0.4 * SR)) / SR
chime = (0.2 * np.sin(2 * np.pi * 1500 * chime_t) * np.exp(-chime_t * 10)).astype(np.float32)
events = [(int(total * 0.55), note), (int(total * 0.55) - 3 * SR, chime)]
events += [(k * 300 * SR + 37 * SR, np.full(96, 0.5, np.float32)) for k in range(int(minutes / 5))]
base_rss = rss_mib()  # the generator's buffers are in, the meter not yet
tracemalloc.start()
meter = LevelMeter(SR, expected_frames=total)
buf = np.empty((BLOCK, 2), np.float32)
feed_s = 0.0
for i, pos in enumerate(range(0, total, BLOCK)):
    n = min(BLOCK, total - pos)
    x = buf[:n]
    x[:] = pool[i % len(pool)][:n]
    for at, sig in events:
        a, b = max(pos, at), min(pos + n, at + len(sig))
        if a < b:
            x[a - pos : b - pos] += sig[a - at : b - at, None]
    t0 = time.perf_counter()
    meter.feed(x)
    feed_s += time.perf_counter() - t0
meter.finish()
t0 = time.perf_counter()
bounds = meter.find_bounds()
find_s = time.perf_counter() - t0
peak = tracemalloc.get_traced_memory()[1]
np.save(out / "powers.npy", meter.powers)
note = [bounds.start, bounds.end, bounds.floor_db, meter.frames]
(out / "note.json").write_text(json.dumps(note))
print(json.dumps(dict(feed_s=feed_s, find_s=find_s, traced_mib=peak / 2**20,
                      rss_before=base_rss, rss_after=rss_mib(), chunks=len(meter.powers))))
"""
)

CHILD_PLOT = (
    COMMON
    + f"SR = {SR}\n"
    + """
from loopcap.output.plot import cut_picture, render_cut
from loopcap.trim import Bounds
work, runs = Path(sys.argv[1]), int(sys.argv[2])
powers = np.load(work / "powers.npy")
start, end, floor, frames = json.loads((work / "note.json").read_text())
note = Bounds(start, end, floor, SR)
render_cut(powers[:4000], SR, None)  # imports, fonts: not part of the measure
base_rss = rss_mib()
render_s, write_s = [], []
for i in range(runs):
    t0 = time.perf_counter()
    render_cut(powers, SR, note, frames=frames, title="capture.wav")
    render_s.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    plot = cut_picture(powers, SR, note, work / f"cut-{i}.png", frames=frames, title="capture.wav")
    write_s.append(time.perf_counter() - t0)
rss_after = rss_mib()
tracemalloc.start()
cut_picture(powers, SR, note, work / "cut-traced.png", frames=frames, title="capture.wav")
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(json.dumps(dict(render_s=min(render_s), write_s=min(write_s), traced_mib=peak / 2**20,
                      rss_before=base_rss, rss_after=rss_after,
                      png_kib=(work / "cut-0.png").stat().st_size / 1024,
                      size=[plot.width, plot.height], note_x=plot.note_x)))
"""
)


def run(code: str, *args: str) -> dict:
    """Run one step in a fresh interpreter; its last stdout line is JSON."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    if done.returncode:
        sys.exit(f"step failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0, help="capture length (default 60)")
    ap.add_argument("--runs", type=int, default=5, help="plot runs; the fastest counts")
    ap.add_argument("--keep", type=Path, help="copy the picture here (a .png path)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="loopcap-bench-plot-") as tmp:
        work = Path(tmp)
        m = run(CHILD_METER, str(args.minutes), str(work))
        p = run(CHILD_PLOT, str(work), str(args.runs))
        if args.keep:
            args.keep.write_bytes((work / "cut-0.png").read_bytes())
    print(
        f"{args.minutes:g} min at {SR} Hz stereo: {m['chunks']:,} chunk powers "
        f"({m['chunks'] * 4 / 2**20:.1f} MiB); picture {p['size'][0]}x{p['size'][1]} px, "
        f"PNG {p['png_kib']:.0f} KiB; Python {platform.python_version()}, "
        f"{platform.machine()}\n"
    )
    print("| step | time (s) | traced peak (MiB) | peak RSS before -> after (MiB) |")
    print("|---|---:|---:|---:|")
    meter_rss = f"{m['rss_before']:.0f} -> {m['rss_after']:.0f}"
    plot_rss = f"{p['rss_before']:.0f} -> {p['rss_after']:.0f}"
    print(f"| LevelMeter.feed, {args.minutes:g} min of audio | {m['feed_s']:.2f} | "
          f"{m['traced_mib']:.1f} | {meter_rss} |")  # fmt: skip
    print(f"| find_bounds on its powers | {m['find_s']:.2f} | (in the row above) | |")
    print(f"| render_cut (draw only) | {p['render_s']:.3f} | | |")
    print(f"| cut_picture (draw, PNG, write) | {p['write_s']:.3f} | {p['traced_mib']:.1f} | "
          f"{plot_rss} |")  # fmt: skip


if __name__ == "__main__":
    main()
