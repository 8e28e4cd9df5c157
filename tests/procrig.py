"""loopcap processes for the tests: the one way they start one, their
environments, the app's control socket and its configuration.

* :func:`run_loopcap` (to its end) and :class:`Loopcap` (running: its stderr
  line by line with arrival times, the app's state, kill and reap);
  :func:`child_env` and :func:`user_dirs` for their environment.
* The app's control socket: :func:`ask`, :func:`socket_path`,
  :func:`poll_state`, :func:`wait_state`.
* Its configuration: :func:`write_config`.

Re-exported by ``rig`` (tests use ``rig.Loopcap`` and so on).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from baserig import REPO_DIR, _pytest

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


#: An idle PulseAudio null sink renders 2 s at a time, and a recorder that
#: attaches changes that only at the sink's next wake-up: a sound played
#: before then is played late by the sink itself (measured: a chirp sent
#: 0.52 s after the start reached the monitor at 1.87 s, the stream's latency
#: reported as -6 ms), and loopcap rightly records it there.  loopcap no
#: longer waits for audio before it says it records, so a test that places a
#: sound against the wall clock right after a start lets that block pass.
IDLE_BLOCK_S = 2.1


def let_idle_sink_settle(server) -> float:
    """Wait out an idle PulseAudio null sink's 2 s block (see IDLE_BLOCK_S);
    a PipeWire null sink follows its recorder's latency at once.  Returns
    the seconds waited."""
    if getattr(server, "kind", "pulseaudio") != "pulseaudio":
        return 0.0
    time.sleep(IDLE_BLOCK_S)
    return IDLE_BLOCK_S
