"""The flexaudio backend of per-application capture, against a fake
``flexaudio`` module (sys.modules): which processes it records, how their
chunks land on one timeline, how it follows processes that come and go,
how flexaudio's errors read, and how soon a stop returns."""

from __future__ import annotations

import sys
import threading
import time
import types
from collections import deque
from types import SimpleNamespace

import numpy as np
import pytest

from loopcap.device import flexaudio_app as fx
from loopcap.errors import DeviceError, DeviceLostError

SR = 48000
#: PIDs no process has (above Linux's pid_max): gone once unlisted.
GONE = 5_000_000


class FakeStream:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.chunks: deque = deque()
        self.events: deque = deque()
        self.stopped = threading.Event()
        self.fail: Exception | None = None
        self.stop_s = 0.0
        self.rate = SR  # the stream's rate
        self.frame_index = 0  # as flexaudio counts: 48 kHz frames at any rate
        self.dropped = 0

    def push(self, frames: np.ndarray) -> None:
        data = frames.astype(np.float32).tobytes()
        self.chunks.append(SimpleNamespace(data=data, frame_index=self.frame_index))
        self.frame_index += round(len(frames) * 48000 / self.rate)

    def drop(self, chunks: int, frames: int) -> None:
        """Chunks of ``frames`` its ring dropped: told as flexaudio tells
        them (one event each, counting), and the next chunk's frame_index
        jumps."""
        for _ in range(chunks):
            self.dropped += 1
            self.events.append(SimpleNamespace(type="chunkDropped", count=self.dropped))
        self.frame_index += round(chunks * frames * 48000 / self.rate)

    def poll_chunk(self):
        if self.fail is not None and not self.chunks:
            raise self.fail
        return self.chunks.popleft() if self.chunks else None

    def poll_event(self):
        return self.events.popleft() if self.events else None

    def stop(self) -> None:
        time.sleep(self.stop_s)  # flexaudio's stop blocks up to 0.25 s
        self.stopped.set()


def fake_module(status: str = "supported", reason: dict | None = None) -> types.ModuleType:
    fa = types.ModuleType("flexaudio")
    for name in (
        "UnsupportedOsVersionError",
        "RecordingPermissionError",
        "UnsupportedError",
        "DeviceLostError",
        "DeviceNotFoundError",
        "BackendError",
    ):
        setattr(fa, name, type(name, (RuntimeError,), {}))
    fa.InvalidArgumentError = type("InvalidArgumentError", (ValueError,), {})
    fa.procs = []
    fa.streams = {}
    fa.opened = []
    fa.open_kwargs = []
    fa.open_error = None

    def processes():
        return list(fa.procs)

    def open_(kind, *, process_id, output_rate, output_channels, **options):
        fa.opened.append((kind, process_id, output_rate, output_channels))
        fa.open_kwargs.append(options)
        if fa.open_error is not None:
            raise fa.open_error
        fa.streams[process_id] = FakeStream(process_id)
        return fa.streams[process_id]

    def capabilities():
        availability = {"status": status}
        if reason is not None:
            availability["reason"] = reason
        return {"sources": {"process": {"backend": "other", "availability": availability}}}

    fa.processes, fa.open, fa.capabilities = processes, open_, capabilities
    return fa


def proc(pid: int, name: str, executable: str | None = None):
    return SimpleNamespace(
        pid=pid, name=name, executable=executable, bundle_id=None, is_output_active=True
    )


@pytest.fixture
def fa(monkeypatch):
    module = fake_module()
    monkeypatch.setitem(sys.modules, "flexaudio", module)
    return module


def tone(seconds: float, freq: float = 440.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    return np.repeat((amp * np.sin(2 * np.pi * freq * t))[:, None], 2, axis=1).astype(np.float32)


def feed(stream, fake: FakeStream, clock, audio: np.ndarray, start: float) -> None:
    """Deliver ``audio`` as 20 ms chunks, each polled as it is complete,
    from monotonic ``start`` on."""
    chunk = SR // 50
    for i in range(0, len(audio), chunk):
        fake.push(audio[i : i + chunk])
        clock.t = start + (i + chunk) / SR
        stream._poll_all()


def mixed(stream) -> np.ndarray:
    """All the stream hands over, on the timeline from its epoch (mono)."""
    out = np.zeros(0)
    for frames, t_end in stream._take(drain=True):
        end = stream._mixer.position(t_end)
        if len(out) < end:
            out = np.concatenate([out, np.zeros(end - len(out))])
        out[end - len(frames) : end] += frames.mean(axis=1)
    return out


def test_records_each_matching_process_and_nothing_else(fa, clock):
    fa.procs = [proc(10, "notes", "pacat"), proc(11, "music", "pacat"), proc(12, "Chromium")]
    stream = fx.FlexaudioAppStream("notes", SR, 2)
    stream._follow()
    assert fa.opened == [("process", 10, SR, 2)]
    other = fx.FlexaudioAppStream("CHROM", SR, 2)
    other._follow()
    assert fa.opened[-1][1] == 12  # by name, case-insensitively
    fa.procs = [proc(13, "Google Chrome", "C:\\Program Files\\Google\\chrome.exe")]
    other._follow()
    assert fa.opened[-1][1] == 13  # by the executable too


def test_two_processes_mixed_on_one_timeline_at_their_places(fa, clock):
    fa.procs = [proc(GONE, "notes"), proc(GONE + 1, "notes-helper")]
    stream = fx.FlexaudioAppStream("notes", SR, 2)
    t0 = stream._mixer.epoch
    stream._follow()
    a, b = tone(0.6, 440), tone(0.4, 660)
    feed(stream, fa.streams[GONE], clock, a, t0 + 1.0)
    feed(stream, fa.streams[GONE + 1], clock, b, t0 + 2.0)
    out = mixed(stream)
    at_a, at_b = round(1.0 * SR), round(2.0 * SR)
    np.testing.assert_allclose(out[at_a : at_a + len(a)], a[:, 0], atol=1e-6)
    np.testing.assert_allclose(out[at_b : at_b + len(b)], b[:, 0], atol=1e-6)
    assert not out[: at_a - 1].any(), "something before the first sound"


def test_a_run_is_placed_by_all_its_first_arrivals(fa, clock):
    """The first poll came late (three chunks at once): placed by the later
    polls, which were on time, the run starts where it began."""
    fa.procs = [proc(GONE, "notes")]
    stream = fx.FlexaudioAppStream("notes", SR, 2)
    t0 = stream._mixer.epoch
    stream._follow()
    fake, sound = fa.streams[GONE], tone(0.5)
    chunk = SR // 50
    for i in range(3):
        fake.push(sound[i * chunk : (i + 1) * chunk])
    clock.t = t0 + 1.0 + 3 * chunk / SR + 0.015  # polled 15 ms late
    stream._poll_all()
    feed(stream, fake, clock, sound[3 * chunk :], t0 + 1.0 + 3 * chunk / SR)
    out = mixed(stream)
    start = int(np.flatnonzero(out)[0])
    assert abs(start - SR) <= 2, f"placed {1000 * (start - SR) / SR:.1f} ms off"


def test_zeros_before_a_sound_are_nothing_and_inside_it_are_kept(fa, clock):
    fa.procs = [proc(GONE, "notes")]
    stream = fx.FlexaudioAppStream("notes", SR, 2)
    t0 = stream._mixer.epoch
    stream._follow()
    fake = fa.streams[GONE]
    feed(stream, fake, clock, np.zeros((SR, 2), np.float32), t0 + 0.5)  # quiet
    assert not stream._mixer.holding and not stream._runs[GONE].pending
    note = np.concatenate([tone(0.3), np.zeros((SR // 5, 2), np.float32), tone(0.3)])
    feed(stream, fake, clock, note, t0 + 2.0)
    out = mixed(stream)
    at = round(2.0 * SR)
    np.testing.assert_allclose(out[at : at + len(note)], note[:, 0], atol=1e-6)


def test_chunks_flexaudio_dropped_become_silence_at_their_place(fa, clock):
    """Its ring dropped 60 ms while this thread was held up (frame_index
    jumps): silence stands there, what follows stays at its true place, and
    the log says so."""
    from loguru import logger

    fa.procs = [proc(GONE, "notes")]
    stream = fx.FlexaudioAppStream("notes", SR, 2)
    t0 = stream._mixer.epoch
    stream._follow()
    fake, chunk = fa.streams[GONE], SR // 50
    sound = tone(1.0)
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="WARNING")
    try:
        feed(stream, fake, clock, sound[: 20 * chunk], t0 + 1.0)
        fake.drop(3, chunk)
        feed(stream, fake, clock, sound[23 * chunk :], t0 + 1.0 + 23 * chunk / SR)
    finally:
        logger.remove(sink)
    out = mixed(stream)
    at = round(1.0 * SR)
    np.testing.assert_allclose(out[at : at + 20 * chunk], sound[: 20 * chunk, 0], atol=1e-6)
    assert not out[at + 20 * chunk : at + 23 * chunk].any()
    np.testing.assert_allclose(
        out[at + 23 * chunk : at + len(sound)], sound[23 * chunk :, 0], atol=1e-6
    )
    assert len(lines) == 1 and "60 ms of the app's sound" in lines[0], lines
    assert fa.open_kwargs[-1]["ring_capacity_chunks"] == fx.RING_CHUNKS


def test_at_another_rate_frame_index_counts_48_khz_frames(fa, clock):
    """At 44.1 kHz a chunk of 882 frames moves frame_index by 960: no gap
    in that; a drop of two chunks is two chunks of silence."""
    rate, chunk = 44100, 882
    fa.procs = [proc(GONE, "notes")]
    stream = fx.FlexaudioAppStream("notes", rate, 2)
    stream._follow()
    fake = fa.streams[GONE]
    fake.rate = rate
    sound = np.ones((40 * chunk, 2), np.float32) * 0.1
    for i in range(20):
        fake.push(sound[i * chunk : (i + 1) * chunk])
    got, _ = stream._poll(fake)
    assert len(got) == 20 * chunk and got.all()
    # Unbroken chunks, then the drop, then one more, in one poll (the drop
    # told first): only the jump is filled, two chunks long.
    for i in range(3):
        fake.push(sound[i * chunk : (i + 1) * chunk])
    fake.drop(2, chunk)
    fake.push(sound[:chunk])
    got, _ = stream._poll(fake)
    assert len(got) == 6 * chunk
    assert got[: 3 * chunk].all(), "silence put between unbroken chunks"
    assert not got[3 * chunk : 5 * chunk].any() and got[5 * chunk :].all()


def test_a_drop_is_as_long_as_the_chunks_before_it(fa, clock):
    """A short chunk after a drop (a stream's last): the silence is the
    dropped chunk's size, not the short one's; drops told before the first
    chunk have no place and are not put in later."""
    fa.procs = [proc(GONE, "notes")]
    stream = fx.FlexaudioAppStream("notes", SR, 2)
    stream._follow()
    fake, chunk = fa.streams[GONE], SR // 50
    sound = np.ones((4 * chunk, 2), np.float32) * 0.1
    fake.drop(1, chunk)  # before the first chunk
    fake.push(sound[:chunk])
    fake.push(sound[:chunk])
    got, _ = stream._poll(fake)
    assert len(got) == 2 * chunk and got.all()
    fake.frame_index += chunk  # a jump no drop explains: not filled
    fake.push(sound[:chunk])
    got, _ = stream._poll(fake)
    assert len(got) == chunk
    fake.drop(1, chunk)
    fake.push(sound[:100])
    got, _ = stream._poll(fake)
    assert len(got) == chunk + 100 and not got[:chunk].any() and got[chunk:].all()


def test_a_jump_with_no_drop_told_is_left_to_the_mixer(fa, clock):
    """frame_index jumps with no chunk dropped (a stream reopened after a
    stall, or a startup's padding): nothing is put in; the mixer places
    what follows by its arrival."""
    fa.procs = [proc(GONE, "notes")]
    stream = fx.FlexaudioAppStream("notes", SR, 2)
    stream._follow()
    fake, chunk = fa.streams[GONE], SR // 50
    sound = np.ones((3 * chunk, 2), np.float32) * 0.1
    fake.push(sound[:chunk])
    stream._poll(fake)
    fake.frame_index += 100 * chunk
    fake.push(sound[:chunk])
    got, _ = stream._poll(fake)
    assert len(got) == chunk and got.all()
    # Drops told before a reopen are not put into the reopened stream.
    fake.drop(2, chunk)
    fake.events.append(SimpleNamespace(type="recovered"))
    fake.frame_index += 50 * chunk
    fake.push(sound[:chunk])
    got, _ = stream._poll(fake)
    assert len(got) == chunk and got.all()


def test_a_drop_told_after_its_gap_was_taken_is_put_in_at_the_next_poll(fa, clock):
    """Three chunks dropped, one of them told only after the poll took the
    chunk past the gap: that poll fills two, the next puts the third in
    before its own chunks, and from there on every chunk lies at its true
    place; the poll after that puts nothing in."""
    fa.procs = [proc(GONE, "notes")]
    stream = fx.FlexaudioAppStream("notes", SR, 2)
    stream._follow()
    fake, chunk = fa.streams[GONE], SR // 50
    sound = np.ones((chunk, 2), np.float32) * 0.1
    for _ in range(4):
        fake.push(sound)
    assert len(stream._poll(fake)[0]) == 4 * chunk
    fake.drop(3, chunk)
    late = fake.events.pop()  # the third drop, told late
    fake.push(sound)
    got, _ = stream._poll(fake)
    assert len(got) == 3 * chunk and not got[: 2 * chunk].any() and got[2 * chunk :].all()
    fake.events.append(late)
    fake.push(sound)
    got, _ = stream._poll(fake)
    assert len(got) == 2 * chunk and not got[:chunk].any() and got[chunk:].all()
    fake.push(sound)
    got, _ = stream._poll(fake)
    assert len(got) == chunk and got.all()


def test_a_late_drop_waits_for_the_next_chunks_and_no_tell_puts_nothing_in(fa, clock):
    """A jump of one chunk no drop tells of: nothing is put in then.  The
    drop told at a poll that took no chunk is put in before the next poll's
    chunks; a second such jump never told of puts nothing in."""
    fa.procs = [proc(GONE, "notes")]
    stream = fx.FlexaudioAppStream("notes", SR, 2)
    stream._follow()
    fake, chunk = fa.streams[GONE], SR // 50
    sound = np.ones((chunk, 2), np.float32) * 0.1
    fake.push(sound)
    stream._poll(fake)
    fake.drop(1, chunk)
    late = fake.events.pop()
    fake.push(sound)
    got, _ = stream._poll(fake)
    assert len(got) == chunk and got.all()
    fake.events.append(late)
    assert len(stream._poll(fake)[0]) == 0  # told, with no chunk yet
    fake.push(sound)
    got, _ = stream._poll(fake)
    assert len(got) == 2 * chunk and not got[:chunk].any() and got[chunk:].all()
    fake.frame_index += chunk  # a jump never told of
    for _ in range(3):
        fake.push(sound)
        got, _ = stream._poll(fake)
        assert len(got) == chunk and got.all()


def test_follows_processes_that_come_and_go(fa, clock):
    stream = fx.FlexaudioAppStream("notes", SR, 2)
    stream._follow()
    assert not fa.opened, "nothing matches yet"
    fa.procs = [proc(GONE, "notes")]
    stream._follow()
    first = fa.streams[GONE]
    fa.procs = []
    stream._follow()  # unlisted, and no such process runs: its stream stops
    assert first.stopped.wait(2) and GONE not in stream._runs
    import os

    fa.procs = [proc(os.getpid(), "notes")]
    stream._follow()
    fa.procs = []
    stream._follow()  # unlisted but running: kept for its next stream
    assert os.getpid() in stream._runs
    stream.close()
    assert fa.streams[os.getpid()].stopped.wait(2)


def test_a_stream_that_ends_is_closed_and_its_sound_kept(fa, clock):
    fa.procs = [proc(GONE, "notes")]
    stream = fx.FlexaudioAppStream("notes", SR, 2)
    t0 = stream._mixer.epoch
    stream._follow()
    fake = fa.streams[GONE]
    fake.push(tone(0.1))
    fake.fail = fa.DeviceLostError("the process's node is gone")
    clock.t = t0 + 1.0
    stream._poll_all()
    assert fake.stopped.wait(2) and GONE not in stream._runs
    assert len(mixed(stream)) > 0


@pytest.mark.parametrize(
    ("error", "kind", "words"),
    [
        ("UnsupportedOsVersionError", DeviceError, "Windows 11 (build 20348 or later)"),
        ("RecordingPermissionError", DeviceError, "refused to let loopcap record"),
        ("UnsupportedError", DeviceError, "records the whole output only"),
        ("DeviceLostError", DeviceLostError, "what was captured so far is saved"),
    ],
)
def test_flexaudios_errors_read_as_one_plain_sentence(fa, clock, monkeypatch, error, kind, words):
    monkeypatch.setattr(fx.sys, "platform", "win32")
    fa.procs = [proc(GONE, "notes")]
    fa.open_error = getattr(fa, error)("E_NATIVE 0x8889000a")
    stream = fx.FlexaudioAppStream("notes", SR, 2)
    with pytest.raises(kind) as caught:
        stream._follow()
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_process_that_vanished_before_its_open_is_no_error(fa, clock):
    fa.procs = [proc(GONE, "notes")]
    fa.open_error = fa.InvalidArgumentError("no such process")
    stream = fx.FlexaudioAppStream("notes", SR, 2)
    stream._follow()  # tried again at the next scan
    assert not stream._runs


def test_permission_denied_while_recording_is_said(fa, clock):
    fa.procs = [proc(GONE, "notes")]
    stream = fx.FlexaudioAppStream("notes", SR, 2)
    stream._follow()
    fa.streams[GONE].events.append(SimpleNamespace(type="permissionDenied", message="denied"))
    with pytest.raises(DeviceError, match="refused to let loopcap record"):
        stream._poll_all()


def test_nothing_while_none_plays_and_a_stop_returns_at_once(fa):
    """read() sleeps while no process of the app plays; drain() makes it
    return within DRAIN_LAG_S and a little, with nothing."""
    stream = fx.FlexaudioAppStream("notes", SR, 2)
    got: list = []
    reader = threading.Thread(target=lambda: got.append(stream.read()))
    reader.start()
    time.sleep(0.3)
    assert not got, "it handed something over while nothing played"
    t = time.monotonic()
    stream.drain()
    reader.join(2)
    took = time.monotonic() - t
    assert got and len(got[0][0]) == 0
    assert took < stream.DRAIN_LAG_S + 0.05, f"the stop took {1000 * took:.0f} ms"
    stream.close()


def test_a_stop_while_playing_hands_over_all_within_250_ms(fa):
    import os

    fa.procs = [proc(os.getpid(), "notes")]
    stream = fx.FlexaudioAppStream("notes", SR, 2)
    blocks: list = []
    done = threading.Event()

    def reader() -> None:  # as the capture thread does
        while not done.is_set():
            blocks.append(stream.read()[0])

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    deadline = time.monotonic() + 2
    while os.getpid() not in fa.streams:
        assert time.monotonic() < deadline, "the process was never opened"
        time.sleep(0.01)
    fake = fa.streams[os.getpid()]
    fake.stop_s = 0.25  # as measured on PipeWire: the close must not wait on it
    for _ in range(25):  # 0.5 s of sound, a chunk every 20 ms
        fake.push(tone(0.02))
        time.sleep(0.02)
    t = time.monotonic()
    done.set()
    stream.drain()
    thread.join(1)
    stream.close()
    took = time.monotonic() - t
    assert took < 0.25, f"the stop took {1000 * took:.0f} ms"
    assert fake.stopped.wait(1), "the stream was never stopped"
    total = sum(len(b) for b in blocks)
    assert abs(total - 25 * SR // 50) <= SR // 50, total


def test_wiring_chooses_flexaudio_when_asked_and_says_why_not(fa, monkeypatch):
    from loopcap import device

    monkeypatch.setenv("LOOPCAP_BACKEND", "soundcard")
    monkeypatch.setenv("LOOPCAP_APP_BACKEND", "flexaudio")
    assert device.app_capture_support() == (True, "")
    assert isinstance(device.open_app_source("notes"), fx.FlexaudioAppSource)
    fa.procs = [proc(10, "notes", "pacat")]
    assert [a.pid for a in device.list_apps()] == [10]
    old = fake_module(
        "unavailable",
        {"kind": "osVersionTooOld", "required": {}, "actual": {}},
    )
    monkeypatch.setitem(sys.modules, "flexaudio", old)
    monkeypatch.setattr(fx.sys, "platform", "win32")
    supported, why = device.app_capture_support()
    assert not supported and "Windows 11 (build 20348 or later)" in why
    monkeypatch.setitem(sys.modules, "flexaudio", None)  # not installed
    supported, why = device.app_capture_support()
    assert not supported and "pip install loopcap[app-windows]" in why
    with pytest.raises(DeviceError, match="app-windows"):
        device.open_app_source("notes")


def test_listings_failing_for_seconds_end_the_capture(fa, clock):
    stream = fx.FlexaudioAppStream("notes", SR, 2)

    def busy():
        raise RuntimeError("a listing is already in progress")

    fa.processes = busy
    stream._follow()  # once: busy, tried again
    clock.t += fx.LISTING_LOST_S - 0.5
    stream._follow()
    clock.t += 1.0
    with pytest.raises(DeviceLostError, match="stopped answering"):
        stream._follow()
