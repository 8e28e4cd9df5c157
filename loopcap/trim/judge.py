"""A learned voice detector as a judge of where a note over a background
lies: silero-vad's 16 kHz model (``models/silero_vad_16k_products.onnx``, MIT,
its licence beside it) in onnxruntime.  It is the package's "sequence"
export, which runs a block of windows in one call, with its convolutions
rewritten as matrix products over the whole block
(``scripts/derive_vad_model.py``): a minute's note is heard in 40 ms, not
108 ms, and its probabilities lie within 3.4e-6 of the export's (which
are those of silero-vad's window-by-window model, to the bit).  On the
7,740 captures of seeds 1-43 of the accuracy benchmark, its 176 long
notes and 400 split captures, every bound is the same to the sample.

Over music or a tone the background model (:mod:`loopcap.trim.background`)
finds the note as what stands above the background, and walks to its quiet
edges while the level stays over the background's median.  Where the
music keeps above that median, the walk runs on past the note's end (issue
15: music p95 up to 1.3 s per draw), and every rule that ends the note
where its level falls into the background also cut the clean voice's
fading last 15-20 dB.  The detector hears where the speech is, by what it
sounds like rather than how loud it is; its own edges are coarse (32 ms
windows, and the audible voice goes on up to 0.31 s after it stops hearing
it), so it only bounds the note's edges: they end no later than
``MARGIN_S`` past the last window it hears as speech (a blip heard apart
after it, ``BLIP``, left out; never inside the note's loudest part,
``REACH_S``), and start no earlier than ``LEAD_S`` before the first
(nearer, ``MARGIN_OVER_S`` and ``LEAD_OVER_S``, where the walks or the
segmenter found them: under what plays there the voice's faint edges lie
nearer the speech heard), and stay where the walks put them inside those
bounds.  Ending the note nearer the speech heard by the level (where it
falls into the background inside the margin) was tried: it cut the clean
voice's fading end where the detector's probability fell early.  A
video's voice is speech too: there the detector hears the background,
bounds nothing, and the level rules alone decide.

The segmenter's edges are bounded the same way where something plays
under the note without sounding at both of the capture's ends (a steady
pad taken for the capture's floor, a fan's unsteady floor; see
:func:`~loopcap.trim.notes.find_bounds`).

onnxruntime is imported, and the model loaded (once per process), only
when a capture reaches the background model, or has such a floor; never
for a note between silences or over a device's floor.  Without
onnxruntime, or where the model fails to load or to run (a corrupt or
missing file), nothing is bounded (when unsure, keep); a model that failed
to load is not tried again in that process.  Pure computation, no I/O but
the model's bytes read from the package.  Thread-safe: two threads that
reach the first load together may both load it (harmless, one is kept);
the session, which lives for the process, runs from any thread
(onnxruntime's ``InferenceSession.run`` is thread-safe).  While it listens
to a span, a helper thread reads and resamples the span ahead of it
(:func:`~loopcap.trim.hearing.heard_ahead`), and has ended when it answers.

Positions are in samples (frames) of the capture; times in seconds.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import resources
from itertools import chain

import numpy as np

from .hearing import RATE, heard_ahead
from .params import Reader

__all__ = [
    "APART_S",
    "BLIP",
    "HOLD",
    "LEAD_S",
    "MARGIN_S",
    "MARGIN_OVER_S",
    "LEAD_OVER_S",
    "REACH_S",
    "bounds_of_speech",
    "hears_speech",
    "phrases_heard",
    "speech_span",
]

#: The detector's window and the context it carries (samples at ``RATE``).
WINDOW = 512
CONTEXT = 64
#: A window is speech where the detector's probability exceeds ``ON``; the
#: speech around it runs on while the probability stays over ``OFF``
#: (silero-vad's own threshold and its hysteresis).
ON = 0.5
OFF = 0.35
#: The note found over a background ends no later than this far (s) past
#: the speech the detector hears: the audible voice goes on up to 0.31 s
#: after the detector stops hearing it, on any of the 3,910 captures of
#: seeds 1-23 of the accuracy benchmark where it hears speech (under music
#: or a tone, nearer: see ``MARGIN_OVER_S``), so 0.3 s would leave no room;
#: 0.5 s kept up to 0.1 s more of the music after the note in 28 captures
#: of seeds 1-23...
MARGIN_S = 0.4
#: ...but never inside the note's loudest group, nor inside a sound the
#: segmenter joined to the note as a voice where nothing stands clear of
#: the background: where those end past the bound, within this far (s) past
#: the speech heard, the end is bounded where they end (seed 2 of the
#: accuracy benchmark: a sound joined as a voice 0.4-0.5 s after the speech
#: heard, the capture kept whole at 0.4 s); further out, the detector may
#: have missed some of the note, and nothing is bounded.
REACH_S = 0.5
#: ...and begins no earlier than this far (s) before it: its probability
#: rises up to 0.16 s after the voice's first syllable begins...
LEAD_S = 0.3
#: ...where the first speech it hears holds over ``OFF`` for this many
#: windows at least.  A first phrase heard in fewer is one the detector
#: barely hears (one window just over ``ON``), and its first syllables may
#: go unheard for longer than ``LEAD_S``: music with drums over a buried
#: hiss, seed 21 of the accuracy benchmark, rose 0.37 s late, and 38 ms of
#: the note's first syllable were cut.  There the start is not bounded.
HOLD = 2
#: A phrase heard after the note's speech that holds at most this many
#: windows over ``ON``, and begins ``APART_S`` (s) or more after the speech
#: before it, is not the note's: a drum hit or a chord of music the detector
#: takes for a syllable (issue 15: the end bounded 0.5 s past such a blip,
#: up to 1.2 s after the note's last syllable).  On seeds 1-23 of the
#: accuracy benchmark the note's own last phrases of one or two windows
#: lie at most 0.19 s after the speech before them; music's and another
#: app's blips 0.03-1.4 s.  The note's start is bounded as before (``HOLD``):
#: its first syllables may be heard late and barely.
BLIP = 2
APART_S = 0.3
#: Where the walks (or the segmenter, over a pad) found the note's edges,
#: the bound lies this far (s) past the speech heard instead: every capture
#: that reaches it has something playing under the note (music, a tone, a
#: pad or a fan), and there the audible voice goes on at most 0.14 s after
#: the detector stops hearing it, and the clean voice's faint end (within
#: 40 dB of its loudest, buried under what plays) at most 0.31 s (seeds
#: 1-24 of the accuracy benchmark, the 438 captures over music or a tone
#: where the detector hears speech; seed 13 mix055, a tone: 0.306 s; seed
#: 6 mix054, music: 0.271 s).  ``MARGIN_S`` kept up to 0.1 s more of the
#: music after the note (seed 1 mix018: 358 ms past the note's last
#: sample; seed 4 mix012, a pad: 294 ms).  The 0.31 s audible under
#: ``MARGIN_S`` is the voice over a device's floor, where the detector is
#: never asked; where nothing stands clear of the background and the
#: detector bounds the whole capture, ``MARGIN_S`` stays (it may have
#: missed some of the note there).
MARGIN_OVER_S = 0.35
#: ...and the start no earlier than this far (s) before the speech heard:
#: there the detector rose at most 0.14 s after the clean voice's first
#: moment (the same 438 captures; seed 1 mix054, music: 0.139 s), while
#: ``LEAD_S`` kept up to 0.1 s more of the music before the note (seed 3
#: mix036: 133 ms before the note's first sample).  Where the first speech
#: heard holds fewer than ``HOLD`` windows, the start is not bounded, as
#: before.
LEAD_OVER_S = 0.2
#: A span up to this long (s) is listened to whole, the detector's state
#: carried from its first window to its last, as on the notes its bounds
#: were measured on; the phrases beyond the note (:func:`phrases_heard`)
#: listen to the whole capture anyway, and one run serves both.  Heard
#: afresh from the middle of a voice that speaks on, the detector may stop
#: hearing it: a note over a video's voice whose middle was played again to
#: a minute (seed 7 mix028 of the accuracy benchmark), listened to in its
#: last 20 s alone, was heard for 5.5 s of them, and its last 12 s were
#: cut.  (On the 96 long notes of seeds 1-6, distinct sentences, the last
#: 20 s heard afresh moved 11 edges by at most 15 ms and cut nothing.)  A
#: minute costs 50 ms (read, brought to its rate and heard, in a fresh
#: process with the model loaded); five, 0.22 s.
WHOLE_S = 300.0
#: A longer span (an hour's capture over music) is listened to from its
#: start until the first speech it hears is settled, and in its last this
#: long (s) afresh: the walks run on for seconds, not minutes.  There a
#: voice that speaks on through those last seconds may go unheard, as
#: above: the end is then bounded too early.
LISTEN_S = 20.0
#: ...from this long (s) before the bounds could begin, for its state to settle.
SETTLE_S = 0.5

#: Windows per call of the model (4 s of audio): memory stays bounded, and
#: the first calls of a process, whose layers' outputs touch fresh memory,
#: cost less (a minute's note heard from a fresh process: 42 ms at 128
#: windows a call, 50 ms at 512; the same afterwards)...
BLOCK = 128
#: ...and (1 s) where it listens only until the first speech is settled:
#: 16 to 512 windows a call take the same time per window once warm.
FIRST_BLOCK = 32

_Run = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


@lru_cache(maxsize=1)
def _model() -> _Run | None:
    """The detector over a block of windows (each with its context before
    it) and the LSTM's state: (windows, h, c) -> (probabilities, h, c); None
    without onnxruntime or where the model fails to load (cached: not tried
    again for every capture)."""
    try:
        import onnxruntime  # only here: most captures never need it
    except ImportError:
        return None
    try:
        blob = resources.files(__package__).joinpath("models", "silero_vad_16k_products.onnx")
        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = 1
        options.log_severity_level = 3  # errors only: its warnings are not the user's to read
        # No graph rewriting at load: 9 ms -> 2 ms of every capture over a
        # background, the same probabilities to the bit (60 s over music;
        # the same bounds on seeds 1-24) and the same time per run.
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        session = onnxruntime.InferenceSession(
            blob.read_bytes(), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception:  # noqa: BLE001 - a missing or corrupt model (InvalidProtobuf, OSError): keep
        return None

    def run(
        x: np.ndarray, h: np.ndarray, c: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        probs, h, c = session.run(None, {"input": x, "h": h, "c": c})
        return probs, h, c

    return run


def speech_probs(
    y: np.ndarray | Iterable[np.ndarray], settled: Callable[[np.ndarray], bool] | None = None
) -> np.ndarray | None:
    """The detector's speech probability for each whole ``WINDOW`` of
    ``y`` (mono, 16 kHz: an array, or its pieces one after another, as
    :func:`~loopcap.trim.hearing.heard_ahead` hands them over), as
    silero-vad computes it window by window (each with the ``CONTEXT``
    samples before it, the state carried on), in blocks of ``BLOCK``
    windows; None without onnxruntime, or where the model fails to load or
    to run (when unsure, keep).

    ``settled``: asked after each block (of ``FIRST_BLOCK`` windows then)
    with the probabilities so far; where it answers True, those are
    returned and the rest of ``y`` is not listened to.  The model carries
    its state from block to block, so the probabilities are the same to
    the bit whatever the blocks (a minute over music, blocks of 16 to 512
    windows), and whatever the pieces: the blocks are the same."""
    run = _model()
    if run is None:
        return None
    step = BLOCK if settled is None else FIRST_BLOCK
    out: list[np.ndarray] = []
    h = np.zeros((1, 1, 128), np.float32)
    c = np.zeros((1, 1, 128), np.float32)
    before = np.zeros(CONTEXT, np.float32)
    waiting = np.zeros(0, np.float32)  # samples not yet in a block
    pieces = [y] if isinstance(y, np.ndarray) else y
    for piece in chain(pieces, [None]):
        if piece is not None:
            piece = np.asarray(piece, np.float32)
            waiting = np.concatenate([waiting, piece]) if len(waiting) else piece
        # Whole blocks while the pieces come; at their end, the whole
        # windows left.
        while len(waiting) >= step * WINDOW or (piece is None and len(waiting) >= WINDOW):
            k = min(step, len(waiting) // WINDOW)
            block = waiting[: k * WINDOW].reshape(k, WINDOW)
            waiting = waiting[k * WINDOW :]
            x = np.empty((k, CONTEXT + WINDOW), np.float32)
            x[0, :CONTEXT] = before
            x[1:, :CONTEXT] = block[:-1, -CONTEXT:]
            x[:, CONTEXT:] = block
            before = block[-1, -CONTEXT:].copy()
            try:
                probs, h, c = run(x, h, c)
            except Exception:  # noqa: BLE001 - a failing run bounds nothing
                return None
            out.append(np.asarray(probs, np.float64).reshape(-1))
            if settled is not None:
                so_far = np.concatenate(out) if len(out) > 1 else out[0]
                out = [so_far]
                if settled(so_far):
                    return so_far
    if not out:
        return np.zeros(0)
    return np.concatenate(out) if len(out) > 1 else out[0]


#: The last span listened to whole: (the capture's reader, start, end,
#: rate, probabilities).  The note's bounds and the phrases beyond it ask
#: for the same span of the same capture one after the other (a minute's
#: note: 50 ms once, not twice).  The reader is held weakly, and compared
#: by identity: another capture never matches.  One tuple, replaced whole:
#: safe from any thread.
_last: tuple[weakref.ref, int, int, int, np.ndarray | None] | None = None


def _probs(read: Reader, start: int, end: int, samplerate: int, **kw) -> np.ndarray | None:
    """:func:`speech_probs` of frames [start, end) of the capture, at the
    detector's rate (``kw``: ``settled``, passed on; without it, the last
    span's answer is kept for the next call, see ``_last``)."""
    global _last
    last = _last
    if not kw and last is not None and last[0]() is read and last[1:4] == (start, end, samplerate):
        return last[4]
    with heard_ahead(read, start, end, samplerate) as pieces:
        probs = speech_probs(pieces, **kw)
    if not kw:
        try:
            _last = (weakref.ref(read), start, end, samplerate, probs)
        except TypeError:  # a reader that cannot be referred to weakly: nothing kept
            _last = None
    return probs


def _first_of(probs: np.ndarray, on: np.ndarray) -> int:
    """The first window of the speech heard (an index into ``probs``; ``on``:
    the windows over ``ON``, not empty), its hysteresis over ``OFF``
    included; 0 where that first phrase holds for fewer than ``HOLD``
    windows (its start is not to be trusted)."""
    first = int(on[0])
    held = first + 1
    while first > 0 and probs[first - 1] > OFF:
        first -= 1
    while held < len(probs) and probs[held] > OFF:
        held += 1
    return 0 if held - first < HOLD else first


def _first_settled(probs: np.ndarray) -> bool:
    """Whether :func:`_first_of` can no longer change as more windows are
    heard: a window over ``ON``, and the ``HOLD`` windows from it heard."""
    on = np.flatnonzero(probs > ON)
    return len(on) > 0 and len(probs) >= on[0] + HOLD


def _frame(start: int, window: int, samplerate: int) -> int:
    """The capture's frame where detector window ``window`` of a span from
    frame ``start`` begins."""
    return start + round(window * WINDOW * (samplerate / RATE))


def _heard(read: Reader, start: int, end: int, samplerate: int) -> tuple[int, int] | None:
    """Frames [start, end) from the first to the last speech the detector
    hears in frames [start, end) of the capture, from ``start`` itself
    where the first speech it hears holds for fewer than ``HOLD`` windows
    (its start is not to be trusted); None where it hears none or
    onnxruntime is missing."""
    probs = _probs(read, start, end, samplerate)
    if probs is None:
        return None
    on = np.flatnonzero(probs > ON)
    if len(on) == 0:
        return None
    first, last = _first_of(probs, on), _last_heard(probs, on)
    return _frame(start, first, samplerate), min(end, _frame(start, last + 1, samplerate))


def _first_heard(read: Reader, start: int, end: int, samplerate: int) -> int | None:
    """The first frame of :func:`_heard`'s span, listening only until it is
    settled: the first 20 s of a span longer than ``WHOLE_S`` cost what its
    lead-in does (40 ms -> 6 ms where the speech starts 2 s in).  None
    where it hears no speech in frames [start, end)."""
    probs = _probs(read, start, end, samplerate, settled=_first_settled)
    if probs is None:
        return None
    on = np.flatnonzero(probs > ON)
    if len(on) == 0:
        return None
    return _frame(start, _first_of(probs, on), samplerate)


def _phrases(probs: np.ndarray, on: np.ndarray) -> list[list[int]]:
    """The phrases heard: [first, last window over ``OFF``, windows over
    ``ON``] each, in time order (``on``: the windows over ``ON``).  A
    phrase: the windows over ``OFF`` around windows over ``ON``, those less
    than ``APART_S`` apart joined; so phrases lie ``APART_S`` or more from
    each other."""
    apart = APART_S * RATE / WINDOW  # in windows
    phrases: list[list[int]] = []
    for k in on.tolist():
        if phrases and k <= phrases[-1][1]:
            phrases[-1][2] += 1  # in the phrase's run over OFF
            continue
        a = k
        while a > 0 and probs[a - 1] > OFF:
            a -= 1
        z = k
        while z + 1 < len(probs) and probs[z + 1] > OFF:
            z += 1
        if phrases and a - phrases[-1][1] - 1 < apart:
            phrases[-1][1], phrases[-1][2] = z, phrases[-1][2] + 1
        else:
            phrases.append([a, z, 1])
    return phrases


def _last_heard(probs: np.ndarray, on: np.ndarray) -> int:
    """The last window of the speech heard (an index into ``probs``; ``on``:
    the windows over ``ON``, not empty), its hysteresis over ``OFF``
    included: the last phrase's (see :func:`_phrases`), where the phrases
    after the first that hold at most ``BLIP`` windows over ``ON`` are left
    out, from the last back."""
    phrases = _phrases(probs, on)
    while len(phrases) > 1 and phrases[-1][2] <= BLIP:
        phrases.pop()
    return phrases[-1][1]


def hears_speech(read: Reader, start: int, end: int, samplerate: int) -> bool:
    """Whether the detector hears speech in frames [start, end) of the
    capture: more than ``BLIP`` windows over ``ON`` (a drum hit or a chord
    it takes for a syllable holds fewer), listening from ``SETTLE_S`` before
    for its state to settle.  False without onnxruntime (when unsure, the
    caller keeps what it found)."""
    first = max(0, start - round(SETTLE_S * samplerate))
    if end - first < WINDOW * samplerate / RATE:
        return False
    probs = _probs(read, first, end, samplerate)
    if probs is None:
        return False
    skip = int((start - first) * RATE / samplerate) // WINDOW
    return int(np.count_nonzero(probs[skip:] > ON)) > BLIP


def phrases_heard(read: Reader, frames: int, samplerate: int) -> list[tuple[int, int]] | None:
    """Frames [start, end) of each phrase the detector hears in the whole
    capture (``frames`` long), listened to whole: runs of windows over
    ``OFF`` around windows over ``ON``, those less than ``APART_S`` apart
    joined (:func:`_phrases`), each holding more than ``BLIP`` windows over
    ``ON`` (a drum hit or a chord holds fewer).  None without onnxruntime,
    or where the capture is longer than ``WHOLE_S`` (not listened to:
    seconds of work)."""
    if frames > WHOLE_S * samplerate or frames < WINDOW * samplerate / RATE:
        return None
    probs = _probs(read, 0, frames, samplerate)
    if probs is None:
        return None
    return [
        (_frame(0, a, samplerate), min(frames, _frame(0, z + 1, samplerate)))
        for a, z, held in _phrases(probs, np.flatnonzero(probs > ON))
        if held > BLIP
    ]


def speech_span(
    read: Reader | None, start: int, end: int, samplerate: int
) -> tuple[int, int] | None:
    """Frames [first, last) from the first to the last speech the detector
    hears in frames [start, end) of the capture (read through ``read``):
    whole, up to ``WHOLE_S``; longer, from its start until the first speech
    is settled and in its last ``LISTEN_S`` (an hour costs no more than five
    minutes); None where it hears none there, or without a reader or
    onnxruntime."""
    if read is None or end - start < WINDOW * samplerate / RATE:
        return None
    if end - start <= WHOLE_S * samplerate:
        return _heard(read, start, end, samplerate)
    listen = round(LISTEN_S * samplerate)
    head = _first_heard(read, start, start + listen, samplerate)
    tail = _heard(read, end - listen, end, samplerate)
    if head is None or tail is None:
        return None
    return head, tail[1]


def bounds_of_speech(
    read: Reader | None,
    frames: int,
    samplerate: int,
    hop: int,
    over: tuple[int, int],
    margin_s: float = MARGIN_S,
    lead_s: float = LEAD_S,
) -> tuple[int, int] | None:
    """Chunks [lo, hi) to which the edges of the note found over a
    background are bounded, from ``lead_s`` (s) before the speech the
    detector hears to ``margin_s`` (s) after it, where the note's edges as
    found, ``over`` (chunks [start, end)), reach further than that at either
    end (the speech: :func:`speech_span`).  None where ``over`` lies within
    those bounds, or where the detector hears nothing."""
    # The whole capture where it is short: the detector's answer near its
    # threshold moves with where its windows fall and with what it heard
    # before.  Else from a little before where the note could begin (its
    # windows where they would fall over the whole capture) to where the
    # note found ends: speech anywhere else cannot move these bounds.
    listen = round(LISTEN_S * samplerate)
    first, last = 0, frames
    if over[0] * hop > listen:
        step = WINDOW * samplerate / RATE
        first = round(int((over[0] * hop - (LEAD_S + SETTLE_S) * samplerate) / step) * step)
    if frames - over[1] * hop > listen:
        last = over[1] * hop
    speech = speech_span(read, first, last, samplerate)
    if speech is None:
        return None
    lo = max(0, speech[0] // hop - round(lead_s * samplerate / hop))
    hi = min(-(-frames // hop), -(-speech[1] // hop) + round(margin_s * samplerate / hop))
    if over[0] >= lo and over[1] <= hi:
        return None
    return lo, hi
