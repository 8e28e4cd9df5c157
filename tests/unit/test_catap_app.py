"""The catap backend (macOS process taps) of per-application capture,
against a fake ``catap`` module (sys.modules) that follows catap 0.6's API:
``list_audio_processes()``, ``record_processes([proc], on_buffer=cb)``
with ``start()``/``close()``, buffers with ``data`` and ``format``.  Which
processes it taps (name or bundle id), how their buffers are mixed on one
timeline, and the sentence said when macOS delivers only silence."""

from __future__ import annotations

import os
import sys
import threading
import time
import types
from types import SimpleNamespace

import numpy as np
import pytest
from loguru import logger

from loopcap.device import catap_app as ca
from loopcap.errors import DeviceError

SR = 48000
GONE = 5_000_000  # no process has this PID: gone once unlisted


class FakeSession:
    def __init__(self, processes, on_buffer) -> None:
        self.processes = processes
        self.on_buffer = on_buffer
        self.is_recording = False
        self.capture_failed = False
        self.captured_only_silence = True
        self.closed = False

    def start(self) -> None:
        self.is_recording = True

    def close(self) -> None:
        self.is_recording = False
        self.closed = True

    def deliver(self, frames: np.ndarray, rate: float = SR, is_float: bool = True) -> None:
        """As catap's worker thread: one native buffer."""
        if frames.any():
            self.captured_only_silence = False
        fmt = SimpleNamespace(
            sample_rate=rate,
            num_channels=frames.shape[1],
            bits_per_sample=32,
            is_float=is_float,
            format_id="lpcm",
        )
        data = frames.astype(np.float32).tobytes()
        self.on_buffer(SimpleNamespace(data=data, frame_count=len(frames), format=fmt))


@pytest.fixture
def catap(monkeypatch):
    module = types.ModuleType("catap")
    module.procs = []
    module.sessions = {}

    def list_audio_processes():
        return list(module.procs)

    def record_processes(processes, output_path=None, *, on_buffer=None, **_):
        assert output_path is None and on_buffer is not None and len(processes) == 1
        session = FakeSession(processes, on_buffer)
        module.sessions[processes[0].pid] = session
        return session

    module.list_audio_processes = list_audio_processes
    module.record_processes = record_processes
    monkeypatch.setitem(sys.modules, "catap", module)
    return module


def proc(pid: int, name: str, bundle_id: str | None = None, outputting: bool = True):
    return SimpleNamespace(
        audio_object_id=pid + 100,
        pid=pid,
        bundle_id=bundle_id,
        name=name,
        is_outputting=outputting,
        is_running=outputting,
    )


def tone(seconds: float, freq: float = 440.0, channels: int = 2) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    x = 0.3 * np.sin(2 * np.pi * freq * t)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def feed(stream, session: FakeSession, clock, audio: np.ndarray, start: float) -> None:
    """Deliver ``audio`` as 10 ms buffers, polled every 20 ms."""
    size = SR // 100
    for i in range(0, len(audio), size):
        session.deliver(audio[i : i + size])
        if (i // size) % 2:
            clock.t = start + (i + size) / SR
            stream._poll_all()
    clock.t = start + len(audio) / SR
    stream._poll_all()


def mixed(stream) -> np.ndarray:
    out = np.zeros(0)
    for frames, t_end in stream._take(drain=True):
        end = stream._mixer.position(t_end)
        if len(out) < end:
            out = np.concatenate([out, np.zeros(end - len(out))])
        out[end - len(frames) : end] += frames.mean(axis=1)
    return out


def test_taps_the_processes_matching_by_name_or_bundle_id(catap, clock):
    catap.procs = [
        proc(GONE, "Google Chrome Helper", "com.google.Chrome.helper"),
        proc(GONE + 1, "WhatsApp", "net.whatsapp.WhatsApp"),
        proc(GONE + 2, "Music", "com.apple.Music"),
    ]
    stream = ca.CatapAppStream("chrome", SR, 2)
    stream._follow()
    assert set(catap.sessions) == {GONE}
    assert catap.sessions[GONE].is_recording
    other = ca.CatapAppStream("net.whatsapp", SR, 2)  # a bundle id names it too
    other._follow()
    assert GONE + 1 in catap.sessions and GONE + 2 not in catap.sessions


def test_two_taps_mixed_on_one_timeline(catap, clock):
    catap.procs = [proc(GONE, "Chromium"), proc(GONE + 1, "Chromium Helper")]
    stream = ca.CatapAppStream("chromium", SR, 2)
    t0 = stream._mixer.epoch
    stream._follow()
    a, b = tone(0.5, 440), tone(0.5, 660)
    feed(stream, catap.sessions[GONE], clock, a, t0 + 1.0)
    feed(stream, catap.sessions[GONE + 1], clock, b, t0 + 1.25)  # overlapping
    out = mixed(stream)
    want = np.zeros(round(1.75 * SR))
    want[SR : SR + len(a)] += a[:, 0]
    at = round(1.25 * SR)
    want[at : at + len(b)] += b[:, 0]
    np.testing.assert_allclose(out[: len(want)], want, atol=1e-5)


def test_mono_and_other_rates_become_the_captures_format(catap, clock):
    catap.procs = [proc(GONE, "Zoom")]
    stream = ca.CatapAppStream("zoom", SR, 2)
    stream._follow()
    session = catap.sessions[GONE]
    session.deliver(tone(0.1, channels=1))
    frames, alive = stream._poll(stream._runs[GONE].handle)
    assert alive and frames.shape == (SR // 10, 2)
    np.testing.assert_array_equal(frames[:, 0], frames[:, 1])
    catap.procs = [proc(GONE + 1, "Zoom")]
    stream._follow()
    t = np.arange(4410 * 10) / 44100
    x = np.repeat((0.3 * np.sin(2 * np.pi * 440 * t))[:, None], 2, axis=1).astype(np.float32)
    for i in range(0, len(x), 4410):
        catap.sessions[GONE + 1].deliver(x[i : i + 4410], rate=44100.0)
    frames, _ = stream._poll(stream._runs[GONE + 1].handle)
    assert abs(len(frames) - SR) <= 1000  # (the resampler holds ~15 ms back)


def test_a_format_that_is_not_float32_is_refused_plainly(catap, clock):
    catap.procs = [proc(GONE, "Zoom")]
    stream = ca.CatapAppStream("zoom", SR, 2)
    stream._follow()
    catap.sessions[GONE].deliver(tone(0.01), is_float=False)
    with pytest.raises(DeviceError, match="format loopcap cannot read"):
        stream._poll_all()


def test_only_silence_from_an_app_that_plays_names_the_permission(catap, clock):
    messages: list[str] = []
    sink = logger.add(messages.append, level="WARNING", format="{message}")
    try:
        catap.procs = [proc(GONE, "Safari", "com.apple.Safari")]
        stream = ca.CatapAppStream("safari", SR, 2)
        t0 = stream._mixer.epoch
        stream._follow()
        session = catap.sessions[GONE]
        feed(stream, session, clock, np.zeros((SR, 2), np.float32), t0 + 0.1)
        assert not messages, "said before SILENT_S"
        feed(stream, session, clock, np.zeros((3 * SR, 2), np.float32), t0 + 1.1)
        feed(stream, session, clock, np.zeros((SR, 2), np.float32), t0 + 4.1)
    finally:
        logger.remove(sink)
    assert len(messages) == 1, messages
    assert "System Audio Recording" in messages[0]
    assert not stream._mixer.holding, "zeros were handed over as sound"


def test_an_app_that_is_quiet_is_not_taken_for_a_missing_permission(catap, clock):
    messages: list[str] = []
    sink = logger.add(messages.append, level="WARNING", format="{message}")
    try:
        catap.procs = [proc(GONE, "Safari", outputting=False)]
        stream = ca.CatapAppStream("safari", SR, 2)
        t0 = stream._mixer.epoch
        stream._follow()
        feed(stream, catap.sessions[GONE], clock, np.zeros((5 * SR, 2), np.float32), t0)
        catap.procs = [proc(GONE, "Safari", outputting=True)]
        stream._follow()
        feed(stream, catap.sessions[GONE], clock, tone(1.0), t0 + 5.0)
        feed(stream, catap.sessions[GONE], clock, np.zeros((4 * SR, 2), np.float32), t0 + 6.0)
    finally:
        logger.remove(sink)
    assert not messages, messages


def test_follows_taps_that_come_and_go(catap, clock):
    stream = ca.CatapAppStream("safari", SR, 2)
    stream._follow()
    assert not catap.sessions
    catap.procs = [proc(GONE, "Safari")]
    stream._follow()
    catap.procs = []
    stream._follow()  # gone: its tap is destroyed
    assert catap.sessions[GONE].closed and not stream._runs
    catap.procs = [proc(os.getpid(), "Safari")]
    stream._follow()
    catap.procs = []
    stream._follow()  # no longer listed, but it runs: kept
    assert not catap.sessions[os.getpid()].closed
    stream.close()
    assert catap.sessions[os.getpid()].closed


def test_a_stop_returns_at_once(catap):
    stream = ca.CatapAppStream("safari", SR, 2)
    got: list = []
    reader = threading.Thread(target=lambda: got.append(stream.read()))
    reader.start()
    time.sleep(0.3)
    t = time.monotonic()
    stream.drain()
    reader.join(2)
    assert got and len(got[0][0]) == 0
    assert time.monotonic() - t < stream.DRAIN_LAG_S + 0.05
    stream.close()


def test_wiring_on_macos(catap, monkeypatch):
    from loopcap import device

    monkeypatch.setenv("LOOPCAP_BACKEND", "soundcard")
    monkeypatch.delenv("LOOPCAP_APP_BACKEND", raising=False)
    monkeypatch.setattr(sys, "platform", "darwin")
    assert device.app_capture_support() == (True, "")
    assert isinstance(device.open_app_source("safari"), ca.CatapAppSource)
    catap.procs = [proc(GONE, "Safari", "com.apple.Safari")]
    assert [(a.name, a.binary) for a in device.list_apps()] == [("Safari", "com.apple.Safari")]
    monkeypatch.setitem(sys.modules, "catap", None)  # not installed, or macOS < 14.2
    supported, why = device.app_capture_support()
    assert not supported and "macOS 14.2 or later" in why and "loopcap[app-macos]" in why
