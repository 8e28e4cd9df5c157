"""A capture whose clearest sound is not a voice while the voice detector
hears one elsewhere (issue 15): a note too quiet to rise over a hum
anywhere, and a notification sound 2 s before it.  Kept whole, with a
reason.  The detector is a stand-in here (synthetic tones are not speech to
the shipped model); :mod:`loopcap.trim.judge`'s tests run the model."""

import numpy as np
from trimsignals import bounds_of, hum, place, tone, voice

from loopcap.trim import notes


def heard(monkeypatch, phrases_s):
    """The detector hears the phrases ``phrases_s`` (seconds, at 8 kHz)."""

    def fake(read, frames, sr):
        return [(round(a * sr), round(b * sr)) for a, b in phrases_s]

    monkeypatch.setattr(notes, "phrases_heard", fake)


def capture(note):
    """12 s of a hum at -52 dBFS; a 0.4 s chime at 1 s; ``note`` at 4 s."""
    x = hum(12.0, -52.0)
    place(x, 1.0, tone(0.4, 0.05, 1200.0) * np.hanning(int(0.4 * 8000)).astype(np.float32))
    return place(x, 4.0, note)


def test_a_chime_is_not_kept_as_the_note_where_a_voice_is_heard_elsewhere(monkeypatch):
    x = capture(np.zeros(8000 * 4, np.float32))  # the note under the hum
    heard(monkeypatch, [])
    b = bounds_of(x)
    assert b.reason is None and b.end_s < 1.6  # the chime alone: nothing else heard
    heard(monkeypatch, [(4.2, 7.5)])
    b = bounds_of(x)
    assert (b.start, b.end_s) == (0, 12.0)
    assert b.reason == notes.NO_VOICE_REASON


def test_a_voice_found_stays_whatever_else_is_heard(monkeypatch):
    x = capture(voice(3.0, 0.05))
    heard(monkeypatch, [(0.9, 1.5), (4.0, 7.0)])
    b = bounds_of(x)
    assert b.reason is None
    assert 3.8 < b.start_s <= 4.0 and 7.0 <= b.end_s < 7.5
