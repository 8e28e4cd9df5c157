#!/usr/bin/env python3
"""Synthetic captures of WhatsApp voice notes, with exact ground truth, for
measuring how well a trimmer finds a note's boundaries (and a splitter finds
each of several notes played in a row).

Each case is a 48 kHz stereo float WAV built the way a real capture comes
about:

1. *The voice*: real human voices that Debian ships
   (``/usr/share/sounds/alsa/*.wav`` except ``Noise.wav``, or the same
   speaker re-encoded as ``/usr/share/sounds/freedesktop/stereo/
   audio-channel-*.oga``) and espeak-ng sentences, one to three pieces joined
   by 0.4-1.2 s pauses.
2. *The phone*: the voice mixed over a microphone noise floor (pink-ish,
   low-passed noise at -70..-45 dBFS) that runs from the note's first sample
   to its last, with 0.1-0.5 s of that floor alone before and after the
   speech.  Some notes are quieter overall (playback gain -24..-8 dB).
3. *WhatsApp*: the note goes through Opus (16 kHz mono, 20 kbit/s, ffmpeg's
   libopus), is decoded at 48 kHz and played as stereo.  The codec's delay is
   measured by cross-correlation and compensated, so the note's first sample
   in the capture is known exactly.
4. *The capture*: silence before (0.3-3 s) and after (0.3-3 s) the note,
   over one of five floors: digital zero, 16-bit TPDF dither, hiss
   (-75..-50 dBFS), 50 Hz hum with harmonics, or hiss loud enough to bury
   the note's own floor ("hiss_buried": a quiet note over a hissy device).
5. *Other sounds*: optionally a freedesktop notification sound and/or a click
   before or after the note, 0.8-2.5 s of silence away from it.

Ground truth per case (seconds from the capture's first sample; every end is
exclusive):

- ``true_start_s`` / ``true_end_s``: the note's first sample / one past its
  last.
- ``audible_start_s`` / ``audible_end_s``: the first moment / last moment at
  which the note alone (at the gain it has in the capture) is 6 dB above the
  capture floor's measured level, over centred 10 ms windows.  A cut between
  the true and the audible boundary is exact.
- ``speech_start_s`` / ``speech_end_s``: the first / last moment at which
  the clean voice (before the phone's floor and the codec) is within 40 dB of
  its own loudest 10 ms, over centred 10 ms windows.
- ``pauses``: the spans between the voice's pieces (only the note's floor
  there), which a trimmer must keep.
- ``distractors``: each other sound's span, kind and name.

*Captures where something else plays* (``mix000`` ..., :func:`make_mix_case`;
60 by default, ``--new``), each a single note made as above over one of the
five floors, in six categories of ten: ``music`` (synthesised melody, chords
or pad, with or without drums, from the first sample to the last at
-50..-30 dBFS RMS), ``tone`` (a steady hum, whine or fan at -55..-35 dBFS,
at least 10 dB over the device's floor), ``near_sounds`` (2-4 notification
sounds and clicks 0.3-3 s from the note), ``overlap_sounds`` (a sound over
the note's own floor before its voice or after it, reaching out of the
note, and another 0.3-3 s away), ``video_voice`` (a video's voice at -35
dBFS spanning the capture) and ``speed`` (the note played at 1.5x or 2x,
pitch kept, pauses halved at 2x).  A background stays at least
``BACKGROUND_UNDER_PEAK_DB`` under the note's loudest 10 ms.  Their own seed
sequence leaves the single-note cases above bit-identical.  Ground truth as
above, plus ``category``, ``background`` (kind, style, level), ``speed`` and
``overlap`` (which edge a sound overlaps).  A sound over the note counts as
left out when nothing of it outside the note is kept.

*Long notes* (``long000`` ..., :func:`make_long_case`; none by default,
``--long``): a note of 10-18 voice pieces joined by 0.4-2.5 s pauses (30-70
s of voice: people's notes often last a minute, and pause longer now and
then), over music, a tone or a video's voice made as above, or over the
device's floor alone (``long_music``, ``long_tone``, ``long_video_voice``,
``long_quiet`` in turn).  Their own seed sequence leaves every other case
bit-identical.

*Multi-note captures* (``--multi``, :func:`generate_multi`), for splitting a
capture into its notes: 2-5 notes made as above (each its own voice source,
1-3 pieces, pauses of 0.4-1.5 s, its own floor and gain, its own pass through
Opus) played one after another over one capture floor.  The gap between two
notes (one's last sample to the next one's first) is drawn from 0.7-1.0,
1.0-1.6, 1.6-2.5 and 2.5-4.0 s in turn, so short gaps are as common as long
ones.  The other sounds go nowhere, before the first note and after the last
(``outside``), into one gap (``between``: that gap is then 0.8-2.5 s of
silence, the sound, 0.8-2.5 s of silence), or all three (``all``); each is a
notification sound (60%) or a click.  The default 80 cases are every
combination of 5 floors x 4 layouts x 2-5 notes.  Ground truth per case:
``notes`` (per note the fields above, plus ``voice``, ``pieces`` and
``longest_silence_s``: the longest stretch inside its audible span where it is
not audible, a pause as a splitter hears it), ``gaps``
(per gap its ``true_s`` length, its ``audible_s`` length from one note's
audible end to the next one's audible start, and whether it holds a
``distractor``) and ``distractors``.

Usage::

    python benchmarks/trim_dataset.py --out /tmp/trimcases --n 120 --new 60 --seed 1
    python benchmarks/trim_dataset.py --out /tmp/longcases --n 0 --new 0 --long 16 --seed 1
    python benchmarks/trim_dataset.py --multi --out /tmp/splitcases --seed 1

write ``case000.wav`` ..., ``mix000.wav`` ..., ``long000.wav`` ... (``multi000.wav`` ...) and
``manifest.json`` (a
list of the dicts that :func:`generate` / :func:`generate_multi` return).
Needs ffmpeg (with libopus), sox and espeak-ng on PATH, and numpy +
soundfile.  Deterministic for a given seed (given the same ffmpeg, sox and
espeak-ng builds).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 48000
ALSA_DIR = Path("/usr/share/sounds/alsa")
FD_DIR = Path("/usr/share/sounds/freedesktop/stereo")

FLOORS = ["zero", "dither", "hiss", "hum", "hiss_buried"]
DISTRACTORS = [
    "none",
    "sound_before",
    "sound_after",
    "click_before",
    "click_after",
    "sound_and_click",
]
VOICES = ["alsa", "freedesktop", "espeak", "mixed"]

#: Short non-voice notification sounds used as distractors.
NOTIFICATION_SOUNDS = [
    "message-new-instant",
    "bell",
    "complete",
    "message",
    "dialog-information",
    "dialog-warning",
    "device-added",
    "device-removed",
    "audio-volume-change",
    "trash-empty",
    "camera-shutter",
    "suspend-error",
]

SENTENCES = [
    "Hi, it's me. I'm running a bit late, sorry.",
    "Can you pick up some bread on your way home?",
    "The meeting moved to Thursday, at three.",
    "Call me back when you get this, okay?",
    "I sent you the address. See you soon.",
    "Happy birthday! I hope you have a lovely day.",
    "So, about the weekend: I think we should go.",
    "Don't forget the tickets. They're on the table.",
    "Yes, that works for me. Let's do it.",
    "Fine, thanks. And you? How was the trip?",
    "Listen, the train is delayed again.",
    "Okay, talk to you later. Bye!",
]
ESPEAK_VOICES = [
    ("en-us", 150, 50),
    ("en-gb", 165, 40),
    ("en-us+f3", 140, 60),
    ("en-gb-x-rp+m3", 175, 45),
    ("en-gb-scotland+f2", 155, 55),
    ("en-us+m5", 135, 35),
]

WIN_S = 0.010  # level windows for the ground truth
AUDIBLE_DB = 6.0
SPEECH_DB = 40.0


# --------------------------------------------------------------------------
# helpers


def db(x: float) -> float:
    return float(10 * np.log10(max(x, 1e-30)))


def run(cmd: list[str], data: bytes | None = None) -> bytes:
    p = subprocess.run(cmd, input=data, capture_output=True, check=False)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {p.stderr.decode(errors='replace')[-500:]}")
    return p.stdout


def load_48k_mono(path: Path) -> np.ndarray:
    """Any sound file as 48 kHz mono float32 (sox's VHQ resampler if needed)."""
    info = sf.info(str(path))
    if info.samplerate == SR:
        x = sf.read(str(path), dtype="float32", always_2d=True)[0]
        return x.mean(axis=1).astype(np.float32)
    raw = run(["sox", "-V1", str(path), "-t", "f32", "-r", str(SR), "-c", "1", "-", "rate", "-v"])
    return np.frombuffer(raw, dtype=np.float32).copy()


def windowed_power(x: np.ndarray, win: int) -> np.ndarray:
    """Mean square over a centred window of ``win`` samples, per sample
    (outside the signal counts as zero).  ``x`` is (samples,) or
    (samples, channels); channels are averaged."""
    if x.ndim == 2:
        sq = np.square(x.astype(np.float64)).mean(axis=1)
    else:
        sq = np.square(x.astype(np.float64))
    c = np.concatenate([[0.0], np.cumsum(sq)])
    i = np.arange(len(sq))
    lo = np.clip(i - win // 2, 0, len(sq))
    hi = np.clip(i - win // 2 + win, 0, len(sq))
    return (c[hi] - c[lo]) / win


def span_above(p: np.ndarray, threshold: float) -> tuple[int, int] | None:
    idx = np.flatnonzero(p > threshold)
    if len(idx) == 0:
        return None
    return int(idx[0]), int(idx[-1]) + 1


def strip(x: np.ndarray, below_peak_db: float, fade_s: float = 0.003) -> np.ndarray:
    """Cut a clip to where its 10 ms level is within ``below_peak_db`` of its
    peak, with short fades so the cut makes no click."""
    p = windowed_power(x, int(WIN_S * SR))
    a, b = span_above(p, p.max() * 10 ** (-below_peak_db / 10))
    y = x[a:b].astype(np.float32).copy()
    n = min(int(fade_s * SR), len(y) // 4)
    if n > 0:
        ramp = np.linspace(0, 1, n, dtype=np.float32)
        y[:n] *= ramp
        y[-n:] *= ramp[::-1]
    return y


def smooth_len(n: int) -> int:
    """The smallest 5-smooth number >= ``n`` (an FFT length numpy does fast)."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35 * (1 << max(0, (-(-n // p35) - 1).bit_length()))  # p35 * 2**k >= n
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def shaped_noise(
    rng: np.random.Generator,
    n: int,
    alpha: float,
    lowpass_hz: float,
    highpass_hz: float = 80.0,
    fast: bool = False,
) -> np.ndarray:
    """Unit-RMS noise with a 1/f**alpha spectrum, low- and high-passed.

    ``fast`` shapes a 5-smooth length (:func:`smooth_len`) and keeps the
    first ``n`` samples: several times faster for awkward ``n``, the same
    kind of noise but other samples, so the single-note cases keep the exact
    method they were made with."""
    m = smooth_len(n) if fast else n
    w = rng.standard_normal(m)
    spec = np.fft.rfft(w)
    f = np.fft.rfftfreq(m, 1 / SR)
    f[0] = 1.0
    h = (np.maximum(f, highpass_hz) / 1000.0) ** (-alpha / 2)
    h /= np.sqrt(1 + (f / lowpass_hz) ** 4)  # 2nd-order low-pass
    h *= 1 / np.sqrt(1 + (highpass_hz / f) ** 4)  # 2nd-order high-pass
    y = np.fft.irfft(spec * h, m)[:n]
    return (y / np.sqrt(np.mean(y**2))).astype(np.float32)


def opus_roundtrip(note: np.ndarray, tmp: Path, tag: str) -> tuple[np.ndarray, int]:
    """The note through Opus (16 kHz mono, 20 kbit/s) and back at 48 kHz,
    realigned to the input by cross-correlation.  Returns (decoded, lag)."""
    src = tmp / f"{tag}.f32"
    ogg = tmp / f"{tag}.ogg"
    note.astype(np.float32).tofile(src)
    run(
        [
            "ffmpeg",
            "-nostdin",
            "-y",
            "-loglevel",
            "error",
            "-f",
            "f32le",
            "-ar",
            str(SR),
            "-ac",
            "1",
            "-i",
            str(src),
            "-ar",
            "16000",
            "-ac",
            "1",
            "-c:a",
            "libopus",
            "-b:a",
            "20k",
            str(ogg),
        ]
    )
    raw = run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-i",
            str(ogg),
            "-ar",
            str(SR),
            "-ac",
            "1",
            "-f",
            "f32le",
            "-",
        ]
    )
    src.unlink()
    ogg.unlink()
    dec = np.frombuffer(raw, dtype=np.float32)
    # lag = where note[0] lands in dec; search +-100 ms
    n = len(note) + len(dec)
    nfft = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(dec, nfft) * np.conj(np.fft.rfft(note, nfft)), nfft)
    max_lag = int(0.1 * SR)
    lags = np.concatenate([np.arange(0, max_lag), np.arange(-max_lag, 0)])
    vals = np.concatenate([corr[:max_lag], corr[-max_lag:]])
    lag = int(lags[np.argmax(vals)])
    out = np.zeros(len(note), np.float32)
    lo = max(lag, 0)
    seg = dec[lo : lag + len(note)]
    out[lo - lag : lo - lag + len(seg)] = seg
    return out, lag


def stretch(clip: np.ndarray, speed: float) -> np.ndarray:
    """``clip`` played ``speed`` times as fast with its pitch kept (sox
    ``tempo -s``: WSOLA tuned for speech), with short fades at its ends."""
    raw = run(
        ["sox", "-V1", "-t", "f32", "-r", str(SR), "-c", "1", "-", "-t", "f32", "-"]
        + ["tempo", "-s", f"{speed:g}"],
        clip.astype(np.float32).tobytes(),
    )
    y = np.frombuffer(raw, dtype=np.float32).copy()
    n = min(int(0.003 * SR), len(y) // 4)
    if n > 0:
        ramp = np.linspace(0, 1, n, dtype=np.float32)
        y[:n] *= ramp
        y[-n:] *= ramp[::-1]
    return y


def make_click(rng: np.random.Generator) -> np.ndarray:
    """A mouse click or a pop: a few ms of decaying noise, sometimes doubled."""
    n = int(rng.uniform(0.004, 0.012) * SR)
    t = np.arange(n) / SR
    tau = rng.uniform(0.0003, 0.002)
    c = rng.standard_normal(n) * np.exp(-t / tau)
    c[0] += rng.choice([-1, 1]) * 3.0
    c = c / np.abs(c).max() * 10 ** (rng.uniform(-30, -8) / 20)
    if rng.random() < 0.35:  # double click
        gap = np.zeros(int(rng.uniform(0.06, 0.15) * SR))
        c2 = c * rng.uniform(0.6, 1.0)
        c = np.concatenate([c, gap, c2])
    return c.astype(np.float32)


# --------------------------------------------------------------------------
# source material (built once, in the parent)


def build_sources(tmp: Path) -> dict:
    alsa = [p for p in sorted(ALSA_DIR.glob("*.wav")) if p.name != "Noise.wav"]
    fd = sorted(FD_DIR.glob("audio-channel-*.oga"))
    if not alsa or not fd:
        raise SystemExit(f"voice recordings not found in {ALSA_DIR} / {FD_DIR}")
    src: dict = {"alsa": [], "freedesktop": [], "espeak": [], "sounds": []}
    for p in alsa:
        src["alsa"].append((p.name, strip(load_48k_mono(p), 60)))
    for p in fd:
        src["freedesktop"].append((p.name, strip(load_48k_mono(p), 60)))
    for i, text in enumerate(SENTENCES):
        voice, speed, pitch = ESPEAK_VOICES[i % len(ESPEAK_VOICES)]
        w = tmp / f"espeak{i}.wav"
        run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(w), text])
        src["espeak"].append((f"espeak:{voice}:{i}", strip(load_48k_mono(w), 60)))
        w.unlink()
    for name in NOTIFICATION_SOUNDS:
        p = FD_DIR / f"{name}.oga"
        if p.exists():
            src["sounds"].append((name, strip(load_48k_mono(p), 50, fade_s=0.005)))
    return src


# --------------------------------------------------------------------------
# the parts of a capture, shared by the single-note and the multi-note cases

_SOURCES: dict | None = None


def _init_worker(sources: dict) -> None:
    global _SOURCES
    _SOURCES = sources


@dataclass
class Note:
    """One voice note as the capture plays it (mono, 48 kHz, float32)."""

    signal: np.ndarray  # after the phone's floor, Opus and the playback gain
    clean: np.ndarray  # the voice alone, at the same gain (for the speech bounds)
    lead: int  # samples of the note's own floor before the voice
    pauses: list[tuple[int, int]]  # [start, end) in samples from the note's start
    voice: str  # one of VOICES
    pieces: list[str]
    voice_peak_db: float  # before the playback gain
    gain_db: float
    lag: int  # the codec's delay, compensated (samples)
    trail: int = 0  # samples of the note's own floor after the voice


def make_note(
    rng: np.random.Generator,
    src: dict,
    voice_src: str,
    floor_kind: str,
    capture_floor_db: float | None,
    tmp_dir: str,
    tag: str,
    pause_s: tuple[float, float] = (0.4, 1.2),
    fast: bool = False,
    speed: float = 1.0,
    pieces: int | None = None,
) -> tuple[Note, float | None]:
    """A note of 1-3 voice pieces joined by pauses of ``pause_s`` seconds,
    over the phone's floor, through Opus, at its playback gain.

    Over ``hiss_buried`` the gain puts the note's floor 8-20 dB under the
    capture's hiss, whose level ``capture_floor_db`` is drawn here when None.
    Returns the note and the capture floor's level (None when not yet drawn).
    ``fast``: see :func:`shaped_noise`.  ``speed`` (1.5, 2): the note as
    WhatsApp plays it faster, pitch kept: each voice piece time-stretched
    (sox ``tempo``, WSOLA as browsers do), its pauses and its floor before and
    after the voice shortened by the same factor.  The stretch is applied
    before the phone's floor and the codec, so the ground truth stays exact;
    1.0 draws and builds exactly what it always did.  ``pieces``: that
    many voice pieces instead (a long note), the draws before them the same.
    """
    # ---- the voice: 1-3 pieces with pauses
    n_pieces = int(rng.choice([1, 2, 2, 3]))
    if pieces is not None:
        n_pieces = pieces
    clips = []
    for k in range(n_pieces):
        pool = voice_src
        if voice_src == "mixed":  # espeak, then a human voice, then either
            pool = ["espeak", "alsa", ["freedesktop", "espeak"][int(rng.integers(2))]][k % 3]
        name, clip = src[pool][int(rng.integers(len(src[pool])))]
        if speed != 1.0:
            clip = stretch(clip, speed)
        clips.append((name, clip * np.float32(10 ** (rng.uniform(-4, 0) / 20))))
    lead = int(rng.uniform(0.1, 0.5) * SR / speed)
    trail = int(rng.uniform(0.1, 0.5) * SR / speed)
    parts = [np.zeros(lead, np.float32)]
    pauses = []  # [start, end) in samples from the note's start
    pos = lead
    for k, (_, clip) in enumerate(clips):
        if k:
            gap = int(rng.uniform(*pause_s) * SR / speed)
            parts.append(np.zeros(gap, np.float32))
            pauses.append((pos, pos + gap))
            pos += gap
        parts.append(clip)
        pos += len(clip)
    parts.append(np.zeros(trail, np.float32))
    voice = np.concatenate(parts)
    voice_peak_db = float(rng.uniform(-12, -1))
    voice *= np.float32(10 ** (voice_peak_db / 20) / np.abs(voice).max())

    # ---- the phone's floor and the playback gain
    note_floor_db = float(rng.uniform(-70, -45))
    if floor_kind == "hiss_buried":
        if capture_floor_db is None:
            capture_floor_db = float(rng.uniform(-60, -50))
        note_floor_db = float(rng.uniform(-70, -55))
        # the note's floor ends up 8-20 dB under the device's hiss
        gain_db = min(0.0, capture_floor_db - rng.uniform(8, 20) - note_floor_db)
        gain_db = max(gain_db, -24.0)
    elif rng.random() < 0.3:
        gain_db = float(rng.uniform(-24, -8))
    else:
        gain_db = float(rng.uniform(-3, 0))
    mic = shaped_noise(
        rng,
        len(voice),
        alpha=float(rng.uniform(0.0, 1.0)),
        lowpass_hz=float(rng.uniform(3000, 7000)),
        fast=fast,
    )
    note48 = voice + mic * np.float32(10 ** (note_floor_db / 20))

    # ---- WhatsApp: Opus round trip, then the playback gain
    dec, lag = opus_roundtrip(note48, Path(tmp_dir), tag)
    g = np.float32(10 ** (gain_db / 20))
    note = Note(
        signal=dec * g,
        clean=voice * g,
        lead=lead,
        pauses=pauses,
        voice=voice_src,
        pieces=[p[0] for p in clips],
        voice_peak_db=voice_peak_db,
        gain_db=float(gain_db),
        lag=lag,
        trail=trail,
    )
    return note, capture_floor_db


def make_sound(rng: np.random.Generator, src: dict) -> tuple[str, str, np.ndarray]:
    """A notification sound at -10..0 dB: (kind, name, signal)."""
    name, s = src["sounds"][int(rng.integers(len(src["sounds"])))]
    return "sound", name, s * np.float32(10 ** (rng.uniform(-10, 0) / 20))


def make_click_distractor(rng: np.random.Generator) -> tuple[str, str, np.ndarray]:
    """A click or double click: (kind, name, signal)."""
    return "click", "click", make_click(rng)


def make_floor(
    rng: np.random.Generator,
    floor_kind: str,
    total: int,
    capture_floor_db: float | None,
    fast: bool = False,
) -> tuple[np.ndarray, float | None]:
    """The capture's floor, ``total`` frames of stereo float32, and its level
    (None for zero and dither: dither is added when quantizing, see
    :func:`finish_capture`).  ``fast``: see :func:`shaped_noise`."""
    if floor_kind in ("zero", "dither"):
        return np.zeros((total, 2), np.float32), None
    if floor_kind in ("hiss", "hiss_buried"):
        if capture_floor_db is None:
            capture_floor_db = float(rng.uniform(-75, -50))
        a = float(rng.uniform(0.0, 0.6))
        floor = np.stack(
            [
                shaped_noise(rng, total, a, 16000.0, 20.0, fast),
                shaped_noise(rng, total, a, 16000.0, 20.0, fast),
            ],
            axis=1,
        )
        floor *= np.float32(10 ** (capture_floor_db / 20))
        return floor, capture_floor_db
    if floor_kind == "hum":
        capture_floor_db = float(rng.uniform(-75, -50))
        t = np.arange(total) / SR
        hum = np.zeros(total)
        for k in range(1, 10):
            hum += (
                (k**-1.2)
                * rng.uniform(0.5, 1.5)
                * np.sin(2 * np.pi * 50 * k * t + rng.uniform(0, 2 * np.pi))
            )
        hum /= np.sqrt(np.mean(hum**2))
        hum *= 10 ** (capture_floor_db / 20)
        floor = np.stack([hum, hum * rng.uniform(0.8, 1.0)], axis=1).astype(np.float32)
        return floor, capture_floor_db
    raise AssertionError(floor_kind)


def finish_capture(
    rng: np.random.Generator,
    floor_kind: str,
    floor: np.ndarray,
    notes: list[tuple[int, Note]],
    placements: list[tuple[str, str, int, np.ndarray]],
    case_id: str,
) -> tuple[np.ndarray, list[dict], float]:
    """Mix the notes (``(start, note)``) and the other sounds (``(kind, name,
    start, signal)``) over the floor, quantize with dither over the
    ``dither`` floor.  Returns the capture, the distractors' ground truth and
    the floor's measured power (mean square away from every sound)."""
    total = len(floor)
    capture = floor.copy()
    for start, note in notes:
        capture[start : start + len(note.signal)] += note.signal[:, None]
    distractors = []
    for kind, name, start, s in placements:
        capture[start : start + len(s)] += s[:, None]
        distractors.append(
            {"kind": kind, "name": name, "start_s": start / SR, "end_s": (start + len(s)) / SR}
        )
    if floor_kind == "dither":
        tpdf = rng.random((total, 2)) - rng.random((total, 2))
        capture = (np.round(capture * 32768.0 + tpdf) / 32768.0).astype(np.float32)
    peak = float(np.abs(capture).max())
    if peak > 0.99:
        raise RuntimeError(f"{case_id} clips ({peak})")
    win = int(WIN_S * SR)
    quiet = np.ones(total, bool)
    spans = [(start, start + len(n.signal)) for start, n in notes]
    spans += [(start, start + len(s)) for _kind, _name, start, s in placements]
    for a, b in spans:
        quiet[max(0, a - win * 5) : b + win * 5] = False
    floor_power = float(np.square(capture[quiet].astype(np.float64)).mean())
    return capture, distractors, floor_power


def note_truth(note: Note, start: int, floor_power: float, case_id: str) -> dict:
    """A note's ground truth in the capture (see the module's docstring):
    true, audible and speech bounds, pauses (seconds) and levels."""
    win = int(WIN_S * SR)
    end = start + len(note.signal)
    note_power = windowed_power(note.signal, win)
    threshold = floor_power * 10 ** (AUDIBLE_DB / 10)
    aud = span_above(note_power, max(threshold, 1e-30))
    if aud is None:
        raise RuntimeError(f"{case_id}: note inaudible")
    voice_power = windowed_power(note.clean, win)
    sp = span_above(voice_power, voice_power.max() * 10 ** (-SPEECH_DB / 10))
    note_floor_level = float(np.square(note.signal[: note.lead // 2].astype(np.float64)).mean())
    return {
        "true_start_s": start / SR,
        "true_end_s": end / SR,
        "audible_start_s": (start + aud[0]) / SR,
        "audible_end_s": (start + aud[1]) / SR,
        "speech_start_s": (start + sp[0]) / SR,
        "speech_end_s": (start + sp[1]) / SR,
        "pauses": [[(start + a) / SR, (start + b) / SR] for a, b in note.pauses],
        "levels": {
            "voice_peak_dbfs": note.voice_peak_db + note.gain_db,
            "note_floor_dbfs": db(note_floor_level),
            "capture_floor_dbfs": db(floor_power),
            "playback_gain_db": note.gain_db,
            "note_floor_buried": db(note_floor_level) < db(floor_power) + AUDIBLE_DB,
        },
    }


def longest_silence_s(note: Note, floor_power: float) -> float:
    """The longest stretch inside the note's audible span where the note
    alone stays under the audible threshold (s): over a floor that buries the
    note's own floor, a pause this long looks like a gap between notes."""
    p = windowed_power(note.signal, int(WIN_S * SR))
    above = p > max(floor_power * 10 ** (AUDIBLE_DB / 10), 1e-30)
    idx = np.flatnonzero(above)
    if len(idx) < 2:
        return 0.0
    return float((np.diff(idx).max() - 1) / SR)


def write_capture(out_dir: str, case_id: str, capture: np.ndarray) -> Path:
    path = Path(out_dir) / f"{case_id}.wav"
    sf.write(str(path), capture, SR, subtype="FLOAT")
    return path


# --------------------------------------------------------------------------
# one single-note case


def make_case(i: int, seed: int, out_dir: str, tmp_dir: str) -> dict:
    src = _SOURCES
    assert src is not None
    rng = np.random.default_rng([seed, i])
    floor_kind = FLOORS[i % len(FLOORS)]
    distractor = DISTRACTORS[(i // len(FLOORS)) % len(DISTRACTORS)]
    voice_src = VOICES[(i // (len(FLOORS) * len(DISTRACTORS))) % len(VOICES)]
    case_id = f"case{i:03d}"

    note, capture_floor_db = make_note(rng, src, voice_src, floor_kind, None, tmp_dir, f"n{i}")

    # ---- layout: [lead silence][sound?][gap][note][gap][sound?][tail silence]
    before, after = [], []
    if distractor == "sound_before":
        before.append(make_sound(rng, src))
    elif distractor == "sound_after":
        after.append(make_sound(rng, src))
    elif distractor == "click_before":
        before.append(make_click_distractor(rng))
    elif distractor == "click_after":
        after.append(make_click_distractor(rng))
    elif distractor == "sound_and_click":
        s, c = make_sound(rng, src), make_click_distractor(rng)
        if rng.random() < 0.5:
            before.append(s)
            after.append(c)
        else:
            before.append(c)
            after.append(s)

    pos = 0
    placements = []  # (kind, name, start, signal)
    if before:
        pos += int(rng.uniform(0.3, 1.5) * SR)
        kind, name, s = before[0]
        placements.append((kind, name, pos, s))
        pos += len(s) + int(rng.uniform(0.8, 2.5) * SR)
    else:
        pos += int(rng.uniform(0.3, 3.0) * SR)
    note_start = pos
    pos += len(note.signal)
    if after:
        pos += int(rng.uniform(0.8, 2.5) * SR)
        kind, name, s = after[0]
        placements.append((kind, name, pos, s))
        pos += len(s) + int(rng.uniform(0.3, 1.5) * SR)
    else:
        pos += int(rng.uniform(0.3, 3.0) * SR)
    total = pos

    floor, capture_floor_db = make_floor(rng, floor_kind, total, capture_floor_db)
    capture, distractors, floor_power = finish_capture(
        rng, floor_kind, floor, [(note_start, note)], placements, case_id
    )
    truth = note_truth(note, note_start, floor_power, case_id)
    path = write_capture(out_dir, case_id, capture)
    return {
        "id": case_id,
        "file": path.name,
        "samplerate": SR,
        "frames": total,
        "duration_s": total / SR,
        "floor": floor_kind,
        "distractor": distractor,
        "voice": voice_src,
        "pieces": note.pieces,
        **{k: v for k, v in truth.items() if k != "levels"},
        "distractors": distractors,
        "levels": truth["levels"],
        "opus_lag_samples": note.lag,
    }


# --------------------------------------------------------------------------
# captures where something else plays: the ``--new`` categories

#: What else plays in the new cases (see :func:`make_mix_case`).
MIX_CATEGORIES = ["music", "tone", "near_sounds", "overlap_sounds", "video_voice", "speed"]
#: Long notes (``long000`` ..., see :func:`make_long_case`): over music, a
#: tone, a video's voice, or a device's floor alone.
LONG_CATEGORIES = ["long_music", "long_tone", "long_video_voice", "long_quiet"]
#: A long note's voice pieces (a 30-70 s note) and its pauses (s): people
#: pause longer now and then in a minute's note than in a sentence or two.
LONG_PIECES = (10, 19)
LONG_PAUSE_S = (0.4, 2.5)
MUSIC_STYLES = ["melody", "chords", "pad"]
TONE_KINDS = ["hum50", "hum60", "whine", "fan"]
#: A background that spans the capture lies at least this far (dB) under the
#: note's loudest 10 ms (its speech then about 10 dB over the background's
#: RMS): a note the user can follow over the music.  The note's playback
#: gain is raised (up to 0 dB) to make room, then the background lowered.
BACKGROUND_UNDER_PEAK_DB = 25.0


def _harmonic_tone(
    f0: float, n: int, harmonics: int, tilt: float, cutoff_hz: float = 20000.0
) -> np.ndarray:
    """``n`` samples of a tone at ``f0`` Hz: harmonics 1..``harmonics`` with
    amplitudes ``k ** -tilt``, low-passed at ``cutoff_hz`` (2nd order)."""
    t = np.arange(n) / SR
    y = np.zeros(n)
    for k in range(1, harmonics + 1):
        f = f0 * k
        if f > min(cutoff_hz * 3, SR / 2 - 500):
            break
        y += k**-tilt / np.sqrt(1 + (f / cutoff_hz) ** 4) * np.sin(2 * np.pi * f * t + 0.3 * k)
    return y


def _envelope(
    n: int, attack_s: float, decay_s: float, sustain: float, release_s: float
) -> np.ndarray:
    """ADSR over ``n`` samples (the release within them)."""
    t = np.arange(n) / SR
    dur = n / SR
    env = np.where(t < attack_s, t / max(attack_s, 1e-4), 1.0)
    dec = sustain + (1 - sustain) * np.exp(-np.maximum(t - attack_s, 0) / max(decay_s, 1e-4))
    env = np.minimum(env, dec)
    rel = np.clip((dur - t) / max(release_s, 1e-4), 0, 1)
    return env * rel


def synth_music(rng: np.random.Generator, n: int, style: str, drums: bool) -> np.ndarray:
    """``n`` samples (mono, unit RMS) of synthesised music already playing:
    a ``melody`` (plucked notes over a bass), ``chords`` (a strummed
    progression) or a ``pad`` (slow swelling chords), with or without drums
    (kick, snare, hi-hat) at 80-130 bpm."""
    beat = 60.0 / float(rng.uniform(80, 130))
    key = int(rng.integers(45, 57))  # MIDI root of the key
    progression = [0, 7, 9, 5] if rng.random() < 0.5 else [0, 5, 7, 0]
    offset = float(rng.uniform(0, 8 * beat))  # the song began before the capture
    total = n + int(offset * SR) + int(4 * beat * SR)
    y = np.zeros(total)

    def hz(m: float) -> float:
        return 440.0 * 2 ** ((m - 69) / 12)

    def add(at_s: float, sig: np.ndarray) -> None:
        a = int(at_s * SR)
        if a >= total:
            return
        b = min(total, a + len(sig))
        y[a:b] += sig[: b - a]

    bar = 4 * beat
    n_bars = int(total / SR / bar) + 1
    for k in range(n_bars):
        root = key + progression[k % len(progression)]
        chord = [root, root + (3 if progression[k % 4] == 9 else 4), root + 7]
        t0 = k * bar
        if style == "melody":
            scale = [0, 3, 5, 7, 10, 12, 15]
            t = t0
            while t < t0 + bar:
                d = beat * float(rng.choice([0.5, 0.5, 1.0]))
                m = key + 12 + scale[int(rng.integers(len(scale)))]
                ln = int(d * SR * 1.5)
                add(
                    t,
                    0.5 * _harmonic_tone(hz(m), ln, 8, 1.5) * _envelope(ln, 0.005, 0.25, 0.0, 0.05),
                )
                t += d
            ln = int(bar * SR)
            add(
                t0,
                0.35
                * _harmonic_tone(hz(root - 12), ln, 6, 1.2, 800)
                * _envelope(ln, 0.01, 0.6, 0.3, 0.1),
            )
        elif style == "chords":
            for b in range(4):
                ln = int(beat * SR)
                for j, m in enumerate(chord):
                    sig = _harmonic_tone(hz(m), ln, 9, 1.0, 2500) * _envelope(
                        ln, 0.01, 0.3, 0.35, 0.05
                    )
                    add(t0 + b * beat + 0.012 * j, 0.3 * sig)
        else:  # pad
            ln = int(bar * SR * 1.3)
            for m in chord + [root + 12]:
                sig = _harmonic_tone(hz(m) * (1 + 0.002 * rng.standard_normal()), ln, 12, 1.0, 1200)
                env = _envelope(ln, float(rng.uniform(0.3, 0.8)), 1.0, 0.8, 0.6)
                add(t0, 0.25 * sig * env)
        if drums:
            for b in range(4):
                tb = t0 + b * beat
                if b in (0, 2):  # kick: a falling sine
                    ln = int(0.25 * SR)
                    tt = np.arange(ln) / SR
                    f = 45 + 80 * np.exp(-tt / 0.03)
                    add(tb, 1.2 * np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-tt / 0.09))
                else:  # snare: a noise burst over a tone
                    ln = int(0.18 * SR)
                    tt = np.arange(ln) / SR
                    noise = np.diff(rng.standard_normal(ln + 1))
                    add(
                        tb, (0.35 * noise + 0.5 * np.sin(2 * np.pi * 185 * tt)) * np.exp(-tt / 0.05)
                    )
                for h in (0.0, 0.5):  # hi-hat on the eighths
                    ln = int(0.05 * SR)
                    tt = np.arange(ln) / SR
                    noise = np.diff(np.diff(rng.standard_normal(ln + 2)))
                    add(tb + h * beat, 0.12 * noise * np.exp(-tt / 0.012))
    start = int(offset * SR)
    out = y[start : start + n]
    return (out / max(np.sqrt(np.mean(out**2)), 1e-12)).astype(np.float32)


def synth_tone(rng: np.random.Generator, n: int, kind: str) -> np.ndarray:
    """``n`` samples (mono, unit RMS) of a steady sound: mains hum (50 or
    60 Hz and harmonics, as a ground loop makes it), a whine (a tone of
    200-2000 Hz, a coil or a fan's bearing) or a fan (low rumbling noise)."""
    if kind in ("hum50", "hum60"):
        f0 = 50.0 if kind == "hum50" else 60.0
        t = np.arange(n) / SR
        y = sum(
            k**-1.0 * rng.uniform(0.3, 1.5) * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3))
            for k in range(1, 13)
        )
    elif kind == "whine":
        f = float(rng.uniform(200, 2000))
        y = _harmonic_tone(f, n, 3, 2.0) * (1 + 0.05 * np.sin(2 * np.pi * 0.3 * np.arange(n) / SR))
    else:
        y = shaped_noise(
            rng,
            n,
            alpha=float(rng.uniform(1.0, 1.8)),
            lowpass_hz=float(rng.uniform(300, 1200)),
            highpass_hz=30.0,
            fast=True,
        )
    y = np.asarray(y, dtype=np.float64)
    return (y / max(np.sqrt(np.mean(y**2)), 1e-12)).astype(np.float32)


def synth_video_voice(rng: np.random.Generator, src: dict, n: int) -> np.ndarray:
    """``n`` samples (mono) of a voice in a video playing in the background:
    sentences (espeak-ng and the recorded voices) one after another with
    0.15-0.7 s between them, band-limited to 100-7000 Hz as a video's sound
    is; scaled so that its speech (the stretches within 20 dB of its loudest
    10 ms) has unit RMS."""
    parts: list[np.ndarray] = []
    length = 0
    while length < n + SR:
        pool = ["espeak", "alsa", "freedesktop"][int(rng.integers(3))]
        _, clip = src[pool][int(rng.integers(len(src[pool])))]
        parts.append(clip * np.float32(10 ** (rng.uniform(-4, 0) / 20)))
        parts.append(np.zeros(int(rng.uniform(0.15, 0.7) * SR), np.float32))
        length += len(parts[-1]) + len(parts[-2])
    y = np.concatenate(parts).astype(np.float64)
    start = int(rng.uniform(0, max(1, len(y) - n)))
    y = y[start : start + n]
    spec = np.fft.rfft(y)
    f = np.fft.rfftfreq(len(y), 1 / SR)
    f[0] = 1.0
    spec /= np.sqrt(1 + (f / 7000.0) ** 4) * np.sqrt(1 + (100.0 / f) ** 4)
    y = np.fft.irfft(spec, len(y))
    p = windowed_power(y, int(WIN_S * SR))
    speech = p > p.max() * 10 ** (-20 / 10)
    return (y / max(np.sqrt(np.mean(y[speech] ** 2)), 1e-12)).astype(np.float32)


def make_mix_case(k: int, seed: int, out_dir: str, tmp_dir: str, long: bool = False) -> dict:
    """One capture of the new categories (``mix000`` ...), where something
    else plays besides the note; category ``MIX_CATEGORIES[k % 6]``, voice
    and device floor cycled over ``k // 6``:

    - ``music``: synthesised music (melody, chords or pad, with or without
      drums) from the capture's first sample to its last, at -50..-30 dBFS
      (RMS), at least ``BACKGROUND_UNDER_PEAK_DB`` under the note's peak;
    - ``tone``: a steady hum, whine or fan at -55..-35 dBFS (RMS), at least
      10 dB over the device's floor, spanning the capture;
    - ``near_sounds``: 2-4 notification sounds and clicks, each 0.3-3 s from
      the note or from the one before it;
    - ``overlap_sounds``: a notification sound or a click over the note's own
      floor before its voice (lead-in) or after it (tail), reaching out of the
      note, and another 0.3-3 s away on the other side;
    - ``video_voice``: a video's voice at -35 dBFS (RMS of its speech; at
      least ``BACKGROUND_UNDER_PEAK_DB`` under the note's peak, so lower under
      a note whose peak is under -10 dBFS) spanning the capture;
    - ``speed``: the note played at 1.5x or 2x, pitch kept (pauses halved at
      2x), over a quiet capture.

    Its own seed sequence (``[seed, k, 3]``): the single-note cases are
    unchanged by it.  ``long``: a long note instead (see
    :func:`make_long_case`).
    """
    src = _SOURCES
    assert src is not None
    kinds = LONG_CATEGORIES if long else MIX_CATEGORIES
    rng = np.random.default_rng([seed, k, 4 if long else 3])
    category = kinds[k % len(kinds)]
    background_kind = category.removeprefix("long_")
    j = k // len(kinds)
    voice_src = VOICES[j % len(VOICES)]
    floor_kind = FLOORS[j % len(FLOORS)]
    case_id = f"long{k:03d}" if long else f"mix{k:03d}"
    speed = (1.5, 2.0)[j % 2] if category == "speed" else 1.0

    if long:
        note, capture_floor_db = make_note(
            rng,
            src,
            voice_src,
            floor_kind,
            None,
            tmp_dir,
            f"l{k}",
            LONG_PAUSE_S,
            True,
            pieces=int(rng.integers(*LONG_PIECES)),
        )
    else:
        note, capture_floor_db = make_note(
            rng, src, voice_src, floor_kind, None, tmp_dir, f"x{k}", fast=True, speed=speed
        )

    before: list[tuple[str, str, np.ndarray]] = []
    after: list[tuple[str, str, np.ndarray]] = []

    def other() -> tuple[str, str, np.ndarray]:
        return make_sound(rng, src) if rng.random() < 0.6 else make_click_distractor(rng)

    overlap_side = None
    if category == "near_sounds":
        for _ in range(int(rng.integers(2, 5))):
            (before if rng.random() < 0.5 else after).append(other())
    elif category == "overlap_sounds":
        overlap_side = "lead" if rng.random() < 0.5 else "tail"
        (before if overlap_side == "lead" else after).append(other())
        (after if overlap_side == "lead" else before).append(other())

    placements = []  # (kind, name, start, signal)
    pos = int(rng.uniform(0.3, 1.5 if before else 3.0) * SR)
    for m, (kind, name, s) in enumerate(before):
        if overlap_side == "lead" and m == len(before) - 1:
            # Over the note's lead-in: it straddles the note's first sample,
            # ending inside the note's own floor before the voice.
            inside = min(int(rng.uniform(0.1, 0.8) * note.lead), len(s) // 2)
            placements.append((kind, name, pos, s))
            pos += len(s) - inside
            break
        placements.append((kind, name, pos, s))
        pos += len(s) + int(rng.uniform(0.3, 3.0) * SR)
    note_start = pos
    pos += len(note.signal)
    for m, (kind, name, s) in enumerate(after):
        if overlap_side == "tail" and m == 0:
            # Over the note's tail: it straddles the note's last sample,
            # beginning inside the note's own floor after the voice.
            inside = min(int(rng.uniform(0.1, 0.8) * note.trail), len(s) // 2)
            placements.append((kind, name, pos - inside, s))
            pos += len(s) - inside + int(rng.uniform(0.3, 3.0) * SR)
            continue
        if m == 0:
            pos += int(rng.uniform(0.3, 3.0) * SR)
        placements.append((kind, name, pos, s))
        pos += len(s) + int(rng.uniform(0.3, 3.0) * SR)
    pos += int(rng.uniform(0.3, 1.5 if after else 3.0) * SR)
    total = pos

    floor, capture_floor_db = make_floor(rng, floor_kind, total, capture_floor_db, fast=True)
    background: dict = {}
    if background_kind == "music":
        style = MUSIC_STYLES[j % len(MUSIC_STYLES)]
        drums = bool(j % 2)
        level = float(rng.uniform(-50, -30))
        sig = synth_music(rng, total, style, drums)
        background = {"kind": "music", "style": style, "drums": drums}
    elif background_kind == "tone":
        tone = TONE_KINDS[j % len(TONE_KINDS)]
        level = float(rng.uniform(-55, -35))
        if capture_floor_db is not None:
            level = max(level, capture_floor_db + 10)
        sig = synth_tone(rng, total, tone)
        background = {"kind": "tone", "style": tone}
    elif background_kind == "video_voice":
        level = -35.0
        sig = synth_video_voice(rng, src, total)
        background = {"kind": "video_voice"}
    if background:
        # Room for the note over the background: its gain up (to 0 dB at
        # most), then the background down.
        peak = note.voice_peak_db + note.gain_db
        raise_db = min(-note.gain_db, max(0.0, level + BACKGROUND_UNDER_PEAK_DB - peak))
        if raise_db > 0:
            g_up = np.float32(10 ** (raise_db / 20))
            note.signal, note.clean = note.signal * g_up, note.clean * g_up
            note.gain_db += raise_db
        level = min(level, note.voice_peak_db + note.gain_db - BACKGROUND_UNDER_PEAK_DB)
        background["level_dbfs"] = level
    if background:
        g = 10 ** (background["level_dbfs"] / 20)
        floor = floor + (sig * np.float32(g))[:, None] * np.array([[1.0, 0.9]], np.float32)

    capture, distractors, floor_power = finish_capture(
        rng, floor_kind, floor, [(note_start, note)], placements, case_id
    )
    truth = note_truth(note, note_start, floor_power, case_id)
    path = write_capture(out_dir, case_id, capture)
    return {
        "id": case_id,
        "file": path.name,
        "samplerate": SR,
        "frames": total,
        "duration_s": total / SR,
        "category": category,
        "floor": floor_kind,
        "distractor": ("none" if not placements else f"{category} ({len(placements)})"),
        "voice": voice_src,
        "pieces": note.pieces,
        "speed": speed,
        "background": background or None,
        "overlap": overlap_side,
        **{key: v for key, v in truth.items() if key != "levels"},
        "distractors": distractors,
        "levels": truth["levels"],
        "opus_lag_samples": note.lag,
    }


def make_long_case(k: int, seed: int, out_dir: str, tmp_dir: str) -> dict:
    """One capture of a long note (``long000`` ...): 10-18 voice pieces
    joined by pauses of 0.4-2.5 s, a note of 30-70 s (people's voice notes
    often last a minute), category ``LONG_CATEGORIES[k % 4]``: over music,
    a tone or a video's voice, made as for the mix cases
    (:func:`make_mix_case`), or over the device's floor alone; voice and
    floor cycled over ``k // 4``.  Its own seed sequence (``[seed, k, 4]``):
    the other cases are unchanged by it."""
    return make_mix_case(k, seed, out_dir, tmp_dir, long=True)


# --------------------------------------------------------------------------
# one multi-note case

#: Where other sounds go in a multi-note capture: nowhere, before the first
#: note and after the last, in one of the gaps between notes, or all three.
MULTI_LAYOUTS = ["none", "outside", "between", "all"]
MULTI_NOTES = [2, 3, 4, 5]
#: Gaps between consecutive notes (s, first sample after the last): one band
#: per gap in turn, so short gaps are as common as long ones.
GAP_BANDS_S = [(0.7, 1.0), (1.0, 1.6), (1.6, 2.5), (2.5, 4.0)]
#: Pauses inside a multi-note capture's notes (s).
MULTI_PAUSE_S = (0.4, 1.5)


def make_multi_case(i: int, seed: int, out_dir: str, tmp_dir: str) -> dict:
    """2-5 notes played one after another (see :func:`generate_multi`)."""
    src = _SOURCES
    assert src is not None
    # A seed sequence of its own: multi-note case i shares no draws with case i.
    rng = np.random.default_rng([seed, i, 2])
    floor_kind = FLOORS[i % len(FLOORS)]
    layout = MULTI_LAYOUTS[(i // len(FLOORS)) % len(MULTI_LAYOUTS)]
    n_notes = MULTI_NOTES[(i // (len(FLOORS) * len(MULTI_LAYOUTS))) % len(MULTI_NOTES)]
    case_id = f"multi{i:03d}"

    capture_floor_db = None
    notes: list[Note] = []
    for k in range(n_notes):
        voice_src = VOICES[int(rng.integers(len(VOICES)))]
        note, capture_floor_db = make_note(
            rng,
            src,
            voice_src,
            floor_kind,
            capture_floor_db,
            tmp_dir,
            f"m{i}_{k}",
            MULTI_PAUSE_S,
            fast=True,
        )
        notes.append(note)

    def distractor() -> tuple[str, str, np.ndarray]:
        return make_sound(rng, src) if rng.random() < 0.6 else make_click_distractor(rng)

    before = distractor() if layout in ("outside", "all") else None
    after = distractor() if layout in ("outside", "all") else None
    between_gap = int(rng.integers(n_notes - 1)) if layout in ("between", "all") else None
    between = distractor() if between_gap is not None else None

    # ---- layout: [lead][sound?] note [gap] note [gap [sound] gap] note ... [sound?][tail]
    pos = 0
    placements = []  # (kind, name, start, signal)
    if before is not None:
        pos += int(rng.uniform(0.3, 1.5) * SR)
        placements.append((before[0], before[1], pos, before[2]))
        pos += len(before[2]) + int(rng.uniform(0.8, 2.5) * SR)
    else:
        pos += int(rng.uniform(0.3, 3.0) * SR)
    starts = []
    gaps = []
    for k, note in enumerate(notes):
        if k:
            gap_start = pos
            if between is not None and k - 1 == between_gap:
                pos += int(rng.uniform(0.8, 2.5) * SR)
                placements.append((between[0], between[1], pos, between[2]))
                pos += len(between[2]) + int(rng.uniform(0.8, 2.5) * SR)
            else:
                pos += int(rng.uniform(*GAP_BANDS_S[(i + k - 1) % len(GAP_BANDS_S)]) * SR)
            gaps.append((gap_start, pos, between is not None and k - 1 == between_gap))
        starts.append(pos)
        pos += len(note.signal)
    if after is not None:
        pos += int(rng.uniform(0.8, 2.5) * SR)
        placements.append((after[0], after[1], pos, after[2]))
        pos += len(after[2]) + int(rng.uniform(0.3, 1.5) * SR)
    else:
        pos += int(rng.uniform(0.3, 3.0) * SR)
    total = pos

    floor, capture_floor_db = make_floor(rng, floor_kind, total, capture_floor_db, fast=True)
    capture, distractors, floor_power = finish_capture(
        rng, floor_kind, floor, list(zip(starts, notes, strict=True)), placements, case_id
    )
    truths = []
    for start, note in zip(starts, notes, strict=True):
        t = note_truth(note, start, floor_power, case_id)
        t["voice"] = note.voice
        t["pieces"] = note.pieces
        t["opus_lag_samples"] = note.lag
        t["longest_silence_s"] = longest_silence_s(note, floor_power)
        truths.append(t)
    path = write_capture(out_dir, case_id, capture)
    return {
        "id": case_id,
        "file": path.name,
        "samplerate": SR,
        "frames": total,
        "duration_s": total / SR,
        "floor": floor_kind,
        "layout": layout,
        "notes": truths,
        "gaps": [
            {
                "true_s": (b - a) / SR,
                "audible_s": truths[k + 1]["audible_start_s"] - truths[k]["audible_end_s"],
                "distractor": holds,
            }
            for k, (a, b, holds) in enumerate(gaps)
        ],
        "distractors": distractors,
        "capture_floor_dbfs": db(floor_power),
    }


# --------------------------------------------------------------------------


def _call(task: tuple[Callable[[int, int, str, str], dict], int, int, str, str]) -> dict:
    make, i, seed, out, tmp = task
    return make(i, seed, out, tmp)


def _generate(
    makers: list[tuple[Callable[[int, int, str, str], dict], int]],
    kind: str,
    out_dir: str | os.PathLike,
    seed: int,
    jobs: int | None,
    extra: dict | None = None,
) -> list[dict]:
    """Run ``make(i, seed, out, tmp)`` for each ``(make, count)`` and every
    ``i < count``, in worker processes; write the manifest."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = jobs or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="trimgen-") as tmp:
        sources = build_sources(Path(tmp))
        tasks = [(make, i, seed, str(out), tmp) for make, count in makers for i in range(count)]
        if jobs == 1:
            _init_worker(sources)
            cases = [_call(t) for t in tasks]
        else:
            with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(sources,)) as ex:
                cases = list(ex.map(_call, tasks))
    meta = {"seed": seed, "n": makers[0][1], "samplerate": SR, **(extra or {}), "cases": cases}
    if kind != "single":
        meta["kind"] = kind
    (out / "manifest.json").write_text(json.dumps(meta, indent=1))
    return cases


#: New cases (``mix000`` ...) beside the 120 single-note cases by default:
#: 10 of each of ``MIX_CATEGORIES``.
N_MIX = 60


def generate(
    out_dir: str | os.PathLike,
    n: int = 120,
    seed: int = 1,
    jobs: int | None = None,
    new: int = N_MIX,
    long: int = 0,
) -> list[dict]:
    """Write ``n`` single-note cases (``case000`` ...), ``new`` cases where
    something else plays (``mix000`` ..., see :func:`make_mix_case`),
    ``long`` long notes (``long000`` ..., see :func:`make_long_case`) and
    ``manifest.json`` into ``out_dir``; return the manifest (one dict per
    case, see the module's docstring).  The single-note cases are the same
    whatever ``new`` and ``long`` are, and the others whatever ``long`` is."""
    makers = [(make_case, n), (make_mix_case, new), (make_long_case, long)]
    return _generate(makers, "single", out_dir, seed, jobs, {"new": new, "long": long})


def generate_multi(
    out_dir: str | os.PathLike, n: int = 80, seed: int = 1, jobs: int | None = None
) -> list[dict]:
    """Write ``n`` multi-note cases (``multi000.wav`` ...) and
    ``manifest.json`` (with ``"kind": "multi"``) into ``out_dir``; return
    the manifest's cases (see the module's docstring)."""
    return _generate([(make_multi_case, n)], "multi", out_dir, seed, jobs)


def load_manifest(out_dir: str | os.PathLike) -> list[dict]:
    return json.loads((Path(out_dir) / "manifest.json").read_text())["cases"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="directory for the WAVs and manifest.json")
    ap.add_argument(
        "--multi", action="store_true", help="captures of 2-5 consecutive notes (for splitting)"
    )
    ap.add_argument(
        "--n", type=int, default=None, help="number of cases (default 120, or 80 with --multi)"
    )
    ap.add_argument(
        "--new",
        type=int,
        default=N_MIX,
        help=f"cases where something else plays (default {N_MIX}; not with --multi)",
    )
    ap.add_argument(
        "--long", type=int, default=0, help="long notes, 30-70 s (default 0; not with --multi)"
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: cores)")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    if a.multi:
        cases = generate_multi(a.out, 80 if a.n is None else a.n, a.seed, a.jobs)
    else:
        cases = generate(a.out, 120 if a.n is None else a.n, a.seed, a.jobs, a.new, a.long)
    dt = time.perf_counter() - t0
    secs = sum(c["duration_s"] for c in cases)
    notes = sum(len(c.get("notes", [None])) for c in cases)
    print(
        f"{len(cases)} cases, {notes} notes, {secs / 60:.1f} min of audio, in {a.out} ({dt:.1f} s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
