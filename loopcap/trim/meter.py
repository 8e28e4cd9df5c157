"""Chunk powers of a capture as its blocks go by, and the trimmer on them.

:class:`LevelMeter` is how every caller runs the trimmer: feed it the
capture's blocks (a file's blocks as it is read, or the live blocks as they
are captured), then ask it for the note's bounds or every note.  Only the
chunk powers are kept (one float32 per ``hop_s``), never the audio, so a
capture is analysed in one pass whatever its length; the audio is read again
only for the few short sounds the segmenter looks at closer (``read``).

Pure numpy, no I/O, no threads of its own.
"""

from __future__ import annotations

import numpy as np

from .levels import all_finite, chunk_powers, powers_of_sums, square_sums
from .notes import find_bounds, find_notes
from .params import Bounds, Reader, TrimParams, hop_frames

__all__ = ["LevelMeter", "bounds_of_array", "notes_of_array"]


class LevelMeter:
    """Streaming chunk powers: feed blocks of any length, read ``powers``.

    *Blocks*: frames x channels (or frames, for mono), the same channel count
    throughout, of any length (0 included) and any float dtype.  float32 is
    used as given; anything else (the float64 of a test, an int array) is
    converted first, a copy per block that is not kept.  A block is only read
    during :meth:`feed`: the caller may reuse or overwrite its buffer as soon
    as ``feed`` returns (the few frames short of a whole chunk are copied).
    NaN and infinite samples count as silence.

    *Memory* grows by one float32 per ``hop`` samples (6 MB for an hour at
    2.5 ms), never with the audio itself: the powers go straight into one
    buffer, sized once when ``expected_frames`` is known (a file's length),
    else (``expected_frames`` None or 0: a live capture of unknown length)
    started small and grown by half as needed.

    *Lifecycle and threads*: not thread-safe.  Feed every block from one
    thread (the writer's, for a live capture), then call :meth:`finish` and
    :meth:`find_bounds`/:meth:`find_notes` (or read :attr:`powers`) either on
    that thread or on another once the feeding thread is done with the meter
    (after it is joined, or after the last block went through a queue the
    other thread reads): nothing may feed while anything else reads.  Feeding
    after :meth:`finish` is an error of the caller: the last partial chunk
    was already counted as a chunk.
    """

    def __init__(
        self,
        samplerate: int,
        params: TrimParams | None = None,
        expected_frames: int | None = None,
    ) -> None:
        self.samplerate = samplerate
        self.params = params or TrimParams()
        self.hop = hop_frames(samplerate, self.params)
        self._carry: np.ndarray | None = None  # frames short of a whole chunk (a copy)
        capacity = (expected_frames or 0) // self.hop + 1
        self._buf = np.empty(max(capacity, 1024), np.float32)
        self._n = 0  # powers in the buffer
        # Items [_settled, _n) hold sums of squares still to be divided by
        # ``_width`` (samples a chunk, all channels): all at once when the
        # powers are read, not block by block (0.01x of an hour's read time).
        self._settled = 0
        self._width = 1
        #: Frames fed so far (a partial last chunk included).
        self.frames = 0

    def _room(self, count: int) -> np.ndarray:
        """The buffer's next ``count`` items (grown first if needed), not yet
        counted in: the caller fills them, then adds ``count`` to ``_n``."""
        need = self._n + count
        if need > len(self._buf):
            size = max(need, len(self._buf) * 3 // 2)
            try:
                # In place (realloc: no copy of what is there, nor fresh pages
                # for it; an hour grown from nothing: 1.5 ms, not 6.5 ms)...
                self._buf.resize(size, refcheck=True)
            except ValueError:
                # ...unless something holds a view of it (a caller's
                # :attr:`powers`): then a new buffer.
                grown = np.empty(size, np.float32)
                grown[: self._n] = self._buf[: self._n]
                self._buf = grown
        return self._buf[self._n : need]

    def _settle(self) -> None:
        """Divide the sums still pending into powers."""
        if self._settled < self._n:
            self._buf[self._settled : self._n] /= self._width
            self._settled = self._n

    def _append(self, powers: np.ndarray) -> None:
        self._settle()
        self._room(len(powers))[:] = powers
        self._n = self._settled = self._n + len(powers)

    def feed(self, block: np.ndarray) -> None:
        """Take in the next block of the capture (see the class for what a
        block may be and who may call this)."""
        block = np.asarray(block, dtype=np.float32)
        if block.ndim == 1:
            block = block[:, None]
        self.frames += len(block)
        if self._carry is not None and len(self._carry):
            block = np.concatenate([self._carry, block])
        usable = len(block) - len(block) % self.hop
        if usable:
            # Straight into the buffer: an hour is 2,800 blocks of 61,440.
            count = usable // self.hop
            sums, rows = square_sums(block[:usable], self.hop, out=self._room(count))
            if all_finite(sums):
                if rows.shape[1] != self._width:
                    self._settle()  # the sums before by their own width
                    self._width = rows.shape[1]
                self._n += count  # divided when read (_settle)
            else:  # a NaN or an infinity: powers now, the samples at hand
                self._settle()
                powers_of_sums(sums, rows)
                self._n = self._settled = self._n + count
        # A copy: a view would keep the caller's whole block alive, and see it
        # change if the caller reuses its buffer for the next block.
        self._carry = block[usable:].copy() if usable < len(block) else None

    def _last_partial(self) -> np.ndarray:
        """The power of the last, partial chunk: its mean over the samples it has."""
        c = self._carry
        if c is None:
            return np.zeros(0, np.float32)
        pad = np.zeros((self.hop - len(c), c.shape[1]), np.float32)
        return chunk_powers(np.concatenate([c, pad]), self.hop) * self.hop / len(c)

    def finish(self) -> None:
        """No more blocks: fold the last partial chunk in for good, so that
        :attr:`powers` is a view of the buffer, never a copy.  Idempotent."""
        self._settle()
        if self._carry is not None and len(self._carry):
            self._append(self._last_partial())
        self._carry = None

    def find_bounds(self, read: Reader | None = None) -> Bounds | None:
        """The note's bounds in what was fed so far (see
        :func:`~loopcap.trim.notes.find_bounds`; ``read`` gives the audio of
        a span for the closer looks, and is called on the calling thread)."""
        return find_bounds(self.powers, self.samplerate, self.frames, self.params, read)

    def find_notes(self, read: Reader | None = None) -> list[Bounds]:
        """Every note in what was fed so far (see
        :func:`~loopcap.trim.notes.find_notes`)."""
        return find_notes(self.powers, self.samplerate, self.frames, self.params, read)

    @property
    def powers(self) -> np.ndarray:
        """One power per chunk fed so far (a view; a copy while a partial chunk
        is pending and :meth:`finish` has not been called)."""
        self._settle()
        view = self._buf[: self._n]
        if self._carry is not None and len(self._carry):
            return np.concatenate([view, self._last_partial()])
        return view


def _meter_of_array(
    x: np.ndarray, samplerate: int, params: TrimParams | None
) -> tuple[LevelMeter, Reader]:
    """A LevelMeter fed with an array held in memory, and a reader of it."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    meter = LevelMeter(samplerate, params)
    meter.feed(x)
    return meter, lambda a, b: x[a:b]


def bounds_of_array(
    x: np.ndarray, samplerate: int, params: TrimParams | None = None
) -> Bounds | None:
    """The note's bounds in an array held in memory (frames or frames x channels)."""
    meter, read = _meter_of_array(x, samplerate, params)
    return meter.find_bounds(read)


def notes_of_array(
    x: np.ndarray, samplerate: int, params: TrimParams | None = None
) -> list[Bounds]:
    """Every note in an array held in memory (see :func:`~loopcap.trim.notes.find_notes`)."""
    meter, read = _meter_of_array(x, samplerate, params)
    return meter.find_notes(read)
