"""python-xlib shared between threads, as pystray shares it, must not hang.

The stress program (``tests/xstress.py``) drives one X connection the way
pystray's Xorg backend does on a real X server.  Unpatched python-xlib 0.33
loses a wake-up there and the event loop stops for good, which is how the
tray icon once failed to appear; loopcap's fix (``loopcap.app.x11``) must
carry it through every round trip.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

STRESS = Path(__file__).resolve().parents[1] / "xstress.py"


def run_stress(xdisplay, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(STRESS), *args],
        env=xdisplay.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_fixed_xlib_never_stalls(xdisplay):
    result = run_stress(xdisplay, "5000")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "ok 5000"


def test_the_stress_reaches_the_bug_without_the_fix(xdisplay):
    """The control: the same stress stalls unpatched python-xlib (observed
    within 17 to 383 round trips), so the test above does exercise the race.
    If a python-xlib release fixes it, this fails, and the patch can go."""
    result = run_stress(xdisplay, "20000", "--unfixed")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("stalled after")
