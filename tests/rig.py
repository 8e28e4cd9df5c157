"""Test rig for loopcap's system tests: one name space for the rig's parts.

Importable from the tests (``import rig``) and from the benchmarks (after putting
``tests/`` on ``sys.path``).  The parts live in modules of one job each; this
module re-exports their names, so ``rig.X`` is the way to use any of them:

* :mod:`baserig` -- the shared basics: :data:`REPO_DIR`, :data:`SAMPLERATE`,
  :data:`SINK`, :data:`SERVER_KINDS`, :class:`SoundServerError`; :func:`require`
  and :func:`unavailable` (skip a test when a system part is missing, fail it in
  CI, ``CI=true``, where ``scripts/test`` installs everything); :func:`report`,
  the reliability counts behind ``docs/reliability.md``.
* :mod:`serverrig` -- :class:`SoundServer`, what the private sound servers
  share: the client environment, ``pactl``, null sinks, sink states
  (:meth:`SoundServer.sink_state`, :meth:`SoundServer.wait_sink_state`), players.
* :mod:`pulserig` -- a *private* PulseAudio server (:class:`PulseServer`, sink
  ``speakers``, its monitor the loopback device loopcap records).
* :mod:`pipewirerig` -- a *private* PipeWire server with WirePlumber and
  pipewire-pulse (:class:`PipeWireServer`), the same interface.
* :mod:`timingrig` -- the :class:`ReferencePlayer` that places sounds at chosen
  moments of ``time.monotonic()``, and :class:`TimedCapture`.
* :mod:`procrig` -- loopcap processes, the one way the tests start one:
  :func:`run_loopcap` (to its end) and :class:`Loopcap` (running); their
  environment (:func:`child_env`, :func:`user_dirs`); the app's control socket
  (:func:`ask`, :func:`wait_state`); its configuration (:func:`write_config`).
* :mod:`soundrig` -- sound files and test signals (:func:`chirp`, :func:`tone`,
  :func:`click`, :func:`voice`) and their analysis (:func:`best_lag`,
  :func:`windowed_correlation`, :func:`longest_zero_run`, ...).

This module adds :func:`server_class` (the server class of a kind) and
:func:`on_servers` (a mark that runs a test on some kinds of server only).

The modules import :mod:`baserig` (the servers also :mod:`serverrig`, which
imports :mod:`timingrig` and :mod:`soundrig`), never this module, so there is no
import cycle.
"""

from __future__ import annotations

from baserig import (
    REPO_DIR,
    SAMPLERATE,
    SERVER_KINDS,
    SINK,
    SoundServerError,
    report,
    require,
    unavailable,
)
from pipewirerig import PipeWireServer
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
from pulserig import PulseServer, PulseServerError
from serverrig import SINK_STATES, SoundServer
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
from timingrig import ReferencePlayer, TimedCapture


def server_class(kind: str) -> type[SoundServer]:
    """The private server class of ``kind`` (one of :data:`SERVER_KINDS`)."""
    classes: dict[str, type[SoundServer]] = {"pulseaudio": PulseServer, "pipewire": PipeWireServer}
    if kind not in classes:
        raise ValueError(f"unknown sound server kind {kind!r}, not one of {SERVER_KINDS}")
    return classes[kind]


def on_servers(*kinds: str):
    """A mark that runs a test on the shared servers of ``kinds`` only (the
    ``pulse`` fixture, and ``loopcap_env``, ``app_env``, ``start_app`` with it),
    for a behaviour of one server; its counterpart on the other gets a test of
    its own.  ``@rig.on_servers("pulseaudio")``."""
    import pytest

    for kind in kinds:
        server_class(kind)  # a typo fails at collection
    return pytest.mark.parametrize("pulse", kinds, indirect=True)


__all__ = [
    # baserig: the shared basics
    "REPO_DIR",
    "SAMPLERATE",
    "SERVER_KINDS",
    "SINK",
    "SoundServerError",
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
    # serverrig, pulserig, pipewirerig: the private sound servers
    "SINK_STATES",
    "SoundServer",
    "PulseServer",
    "PulseServerError",
    "PipeWireServer",
    "server_class",
    "on_servers",
    # timingrig: timed players and recorders on them
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
