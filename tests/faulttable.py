"""pytest plugin for the fault suite: soak tests and the table of fault trials.

* ``@pytest.mark.soak`` marks a long run (the full two-hour capture, many
  more kill trials).  Soak tests are deselected unless ``--soak`` is given;
  CI runs shorter versions of them.
* The ``fault_trials`` fixture records one line per trial of a fault family:
  ``fault_trials.add("SIGKILL of loopcap record", survived, note)``, where
  ``survived`` means every file opens and nothing before the fault was lost.
  At the end of the run a table per family is printed (Markdown); with
  ``--fault-report=PATH`` it is also written to PATH as JSON.  The numbers
  in docs/reliability.md come from this table.

Loaded from conftest.py (``pytest_plugins``).
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from dataclasses import dataclass, field

import pytest


@dataclass
class _Family:
    trials: int = 0
    survived: int = 0
    notes: list[str] = field(default_factory=list)
    where: set[str] = field(default_factory=set)


class FaultTrials:
    """Trials per fault family.  Thread-safe (trials may run side by side)."""

    def __init__(self) -> None:
        self.families: dict[str, _Family] = defaultdict(_Family)
        self._lock = threading.Lock()
        self.soak = False

    def add(self, family: str, survived: bool, note: str = "") -> None:
        with self._lock:
            fam = self.families[family]
            fam.trials += 1
            fam.survived += bool(survived)
            fam.where.add("soak" if self.soak else "CI")
            if note and (not survived or len(fam.notes) < 3):
                fam.notes.append(note)

    def table(self) -> str:
        lines = [
            "| fault family | trials | survived, nothing lost | run |",
            "|---|---:|---:|---|",
        ]
        for name, fam in sorted(self.families.items()):
            lines.append(
                f"| {name} | {fam.trials} | {fam.survived} | {', '.join(sorted(fam.where))} |"
            )
        return "\n".join(lines)

    def as_json(self) -> dict:
        return {
            name: {"trials": f.trials, "survived": f.survived, "notes": f.notes}
            for name, f in sorted(self.families.items())
        }


_TRIALS = FaultTrials()


def pytest_addoption(parser):
    group = parser.getgroup("loopcap faults")
    group.addoption("--soak", action="store_true", help="also run the long soak tests")
    group.addoption(
        "--fault-report", metavar="PATH", default=None, help="write the fault table as JSON"
    )


def pytest_configure(config):
    _TRIALS.soak = bool(config.getoption("--soak"))


def pytest_collection_modifyitems(config, items):
    if config.getoption("--soak"):
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("soak") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def fault_trials() -> FaultTrials:
    return _TRIALS


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _TRIALS.families:
        return
    terminalreporter.section("fault trials")
    terminalreporter.write_line(_TRIALS.table())
    for name, fam in sorted(_TRIALS.families.items()):
        for note in fam.notes:
            terminalreporter.write_line(f"  {name}: {note}")
    path = config.getoption("--fault-report")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(_TRIALS.as_json(), f, indent=2)
