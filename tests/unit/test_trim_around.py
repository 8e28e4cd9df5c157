"""A background that starts just after the capture does (a video's voice
that begins in a pause between its sentences): quiet at the capture's ends,
yet playing all around the note (issue 15).  Small synthetic signals at
8 kHz whose answers can be checked by eye."""

import numpy as np
from trimsignals import SR, bounds_of, noise, place, voice

from loopcap.trim import TrimParams, notes
from loopcap.trim.around import (
    SPEAKER_PAUSE_S,
    plays_around,
    plays_beside,
    quiet_ends,
    quiet_sides,
    settle_edge,
)
from loopcap.trim.background import note_over_background
from loopcap.trim.levels import chunk_powers
from loopcap.trim.params import Bounds
from loopcap.trim.room import ROOM_S
from loopcap.trim.segmenter import Segmenter

HOP = TrimParams().hop_s


def _word(seconds, amp, f0):
    w = voice(seconds, amp, f0)
    return (w * np.hanning(len(w))).astype(np.float32)


def video_from(start_s, end_s, seconds=9.0, seed=0):
    """A video's voice, words of 0.35 s at -38..-32 dBFS with 0.25-0.5 s
    pauses, from ``start_s`` to ``end_s`` only, over a -70 dBFS hiss."""
    rng = np.random.default_rng(seed)
    x = noise(seconds, -70.0, seed)
    t = start_s
    while t < end_s - 0.35:
        place(x, t, _word(0.35, float(rng.uniform(0.02, 0.04)), float(rng.uniform(180, 240))))
        t += 0.35 + float(rng.uniform(0.25, 0.5))
    return x


NOTE = np.concatenate([voice(1.0, 0.3), np.zeros(int(0.3 * SR), np.float32), voice(1.0, 0.25, 130)])


def powers_of(x):
    hop = round(HOP * SR)
    return chunk_powers(x[: len(x) // hop * hop], hop)


def test_a_video_that_starts_after_the_capture_is_left_out_of_the_note():
    # The capture's first and last 0.4 s are quiet (the video's voice begins
    # and ends in its pauses): neither end sounds, and the segmenter joined
    # the video's words, across their short pauses, to the note (3.0-5.3 s),
    # from 0.4 s to 8.0 s.  The video sounds before and after the note for
    # much of the time, never pausing for a second: the background model
    # finds the note; of the video, at most its word that runs into the
    # note's onset (2.57-2.92 s) is kept.
    x = place(video_from(0.4, 8.6), 3.0, NOTE)
    b = bounds_of(x)
    assert b is not None and b.reason is None
    assert 2.45 <= b.start_s <= 3.0
    assert 5.3 <= b.end_s <= 5.75


def test_a_note_over_silence_with_a_short_lead_in_keeps_its_exact_edges():
    # A note over a hiss with 0.4 s before and after it, a chime 0.5 s from
    # it: nothing plays around it, and its edges are the segmenter's.
    x = noise(3.9, -70.0, 1)
    place(x, 0.4, NOTE)
    x = np.concatenate([x, noise(1.5, -70.0, 2)])
    place(x, 3.2, _word(0.3, 0.05, 900.0))
    b = bounds_of(x)
    assert b is not None and b.reason is None
    # As before the background rule, with ROOM_S of the hiss before the
    # voice that rises out of it (none at its end, where a sound at the
    # edge was left out).
    assert (b.start_s, b.end_s) == (round(0.4 - ROOM_S, 6), 2.745)
    p = powers_of(x)
    span = (round(0.4 / HOP), round(2.7 / HOP))
    assert not plays_around(p, -70.0, span, TrimParams())


def test_plays_around_wants_sound_on_both_sides_and_no_long_silence():
    params = TrimParams()
    x = place(video_from(0.4, 8.6), 3.0, NOTE)
    p = powers_of(x)
    span = (round(3.0 / HOP), round(5.3 / HOP))
    assert not quiet_ends(p, -70.0, params)
    assert plays_around(p, -70.0, span, params)
    # The video stops 2 s before the capture ends: a longer silence than a
    # speaker's pause.
    x = place(video_from(0.4, 7.0), 3.0, NOTE)
    assert 9.0 - 7.0 > SPEAKER_PAUSE_S
    assert not plays_around(powers_of(x), -70.0, span, params)
    assert quiet_ends(powers_of(x), -70.0, params)
    # Nothing before the note: nothing plays around it.
    x = place(video_from(5.5, 8.6), 3.0, NOTE)
    assert not plays_around(powers_of(x), -70.0, span, params)


def test_an_edge_is_the_segmenters_where_both_agree_or_it_saw_a_sound():
    params = TrimParams()
    p = np.full(round(4.0 / HOP), 1e-7, np.float32)  # -70 dBFS
    p[round(1.0 / HOP) : round(2.0 / HOP)] = 1e-2  # the note, -20 dBFS
    p[round(2.0 / HOP) : round(2.2 / HOP)] = 1e-5  # a sound at -50 dBFS after it
    p[round(2.2 / HOP) : round(2.4 / HOP)] = 10**-6.5  # a faint stretch, -65 dBFS
    c = round(2.0 / HOP)
    # The segmenter's end further out, within AGREE_S: kept (when unsure, keep).
    assert settle_edge(p, -70.0, c, c + 10, 1, params) == c + 10
    # ...further than that: it took in the background, the model's stands.
    assert settle_edge(p, -70.0, c, c + 100, 1, params) == c
    # The model's end further out over a sound open_db over the floor the
    # segmenter left out: the segmenter's stands.
    assert settle_edge(p, -70.0, c + 80, c, 1, params) == c
    # ...over a faint stretch only: the model's (the note's fading end).
    d = round(2.2 / HOP)
    assert settle_edge(p, -70.0, d + 60, d, 1, params) == d + 60
    # The start, outwards to the left, the same way.
    s = round(1.0 / HOP)
    assert settle_edge(p, -70.0, s, s - 10, -1, params) == s - 10
    assert settle_edge(p, -70.0, s, s - 100, -1, params) == s


def test_a_video_heard_only_before_the_note_is_left_out_of_its_start():
    # The video's voice plays from 0.4 s up to the note (3.0-5.3 s) and
    # pauses after it, to the capture's end at 6.0 s: nothing plays around
    # the note, and the segmenter joined the video's words, across their
    # pauses at the capture's floor, to the note from 0.42 s.  The video
    # plays before the note: its start is the background model's, at most
    # the video's word that runs into the note's onset kept; its end stays
    # the segmenter's.
    for seed in (0, 1, 2):
        x = place(video_from(0.4, 3.0, seconds=6.0, seed=seed), 3.0, NOTE)
        p = powers_of(x)
        span = (round(3.0 / HOP), round(5.3 / HOP))
        assert plays_beside(p, -70.0, span, TrimParams()) == (True, False)
        b = bounds_of(x)
        assert b is not None and b.reason is None
        assert 2.45 <= b.start_s <= 3.0
        assert b.end_s == round(5.3 + ROOM_S, 6)  # the voice's end and ROOM_S of the floor


def test_probes_grow_where_only_the_notes_buried_floor_reaches_one():
    # The note's fade (and 0.45 s past it) runs into the last probe, 0.5 s
    # after the note: the model finds it only where its buried floor may lie
    # in a probe.  Probes then still grow: the first, grown over the video's
    # words, puts the note's start where it rises out of them, not at the
    # video's first word (0.4 s).
    for seed in (0, 2):
        x = place(video_from(0.4, 3.0, seconds=5.8, seed=seed), 3.0, NOTE)
        over = note_over_background(powers_of(x), TrimParams(), -70.0)[0]
        assert over is not None
        assert 2.45 <= over[0] * HOP <= 3.0
        assert 5.3 <= over[1] * HOP <= 5.6


def test_a_video_heard_only_after_the_note_is_left_out_past_its_first_pause():
    # The note (0.6-2.9 s) with 0.6 s of quiet lead-in; the video's voice
    # begins after it and plays to the capture's end.  The segmenter joined
    # the video's words to the note across their pauses at the capture's
    # floor; the background model's end lies before one of those pauses,
    # and the note ends there: the video's words after it are left out.
    for start_s, seed in ((3.4, 0), (3.6, 3)):
        x = place(video_from(start_s, 6.0, seconds=6.4, seed=seed), 0.6, NOTE)
        b = bounds_of(x)
        assert b is not None and b.reason is None
        assert b.start_s == round(0.6 - ROOM_S, 6)  # ROOM_S of the floor before the voice
        assert 2.9 <= b.end_s <= 3.5


def test_a_video_heard_before_the_note_is_left_out_though_the_capture_ends_silent():
    # As above, but the capture runs on 1.2-2.7 s past the note in silence:
    # its last second is quiet, which alone tells that nothing plays around
    # the note, yet the video's words before it are still left out.
    for seconds in (6.5, 8.0):
        for seed in (0, 1):
            x = place(video_from(0.4, 3.0, seconds=seconds, seed=seed), 3.0, NOTE)
            assert quiet_sides(powers_of(x), -70.0, TrimParams()) == (False, True)
            b = bounds_of(x)
            assert b is not None and b.reason is None
            assert 2.45 <= b.start_s <= 3.0
            assert b.end_s == round(5.3 + ROOM_S, 6)


def one_side(x):
    """The segmenter's note from 0.4 s to 5.4 s and the background model's
    from 3.0 s to 5.3 s in ``x``, and what :func:`notes._one_side` makes of
    them, where something plays before the model's note."""
    params = TrimParams()
    p = powers_of(x)
    seg = Segmenter(p, SR, len(p) * round(HOP * SR), params, lambda a, b: x[a:b])
    over = (round(3.0 / HOP), round(5.3 / HOP))
    found = Bounds(round(0.4 * SR), round(5.4 * SR), seg.floor, SR)
    assert plays_beside(p, seg.floor, over, params)[0]
    return found, notes._one_side(found, over, seg)


def test_words_before_the_note_as_loud_as_it_are_the_notes_own_and_kept():
    # The background model's note begins at 3.0 s, and words play before
    # it from 0.4 s with short pauses, as a video's voice would.  At the
    # video's level (14-28 dB under the note) the start moves in to the
    # model's; as loud as the note (within NEAR_DB) they are the note's
    # own first words, measured as the background at that end where the
    # note began 0.3 s into the capture (seed 7 long007 of the long
    # notes: its first 4.5 s lost), and the start stays.
    for gain, start_s in ((1.0, 3.0), (8.0, 0.4)):
        for seed in (0, 1, 2):
            x = video_from(0.4, 3.0, seconds=6.0, seed=seed) * np.float32(gain)
            place(x, 3.0, NOTE)
            found, b = one_side(x)
            assert b.start_s == start_s
            assert b.end == found.end


def test_quiet_words_that_run_on_into_the_note_over_its_own_floor_are_kept():
    # As above at the video's level, but the words lie over a floor of
    # their own (-50 dBFS, 20 dB over the capture's) that runs on unbroken
    # into the note: no pause at the capture's floor parts them from it,
    # so they are the note's own first sentence (seed 42 mix021: a louder
    # sound over the note's tail made its first 2.8 s seem a video's words
    # by their level, and they were cut, speech and all).
    for seed in (0, 1, 2):
        x = video_from(0.4, 3.0, seconds=6.0, seed=seed)
        floor = noise(5.0, -50.0, seed + 10)[: round(4.9 * SR)]
        place(x, 0.4, floor)
        place(x, 3.0, NOTE)
        found, b = one_side(x)
        assert b.start == found.start and b.end == found.end
