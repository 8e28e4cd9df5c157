"""Long notes (30-70 s of voice in 10-18 pieces, pauses up to 2.5 s) over
music, a tone, a video's voice or a device's floor alone: the captures of
the accuracy benchmark's long notes (``benchmarks/trim_dataset.py
--long``) on which loopcap once cut speech, made again here (each draw has
a seed sequence of its own: the same capture) and trimmed as the benchmark
trims them, scored by its yardstick."""

import pytest
from benchcases import make_sources, trim_dataset, trimmed_score

#: (seed, capture, background, what was cut): the first sentences over a
#: video's voice that stood no clearer of it than its words (22-34 s); a
#: note begun 0.3 s into the capture, its first words taken for the
#: background (4.5 s); a sentence the detector missed under music with
#: drums (19 s at each end); a start found where a grown probe's top rose
#: (26 s); a quiet note over a hum whose loudest words lay 7 s apart
#: (29 s).
ONCE_CUT = [
    (2, 10, "long_video_voice", "33.9 s of its start"),
    (3, 14, "long_video_voice", "34.4 s of its start"),
    (4, 10, "long_video_voice", "23.0 s of its start"),
    (4, 14, "long_video_voice", "22.4 s of its start"),
    (7, 7, "long_quiet", "4.5 s of its start"),
    (8, 12, "long_music", "18.6 s of its start, 19-31 s of its end"),
    (9, 10, "long_video_voice", "26.3 s of its start"),
    (9, 15, "long_quiet", "28.6 s of its end"),
]


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    make_sources(tmp_path_factory.mktemp("src"))


@pytest.mark.parametrize(("seed", "k", "category", "was_cut"), ONCE_CUT)
def test_a_long_note_once_cut_loses_no_speech(sources, tmp_path, seed, k, category, was_cut):
    case = trim_dataset.make_long_case(k, seed, str(tmp_path), str(tmp_path))
    assert case["id"] == f"long{k:03d}" and case["category"] == category
    assert case["true_end_s"] - case["true_start_s"] >= 30.0
    r = trimmed_score(case, tmp_path)
    assert not r["failed"]
    assert not r["speech_cut"], f"cut again (was: {was_cut}): {r}"
    # Kept no more than 2 s beyond the note at either end.
    assert r["start_err_ms"] > -2000 and r["end_err_ms"] < 2000, r
