"""The trimmer's maths on tiny signals whose answers can be checked by hand."""

import numpy as np
import pytest

from loopcap.trim import (
    MIN_DB,
    LevelMeter,
    TrimParams,
    chunk_powers,
    estimate_floor_db,
)
from loopcap.trim.room import ROOM_S

SR = 8000  # hop of 2.5 ms = 20 samples


def bounds_of(x, params=None):
    params = params or TrimParams()
    m = LevelMeter(SR, params)
    m.feed(x)
    return m.find_bounds(lambda a, b: x[a:b])


def tone(seconds, amp=0.1, f=440.0):
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * f * t)).astype(np.float32)


def voice(seconds, amp=0.1, f0=150.0):
    """A steady voiced sound: a 150 Hz pitch with harmonics falling 6 dB/octave."""
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 20) if f0 * k < SR / 2)
    return (amp * x / np.max(np.abs(x))).astype(np.float32)


def silence(seconds):
    return np.zeros(int(seconds * SR), np.float32)


def noise(seconds, db, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * SR)) * 10 ** (db / 20)).astype(np.float32)


def test_chunk_powers_by_hand():
    x = np.array([1, 1, 0, 0, 2, 2, 2, 2], np.float32)
    assert chunk_powers(x, 4).tolist() == [0.5, 4.0]
    stereo = np.stack([x, np.zeros_like(x)], axis=1)
    assert chunk_powers(stereo, 4).tolist() == [0.25, 2.0]


def test_nan_and_inf_count_as_silence():
    x = np.array([np.nan, np.inf, 1, 1], np.float32)
    assert chunk_powers(x, 4).tolist() == [0.5]


def test_streaming_equals_one_block():
    x = np.concatenate([silence(0.3), tone(0.5), silence(0.2)])
    whole = LevelMeter(SR)
    whole.feed(x)
    parts = LevelMeter(SR)
    for piece in np.array_split(x, 7):  # odd sizes: carries across the hop
        parts.feed(piece)
    assert np.allclose(whole.powers, parts.powers)
    assert parts.frames == len(x)


def test_floor_is_the_quietest_stretch():
    x = np.concatenate([noise(0.5, -60), tone(1.0), noise(0.5, -60, seed=1)])
    m = LevelMeter(SR)
    m.feed(x)
    assert estimate_floor_db(m.powers, TrimParams()) == pytest.approx(-60, abs=1.0)
    m = LevelMeter(SR)
    m.feed(np.concatenate([silence(0.5), tone(0.5)]))
    assert estimate_floor_db(m.powers, TrimParams()) == MIN_DB


def test_exact_bounds_over_digital_silence():
    x = np.concatenate([silence(0.5), tone(1.0), silence(0.25)])
    b = bounds_of(x)
    # To the sample: the tone's first sample, sin(0), is digital silence too.
    assert x[4000] == 0.0 and x[4001] != 0.0 and x[11999] != 0.0
    assert (b.start, b.end) == (4001, 12000)


def test_exact_bounds_over_hiss():
    x = np.concatenate([silence(0.5), tone(1.0), silence(0.25)]) + noise(1.75, -60)
    b = bounds_of(x)
    assert abs(b.start - 4000) <= 20 and abs(b.end - 12000) <= 20  # one hop


def test_note_floor_is_kept_and_pauses_do_not_split():
    # The note: its own floor (-50 dB), a word, a 0.5 s pause, a word, its floor.
    note = noise(1.6, -50, seed=3)
    note[int(0.2 * SR) : int(0.6 * SR)] += tone(0.4)
    note[int(1.1 * SR) : int(1.4 * SR)] += tone(0.3)
    x = np.concatenate([silence(0.5), note, silence(0.5)])
    b = bounds_of(x)
    assert (b.start, b.end) == (4000, 4000 + len(note))


def test_distractors_separated_by_silence_are_left_out():
    ding = tone(0.3, amp=0.5, f=1500)
    x = np.concatenate(
        [silence(0.2), ding, silence(1.0), tone(1.5), silence(1.0), ding, silence(0.2)]
    )
    b = bounds_of(x)
    assert b.start == int(1.5 * SR) + 1 and b.end == int(3.0 * SR)  # the tone's sin(0) left out


def test_quiet_note_over_hiss_cut_at_audible_boundary():
    # The note fades in over 0.4 s: audible (6 dB above a -50 dB floor) part way.
    ramp = np.linspace(0, 1, int(0.4 * SR), dtype=np.float32)
    body = tone(1.4, amp=0.05)
    body[: len(ramp)] *= ramp
    x = np.concatenate([silence(0.5), body, silence(0.5)]) + noise(2.4, -50, seed=5)
    b = bounds_of(x)
    # The tone's power is amp^2/2 * ramp^2; it reaches floor+6 dB (with the
    # floor's own power, total 4x the floor) where ramp = sqrt(3*2e-5*2)/0.05.
    r = np.sqrt(3 * 1e-5 * 2) / 0.05
    audible = 0.5 + 0.4 * r
    assert abs(b.start_s - audible) < 0.02
    assert abs(b.end_s - 1.9) < 0.005


def test_no_sound_in_silence_or_steady_hiss():
    assert bounds_of(silence(1.0)) is None
    assert bounds_of(noise(2.0, -40)) is None


def test_pad_is_applied_within_the_file():
    x = np.concatenate([silence(0.01), tone(0.5), silence(0.5)])
    b = bounds_of(x, TrimParams(pad_s=0.05))
    assert b.start == 0 and b.end == int(0.51 * SR) + 400


def click(amp=0.8):
    x = np.zeros(int(0.01 * SR), np.float32)
    x[0], x[1] = amp, -amp  # an impulse: all high frequencies
    return x


def test_quiet_note_over_hiss_keeps_a_silent_pause_but_not_a_click():
    # A note whose own floor is buried under the hiss: its pause looks silent.
    note = np.concatenate([voice(0.6), silence(1.2), voice(0.5)])
    x = np.concatenate([silence(1.0), note, silence(1.0), click(), silence(0.5)])
    x = x + noise(len(x) / SR, -50, seed=7)
    b = bounds_of(x)
    # The voice rises out of the hiss: ROOM_S of it kept at either edge.
    assert abs(b.start_s - (1.0 - ROOM_S)) < 0.01 and abs(b.end_s - (3.3 + ROOM_S)) < 0.01


def test_a_bright_sound_across_a_pause_is_left_out():
    burst = tone(0.3, amp=0.3, f=3500)  # a shrill beep: RMS frequency 3.5 kHz
    note = tone(1.0)
    x = np.concatenate([silence(1.0), burst, silence(1.0), note, silence(0.5)])
    x = x + noise(len(x) / SR, -50, seed=8)
    b = bounds_of(x)
    assert abs(b.start_s - 2.3) < 0.01 and abs(b.end_s - 3.3) < 0.01


def over_hiss(*parts, seed):
    """Parts (arrays, or seconds of silence) in a row, over hiss at -50 dBFS."""
    x = np.concatenate([silence(p) if isinstance(p, float) else p for p in parts])
    return x + noise(len(x) / SR, -50, seed=seed)


CHIME = tone(0.4, amp=0.1, f=1000)  # a 1 kHz tone: no power under 400 Hz


def test_a_chime_across_a_silent_pause_is_left_out_but_speech_beyond_it_is_kept():
    # Over hiss the note's pauses look silent.  A chime 1 s after the note is
    # not part of it...
    # (A note without a pause never shows where its own floor lies: no room.)
    b = bounds_of(over_hiss(1.0, voice(1.0), 1.0, CHIME, 0.8, seed=9))
    assert abs(b.start_s - 1.0) < 0.01 and abs(b.end_s - 2.0) < 0.01
    # ...but speech after it, still within max_pause_s of the note, joins the
    # note and the chime inside it with it: nothing of the speech is lost.
    b = bounds_of(over_hiss(1.0, voice(1.0), 0.6, CHIME, 0.6, voice(0.5), 0.8, seed=10))
    assert abs(b.start_s - (1.0 - ROOM_S)) < 0.01 and abs(b.end_s - (4.1 + ROOM_S)) < 0.01


def test_without_a_reader_every_sound_may_be_a_voice():
    m = LevelMeter(SR)
    m.feed(over_hiss(1.0, voice(1.0), 1.0, CHIME, 0.8, seed=9))
    b = m.find_bounds()  # levels and timing only: the chime 1 s away joins
    # ...as a voice would, with ROOM_S of the hiss kept beyond it.
    assert abs(b.start_s - (1.0 - ROOM_S)) < 0.01 and abs(b.end_s - (3.4 + ROOM_S)) < 0.01


def test_a_quiet_note_never_clear_of_the_hiss_is_still_found():
    # Hiss at -50 dBFS and a voice at -42 dBFS: 8.6 dB over the hiss, under
    # open_db (12 dB) but audible (close_db, 6 dB) far longer than open_after_s.
    v = voice(1.5)
    v *= 10 ** (-42 / 20) / np.sqrt(np.mean(v**2))
    x = np.concatenate([silence(1.0), v, silence(1.0)])
    x = x + noise(len(x) / SR, -50, seed=11)
    b = bounds_of(x)
    assert b is not None and abs(b.start_s - 1.0) < 0.02 and abs(b.end_s - 2.5) < 0.02
    # A loud click elsewhere does not hide it: it still counts beside the click.
    tail = np.concatenate([click(), silence(0.5)])
    b = bounds_of(np.concatenate([x, tail + noise(len(tail) / SR, -50, seed=13)]))
    assert b is not None and abs(b.start_s - 1.0) < 0.02 and abs(b.end_s - 2.5) < 0.02
    # Hiss alone (nothing audible) is still no sound at all.
    assert bounds_of(noise(3.0, -50, seed=12)) is None


def test_an_edge_at_the_captures_own_start_or_end_stays_there():
    # A note already playing when the capture started: its first sample,
    # sin(0), is 0, yet the note is kept from the capture's start, as the
    # reason says; the same for a note still playing at the end.
    x = np.concatenate([tone(1.0), silence(0.5)])
    assert x[0] == 0.0
    b = bounds_of(x)
    assert b.start == 0 and b.reason is not None
    x = np.concatenate([silence(0.5), tone(1.0) * -1])
    x[-1] = 0.0
    b = bounds_of(x)
    assert b.end == len(x) and b.reason is not None


def test_a_reader_whose_seek_lands_off_moves_no_edge_to_the_sample():
    # An Ogg Vorbis file's seek may land frames off (libsndfile issue #885):
    # the edges stay on the chunk grid rather than move by what was misread.
    x = np.concatenate([silence(0.5), tone(1.0), silence(0.5)])
    m = LevelMeter(SR)
    m.feed(x)
    exact = m.find_bounds(lambda a, b: x[a:b])
    assert (exact.start, exact.end) == (4001, 12000)
    b = m.find_bounds(lambda a, b: x[a + 7 : b + 7])
    assert (b.start, b.end) == (4000, 12000)


def test_over_digital_silence_a_silent_gap_ends_the_note():
    # Over digital silence a real note's pauses hold its own floor; a silent
    # gap of 1 s is therefore not a pause, and the sound after it is left out.
    x = np.concatenate([silence(0.5), tone(1.0), silence(1.0), tone(0.4, f=880), silence(0.5)])
    b = bounds_of(x)
    assert (b.start, b.end) == (4001, 12000)  # from the tone's first sample that is not 0


def test_a_fading_last_syllable_is_kept():
    # After the word, a tail 4 dB over the hiss for 0.2 s: audible over 50 ms.
    floor = -50
    tail = noise(0.2, floor + 2.2, seed=4)  # adds ~4 dB to the hiss's level
    x = np.concatenate([silence(0.5), tone(0.8), tail, silence(0.8)])
    x = x + noise(len(x) / SR, floor, seed=5)
    b = bounds_of(x)
    assert b.end_s > 1.45, b.end_s


@pytest.mark.parametrize("piece", [7, 64, 1000, 1739])  # the capture is 1,740 chunks
def test_scanning_in_pieces_equals_scanning_whole(monkeypatch, piece):
    """Long captures are scanned in pieces (bounded memory): levels, the floor and
    the regions must not depend on where the pieces are cut."""
    from loopcap.trim import levels, regions

    # Over hiss: three sounds 0.8 s apart (more than merge_gap_s), one of them short.
    x = np.concatenate([silence(0.7), tone(0.4), silence(0.8), tone(0.05, 0.02)])
    x = np.concatenate([x, silence(0.9), tone(0.8, 0.3), silence(0.7)])
    x += noise(len(x) / SR, -70, piece)
    m = LevelMeter(SR)
    m.feed(x)
    p, params = m.powers, TrimParams()
    whole_levels = levels.levels_db(p, params)
    floor = estimate_floor_db(p, params)
    whole = regions.find_regions(whole_levels, floor, params)
    quiet = levels.quietest(p, params)
    monkeypatch.setattr(levels, "SCAN_CHUNKS", piece)
    pieces = np.concatenate([lv for _, lv in levels.levels_in_blocks(p, params)])
    assert np.allclose(pieces, whole_levels, atol=1e-3)
    assert regions.find_regions(None, floor, params, p) == whole
    assert levels.quietest(p, params) == quiet
    assert len(whole) >= 3


def live_blocks(x, seed):
    """``x`` cut into blocks of odd, varying sizes (1 to ~700 frames), as a
    capture thread delivers them: never a whole number of chunks."""
    rng = np.random.default_rng(seed)
    cuts = np.cumsum(rng.integers(1, 700, size=len(x)))
    return np.split(x, cuts[cuts < len(x)])


def test_live_blocks_give_the_same_notes_as_the_file_reader():
    """The writer feeds each captured block as it arrives (unknown length,
    odd sizes, its buffer reused for the next block); the bounds and the notes
    must be exactly those of the file reader's blocks."""
    sr = 48000  # hop of 120 frames: no live block below is a whole number of them
    t = np.arange(int(0.8 * sr)) / sr
    word = (0.1 * np.sin(2 * np.pi * 150 * t) * np.hanning(len(t))).astype(np.float32)
    gap = np.zeros(int(0.9 * sr), np.float32)
    one = np.concatenate([gap, word, gap[: sr // 4], word, gap])  # a note with a pause
    x = np.concatenate([one, gap, gap, one[len(gap) :], gap])  # two notes 2.7 s apart
    x = np.stack([x, 0.5 * x], axis=1)
    x += (np.random.default_rng(1).standard_normal(x.shape) * 1e-4).astype(np.float32)

    def read(a, b):
        return x[a:b]

    by_file = LevelMeter(sr, expected_frames=len(x))
    for start in range(0, len(x), 61440):  # output.reading's block size
        by_file.feed(x[start : start + 61440])
    by_file.finish()

    live = LevelMeter(sr, expected_frames=0)
    buffer = np.empty((700, 2), np.float32)  # the capture thread's one buffer, reused
    blocks = live_blocks(x, seed=2)
    for block in blocks:
        buffer[: len(block)] = block
        live.feed(buffer[: len(block)])
        buffer[:] = np.nan  # overwritten at once: the meter kept no view of it
    live.finish()

    assert len(blocks) > 100 and live.frames == by_file.frames == len(x)
    assert np.array_equal(live.powers, by_file.powers)
    notes = by_file.find_notes(read)
    assert len(notes) == 2
    assert live.find_notes(read) == notes
    assert live.find_bounds(read) == by_file.find_bounds(read) is not None
    # Memory: one float32 per chunk, grown by half as needed, nothing else kept.
    assert live.powers.nbytes == 4 * -(-len(x) // live.hop)
    assert live._buf.nbytes <= 1.5 * live.powers.nbytes + 4096


def test_live_blocks_may_be_analysed_on_another_thread():
    """Fed on one thread (the writer's), analysed on another once it is done."""
    import threading

    x = np.concatenate([silence(0.5), voice(1.0), silence(0.5)]) + noise(2.0, -60)
    meter = LevelMeter(SR, expected_frames=0)

    def writer():
        for block in live_blocks(x, seed=3):
            meter.feed(block[:, None].astype(np.float64))  # converted per block

    thread = threading.Thread(target=writer)
    thread.start()
    thread.join()
    meter.finish()
    assert meter.find_bounds(lambda a, b: x[a:b]) == bounds_of(x)
