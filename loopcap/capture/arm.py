"""Hands-free capture: wait for sound, then say when it has ended.

:class:`Armed` watches a :class:`~loopcap.capture.tap.Tap`'s live blocks through a
:class:`~loopcap.trim.gate.SoundGate`.  When sound begins it calls ``on_sound``
once with the monotonic time it began (the caller starts a recording there;
the tap's pre-roll holds what came just before).  :meth:`Armed.stop_reason`
then tells, against the wall clock, when ``[arm] stop_after_silence_s`` of
silence or ``max_s`` has passed.

Threads: blocks are fed on the tap's router thread; ``on_sound`` is called
there and must not block (post an event); :meth:`stop_reason` may be called
from any thread.  Lifecycle: :meth:`attach`, then :meth:`detach` (idempotent).
"""

from __future__ import annotations

from collections.abc import Callable

from loopcap.capture.reader import Block
from loopcap.capture.tap import ARM_LEAD_S, Tap
from loopcap.config import ArmConfig
from loopcap.trim import TrimParams
from loopcap.trim.gate import SoundGate

__all__ = ["Armed", "ARM_CHECK_S", "ARM_LEAD_S"]

#: How often (s) whoever runs an armed capture asks :meth:`Armed.stop_reason`:
#: silence is timed on the wall clock (an idle device may deliver nothing),
#: so it must be looked at; a stop comes at most this late.
ARM_CHECK_S = 0.1


class Armed:
    def __init__(
        self,
        tap: Tap,
        arm: ArmConfig,
        trim: TrimParams,
        on_sound: Callable[[float], None],
    ) -> None:
        self.tap = tap
        self.arm = arm
        self.gate = SoundGate(tap.samplerate, trim)
        self._on_sound = on_sound
        self._fired = False

    def attach(self) -> None:
        self.tap.watch(self._feed)

    def detach(self) -> None:
        self.tap.watch(None)

    @property
    def onset_t(self) -> float | None:
        return self.gate.onset_t

    def _feed(self, block: Block) -> None:
        self.gate.feed(block.frames, block.t)
        if not self._fired and self.gate.onset_t is not None:
            self._fired = True
            self._on_sound(self.gate.onset_t)

    def stop_reason(self, now: float, started: float) -> str | None:
        """Why an armed capture begun at ``started`` should stop now, or None."""
        if self.gate.silent_for(now) >= self.arm.stop_after_silence_s:
            return f"{self.arm.stop_after_silence_s:g} s of silence"
        if now - started >= self.arm.max_s:
            return f"the longest armed capture ({self.arm.max_s:g} s) was reached"
        return None
