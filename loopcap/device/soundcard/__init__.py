"""The soundcard backend: the only code that touches soundcard (and libpulse).

soundcard gives loopback capture on the three systems (the monitor of an
output on PulseAudio/PipeWire, WASAPI loopback on Windows, a virtual device
such as BlackHole on macOS).  It is imported lazily, on first use, through
:mod:`~loopcap.device.soundcard.connection`, which also keeps the connection
to the sound server alive; :mod:`~loopcap.device.soundcard.stream` reads a
stream in batches and watches its device.  Every foreign error is turned into
a :class:`~loopcap.errors.DeviceError` here.
"""

from __future__ import annotations

import builtins
import sys
from typing import Any

from loopcap.device.base import DeviceInfo, Source, Stream
from loopcap.device.soundcard.connection import NO_SERVER, soundcard_module
from loopcap.device.soundcard.stream import SoundcardStream
from loopcap.errors import DeviceError

__all__ = ["SoundcardBackend", "NO_SERVER", "MACOS_HINT", "describe_server"]

MACOS_HINT = (
    "macOS has no loopback device of its own: install BlackHole (brew install blackhole-2ch), "
    "make a Multi-Output Device of your speakers and BlackHole in Audio MIDI Setup, choose it "
    "as the output, and try again (loopcap doctor checks the route)"
)


def describe_server(name: str, version: str) -> str:
    """What ``pa_context_get_server_info`` says, as a user knows it.

    PulseAudio calls itself "pulseaudio"; pipewire-pulse says "PulseAudio
    (on PipeWire 0.3.65)" with the protocol version it emulates ("15.0.0"),
    which is no version of PipeWire.
    """
    if "pipewire" in name.lower():
        inner = name[name.lower().index("pipewire") :].rstrip(")").strip()
        return f"{inner} (its PulseAudio server)"
    if name.lower() == "pulseaudio":
        return f"PulseAudio {version}".strip()
    return f"{name} {version}".strip()


class SoundcardBackend:
    """The loopback devices soundcard sees, and finding one by name."""

    def __init__(self) -> None:
        self.sc = soundcard_module()

    def _default_speaker_id(self) -> str | None:
        try:
            return self.sc.default_speaker().id
        except Exception:  # no default output is not fatal for listing
            return None

    def server_name(self) -> str:
        """See :func:`loopcap.device.server_name`."""
        if sys.platform == "win32":
            return "Windows audio (WASAPI)"
        if sys.platform == "darwin":
            return "Core Audio"
        pulse = getattr(getattr(self.sc, "pulseaudio", None), "_pulse", None)
        try:
            info = pulse.server_info if pulse is not None else {}
        except Exception:  # the query failed: nothing to tell
            return ""
        return describe_server(info.get("server name", ""), info.get("server version", ""))

    def list(self) -> list[DeviceInfo]:
        if sys.platform == "darwin":
            return self._list_macos()
        try:
            mics = self.sc.all_microphones(include_loopback=True)
        except Exception as exc:
            raise DeviceError(f"cannot list sound devices ({exc}): {NO_SERVER}") from None
        speaker = self._default_speaker_id()
        out = []
        for mic in mics:
            if not getattr(mic, "isloopback", False):
                continue
            # PulseAudio names a sink's monitor "<sink>.monitor"; WASAPI
            # gives the loopback the speaker's own id.
            is_default = speaker is not None and mic.id in (speaker, f"{speaker}.monitor")
            out.append(
                DeviceInfo(
                    id=str(mic.id),
                    name=str(mic.name),
                    channels=int(mic.channels),
                    default=is_default,
                )
            )
        out.sort(key=lambda d: not d.default)
        return out

    def _list_macos(self) -> builtins.list[DeviceInfo]:  # (list: the method above)
        """The virtual loopback inputs (BlackHole); the default is the one the
        current output reaches (see :mod:`loopcap.device.soundcard.macos`)."""
        from loopcap.device.soundcard.macos import is_virtual_loopback, reaches, read_route

        try:
            route = read_route(self.sc)
            mics = [m for m in self.sc.all_microphones() if is_virtual_loopback(str(m.name))]
            out = [
                DeviceInfo(
                    id=str(m.id),
                    name=str(m.name),
                    channels=int(m.channels),
                    default=reaches(route, str(m.name)) is True,
                )
                for m in mics
            ]
        except Exception as exc:  # soundcard's Core Audio helpers assert
            raise DeviceError(f"cannot list sound devices ({exc})") from None
        out.sort(key=lambda d: not d.default)
        return out

    def find(self, name: str) -> Source:
        devices = self.list()
        if not devices:
            if sys.platform == "darwin":
                raise DeviceError(f"no loopback device found: {MACOS_HINT}")
            raise DeviceError(
                "no loopback device found: check that an output device exists "
                "(loopcap doctor lists what it sees)"
            )
        if not name:
            match = [d for d in devices if d.default] or devices[:1]
        else:
            low = name.lower()
            match = [d for d in devices if d.id.lower() == low]
            match = match or [d for d in devices if low in d.id.lower() or low in d.name.lower()]
        if not match:
            available = "; ".join(f"{d.name} ({d.id})" for d in devices)
            raise DeviceError(f"no loopback device named {name!r}; available: {available}")
        return _SoundcardSource(self.sc, match[0])


class _SoundcardSource:
    """A loopback device found by :class:`SoundcardBackend`."""

    def __init__(self, sc: Any, info: DeviceInfo) -> None:
        self.sc = sc
        self.info = info

    def open(self, samplerate: int) -> Stream:
        return SoundcardStream(self.sc, self.info, samplerate)
