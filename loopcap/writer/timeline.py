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


def run_start(arrivals: list[tuple[float, int]], samplerate: int) -> float:
    """When a run of contiguous blocks began (monotonic s).

    ``arrivals`` holds each block's arrival time and length in frames,
    oldest first.  A block is stamped when it arrives, which is never early
    but can be late by a read or more; so the run cannot have begun later
    than any block's arrival minus all the audio up to that block's end.
    The earliest of these bounds is the best estimate (measured: placing by
    the first block alone put position 0 up to 25 ms off).
    """
    start = float("inf")
    total = 0
    for t, n in arrivals:
        total += n
        start = min(start, t - total / samplerate)
    return start
