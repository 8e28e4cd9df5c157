"""Fragments of speech that belong to no note of a split: pure numpy, no I/O.

Over a hum or a hiss, a quiet note's syllables may stand only a few dB over
the floor: of a whole sentence, a region opens on a syllable or two, 0.1-0.2 s
each, too short for the voice test (:mod:`loopcap.trim.voice`) and too far
from the note's louder speech to be joined to it.  The splitter
(:func:`~loopcap.trim.notes.find_notes`) would leave them in no note, and the
split files would lose that audio (issue 15: a note over a hum lost 5.4 s
between its two halves; a note 20 dB quieter than its neighbours was missed).

Such a fragment still sounds voiced: its autocorrelation peaks at a pitch
period (``voice_periodicity``), and its power under 400 Hz, though part of it
lies under the hum that is subtracted, is still a larger share than any
notification chime's or bell's (at most 5.4%, :mod:`loopcap.trim.voice`).
Chimes that are periodic have almost no power there; thumps and clicks with
power there are not periodic.  A fragment that passes both joins the nearest
note: two notes saved together, or a note's quiet stretch in the wrong file,
lose nothing, where a fragment left out loses a piece of speech.

Spans are chunk indices ``[a, b)``; ``hop`` is samples per chunk.
"""

from __future__ import annotations

from collections.abc import Callable

from .params import Reader, TrimParams
from .voice import VoiceFloor, voice_floor, voice_measure

__all__ = ["FRAGMENT_LOW_SHARE", "could_be_speech", "join_fragments", "merge_across"]

#: A fragment's share of power under 400 Hz (over the floor's) must reach
#: this: over every notification chime's and bell's (at most 5.4%), under
#: speech's usual (``voice_low_share``), since a hum hides part of that band.
FRAGMENT_LOW_SHARE = 0.055

#: At most this much of a fragment (s) is read to judge it.
_READ_S = 3.0


def could_be_speech(
    read: Reader | None,
    quiet: tuple[int, int],
    hop: int,
    samplerate: int,
    params: TrimParams,
) -> Callable[[int, int], bool]:
    """Whether the sound in chunks [a, b) could be a fragment of speech (see
    the module), judged against the capture's quietest stretch ``quiet``
    (chunks).  Without a reader no sound can be judged, and none is."""
    if read is None:
        return lambda a, b: False
    floors: list[VoiceFloor] = []  # measured at the first question: most splits ask none
    limit = round(_READ_S * samplerate)

    def speech(a: int, b: int) -> bool:
        if not floors:
            floors.append(voice_floor(read(quiet[0] * hop, quiet[1] * hop), samplerate))
        start = a * hop
        m = voice_measure(read(start, min(b * hop, start + limit)), floors[0], samplerate)
        return m.low_share >= FRAGMENT_LOW_SHARE and m.periodicity >= params.voice_periodicity

    return speech


def join_fragments(
    spans: list[tuple[int, int]], fragments: list[tuple[int, int]], max_gap: int
) -> tuple[list[tuple[int, int]], list[tuple[bool, bool]]]:
    """``spans`` (the notes, chunks, not overlapping) with each of
    ``fragments`` (sounds between or around them that belong to no note)
    joined to the nearest note, the nearest fragment first, so that a row of
    fragments joins the note it leads away from; a fragment further than
    ``max_gap`` chunks from every note (as grown so far) joins none (a note
    would take in seconds of silence for it).  Returns the notes in time
    order and, for each, whether a fragment joined it before its start and
    after its end; with no note, the fragments join none."""
    notes = sorted(spans)
    grown = [(False, False)] * len(notes)
    left = sorted(fragments)
    while notes and left:
        best = (0, 0, 0)  # (distance, fragment, note)
        for f, (fa, fb) in enumerate(left):
            for k, (na, nb) in enumerate(notes):
                d = fa - nb if fa >= nb else na - fb if fb <= na else 0
                if (f, k) == (0, 0) or d < best[0]:
                    best = (d, f, k)
        if best[0] > max_gap:
            break  # the rest are further still
        _, f, k = best
        fa, fb = left.pop(f)
        na, nb = notes[k]
        notes[k] = (min(na, fa), max(nb, fb))
        grown[k] = (grown[k][0] or fa < na, grown[k][1] or fb > nb)
    return notes, grown


def merge_across(
    spans: list[tuple[int, int]],
    reach: list[tuple[int, int]],
    grown: list[tuple[bool, bool]],
    gap: int,
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Neighbouring notes (``spans``, in time order, with ``reach``: how far
    each one's quiet edges reach, and ``grown``: whether fragments joined it
    before and after, see :func:`join_fragments`) become one where a
    fragment joined either of them from the gap between them and their
    reaches come within ``gap`` chunks of each other.  Returns the spans and
    reaches after merging."""
    out, out_reach, grew_end = [spans[0]], [reach[0]], grown[0][1]
    for (a, b), (ea, eb), (grew_start, grew_after) in zip(
        spans[1:], reach[1:], grown[1:], strict=True
    ):
        if (grew_end or grew_start) and ea - out_reach[-1][1] <= gap:
            out[-1] = (out[-1][0], b)
            out_reach[-1] = (out_reach[-1][0], eb)
        else:
            out.append((a, b))
            out_reach.append((ea, eb))
        grew_end = grew_after
    return out, out_reach
