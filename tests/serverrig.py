"""What every private sound server of the rig shares (re-exported by ``rig``).

:class:`SoundServer` is the base of :class:`pulserig.PulseServer` (PulseAudio)
and :class:`pipewirerig.PipeWireServer` (PipeWire with WirePlumber and
pipewire-pulse).  Both speak the PulseAudio protocol on a Unix socket of their
own, so everything the tests do with a server -- ``pactl``, ``paplay``, loopcap
itself -- goes through the same calls, implemented here once:

* the client environment (:meth:`SoundServer.env`), which points a process at
  this server and at no other (the user's own sound variables are dropped);
* control: :meth:`~SoundServer.pactl`, :meth:`~SoundServer.load_sink`,
  :meth:`~SoundServer.unload_module`, :meth:`~SoundServer.sources`,
  :meth:`~SoundServer.sink_state` and :meth:`~SoundServer.wait_sink_state`,
  :meth:`~SoundServer.move_source_output` (a user's move of a record stream,
  waited for: the PipeWire server does it its own way);
* playback and timed recording: :meth:`~SoundServer.play_file`,
  :meth:`~SoundServer.play_array`, :meth:`~SoundServer.reference_player`,
  :meth:`~SoundServer.record_timestamped`;
* :attr:`~SoundServer.kind` and :attr:`~SoundServer.version`, what ``pactl
  info`` says the server is.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

from baserig import SAMPLERATE, SINK, SoundServerError, require
from soundrig import write_wav
from timingrig import ReferencePlayer, TimedCapture

__all__ = ["SINK_STATES", "SoundServer"]

#: The states ``pactl list sinks`` reports for a sink: playing, awake with
#: nothing to play, asleep.
SINK_STATES = ("RUNNING", "IDLE", "SUSPENDED")

# Variables of the user's own sound setup that must not leak into the tests.
_FOREIGN_SOUND_VARS = (
    "PULSE_SINK",
    "PULSE_SOURCE",
    "PULSE_COOKIE",
    "PULSE_LATENCY_MSEC",
    "PULSE_PROP",
    "PIPEWIRE_REMOTE",
    "PIPEWIRE_RUNTIME_DIR",
    "PIPEWIRE_CORE",
    "PIPEWIRE_LATENCY",
    "PIPEWIRE_NODE",
)


class SoundServer:
    """A private sound server with one 48 kHz stereo null sink, ``speakers``,
    reached through the PulseAudio protocol at ``unix:<dir>/pulse/native``.

    The server lives in its own temporary directory, :attr:`dir` (its
    ``XDG_RUNTIME_DIR`` and ``HOME``); :meth:`stop` deletes it.  Clients reach it
    through the environment returned by :meth:`env`; the environment of the
    calling process is never changed.  Use as a context manager, or call
    :meth:`start` and :meth:`stop`; :meth:`kill` ends it as a crash would and
    :meth:`restart` brings it back at the same address.

    ``suspend_after_s``: seconds after which the idle null sink suspends (None:
    the server's own default; see the subclasses).  Not thread-safe: one test
    thread drives a server.
    """

    #: "pulseaudio" or "pipewire" (:data:`baserig.SERVER_KINDS`).
    kind = ""
    #: Seconds by which a sound reaches the sink's monitor after the moment a
    #: playback stream's latency says it enters the sink (the ReferencePlayer
    #: adds it, so its times are those a recorder of the monitor sees).
    monitor_delay_s = 0.0
    READY_TIMEOUT_S = 10.0

    def __init__(
        self,
        sink: str = SINK,
        samplerate: int = SAMPLERATE,
        suspend_after_s: float | None = None,
    ):
        self.sink = sink
        self.samplerate = samplerate
        self.suspend_after_s = suspend_after_s
        self.dir = Path(tempfile.mkdtemp(prefix=f"loopcap-{self.kind or 'sound'}-"))
        self.runtime_dir = self.dir / "pulse"
        self.socket = self.runtime_dir / "native"
        self._client_conf = self.dir / "client.conf"
        # A client that cannot reach this server must fail, not start a server.
        self._client_conf.write_text("autospawn = no\n")
        self._version: str | None = None

    # -- environment -------------------------------------------------------------------

    @property
    def server_address(self) -> str:
        return f"unix:{self.socket}"

    def env(self) -> dict[str, str]:
        """``os.environ`` plus what points a client at this server, and only at it."""
        env = dict(os.environ)
        for name in list(env):
            if name in _FOREIGN_SOUND_VARS or name.startswith("PULSE_PROP"):
                del env[name]
        env.update(
            XDG_RUNTIME_DIR=str(self.dir),
            HOME=str(self.dir),
            PULSE_RUNTIME_PATH=str(self.runtime_dir),
            PULSE_SERVER=self.server_address,
            PULSE_CLIENTCONFIG=str(self._client_conf),
        )
        return env

    # -- life cycle (the subclasses') ---------------------------------------------------

    def start(self) -> SoundServer:
        raise NotImplementedError

    def kill(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        raise NotImplementedError

    def log_tail(self, lines: int = 30) -> str:
        raise NotImplementedError

    def restart(self) -> SoundServer:
        """Kill the server (if running) and start a fresh one at the same address."""
        self.kill()
        return self.start()

    def __enter__(self) -> SoundServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind} at {self.dir}>"

    def _wait_ready(self, alive, what: str) -> None:
        """Poll ``pactl info`` until it answers; ``alive()`` false or the timeout
        kills the server and raises with its log."""
        deadline = time.monotonic() + self.READY_TIMEOUT_S
        while True:
            if not alive():
                self.kill()
                raise SoundServerError(f"{what} exited:\n{self.log_tail()}")
            probe = subprocess.run(
                ["pactl", "info"], env=self.env(), capture_output=True, text=True, timeout=5
            )
            if probe.returncode == 0:
                return
            if time.monotonic() > deadline:
                self.kill()
                raise SoundServerError(
                    f"{what} not ready after {self.READY_TIMEOUT_S} s:\n{self.log_tail()}"
                )
            time.sleep(0.02)

    # -- what it is ----------------------------------------------------------------------

    @property
    def version(self) -> str:
        """What ``pactl info`` calls the server: its name and version, as
        ``"pulseaudio 16.1"`` or ``"PulseAudio (on PipeWire 0.3.65) 15.0.0"``
        (asked once per start)."""
        if self._version is None:
            fields = {}
            for line in self.pactl("info").splitlines():
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
            self._version = f"{fields.get('Server Name', '?')} {fields.get('Server Version', '?')}"
        return self._version

    # -- control -----------------------------------------------------------------------

    def pactl(self, *args: str) -> str:
        """Run ``pactl ARGS`` against this server; return its stdout, raise on failure."""
        done = subprocess.run(
            ["pactl", *args], env=self.env(), capture_output=True, text=True, timeout=10
        )
        if done.returncode != 0:
            raise SoundServerError(f"pactl {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def _null_sink_args(self, name: str, samplerate: int) -> list[str]:
        """The arguments of ``module-null-sink`` for a sink of this rig."""
        return [f"sink_name={name}", f"rate={samplerate}", "channels=2"]

    def load_sink(self, name: str, samplerate: int | None = None) -> int:
        """Load another null sink (its monitor is ``<name>.monitor``); return the module id."""
        args = self._null_sink_args(name, samplerate or self.samplerate)
        out = self.pactl("load-module", "module-null-sink", *args)
        return int(out.strip())

    def unload_module(self, module_id: int) -> None:
        self.pactl("unload-module", str(module_id))

    def sources(self) -> list[str]:
        """Names of the server's sources (monitors included)."""
        out = self.pactl("list", "short", "sources")
        return [line.split("\t")[1] for line in out.splitlines() if "\t" in line]

    def source_of_output(self, index: int) -> int | None:
        """The index of the source that source output (record stream) ``index``
        records from, as the server says; None when there is no such stream."""
        for line in self.pactl("list", "short", "source-outputs").splitlines():
            fields = line.split("\t")
            if len(fields) >= 2 and fields[0] == str(index):
                return int(fields[1])
        return None

    def move_source_output(self, index: int, source: str, timeout: float = 3.0) -> None:
        """Move record stream ``index`` to ``source`` (a name), as a user's mixer
        does, and wait until the server says it records from there."""
        self.pactl("move-source-output", str(index), source)
        self._wait_moved(index, source, timeout)

    def _wait_moved(self, index: int, source: str, timeout: float) -> None:
        target = self.source_index(source)
        deadline = time.monotonic() + timeout
        while (now := self.source_of_output(index)) != target:
            if now is None:
                # Gone since the move was accepted: its client saw the move and
                # closed the stream (loopcap does so as soon as it is told).
                return
            if time.monotonic() > deadline:
                raise SoundServerError(
                    f"source output {index} still records from source {now}, not {source}"
                )
            time.sleep(0.02)

    def sink_inputs(self, client: str | None = None) -> list[int]:
        """Indices of the playback streams (sink-inputs), those of the
        application named ``client`` only where it is given."""
        out, index, name = [], None, None
        for line in self.pactl("list", "sink-inputs").splitlines() + ["Sink Input #-1"]:
            if line.startswith("Sink Input #"):
                if index is not None and (client is None or name == client):
                    out.append(index)
                index, name = int(line.split("#")[1]), None
            elif line.strip().startswith("application.name = "):
                name = line.split("=", 1)[1].strip().strip('"')
        return out

    def sink_of_input(self, index: int) -> int | None:
        """The index of the sink playback stream ``index`` plays to; None
        when there is no such stream."""
        for line in self.pactl("list", "short", "sink-inputs").splitlines():
            fields = line.split("\t")
            if len(fields) >= 2 and fields[0] == str(index):
                return int(fields[1])
        return None

    def sink_index(self, name: str) -> int:
        """The index of sink ``name``."""
        for line in self.pactl("list", "short", "sinks").splitlines():
            fields = line.split("\t")
            if len(fields) >= 2 and fields[1] == name:
                return int(fields[0])
        raise SoundServerError(f"no sink {name!r} on the {self.kind} server")

    def move_sink_input(self, index: int, sink: str, timeout: float = 3.0) -> None:
        """Move playback stream ``index`` to ``sink`` (a name), as a user's
        mixer does when headphones are chosen, and wait until the server says
        it plays there."""
        self.pactl("move-sink-input", str(index), sink)
        target = self.sink_index(sink)
        deadline = time.monotonic() + timeout
        while (now := self.sink_of_input(index)) != target:
            if time.monotonic() > deadline:
                raise SoundServerError(f"sink input {index} still plays to sink {now}, not {sink}")
            time.sleep(0.02)

    def source_index(self, name: str) -> int:
        """The index of source ``name`` (a monitor: ``<sink>.monitor``)."""
        for line in self.pactl("list", "short", "sources").splitlines():
            fields = line.split("\t")
            if len(fields) >= 2 and fields[1] == name:
                return int(fields[0])
        raise SoundServerError(f"no source {name!r} on the {self.kind} server")

    def sink_state(self, name: str | None = None) -> str:
        """The state of sink ``name`` (default: :attr:`sink`) as ``pactl list sinks``
        gives it: "RUNNING" (playing), "IDLE" (awake, nothing plays) or
        "SUSPENDED" (asleep).  Raises if there is no such sink."""
        name = name or self.sink
        for line in self.pactl("list", "short", "sinks").splitlines():
            fields = line.split("\t")
            if len(fields) >= 5 and fields[1] == name:
                return fields[-1].strip()
        raise SoundServerError(f"no sink {name!r} on the {self.kind} server")

    def wait_sink_state(self, state: str, timeout: float, name: str | None = None) -> float:
        """Wait until the sink is in ``state`` (one of :data:`SINK_STATES`), polling
        every 20 ms; return the seconds it took.  Raises after ``timeout`` seconds
        with the states seen."""
        if state not in SINK_STATES:
            raise ValueError(f"unknown sink state {state!r}")
        start = time.monotonic()
        seen: list[str] = []
        while True:
            now = self.sink_state(name)
            if now == state:
                return time.monotonic() - start
            if not seen or seen[-1] != now:
                seen.append(now)
            if time.monotonic() - start > timeout:
                raise SoundServerError(
                    f"sink {name or self.sink!r} not {state} after {timeout} s "
                    f"(was {' then '.join(seen)})"
                )
            time.sleep(0.02)

    # -- playback ----------------------------------------------------------------------

    def play_file(self, path, sink: str | None = None, wait: bool = True):
        """Play a sound file into ``sink`` with paplay.

        ``wait=True`` waits for the end (raises if paplay fails) and returns None;
        ``wait=False`` returns the running :class:`subprocess.Popen`.
        paplay takes roughly 30 ms to start playing, more on a busy machine: do
        not use it where timing matters (see :class:`ReferencePlayer`).
        """
        require("paplay")
        cmd = ["paplay", "-d", sink or self.sink, str(path)]
        if not wait:
            return subprocess.Popen(
                cmd, env=self.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        done = subprocess.run(cmd, env=self.env(), capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise SoundServerError(f"paplay {path} failed: {done.stderr.strip()}")
        return None

    def play_array(
        self, data, samplerate: int = SAMPLERATE, sink: str | None = None, wait: bool = True
    ):
        """Play a numpy array (frames, or frames x channels, float in [-1, 1]).

        It is written to a 32-bit float WAV file in the server's directory and played
        with :meth:`play_file`; same ``wait`` semantics.
        """
        path = write_wav(self.dir / f"play-{time.monotonic_ns()}.wav", data, samplerate)
        return self.play_file(path, sink=sink, wait=wait)

    def reference_player(
        self, sink: str | None = None, open_stream: bool = True
    ) -> ReferencePlayer:
        """A :class:`ReferencePlayer` on this server (use as a context manager)."""
        return ReferencePlayer(self, sink or self.sink, open_stream=open_stream)

    def record_timestamped(self, seconds: float, source: str | None = None) -> TimedCapture:
        """Record ``source`` (default: the sink's monitor) for ``seconds`` with 1 ms
        blocks in a helper process, noting when each block arrived (see
        :class:`TimedCapture`).  Returns once the helper records; call
        :meth:`TimedCapture.result` for the audio."""
        return TimedCapture(self, source or f"{self.sink}.monitor", seconds)
