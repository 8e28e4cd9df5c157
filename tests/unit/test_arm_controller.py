"""The app's controller in armed mode, on the fake source (no display needed)."""

import time

import pytest

from loopcap.app.controller import ARMED, IDLE, RECORDING, Controller
from loopcap.config import ArmConfig, CaptureConfig, Config, OutputConfig


@pytest.fixture
def controller(request, monkeypatch, tmp_path):
    # By default a tone burst at 0.5-1.0 s of every 2 s, silence between;
    # a test may ask for another fake signal (indirect parametrization).
    monkeypatch.setenv("LOOPCAP_BACKEND", "fake")
    monkeypatch.setenv("LOOPCAP_FAKE", f"signal={getattr(request, 'param', 'burst')}")
    cfg = Config(
        capture=CaptureConfig(preroll_s=0.5),
        output=OutputConfig(dir=str(tmp_path), format="wav"),
        arm=ArmConfig(stop_after_silence_s=1.0),
    )
    seen = []
    c = Controller(cfg)
    c.subscribe(lambda snap: seen.append(snap))
    c.start()
    yield c, seen
    c.quit()
    assert c.finished.wait(10)


def wait_for(pred, timeout=8.0):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.parametrize("controller", ["silence"], indirect=True)
def test_arm_then_toggle_disarms_without_saving(controller, tmp_path):
    c, seen = controller
    c.post("arm").wait(5)
    assert c.snapshot.state == ARMED  # nothing plays: it waits for sound
    c.post("toggle").wait(5)
    assert c.snapshot.state == IDLE
    assert c.snapshot.message == "disarmed"
    assert not list(tmp_path.glob("*.wav"))
    assert RECORDING not in [s.state for s in seen]


def test_toggle_while_an_armed_capture_records_stops_and_saves(controller, tmp_path):
    c, seen = controller
    c.post("arm").wait(5)
    wait_for(lambda: c.snapshot.state == RECORDING)
    c.post("toggle").wait(5)
    wait_for(lambda: c.snapshot.state == IDLE and c.snapshot.saved is not None)
    assert list(tmp_path.glob("*.wav"))


def test_armed_capture_starts_on_sound_and_stops_after_silence(controller, tmp_path):
    c, seen = controller
    c.post("arm").wait(5)
    wait_for(lambda: any(s.state == RECORDING and s.armed for s in seen))
    wait_for(lambda: c.snapshot.state == IDLE and c.snapshot.saved is not None)
    saved = c.snapshot.saved
    assert saved.bounds is not None and abs(saved.bounds.kept_s - 0.5) < 0.01
    # Stopped by the silence after the first burst, before the next one.
    assert saved.duration_s < 0.5 + 0.5 + 0.5 + 1.0 + 0.6
    states = [s.state for s in seen]
    assert states.index(ARMED) < states.index(RECORDING)
