"""Place captured blocks on the wall-clock timeline (pure arithmetic, frames).

A loopback device does not always deliver as much audio as wall time passes:
a sink that sleeps delivers nothing (PulseAudio and PipeWire suspend an idle
sink, and loopcap's streams let them), and WASAPI loopback delivers nothing
while nothing plays (see FACTS in the design notes).  Appending blocks as
they come would squeeze the silences out of the file.  So each block is
stamped with the monotonic time it arrived, and the writer
(:class:`~loopcap.writer.partial.PartialWriter`) places audio in runs:
audio that follows audio is appended, so nothing is ever inserted inside a
sound; the first run, and the first after the device delivered nothing, is
placed where its arrivals say (:func:`run_start`), with silence before it.
"""

from __future__ import annotations

# The rule lives with the devices, whose per-application mixer places its
# streams by it too; it is re-exported here, where the writer uses it.
from loopcap.device.base import run_start

__all__ = ["Timeline", "run_start"]


class Timeline:
    """Frame positions of a capture whose position 0 is monotonic time ``t0``.

    Not thread-safe: owned by the writer thread.
    """

    def __init__(self, samplerate: int, t0: float) -> None:
        self.samplerate = samplerate
        self.t0 = t0
        self.position = 0  # frames written so far

    def frames_at(self, t: float) -> int:
        """Timeline position of monotonic time ``t``, in frames (never negative)."""
        return max(0, round((t - self.t0) * self.samplerate))

    def silence_until(self, t: float) -> int:
        """Frames of silence that bring the position up to time ``t`` (>= 0)."""
        return max(0, self.frames_at(t) - self.position)

    def advance(self, n: int) -> None:
        self.position += n
