"""The basics every rig module shares (re-exported by ``rig``).

* Paths and constants: :data:`REPO_DIR`, :data:`SAMPLERATE` and :data:`SINK`
  (the private server's 48 kHz null sink, ``speakers``); :data:`SERVER_KINDS`,
  the sound servers the system tests run on, and :class:`SoundServerError`,
  what the rig raises when one of them or a helper on it fails.
* :func:`require` -- skip a test when a system program is missing, or fail it
  when running in CI (``CI=true``), where everything must be installed
  (``scripts/test`` installs it); :func:`unavailable` for anything else missing.
* :func:`report` -- the reliability counts behind ``docs/reliability.md``.
* ``_pytest()`` -- pytest, imported only when a helper needs it.

It imports no other rig module, so every one of them can import it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[1]
SAMPLERATE = 48000
SINK = "speakers"
#: The kinds of private sound server (``SoundServer.kind``), in the order the
#: parametrized fixtures run them: PulseAudio itself, and PipeWire with
#: WirePlumber and pipewire-pulse.
SERVER_KINDS = ("pulseaudio", "pipewire")


class SoundServerError(RuntimeError):
    """A private sound server, or a helper process on it, failed (the message
    carries the server's log where there is one)."""


# --------------------------------------------------------------------------------------
# Missing system programs
# --------------------------------------------------------------------------------------


def require(binary: str) -> str:
    """Return the full path of ``binary``; skip the test if it is not installed.

    In CI (``CI=true``) a missing program is a failure, not a skip: the CI machine
    is set up by ``scripts/test``, so anything missing there is a real defect.
    """
    path = shutil.which(binary)
    if path:
        return path
    unavailable(f"missing system dependency: {binary} (install with scripts/test)")
    raise AssertionError("unreachable")  # for type checkers


def unavailable(message: str) -> None:
    """Skip the test for want of something on this machine; in CI
    (``CI=true``) fail instead, since there a missing part is a defect."""
    import pytest

    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


# --------------------------------------------------------------------------------------
# Reliability counts
# --------------------------------------------------------------------------------------


def report(section: str, family: str, trials: int, handled: int) -> None:
    """Append a family's counts to $LOOPCAP_RELIABILITY_OUT, if set
    (``benchmarks/reliability.py`` prints them as the table in
    ``docs/reliability.md``)."""
    out = os.environ.get("LOOPCAP_RELIABILITY_OUT")
    if out:
        with open(out, "a", encoding="utf-8") as f:
            record = {"section": section, "family": family, "trials": trials, "handled": handled}
            f.write(json.dumps(record) + "\n")


def _pytest():
    """pytest, imported when needed: the benchmarks import this module without it."""
    import pytest

    return pytest
