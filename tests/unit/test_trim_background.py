"""The trimmer when something else plays: a background spanning the capture
(music, a hum, a fan), a chime over the note's own floor, a quiet note whose
pauses are heard longer than they are (issue 15).  Small synthetic signals
at 8 kHz whose answers can be checked by eye."""

import numpy as np
from loguru import logger
from trimsignals import SR, band_noise, bounds_of, hum, noise, place, tone, voice

from loopcap.formats import Target
from loopcap.output.save import write_notes
from loopcap.trim import BACKGROUND_REASON, Bounds, LevelMeter, TrimParams
from loopcap.trim.background import _release, note_over_background, spans_capture
from loopcap.trim.edgefloor import floor_gone
from loopcap.trim.levels import floor_top_db, levels_db
from loopcap.trim.notes import find_bounds
from loopcap.trim.ownfloor import floor_begins, floor_ends, floor_limits, gone_runs
from loopcap.trim.room import ROOM_S
from loopcap.trim.segmenter import Segmenter


def music(seconds, rms, seed=0):
    """Plucked notes (a tone and its octave, decaying), a quarter second each."""
    rng = np.random.default_rng(seed)
    n = int(0.25 * SR)
    t = np.arange(n) / SR
    parts = []
    while len(parts) * n < seconds * SR:
        f = rng.choice([220, 262, 330, 392, 440])
        parts.append(
            (np.sin(2 * np.pi * f * t) + 0.5 * np.sin(4 * np.pi * f * t)) * np.exp(-t / 0.15)
        )
    x = np.concatenate(parts)[: int(seconds * SR)]
    return (rms * x / np.sqrt(np.mean(x**2))).astype(np.float32)


NOTE = np.concatenate([voice(1.0), np.zeros(int(0.5 * SR), np.float32), voice(1.0, 0.07)])


def test_a_note_over_music_is_found_whole_and_nothing_far_outside_it():
    x = place(music(8.0, 0.005), 3.0, NOTE)  # music at -46 dBFS, the note 3.0-5.5 s
    b = bounds_of(x)
    assert b.reason is None
    assert 2.7 <= b.start_s <= 3.0  # never after the note's first sample
    # A pluck 0.15 s after the note's end could be a stop's release: 50 ms
    # of it is kept.
    assert 5.5 <= b.end_s <= 5.85


def test_a_note_lost_in_loud_music_keeps_the_whole_capture_and_says_why():
    x = place(music(8.0, 0.07, seed=1), 3.0, NOTE * 0.3)
    b = bounds_of(x)
    assert (b.start, b.end) == (0, len(x))
    assert b.reason == BACKGROUND_REASON


def test_a_note_under_a_rough_fan_is_not_swallowed_by_it():
    rng = np.random.default_rng(5)
    spec = np.fft.rfft(rng.standard_normal(int(8 * SR)))
    f = np.fft.rfftfreq(int(8 * SR), 1 / SR)
    f[0] = 1.0
    spec *= (f / 100) ** -0.7 / np.sqrt(1 + (f / 400) ** 4)  # a low rumble
    fan = np.fft.irfft(spec, int(8 * SR))
    fan = (fan / np.sqrt(np.mean(fan**2)) * 10 ** (-45 / 20)).astype(np.float32)
    b = bounds_of(place(fan, 3.0, voice(2.0, 0.05)))
    assert 2.5 <= b.start_s <= 3.0 and 5.0 <= b.end_s <= 5.5
    assert b.reason is None


def test_a_quiet_note_over_a_hum_keeps_a_pause_heard_longer_than_max_pause():
    t = np.arange(int(10 * SR)) / SR
    hum = sum(np.sin(2 * np.pi * 50 * k * t + k) / k for k in range(1, 8))
    x = (hum / np.sqrt(np.mean(hum**2)) * 10 ** (-45 / 20)).astype(np.float32)
    x += noise(10.0, -70, seed=2)
    place(x, 2.0, voice(1.0, 0.02))  # a quiet sentence...
    place(x, 5.4, voice(1.0, 0.05))  # ...2.4 s before the next (max_pause_s is 1.7)
    b = bounds_of(x)
    assert b.start_s <= 2.0 + 0.005 and b.end_s >= 6.4 - 0.005


def test_a_chime_over_the_notes_lead_in_is_left_out_before_its_voice():
    x = np.zeros(int(5 * SR), np.float32)
    place(x, 1.0, noise(3.0, -60, seed=3))  # the note: its own floor, 1.0-4.0 s
    place(x, 1.3, voice(1.0))
    place(x, 2.8, voice(0.9))
    n = int(0.4 * SR)
    ding = tone(0.4, amp=0.3, f=1500) * np.exp(-np.arange(n) / SR / 0.08).astype(np.float32)
    place(x, 0.8, ding)  # 0.8-1.2 s: over the note's first samples
    b = bounds_of(x)
    # The chime out where the note is not: its floor, followed under the
    # chime's second half, begins at 1.0 s; the voice whole.
    assert 1.0 <= b.start_s <= 1.0 + 0.02
    assert b.end == int(4.0 * SR)


def test_a_chime_near_a_note_between_silences_takes_nothing_from_the_old_rules():
    ding = tone(0.3, amp=0.5, f=1500)
    silence = np.zeros(int(0.2 * SR), np.float32)
    x = np.concatenate([silence, ding, np.zeros(SR, np.float32), voice(1.5)])
    x = np.concatenate([x, np.zeros(SR, np.float32), ding, silence])
    b = bounds_of(x)
    # From the voice's first sample that is not 0 (its sin(0) is silence).
    assert (b.start, b.end) == (int(1.5 * SR) + 1, int(3.0 * SR)) and b.reason is None


def test_sound_at_both_ends_is_what_switches_to_the_background_model():
    params = TrimParams()

    def spans(x):
        m = LevelMeter(SR, params)
        m.feed(x)
        m.finish()
        seg = Segmenter(m.powers, SR, m.frames, params, lambda a, b: x[a:b])
        return spans_capture(m.powers, seg.floor, (0, 1), seg.regions, params)

    quiet = np.zeros(int(6 * SR), np.float32) + noise(6.0, -70)
    assert not spans(place(quiet.copy(), 2.0, voice(2.0)))
    assert spans(place(music(6.0, 0.005), 2.0, voice(2.0)))


def test_the_floor_top_is_the_floor_for_steady_hiss_and_unknown_without_a_clear_stretch():
    params = TrimParams()
    x = noise(6.0, -60)
    m = LevelMeter(SR, params)
    m.feed(x)
    m.finish()
    top = floor_top_db(m.powers, [(int(2.5 / 0.0025), int(3.0 / 0.0025))], params, 0.05)
    assert top is not None and abs(top - -60.0) < 1.0
    assert floor_top_db(m.powers, [(0, len(m.powers))], params, 0.05) is None


def test_a_note_kept_whole_says_why_when_saved(tmp_path):
    import soundfile as sf

    src = tmp_path / "capture.wav"
    sf.write(src, np.zeros((SR, 1), np.float32), SR, subtype="FLOAT")
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="WARNING")
    try:
        whole = Bounds(0, SR, -140.0, SR, BACKGROUND_REASON)
        write_notes(src, [(tmp_path / "note.wav", whole)], Target("WAV", "PCM_16", "wav"))
    finally:
        logger.remove(sink)
    assert len(lines) == 1 and "note.wav" in lines[0] and BACKGROUND_REASON in lines[0]
    assert Bounds(0, 1, -140.0, SR).reason is None


def test_a_fading_hiss_of_the_note_over_a_hum_is_kept_by_its_spectrum():
    x = hum(6.0, -45)
    place(x, 2.0, voice(1.0))
    # A last "s": noise at 1.6-3.2 kHz, 15 dB under the hum's level, so
    # the broadband level hardly moves, but the hum has nothing there.
    place(x, 3.0, band_noise(0.2, 1600, 3200, -60))
    b = bounds_of(x)
    assert abs(b.start_s - (2.0 - ROOM_S)) <= 0.005  # ROOM_S of the hum before the voice
    # Kept to within two chunks of its end (broadband levels alone end the
    # note at 3.0 s, where the voice does).
    assert 3.2 - 0.0075 <= b.end_s <= 3.2


HOP = 0.0025  # chunk powers below: one per 2.5 ms (the default hop)


def chunk_powers(seconds, level_db):
    return np.full(round(seconds / HOP), 10 ** (level_db / 10), np.float32)


def add(powers, a_s, b_s, level_db):
    powers[round(a_s / HOP) : round(b_s / HOP)] += 10 ** (level_db / 10)
    return powers


def video_beside_a_note(capture_floor_db=-120.0, pause_db=None):
    """Chunk powers of 9 s: another voice throughout (-40 dBFS in the first
    and last 0.3 s, -35 dBFS words around the note, 20 ms pauses between
    them: at 1.94 s and 7.40 s); the note from 1.96 s to 7.0 s, its own floor
    at -60 dBFS, its voice at -15 dBFS (2.3-3.5, 3.9-5.0, 5.4-6.7 s).  With
    ``pause_db``, the note's pause at 3.5-3.9 s is at that level instead."""
    p = chunk_powers(9.0, capture_floor_db)
    add(p, 0.0, 0.3, -40.0)
    add(p, 8.7, 9.0, -40.0)
    add(p, 0.6, 1.94, -35.0)
    add(p, 1.96, 2.4, -35.0)  # a word over the note's lead-in
    add(p, 6.75, 7.4, -35.0)  # ...and over its tail
    add(p, 7.42, 8.0, -35.0)
    add(p, 1.96, 7.0, -60.0)
    for a, b in ((2.3, 3.5), (3.9, 5.0), (5.4, 6.7)):
        add(p, a, b, -15.0)
    if pause_db is not None:
        p[round(3.5 / HOP) : round(3.9 / HOP)] = 10 ** (pause_db / 10)
    return p


def test_another_voice_next_to_the_note_is_left_out_up_to_its_first_pause():
    # Its words next to the note stand as high over the lead-in as the
    # note's quiet ones would: the level walks on through them, across the
    # 20 ms pause, to 0.5 s.  But the note's own floor is heard over the
    # capture's (-60 over -120 dBFS) and goes on from its first sample to
    # its last: where the level falls halfway to the capture's floor, the
    # note is not.
    p = video_beside_a_note()
    b = find_bounds(p, 400, len(p))  # 400 Hz: one sample per chunk
    assert b is not None and b.reason is None
    assert 1.955 <= b.start_s <= 1.97
    assert 7.0 <= b.end_s <= 7.405
    span, _, limits, _, _ = note_over_background(p, TrimParams(), -120.0)
    assert span is not None and limits[0] <= span[0] and span[1] <= limits[1]


def test_the_notes_floor_rules_out_nothing_where_it_is_not_heard_or_not_whole():
    params = TrimParams()
    core = (round(2.3 / HOP), round(6.7 / HOP))
    n = round(9.0 / HOP)
    # Heard over the capture's floor: the limits are the pauses next to it.
    lo, hi = floor_limits(video_beside_a_note(), core, -120.0, params)
    assert abs(lo * HOP - 1.96) <= 0.0051 and abs(hi * HOP - 7.40) <= 0.0051
    # Buried under a hiss 2 dB under it: nothing is ruled out.
    assert floor_limits(video_beside_a_note(-62.0), core, -62.0, params) == (0, n)
    # A pause of the note in digital silence: its floor is not whole.
    p = video_beside_a_note(pause_db=-120.0)
    assert floor_limits(p, core, -120.0, params) == (0, n)


def one_sentence_beside_a_video(tail_floor_db=-60.0, capture_floor_db=-120.0):
    """Chunk powers of 9 s: another voice's words (-35 dBFS, 0.2 s each,
    0.3 s apart at the capture's floor) throughout but for the note, the
    last before it ending at 1.94 s and the first after it beginning at
    7.02 s; the note from 1.96 s to 7.0 s, its floor at -60 dBFS (at
    ``tail_floor_db`` from 4.5 s), its voice one sentence (-15 dBFS,
    falling to -30 dBFS and back every 0.4 s) from 2.3 s to 6.7 s without a
    pause: its floor shows only in its lead-in and tail."""
    p = chunk_powers(9.0, capture_floor_db)
    for k in range(4):
        add(p, 1.74 - 0.5 * k, 1.94 - 0.5 * k, -35.0)
        add(p, 7.02 + 0.5 * k, 7.22 + 0.5 * k, -35.0)
    add(p, 1.96, 4.5, -60.0)
    add(p, 4.5, 7.0, tail_floor_db)
    t = np.arange(round(2.3 / HOP), round(6.7 / HOP)) * HOP
    level = -22.5 + 7.5 * np.cos(2 * np.pi * t / 0.4)
    p[round(2.3 / HOP) : round(6.7 / HOP)] += 10 ** (level / 10)
    return p


def test_a_note_with_no_pause_is_bounded_by_its_floor_beside_it():
    # The other voice pauses at the capture's floor most of the time, so
    # the note's floor (-60 over -120 dBFS) stands over the background's
    # median and the walks run on through it into the other voice's words
    # either side.  The note's core holds no pause, so its floor cannot be
    # measured there; its lead-in and tail show it, and the words beside
    # the note are left out up to their first pause, as where it pauses
    # (they were kept: 1.885-7.325 s).
    params = TrimParams()
    p = one_sentence_beside_a_video()
    core = (round(2.3 / HOP), round(6.7 / HOP))
    lo, hi = floor_limits(p, core, -120.0, params)
    assert abs(lo * HOP - 1.96) <= 0.0051 and abs(hi * HOP - 7.0) <= 0.0051
    b = find_bounds(p, 400, len(p))  # 400 Hz: one sample per chunk
    assert b is not None and b.reason is None
    assert 1.955 <= b.start_s <= 1.97
    assert 6.99 <= b.end_s <= 7.005


def test_a_floor_beside_the_note_rules_out_nothing_where_its_sides_differ_or_it_is_buried():
    params = TrimParams()
    core = (round(2.3 / HOP), round(6.7 / HOP))
    n = round(9.0 / HOP)
    # The lead-in and the tail 10 dB apart: not one microphone's noise.
    p = one_sentence_beside_a_video(tail_floor_db=-70.0)
    assert floor_limits(p, core, -120.0, params) == (0, n)
    # 5 dB apart: the lower is the floor, and it bounds the note.
    p = one_sentence_beside_a_video(tail_floor_db=-65.0)
    lo, hi = floor_limits(p, core, -120.0, params)
    assert abs(lo * HOP - 1.96) <= 0.0051 and abs(hi * HOP - 7.0) <= 0.0051
    # Buried under a hiss 2 dB under it: nothing is ruled out.
    p = one_sentence_beside_a_video(capture_floor_db=-62.0)
    assert floor_limits(p, core, -62.0, params) == (0, n)


def test_a_note_as_loud_as_the_voice_beside_it_is_found_by_its_own_floor():
    # Another voice throughout, 0.5 s words and 0.2 s pauses at the
    # capture's floor (dither, -96 dBFS); the note from 2.0 s to 7.0 s no
    # louder than it (-32 dBFS): nothing stands clear of it by its level,
    # and the whole capture used to be kept.  But the note's own floor
    # (-66 dBFS) fills the other voice's pauses from 2.0 s to 7.0 s, and
    # only there: the note is that stretch, to the pauses either side.
    p = chunk_powers(9.0, -96.0)
    for k in range(-1, 13):
        add(p, max(0.0, 0.6 + 0.7 * k), min(9.0, 1.1 + 0.7 * k), -35.0)
    add(p, 2.0, 7.0, -66.0)
    for a, b in ((2.1, 3.2), (3.5, 5.0), (5.4, 6.8)):
        add(p, a, b, -32.0)
    b = find_bounds(p, 400, len(p))
    assert b is not None and b.reason is None
    assert 1.995 <= b.start_s <= 2.01  # the note's first sample, to the chunk
    assert 7.0 <= b.end_s <= 7.41  # where the other voice's word over its tail pauses


def released_note(closure_s=0.16):
    """Chunk powers of 9 s: another voice throughout (-45 dBFS, -38 dBFS over
    the first 0.1 s of every half second, 0.12 s pauses at the capture's
    floor, -96 dBFS dither, every 0.5 s from 0.4 s); the
    note's voice (-15 dBFS) from 3.0 s, its last syllable fading to nothing
    over 5.0-5.1 s, then silent for ``closure_s`` (a stop's closure) and a
    30 ms burst at -35 dBFS (its release); the note's own floor (-70 dBFS)
    buried under the other voice from 2.8 s to 5.6 s."""
    p = chunk_powers(9.0, -96.0)
    add(p, 0.0, 9.0, -45.0)
    for k in range(18):
        add(p, 0.5 * k, 0.5 * k + 0.1, -38.0)
        p[round((0.4 + 0.5 * k) / HOP) : round((0.52 + 0.5 * k) / HOP)] = 10 ** (-96 / 10)
    add(p, 2.8, 5.6, -70.0)
    add(p, 3.0, 5.0, -15.0)
    fade = np.arange(round(0.1 / HOP))
    p[round(5.0 / HOP) : round(5.1 / HOP)] += 10 ** ((-15.0 - 45.0 * fade / len(fade)) / 10)
    burst = 5.1 + closure_s
    return add(p, burst, burst + 0.03, -35.0), burst + 0.03


def test_a_stop_released_after_its_closure_ends_the_note_over_a_background():
    # The "t" of "right" under a video's voice: the walk over the levels
    # stops where the last syllable has faded, and the burst 0.16 s later
    # stands no higher over the other voice than that syllable's end did.
    # It is the note's: its end is kept (it was cut, 10-64 ms of audible
    # speech, in 3 captures of 900).
    p, burst_end = released_note()
    b = find_bounds(p, 400, len(p))
    assert b is not None and b.reason is None
    assert 2.7 <= b.start_s <= 3.0
    assert burst_end - 0.005 <= b.end_s <= burst_end + 0.1  # was 5.23 s
    # A sound past the closure's longest is the other voice's, not the note's.
    p, burst_end = released_note(closure_s=0.35)
    b = find_bounds(p, 400, len(p))
    assert b is not None and b.end_s < burst_end - 0.03


def test_a_release_follows_only_the_notes_own_fading_syllable():
    # 50 ms levels (dB over where the walk stopped, at chunk 400; the
    # background reaches 5 dB over it): a sound rises 0.1 s after it.  After
    # a syllable that faded from 25 dB over (near the note's loudest) it is
    # a release; after the background's own word, 8 dB over, or a syllable
    # far under the note's loudest, it is not.
    params = TrimParams()
    edge = np.full(800, -5.0)
    edge[440:450] = 3.0

    def after(syllable_db, loudest_db=25.0):
        e = edge.copy()
        e[100:200] = loudest_db
        e[340:380] = syllable_db
        e[380:400] = np.linspace(syllable_db, 0.0, 20)
        return _release(e, 100, 400, 0.0, 5.0 + 6.0, params)

    assert after(25.0) == 440 + 20  # the rise, and 50 ms of it
    assert after(8.0) == 0
    assert after(20.0, loudest_db=40.0) == 0
    # A closure of 0.225 s (as long as release.CLOSURE_S allows, one
    # constant for both): the release is the note's.
    edge[440:450] = -5.0
    edge[490:500] = 3.0
    assert after(25.0) == 490 + 20


def _word(seconds, amp, f0=200.0):
    """A word of another voice: it swells and fades (a Hann envelope)."""
    w = voice(seconds, amp, f0)
    return (w * np.hanning(len(w))).astype(np.float32)


def _video(seconds, seed=0):
    """A video's voice: words at -38..-32 dBFS between pauses, over -70 dBFS."""
    rng = np.random.default_rng(seed)
    x = noise(seconds, -70.0, seed)
    t = 0.1
    while t < seconds - 0.5:
        place(x, t, _word(0.35, float(rng.uniform(0.02, 0.04)), float(rng.uniform(180, 240))))
        t += 0.35 + float(rng.uniform(0.25, 0.5))
    return x


LOUD_NOTE = np.concatenate(
    [voice(1.0, 0.3), np.zeros(int(0.3 * SR), np.float32), voice(1.0, 0.25, 130)]
)


def _video_around_a_note(before, at_s):
    """A video's voice, a pause of it from 2.55 s to 5.5 s, in it ``before``
    (a sound just before the note, from ``at_s``) and the note from 3.0 s on."""
    x = _video(9.0)
    x[int(2.55 * SR) : int(5.5 * SR)] = noise(2.95, -70.0, 3)
    place(x, at_s, before)
    return place(x, 3.0, LOUD_NOTE)


def test_a_word_of_a_video_just_before_the_note_is_left_out():
    # The word (2.62-2.97 s) never falls to the background's median before
    # the note rises: the walk over that median took it in (2.55 s).  It
    # rises on its own, under what the background reaches: left out.
    b = bounds_of(_video_around_a_note(_word(0.35, 0.03), 2.62))
    assert b.reason is None
    assert 2.85 <= b.start_s <= 3.0


def test_a_first_syllable_as_loud_as_the_video_just_before_the_note_is_kept():
    # The note's own first syllable (2.75-2.88 s), as loud as the video's
    # words, 0.12 s before its next: a dip, not a pause; kept.
    b = bounds_of(_video_around_a_note(voice(0.13, 0.045), 2.75))
    assert b.reason is None
    assert 2.6 <= b.start_s <= 2.75


def test_the_notes_loudest_group_over_music_is_where_it_stands_clear():
    from loopcap.trim.background import loudest_group

    def powers(x):
        meter = LevelMeter(SR)
        meter.feed(x[:, None])
        return meter.powers

    hop = TrimParams().hop_s
    a, b = loudest_group(powers(place(music(8.0, 0.005), 3.0, NOTE)), TrimParams())
    assert (
        2.75 <= a * hop <= 3.1 and 5.4 <= b * hop <= 5.75
    )  # the note: 3.0-5.5 s (levels over 0.25 s)
    assert loudest_group(powers(music(8.0, 0.005)), TrimParams()) is None


def test_the_notes_floor_stops_and_begins_to_the_chunk_next_to_a_gap():
    # A floor at -40 dBFS with a gap at the capture's floor (-100 dBFS) over
    # chunks 100-119: the 10 ms levels fall under halfway around it, and
    # the floor ends (begins) one chunk inside the note, never in the gap.
    params = TrimParams()
    p = np.full(300, 1e-4, np.float32)
    p[100:120] = 1e-10
    gone = -70.0
    runs = gone_runs(levels_db(p, params), gone, params)
    assert len(runs) == 1 and 100 <= runs[0][0] < runs[0][1] <= 120  # smeared inwards
    assert floor_ends(p, runs[0], gone, params) == 99
    assert floor_begins(p, runs[0], gone, params) == 121
    # The same walk bounds a span narrowed where the floor stops.
    assert floor_gone(p, 0, 300, gone, params) == (121, 300)
    assert floor_gone(p, 0, 110, gone, params) == (0, 99)
    q = np.concatenate([p[100:], p[:100]])  # the gap at 0-19, a long note after it
    assert floor_gone(q, 0, 300, gone, params) == (21, 300)


def test_a_videos_louder_words_in_a_long_lead_in_are_not_the_notes_quiet_syllables():
    # Another voice throughout, over a -60 dBFS floor: a -40 dBFS word in
    # the capture's first 0.3 s and its last 0.4 s, three -32 dBFS words at
    # 0.8-2.1 s; the note from 2.5 s (its floor at -70 dBFS, buried) to
    # 8.0 s, its voice at -15 dBFS from 2.6 s.  Probes of 0.6 s at both
    # ends reach only -40 dBFS: the louder words joined the note as its
    # quiet syllables after a pause (start at 0.71 s).  The lead-in is long
    # enough for a 1.2 s probe, which holds one of them: they are the
    # background's, and the note starts in its own lead-in.
    p = chunk_powers(9.0, -60.0)
    add(p, 0.0, 0.3, -40.0)
    for a in (0.8, 1.3, 1.8):
        add(p, a, a + 0.3, -32.0)
    add(p, 8.6, 9.0, -40.0)
    add(p, 2.5, 8.0, -70.0)
    for a, b in ((2.6, 4.0), (4.4, 7.7)):
        add(p, a, b, -15.0)
    b = find_bounds(p, 400, len(p))  # 400 Hz: one sample per chunk
    assert b is not None and b.reason is None
    assert 2.4 <= b.start_s <= 2.6
    assert 7.7 <= b.end_s <= 8.1


def test_a_videos_word_run_on_from_the_notes_fading_end_is_left_out():
    # Another voice throughout, over a -60 dBFS floor: at the capture's
    # ends -50 dBFS with a -35 dBFS word; after the note, a -42 dBFS word
    # from 5.68 s to 7.2 s, 80 ms after the note's last syllable (to
    # 5.6 s): the walk over the background's median (-50 dBFS) runs across
    # that dip into it (7.3 s).  Its level stops falling at the dip and
    # rises again: a sound of its own, left out past the note's fade
    # (0.45 s; the note's own floor, buried, ends at 6.0 s).
    p = chunk_powers(9.0, -60.0)
    for a in (0.0, 8.7):
        add(p, a, a + 0.3, -50.0)
        add(p, a + 0.1, a + 0.2, -35.0)
    add(p, 1.0, 6.0, -70.0)
    for a, b in ((1.2, 3.0), (3.4, 5.6)):
        add(p, a, b, -15.0)
    add(p, 5.68, 7.2, -42.0)
    b = find_bounds(p, 400, len(p))  # 400 Hz: one sample per chunk
    assert b is not None and b.reason is None
    assert 1.0 <= b.start_s <= 1.2
    assert 5.9 <= b.end_s <= 6.3


def test_the_videos_word_after_the_note_is_left_out_as_the_longer_probe_hears_it():
    # As above (-32 dBFS words at 0.8-2.1 s, the note from 2.5 s), the
    # note's voice ending at 7.2 s, its own floor at 7.5 s, a -34 dBFS word
    # of the video at 7.45-7.85 s and a -40 dBFS one in the capture's last
    # 0.3 s.  Probes of 0.6 s reach only -40 dBFS: the word joins the note
    # (to 7.98 s), and 1.2 s ones would reach into it at the capture's end.
    # A 1.2 s probe at its start only hears the louder words: the word is
    # not the note's, which fades out by 0.45 s after its last syllable.
    p = chunk_powers(8.5, -60.0)
    add(p, 0.0, 0.3, -40.0)
    for a in (0.8, 1.3, 1.8):
        add(p, a, a + 0.3, -32.0)
    add(p, 8.2, 8.5, -40.0)
    add(p, 2.5, 7.5, -70.0)
    for a, b in ((2.6, 4.0), (4.4, 7.2)):
        add(p, a, b, -15.0)
    add(p, 7.45, 7.85, -34.0)
    b = find_bounds(p, 400, len(p))  # 400 Hz: one sample per chunk
    assert b is not None and b.reason is None
    assert 2.4 <= b.start_s <= 2.6
    assert 7.5 <= b.end_s <= 7.8


def test_a_video_that_runs_into_the_notes_lead_in_no_longer_keeps_it_whole():
    # Another voice from the capture's first sample: a -36 dBFS word to
    # 0.45 s, then -46 dBFS (never down to the -60 dBFS floor) until the
    # note's voice (0.7-5.2 s, its own floor from 0.5 s, buried); at the
    # capture's end -35 and -50 dBFS.  The walk over the background's
    # median runs into the first probe, whatever its length: kept whole
    # before.  The note rises out of the background at 0.45 s, and stands
    # far clear of what the probes reach.
    p = chunk_powers(7.0, -60.0)
    add(p, 0.0, 0.15, -50.0)
    add(p, 0.15, 0.45, -36.0)
    add(p, 0.45, 0.7, -46.0)
    add(p, 6.7, 6.8, -35.0)
    add(p, 6.8, 7.0, -50.0)
    add(p, 0.5, 5.5, -70.0)
    for a, b in ((0.7, 2.5), (2.9, 5.2)):
        add(p, a, b, -15.0)
    b = find_bounds(p, 400, len(p))  # 400 Hz: one sample per chunk
    assert b is not None and b.reason is None
    assert 0.3 <= b.start_s <= 0.7
    assert 5.2 <= b.end_s <= 5.8


def test_a_note_near_the_captures_start_is_found_with_a_longer_probe_at_its_end():
    # Another voice throughout: -40 dBFS until the note's voice (0.45 s;
    # its own floor from 0.35 s), after it -45 dBFS, then -38 dBFS from
    # 5.5 s with a -30 dBFS word at 5.9-6.2 s.  Probes of 0.3 s reach only
    # -38 dBFS: the word joins the note, which runs into the last probe;
    # longer ones at both ends hold the note's first syllables.  A 0.3 s
    # probe at the start and a 0.6 s one at the end hold all of the
    # background's word and none of the note: kept whole before.
    p = chunk_powers(6.5, -60.0)
    add(p, 0.0, 0.45, -40.0)
    add(p, 0.35, 5.3, -70.0)
    for a, b in ((0.45, 2.5), (2.9, 5.0)):
        add(p, a, b, -15.0)
    add(p, 5.0, 5.5, -45.0)
    add(p, 5.5, 6.5, -38.0)
    add(p, 5.9, 6.2, -30.0)
    b = find_bounds(p, 400, len(p))  # 400 Hz: one sample per chunk
    assert b is not None and b.reason is None
    assert 0.3 <= b.start_s <= 0.45
    assert 5.0 <= b.end_s <= 5.5


def test_a_note_whose_own_floor_alone_would_reach_into_a_probe_is_found():
    # As above, a video's voice running into the note's lead-in: -52 dBFS,
    # a -36 dBFS word at 0.2-0.34 s, -46 dBFS until the note's voice
    # (0.6-5.2 s); -52 dBFS from 5.6 s to the end.  The note rises out of
    # the background at 0.34 s, 40 ms after the first probe (0.3 s) ends:
    # only its own floor, buried (PAD_S), would reach into it.  Kept whole
    # before.
    p = chunk_powers(7.0, -60.0)
    add(p, 0.0, 0.2, -52.0)
    add(p, 0.2, 0.34, -36.0)
    add(p, 0.34, 0.6, -46.0)
    add(p, 5.6, 7.0, -52.0)
    add(p, 6.75, 6.8, -35.0)
    add(p, 0.4, 5.5, -70.0)
    for a, b in ((0.6, 2.5), (2.9, 5.2)):
        add(p, a, b, -15.0)
    b = find_bounds(p, 400, len(p))  # 400 Hz: one sample per chunk
    assert b is not None and b.reason is None
    assert 0.25 <= b.start_s <= 0.6
    assert 5.2 <= b.end_s <= 5.8


def test_a_probe_grown_by_half_holds_a_videos_word_that_doubling_skips():
    # Levels (dBFS, the same over short and long windows, one per 2.5 ms
    # chunk): -60 dBFS; -40 dBFS words in the capture's first and last
    # 0.3 s, a -32 dBFS word at 0.70-0.86 s, the note at 1.0-6.0 s.  Probes
    # of 0.6 s hold none of the word, which joins the note as its quiet
    # syllable (its start 0.62 s); doubled, the first reaches into the note.
    # Grown by half (0.9 s) it holds the word: the note starts at 1.0 s,
    # less its buried floor (PAD_S).
    from loopcap.trim.background import _probed

    levels = np.full(round(7.0 / HOP), -60.0)
    for a, b, db in ((0.0, 0.3, -40.0), (0.7, 0.86, -32.0), (1.0, 6.0, -15.0), (6.7, 7.0, -40.0)):
        levels[round(a / HOP) : round(b / HOP)] = db
    probe, found = _probed(levels, levels, TrimParams())
    assert found is not None
    assert round(probe * HOP, 3) == 0.6
    assert round(found[3] * HOP, 3) == 0.92
    assert round(found[2] * HOP, 3) == 6.0


def test_a_quiet_last_word_with_little_of_the_notes_floor_after_it_is_kept():
    # A note whose recording stopped right after its last word: a pause at
    # its own floor, then "bye" 15 dB under its loudest, 0.05 s of its floor
    # and the capture's floor.  Its floor stops where the word does, as
    # after a video's word, yet the word is the note's and stays whole.
    params = TrimParams()
    db = np.concatenate(
        [
            np.full(400, -80.0),  # the capture's floor, 1 s
            np.full(200, -10.0),  # the note's loudest, 0.5 s
            np.full(200, -50.0),  # a pause at its own floor
            np.full(200, -10.0),
            np.full(160, -50.0),  # 0.4 s at its own floor
            np.full(200, -25.0),  # its quiet last word, 0.5 s
            np.full(20, -50.0),  # 0.05 s of its floor
            np.full(400, -80.0),
        ]
    )
    powers = (10 ** (db / 10)).astype(np.float32)
    lo, hi = floor_limits(powers, (400, 1000), -80.0, params)
    assert lo <= 400
    assert hi >= 1360  # the word's end (1160-1360) and its floor kept
