"""Per-family counts of the reliability tests, as the tables of docs/reliability.md.

Runs the bad-input, odd-input, config-fuzzing and privacy tests with pytest,
each family appending ``{"section", "family", "trials", "handled"}`` to a file
named by ``LOOPCAP_RELIABILITY_OUT``, then prints one Markdown table per
section.  A family whose test fails shows how many of its trials were handled.

    .venv/bin/python benchmarks/reliability.py [extra pytest arguments]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = [
    "tests/unit/test_bad_input.py",
    "tests/unit/test_odd_input.py",
    "tests/unit/test_config_fuzz.py",
    "tests/unit/test_privacy.py",
    "tests/system/test_privacy_system.py",
]


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "counts.jsonl"
        env = dict(os.environ, LOOPCAP_RELIABILITY_OUT=str(out))
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS, *argv],
            cwd=REPO,
            env=env,
        )
        records = (
            [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
        )
    sections: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        sections[r["section"]].append(r)
    for section, rows in sections.items():
        print(f"\n{section}\n")
        print("| family | trials | handled correctly |")
        print("|---|---:|---:|")
        for r in rows:
            print(f"| {r['family']} | {r['trials']} | {r['handled']} |")
        total, ok = sum(r["trials"] for r in rows), sum(r["handled"] for r in rows)
        print(f"| **all** | **{total}** | **{ok}** |")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
