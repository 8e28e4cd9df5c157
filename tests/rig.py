"""Test rig for loopcap's system tests: one name space for the rig's parts.

Importable from the tests (``import rig``) and from the benchmarks (after putting
``tests/`` on ``sys.path``).  The parts live in modules of one job each; this
module re-exports their names, so ``rig.X`` is the way to use any of them:

* :mod:`baserig` -- the shared basics: :data:`REPO_DIR`, :data:`SAMPLERATE`,
  :data:`SINK`; :func:`require` and :func:`unavailable` (skip a test when a system
  part is missing, fail it in CI, ``CI=true``, where ``scripts/test`` installs
  everything); :func:`report`, the reliability counts behind
  ``docs/reliability.md``.
* :mod:`pulserig` -- a *private* PulseAudio server (:class:`PulseServer`, sink
  ``speakers``, its monitor the loopback device loopcap records), the
  :class:`ReferencePlayer` that places sounds at chosen moments of
  ``time.monotonic()``, and :class:`TimedCapture`.
* :mod:`procrig` -- loopcap processes, the one way the tests start one:
  :func:`run_loopcap` (to its end) and :class:`Loopcap` (running); their
  environment (:func:`child_env`, :func:`user_dirs`); the app's control socket
  (:func:`ask`, :func:`wait_state`); its configuration (:func:`write_config`).
* :mod:`soundrig` -- sound files and test signals (:func:`chirp`, :func:`tone`,
  :func:`click`, :func:`voice`) and their analysis (:func:`best_lag`,
  :func:`windowed_correlation`, :func:`longest_zero_run`, ...).

The modules import :mod:`baserig` (and :mod:`pulserig` imports :mod:`soundrig`),
never this module, so there is no import cycle.
"""

from __future__ import annotations

from baserig import REPO_DIR, SAMPLERATE, SINK, report, require, unavailable
from procrig import (
    LOOPCAP,
    RUNNING_LINE,
    START_LINE,
    Loopcap,
    ask,
    child_env,
    poll_state,
    run_loopcap,
    socket_path,
    user_dirs,
    wait_state,
    write_config,
)
from pulserig import PulseServer, PulseServerError, ReferencePlayer, TimedCapture
from soundrig import (
    VOICE_SAMPLE,
    aligned,
    best_lag,
    chirp,
    click,
    dbfs,
    longest_zero_run,
    mono,
    read_audio,
    silence,
    tone,
    tone_amplitude,
    voice,
    voice_sample,
    windowed_correlation,
    write_wav,
)

__all__ = [
    # baserig: the shared basics
    "REPO_DIR",
    "SAMPLERATE",
    "SINK",
    "report",
    "require",
    "unavailable",
    # procrig: loopcap processes, their environments, control socket and config
    "LOOPCAP",
    "RUNNING_LINE",
    "START_LINE",
    "Loopcap",
    "ask",
    "child_env",
    "poll_state",
    "run_loopcap",
    "socket_path",
    "user_dirs",
    "wait_state",
    "write_config",
    # pulserig: the private PulseAudio server and its players
    "PulseServer",
    "PulseServerError",
    "ReferencePlayer",
    "TimedCapture",
    # soundrig: test sounds and their analysis
    "VOICE_SAMPLE",
    "aligned",
    "best_lag",
    "chirp",
    "click",
    "dbfs",
    "longest_zero_run",
    "mono",
    "read_audio",
    "silence",
    "tone",
    "tone_amplitude",
    "voice",
    "voice_sample",
    "windowed_correlation",
    "write_wav",
]
