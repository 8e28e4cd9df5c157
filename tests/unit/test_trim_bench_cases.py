"""Captures of the accuracy benchmark (``benchmarks/trim_dataset.py``) on
which loopcap once kept too much or cut a note's own floor, made again here
(each draw has a seed sequence of its own: the same capture) and trimmed as
the benchmark trims them, scored by its yardstick: both ends within the
goal's 95th percentile (30 ms) of the note's, no speech cut, no other sound
kept."""

import pytest
from benchcases import make_sources, trim_dataset, trimmed_score

#: The goal's 95th percentile of the boundary error (ms).
GOAL_MS = 30.0

#: (seed, capture, category, what was kept): a chime over a note's last
#: 33 ms and past it, the note without pauses, its floor heard only before
#: its first word and after its last; a click over a note's first sample,
#: cut where the chunk that holds both begins; a note over a video's voice whose
#: walk to its end ran on to the fade's limit (a grown probe's too), then
#: 80 ms more; a video's word just after the note taken for its last
#: syllable (it stood 1-2 dB over the most the video reached on the probes);
#: a noise burst over the note's last 19 ms, its fading end taken for the
#: note's floor alone.
ONCE_KEPT = [
    (37, 39, "overlap_sounds", "34 ms of a chime after the note"),
    (39, 15, "overlap_sounds", "0.8 ms of a click before the note's first sample"),
    (40, 57, "overlap_sounds", "a click after the note, taken for a stop's release"),
    (41, 15, "overlap_sounds", "a 1.1 s noise burst over the note's tail, whole"),
    (17, 58, "video_voice", "138 ms of the video's voice after the note"),
    (25, 34, "video_voice", "78 ms of the video's voice after the note"),
    (23, 52, "video_voice", "71 ms of the video's voice after the note"),
    (5, 58, "video_voice", "40 ms of the video's voice after the note"),
    (13, 4, "video_voice", "153 ms of the video's voice after the note"),
    (27, 34, "video_voice", "206 ms of the video's voice after the note"),
]


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    make_sources(tmp_path_factory.mktemp("src"))


def assert_within_goal(case: dict, tmp_path, was: str) -> None:
    """``case`` trimmed and scored: found, no speech cut, no other sound
    kept, both ends within ``GOAL_MS`` (else the message says what ``was``)."""
    r = trimmed_score(case, tmp_path)
    assert not r["failed"]
    assert not r["speech_cut"], r
    assert not any(r["distractors_kept"]), r
    assert abs(r["start_err_ms"]) <= GOAL_MS and abs(r["end_err_ms"]) <= GOAL_MS, (
        f"again (was: {was}): {r}"
    )


#: (seed, capture, category, what was cut) of the mix captures: a note whose
#: first sentence ran on into its last words, taken for another voice
#: before it because a louder sound over its tail made the note seem louder.
ONCE_CUT_MIX = [
    (42, 21, "overlap_sounds", "the note's first 2.8 s, speech and all"),
]


@pytest.mark.parametrize(("seed", "k", "category", "was_cut"), ONCE_CUT_MIX)
def test_a_mix_capture_once_cut_is_kept_to_the_note(sources, tmp_path, seed, k, category, was_cut):
    case = trim_dataset.make_mix_case(k, seed, str(tmp_path), str(tmp_path))
    assert case["id"] == f"mix{k:03d}" and case["category"] == category
    assert_within_goal(case, tmp_path, f"cut {was_cut}")


@pytest.mark.parametrize(("seed", "k", "category", "was_kept"), ONCE_KEPT)
def test_a_mix_capture_once_trimmed_wide_is_trimmed_to_the_note(
    sources, tmp_path, seed, k, category, was_kept
):
    case = trim_dataset.make_mix_case(k, seed, str(tmp_path), str(tmp_path))
    assert case["id"] == f"mix{k:03d}" and case["category"] == category
    assert_within_goal(case, tmp_path, f"kept {was_kept}")


#: (seed, capture, floor, what was cut) of the single-note captures: a note
#: without pauses over digital silence whose floor was measured on a word's
#: fading end into a gap, then found to stop inside the note.
ONCE_CUT = [
    (38, 0, "zero", "99 ms of the note's floor before its voice, 266 ms after it"),
    (18, 60, "zero", "68 ms of the note's floor before its voice"),
]


@pytest.mark.parametrize(("seed", "i", "floor", "was_cut"), ONCE_CUT)
def test_a_note_whose_floor_was_once_cut_is_kept_to_its_first_and_last_sample(
    sources, tmp_path, seed, i, floor, was_cut
):
    case = trim_dataset.make_case(i, seed, str(tmp_path), str(tmp_path))
    assert case["id"] == f"case{i:03d}" and case["floor"] == floor
    assert_within_goal(case, tmp_path, f"cut {was_cut}")
