"""The fragment asked of pipewire-pulse divides PipeWire's power-of-two quantum
(see loopcap.device.soundcard.stream.pipewire_fragment), and the server is
told from soundcard's connection."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from loopcap.device.soundcard.stream import on_pipewire, pipewire_fragment


@pytest.mark.parametrize(
    ("samplerate", "frames"), [(48000, 256), (44100, 256), (96000, 512), (8000, 64)]
)
def test_the_fragment_is_the_largest_power_of_two_within_10_ms(samplerate, frames):
    assert pipewire_fragment(samplerate, 0.01) == frames
    assert frames <= samplerate * 0.01 < 2 * frames


def api_of(server_info) -> SimpleNamespace:
    return SimpleNamespace(_pulse=SimpleNamespace(server_info=server_info))


def test_pipewire_is_told_by_the_server_name():
    assert on_pipewire(api_of({"server name": "PulseAudio (on PipeWire 0.3.65)"}))
    assert not on_pipewire(api_of({"server name": "pulseaudio"}))
    assert not on_pipewire(api_of({}))


def test_an_unanswered_query_keeps_pulseaudio_fragments():
    class Broken:
        @property
        def server_info(self):
            raise RuntimeError("the query failed")

    assert not on_pipewire(SimpleNamespace(_pulse=Broken()))
