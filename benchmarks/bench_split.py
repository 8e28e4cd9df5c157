#!/usr/bin/env python3
"""How well loopcap splits a capture of several voice notes played one after
another into those notes, on the multi-note captures of ``trim_dataset.py
--multi`` (2-5 notes, gaps of 0.7-4 s, pauses inside notes up to 1.5 s, five
capture floors, notification sounds and clicks around and between them).

Each tool yields a list of detected notes, ``[start, end)`` in samples.  A
played note is represented by its *audible span* (``audible_start_s`` to
``audible_end_s`` in the ground truth: where the note alone is 6 dB above the
capture floor).  A detection *overlaps* a played note when the two spans share
at least one sample.  Gaps between notes are at least 0.7 s of silence, so a
detection that overlaps two notes has bridged a whole gap: a boundary error
alone never makes an overlap.  Each played note has exactly one outcome:

- *found*: exactly one detection overlaps it, and that detection overlaps no
  other played note;
- *cut in two*: two or more detections overlap it;
- *merged*: one detection overlaps it, and that detection overlaps another
  played note too (a detection spanning two notes makes two merged notes);
- *missed*: no detection overlaps it.

A *false note* is a detection that overlaps no played note: one on a
notification sound or click ("sound"), or on nothing but the floor
("noise").  *Distractors left out*: the share of notification sounds and
clicks that no detection overlaps (whether joined to a note or reported on
their own, a kept one is in some detection).

Over found notes only, as for a single note (``bench_trim_accuracy.py``):

- *boundary error*: a detected start between the note's true first sample and
  its audible start is exact (0 ms), elsewhere the error is the distance to
  the nearer end of that interval; the same for the end.  Both ends pooled for
  the median, 95th percentile and maximum.
- *speech cut*: the detection starts more than 5 ms after the note's audible
  voice begins, or ends more than 5 ms before it ends.

Prints Markdown to stdout (progress to stderr): one table with loopcap per
capture floor and in all, and the baselines in all; then loopcap's cases with
anything wrong, one row per case.

Usage::

    python benchmarks/bench_split.py [--cases DIR] [--n 80] [--seed 1]
        [--json results.json] [--only loopcap]

``--cases DIR`` reuses the captures in DIR (made by ``trim_dataset.py
--multi``) or, when DIR has no manifest.json, generates them there.  Without
it, the captures are generated in a temporary directory and deleted
afterwards.  auditok is optional: when it is not installed it is reported as
not run.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import trim_dataset  # noqa: E402
from bench_trim_accuracy import (  # noqa: E402
    WEBRTC_FRAME_MS,
    WEBRTC_MODE,
    Unavailable,
    fmt_ms,
    mono16k,
    score,
    silero_onnx,
    silero_probs,
)

Span = tuple[int, int]

#: Boundary error (ms) past which a found note is listed among the problems.
LIST_ERR_MS = 30.0


# --------------------------------------------------------------------------
# the tools: each takes (path, audio, samplerate) and returns detected notes


def tool_loopcap(path: Path, x: np.ndarray, sr: int) -> list[Span]:
    from loopcap.trim import LevelMeter

    m = LevelMeter(sr)
    m.feed(x)
    return [(b.start, b.end) for b in m.find_notes(lambda a, e: x[a:e])]


def _auditok(path: Path, x: np.ndarray, sr: int, **kw) -> list[Span]:
    try:
        import auditok
    except ImportError as e:
        raise Unavailable(f"auditok: {e}") from e
    regions = auditok.split(str(path), energy_threshold=50, min_dur=0.2, **kw)
    return [(round(r.start * sr), min(len(x), round(r.end * sr))) for r in regions]


def tool_auditok(path: Path, x: np.ndarray, sr: int) -> list[Span]:
    return _auditok(path, x, sr, max_dur=5, max_silence=0.3)


def tool_auditok_06(path: Path, x: np.ndarray, sr: int) -> list[Span]:
    return _auditok(path, x, sr, max_dur=None, max_silence=0.6)


#: The voice detectors' speech segments are joined across silences shorter
#: than this (s, just under the shortest gap between notes) to make notes.
VAD_JOIN_S = 0.6


def tool_silero(path: Path, x: np.ndarray, sr: int) -> list[Span]:
    _, timestamps = silero_onnx()
    mono = mono16k(x, sr)
    ts = timestamps(
        silero_probs(mono),
        sampling_rate=16000,
        audio_length_samples=len(mono),
        min_silence_duration_ms=round(VAD_JOIN_S * 1000),
    )
    k = sr // 16000
    return [(t["start"] * k, min(len(x), t["end"] * k)) for t in ts]


def tool_webrtcvad(path: Path, x: np.ndarray, sr: int) -> list[Span]:
    try:
        import webrtcvad
    except ImportError as e:
        raise Unavailable(f"webrtcvad: {e}") from e
    vad = webrtcvad.Vad(WEBRTC_MODE)
    pcm = (np.clip(mono16k(x, sr), -1, 1) * 32767).astype("<i2")
    n = 16000 * WEBRTC_FRAME_MS // 1000
    spans: list[list[int]] = []
    join = round(VAD_JOIN_S * 16000 / n)
    for f in range(len(pcm) // n):
        if not vad.is_speech(pcm[f * n : (f + 1) * n].tobytes(), 16000):
            continue
        if spans and f - spans[-1][1] < join:
            spans[-1][1] = f + 1
        else:
            spans.append([f, f + 1])
    k = sr // 16000
    return [(a * n * k, min(len(x), b * n * k)) for a, b in spans if (b - a) * n >= 0.2 * 16000]


TOOLS: dict[str, tuple[Callable[[Path, np.ndarray, int], list[Span]], str]] = {
    "loopcap": (
        tool_loopcap,
        "`LevelMeter` + `find_notes` with a reader for the audio, default `TrimParams`",
    ),
    "auditok": (
        tool_auditok,
        "`auditok.split(path, min_dur=0.2, max_dur=5, max_silence=0.3, "
        "energy_threshold=50)` (its defaults), every event a note",
    ),
    "auditok, max_silence 0.6": (
        tool_auditok_06,
        "`auditok.split(path, min_dur=0.2, max_dur=None, max_silence=0.6, "
        "energy_threshold=50)`: no length limit, and silences up to 0.6 s (just "
        "under the shortest gap) kept inside a note; every event a note",
    ),
    "webrtcvad": (
        tool_webrtcvad,
        f"`webrtcvad.Vad({WEBRTC_MODE})` on {WEBRTC_FRAME_MS} ms frames of a 16 kHz mono "
        f"downmix, voiced frames less than {VAD_JOIN_S} s apart joined, runs of 0.2 s "
        "or more a note",
    ),
    "silero-vad": (
        tool_silero,
        "its ONNX model in onnxruntime (as in `bench_trim_accuracy.py`), "
        f"`get_speech_timestamps_from_probs` with min_silence_duration_ms={VAD_JOIN_S * 1000:.0f} "
        "(silences under the shortest gap kept inside a segment), every segment a note",
    ),
}

PACKAGES = {
    "auditok": "auditok",
    "auditok, max_silence 0.6": "auditok",
    "webrtcvad": "webrtcvad-wheels",
    "silero-vad": "silero-vad",
}


# --------------------------------------------------------------------------
# scoring


def _overlaps(a: float, b: float, c: float, d: float) -> bool:
    return min(b, d) > max(a, c)


def score_case(case: dict, detections: list[Span], sr: int) -> dict:
    """Match ``detections`` ([start, end) samples) to the case's played notes
    and score them (see the module's docstring).  Returns ``outcomes`` (one
    of found / cut / merged / missed per played note, in order), per found
    note its errors (``notes``: dicts from :func:`bench_trim_accuracy.score`,
    None for the others), ``false_notes`` (``"sound"`` or ``"noise"`` per
    false detection) and ``distractors_kept`` (per distractor)."""
    dets = sorted((a / sr, b / sr) for a, b in detections)
    notes = case["notes"]
    hits = [
        [
            j
            for j, (ds, de) in enumerate(dets)
            if _overlaps(ds, de, n["audible_start_s"], n["audible_end_s"])
        ]
        for n in notes
    ]
    covers = hits_of_detections(hits, len(dets))
    outcomes, scored = [], []
    for n, h in zip(notes, hits, strict=True):
        if not h:
            outcome = "missed"
        elif len(h) > 1:
            outcome = "cut"
        elif len(covers[h[0]]) > 1:
            outcome = "merged"
        else:
            outcome = "found"
        outcomes.append(outcome)
        if outcome == "found":
            span = (round(dets[h[0]][0] * sr), round(dets[h[0]][1] * sr))
            scored.append(score({**n, "distractors": []}, span, sr))
        else:
            scored.append(None)
    dist = case["distractors"]
    false_notes = []
    for (ds, de), c in zip(dets, covers, strict=True):
        if not c:
            on_sound = any(_overlaps(ds, de, d["start_s"], d["end_s"]) for d in dist)
            false_notes.append("sound" if on_sound else "noise")
    kept = [any(_overlaps(ds, de, d["start_s"], d["end_s"]) for ds, de in dets) for d in dist]
    return {
        "id": case["id"],
        "detections_s": [[round(a, 4), round(b, 4)] for a, b in dets],
        "outcomes": outcomes,
        "hits": hits,
        "notes": scored,
        "false_notes": false_notes,
        "distractors_kept": kept,
    }


def summarize(results: list[dict]) -> dict:
    outcomes = [o for r in results for o in r["outcomes"]]
    found = [n for r in results for n in r["notes"] if n is not None]
    errs = np.abs([e for n in found for e in (n["start_err_ms"], n["end_err_ms"])])
    kept = [k for r in results for k in r["distractors_kept"]]
    falses = [f for r in results for f in r["false_notes"]]
    return {
        "captures": len(results),
        "played": len(outcomes),
        "found": outcomes.count("found"),
        "cut": outcomes.count("cut"),
        "merged": outcomes.count("merged"),
        "missed": outcomes.count("missed"),
        "false_sound": falses.count("sound"),
        "false_noise": falses.count("noise"),
        "distractors": len(kept),
        "distractors_left_out": (1 - sum(kept) / len(kept)) * 100 if kept else float("nan"),
        "median_ms": float(np.median(errs)) if len(errs) else float("nan"),
        "p95_ms": float(np.percentile(errs, 95)) if len(errs) else float("nan"),
        "max_ms": float(errs.max()) if len(errs) else float("nan"),
        "speech_cut": sum(n["speech_cut"] for n in found),
    }


def problems(case: dict, result: dict) -> list[str]:
    """What went wrong in one case, in words (empty when nothing did): gaps
    and pauses as heard (audible, see the manifest), the other sound a
    detection took in."""
    notes, dets, hits = case["notes"], result["detections_s"], result["hits"]

    def sounds_in(j: int) -> str:
        names = [
            d["name"] for d in case["distractors"] if _overlaps(*dets[j], d["start_s"], d["end_s"])
        ]
        return f" (took in {', '.join(names)})" if names else ""

    out: list[str] = []
    merges_told: set[int] = set()
    for k, (o, n) in enumerate(zip(result["outcomes"], result["notes"], strict=True)):
        if o == "merged":
            j = hits[k][0]
            if j not in merges_told:
                merges_told.add(j)
                group = [i for i, h in enumerate(hits) if j in h]
                gaps = ", ".join(f"{case['gaps'][i]['audible_s']:.2f}" for i in group[:-1])
                joined = "+".join(str(i + 1) for i in group)
                out.append(f"notes {joined} merged across {gaps} s")
        elif o == "cut":
            pause = notes[k]["longest_silence_s"]
            out.append(f"note {k + 1} cut in {len(hits[k])} (longest pause {pause:.2f} s)")
        elif o == "missed":
            out.append(f"note {k + 1} missed")
        else:
            if n["speech_cut"]:
                out.append(f"note {k + 1} speech cut")
            for end, key in (("start", "start_err_ms"), ("end", "end_err_ms")):
                if abs(n[key]) > LIST_ERR_MS:
                    out.append(f"note {k + 1} {end} {n[key]:+.0f} ms{sounds_in(hits[k][0])}")
    for j, c in enumerate(hits_of_detections(hits, len(dets))):
        if not c:
            what = sounds_in(j).removeprefix(" (took in ").removesuffix(")")
            out.append(f"false note on {what}" if what else f"false note at {dets[j][0]:.2f} s")
    return out


def hits_of_detections(hits: list[list[int]], n_dets: int) -> list[list[int]]:
    """Per detection, the played notes it overlaps (``hits`` per note)."""
    return [[i for i, h in enumerate(hits) if j in h] for j in range(n_dets)]


# --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", help="directory of multi-note captures (generated there if missing)")
    ap.add_argument("--n", type=int, default=80)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="write per-case results here")
    ap.add_argument("--only", help="comma-separated tool names (e.g. loopcap)")
    a = ap.parse_args(argv)

    names = list(TOOLS)
    if a.only:
        names = [n.strip() for n in a.only.split(",")]
        for n in names:
            if n not in TOOLS:
                ap.error(f"unknown tool {n!r}; known: {', '.join(TOOLS)}")

    t_all = time.perf_counter()
    tmp_cases = None
    if a.cases:
        cdir = Path(a.cases)
        if not (cdir / "manifest.json").exists():
            print(f"generating {a.n} multi-note captures in {cdir} ...", file=sys.stderr)
            trim_dataset.generate_multi(cdir, a.n, a.seed)
    else:
        tmp_cases = tempfile.TemporaryDirectory(prefix="splitcases-")
        cdir = Path(tmp_cases.name)
        print(f"generating {a.n} multi-note captures in {cdir} ...", file=sys.stderr)
        trim_dataset.generate_multi(cdir, a.n, a.seed)
    meta = json.loads((cdir / "manifest.json").read_text())
    if meta.get("kind") != "multi":
        ap.error(f"{cdir} holds single-note captures; make them with trim_dataset.py --multi")
    cases = meta["cases"]

    per_tool: dict[str, list[dict]] = {n: [] for n in names}
    unavailable: dict[str, str] = {}
    seconds: dict[str, float] = {n: 0.0 for n in names}
    for i, case in enumerate(cases):
        path = cdir / case["file"]
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
        for n in names:
            if n in unavailable:
                continue
            t0 = time.perf_counter()
            try:
                dets = TOOLS[n][0](path, x, sr)
            except Unavailable as e:
                unavailable[n] = str(e)
                continue
            except Exception as e:  # a crash counts as finding nothing
                print(f"{n} on {case['id']}: {type(e).__name__}: {e}", file=sys.stderr)
                dets = []
            seconds[n] += time.perf_counter() - t0
            per_tool[n].append(score_case(case, dets, sr))
        if (i + 1) % 20 == 0:
            print(f"  {i + 1}/{len(cases)} cases", file=sys.stderr)

    # ---- the table
    n_notes = sum(len(c["notes"]) for c in cases)
    print(
        f"{len(cases)} captures (seed {meta['seed']}), {n_notes} notes, "
        f"{sum(c['duration_s'] for c in cases) / 60:.1f} min of audio in all.\n"
    )
    print(
        "| tool | floor | captures | notes found | cut in two | merged | missed "
        "| false notes (sound / noise) | distractors left out | median error (ms) "
        "| p95 error (ms) | max error (ms) | speech cut |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

    def row(tool: str, floor: str, rs: list[dict]) -> dict:
        s = summarize(rs)
        left_out = "–"
        if s["distractors"]:
            left_out = f"{s['distractors_left_out']:.0f}% of {s['distractors']}"
        print(
            f"| {tool} | {floor} | {s['captures']} | {s['found']} / {s['played']} | {s['cut']} "
            f"| {s['merged']} | {s['missed']} | {s['false_sound']} / {s['false_noise']} "
            f"| {left_out} "
            f"| {fmt_ms(s['median_ms'])} | {fmt_ms(s['p95_ms'])} | {fmt_ms(s['max_ms'])} "
            f"| {s['speech_cut']} |"
        )
        return s

    summaries: dict[str, dict] = {}
    for n in names:
        if n in unavailable:
            print(f"| {n} | all | not run: {unavailable[n]} |" + " – |" * 10)
            continue
        if n == "loopcap":
            res = {r["id"]: r for r in per_tool[n]}
            for fl in trim_dataset.FLOORS:
                rs = [res[c["id"]] for c in cases if c["floor"] == fl]
                if rs:
                    summaries[f"{n}/{fl}"] = row(n, fl, rs)
        summaries[n] = row(f"**{n}**" if n == "loopcap" else n, "all", per_tool[n])

    print("\nSettings:\n")
    for n in names:
        ver = ""
        if n in PACKAGES:
            try:
                ver = f" ({PACKAGES[n]} {md.version(PACKAGES[n])})"
            except md.PackageNotFoundError:
                pass
        print(f"- **{n}**{ver}: {TOOLS[n][1]}; {seconds[n]:.1f} s for all captures.")

    # ---- loopcap's problem cases
    if "loopcap" in names and "loopcap" not in unavailable:
        by_id = {c["id"]: c for c in cases}
        bad = [(r, problems(by_id[r["id"]], r)) for r in per_tool["loopcap"]]
        bad = [(r, p) for r, p in bad if p]
        print(
            f"\nloopcap's cases with a note not found, a false note, a speech cut or a "
            f"boundary error over {LIST_ERR_MS:.0f} ms ({len(bad)} of {len(cases)}); "
            "gaps and pauses as a splitter hears them (audible, s):\n"
        )
        if bad:
            print(
                "| case | floor | layout | notes | shortest gap | longest pause "
                "| capture floor (dBFS) | note floors buried | what went wrong |"
            )
            print("|---|---|---|---:|---:|---:|---:|---:|---|")
        for r, p in bad:
            c = by_id[r["id"]]
            gap = min(g["audible_s"] for g in c["gaps"])
            pause = max(n["longest_silence_s"] for n in c["notes"])
            buried = sum(n["levels"]["note_floor_buried"] for n in c["notes"])
            fl = "zero" if c["capture_floor_dbfs"] < -200 else f"{c['capture_floor_dbfs']:.0f}"
            print(
                f"| {c['id']} | {c['floor']} | {c['layout']} | {len(c['notes'])} | {gap:.2f} "
                f"| {pause:.2f} | {fl} | {buried} | {'; '.join(p)} |"
            )

    if a.json:
        Path(a.json).write_text(
            json.dumps(
                {"cases_dir": str(cdir), "summaries": summaries, "results": per_tool}, indent=1
            )
        )
    if tmp_cases is not None:
        tmp_cases.cleanup()
    print(f"\n(run time {time.perf_counter() - t_all:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
