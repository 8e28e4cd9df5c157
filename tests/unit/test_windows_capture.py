"""The Windows capture path, on Linux: soundcard's WASAPI backend faked.

What runs on Windows is the stream's non-PulseAudio path (its blocking
``record()`` with the device list checked at every hand-over), COM joined on
the capture thread through soundcard's own ``_ole32``, and stereo capture.
The fake stands in for soundcard 0.4.6's ``mediafoundation`` module: a
recorder with no ``channels`` attribute, zeros while nothing plays, a bare
RuntimeError when the device is invalidated.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from loopcap.device.base import DeviceInfo
from loopcap.device.soundcard import com, stream
from loopcap.device.soundcard.com import ComThread, join_com
from loopcap.device.soundcard.stream import SoundcardStream, capture_channels
from loopcap.errors import DeviceError, DeviceLostError

E_FAIL = -2147467259  # 0x80004005 as the signed HRESULT (a C long) cffi returns
RPC_E_CHANGED_MODE = com.RPC_E_CHANGED_MODE - 2**32


class FakeOle32:
    def __init__(self, hr: int = 0) -> None:
        self.hr = hr
        self.calls: list[tuple[str, int]] = []

    def CoInitializeEx(self, reserved, mode):  # noqa: N802 - the Windows name
        assert reserved is None and mode == com.COINIT_MULTITHREADED
        self.calls.append(("init", threading.get_ident()))
        return self.hr

    def CoUninitialize(self):  # noqa: N802
        self.calls.append(("uninit", threading.get_ident()))


class FakeRecorder:
    """soundcard's WASAPI _Recorder: no ``channels``; frames x asked channels."""

    def __init__(self, device: FakeWasapi, channels: int) -> None:
        self.device = device
        self.asked = channels

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.device.exited += 1

    def record(self, numframes=None):
        assert numframes is None
        if self.device.fail is not None:
            raise self.device.fail
        time.sleep(0.005)
        return np.full((240, self.asked), 0.25, np.float32)


class FakeMic:
    def __init__(self, device: FakeWasapi) -> None:
        self.device = device
        self.id = "{0.0.0.00000000}.{speakers}"
        self.name = "Speakers (Realtek)"
        self.channels = 1
        self.isloopback = True

    def recorder(self, samplerate, channels, blocksize):
        self.device.asked_channels = channels
        return FakeRecorder(self.device, channels)


class FakeWasapi:
    """The parts of the ``soundcard`` module loopcap uses on Windows."""

    def __init__(self, hr: int = 0) -> None:
        self.ole32 = FakeOle32(hr)
        self.mediafoundation = SimpleNamespace(_ole32=self.ole32, _ffi=SimpleNamespace(NULL=None))
        self.present = True
        self.fail: Exception | None = None
        self.exited = 0
        self.asked_channels = 0
        self.mic = FakeMic(self)

    def get_microphone(self, id, include_loopback=False):
        assert include_loopback and id == self.mic.id
        return self.mic

    def all_microphones(self, include_loopback=False):
        return [self.mic] if self.present else []


INFO = DeviceInfo(
    id="{0.0.0.00000000}.{speakers}", name="Speakers (Realtek)", channels=1, default=True
)


@pytest.fixture
def windows(monkeypatch):
    monkeypatch.setattr(stream, "WINDOWS", True)
    return FakeWasapi()


def on_thread(fn):
    """Run ``fn()`` on a new thread (as the capture thread does); its result or error."""
    out: dict = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as exc:  # handed to the test
            out["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    t.join(10)
    return out, t.ident


def test_com_is_joined_and_balanced_on_the_thread_that_records(windows):
    def capture():
        s = SoundcardStream(windows, INFO, 48000)
        try:
            return s.read()
        finally:
            s.close()
            s.close()  # idempotent: one CoUninitialize

    out, ident = on_thread(capture)
    assert "error" not in out, out
    assert windows.ole32.calls == [("init", ident), ("uninit", ident)]
    assert windows.exited == 1


def test_mono_loopback_is_recorded_as_stereo(windows):
    s = SoundcardStream(windows, INFO, 48000)
    try:
        frames, _t = s.read()
    finally:
        s.close()
    # WASAPI mono loopback records garbage (SoundCard README): ask two
    # channels; the recorder has no ``channels``, so the asked count stands.
    assert windows.asked_channels == 2 and s.channels == 2
    assert frames.shape[1] == 2 and len(frames) >= 240


def test_capture_channels_rule():
    assert capture_channels(1, windows=True) == 2
    assert capture_channels(6, windows=True) == 6
    assert capture_channels(1, windows=False) == 1


def test_a_removed_device_is_a_device_loss(windows):
    s = SoundcardStream(windows, INFO, 48000)
    try:
        s.read()
        windows.present = False
        with pytest.raises(DeviceLostError, match="disappeared"):
            for _ in range(10):
                s.read()
    finally:
        s.close()


def test_an_invalidated_device_is_a_device_loss_not_a_crash(windows):
    s = SoundcardStream(windows, INFO, 48000)
    try:
        s.read()
        windows.fail = RuntimeError("Error 0x88890004")  # AUDCLNT_E_DEVICE_INVALIDATED
        with pytest.raises(DeviceLostError, match="stopped delivering audio"):
            s.read()
        windows.present = False
        with pytest.raises(DeviceLostError, match="disappeared"):
            s.read()
    finally:
        s.close()


def test_a_failed_open_leaves_com_balanced(windows):
    windows.get_microphone = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("Error 0x1"))
    with pytest.raises(DeviceError, match="cannot open"):
        SoundcardStream(windows, INFO, 48000)
    assert [c for c, _ in windows.ole32.calls] == ["init", "uninit"]


@pytest.mark.parametrize(
    "hr, balanced",
    [(0, True), (com.S_FALSE, True), (RPC_E_CHANGED_MODE, False)],
    ids=["S_OK", "S_FALSE", "RPC_E_CHANGED_MODE"],
)
def test_com_thread_uninitialises_only_what_it_initialised(hr, balanced):
    sc = FakeWasapi(hr)
    c = ComThread(sc)
    c.close()
    c.close()
    assert [x for x, _ in sc.ole32.calls] == (["init", "uninit"] if balanced else ["init"])


def test_com_thread_closes_only_on_its_own_thread():
    sc = FakeWasapi()
    c = ComThread(sc)
    on_thread(c.close)
    assert [x for x, _ in sc.ole32.calls] == ["init"]
    c.close()
    assert [x for x, _ in sc.ole32.calls] == ["init", "uninit"]


def test_a_com_failure_is_a_device_error():
    with pytest.raises(DeviceError, match="0x80004005"):
        ComThread(FakeWasapi(E_FAIL))


def test_a_soundcard_without_wasapi_is_a_device_error():
    with pytest.raises(DeviceError, match="WASAPI"):
        ComThread(SimpleNamespace())


def test_join_com_once_per_thread(monkeypatch):
    monkeypatch.setattr(com, "_joined", threading.local())
    sc = FakeWasapi()
    join_com(sc)
    join_com(sc)
    _, other = on_thread(lambda: (join_com(sc), join_com(sc)))
    idents = [t for x, t in sc.ole32.calls if x == "init"]
    assert len(idents) == 2 and other in idents
