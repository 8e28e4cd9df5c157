"""The accuracy benchmark's captures made again in a test: each draw of
``benchmarks/trim_dataset.py`` has a seed sequence of its own, so a capture
on which loopcap once failed is made again the same, and trimmed and scored
as ``benchmarks/bench_trim_accuracy.py`` trims and scores it."""

import sys
from pathlib import Path

import rig
import soundfile as sf

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import bench_trim_accuracy  # noqa: E402
import trim_dataset  # noqa: E402

__all__ = ["bench_trim_accuracy", "make_sources", "trim_dataset", "trimmed_score"]


def make_sources(tmp: Path) -> None:
    """Build the generator's voices and sounds in ``tmp`` (once per module)."""
    for tool in ("ffmpeg", "sox", "espeak-ng"):
        rig.require(tool)
    trim_dataset._init_worker(trim_dataset.build_sources(tmp))


def trimmed_score(case: dict, tmp_path: Path) -> dict:
    """loopcap's span on the capture ``case`` (written into ``tmp_path``),
    scored by the benchmark's yardstick (see ``bench_trim_accuracy.score``)."""
    path = tmp_path / case["file"]
    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    span = bench_trim_accuracy.tool_loopcap(path, x, sr, tmp_path)
    return bench_trim_accuracy.score(case, span, sr)
