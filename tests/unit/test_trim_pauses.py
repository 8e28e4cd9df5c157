"""A quiet note's speech after a pause, where little of it rises over the
floor (issue 15): heard with its quiet syllables, over a steady floor, and
where it never formed a sound of its own.  Small synthetic signals at 8 kHz."""

from trimsignals import SR, band_noise, bounds_of, noise, place, tone, voice

from loopcap.trim import LevelMeter, TrimParams
from loopcap.trim.segmenter import Segmenter, _grow


def syllables(seconds, count, base_amp, peak_amp, syllable_s=0.04):
    """A quiet voice that stays a few dB over the floor, with ``count``
    louder syllables of ``syllable_s`` spread evenly over it."""
    x = voice(seconds, amp=base_amp)
    step = seconds / count
    for k in range(count):
        place(x, k * step + step / 2, voice(syllable_s, amp=peak_amp - base_amp))
    return x


def test_a_sentence_after_a_long_pause_joins_by_its_quiet_syllables():
    # The second sentence (3.6-4.6 s) is heard only as one short loud
    # moment at 4.3 s, 1.9 s after the first: too short to judge as a voice,
    # and further than max_pause_s.  With the quiet syllables after it, it
    # is a voice, and the whole sentence is the note's.
    x = noise(8.0, -50, seed=1)
    place(x, 1.0, voice(1.4))
    place(x, 3.6, voice(1.0, amp=0.01))
    place(x, 4.3, voice(0.012))
    b = bounds_of(x)
    assert b.start_s <= 1.0
    assert b.end_s >= 4.6


def _segmenter(x):
    m = LevelMeter(SR)
    m.feed(x)
    m.finish()
    return Segmenter(m.powers, SR, m.frames, TrimParams(), lambda a, b: x[a:b])


def test_a_quiet_sound_far_from_the_note_leaves_a_hiss_steady():
    # A quiet voice 3.2 s after the note, never a sound of its own, lies where
    # the floor is measured: it raises the floor's 95th percentile, not its
    # median, and the note's quiet fading end (3-4 dB over the hiss) stays
    # the note's.
    x = noise(9.0, -50, seed=2)
    place(x, 1.0, voice(2.0))
    place(x, 3.0, voice(0.3, amp=0.006))
    place(x, 6.2, syllables(1.0, 4, 0.008, 0.016))
    seg = _segmenter(x)
    assert len(seg.regions) == 1  # the note alone
    assert seg.steady
    assert seg.edge_threshold == seg.floor + TrimParams().edge_db
    b = bounds_of(x)
    assert b.end_s >= 3.28


def test_a_fans_rumble_is_still_unsteady():
    # A rumble under 200 Hz: its level over 50 ms wanders several dB, its
    # median 3 dB over its quietest; the note's edges must stand over what
    # it reaches.
    x = band_noise(9.0, 20.0, 200.0, -45, seed=5)
    place(x, 3.0, voice(2.0))
    seg = _segmenter(x)
    assert not seg.steady
    assert seg.edge_threshold > seg.floor + TrimParams().edge_db + 1.0


def test_quiet_last_words_after_a_pause_are_the_notes():
    # 0.75 s after the note's last loud word, its last words: a few dB over
    # the hiss, with two syllables 9 dB over it, too little to form a sound
    # of their own; they could be a voice, and are the note's.
    x = noise(8.0, -50, seed=4)
    place(x, 1.0, voice(2.0))
    place(x, 3.75, syllables(0.3, 2, 0.006, 0.016))
    seg = _segmenter(x)
    assert all(r[1] * 0.0025 <= 3.1 for r in seg.regions)  # no sound of their own
    b = bounds_of(x)
    assert b.start_s <= 1.0
    assert b.end_s >= 4.0


def test_a_quiet_chime_after_the_note_is_not_taken_in():
    # The same quiet shape, but a 1.5 kHz tone: no voice, left out.
    x = noise(8.0, -50, seed=4)
    place(x, 1.0, voice(2.0))
    quiet = tone(0.3, amp=0.006, f=1500.0)
    place(quiet, 0.075, tone(0.04, amp=0.01, f=1500.0))
    place(quiet, 0.225, tone(0.04, amp=0.01, f=1500.0))
    place(x, 3.75, quiet)
    b = bounds_of(x)
    assert b.end_s <= 3.1


def test_quiet_words_carry_the_note_to_a_syllable_past_the_voice_gap():
    # The last sentence begins 0.7 s after the note, a few dB over the hiss;
    # its one loud syllable lies 3.2 s after the note's last (further than
    # a voice joins across silence), but the quiet words lead to it.
    x = noise(10.0, -50, seed=6)
    place(x, 1.0, voice(2.0))
    place(x, 3.7, voice(3.8, amp=0.008))
    place(x, 6.2, voice(0.3))
    seg = _segmenter(x)
    assert len(seg.regions) == 2
    b = bounds_of(x)
    assert b.start_s <= 1.0
    assert b.end_s >= 7.45


def test_a_click_inside_quiet_sound_after_the_note_ends_it():
    # The same quiet stretch with a click where the syllable was: nothing
    # before the click rises close_db over the hiss, and nothing is taken.
    x = noise(10.0, -50, seed=6)
    place(x, 1.0, voice(2.0))
    place(x, 3.7, voice(3.8, amp=0.008))
    place(x, 6.2, noise(0.004, -10, seed=9))
    b = bounds_of(x)
    assert b.end_s <= 3.1


def test_quiet_words_before_a_click_in_them_are_the_notes():
    # Quiet words 0.7 s after the note, a click 1.2 s into them: the words
    # up to the click could be a voice, and are the note's.
    x = noise(10.0, -50, seed=6)
    place(x, 1.0, voice(2.0))
    place(x, 3.7, syllables(1.0, 3, 0.008, 0.016))
    place(x, 4.7, voice(1.3, amp=0.008))
    place(x, 4.9, noise(0.004, -10, seed=9))
    b = bounds_of(x)
    assert b.end_s >= 4.7


def test_no_quiet_voices_are_sought_over_an_unsteady_floor():
    # Over a rumble, what rises over its quietest by itself may look like a
    # voice: a voice-like sound 0.7 s before the note is one quiet_voice
    # would find, but over an unsteady floor the note is left as grown.
    x = band_noise(9.0, 20.0, 200.0, -45, seed=5)
    place(x, 3.0, voice(2.0))
    place(x, 1.9, syllables(0.4, 2, 0.01, 0.03))
    seg = _segmenter(x)
    assert not seg.steady
    core = 1
    a, b = seg.regions[core]
    assert a * 0.0025 >= 2.99
    assert seg.quiet_voice(a - 8, -1) is not None
    assert seg.quiet_voices(core, a, b) == (a, b)


def _joined_across(gap_s, voice_heard, widened_heard):
    """The note (0.5 s) grown across a silent pause of ``gap_s`` to a sound
    after it (0.2 s) that a voice test hears or not, alone
    (``voice_heard``) or with the quiet runs beyond it (``widened_heard``)."""
    params = TrimParams()
    a, b = 0, round(0.5 / params.hop_s)
    c = b + round(gap_s / params.hop_s)
    regions = [(a, b), (c, c + round(0.2 / params.hop_s))]
    widened_asked = []

    def widened(sound, side):
        widened_asked.append((sound, side))
        return widened_heard

    got = _grow(
        regions,
        0,
        lambda x, y: False,
        params,
        True,
        lambda x, y: 0.0,
        lambda x, y: voice_heard or (x, y) == regions[0],
        voice_gap=round(3.0 / params.hop_s),
        widened=widened,
    )
    return got == (a, regions[1][1]), widened_asked


def test_a_sound_past_a_long_pause_joins_when_heard_with_its_quiet_runs():
    # Past max_pause_s (1.7 s) but within the voice gap (3 s), a sound that
    # fails the voice test alone (a syllable heard only in part) joins
    # when heard with the quiet syllables beyond it, on the side away
    # from the note.
    joined, asked = _joined_across(2.4, voice_heard=False, widened_heard=True)
    assert joined and [side for _, side in asked] == [1]
    assert not _joined_across(2.4, voice_heard=False, widened_heard=False)[0]
    assert _joined_across(2.4, voice_heard=True, widened_heard=False)[0]
    # Beyond the voice gap nothing joins.
    assert not _joined_across(3.5, voice_heard=True, widened_heard=True)[0]


def test_a_sentence_whose_lead_in_a_shutter_overlaps_is_kept_before_a_longer_one():
    # Over hiss the note's pauses look silent.  A shutter (bright noise,
    # 0.3 s) in the lead-in of the note's first sentence, 0.2 s before it,
    # forms one sound with it; the second sentence, after a pause, is longer.  Read
    # over its first second that sound is bright as a click, and it ended
    # the note there: the whole first sentence was cut (seed 3 mix045 of
    # the accuracy benchmark, its note played twice: 5.9 s).
    x = noise(9.0, -50, seed=6)
    place(x, 1.0, band_noise(0.3, 2500.0, 3900.0, -14, seed=2))
    place(x, 1.5, voice(1.5))
    place(x, 3.7, voice(3.0))
    seg = _segmenter(x)
    assert len(seg.regions) == 2
    first, second = seg.regions
    assert first[0] * 0.0025 <= 1.01 and second[0] * 0.0025 >= 3.6
    assert seg.bright(*first) > seg.params.bright_hz  # its first second: the shutter's
    b = bounds_of(x)
    assert b.start_s <= 1.5  # the first sentence kept whole...
    assert b.start_s >= 1.3  # ...the shutter before it left out
    assert b.end_s >= 6.7
