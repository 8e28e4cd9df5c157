"""A note still playing when the capture stopped (the stop pressed too
early), or already playing when it started: silence at one end, the note
running to the other.  Small synthetic signals at 8 kHz whose answers can
be checked by eye."""

import numpy as np
import pytest
from trimsignals import SR, bounds_of, noise, place, voice

from loopcap.trim import notes
from loopcap.trim.cutoff import CUT_OFF_REASON, STARTED_REASON

FLOORS = {"zero": None, "dither": -90.0, "hiss": -70.0}


def speech(seconds, seed=1):
    """Words of 0.15-0.35 s, 0-6 dB under -20 dBFS, with 30-120 ms pauses
    between them, exactly ``seconds`` long (the last word may be cut)."""
    rng = np.random.default_rng(seed)
    parts, t = [], 0.0
    while t < seconds:
        d, gap = float(rng.uniform(0.15, 0.35)), float(rng.uniform(0.03, 0.12))
        amp = 0.1 * float(rng.uniform(0.5, 1.0))
        parts += [voice(d, amp, float(rng.uniform(120, 180))), np.zeros(int(gap * SR), np.float32)]
        t += d + gap
    x = np.concatenate(parts)[: int(seconds * SR)]
    x[-1] = 0.05  # a word, not a pause, at the very end
    return x


def floor(seconds, kind):
    db = FLOORS[kind]
    return np.zeros(int(seconds * SR), np.float32) if db is None else noise(seconds, db, seed=3)


@pytest.mark.parametrize("kind", FLOORS)
@pytest.mark.parametrize("seconds", [2.0, 4.0])
def test_a_note_cut_off_by_the_stop_keeps_its_end_and_says_so(kind, seconds):
    lead, words = 0.5, speech(seconds - 0.5)
    x = place(floor(seconds, kind), lead, words)
    b = bounds_of(x)
    # The same note, whole: the same lead-in, and a tail of silence after it.
    whole = bounds_of(place(floor(seconds + 1.0, kind), lead, words))
    assert b is not None and whole is not None and whole.reason is None
    assert b.start == whole.start > 0.4 * SR
    assert b.end == len(x)
    assert b.reason == CUT_OFF_REASON


@pytest.mark.parametrize("kind", FLOORS)
def test_a_note_already_playing_at_the_start_keeps_its_start_and_says_so(kind):
    words = speech(3.5, seed=2)[::-1].copy()
    x = place(floor(4.0, kind), 0.0, words)
    b = bounds_of(x)
    lead = 0.5  # 200 chunks: the same chunk grid shifted
    whole = bounds_of(place(floor(4.0 + lead, kind), lead, words))
    assert b is not None and whole is not None and whole.reason is None
    assert b.start == 0
    assert b.end == whole.end - int(lead * SR) < 3.6 * SR
    assert b.reason == STARTED_REASON


def as_before(x, monkeypatch):
    """The bounds of ``x`` without the cut-off note's case."""
    with monkeypatch.context() as m:
        m.setattr(notes, "cut_off", lambda *a: 0)
        return bounds_of(x)


def test_a_background_voice_that_runs_to_the_end_is_handled_as_before(monkeypatch):
    # The note, then a video's voice 25 dB under it that resumes after its
    # pauses (0.6-0.9 s) and runs to the capture's end.
    rng = np.random.default_rng(5)
    x = place(floor(7.0, "hiss"), 0.6, speech(2.4, seed=4))
    t = 3.3
    while t < 6.8:
        w = voice(0.4, 0.006, float(rng.uniform(190, 240)))
        place(x, t, w[: max(0, len(x) - int(t * SR))])
        t += 0.4 + float(rng.uniform(0.6, 0.9))
    place(x, 6.9, voice(0.1, 0.006, 200.0)[: len(x) - int(6.9 * SR)])
    b = bounds_of(x)
    assert b is not None and b.reason != CUT_OFF_REASON
    assert b == as_before(x, monkeypatch)


def test_a_quiet_background_that_plays_on_is_not_the_note(monkeypatch):
    # Music 20 dB under the note, from before it to the capture's end, over
    # a floor it never pauses down to: not one voice running to the end.
    x = floor(6.0, "hiss")
    x += np.tile(voice(0.5, 0.01, 220.0), 12)[: len(x)]
    x[: int(0.5 * SR)] = noise(0.5, -70.0, seed=3)
    place(x, 1.5, speech(2.0, seed=6))
    b = bounds_of(x)
    assert b is not None and b.reason not in (CUT_OFF_REASON, STARTED_REASON)
    assert b == as_before(x, monkeypatch)


def test_a_loud_voice_that_resumes_after_a_long_pause_is_not_cut_off(monkeypatch):
    # A pause of 0.8 s, then a voice as loud as the note to the end: a
    # second voice, not the note running on.
    x = place(floor(6.0, "zero"), 0.5, speech(2.5, seed=7))
    place(x, 3.8, speech(2.2, seed=8))
    b = bounds_of(x)
    assert b is not None and b.reason != CUT_OFF_REASON
    assert b == as_before(x, monkeypatch)


def test_a_capture_ended_otherwise_drops_only_the_stop_line():
    from loopcap.trim import BACKGROUND_REASON, Bounds, ended_otherwise

    cut = Bounds(0, 10, -60.0, SR, CUT_OFF_REASON)
    late = Bounds(0, 10, -60.0, SR, STARTED_REASON)
    whole = Bounds(0, 10, -60.0, SR, BACKGROUND_REASON)
    assert [b.reason for b in ended_otherwise([cut, late, whole])] == [
        None,
        STARTED_REASON,
        BACKGROUND_REASON,
    ]
