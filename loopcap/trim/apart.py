"""A long note's sentences beyond a long pause, over a background.

The background model (:mod:`loopcap.trim.background`) finds the note as its
loudest group, what stands ``OPEN_DB`` over the most the background reaches
(on its quarter-second levels) joined across gaps up to ``max_pause_s``,
and walks to its quiet edges from there.  People's notes last a minute, and
now and then their speaker pauses longer than that between two sentences,
the quiet words around the pause buried under the music: everything past
such a pause was cut (the accuracy benchmark's long notes, seeds 1-3: 22 of
48 lost whole sentences, 5-60 s, over music, a tone or a video's voice).

:func:`widened_over_pauses` widens the note, one group after another, over
the groups that stand as clear of the background beyond it, up to
``PAUSE_S`` away (further where they peak within ``NEAR_DB`` of the note's
loudest), and that the voice detector hears as speech: a notification
sound, a chime or a drum hit that stands as clear is not speech, and ends
the widening.  Each group joins with its quiet edges,
walked as the model walks the note's (over the background's median,
``PAD_S`` beyond).  Over a video's voice the detector hears the background
too, but the background's words seldom stand ``OPEN_DB`` over the most it
reaches on the probes, which grow to hold its loudest words.

:func:`beyond_by_speech` widens it over the phrases the detector hears
beyond it, however far, that peak near the note's loudest (``NEAR_DB``): over a tone
taken for the capture's floor, or music, the level shows only a long
note's loudest words, and the detector hears them all.

Pure numpy; the detector comes from the caller (``hears``, the phrases).
Positions are chunk indices ``[start, end)`` for :func:`widened_over_pauses`
and frames for :func:`beyond_by_speech`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .background import CLOSE_DB, CORE_S, DIP_S, EDGE_S, JOIN_DB, OPEN_DB, PAD_S
from .levels import levels_db, median_of
from .params import TrimParams
from .runs import merge, runs_of, walk

__all__ = [
    "AROUND_S",
    "NEAR_DB",
    "PAUSE_S",
    "WIDEN_LEAD_S",
    "WIDEN_MARGIN_S",
    "beyond_by_speech",
    "widened_over_pauses",
]

#: A group standing clear of the background joins the note across a pause
#: up to this long (s), where the detector hears speech in it: as a voice
#: joins a note across a silent pause (``VOICE_PAUSE_S`` in
#: :mod:`loopcap.trim.notes`).
PAUSE_S = 3.0

#: A phrase the detector hears beyond the note, or a group standing clear
#: of the background further than ``PAUSE_S`` from it, joins it where it peaks
#: within this many dB of the note's loudest (quarter seconds): a long
#: note's sentences beyond a long pause peaked 6.4 dB under it to 1.0 dB
#: over it (seeds 1-3 of the long notes); music the detector took for
#: speech after a note, and a video's words, 8.1-15.9 dB under it (seeds
#: 1-31 of the accuracy benchmark).
NEAR_DB = 7.0


def widened_over_pauses(
    powers: np.ndarray,
    params: TrimParams,
    over: tuple[int, int],
    probe: int,
    limits: tuple[int, int],
    hears: Callable[[int, int], bool],
) -> tuple[int, int]:
    """``over`` (the note found over a background, chunks) widened over the
    groups beyond it that stand clear of the background (see the module),
    within ``PAUSE_S`` of it or peaking within ``NEAR_DB`` of its loudest
    (quarter seconds), one after another outwards, while
    ``hears(a, b)`` says the detector hears speech in the group, chunks
    [a, b); never past ``limits`` (where the note's own floor ends it).  ``probe``: the
    chunks at either end of the capture the background was measured on."""
    n = len(powers)
    if probe <= 0 or 2 * probe >= n:
        return over
    edge = levels_db(powers, params, frame_s=EDGE_S)
    long = levels_db(powers, params, frame_s=CORE_S)
    outside = np.zeros(n, bool)
    outside[:probe] = outside[n - probe :] = True
    top = float(long[outside].max())
    median = float(median_of(edge[outside]))
    max_gap = round(params.max_pause_s / params.hop_s)
    groups = [(g[0], g[1]) for g in merge(runs_of(long > top + OPEN_DB), max_gap)]
    pause = round(PAUSE_S / params.hop_s)
    dip = round(DIP_S / params.hop_s)
    pad = round(PAD_S / params.hop_s)
    lo, hi = limits
    a, b = over

    def edges(g: tuple[int, int]) -> tuple[int, int]:
        ga, gb = walk(edge, g[0], g[1], median + CLOSE_DB, long, top + JOIN_DB, max_gap, dip)
        return max(lo, ga - pad), min(hi, gb + pad)

    # Groups wholly beyond the note only: where one reaches into it, the
    # model placed the note's edge inside it on purpose (where the note
    # rises out of the background, a video's word just before it left out).
    # A group further out joins where it stands as clear as the note's
    # loudest (within NEAR_DB): a single note's capture holds one note,
    # and a long note's quieter sentences over a video's voice may stand
    # no clearer of it than its words do (2-5 dB over the most it reaches),
    # so that 4-29 s lie between two groups of the note (the long notes,
    # seeds 1-5: 22-34 s of four notes' starts cut).  Capture by capture,
    # seeds 1-33 of the default captures did not move.
    loudest = float(long[a:b].max()) if b > a else top

    def far(g: tuple[int, int]) -> bool:
        return float(long[g[0] : g[1]].max()) >= loudest - NEAR_DB

    for g in groups:
        if g[0] < b:
            continue
        if (g[0] - b > pause and not far(g)) or g[1] > hi or not hears(*g):
            break
        b = max(b, edges(g)[1])
    for g in reversed(groups):
        if g[1] > a:
            continue
        if (a - g[1] > pause and not far(g)) or g[0] < lo or not hears(*g):
            break
        a = min(a, edges(g)[0])
    return a, b


#: A phrase joined is kept from this long (s) before the detector hears it
#: to this long after: what is kept here would otherwise be cut, and its
#: first syllables under what plays may go unheard longer than where the
#: detector only bounds a note found by its level (``LEAD_S``, ``MARGIN_S``
#: in :mod:`loopcap.trim.judge`): a long note's first sentence over music,
#: heard 0.74 s after it became audible (seed 3 long008), cut 0.44 s with
#: 0.3 s; its last word heard 0.45 s before its end (seed 3 long012).
WIDEN_LEAD_S = 1.0
WIDEN_MARGIN_S = 0.6
#: Where the detector hears speech within this long (s) of both of the
#: capture's ends, a voice plays around the note (a video's): what it hears
#: beyond the note may be that voice, and nothing is widened by it.
AROUND_S = 1.0


def beyond_by_speech(
    span: tuple[int, int],
    phrases: list[tuple[int, int]],
    frames: int,
    samplerate: int,
    lead_s: float,
    margin_s: float,
    peak_db: Callable[[int, int], float],
) -> tuple[int, int]:
    """The note ``span`` (frames [start, end), as found) widened over the
    phrases the detector hears beyond it (frames, in time order; see
    :func:`~loopcap.trim.judge.phrases_heard`) that peak within ``NEAR_DB``
    of the note's loudest (``peak_db(a, b)``: the loudest quarter second of
    frames [a, b), dBFS), however far from it, from ``lead_s`` (s) before
    the phrase to ``margin_s`` (s) after it (the detector's edges are
    coarse); quieter phrases between them come along.  Unchanged where a
    voice plays around the note (speech heard within ``AROUND_S`` of both
    of the capture's ends).

    Over music or a tone the detector hears a long note's every sentence,
    where its level shows only its loudest words (a tone as loud as the
    quieter ones, taken for the capture's floor: 31 s of a minute's note
    left out before the note found, 18 s after it)."""
    around = round(AROUND_S * samplerate)
    if any(a < around for a, _ in phrases) and any(b > frames - around for _, b in phrases):
        return span
    lead, margin = round(lead_s * samplerate), round(margin_s * samplerate)
    start, end = span
    near = peak_db(start, end) - NEAR_DB
    loud = [(a, b) for a, b in phrases if peak_db(a, b) >= near]
    # However far: a single note's capture holds one note, and where the
    # detector misses a quiet sentence of a long note (under music with
    # drums, 9 dB over it), the next it hears lies 3.1-5.6 s on (seed 8
    # long012 of the long notes: within 3 s only, 19 s of its start and
    # 19 s of its end cut).  Only speech beyond what is taken joins (a
    # phrase of the note's own never widens it).
    after = [b for a, b in loud if a >= end]
    before = [a for a, b in loud if b <= start]
    if after:
        end = min(frames, max(end, max(after) + margin))
    if before:
        start = max(0, min(start, min(before) - lead))
    return start, end
