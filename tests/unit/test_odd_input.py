"""`loopcap trim` on odd but valid files: handled, never refused.

Families (each counts its trials; see ``report`` in rig.py):

* odd shapes: one sample, 8 channels, 8 kHz and 192 kHz, 8-bit, 24-bit, 64-bit;
* no sound: digital silence, a steady hum, NaN or infinity everywhere: exit 4
  and "no sound found", nothing written;
* non-finite samples (float WAV): NaN and infinities do not move the bounds and
  the output holds only finite samples (they are written as 0);
* header sizes that disagree with the file: trimmed as the samples say, with a
  warning when the header promises more than there is;
* cut short in the audio (WAV, FLAC, a WhatsApp-like Ogg Opus note made by
  ffmpeg's libopus): what decodes is trimmed and the file is said to be
  truncated; where what decodes holds no sound, exit 4 saying it is cut short.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import rig
import soundfile as sf
from filerig import ogg_pages, opus_note, pcm16, wav_header
from rig import report

from loopcap.app.cli import main
from loopcap.errors import EXIT_NO_SOUND, EXIT_OK

SR = 8000


def tone_note(sr: int = SR, channels: int = 1, before=0.25, tone=0.5, after=0.25) -> np.ndarray:
    t = np.arange(int(tone * sr)) / sr
    x = np.concatenate(
        [np.zeros(int(before * sr)), 0.3 * np.sin(2 * np.pi * 300 * t), np.zeros(int(after * sr))]
    )
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


@pytest.fixture
def run(capfd):
    """``loopcap trim --json FILE`` in this process: (status, result, stderr lines)."""
    capfd.readouterr()

    def go(path: Path):
        code = main(["trim", "--json", str(path)])
        out, err = capfd.readouterr()
        results = [json.loads(line) for line in out.splitlines()]
        assert len(results) == 1, out
        return code, results[0], [line for line in err.splitlines() if line.strip()]

    return go


def digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def check_trimmed(
    run, path: Path, start_s, end_s, tol=0.005, truncated=False, samples=None
) -> str | None:
    """``loopcap trim`` writes the note [start_s, end_s) of ``path`` (within
    ``tol`` seconds), finite samples of the input's rate and channels, leaves
    the input as it was, and warns exactly when the file is ``truncated``.
    With ``samples`` (the input's), the output must be exactly its kept span
    with every non-finite sample written as 0."""
    before = digest(path)
    listing = set(os.listdir(path.parent))
    code, res, err = run(path)
    problems = []
    if code != EXIT_OK:
        problems.append(f"exit {code}: {err}")
    out = Path(res["output"]) if res.get("output") else None
    if out is None or not out.is_file():
        return "; ".join([*problems, f"no output ({res})"])
    if abs(res["start_s"] - start_s) > tol or abs(res["end_s"] - end_s) > tol:
        problems.append(f"kept {res['start_s']}-{res['end_s']} s, not {start_s:.3f}-{end_s:.3f}")
    info_in, info_out = sf.info(str(path)), sf.info(str(out))
    if (info_out.samplerate, info_out.channels) != (info_in.samplerate, info_in.channels):
        problems.append(f"output is {info_out.samplerate} Hz {info_out.channels} ch")
    data, _ = sf.read(out, dtype="float64", always_2d=True)
    if not np.isfinite(data).all():
        problems.append("the output holds non-finite samples")
    if samples is not None and out is not None:
        a = round(res["start_s"] * info_in.samplerate)
        expected = np.nan_to_num(samples[a : a + len(data)], nan=0.0, posinf=0.0, neginf=0.0)
        if not np.array_equal(data, expected):
            problems.append("the output is not the input's span with non-finite samples as 0")
    if abs(len(data) / info_out.samplerate - res["kept_s"]) > 0.0015:
        problems.append(f"output holds {len(data)} frames for {res['kept_s']} s")
    warning = f"loopcap: {path}: the file is truncated; trimmed what decodes"
    if err != ([warning] if truncated else []):
        problems.append(f"stderr {err}, expected {[warning] if truncated else []}")
    if bool(res.get("truncated")) != truncated:
        problems.append(f"JSON truncated={res.get('truncated')}")
    if digest(path) != before:
        problems.append("the input changed")
    if set(os.listdir(path.parent)) != listing | {out.name}:
        problems.append(f"files left: {sorted(set(os.listdir(path.parent)) - listing)}")
    out.unlink()
    return "; ".join(problems) or None


def check_no_sound(run, path: Path, cut_short: bool = False) -> str | None:
    listing = set(os.listdir(path.parent))
    code, res, err = run(path)
    reason = "no sound found" + (" in what decodes (the file is cut short)" if cut_short else "")
    problems = []
    if code != EXIT_NO_SOUND:
        problems.append(f"exit {code}, not {EXIT_NO_SOUND}")
    if err != [f"loopcap: {path}: {reason}"]:
        problems.append(f"stderr {err}")
    if res.get("output") is not None or set(os.listdir(path.parent)) != listing:
        problems.append("something was written")
    return "; ".join(problems) or None


def conclude(family: str, outcomes: dict[str, str | None]) -> None:
    failures = {name: why for name, why in outcomes.items() if why}
    report("Odd but valid input", family, len(outcomes), len(outcomes) - len(failures))
    assert not failures, f"{family}: " + "\n".join(f"{k}: {v}" for k, v in failures.items())


# --------------------------------------------------------------------------------------


def test_odd_shapes(tmp_path, run):
    outcomes = {}
    for name, sr, channels, subtype in (
        ("8 kHz mono", 8000, 1, "PCM_16"),
        ("192 kHz stereo", 192000, 2, "PCM_24"),
        ("8 channels", 48000, 8, "PCM_16"),
        ("8-bit", 8000, 1, "PCM_U8"),
        ("24-bit", 44100, 2, "PCM_24"),
        ("64-bit float", 22050, 1, "DOUBLE"),
    ):
        path = tmp_path / f"{name.replace(' ', '-')}.wav"
        sf.write(path, tone_note(sr, channels), sr, subtype=subtype)
        outcomes[name] = check_trimmed(run, path, 0.25, 0.75)
    for name, value in (("one sample", 0.5), ("one silent sample", 0.0)):
        path = tmp_path / f"{name.replace(' ', '-')}.wav"
        sf.write(path, np.array([[value]], np.float32), 48000, subtype="FLOAT")
        outcomes[name] = check_no_sound(run, path)
    conclude("odd shapes", outcomes)


def test_no_sound(tmp_path, run):
    outcomes = {}
    n = SR * 2
    hum = 0.001 * np.sin(2 * np.pi * 50 * np.arange(n) / SR)
    for name, x, fmt, subtype in (
        ("digital silence", np.zeros(n), "WAV", "PCM_16"),
        ("digital silence FLAC", np.zeros(n), "FLAC", "PCM_16"),
        ("steady hum", hum, "WAV", "FLOAT"),
        ("DC offset", np.full(n, 0.25), "WAV", "FLOAT"),
        ("NaN everywhere", np.full(n, np.nan), "WAV", "FLOAT"),
        ("infinity everywhere", np.full(n, np.inf), "WAV", "FLOAT"),
    ):
        path = tmp_path / f"{name.replace(' ', '-')}.{fmt.lower()}"
        sf.write(path, x.astype(np.float32), SR, format=fmt, subtype=subtype)
        outcomes[name] = check_no_sound(run, path)
    conclude("no sound", outcomes)


def test_non_finite_samples(tmp_path, run):
    outcomes = {}
    q = SR // 4  # the note is [q, 3q)
    for name, spots in (
        ("NaN in the silence", [(slice(10, 200), np.nan)]),
        ("+inf in the silence", [(slice(q // 2, q // 2 + 1), np.inf)]),
        ("-inf after the note", [(slice(3 * q + 100, 3 * q + 101), -np.inf)]),
        ("NaN inside the note", [(slice(q + 500, q + 510), np.nan)]),
        ("every other sample of the note +inf", [(slice(q, 3 * q, 2), np.inf)]),
        ("all of them", [(slice(0, 50), np.nan), (slice(q + 7, q + 9), np.inf),
                         (slice(4 * q - 3, 4 * q), -np.inf)]),
    ):  # fmt: skip
        x = tone_note(channels=2)
        for where, value in spots:
            x[where] = value
        path = tmp_path / f"{name.replace(' ', '-')}.wav"
        sf.write(path, x, SR, subtype="FLOAT")
        outcomes[name] = check_trimmed(run, path, 0.25, 0.75, samples=x.astype(np.float64))
    conclude("non-finite samples", outcomes)


def test_header_sizes_that_disagree(tmp_path, run):
    samples = pcm16(tone_note(channels=2))
    outcomes = {}
    for name, fields, truncated in (
        ("RIFF size 0", dict(riff_size=0), False),
        ("RIFF size 4", dict(riff_size=4), False),
        ("RIFF size 2^32-1", dict(riff_size=2**32 - 1), False),
        ("data size odd", dict(data_size=len(samples) - 1), False),
        ("data size 2^32-1", dict(data_size=2**32 - 1), True),
        ("data size one frame more", dict(data_size=len(samples) + 4), True),
        ("byte rate 0", dict(byterate=0), False),
        ("block align 0", dict(align=0), False),
        ("block align 65535", dict(align=65535), False),
    ):
        path = tmp_path / f"{name.replace(' ', '-')}.wav"
        path.write_bytes(wav_header(samples=samples, **fields))
        outcomes[name] = check_trimmed(run, path, 0.25, 0.75, truncated=truncated)
    conclude("header sizes that disagree", outcomes)


def test_wav_cut_short_in_its_data(tmp_path, run):
    """The header says 1 s; the file holds ``kept`` of it."""
    buf = tmp_path / "src.wav"
    sf.write(buf, tone_note(channels=2), SR, subtype="PCM_16")
    data = buf.read_bytes()
    buf.unlink()
    start = data.index(b"data") + 8
    outcomes = {}
    for tenths in range(1, 10):
        kept = tenths / 10 + 0.03  # seconds of audio left in the file
        path = tmp_path / f"cut-at-{kept:.2f}s.wav"
        path.write_bytes(data[: start + int(kept * SR) * 4])
        if kept < 0.25:
            outcomes[path.name] = check_no_sound(run, path, cut_short=True)
        else:
            outcomes[path.name] = check_trimmed(run, path, 0.25, min(kept, 0.75), truncated=True)
        path.unlink()
    conclude("WAV cut short in its data", outcomes)


def ffmpeg_frames(path: Path) -> int:
    """How many frames ffmpeg decodes from ``path`` (a reference decoder)."""
    ffmpeg = rig.require("ffmpeg")
    done = subprocess.run(
        [ffmpeg, "-v", "quiet", "-i", str(path), "-f", "f32le", "-ac", "1", "-"],
        capture_output=True,
        timeout=60,
    )
    return len(done.stdout) // 4


def test_flac_cut_short_in_its_audio(tmp_path, run):
    sr = 16000
    src = tmp_path / "src.flac"
    # The tone starts between two FLAC frames (4096 frames, 0.256 s, each).
    sf.write(src, tone_note(sr, 1, before=0.4, tone=2.6, after=0.0), sr)
    data = src.read_bytes()
    src.unlink()
    first_frame = data.index(b"\xff\xf8")
    outcomes = {}
    for i in range(1, 10):
        cut = first_frame + (len(data) - first_frame) * i // 10
        path = tmp_path / f"cut-{i}0pc.flac"
        path.write_bytes(data[:cut])
        decodes_s = ffmpeg_frames(path) / sr  # ffmpeg keeps only whole FLAC frames
        if decodes_s < 0.4:
            outcomes[path.name] = check_no_sound(run, path, cut_short=True)
        else:
            # loopcap keeps what decodes to within 64 frames of the damage.
            outcomes[path.name] = check_trimmed(
                run, path, 0.4, decodes_s - 32 / sr, tol=32 / sr + 0.003, truncated=True
            )
        path.unlink()
    conclude("FLAC cut short in its audio", outcomes)


def test_opus_note_cut_short(tmp_path, run):
    """A WhatsApp-like note (Ogg Opus, 16 kHz mono, libopus): silence, then a tone
    from 1.5 s to 5 s; cut at the end of each page (no end-of-stream page) and
    in the middle of each.  What decodes is the complete pages, as far as the
    last one's granule position says."""
    onset = 1.5
    data = opus_note(tmp_path, seconds=5.0, onset_s=onset)
    pages = ogg_pages(data)
    preskip = struct.unpack("<H", data[pages[0][0] + 28 + 10 : pages[0][0] + 28 + 12])[0]
    audio = [p for p in pages if p[2] > 0]
    assert len(audio) >= 4, f"expected ffmpeg to write a page a second: {pages}"
    outcomes = {}
    prev_granule = 0
    for start, end, granule in audio[:-1]:
        for where, cut, decodes in (
            ("mid-page", (start + end) // 2, prev_granule),
            ("page-end", end, granule),
        ):
            decodes_s = max(0, decodes - preskip) / 48000
            path = tmp_path / f"note-cut-{cut}-{where}.ogg"
            path.write_bytes(data[:cut])
            if decodes == 0:
                outcomes[path.name] = check_cut_before_audio(run, path)
            elif decodes_s < onset - 0.05:
                outcomes[path.name] = check_no_sound(run, path, cut_short=True)
            else:
                # Opus rings up to 20 ms ahead of an abrupt onset.
                outcomes[path.name] = check_trimmed(
                    run, path, onset, decodes_s, tol=0.03, truncated=True
                )
            path.unlink()
        prev_granule = granule
    conclude("Ogg Opus note cut short", outcomes)


def check_cut_before_audio(run, path: Path) -> str | None:
    """A file cut before any audio decodes is a bad file: one line, exit 1."""
    listing = set(os.listdir(path.parent))
    code, res, err = run(path)
    expected = [f"loopcap: {path}: it is cut short before its first complete audio"]
    problems = []
    if code != 1:
        problems.append(f"exit {code}, not 1")
    if err != expected:
        problems.append(f"stderr {err}")
    if res.get("output") is not None or set(os.listdir(path.parent)) != listing:
        problems.append("something was written")
    return "; ".join(problems) or None
