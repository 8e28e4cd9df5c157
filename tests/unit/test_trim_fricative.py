"""A fricative at the note's start (issue 15): an "s" just before its vowel,
bright and with nothing under 400 Hz, is the note's own and stays; a click
as short before the note is still left out.  Chunk levels built by hand."""

import numpy as np

from loopcap.trim import TrimParams
from loopcap.trim.edges import leave_out_edge_sounds


def _sound_then_note(hz: float, gap_chunks: int, sound_chunks: int = 12) -> tuple[int, int]:
    """A sound ``sound_chunks`` chunks long (2.5 ms each) at -45 dB at the
    span's start, ``gap_chunks`` chunks of the capture's floor (-60 dB, the
    note's own buried under it), then the note's voice at -20 dB with a
    pause; the sound's RMS frequency ``hz`` with 1% of its power under 400
    Hz, the voice's 900 Hz and 60%.  Levels over 50 ms smear each edge by
    10 chunks: the dip after the sound is ``gap_chunks - 20`` chunks long."""
    db = np.full(800, -60.0)
    db[:sound_chunks] = -45.0
    db[sound_chunks + gap_chunks : 400] = -20.0
    db[480:760] = -20.0
    powers = (10 ** (db / 10)).astype(np.float32)

    def low(a: int, b: int) -> float:
        return 0.01 if a < sound_chunks else 0.6

    def bright(a: int, b: int) -> float:
        return hz if a < sound_chunks else 900.0

    return leave_out_edge_sounds(powers, 0, 800, -60.0, TrimParams(), low, bright)


def test_an_s_just_before_its_vowel_stays():
    # Seed 22 case002: "Side" over a hiss, its "s" 55 ms at 6,700 Hz, a dip
    # of 30 ms before the vowel.
    assert _sound_then_note(6700.0, 32)[0] == 0


def test_a_click_or_a_bright_sound_far_before_the_note_or_long_is_left_out():
    assert _sound_then_note(11000.0, 32)[0] >= 12  # a click's brightness
    assert _sound_then_note(6700.0, 80)[0] >= 12  # a dip of 150 ms
    assert _sound_then_note(6700.0, 32, sound_chunks=30)[0] >= 30  # 100 ms long
