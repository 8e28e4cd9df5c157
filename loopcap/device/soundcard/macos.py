"""macOS: a virtual loopback device (BlackHole) and whether the output reaches it.

macOS has no loopback of its own, and soundcard's Core Audio backend offers
none: ``all_microphones(include_loopback=True)`` only warns, and every input
says ``isloopback`` False (soundcard 0.4.6, ``coreaudio.py``).  The way that
works is a virtual device: BlackHole (https://github.com/ExistentialAudio/BlackHole)
is an output and an input; what is played to it can be recorded from it.
To hear the sound too, the user makes a Multi-Output Device (Audio MIDI
Setup) of the speakers and BlackHole and chooses it as the output.

So on macOS an input named like a virtual loopback device counts as a
loopback, and it is the "default" one when the current output reaches it:
the default output is the device itself, or an aggregate (a Multi-Output
Device is one) whose active sub-devices include it.  The sub-devices are read
with Core Audio's ``kAudioAggregateDevicePropertyActiveSubDeviceList``
('agrp', AudioHardware.h) through soundcard's own cffi helper.

Per-process taps (Core Audio, macOS 14.4+) would need no BlackHole: a later
step, not here.  Only the reading of Core Audio runs on macOS; the rules are
pure and tested on Linux with fake device lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["LOOPBACK_NAMES", "OutputRoute", "is_virtual_loopback", "read_route", "reaches"]

#: Name prefixes of virtual loopback devices (BlackHole 2ch/16ch/64ch, and the
#: older Soundflower), compared case-insensitively.
LOOPBACK_NAMES = ("blackhole", "soundflower")

#: kAudioAggregateDevicePropertyActiveSubDeviceList (AudioHardware.h).
_ACTIVE_SUB_DEVICES = int.from_bytes(b"agrp", byteorder="big")


def is_virtual_loopback(name: str) -> bool:
    """Whether an input named ``name`` is a virtual loopback device."""
    return name.strip().lower().startswith(LOOPBACK_NAMES)


@dataclass(frozen=True)
class OutputRoute:
    """Where the sound goes, as Core Audio tells it.

    ``output``: the default output's name ("" when there is none);
    ``parts``: the names of its active sub-devices when it is an aggregate
    (a Multi-Output Device), () when it is a plain device, None when they
    could not be read; ``inputs``: the names of every input device.
    """

    output: str
    parts: tuple[str, ...] | None
    inputs: tuple[str, ...]

    @property
    def loopbacks(self) -> tuple[str, ...]:
        """The inputs that are virtual loopback devices."""
        return tuple(n for n in self.inputs if is_virtual_loopback(n))


def reaches(route: OutputRoute, device: str) -> bool | None:
    """Whether the current output reaches the virtual device ``device``:
    True, False, or None when it cannot be told (an aggregate whose
    sub-devices could not be read)."""
    if route.output == device:
        return True
    if route.parts is None:
        return None
    return device in route.parts


def read_route(sc: Any) -> OutputRoute:
    """Read the route from soundcard's Core Audio backend (macOS only).

    Raises whatever soundcard raises (its helpers assert): the caller turns
    that into a device error.
    """
    ca = sc.coreaudio
    inputs = tuple(str(m.name) for m in sc.all_microphones())
    try:
        speaker = sc.default_speaker()
    except Exception:  # no output device at all
        return OutputRoute("", (), inputs)
    output = str(speaker.name)
    prop = ca._ffi.new(
        "AudioObjectPropertyAddress*",
        {
            "mSelector": _ACTIVE_SUB_DEVICES,
            "mScope": ca._cac.kAudioObjectPropertyScopeGlobal,
            "mElement": ca._cac.kAudioObjectPropertyElementMaster,
        },
    )
    if ca._ca.AudioObjectHasProperty(speaker.id, prop) != 1:
        return OutputRoute(output, (), inputs)  # a plain device, not an aggregate
    try:
        ids = ca._CoreAudio.get_property(speaker.id, _ACTIVE_SUB_DEVICES, "AudioObjectID")
        parts = tuple(str(ca._Soundcard(id=int(i)).name) for i in ids)
    except Exception:  # soundcard asserts on any Core Audio error
        return OutputRoute(output, None, inputs)
    return OutputRoute(output, parts, inputs)
