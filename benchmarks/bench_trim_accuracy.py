#!/usr/bin/env python3
"""How exactly loopcap and other silence trimmers find a voice note's
boundaries, on the synthetic captures of ``trim_dataset.py``.

Every tool gets the same captures (48 kHz stereo float WAV) and one stated,
typical setting (see ``TOOLS`` and the notes printed under the table).  For
each capture a tool yields the span it keeps, ``[start, end)`` in samples, or
nothing (a failure).  Scored against the ground truth:

- *boundary error*: a cut start between the note's true first sample and its
  audible start (6 dB above the capture floor) is exact (0 ms); elsewhere the
  error is the distance to the nearer end of that interval.  The same for the
  end, between the audible end and the true end.  Both ends are pooled for
  the median and the 95th percentile.
- *speech cut*: the kept span starts more than 5 ms after the voice begins or
  ends more than 5 ms before it ends.  "audible" counts only the voice that is
  audible over the capture floor (the voice's own start or the note's audible
  start, whichever is later; so a cut inside the exact interval never counts
  as a speech cut); "strict" counts from the clean voice's first moment
  within 40 dB of its peak, even when that moment is buried in the device's
  hiss.
- *distractors left out*: the share of the other sounds (notification
  sounds, clicks) of which nothing outside the note is kept (for a sound
  apart from the note: whose span does not overlap the kept span).
- *failures*: no span at all (these cases are left out of the other columns).

Prints Markdown to stdout (progress to stderr): one table of every tool over
all captures and per category (the single-note cases by their floor, the
``mix`` cases by what else plays), loopcap by category (with the captures
it kept whole, saying why), and loopcap's ten worst cases.

Usage::

    python benchmarks/bench_trim_accuracy.py [--cases DIR] [--n 120] [--new 60]
        [--seed 1] [--json results.json] [--only loopcap,sox]

``--cases DIR`` reuses the captures in DIR (made by trim_dataset.py) or, when
DIR has no manifest.json, generates them there.  Without it, the captures are
generated in a temporary directory and deleted afterwards.

Needs sox and ffmpeg on PATH; pydub, auditok, webrtcvad (webrtcvad-wheels),
silero-vad with onnxruntime (its ONNX model, no torch) and scipy are
optional: a tool whose package is missing is reported as such.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import trim_dataset  # noqa: E402

SPEECH_TOL_S = 0.005

Span = tuple[int, int] | None


class Unavailable(Exception):
    """The tool cannot run here (package or program missing)."""


# --------------------------------------------------------------------------
# locating a trimmed output inside its input


def locate(inp: np.ndarray, out: np.ndarray) -> int:
    """Offset in ``inp`` of the contiguous slice ``out`` (frames x channels):
    normalised cross-correlation of the output's first 50 ms (or of a later
    50 ms window when the first one is silent), then checked."""
    a = inp.mean(axis=1).astype(np.float64)
    b = out.mean(axis=1).astype(np.float64)
    L = min(len(b), int(0.05 * trim_dataset.SR))
    j = 0
    while j + L <= len(b) and not np.any(b[j : j + L]):
        j += L
    if j + L > len(b):
        j = 0
    t = b[j : j + L]
    n = len(a) + L
    nfft = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(a, nfft) * np.conj(np.fft.rfft(t, nfft)), nfft)
    corr = corr[: len(a) - L + 1]
    c = np.concatenate([[0.0], np.cumsum(a * a)])
    energy = c[L:] - c[:-L]
    denom = np.sqrt(np.maximum(energy[: len(corr)], 1e-300) * max(float(t @ t), 1e-300))
    ncc = np.where(energy[: len(corr)] > 0, corr / denom, 0.0)
    k = int(np.argmax(ncc))
    s = k - j
    seg = a[k : k + L]
    scale = max(np.abs(t).max(), 1e-12)
    if s < 0 or np.abs(seg - t).max() > 1e-3 * scale + 1e-6:
        raise RuntimeError("output is not a slice of the input")
    return s


def span_from_output(inp: np.ndarray, out_path: Path) -> Span:
    if not out_path.exists():
        return None
    out = sf.read(str(out_path), dtype="float32", always_2d=True)[0]
    if len(out) == 0:
        return None
    s = locate(inp, out)
    return s, s + len(out)


# --------------------------------------------------------------------------
# the tools: each takes (path, audio, samplerate, tmpdir) and returns a span


#: Why loopcap kept more than the note, per capture (``Bounds.reason``).
LOOPCAP_REASONS: dict[str, str] = {}


def tool_loopcap(path: Path, x: np.ndarray, sr: int, tmp: Path) -> Span:
    from loopcap.trim import LevelMeter

    m = LevelMeter(sr)
    m.feed(x)
    b = m.find_bounds(lambda a, e: x[a:e])
    if b is not None and getattr(b, "reason", None):
        LOOPCAP_REASONS[path.name] = b.reason
    return None if b is None else (b.start, b.end)


SOX_ARGS = ["silence", "1", "0.1", "1%", "reverse", "silence", "1", "0.1", "1%", "reverse"]


def tool_sox(path: Path, x: np.ndarray, sr: int, tmp: Path) -> Span:
    if not shutil.which("sox"):
        raise Unavailable("sox not on PATH")
    out = tmp / "sox.wav"
    subprocess.run(["sox", "-V1", str(path), str(out), *SOX_ARGS], check=True)
    try:
        return span_from_output(x, out)
    finally:
        out.unlink(missing_ok=True)


FFMPEG_SR = "silenceremove=start_periods=1:start_threshold=-50dB"
FFMPEG_AF = f"{FFMPEG_SR},areverse,{FFMPEG_SR},areverse"


def tool_ffmpeg(path: Path, x: np.ndarray, sr: int, tmp: Path) -> Span:
    if not shutil.which("ffmpeg"):
        raise Unavailable("ffmpeg not on PATH")
    out = tmp / "ffmpeg.wav"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-y",
            "-loglevel",
            "error",
            "-i",
            str(path),
            "-af",
            FFMPEG_AF,
            "-c:a",
            "pcm_f32le",
            str(out),
        ],
        check=True,
    )
    try:
        return span_from_output(x, out)
    finally:
        out.unlink(missing_ok=True)


def _pydub():
    try:
        from pydub import AudioSegment, silence
    except ImportError as e:
        raise Unavailable(f"pydub: {e}") from e
    return AudioSegment, silence


def tool_pydub_nonsilent(path: Path, x: np.ndarray, sr: int, tmp: Path) -> Span:
    AudioSegment, silence = _pydub()
    seg = AudioSegment.from_file(str(path))
    ranges = silence.detect_nonsilent(
        seg, min_silence_len=500, silence_thresh=seg.dBFS - 16, seek_step=1
    )
    if not ranges:
        return None
    a, b = ranges[0][0], ranges[-1][1]  # milliseconds
    return round(a * sr / 1000), min(len(x), round(b * sr / 1000))


def tool_pydub_leading(path: Path, x: np.ndarray, sr: int, tmp: Path) -> Span:
    AudioSegment, silence = _pydub()
    seg = AudioSegment.from_file(str(path))
    a = silence.detect_leading_silence(seg, silence_threshold=-50.0, chunk_size=10)
    b = len(seg) - silence.detect_leading_silence(
        seg.reverse(), silence_threshold=-50.0, chunk_size=10
    )
    if b <= a:
        return None
    return round(a * sr / 1000), min(len(x), round(b * sr / 1000))


def tool_auditok(path: Path, x: np.ndarray, sr: int, tmp: Path) -> Span:
    try:
        import auditok
    except ImportError as e:
        raise Unavailable(f"auditok: {e}") from e
    regions = list(
        auditok.split(str(path), min_dur=0.2, max_dur=5, max_silence=0.3, energy_threshold=50)
    )
    if not regions:
        return None
    return round(regions[0].start * sr), min(len(x), round(regions[-1].end * sr))


def mono16k(x: np.ndarray, sr: int) -> np.ndarray:
    """A 16 kHz mono downmix (scipy's polyphase resampler), float32."""
    try:
        from scipy.signal import resample_poly
    except ImportError as e:
        raise Unavailable(f"scipy: {e}") from e
    return resample_poly(x.mean(axis=1).astype(np.float64), 1, sr // 16000).astype(np.float32)


def tool_webrtcvad(path: Path, x: np.ndarray, sr: int, tmp: Path) -> Span:
    try:
        import webrtcvad
    except ImportError as e:
        raise Unavailable(f"webrtcvad: {e}") from e
    vad = webrtcvad.Vad(WEBRTC_MODE)
    pcm = (np.clip(mono16k(x, sr), -1, 1) * 32767).astype("<i2")
    n = 16000 * WEBRTC_FRAME_MS // 1000
    voiced = [
        k for k in range(len(pcm) // n) if vad.is_speech(pcm[k * n : (k + 1) * n].tobytes(), 16000)
    ]
    if not voiced:
        return None
    k = sr // 16000
    return voiced[0] * n * k, min(len(x), (voiced[-1] + 1) * n * k)


WEBRTC_MODE = 2
WEBRTC_FRAME_MS = 30

_SILERO: dict = {}


def silero_onnx() -> tuple[object, Callable]:
    """silero-vad's own ONNX model (shipped in the package) in onnxruntime,
    and the package's ``get_speech_timestamps_from_probs``, without torch:
    the package imports torch at import time, so its files are read from
    where it is installed (the function is plain Python)."""
    if "session" in _SILERO:
        return _SILERO["session"], _SILERO["timestamps"]
    import ast
    import importlib.util

    try:
        import onnxruntime
    except ImportError as e:
        raise Unavailable(f"onnxruntime: {e}") from e
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise Unavailable("silero-vad not installed")
    pkg = Path(list(spec.submodule_search_locations)[0])
    tree = ast.parse((pkg / "utils_vad.py").read_text())
    fn = next(
        f
        for f in tree.body
        if isinstance(f, ast.FunctionDef) and f.name == "get_speech_timestamps_from_probs"
    )
    ns: dict = {"List": list, "Callable": Callable}
    exec(compile(ast.Module([fn], []), str(pkg / "utils_vad.py"), "exec"), ns)
    opts = onnxruntime.SessionOptions()
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        str(pkg / "data" / "silero_vad.onnx"), sess_options=opts, providers=["CPUExecutionProvider"]
    )
    _SILERO["session"], _SILERO["timestamps"] = session, ns["get_speech_timestamps_from_probs"]
    return session, ns["get_speech_timestamps_from_probs"]


def silero_probs(mono16k: np.ndarray) -> list[float]:
    """silero-vad's speech probability per 512-sample window of 16 kHz audio,
    as its ``OnnxWrapper`` computes it (64 samples of context, the state
    carried from window to window)."""
    session, _ = silero_onnx()
    state = np.zeros((2, 1, 128), np.float32)
    context = np.zeros((1, 64), np.float32)
    sr16 = np.array(16000, dtype=np.int64)
    probs = []
    for s in range(0, len(mono16k), 512):
        chunk = mono16k[s : s + 512]
        if len(chunk) < 512:
            chunk = np.pad(chunk, (0, 512 - len(chunk)))
        inp = np.concatenate([context, chunk[None, :].astype(np.float32)], axis=1)
        out, state = session.run(None, {"input": inp, "state": state, "sr": sr16})  # type: ignore[attr-defined]
        context = inp[:, -64:]
        probs.append(float(out[0][0]))
    return probs


def tool_silero(path: Path, x: np.ndarray, sr: int, tmp: Path) -> Span:
    _, timestamps = silero_onnx()
    mono = mono16k(x, sr)
    ts = timestamps(silero_probs(mono), sampling_rate=16000, audio_length_samples=len(mono))
    if not ts:
        return None
    k = sr // 16000
    return ts[0]["start"] * k, min(len(x), ts[-1]["end"] * k)


TOOLS: dict[str, tuple[Callable, str]] = {
    "loopcap": (tool_loopcap, "`LevelMeter` + `find_bounds`, default `TrimParams`"),
    "sox": (tool_sox, "`sox in.wav out.wav " + " ".join(SOX_ARGS) + "`"),
    "ffmpeg": (tool_ffmpeg, f"`-af {FFMPEG_AF}` (RMS detection, 20 ms window: the defaults)"),
    "pydub detect_nonsilent": (
        tool_pydub_nonsilent,
        "`detect_nonsilent(seg, min_silence_len=500, silence_thresh=seg.dBFS-16, "
        "seek_step=1)`, first range's start to last range's end",
    ),
    "pydub detect_leading_silence": (
        tool_pydub_leading,
        "`detect_leading_silence(seg, silence_threshold=-50.0, chunk_size=10)` on the "
        "segment and on `seg.reverse()` (the usual strip-silence recipe)",
    ),
    "auditok": (
        tool_auditok,
        "`auditok.split(path, min_dur=0.2, max_dur=5, max_silence=0.3, "
        "energy_threshold=50)` (the defaults), first event's start to last "
        "event's end",
    ),
    "webrtcvad": (
        tool_webrtcvad,
        f"`webrtcvad.Vad({WEBRTC_MODE})` on {WEBRTC_FRAME_MS} ms frames of a 16 kHz "
        "16-bit mono downmix, first voiced frame's start to last voiced frame's end",
    ),
    "silero-vad": (
        tool_silero,
        "its ONNX model (`silero_vad.onnx`, shipped in the package) in onnxruntime, "
        "probabilities per 512-sample window as its `OnnxWrapper` computes them, then "
        "its `get_speech_timestamps_from_probs` with the defaults (threshold 0.5, "
        "speech_pad_ms 30) on a 16 kHz mono downmix, first speech start to last "
        "speech end",
    ),
}

PACKAGES = {
    "pydub detect_nonsilent": "pydub",
    "pydub detect_leading_silence": "pydub",
    "auditok": "auditok",
    "webrtcvad": "webrtcvad-wheels",
    "silero-vad": "silero-vad",
}


# --------------------------------------------------------------------------
# scoring


def distractor_kept(d: dict, cs: float, ce: float, ts: float, te: float) -> bool:
    """Whether the kept span [cs, ce) takes in any of the other sound ``d``
    that lies outside the note [ts, te): a sound over the note's own floor
    (``overlap_sounds``) is unavoidably kept where it overlaps the note, and
    counts as left out when nothing of it outside the note is kept."""
    parts = []
    if d["start_s"] < ts:
        parts.append((d["start_s"], min(d["end_s"], ts)))
    if d["end_s"] > te:
        parts.append((max(d["start_s"], te), d["end_s"]))
    return any(not (b <= cs or a >= ce) for a, b in parts)


def score(case: dict, span: Span, sr: int) -> dict:
    if span is None:
        return {"failed": True}
    a, b = span
    ts, te = case["true_start_s"], case["true_end_s"]
    as_, ae = case["audible_start_s"], case["audible_end_s"]
    cs, ce = a / sr, b / sr
    if cs < ts:
        es = cs - ts  # negative: kept silence before the note
    elif cs > as_:
        es = cs - as_  # positive: cut into the note
    else:
        es = 0.0
    if ce > te:
        ee = ce - te  # positive: kept silence after the note
    elif ce < ae:
        ee = ce - ae  # negative: cut into the note
    else:
        ee = 0.0
    sps, spe = case["speech_start_s"], case["speech_end_s"]
    cut_audible = (cs > max(sps, as_) + SPEECH_TOL_S) or (ce < min(spe, ae) - SPEECH_TOL_S)
    cut_strict = (cs > sps + SPEECH_TOL_S) or (ce < spe - SPEECH_TOL_S)
    kept = [distractor_kept(d, cs, ce, ts, te) for d in case["distractors"]]
    return {
        "failed": False,
        "start_s": cs,
        "end_s": ce,
        "start_err_ms": es * 1000,
        "end_err_ms": ee * 1000,
        "speech_cut": cut_audible,
        "speech_cut_strict": cut_strict,
        "distractors_kept": kept,
    }


def summarize(results: list[dict]) -> dict:
    ok = [r for r in results if not r["failed"]]
    errs = np.abs([e for r in ok for e in (r["start_err_ms"], r["end_err_ms"])])
    dk = [k for r in ok for k in r["distractors_kept"]]
    return {
        "cases": len(results),
        "failures": len(results) - len(ok),
        "speech_cut": sum(r["speech_cut"] for r in ok),
        "speech_cut_strict": sum(r["speech_cut_strict"] for r in ok),
        "median_ms": float(np.median(errs)) if len(errs) else float("nan"),
        "p95_ms": float(np.percentile(errs, 95)) if len(errs) else float("nan"),
        "max_ms": float(errs.max()) if len(errs) else float("nan"),
        "distractors": len(dk),
        "distractors_left_out": (1 - sum(dk) / len(dk)) * 100 if dk else float("nan"),
    }


def category(case: dict) -> str:
    """A case's category: the new cases' own, the single-note cases' floor."""
    return case.get("category") or case["floor"]


def categories(cases: list[dict]) -> list[str]:
    """The categories present, the floors first, in their usual order."""
    order = trim_dataset.FLOORS + trim_dataset.MIX_CATEGORIES + trim_dataset.LONG_CATEGORIES
    present = {category(c) for c in cases}
    return [c for c in order if c in present] + sorted(present - set(order))


def fmt_pct(s: dict) -> str:
    if not s["distractors"]:
        return "–"
    return f"{s['distractors_left_out']:.0f}% of {s['distractors']}"


def fmt_ms(v: float) -> str:
    if v != v:
        return "–"
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", help="directory of captures (generated there if missing)")
    ap.add_argument("--n", type=int, default=120)
    ap.add_argument(
        "--new",
        type=int,
        default=trim_dataset.N_MIX,
        help="cases where something else plays, when generating (default %(default)s)",
    )
    ap.add_argument(
        "--long",
        type=int,
        default=0,
        help="long notes (30-70 s), when generating (default %(default)s)",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="write per-case results here")
    ap.add_argument("--only", help="comma-separated tool names (e.g. loopcap,sox)")
    ap.add_argument("--worst", type=int, default=10, help="loopcap's worst cases to list")
    a = ap.parse_args(argv)

    t_all = time.perf_counter()
    tmp_cases = None
    if a.cases:
        cdir = Path(a.cases)
        if not (cdir / "manifest.json").exists():
            print(f"generating {a.n} captures in {cdir} ...", file=sys.stderr)
            trim_dataset.generate(cdir, a.n, a.seed, new=a.new, long=a.long)
    else:
        tmp_cases = tempfile.TemporaryDirectory(prefix="trimcases-")
        cdir = Path(tmp_cases.name)
        print(f"generating {a.n} + {a.new} captures in {cdir} ...", file=sys.stderr)
        trim_dataset.generate(cdir, a.n, a.seed, new=a.new, long=a.long)
    meta = json.loads((cdir / "manifest.json").read_text())
    cases = meta["cases"]

    names = list(TOOLS)
    if a.only:
        names = [n.strip() for n in a.only.split(",")]
        for n in names:
            if n not in TOOLS:
                ap.error(f"unknown tool {n!r}; known: {', '.join(TOOLS)}")

    per_tool: dict[str, list[dict]] = {n: [] for n in names}
    unavailable: dict[str, str] = {}
    seconds: dict[str, float] = {n: 0.0 for n in names}
    with tempfile.TemporaryDirectory(prefix="trimbench-") as td:
        tmp = Path(td)
        for i, case in enumerate(cases):
            path = cdir / case["file"]
            x, sr = sf.read(str(path), dtype="float32", always_2d=True)
            for n in names:
                if n in unavailable:
                    continue
                fn = TOOLS[n][0]
                t0 = time.perf_counter()
                try:
                    span = fn(path, x, sr, tmp)
                except Unavailable as e:
                    unavailable[n] = str(e)
                    continue
                except Exception as e:  # a crash counts as a failure
                    print(f"{n} on {case['id']}: {type(e).__name__}: {e}", file=sys.stderr)
                    span = None
                seconds[n] += time.perf_counter() - t0
                r = score(case, span, sr)
                r["id"] = case["id"]
                if n == "loopcap":
                    r["reason"] = LOOPCAP_REASONS.get(path.name)
                per_tool[n].append(r)
            if (i + 1) % 20 == 0:
                print(f"  {i + 1}/{len(cases)} cases", file=sys.stderr)

    # ---- the table: every tool, over all cases and per category
    print(
        f"{len(cases)} captures (seed {meta['seed']}), "
        f"{sum(c['duration_s'] for c in cases) / 60:.1f} min of audio in all.\n"
    )
    print(
        "| category | tool | cases | speech cut (audible) | speech cut (strict) "
        "| median error (ms) | p95 error (ms) | distractors left out | failures |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    summaries: dict = {}
    groups = [("all", [c["id"] for c in cases])] + [
        (cat, [c["id"] for c in cases if category(c) == cat]) for cat in categories(cases)
    ]
    for cat, ids in groups:
        wanted = set(ids)
        for n in names:
            if n in unavailable:
                if cat == "all":
                    print(f"| all | {n} | – | – | – | – | – | – | not run: {unavailable[n]} |")
                continue
            s = summarize([r for r in per_tool[n] if r["id"] in wanted])
            summaries.setdefault(cat, {})[n] = s
            name = f"**{n}**" if n == "loopcap" else n
            print(
                f"| {cat} | {name} | {s['cases']} | {s['speech_cut']} | "
                f"{s['speech_cut_strict']} | {fmt_ms(s['median_ms'])} | {fmt_ms(s['p95_ms'])} | "
                f"{fmt_pct(s)} | {s['failures']} |"
            )
    print("\nSettings:\n")
    for n in names:
        ver = ""
        if n in PACKAGES:
            try:
                ver = f" ({PACKAGES[n]} {md.version(PACKAGES[n])})"
            except md.PackageNotFoundError:
                pass
        print(f"- **{n}**{ver}: {TOOLS[n][1]}; {seconds[n]:.1f} s for all captures.")

    # ---- loopcap in detail
    if "loopcap" in summaries.get("all", {}):
        res = {r["id"]: r for r in per_tool["loopcap"]}
        print("\nloopcap by category:\n")
        print(
            "| category | cases | speech cut (audible / strict) | median (ms) | p95 (ms) "
            "| max (ms) | distractors left out | kept whole, with a reason | failures |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for cat, ids in groups:
            rs = [res[i] for i in ids if i in res]
            if not rs:
                continue
            s = summarize(rs)
            whole = sum(1 for r in rs if r.get("reason"))
            print(
                f"| {cat} | {s['cases']} | {s['speech_cut']} / {s['speech_cut_strict']} | "
                f"{fmt_ms(s['median_ms'])} | {fmt_ms(s['p95_ms'])} | {fmt_ms(s['max_ms'])} | "
                f"{fmt_pct(s)} | {whole} | {s['failures']} |"
            )
        print(
            f"\nloopcap's {a.worst} worst cases (start error: − began before the note, "
            "+ began after its audible start; end error: − ended before the audible end, "
            "+ ended after the note):\n"
        )
        print(
            "| case | category | floor | distractor | voice | note floor / capture floor (dBFS) "
            "| pauses (s) | start error (ms) | end error (ms) |"
        )
        print("|---|---|---|---|---|---|---|---:|---:|")
        by_id = {c["id"]: c for c in cases}

        def badness(r: dict) -> float:
            if r["failed"]:
                return float("inf")
            return max(abs(r["start_err_ms"]), abs(r["end_err_ms"]))

        worst = sorted(per_tool["loopcap"], key=badness, reverse=True)[: a.worst]
        for r in worst:
            c = by_id[r["id"]]
            lv = c["levels"]
            fl = f"{lv['note_floor_dbfs']:.0f} / {lv['capture_floor_dbfs']:.0f}".replace(
                "-300", "zero"
            )
            if r["failed"]:
                se = ee = "failed"
            else:
                se, ee = f"{r['start_err_ms']:+.1f}", f"{r['end_err_ms']:+.1f}"
            dist = c["distractor"]
            if c["distractors"]:
                dist += " (" + ", ".join(d["name"] for d in c["distractors"]) + ")"
            pauses = ", ".join(f"{b - a:.2f}" for a, b in c.get("pauses", [])) or "–"
            print(
                f"| {c['id']} | {category(c)} | {c['floor']} | {dist} | {c['voice']} | {fl} "
                f"| {pauses} | {se} | {ee} |"
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
