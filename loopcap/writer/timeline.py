"""Place captured blocks on the wall-clock timeline (pure arithmetic, frames).

A loopback device does not always deliver as much audio as wall time passes:
an idle PulseAudio monitor delivers in bursts and WASAPI loopback delivers
nothing while nothing plays (see FACTS in the design notes).  Appending
blocks as they come would squeeze the silences out of the file.  So each
block is stamped with the monotonic time it arrived, and where the audio
written so far falls short of the wall clock by more than ``resync_s``, the
missing span is filled with digital silence before the block.  While audio
flows steadily nothing is ever inserted, so jitter and slow clock drift
never put a gap inside a sound; corrections happen only where the device
delivered nothing, which is where nothing was playing.
"""

from __future__ import annotations

__all__ = ["Timeline"]


class Timeline:
    """Frame positions of a capture whose position 0 is monotonic time ``t0``.

    Not thread-safe: owned by the writer thread.
    """

    def __init__(self, samplerate: int, t0: float, resync_s: float = 0.15) -> None:
        self.samplerate = samplerate
        self.t0 = t0
        self.resync_frames = int(resync_s * samplerate)
        self.position = 0  # frames written so far

    def frames_at(self, t: float) -> int:
        """Timeline position of monotonic time ``t``, in frames (never negative)."""
        return max(0, round((t - self.t0) * self.samplerate))

    def silence_before(self, t_arrival: float, n: int) -> int:
        """Frames of silence to write before a block of ``n`` frames that
        arrived at ``t_arrival``, so that the block ends where the wall clock
        says; 0 unless the shortfall exceeds ``resync_s``."""
        shortfall = self.frames_at(t_arrival) - (self.position + n)
        return shortfall if shortfall > self.resync_frames else 0

    def silence_until(self, t: float) -> int:
        """Frames of silence that bring the position up to time ``t`` (>= 0)."""
        return max(0, self.frames_at(t) - self.position)

    def advance(self, n: int) -> None:
        self.position += n
