"""The note's edges next to another app's sound (issue 15, second version):
its own floor followed under a chime that overlaps it, and a knock after the
note's floor has stopped.  Small synthetic signals at 8 kHz."""

import numpy as np
from trimsignals import SR, band_noise, bounds_of, hum, noise, place, tone, voice

from loopcap.trim import LevelMeter, TrimParams
from loopcap.trim.edges import leave_out_edge_sounds
from loopcap.trim.room import ROOM_S


def chime(seconds, amp=0.3, f=1500.0, decay_s=0.15):
    n = int(seconds * SR)
    return tone(seconds, amp, f) * np.exp(-np.arange(n) / SR / decay_s).astype(np.float32)


def chunks(seconds: float, db: float) -> np.ndarray:
    """Chunk powers at ``db`` dBFS for ``seconds`` (the default 2.5 ms hop)."""
    return np.full(round(seconds / TrimParams().hop_s), 10 ** (db / 10), np.float32)


def at(seconds: float) -> int:
    """The chunk at ``seconds`` (the default 2.5 ms hop)."""
    return round(seconds / TrimParams().hop_s)


def test_the_notes_floor_is_followed_under_a_chime_to_its_first_sample():
    x = np.zeros(int(5 * SR), np.float32)
    place(x, 1.0, noise(3.0, -60, seed=3))  # the note: its own floor, 1.0-4.0 s
    place(x, 1.5, voice(1.0))
    place(x, 2.8, voice(0.9))
    place(x, 0.5, chime(0.9))  # 0.5-1.4 s: its last 0.4 s over the note's floor
    b = bounds_of(x)
    # The chime has faded into the note's floor by 1.4 s; the floor, alone
    # in the bands the chime leaves empty, shows where the note began (the
    # cut goes at most a spectrum frame, 16 ms at 8 kHz, inside).
    assert 1.0 <= b.start_s <= 1.0 + 0.016
    assert b.end == int(4.0 * SR)


def test_the_notes_floor_is_not_followed_under_a_sound_that_fills_every_band():
    x = np.zeros(int(5 * SR), np.float32)
    place(x, 1.0, noise(3.0, -60, seed=3))
    place(x, 1.5, voice(1.0))
    place(x, 2.8, voice(0.9))
    rng = np.random.default_rng(7)
    n = int(0.9 * SR)
    burst = (0.1 * rng.standard_normal(n) * np.exp(-np.arange(n) / SR / 0.1)).astype(np.float32)
    place(x, 0.5, np.diff(burst, prepend=0).astype(np.float32))  # bright noise, every band
    b = bounds_of(x)
    # Under the burst the floor cannot be told: its loud half is left out,
    # the cut goes no further into the note than where it was, and the
    # voice stays whole.
    assert 0.95 <= b.start_s <= 1.5


def test_a_knock_after_the_notes_floor_has_stopped_is_left_out():
    x = np.zeros(int(5 * SR), np.float32)
    place(x, 1.0, noise(3.0, -60, seed=3))  # the note's floor ends at 4.0 s
    place(x, 1.3, voice(1.0))
    place(x, 2.8, voice(0.9))
    n = int(0.12 * SR)
    knock = tone(0.12, amp=0.3, f=120.0) * np.exp(-np.arange(n) / SR / 0.03)
    place(x, 4.03, knock.astype(np.float32))  # 30 ms of silence, then a dark knock
    b = bounds_of(x)
    assert b.start == int(1.0 * SR)
    assert 4.0 - 0.005 <= b.end_s <= 4.0  # the note's last sample, not the knock


def test_a_note_without_a_floor_of_its_own_keeps_a_sound_after_a_short_silence():
    # No floor to stop: the rule does not apply, and the segmenter's own
    # rules decide (a dark sound 30 ms after a voice could be its end).
    x = np.zeros(int(5 * SR), np.float32)
    place(x, 1.0, voice(3.0))
    n = int(0.12 * SR)
    knock = tone(0.12, amp=0.3, f=120.0) * np.exp(-np.arange(n) / SR / 0.03)
    place(x, 4.03, knock.astype(np.float32))
    b = bounds_of(x)
    assert b.end_s >= 4.03 + 0.05


def test_edge_sounds_are_left_alone_in_a_short_span():
    powers = np.full(200, 1e-6, np.float32)  # 0.5 s: shorter than a note with a floor
    params = TrimParams()
    assert leave_out_edge_sounds(
        powers, 0, 200, -140.0, params, lambda a, b: 0.0, lambda a, b: 9000.0
    ) == (0, 200)


def knock(seconds=0.25, amp=0.3):
    """A dark knock: two thumps at 120 Hz, each dying away in 30 ms."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    x = np.sin(2 * np.pi * 120.0 * t) * np.exp(-t / 0.03)
    half = n // 2
    x[half:] += np.sin(2 * np.pi * 120.0 * t[: n - half]) * np.exp(-t[: n - half] / 0.03)
    return (amp * x).astype(np.float32)


def test_a_knock_over_the_notes_first_sample_is_left_out_where_the_floor_begins():
    # A knock is neither a chime nor a click, but where the note's floor has
    # not yet begun it is not the note: the floor, followed back from where
    # it is alone, stops at the note's first sample inside the knock.
    x = np.zeros(int(5 * SR), np.float32)
    place(x, 1.0, noise(3.0, -60, seed=3))  # the note: its own floor, 1.0-4.0 s
    place(x, 1.4, voice(1.0))
    place(x, 2.8, voice(0.9))
    place(x, 0.85, knock())  # 0.85-1.1 s: its second thump over the floor
    b = bounds_of(x)
    assert 1.0 <= b.start_s <= 1.0 + 0.02
    assert b.end == int(4.0 * SR)


def test_the_floor_is_followed_to_its_last_sample_under_a_short_chime_past_its_middle():
    # A 50 ms chime whose first half lies over the note's tail: where the
    # floor stops under it shows in the bands the chime leaves empty, though
    # the note ends at the chime's middle.
    x = np.zeros(int(5 * SR), np.float32)
    place(x, 1.0, noise(3.0, -60, seed=3))
    place(x, 1.3, voice(1.0))
    place(x, 2.8, voice(0.9))
    place(x, 3.975, chime(0.05, amp=0.05, f=1000.0, decay_s=0.03))
    b = bounds_of(x)
    assert b.start == int(1.0 * SR)
    assert 4.0 - 0.02 <= b.end_s <= 4.0


def test_a_click_over_the_notes_floor_stays_where_the_floor_goes_on_after_it():
    # A click 50 ms before the note's floor stops, another just after: the
    # first lies over the note (its floor goes on after it), the second not.
    x = np.zeros(int(5 * SR), np.float32)
    place(x, 1.0, noise(3.0, -60, seed=3))
    place(x, 1.3, voice(1.0))
    place(x, 2.8, voice(0.9))
    rng = np.random.default_rng(5)
    for at in (3.95, 4.06):
        click = 0.2 * rng.standard_normal(int(0.003 * SR))
        place(x, at, np.diff(click, prepend=0).astype(np.float32))
    b = bounds_of(x)
    assert b.start == int(1.0 * SR)
    assert 4.0 - 0.02 <= b.end_s <= 4.0


def test_the_floor_is_not_followed_under_a_long_noise_burst_over_the_tail():
    # Noise in every band, 1 s, over the note's last 0.3 s and fading slowly
    # after: where the floor stopped under it cannot be told (the burst's
    # fading end passes the floor's level in a band now and then), so the
    # burst is left out whole and the voice kept.
    x = np.zeros(int(6 * SR), np.float32)
    place(x, 1.0, noise(3.0, -60, seed=3))
    place(x, 1.3, voice(1.0))
    place(x, 2.6, voice(0.9))
    rng = np.random.default_rng(11)
    n = int(1.0 * SR)
    env = np.minimum(1.0, np.exp(-(np.arange(n) / SR - 0.6) / 0.08))
    burst = np.diff(0.02 * rng.standard_normal(n), prepend=0) * env  # bright, every band
    place(x, 3.7, burst.astype(np.float32))
    b = bounds_of(x)
    assert b.start == int(1.0 * SR)
    assert 3.5 <= b.end_s <= 3.7 + 0.01


def test_a_click_on_the_notes_first_sample_is_left_out():
    # A 5 ms click that begins 2.5 ms before the note: too short for a dip
    # after it, it is told by standing far over what follows it and by its
    # brightness (at 48 kHz: a click lies over 6 kHz).
    sr = 48000
    rng = np.random.default_rng(9)
    x = np.zeros(5 * sr, np.float32)
    x[sr : 4 * sr] += (rng.standard_normal(3 * sr) * 10 ** (-60 / 20)).astype(np.float32)
    t = np.arange(sr) / sr
    syllable = 0.1 * sum(np.sin(2 * np.pi * 150.0 * k * t) / k for k in range(1, 20))
    x[int(1.3 * sr) : int(1.3 * sr) + sr] += syllable.astype(np.float32)
    x[int(2.8 * sr) : int(2.8 * sr) + sr] += syllable.astype(np.float32)
    click = np.diff(0.3 * rng.standard_normal(int(0.005 * sr)), prepend=0)
    x[int(0.9975 * sr) : int(0.9975 * sr) + len(click)] += click.astype(np.float32)
    m = LevelMeter(sr)
    m.feed(x)
    b = m.find_bounds(lambda a, e: x[a:e])
    assert 1.0025 <= b.start_s <= 1.01
    assert b.end == 4 * sr


def test_a_chimes_tail_is_left_out_where_a_buried_floor_begins_under_it():
    # The note's floor lies under a hum but stands alone in the hum's empty
    # highs: followed out from just before the voice, it shows where the
    # note began under the chime's faded tail, which is left out up to there.
    t = np.arange(6 * SR) / SR
    x = sum(0.01 / k * np.sin(2 * np.pi * 50 * k * t) for k in range(1, 8)).astype(np.float32)
    place(x, 1.0, noise(3.0, -62, seed=3))
    place(x, 1.5, voice(1.0))
    place(x, 2.8, voice(0.9))
    place(x, 0.5, chime(0.9, amp=0.3, f=1500.0, decay_s=0.12))
    b = bounds_of(x)
    assert 1.0 <= b.start_s <= 1.0 + 0.02


def test_the_floor_look_takes_frames_near_each_other_from_one_read():
    """``bands_at`` gives the rows ``bands`` gives frame by frame, from one
    read where the frames lie within ``BATCH_S`` of each other (else one
    read each), at a capture's start and end too."""
    from loopcap.trim.looks import BATCH_S, FloorLook

    sr, hop = 8000, 20
    rng = np.random.default_rng(3)
    x = rng.standard_normal((int((BATCH_S + 4) * sr), 2)).astype(np.float32)
    reads = []

    def read(a, b):
        reads.append((a, b))
        return x[max(a, 0) : b]

    look = FloorLook(read, hop, sr)
    last = len(x) // hop - 1
    for chunks in ([0, 5, 40, 41, 400], [last - 300, last - 7, last], [3, last]):
        chunks = np.array(chunks)
        one_by_one = np.concatenate([look.bands(int(c), int(c) + 1, True) for c in chunks])
        reads.clear()
        together = look.bands_at(chunks)
        np.testing.assert_allclose(together, one_by_one, rtol=1e-12, atol=0)
        assert len(reads) == (1 if chunks[-1] - chunks[0] < BATCH_S * sr / hop else len(chunks))


def test_a_stops_release_after_its_closure_is_kept_over_a_hum():
    # The "t" of "left" over a 60 Hz hum (issue 15): the voice stops, and
    # 0.12 s later a 15 ms burst at 1.6-3.2 kHz, 15 dB under the hum's
    # level, stands out only where the hum has nothing.  The edge walks
    # cross 20 ms gaps, not the closure; it is the note's all the same.
    x = hum(6.0, -45, f=60.0)
    place(x, 2.0, voice(1.0))
    place(x, 3.12, band_noise(0.015, 1600, 3200, -60))
    b = bounds_of(x)
    assert abs(b.start_s - (2.0 - ROOM_S)) <= 0.005  # ROOM_S of the hum before the voice
    assert 3.135 <= b.end_s <= 3.135 + 0.1  # the burst's end, at most 0.1 s past


def _at_db(x: np.ndarray, db: float) -> np.ndarray:
    return (x / np.sqrt(np.mean(x**2)) * 10 ** (db / 20)).astype(np.float32)


def test_a_short_sound_after_a_pause_is_judged_with_the_quiet_phrase_beyond_it():
    # A quiet note over hiss: after a 1 s pause its next sentence shows only
    # one loud syllable (0.1 s, too high-pitched alone for the voice test),
    # the rest of the sentence 8 dB over the hiss: heard together they are a
    # voice, and the sentence stays in the note.
    x = noise(7.0, -60.0)
    place(x, 0.5, _at_db(voice(2.0), -36.0))
    place(x, 3.5, _at_db(voice(0.1, f0=500.0), -45.0))
    place(x, 3.8, _at_db(voice(0.6), -52.0))
    b = bounds_of(x)
    assert b is not None and b.start / SR < 0.55 and b.end / SR > 4.35
    # The same sound with nothing after it is still left out.
    y = noise(7.0, -60.0)
    place(y, 0.5, _at_db(voice(2.0), -36.0))
    place(y, 3.5, _at_db(voice(0.1, f0=500.0), -45.0))
    b = bounds_of(y)
    assert b is not None and b.end / SR < 2.6


def _short_chime_then_note(piece_low: float, piece_hz: float) -> tuple[int, int]:
    """A 15 ms sound at the span's start (chunks 0-6 at 2.5 ms, 5 ms to its
    peak: no knock; 40 ms before the dip, by 50 ms levels), then the note:
    its own floor at -60 dB (over a capture floor at -90 dB), a voice at
    -20 dB with a pause; the sound judged by the given low share and
    brightness."""
    db = np.full(800, -60.0)
    db[:6] = [-40.0, -35.0, -30.0, -30.0, -30.0, -30.0]  # the short sound
    db[80:400] = -20.0
    db[440:700] = -20.0
    powers = (10 ** (db / 10)).astype(np.float32)

    def low(a: int, b: int) -> float:
        return piece_low if b <= 40 else 0.5

    def bright(a: int, b: int) -> float:
        return piece_hz if b <= 40 else 900.0

    return leave_out_edge_sounds(powers, 0, 800, -90.0, TrimParams(), low, bright)


def test_a_short_chime_before_the_notes_floor_is_left_out():
    # A tone over 400 Hz with nothing under it (freedesktop's
    # dialog-information: 40-45 ms before the dip, 870-885 Hz, 0.3-2.1%
    # under 400 Hz): too short for the chime test, no voice.
    a, b = _short_chime_then_note(0.01, 880.0)
    assert 6 <= a <= 40 and b == 800


def test_a_short_sound_with_a_voices_low_share_or_a_fricatives_brightness_stays():
    assert _short_chime_then_note(0.1, 880.0) == (0, 800)  # could be a syllable
    assert _short_chime_then_note(0.01, 4000.0) == (0, 800)  # could be an "s"


def _knock_then_note(rise_chunks: int, hz: float) -> tuple[int, int]:
    """A sound at the span's start that rises over ``rise_chunks`` chunks
    (2.5 ms each) to -20 dB and falls 2.5 dB a chunk, then the note (its own
    floor at -60 dB, a voice at -20 dB with a pause); the sound's RMS
    frequency ``hz`` and a voice's low share (60%, a dark thud's)."""
    db = np.full(800, -60.0)
    db[:rise_chunks] = -20.0 - 9.0 * np.arange(rise_chunks, 0, -1)
    db[rise_chunks : rise_chunks + 16] = -20.0 - 2.5 * np.arange(16)
    db[80:400] = -20.0
    db[440:700] = -20.0
    powers = (10 ** (db / 10)).astype(np.float32)

    def low(a: int, b: int) -> float:
        return 0.6 if b <= 40 else 0.5

    def bright(a: int, b: int) -> float:
        return hz if b <= 40 else 900.0

    return leave_out_edge_sounds(powers, 0, 800, -90.0, TrimParams(), low, bright)


def test_a_dark_knock_before_the_notes_floor_is_left_out():
    # freedesktop's device-added: a thud at its peak within 2.5 ms, 20 dB
    # under it 20 ms later, 820-1,070 Hz with a voice's share under 400 Hz.
    a, b = _knock_then_note(0, 850.0)
    assert 16 <= a <= 40 and b == 800


def test_a_sound_that_rises_like_a_syllable_or_is_bright_is_no_knock():
    assert _knock_then_note(2, 850.0) == (0, 800)  # 5 ms to its peak
    assert _knock_then_note(0, 1300.0) == (0, 800)  # a plosive's brightness


def _voice_then_knock_over_a_buried_floor(heard_chunks: int) -> tuple[int, int]:
    """A voice at -20 dB (with a pause) over a capture floor at -60 dB that
    buries the note's own, ending at chunk 600 (2.5 ms each); a dark knock at
    chunk 680, left out.  The voice is heard ``heard_chunks`` into the dip
    after it (which begins at chunk 610, by 50 ms levels)."""
    db = np.full(700, -60.0)
    db[80:600] = -20.0
    db[300:340] = -60.0
    db[680:696] = -20.0 - 2.5 * np.arange(16)
    powers = (10 ** (db / 10)).astype(np.float32)

    def low(a: int, b: int) -> float:
        return 0.6 if a >= 650 else 0.5

    def bright(a: int, b: int) -> float:
        return 850.0 if a >= 650 else 900.0

    def audible(start: int, bound: int) -> int:
        return start + heard_chunks if bound > start else start - heard_chunks

    params = TrimParams()
    return leave_out_edge_sounds(powers, 0, 700, -60.0, params, low, bright, None, audible)


def test_a_voice_heard_fading_under_a_buried_floor_keeps_50_ms_past_where_it_was_heard():
    # Its clean last moments go on under the hiss (seed 1 mix045: 30 ms past
    # where it stood over it); heard nowhere in the dip, the cut goes 20 ms
    # past the dip's start.
    assert _voice_then_knock_over_a_buried_floor(4) == (0, 614 + 20)
    assert _voice_then_knock_over_a_buried_floor(0) == (0, 610 + 8)


def _two_knocks_then_note(apart_chunks: int) -> tuple[int, int]:
    """Two knocks ``apart_chunks`` (2.5 ms each) apart at the span's start,
    their tails between them at -50 dB (over the note's floor: no dip), then
    the note (its own floor at -60 dB, a voice at -20 dB with a pause)."""
    db = np.full(800, -60.0)
    db[16 : apart_chunks + 16] = -50.0
    for at in (0, apart_chunks):
        db[at : at + 16] = -20.0 - 2.5 * np.arange(16)
    db[120:420] = -20.0
    db[460:700] = -20.0
    powers = (10 ** (db / 10)).astype(np.float32)

    def low(a: int, b: int) -> float:
        return 0.6 if b <= 110 else 0.5

    def bright(a: int, b: int) -> float:
        return 850.0 if b <= 110 else 900.0

    return leave_out_edge_sounds(powers, 0, 800, -90.0, TrimParams(), low, bright)


def test_two_dark_knocks_in_one_sound_are_left_out():
    # freedesktop's device-removed: two thuds 0.16 s apart; here 0.15 s,
    # 215 ms in all (longer than one knock may last).
    a, b = _two_knocks_then_note(60)
    assert 76 <= a <= 120 and b == 800


def test_two_fast_rises_close_together_are_no_knocks():
    # The note's own sounds that rise that fast twice do so 20-23 ms apart.
    assert _two_knocks_then_note(10) == (0, 800)


def test_a_chimes_part_next_to_the_dip_is_judged_without_the_dips_own_floor():
    # A 250 ms chime (chunks 0-100 at 2.5 ms), then the note's floor and
    # voice.  The dip after it begins 25 ms after it ends (by 50 ms levels):
    # the note's own floor there, with a voice's share under 400 Hz, is no
    # part of the chime (seed 5 mix039: 5.5% with it, the chime 0.4%).
    db = np.full(800, -60.0)
    db[:100] = -30.0
    db[200:420] = -20.0
    db[460:700] = -20.0
    powers = (10 ** (db / 10)).astype(np.float32)

    def low(a: int, b: int) -> float:
        if b >= 200:
            return 0.5  # the voice
        return 0.06 if a >= 20 and b > 102 else 0.01

    def bright(a: int, b: int) -> float:
        return 900.0

    a, b = leave_out_edge_sounds(powers, 0, 800, -90.0, TrimParams(), low, bright)
    assert 100 <= a <= 200 and b == 800


def test_a_stop_near_an_edge_where_the_floor_has_stopped_by_its_level_is_the_floors():
    """Where the span ends where the note's floor has stopped by its level
    (``closed``), a stop of the floor under a knock within ``STOP_MARGIN_S``
    of that end is where the note ends; else the floor may go on under the
    knock to the span's end, and where it stopped cannot be told."""
    from loopcap.trim.looks import FloorLook

    x = noise(3.0, -80, seed=1)
    place(x, 0.0, noise(2.0, -50, seed=2))  # the note's floor ends at 2.0 s
    n = int(0.1 * SR)
    knock = tone(0.1, amp=0.3, f=300.0) * np.exp(-np.arange(n) / SR / 0.03)
    place(x, 1.985, knock.astype(np.float32))  # over the note's last 15 ms
    hop = 20  # 2.5 ms at 8 kHz

    def chunk(t: float) -> int:
        return round(t * SR / hop)

    look = FloorLook(lambda a, b: x[max(a, 0) : b], hop, SR)
    assert look.measure(chunk(0.5), chunk(0.6))
    a, b = chunk(0.2), chunk(2.005)  # the span cut 5 ms after the floor stops
    assert look.edge(a, b, TrimParams(), False)[0] == "fills"
    kind, at = look.edge(a, b, TrimParams(), False, closed=True)
    assert kind == "floor" and 1.98 <= at * hop / SR <= 2.0


def test_a_quiet_syllable_and_a_gap_between_words_are_no_floor_of_the_notes_own():
    """A note without pauses over a hiss: its quietest 0.1 s is a quiet
    syllable and a gap between words at the hiss, 12 dB over it on average.
    That is no floor of the note's own that stops where the level falls
    halfway to the hiss: the first words stay."""
    params = TrimParams()

    floor_db = -68.0
    powers = np.concatenate(
        [
            chunks(0.4, -15.0),  # the first word
            chunks(0.05, floor_db),  # a gap between words
            chunks(0.65, -15.0),
            chunks(0.05, -53.0),  # a quiet syllable...
            chunks(0.05, floor_db),  # ...and a gap, in the note's middle half
            chunks(1.3, -15.0),
        ]
    )
    n = len(powers)
    assert leave_out_edge_sounds(
        powers, 0, n, floor_db, params, lambda a, b: 0.9, lambda a, b: 500.0
    ) == (0, n)


def test_a_gap_at_the_captures_floor_in_the_quietest_stretch_is_no_floor_held():
    from loopcap.trim.edgefloor import floor_held

    params = TrimParams()
    steady = np.full(40, 1e-6, np.float32)  # 0.1 s at -60 dBFS
    gap = steady.copy()
    gap[10:20] = 1e-14  # 25 ms at the capture's floor
    assert floor_held(steady, -70.0, -80.0, params)
    assert not floor_held(gap, -70.0, -80.0, params)
    # Over digital silence a silent gap lies between the note and a sound.
    assert floor_held(gap, -100.0, -140.0, params)


def test_a_chime_before_a_note_without_a_floor_of_its_own_is_cut_where_the_dip_begins():
    """The same note after a chime, its first syllable quiet (6 dB over the
    hiss, under its quiet syllable in the middle): no floor of the note's
    own begins in the dip after the chime, so the cut goes where the dip
    begins and the quiet syllable stays."""
    params = TrimParams()

    floor_db = -68.0
    powers = np.concatenate(
        [
            chunks(0.4, -15.0),  # a chime
            chunks(0.1, floor_db),
            chunks(0.1, -62.0),  # the note's quiet first syllable
            chunks(0.6, -15.0),
            chunks(0.05, -53.0),
            chunks(0.05, floor_db),
            chunks(1.3, -15.0),
        ]
    )
    n = len(powers)

    def low_share(a: int, b: int) -> float:
        return 0.01 if b <= at(0.45) else 0.9  # the chime has no voice's lows

    na, nb = leave_out_edge_sounds(powers, 0, n, floor_db, params, low_share, lambda a, b: 500.0)
    assert at(0.4) <= na <= at(0.5) and nb == n


def test_a_chime_left_out_before_a_note_whose_floor_lies_near_its_voice_takes_the_gap_too():
    """A chime joined to the note across 0.5 s of the capture's hiss; the
    note's own floor stands 16 dB over that hiss but only 25 dB under its
    voice (not told from a quiet syllable by its depth), so the dips are
    looked for at the capture's floor: the chime is left out, and so is the
    hiss up to where the note's floor rises out of it, less a margin
    (issue 15: 0.4-0.6 s of the capture's floor kept after a click)."""
    params = TrimParams()

    floor_db = -66.0
    powers = np.concatenate(
        [
            chunks(0.1, -30.0),  # a chime
            chunks(0.5, floor_db),
            chunks(0.4, -50.0),  # the note's own floor
            chunks(1.0, -25.0),
            chunks(0.3, -50.0),
            chunks(1.0, -25.0),
            chunks(0.3, -50.0),
        ]
    )
    n = len(powers)

    def low_share(a: int, b: int) -> float:
        return 0.01 if b <= at(0.15) else 0.9  # the chime has no voice's lows

    def audible(start: int, bound: int) -> int:
        return start  # the floor's spectrum says nothing more

    na, nb = leave_out_edge_sounds(
        powers, 0, n, floor_db, params, low_share, lambda a, b: 500.0, audible=audible
    )
    assert at(0.55) <= na <= at(0.6) and nb == n

    # The same backwards: the chime after the note, the hiss between them
    # left out with it, up to where the note's floor ends (less a margin).
    reverse = powers[::-1].copy()

    def low_share_after(a: int, b: int) -> float:
        return 0.01 if a >= n - at(0.15) else 0.9

    def audible_after(start: int, bound: int) -> int:
        return start

    na, nb = leave_out_edge_sounds(
        reverse, 0, n, floor_db, params, low_share_after, lambda a, b: 500.0, audible=audible_after
    )
    assert na == 0 and n - at(0.6) <= nb <= n - at(0.55)
