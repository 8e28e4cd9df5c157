"""Test rig for loopcap's system tests: a private PulseAudio server and test signals.

Importable from the tests (``import rig``) and from the benchmarks (after putting
``tests/`` on ``sys.path``).

Everything here runs against a *private* PulseAudio server started in a temporary
directory, so the tests work the same whether or not the person running them has
a sound server of their own, and never play into (or record from) that server.

Parts:

* :class:`PulseServer` -- start/stop/kill/restart a private server with one null
  sink called ``speakers`` (48 kHz stereo).  Its monitor, ``speakers.monitor``, is
  the loopback device loopcap records.  ``env()`` gives the environment that makes
  a subprocess talk to this server and to no other.
* :class:`ReferencePlayer` -- a helper process that keeps a low-latency playback
  stream open and places a sound on the sink's timeline at a chosen moment of the
  system's monotonic clock (``time.monotonic()`` is the same clock in every process
  on Linux).  paplay is not precise enough for that: it needs ~30 ms to start, and
  that start-up time varies.
* Signal helpers: :func:`chirp`, :func:`tone`, :func:`click`, :func:`voice`,
  :func:`best_lag`, :func:`windowed_correlation`, :func:`longest_zero_run`.
* :func:`require` -- skip a test when a system program is missing, or fail it
  when running in CI (``CI=true``), where everything must be installed
  (``scripts/test`` installs it).
* loopcap processes, the one way the tests start one: :func:`run_loopcap` (to
  its end) and :class:`Loopcap` (running: its stderr line by line with arrival
  times, the app's state, kill and reap); :func:`child_env` and
  :func:`user_dirs` for their environment.
* The app's control socket: :func:`ask`, :func:`wait_state`; its configuration:
  :func:`write_config`.
* :func:`report` -- the reliability counts behind ``docs/reliability.md``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO_DIR = Path(__file__).resolve().parents[1]
SAMPLERATE = 48000
SINK = "speakers"
VOICE_SAMPLE = Path("/usr/share/sounds/alsa/Front_Center.wav")

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
# loopcap processes
# --------------------------------------------------------------------------------------

#: The argv that runs the working tree's loopcap (see :func:`child_env` for the path).
LOOPCAP = (sys.executable, "-m", "loopcap")
#: What ``loopcap record`` prints on stderr when position 0 of its file is captured.
START_LINE = "Recording from "
#: What ``loopcap run`` prints on stderr once it is up.
RUNNING_LINE = "loopcap is running"


def user_dirs(root: Path) -> dict[str, str]:
    """HOME and the XDG user folders, all inside ``root`` (created)."""
    home = root / "home"
    dirs = {
        "HOME": home,
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_STATE_HOME": home / ".local" / "state",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_MUSIC_DIR": home / "Music",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    return {name: str(path) for name, path in dirs.items()}


def child_env(base: dict[str, str], root: Path) -> dict[str, str]:
    """``base`` with every user folder inside ``root`` (:func:`user_dirs`),
    unbuffered output, and this working tree's loopcap first on the path,
    whatever else is installed.  ``base`` itself is not changed."""
    env = dict(base)
    env.update(user_dirs(root))
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_DIR), env.get("PYTHONPATH")) if p)
    return env


def run_loopcap(
    args, env: dict[str, str] | None = None, cwd=None, timeout: float = 60, *, wrapper=(), **popen
) -> subprocess.CompletedProcess:
    """``python -m loopcap ARGS`` to its end: output captured as text, no stdin;
    ``env`` None inherits this process's; ``wrapper``: an argv to run it under
    (``strace ...``); ``popen``: more arguments for :func:`subprocess.run`
    (``preexec_fn``, ``check``)."""
    return subprocess.run(
        [*wrapper, *LOOPCAP, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        **popen,
    )


class Loopcap:
    """A running ``python -m loopcap ARGS``: the one wrapper of the tests for a
    loopcap process that is not simply run to its end (:func:`run_loopcap`).

    stdout and stderr are piped and read by threads as they come: ``lines``
    holds ``(arrival time, stderr line)`` (``time.monotonic()``, the same clock
    in every process on Linux), so a test knows when the capture started
    (:meth:`wait_started`), when the app was up (:meth:`wait_running`) or when
    it was killed; ``stdout`` is the whole of it once the process has ended.
    A thread blocks in ``wait()`` to reap it, so ``t_exit`` is exact (unlike
    ``Popen.wait(timeout)``, which polls).

    ``wrapper`` is an argv to run loopcap under (``strace ...``).  The child
    runs with ``PYTHONFAULTHANDLER=1``: a process that hangs is made to print
    every thread's stack before it is killed (:meth:`fail`).  ``env`` (without
    that) is kept for the control socket (:meth:`status`, :meth:`wait_state`).
    Popen's ``poll``, ``communicate`` and ``returncode`` work as on a Popen.
    """

    def __init__(
        self,
        args,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        *,
        wrapper=(),
    ) -> None:
        self.env = dict(os.environ) if env is None else env
        self.argv = [*wrapper, *LOOPCAP, *args]
        self.t_launch = time.monotonic()
        self.proc = subprocess.Popen(
            self.argv,
            env={**self.env, "PYTHONFAULTHANDLER": "1"},
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[tuple[float, str]] = []
        self.stdout = ""
        self.returncode: int | None = None
        self.t_exit: float | None = None
        self._cond = threading.Condition()
        self._exited = threading.Event()
        self._threads = [
            threading.Thread(target=self._read_err, daemon=True),
            threading.Thread(target=self._read_out, daemon=True),
            threading.Thread(target=self._reap, daemon=True),
        ]
        for t in self._threads:
            t.start()

    # -- the reading threads -----------------------------------------------------------

    def _read_err(self) -> None:
        for line in self.proc.stderr:
            now = time.monotonic()
            with self._cond:
                self.lines.append((now, line.rstrip("\n")))
                self._cond.notify_all()

    def _read_out(self) -> None:
        self.stdout = self.proc.stdout.read()

    def _reap(self) -> None:
        self.returncode = self.proc.wait()
        self.t_exit = time.monotonic()
        self._exited.set()
        with self._cond:
            self._cond.notify_all()

    # -- what it said ------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def stderr(self) -> str:
        """stderr so far, one string (the app's log)."""
        return "\n".join(line for _, line in self.lines)

    log = stderr

    def other_stderr_lines(self) -> list[str]:
        """stderr lines other than the ``Recording from`` line and blank lines."""
        return [ln for _, ln in self.lines if ln.strip() and not ln.startswith(START_LINE)]

    def json(self):
        """stdout as one JSON document (once the process has ended)."""
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError:
            _pytest().fail(
                f"stdout is not one JSON document: {self.stdout!r}\nstderr:\n{self.stderr}"
            )

    def line_time(self, prefix: str) -> float | None:
        """The arrival time of the first stderr line starting with ``prefix``, if any."""
        with self._cond:
            return next((t for t, line in self.lines if line.startswith(prefix)), None)

    def wait_line(self, prefix: str, timeout: float = 20.0) -> float | None:
        """The arrival time of the first stderr line starting with ``prefix``
        (waiting up to ``timeout``); None if the process ended or time ran out."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for t, line in self.lines:
                    if line.startswith(prefix):
                        return t
                left = deadline - time.monotonic()
                if left <= 0 or self._exited.is_set():
                    return None
                self._cond.wait(left)

    @property
    def t_start(self) -> float | None:
        """When the ``Recording from`` line arrived (None: not yet, or never)."""
        return self.line_time(START_LINE)

    def wait_started(self, timeout: float = 10.0) -> float:
        """Until the ``Recording from`` line; its arrival time (else the test fails)."""
        t = self.wait_line(START_LINE, timeout)
        if t is None:
            self.fail(
                f"no '{START_LINE.strip()}' line within {timeout} s (exit status {self.returncode})"
            )
        return t

    # -- the app -----------------------------------------------------------------------

    def status(self) -> dict:
        """The app's answer to ``status`` on its control socket."""
        return ask(self.env)

    def wait_running(self, timeout: float = 20.0) -> Loopcap:
        """Until the app says it is running and its device is open (state idle)."""
        if self.wait_line(RUNNING_LINE, timeout) is None:
            self.fail(f"the app did not start (status {self.returncode})")
        self.wait_state("idle", timeout=10)
        return self

    def wait_state(self, state: str, timeout: float = 10.0) -> float:
        """Poll the control socket every 2 ms until the app is in ``state``;
        return the moment it was seen."""
        seen, last = poll_state(self.env, state, timeout, 0.002, self.alive)
        if seen is None:
            self.fail(
                f"the app is not {state} after {timeout} s (status: {last}; exit {self.returncode})"
            )
        return seen

    # -- life cycle --------------------------------------------------------------------

    def alive(self) -> bool:
        return self.proc.poll() is None

    def poll(self) -> int | None:
        return self.proc.poll()

    def send(self, sig: int) -> float:
        """Send a signal; return the moment it was sent."""
        t = time.monotonic()
        self.proc.send_signal(sig)
        return t

    def kill(self) -> tuple[float, bool]:
        """SIGKILL now (if it runs) and reap it; returns the moment and whether
        the process was still running."""
        t = time.monotonic()
        was_alive = self.proc.poll() is None
        if was_alive:
            try:
                self.proc.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                was_alive = False
        self._exited.wait(10)
        self._close()
        return t, was_alive

    def finish(self, timeout: float = 15.0) -> int:
        """Wait for the exit; its status.  A process still running after
        ``timeout`` fails the test (with its threads' stacks, see :meth:`fail`)."""
        if not self._exited.wait(timeout):
            self.fail(f"loopcap did not exit within {timeout} s")
        self._close()
        return self.returncode

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """As ``Popen.communicate``: (stdout, stderr) once it has ended."""
        self.finish(60.0 if timeout is None else timeout)
        return self.stdout, self.stderr

    def fail(self, message: str):
        """Fail the test with the process's stderr; a hung process is first made
        to print where each of its threads is (SIGABRT, with faulthandler on)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGABRT)
            self._exited.wait(3)
            self.kill()
            message += " (its threads' stacks, printed on SIGABRT, end the log)"
        _pytest().fail(f"{message}; stderr:\n{self.stderr}")

    def _close(self) -> None:
        """Join the reading threads and close the pipes (not left for the garbage
        collector: a ResourceWarning).  A pipe a reader still blocks on (held
        open by a grandchild) is left: closing it would wait for that read."""
        for t in self._threads:
            t.join(5)
        if not any(t.is_alive() for t in self._threads):
            for pipe in (self.proc.stdout, self.proc.stderr):
                pipe.close()


# --------------------------------------------------------------------------------------
# The app's control socket and configuration
# --------------------------------------------------------------------------------------


def socket_path(env: dict[str, str]) -> Path:
    """The control socket of an app run with ``env``."""
    return Path(env["XDG_RUNTIME_DIR"]) / "loopcap" / "control.sock"


def ask(env: dict[str, str], command: str = "status", timeout: float = 10.0, reply=True) -> dict:
    """One request on the app's control socket, as ``loopcap COMMAND --json``
    sends it; the reply (``{}`` without ``reply``: sent, not waited for, as a
    request the app may not live to answer)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(socket_path(env)))
        s.sendall((command + "\n").encode())
        if not reply:
            return {}
        return json.loads(s.makefile("r", encoding="utf-8").readline())


def poll_state(
    env: dict[str, str], state: str, timeout: float, every_s: float, alive=lambda: True
) -> tuple[float | None, dict]:
    """Ask the app's state every ``every_s`` until it is ``state``: (the moment
    it was seen, the reply); (None, the last reply) after ``timeout`` or once
    ``alive()`` is false."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            last = ask(env)
        except OSError as exc:
            last = {"error": repr(exc)}
        now = time.monotonic()
        if last.get("state") == state:
            return now, last
        if now > deadline or not alive():
            return None, last
        time.sleep(every_s)


def wait_state(env, state: str, timeout: float = 15.0, proc: Loopcap | None = None) -> dict:
    """Poll the app every 20 ms until it reports ``state``; returns its reply.
    With ``proc``, stop early when it ends, and fail with its log."""
    seen, last = poll_state(env, state, timeout, 0.02, proc.alive if proc else lambda: True)
    if seen is None:
        message = f"the app is not {state} after {timeout} s (status {last})"
        if proc is not None:
            proc.fail(message)
        _pytest().fail(message)
    return last


def write_config(
    folder: Path, out: Path | None = None, *, preroll_s: float = 0.0, fmt: str = "wav", **tables
) -> tuple[Path, Path]:
    """Write ``folder/config.toml`` for a test: ``[capture] preroll_s``,
    ``[output] dir`` (``out``, default ``folder/out``) and ``format``, and the
    keys of ``tables`` (``hotkeys={"toggle": "<ctrl>+<alt>+r"}``, ``arm={...}``;
    ``output={...}`` adds to that table).  Returns (its path, ``out``)."""
    out = folder / "out" if out is None else out
    body: dict[str, dict] = {
        "capture": {"preroll_s": preroll_s},
        "output": {"dir": str(out), "format": fmt},
    }
    for name, keys in tables.items():
        body.setdefault(name, {}).update(keys)
    text = "".join(
        f"[{name}]\n" + "".join(f"{key} = {_toml(value)}\n" for key, value in keys.items())
        for name, keys in body.items()
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path, out


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: the same escapes
    return repr(value)


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


# --------------------------------------------------------------------------------------
# Test audio
# --------------------------------------------------------------------------------------


def voice_sample() -> Path:
    """Path of a recording of a real human voice ("Front center", 48 kHz mono).

    Shipped by the Debian package alsa-utils.
    """
    if not VOICE_SAMPLE.exists():
        require("aplay")  # alsa-utils: skips / fails with the install hint
        import pytest

        pytest.fail(f"{VOICE_SAMPLE} is missing although alsa-utils is installed")
    return VOICE_SAMPLE


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
# Sound files
# --------------------------------------------------------------------------------------


def write_wav(path, data, samplerate: int = SAMPLERATE) -> Path:
    """Write float audio to a 32-bit float WAV file; return its path."""
    import soundfile

    soundfile.write(str(path), np.asarray(data, dtype=np.float32), samplerate, subtype="FLOAT")
    return Path(path)


def read_audio(path) -> tuple[np.ndarray, int]:
    """Read a sound file as float64, always frames x channels."""
    import soundfile

    data, sr = soundfile.read(str(path), dtype="float64", always_2d=True)
    return data, sr


def mono(x: np.ndarray) -> np.ndarray:
    """Average the channels of a frames x channels array (1-D arrays pass through)."""
    x = np.asarray(x, dtype=np.float64)
    return x.mean(axis=1) if x.ndim == 2 else x


# --------------------------------------------------------------------------------------
# Test signals
# --------------------------------------------------------------------------------------


def _fade(x: np.ndarray, sr: int, fade_s: float = 0.005) -> np.ndarray:
    n = min(int(fade_s * sr), len(x) // 2)
    if n > 0:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n))
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return x


def chirp(
    duration_s: float,
    sr: int = SAMPLERATE,
    f0: float = 100.0,
    f1: float = 12000.0,
    amplitude: float = 0.5,
) -> np.ndarray:
    """Exponential sine sweep from f0 to f1 Hz (mono float32, 5 ms fades).

    Its autocorrelation has a single sharp peak, so it locates precisely, and a
    missing or repeated block anywhere in it breaks the correlation.
    """
    t = np.arange(int(round(duration_s * sr))) / sr
    k = np.log(f1 / f0) / duration_s
    phase = 2 * np.pi * f0 * (np.exp(k * t) - 1) / k
    return _fade(amplitude * np.sin(phase), sr).astype(np.float32)


def tone(
    freq: float, duration_s: float, sr: int = SAMPLERATE, amplitude: float = 0.5
) -> np.ndarray:
    """Sine tone (mono float32, 5 ms fades)."""
    t = np.arange(int(round(duration_s * sr))) / sr
    return _fade(amplitude * np.sin(2 * np.pi * freq * t), sr).astype(np.float32)


def click(
    sr: int = SAMPLERATE, duration_s: float = 0.005, amplitude: float = 0.8, seed: int = 1
) -> np.ndarray:
    """A short broadband click: Hann-windowed white noise, 5 ms (mono float32).

    Always the same samples for the same arguments.  Its autocorrelation peak is one
    sample wide, so :func:`best_lag` locates it to the sample.
    """
    n = int(round(duration_s * sr))
    noise = np.random.default_rng(seed).uniform(-1.0, 1.0, n)
    return (amplitude * noise * np.hanning(n)).astype(np.float32)


def voice(sr: int = SAMPLERATE, channels: int = 2) -> np.ndarray:
    """The human voice of :func:`voice_sample`, at ``sr`` Hz with ``channels`` channels.

    Resampled (linear interpolation: the result is itself the reference, so its
    quality does not matter) and duplicated onto the channels; float32.
    """
    data, file_sr = read_audio(voice_sample())
    x = mono(data)
    if file_sr != sr:
        n_out = int(round(len(x) * sr / file_sr))
        x = np.interp(np.arange(n_out) * file_sr / sr, np.arange(len(x)), x)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def silence(duration_s: float, sr: int = SAMPLERATE) -> np.ndarray:
    return np.zeros(int(round(duration_s * sr)), dtype=np.float32)


# --------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------


def best_lag(haystack, needle) -> tuple[int, float]:
    """Where ``needle`` best matches inside ``haystack``, by FFT cross-correlation.

    Multi-channel inputs are averaged to mono first.  Returns ``(lag, corr)``:
    ``lag`` is the haystack index where needle[0] falls (it may be negative, or
    leave part of the needle outside the haystack); ``corr`` is the normalised
    correlation ``dot(h, n) / (|h| |n|)`` of the overlapping aligned segments, 1.0
    for a perfect copy at any gain, 0 when there is no overlap or no signal.
    """
    h = mono(haystack)
    n = mono(needle)
    if len(h) == 0 or len(n) == 0:
        return 0, 0.0
    size = len(h) + len(n) - 1
    nfft = 1 << (size - 1).bit_length()
    xc = np.fft.irfft(np.fft.rfft(h, nfft) * np.conj(np.fft.rfft(n, nfft)), nfft)
    # xc[k] = sum h[i + k] n[i]; negative lags wrap to the end.
    lags = np.concatenate([np.arange(0, len(h)), np.arange(-(len(n) - 1), 0)])
    values = np.concatenate([xc[: len(h)], xc[nfft - (len(n) - 1) :]])
    lag = int(lags[int(np.argmax(values))])
    hs, ns = aligned(h, n, lag)
    denom = np.linalg.norm(hs) * np.linalg.norm(ns)
    corr = float(np.dot(hs, ns) / denom) if denom > 0 else 0.0
    return lag, corr


def aligned(haystack, needle, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """The overlapping parts of ``haystack`` and ``needle`` placed at ``lag`` (mono)."""
    h = mono(haystack)
    n = mono(needle)
    start = max(lag, 0)
    stop = min(lag + len(n), len(h))
    if stop <= start:
        return h[:0], n[:0]
    return h[start:stop], n[start - lag : stop - lag]


def windowed_correlation(a, b, window: int, min_rms: float = 0.01) -> np.ndarray:
    """Normalised correlation of ``a`` and ``b`` in consecutive windows of ``window`` samples.

    Windows where ``b`` (the reference) is quieter than ``min_rms`` are skipped, so
    pauses in speech do not count.  A dropout or glitch of a few milliseconds makes
    its window's value fall well below 1 even when the whole-signal correlation stays
    high.
    """
    a = mono(a)
    b = mono(b)
    out = []
    for i in range(0, min(len(a), len(b)) - window + 1, window):
        x, y = a[i : i + window], b[i : i + window]
        if np.sqrt(np.mean(y * y)) < min_rms:
            continue
        denom = np.linalg.norm(x) * np.linalg.norm(y)
        out.append(float(np.dot(x, y) / denom) if denom > 0 else 0.0)
    return np.array(out)


def longest_zero_run(x, where=None) -> int:
    """Length of the longest run of exact zeros in ``x`` (mono) at the positions
    where ``where`` (a boolean mask of the same length) is true."""
    x = mono(x)
    zero = x == 0
    if where is not None:
        zero &= np.asarray(where, dtype=bool)
    edges = np.diff(np.concatenate([[0], zero.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    return int((stops - starts).max()) if len(starts) else 0


def dbfs(x) -> float:
    """Peak level in dBFS (-inf for silence)."""
    peak = float(np.max(np.abs(x))) if np.size(x) else 0.0
    return 20 * np.log10(peak) if peak > 0 else float("-inf")


def tone_amplitude(x, freq: float, sr: int = SAMPLERATE, window_s: float = 0.05) -> float:
    """Largest amplitude of a ``freq`` Hz sine found in any window of ``x`` (mono).

    Measured by projecting each window on a sine and a cosine at ``freq`` (a
    single-bin DFT), so other frequencies barely count.  A full-scale tone gives
    about its amplitude; silence gives 0.
    """
    x = mono(x)
    n = int(window_s * sr)
    if len(x) < n:
        return 0.0
    t = np.arange(n) / sr
    w = np.hanning(n)
    c = w * np.cos(2 * np.pi * freq * t)
    s = w * np.sin(2 * np.pi * freq * t)
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[:: n // 2]
    amp = 2 * np.hypot(frames @ c, frames @ s) / w.sum()
    return float(amp.max())


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
