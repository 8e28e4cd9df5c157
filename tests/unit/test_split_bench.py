"""The splitting benchmark's yardstick: the multi-note captures and their
ground truth (``benchmarks/trim_dataset.py --multi``), and how detections are
matched to played notes (``benchmarks/bench_split.py``)."""

import sys
from pathlib import Path

import numpy as np
import pytest
import rig
import soundfile as sf

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import bench_split  # noqa: E402
import trim_dataset  # noqa: E402

SR = 48000


# --------------------------------------------------------------------------
# matching detections to played notes


def note(start, end, lead=0.2, trail=0.2):
    """A played note [start, end) s, audible from start+lead/2 to end-trail/2,
    speech from start+lead to end-trail."""
    return {
        "true_start_s": start,
        "true_end_s": end,
        "audible_start_s": start + lead / 2,
        "audible_end_s": end - trail / 2,
        "speech_start_s": start + lead,
        "speech_end_s": end - trail,
    }


CASE = {
    "id": "t",
    "notes": [note(1.0, 3.0), note(4.0, 6.0), note(7.0, 9.0)],
    "distractors": [{"kind": "sound", "name": "bell", "start_s": 10.0, "end_s": 10.5}],
}


def run(*spans_s):
    return bench_split.score_case(CASE, [(round(a * SR), round(b * SR)) for a, b in spans_s], SR)


def test_exact_detections_are_found_without_error():
    r = run((1.0, 3.0), (4.05, 5.95), (7.0, 9.0))
    assert r["outcomes"] == ["found"] * 3
    assert [n["start_err_ms"] for n in r["notes"]] == [0.0, 0.0, 0.0]
    assert [n["end_err_ms"] for n in r["notes"]] == [0.0, 0.0, 0.0]
    assert not any(n["speech_cut"] for n in r["notes"])
    assert r["false_notes"] == []
    assert r["distractors_kept"] == [False]


def test_overshooting_into_the_gap_is_a_boundary_error_not_a_merge():
    # ends 0.9 s after note 1, still before note 2's audible start (4.1 s)
    r = run((1.0, 3.9), (4.0, 6.0), (7.0, 9.0))
    assert r["outcomes"] == ["found"] * 3
    assert r["notes"][0]["end_err_ms"] == pytest.approx(900.0)


def test_a_detection_over_two_notes_merges_both():
    r = run((1.0, 6.0), (7.0, 9.0))
    assert r["outcomes"] == ["merged", "merged", "found"]
    assert r["notes"][0] is None and r["notes"][1] is None


def test_two_detections_on_one_note_cut_it_and_speech_cut_is_reported():
    r = run((1.0, 3.0), (4.0, 4.8), (5.2, 6.0), (7.0, 8.5))
    assert r["outcomes"] == ["found", "cut", "found"]
    assert r["notes"][2]["speech_cut"]  # ends 0.3 s before the speech does
    assert r["notes"][2]["end_err_ms"] == pytest.approx(-400.0)


def test_false_notes_are_told_apart_and_missing_notes_counted():
    r = run((1.0, 3.0), (10.1, 10.4), (12.0, 12.5))
    assert r["outcomes"] == ["found", "missed", "missed"]
    assert r["false_notes"] == ["sound", "noise"]
    assert r["distractors_kept"] == [True]
    s = bench_split.summarize([r])
    assert (s["found"], s["missed"], s["false_sound"], s["false_noise"]) == (1, 2, 1, 1)
    assert s["distractors_left_out"] == 0.0


def test_a_detection_of_a_notes_inaudible_edge_only_is_a_false_note():
    # 3.0-3.05 s lies past note 1's audible end (2.9 s) but inside its true span
    r = run((1.0, 2.9), (2.95, 3.05), (4.0, 6.0), (7.0, 9.0))
    assert r["outcomes"] == ["found"] * 3
    assert r["false_notes"] == ["noise"]


def test_problems_name_the_merged_gap_and_the_sound_taken_in():
    case = {
        **CASE,
        "gaps": [{"audible_s": 1.2}, {"audible_s": 1.2}],
        "notes": [{**n, "longest_silence_s": 0.5} for n in CASE["notes"]],
    }
    r = bench_split.score_case(
        case, [(round(a * SR), round(b * SR)) for a, b in [(1.0, 6.0), (7.0, 10.6)]], SR
    )
    assert bench_split.problems(case, r) == [
        "notes 1+2 merged across 1.20 s",
        "note 3 end +1600 ms (took in bell)",
    ]
    assert bench_split.problems(case, run((1.0, 3.0), (4.0, 6.0), (7.0, 9.0))) == []


# --------------------------------------------------------------------------
# the generator


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    for tool in ("ffmpeg", "sox", "espeak-ng"):
        rig.require(tool)
    trim_dataset._init_worker(trim_dataset.build_sources(tmp_path_factory.mktemp("src")))


def make(i, out):
    out.mkdir(exist_ok=True)
    case = trim_dataset.make_multi_case(i, 7, str(out), str(out))
    x, sr = sf.read(str(out / case["file"]), dtype="float32", always_2d=True)
    assert sr == SR and len(x) == case["frames"]
    return case, x


def check_truth(case):
    notes = case["notes"]
    assert 2 <= len(notes) <= 5
    assert len(case["gaps"]) == len(notes) - 1
    for n in notes:
        assert n["true_start_s"] <= n["audible_start_s"] < n["audible_end_s"] <= n["true_end_s"]
        assert n["true_start_s"] < n["speech_start_s"] < n["speech_end_s"] < n["true_end_s"]
        for a, b in n["pauses"]:
            assert n["speech_start_s"] < a < b < n["speech_end_s"]
            assert 0.4 <= b - a <= 1.5
    for prev, nxt, gap in zip(notes, notes[1:], case["gaps"], strict=False):
        true_gap = nxt["true_start_s"] - prev["true_end_s"]
        assert gap["true_s"] == pytest.approx(true_gap)
        assert true_gap >= 0.7
        if not gap["distractor"]:
            assert true_gap <= 4.0
        assert gap["audible_s"] >= true_gap
    for d in case["distractors"]:
        for n in notes:  # at least 0.8 s of silence from every note
            assert d["end_s"] <= n["true_start_s"] - 0.8 or d["start_s"] >= n["true_end_s"] + 0.8


def test_notes_sit_exactly_where_the_ground_truth_says(sources, tmp_path):
    # multi070: zero floor, 5 notes, a sound or click in one gap
    case, x = make(70, tmp_path)
    assert case["floor"] == "zero" and case["layout"] == "between"
    check_truth(case)
    assert len(case["distractors"]) == 1 and sum(g["distractor"] for g in case["gaps"]) == 1
    sound = np.zeros(len(x), bool)
    spans = [(n["true_start_s"], n["true_end_s"]) for n in case["notes"]]
    spans += [(d["start_s"], d["end_s"]) for d in case["distractors"]]
    for start, end in spans:
        a, b = round(start * SR), round(end * SR)
        sound[a:b] = True
        assert np.any(x[a : a + SR // 100]) and np.any(x[b - SR // 100 : b])
    assert not np.any(x[~sound])  # digital silence everywhere else


def test_buried_floor_case_and_same_seed_same_capture(sources, tmp_path):
    # multi004: 2 notes whose own floors lie under the device's hiss
    case, x = make(4, tmp_path / "a")
    assert case["floor"] == "hiss_buried"
    check_truth(case)
    assert all(n["levels"]["note_floor_buried"] for n in case["notes"])
    again, y = make(4, tmp_path / "b")
    assert again == case
    assert np.array_equal(x, y)
