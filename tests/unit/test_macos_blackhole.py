"""macOS, on Linux: BlackHole found, the output route judged, from fake device lists.

The rules (loopcap.device.soundcard.macos, doctor's lines) are pure; the
Core Audio reading is run against a fake of soundcard 0.4.6's ``coreaudio``
module (its ``_CoreAudio.get_property`` helper asserts on any error).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from loopcap.app.doctor import FAIL, OK, WARN, blackhole_lines, mac_hotkey_line
from loopcap.device.soundcard.macos import (
    OutputRoute,
    is_virtual_loopback,
    reaches,
    read_route,
)

MIC = "MacBook Pro Microphone"
SPEAKERS = "MacBook Pro Speakers"


def route(output: str, parts, *inputs: str) -> OutputRoute:
    return OutputRoute(output, parts, tuple(inputs) or (MIC,))


def verdicts(r: OutputRoute) -> list[str]:
    return [v for v, _ in blackhole_lines(r)]


def test_virtual_loopback_names():
    assert is_virtual_loopback("BlackHole 2ch") and is_virtual_loopback(" blackhole 16ch")
    assert is_virtual_loopback("Soundflower (2ch)")
    assert not is_virtual_loopback(MIC) and not is_virtual_loopback("My BlackHole")


def test_no_blackhole_fails_with_the_install_step():
    lines = blackhole_lines(route(SPEAKERS, ()))
    assert [v for v, _ in lines] == [FAIL]
    assert "brew install blackhole-2ch" in lines[0][1] and "Multi-Output" in lines[0][1]


def test_a_multi_output_device_that_includes_blackhole_is_ok():
    r = route("Multi-Output Device", (SPEAKERS, "BlackHole 2ch"), MIC, "BlackHole 2ch")
    assert reaches(r, "BlackHole 2ch") is True
    assert verdicts(r) == [OK, OK]


def test_a_multi_output_device_without_blackhole_fails():
    r = route("Multi-Output Device", (SPEAKERS, "AirPods"), MIC, "BlackHole 2ch")
    assert reaches(r, "BlackHole 2ch") is False
    lines = blackhole_lines(r)
    assert [v for v, _ in lines] == [OK, FAIL]
    assert "records silence" in lines[1][1] and "Audio MIDI Setup" in lines[1][1]


def test_plain_speakers_as_output_fail():
    assert verdicts(route(SPEAKERS, (), MIC, "BlackHole 2ch")) == [OK, FAIL]


def test_blackhole_itself_as_output_records_but_warns_you_hear_nothing():
    lines = blackhole_lines(route("BlackHole 2ch", (), "BlackHole 2ch"))
    assert [v for v, _ in lines] == [OK, WARN]
    assert "you hear nothing" in lines[1][1]


def test_unreadable_sub_devices_warn():
    r = route("Multi-Output Device", None, "BlackHole 16ch")
    assert reaches(r, "BlackHole 16ch") is None
    assert verdicts(r) == [OK, WARN]


@pytest.mark.parametrize(
    "trusted, verdict", [(True, OK), (False, WARN), (None, WARN)], ids=["yes", "no", "unknown"]
)
def test_hotkey_permission_line(trusted, verdict):
    v, text = mac_hotkey_line(trusted)
    assert v == verdict
    if verdict == WARN:
        assert "Accessibility" in text and "Input Monitoring" in text


# ---------------------------------------------------------------- Core Audio fake


class FakeDevice:
    def __init__(self, id: int, name: str) -> None:
        self.id, self.name, self.channels = id, name, 2


def fake_coreaudio(default: FakeDevice | None, aggregates: dict[int, list[int]], names):
    def get_property(target, selector, ctype):
        assert selector == int.from_bytes(b"agrp", "big") and ctype == "AudioObjectID"
        if aggregates.get(target) is None:
            raise AssertionError("Can't get Core Audio property data")
        return aggregates[target]

    def default_speaker():
        if default is None:
            raise AssertionError("no default output")
        return default

    ca = SimpleNamespace(
        _ffi=SimpleNamespace(new=lambda ctype, init: init),
        _cac=SimpleNamespace(
            kAudioObjectPropertyScopeGlobal=0, kAudioObjectPropertyElementMaster=0
        ),
        _ca=SimpleNamespace(AudioObjectHasProperty=lambda target, prop: int(target in aggregates)),
        _CoreAudio=SimpleNamespace(get_property=get_property),
        _Soundcard=lambda id: SimpleNamespace(name=names[id]),
    )
    mics = [FakeDevice(1, MIC), FakeDevice(2, "BlackHole 2ch")]
    return SimpleNamespace(
        coreaudio=ca, default_speaker=default_speaker, all_microphones=lambda: mics
    )


NAMES = {1: MIC, 2: "BlackHole 2ch", 3: SPEAKERS}


def test_read_route_of_a_multi_output_device():
    sc = fake_coreaudio(FakeDevice(9, "Multi-Output Device"), {9: [3, 2]}, NAMES)
    r = read_route(sc)
    assert r == OutputRoute(
        "Multi-Output Device", (SPEAKERS, "BlackHole 2ch"), (MIC, "BlackHole 2ch")
    )
    assert r.loopbacks == ("BlackHole 2ch",)


def test_read_route_of_a_plain_device_and_of_no_device():
    assert read_route(fake_coreaudio(FakeDevice(3, SPEAKERS), {}, NAMES)).parts == ()
    assert read_route(fake_coreaudio(None, {}, NAMES)).output == ""


def test_read_route_when_the_sub_devices_cannot_be_read():
    sc = fake_coreaudio(FakeDevice(9, "Multi-Output Device"), {9: None}, NAMES)
    assert read_route(sc).parts is None


def test_blackhole_is_listed_as_a_loopback_the_default_when_the_output_reaches_it():
    from loopcap.device.soundcard import SoundcardBackend

    backend = object.__new__(SoundcardBackend)  # without importing soundcard
    backend.sc = fake_coreaudio(FakeDevice(9, "Multi-Output Device"), {9: [3, 2]}, NAMES)
    [info] = backend._list_macos()
    # The id is Core Audio's integer id as text; the stream opens it as an int.
    assert (info.id, info.name, info.default) == ("2", "BlackHole 2ch", True)
    backend.sc = fake_coreaudio(FakeDevice(3, SPEAKERS), {}, NAMES)
    assert [d.default for d in backend._list_macos()] == [False]
