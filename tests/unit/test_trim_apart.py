"""A long note's sentences beyond a long pause, over a background (issue
15): the note over music is its loudest group and what lies within
``max_pause_s`` of it; a sentence after a longer pause (up to
``apart.PAUSE_S``, or further where it is as loud as the note) joins where
the voice detector hears speech in it.  The
detector itself is a stand-in here (synthetic tones are not speech to the
shipped model); :mod:`loopcap.trim.judge`'s tests run the model."""

from test_trim_background import music
from trimsignals import bounds_of, place, tone, voice

from loopcap.trim import apart, notes
from loopcap.trim.params import TrimParams


def hears(monkeypatch, speech_s):
    """The detector hears speech over the spans in ``speech_s`` (seconds)
    only; records what it was asked (seconds)."""
    asked = []

    def fake(read, start, end, sr):
        asked.append((start / sr, end / sr))
        return any(start / sr < b and a < end / sr for a, b in speech_s)

    monkeypatch.setattr(notes, "hears_speech", fake)
    return asked


def two_sentences(pause_s, second=None):
    """Music at -46 dBFS for 14 s; a sentence at 2.0-4.5 s, then ``second``
    (a shorter sentence by default) after ``pause_s`` of the music alone."""
    x = music(14.0, 0.005)
    place(x, 2.0, voice(2.5))
    place(x, 4.5 + pause_s, voice(1.5) if second is None else second)
    return x


def test_a_sentence_after_a_long_pause_joins_where_speech_is_heard(monkeypatch):
    pause = TrimParams().max_pause_s + 0.6  # 2.3 s: not bridged by the model
    assert pause < apart.PAUSE_S
    x = two_sentences(pause)
    asked = hears(monkeypatch, [])
    before = bounds_of(x)
    assert before.end_s < 5.0  # the second sentence cut...
    assert asked  # ...though the detector was asked
    hears(monkeypatch, [(2.0, 4.5), (6.8, 8.3)])
    after = bounds_of(x)
    assert abs(after.start_s - before.start_s) < 0.01
    assert 8.3 <= after.end_s < 8.8  # the second sentence whole, its quiet edge too


def test_a_chime_after_a_long_pause_stays_out_and_ends_the_widening(monkeypatch):
    # A chime (1 kHz, no speech in it) stands as clear of the music 2.3 s
    # after the note; a sentence 2.3 s after the chime: the widening stops
    # at the chime, whatever lies beyond it.
    pause = TrimParams().max_pause_s + 0.6
    x = two_sentences(pause, tone(0.6, 0.1, 1000.0))
    place(x, 4.5 + pause + 0.6 + pause, voice(1.5))
    hears(monkeypatch, [(2.0, 4.5), (9.7, 11.2)])
    b = bounds_of(x)
    assert b.end_s < 5.0


def test_a_quieter_sentence_further_than_pause_s_is_not_asked_about(monkeypatch):
    # The pause is measured between the edges as the quarter-second levels
    # see them (the note's quiet end walked on, the sentence's onset a
    # window early): up to half a second shorter than it is.  The sentence
    # stands clear of the music but lies NEAR_DB + 3 dB under the note.
    quieter = voice(1.5, 0.1 * 10 ** (-(apart.NEAR_DB + 3) / 20))
    x = two_sentences(apart.PAUSE_S + 0.8, quieter)
    asked = hears(monkeypatch, [(2.0, 4.5), (8.3, 9.8)])
    b = bounds_of(x)
    assert b.end_s < 5.0
    assert all(end < 8.0 for _, end in asked)  # the far sentence never reached


def test_a_sentence_as_loud_as_the_note_joins_from_further_where_speech_is_heard(
    monkeypatch,
):
    # 6 s of the music alone between two sentences as loud: the second
    # joins where the detector hears speech in it, and only there.
    x = two_sentences(6.0)
    hears(monkeypatch, [(2.0, 4.5)])
    assert bounds_of(x).end_s < 5.0
    hears(monkeypatch, [(2.0, 4.5), (10.5, 12.0)])
    b = bounds_of(x)
    assert 12.0 <= b.end_s < 12.5
    assert 1.7 < b.start_s <= 2.0


def test_phrases_heard_beyond_the_note_widen_it_where_they_are_as_loud():
    sr = 1000  # frames are milliseconds here
    note = (10_000, 20_000)  # peaks at -20 dBFS
    levels = {(22_000, 24_000): -24.0, (25_200, 25_500): -35.0, (26_800, 28_000): -21.0}
    levels |= {(5_000, 8_000): -26.0, (1_000, 1_500): -36.0}

    def peak_db(a, b):
        return levels.get((a, b), -20.0 if (a, b) == note else -60.0)

    phrases = sorted(levels)
    span = apart.beyond_by_speech(note, phrases, 100_000, sr, 0.3, 0.4, peak_db)
    # After: 2 s on, a sentence 4 dB down; a quiet word (15 dB down) does
    # not join by itself but lies inside once the next sentence, 2.4 s
    # after the first's margin, joins.  Before: a sentence 6 dB down, 2 s
    # before; a quiet phrase (16 dB down) before it stays out.
    assert span == (5_000 - 300, 28_000 + 400)
    # A sentence as loud 32 s on joins too: however far, it is the note's.
    levels[(60_000, 62_000)] = -20.0
    span = apart.beyond_by_speech(note, sorted(levels), 100_000, sr, 0.3, 0.4, peak_db)
    assert span == (5_000 - 300, 62_000 + 400)


def test_no_phrase_joins_where_a_voice_plays_around_the_note_or_it_is_too_quiet():
    sr = 1000
    note = (10_000, 20_000)

    def peak_db(a, b):
        return -20.0 if (a, b) == note else -20.0 - (apart.NEAR_DB + 1) * (a == 22_000)

    # Speech heard within AROUND_S of both ends of the capture: a video's
    # voice; nothing joins, however loud.
    around = [(200, 900), (22_000, 23_000), (29_000, 29_900)]
    assert apart.beyond_by_speech(note, around, 30_000, sr, 0.3, 0.4, peak_db) == note
    # A phrase more than NEAR_DB under the note's loudest: another sound.
    assert apart.beyond_by_speech(note, around[1:2], 60_000, sr, 0.3, 0.4, peak_db) == note


def test_the_notes_own_phrases_never_widen_it_and_the_margin_reaches_the_next():
    sr = 1000
    note = (10_000, 20_000)

    def peak_db(a, b):
        return -20.0

    # The note's own phrase (speech heard up to 19.9 s) widens nothing.
    own = [(12_000, 19_900)]
    assert apart.beyond_by_speech(note, own, 60_000, sr, 1.0, 0.6, peak_db) == note
    # A phrase beyond it joins with the margin after it; the next begins
    # inside that margin and joins all the same.
    beyond = [*own, (22_000, 24_000), (24_300, 25_000)]
    assert apart.beyond_by_speech(note, beyond, 60_000, sr, 1.0, 0.6, peak_db) == (10_000, 25_600)
