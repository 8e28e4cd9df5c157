"""A private PulseAudio server for the tests, and precisely timed players and
recorders on it (re-exported by ``rig``).

The server lives in a temporary directory, so the tests work the same whether
or not the person running them has a sound server of their own, and never play
into (or record from) that server.

* :class:`PulseServer` -- start/stop/kill/restart a private server with one null
  sink called ``speakers`` (48 kHz stereo).  Its monitor, ``speakers.monitor``, is
  the loopback device loopcap records.  ``env()`` gives the environment that makes
  a subprocess talk to this server and to no other.
* :class:`ReferencePlayer` -- a helper process that keeps a low-latency playback
  stream open and places a sound on the sink's timeline at a chosen moment of the
  system's monotonic clock (``time.monotonic()`` is the same clock in every process
  on Linux).  paplay is not precise enough for that: it needs ~30 ms to start, and
  that start-up time varies.
* :class:`TimedCapture` -- a low-latency recording of a source with the arrival
  time of each block, to check the ReferencePlayer against.

The helper processes of both are this file, run as a script.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from baserig import SAMPLERATE, SINK, require
from soundrig import write_wav

# Variables of the user's own sound setup that must not leak into the tests.
_FOREIGN_SOUND_VARS = (
    "PULSE_SINK",
    "PULSE_SOURCE",
    "PULSE_COOKIE",
    "PULSE_LATENCY_MSEC",
    "PULSE_PROP",
    "PIPEWIRE_REMOTE",
    "PIPEWIRE_RUNTIME_DIR",
)


# --------------------------------------------------------------------------------------
# Private PulseAudio server
# --------------------------------------------------------------------------------------


class PulseServerError(RuntimeError):
    pass


class PulseServer:
    """A private PulseAudio server with one 48 kHz stereo null sink, ``speakers``.

    The server lives in its own temporary directory, which serves as its
    ``XDG_RUNTIME_DIR``, ``HOME`` and (``<dir>/pulse``) ``PULSE_RUNTIME_PATH``.
    Clients reach it through ``PULSE_SERVER=unix:<dir>/pulse/native``, set in the
    environment returned by :meth:`env`.  The environment of the calling process is
    never changed.

    Use as a context manager, or call :meth:`start` and :meth:`stop`::

        with PulseServer() as pulse:
            subprocess.run(["paplay", "x.wav"], env=pulse.env())
    """

    READY_TIMEOUT_S = 10.0

    def __init__(self, sink: str = SINK, samplerate: int = SAMPLERATE):
        self.sink = sink
        self.samplerate = samplerate
        self.dir = Path(tempfile.mkdtemp(prefix="loopcap-pulse-"))
        self.runtime_dir = self.dir / "pulse"
        self.socket = self.runtime_dir / "native"
        self.log_path = self.dir / "pulseaudio.log"
        self.proc: subprocess.Popen | None = None
        self._client_conf = self.dir / "client.conf"
        # A client that cannot reach this server must fail, not start a server.
        self._client_conf.write_text("autospawn = no\n")

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

    # -- life cycle --------------------------------------------------------------------

    def start(self) -> PulseServer:
        require("pulseaudio")
        require("pactl")
        if self.running:
            return self
        self.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        cmd = [
            "pulseaudio",
            "-n",
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--load=module-native-protocol-unix",
            f"--load=module-null-sink sink_name={self.sink} rate={self.samplerate}",
        ]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                cmd,
                env=self.env(),
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal is for pytest
            )
        deadline = time.monotonic() + self.READY_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise PulseServerError(
                    f"pulseaudio exited with status {self.proc.returncode}:\n{self.log_tail()}"
                )
            probe = subprocess.run(
                ["pactl", "info"], env=self.env(), capture_output=True, text=True, timeout=5
            )
            if probe.returncode == 0:
                break
            if time.monotonic() > deadline:
                self.kill()
                raise PulseServerError(
                    f"pulseaudio not ready after {self.READY_TIMEOUT_S} s:\n{self.log_tail()}"
                )
            time.sleep(0.05)
        # Pin the default explicitly, so sinks loaded later never take over.
        self.pactl("set-default-sink", self.sink)
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the server, as a crash would: clients see the connection drop."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def restart(self) -> PulseServer:
        """Kill the server (if running) and start a fresh one at the same address."""
        self.kill()
        return self.start()

    def stop(self) -> None:
        """Stop the server and delete its directory."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PulseServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    # -- control -----------------------------------------------------------------------

    def pactl(self, *args: str) -> str:
        """Run ``pactl ARGS`` against this server; return its stdout, raise on failure."""
        done = subprocess.run(
            ["pactl", *args], env=self.env(), capture_output=True, text=True, timeout=10
        )
        if done.returncode != 0:
            raise PulseServerError(f"pactl {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def load_sink(self, name: str, samplerate: int | None = None) -> int:
        """Load another null sink (its monitor is ``<name>.monitor``); return the module id."""
        rate = samplerate or self.samplerate
        out = self.pactl("load-module", "module-null-sink", f"sink_name={name}", f"rate={rate}")
        return int(out.strip())

    def unload_module(self, module_id: int) -> None:
        self.pactl("unload-module", str(module_id))

    def sources(self) -> list[str]:
        """Names of the server's sources (monitors included)."""
        out = self.pactl("list", "short", "sources")
        return [line.split("\t")[1] for line in out.splitlines() if "\t" in line]

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
            raise PulseServerError(f"paplay {path} failed: {done.stderr.strip()}")
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


# --------------------------------------------------------------------------------------
# Precisely timed playback
# --------------------------------------------------------------------------------------


class ReferencePlayer:
    """Plays sounds into a sink at chosen moments of ``time.monotonic()``.

    A helper process (this file, run as a script) keeps a playback stream with a
    20 ms buffer open, feeding it silence.  To place a sound, it asks the server for
    the stream's current latency (the time until a sample written now is heard, as
    PulseAudio accounts it), pads with exactly enough silence frames and writes
    the sound.  ``play_at`` returns the monotonic time at which the first sample of
    the sound enters the sink, according to that computation.

    The stream keeps the sink busy: PulseAudio runs a sink at the lowest latency
    its streams ask for, so while the player is open the null sink renders in
    small blocks instead of the 2 s blocks of an idle null sink.  With
    ``open_stream=False`` the helper starts (and imports soundcard) but opens its
    stream only for the first sound, so the sink stays idle until then; allow
    0.2 s for the stream to open and settle before the first ``at``.

    Its accuracy is checked against an independent low-latency recording of the
    monitor in the rig's own tests (tests/system/test_rig.py).
    """

    def __init__(self, pulse: PulseServer, sink: str = SINK, open_stream: bool = True):
        self.pulse = pulse
        self.sink = sink
        self.open_stream = open_stream
        self.proc: subprocess.Popen | None = None
        self.latency_s: float | None = None

    def __enter__(self) -> ReferencePlayer:
        mode = "player" if self.open_stream else "lazy-player"
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), mode, self.sink],
            env=self.pulse.env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.latency_s = self._reply(timeout=15)["latency"]
        return self

    def _reply(self, timeout: float) -> dict:
        assert self.proc is not None and self.proc.stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()))
        reader.daemon = True
        reader.start()
        reader.join(timeout)
        if not result or not result[0]:
            self.close()
            raise PulseServerError("reference player did not answer")
        reply = json.loads(result[0])
        if "error" in reply:
            raise PulseServerError(f"reference player: {reply['error']}")
        return reply

    def play_at(self, data, at: float, samplerate: int = SAMPLERATE) -> float:
        """Schedule ``data`` to enter the sink at monotonic time ``at``.

        Returns as soon as the sound is queued (before it has been played) with the
        time the first sample enters the sink, which equals ``at`` unless ``at`` was
        already too close (then it is as soon as possible).  Sounds queued while an
        earlier one plays follow it.
        """
        assert self.proc is not None and self.proc.stdin is not None
        path = write_wav(self.pulse.dir / f"ref-{time.monotonic_ns()}.wav", data, samplerate)
        self.proc.stdin.write(json.dumps({"play": str(path), "at": at}) + "\n")
        self.proc.stdin.flush()
        return self._reply(timeout=max(10.0, at - time.monotonic() + 10.0))["start"]

    def close(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def __exit__(self, *exc) -> None:
        self.close()


def _player_main(sink_name: str, open_stream: bool) -> int:
    """Body of the :class:`ReferencePlayer` helper process (JSON lines on stdin/stdout)."""
    import queue

    import soundcard  # connects to PULSE_SERVER at import
    import soundfile

    block = 960  # 20 ms at 48 kHz: the stream's whole server-side buffer; 5 ms underran under load
    speaker = soundcard.get_speaker(sink_name)
    commands: queue.Queue = queue.Queue()

    def read_commands():
        for line in sys.stdin:
            commands.put(json.loads(line))
        commands.put(None)

    threading.Thread(target=read_commands, daemon=True).start()
    silence = np.zeros((block, 2), dtype=np.float32)

    def say(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    pending = None
    if not open_stream:
        say({"latency": None})
        pending = commands.get()
        if pending is None:
            return 0
        commands.put(pending)  # handled below, once the stream runs
        pending = None
    with speaker.player(samplerate=SAMPLERATE, channels=2, blocksize=block) as player:
        for _ in range(20):  # let the stream start and its timing settle
            player.play(silence)
        if open_stream:
            say({"latency": player.latency})
        while True:
            if pending is None:
                try:
                    pending = commands.get_nowait()
                except queue.Empty:
                    pass
                else:
                    if pending is None:
                        break
                    data, sr = soundfile.read(pending["play"], dtype="float32", always_2d=True)
                    if sr != SAMPLERATE:
                        say({"error": f"sample rate {sr} != {SAMPLERATE}"})
                        pending = None
                        continue
                    if data.shape[1] == 1:
                        data = np.repeat(data, 2, axis=1)
                    pending["data"] = data[:, :2]
            if pending is not None:
                now = time.monotonic()
                latency = player.latency
                lead = pending["at"] - (now + latency)
                if lead < 4 * block / SAMPLERATE:
                    pad = max(0, round(lead * SAMPLERATE))
                    start = now + latency + pad / SAMPLERATE
                    say({"start": start, "latency": latency, "late_s": max(0.0, -lead)})
                    player.play(np.concatenate([np.zeros((pad, 2), np.float32), pending["data"]]))
                    pending = None
                    continue
            player.play(silence)
    return 0


# --------------------------------------------------------------------------------------
# Reference recording with arrival times
# --------------------------------------------------------------------------------------


class TimedCapture:
    """A low-latency recording of a source in a helper process, with the monotonic
    time at which each block reached the helper.

    ``latest_time(i)`` is the latest moment at which sample ``i`` can have entered
    the sink: the arrival time of its block minus the samples after it in that
    block.  With 1 ms blocks this is an upper bound that is tight to a millisecond
    or two, which is what the rig's own tests use to check the ReferencePlayer.
    """

    def __init__(self, pulse: PulseServer, source: str, seconds: float):
        self._out = pulse.dir / f"timed-{time.monotonic_ns()}.npz"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "timed-capture",
                source,
                str(seconds),
                str(self._out),
            ],
            env=pulse.env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        if self.proc.stdout.readline().strip() != "recording":
            self.proc.wait()
            raise PulseServerError("timed capture helper failed to start")
        self.data: np.ndarray | None = None
        self.ends: np.ndarray | None = None
        self.times: np.ndarray | None = None

    def result(self, timeout: float = 60) -> TimedCapture:
        self.proc.wait(timeout=timeout)
        with np.load(self._out) as z:
            self.data, self.ends, self.times = z["data"], z["ends"], z["times"]
        self._out.unlink()
        return self

    def latest_time(self, index: int) -> float:
        block = int(np.searchsorted(self.ends, index, side="right"))
        return float(self.times[block] - (self.ends[block] - index) / SAMPLERATE)


def _timed_capture_main(source: str, seconds: float, out: str) -> int:
    import soundcard

    mic = soundcard.get_microphone(source, include_loopback=True)
    chunks, ends, times = [], [], []
    total = 0
    with mic.recorder(samplerate=SAMPLERATE, channels=2, blocksize=48) as recorder:
        print("recording", flush=True)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            chunk = recorder.record(numframes=None)
            times.append(time.monotonic())
            total += len(chunk)
            ends.append(total)
            chunks.append(chunk)
    np.savez(out, data=np.concatenate(chunks), ends=np.array(ends), times=np.array(times))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("player", "lazy-player"):
        sys.exit(_player_main(sys.argv[2], open_stream=sys.argv[1] == "player"))
    if len(sys.argv) == 5 and sys.argv[1] == "timed-capture":
        sys.exit(_timed_capture_main(sys.argv[2], float(sys.argv[3]), sys.argv[4]))
    sys.exit(f"usage: {sys.argv[0]} player|lazy-player SINK | timed-capture SOURCE SECONDS OUT")
