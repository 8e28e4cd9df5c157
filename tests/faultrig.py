"""Helpers for the fault tests: loopcap processes to kill, small file systems to
fill, and checks that every file left behind plays and holds what was played.

* :class:`Proc` -- a loopcap subprocess whose stderr is read line by line, with
  the moment each line arrived (``time.monotonic()``, the same clock in every
  process), so a test knows when the capture started and when it was killed.
* :func:`ask` -- one command on a running app's control socket.
* :func:`tmpfs` -- a small tmpfs mounted for one test (root only; in CI a
  missing privilege is a failure, see :func:`require_mount`).
* :func:`counter_run` -- what a file recorded from the fake source's counter
  signal holds: how many frames, from which position, and whether any frame
  is missing, doubled or foreign.
* :func:`unplayable` -- the files in a folder that soundfile cannot read.
"""

from __future__ import annotations

import contextlib
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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import rig
import soundfile as sf

from loopcap.device.fake import decode_counter

TESTS_DIR = Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent
SR = 48000


# --------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------


class Proc:
    """A loopcap subprocess; ``lines`` holds ``(arrival time, stderr line)``."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path | None = None):
        self.t_launch = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "loopcap", *args],
            env={**env, "PYTHONFAULTHANDLER": "1"},
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

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read_err(self):
        for line in self.proc.stderr:
            with self._cond:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self._cond.notify_all()

    def _read_out(self):
        self.stdout = self.proc.stdout.read()

    def _reap(self):
        self.returncode = self.proc.wait()
        self.t_exit = time.monotonic()
        self._exited.set()
        with self._cond:
            self._cond.notify_all()

    @property
    def stderr(self) -> str:
        return "\n".join(line for _, line in self.lines)

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

    def line_time(self, prefix: str) -> float | None:
        with self._cond:
            return next((t for t, line in self.lines if line.startswith(prefix)), None)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> tuple[float, bool]:
        """SIGKILL now; returns the moment and whether the process was still running."""
        t = time.monotonic()
        was_alive = self.proc.poll() is None
        if was_alive:
            try:
                self.proc.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                was_alive = False
        self.finish(10)
        return t, was_alive

    def finish(self, timeout: float = 20.0) -> int:
        if not self._exited.wait(timeout):
            self.proc.kill()
            self._exited.wait(10)
            pytest.fail(f"loopcap did not exit within {timeout} s; stderr:\n{self.stderr}")
        for t in self._threads:
            t.join(5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            pipe.close()  # not left for the garbage collector (a ResourceWarning)
        return self.returncode

    def json(self):
        return json.loads(self.stdout)


def socket_path(env: dict[str, str]) -> Path:
    return Path(env["XDG_RUNTIME_DIR"]) / "loopcap" / "control.sock"


def ask(env: dict[str, str], command: str = "status", timeout: float = 10.0) -> dict:
    """One request on the app's control socket, as ``loopcap COMMAND --json`` sends it."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(socket_path(env)))
        s.sendall((command + "\n").encode())
        return json.loads(s.makefile("r", encoding="utf-8").readline())


def wait_state(env, state: str, timeout: float = 15.0, proc: Proc | None = None) -> dict:
    """Poll the app until it reports ``state``; returns the last reply."""
    deadline = time.monotonic() + timeout
    last: dict = {}
    while True:
        try:
            last = ask(env)
        except OSError as exc:
            last = {"error": repr(exc)}
        if last.get("state") == state:
            return last
        if time.monotonic() > deadline or (proc is not None and not proc.alive()):
            log = f"; log:\n{proc.stderr}" if proc is not None else ""
            pytest.fail(f"the app is not {state} after {timeout} s (status {last}){log}")
        time.sleep(0.02)


def private_env(root: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` with HOME, the XDG folders and a short runtime folder inside
    ``root``, and this working tree's loopcap on the path.  Without ``base``:
    os.environ without LOOPCAP_*, sound server or display settings."""
    env = dict(base if base is not None else os.environ)
    if base is None:
        for k in list(env):
            if k.startswith(("LOOPCAP_", "PULSE_", "PIPEWIRE_")):
                del env[k]
        env.pop("DISPLAY", None)
    home = root / "home"
    for name, sub in (
        ("HOME", ""),
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_MUSIC_DIR", "Music"),
    ):
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(home / sub)
    runtime = Path(tempfile.mkdtemp(prefix="loopcap-frt-"))  # a socket path must be short
    os.chmod(runtime, 0o700)
    env["XDG_RUNTIME_DIR"] = str(runtime)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_DIR), env.get("PYTHONPATH")) if p)
    return env


def rescue_dir(env: dict[str, str]) -> Path:
    """The first rescue folder of a loopcap run with ``env`` (see loopcap.writer.rescue)."""
    return Path(env["XDG_DATA_HOME"]) / "loopcap" / "rescue"


def app_config(path: Path, out: Path, fmt: str = "wav", preroll_s: float = 0.0) -> Path:
    path.write_text(
        f'[capture]\npreroll_s = {preroll_s}\n[output]\ndir = "{out}"\nformat = "{fmt}"\n',
        encoding="utf-8",
    )
    return path


# --------------------------------------------------------------------------------------
# Small file systems
# --------------------------------------------------------------------------------------

_mount_ok: bool | None = None


def require_mount() -> None:
    """Skip (fail in CI) unless this process may mount a tmpfs (root)."""
    global _mount_ok
    if _mount_ok is None:
        _mount_ok = False
        if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("mount"):
            probe = Path(tempfile.mkdtemp(prefix="loopcap-mnt-probe-"))
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
                capture_output=True,
            )
            if done.returncode == 0:
                subprocess.run(["umount", str(probe)], capture_output=True)
                _mount_ok = True
            probe.rmdir()
    if not _mount_ok:
        rig.unavailable("mounting a tmpfs needs root (the output-folder fault tests use one)")


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "1m", ro: bool = False):
    """Mount a tmpfs of ``size`` on ``path`` (created) for the ``with`` block."""
    require_mount()
    path.mkdir(parents=True, exist_ok=True)
    opts = f"size={size},mode=0700" + (",ro" if ro else "")
    subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(folder: Path, leave_bytes: int = 0) -> None:
    """Write a filler file into ``folder`` until the disk is full (but ``leave_bytes``)."""
    free = shutil.disk_usage(folder).free - leave_bytes
    with open(folder / "filler", "wb") as f:
        chunk = b"\0" * 65536
        try:
            while free > 0:
                f.write(chunk[: min(len(chunk), free)])
                free -= len(chunk)
            f.flush()
        except OSError:
            pass


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CounterRun:
    """What a file recorded from the counter signal holds.

    ``tail_zeros``: digital silence at the very end.  A stopped capture lasts
    until the stop request even where the device had not yet handed over the
    last fraction of a block (a few samples); that padding is not a break.
    """

    path: Path
    frames: int
    first: int  # stream position of its first frame (-1: empty)
    last: int  # of its last frame before the tail padding
    breaks: int  # places where the next frame is not the next position
    tail_zeros: int

    @property
    def intact(self) -> bool:
        return self.frames > self.tail_zeros and self.breaks == 0

    @property
    def seconds(self) -> float:
        return self.frames / SR

    @property
    def audio_frames(self) -> int:
        """Frames of the counter itself (without the tail padding)."""
        return self.frames - self.tail_zeros


def counter_run(path: Path, block: int = 1 << 20) -> CounterRun:
    """Decode a whole file of the counter signal, a block at a time."""
    frames = 0
    first = last = prev = -1
    breaks: list[int] = []  # frame index after which the sequence breaks
    zero_from = None  # start of the current run of silent frames
    with sf.SoundFile(str(path)) as f:
        for data in f.blocks(blocksize=block, dtype="float32", always_2d=True):
            pos = decode_counter(data)
            # Digital silence decodes to position 2**19 (a frame of the counter
            # is silent there too): a run of it breaks the sequence anyway.
            silent = ~np.any(data != 0, axis=1)
            if first < 0 and len(pos):
                first = int(pos[0])
            if prev >= 0 or frames:
                if len(pos) and pos[0] != prev + 1:
                    breaks.append(frames - 1)
            steps = np.flatnonzero(np.diff(pos) != 1)
            if len(breaks) < 100_000:
                breaks.extend((frames + steps).tolist())
            loud = np.flatnonzero(~silent)
            if len(loud):
                last = int(pos[loud[-1]])
                zero_from = frames + int(loud[-1]) + 1 if loud[-1] + 1 < len(pos) else None
            elif zero_from is None and len(pos):
                zero_from = frames
            if len(pos):
                prev = int(pos[-1])
            frames += len(pos)
    tail = frames - zero_from if zero_from is not None else 0
    real = [b for b in breaks if zero_from is None or b < zero_from - 1]
    return CounterRun(Path(path), frames, first, last, len(real), tail)


def unplayable(folder: Path) -> list[str]:
    """Every file under ``folder`` that soundfile cannot open and read whole,
    with the reason (hidden and temporary files included: none may be left)."""
    bad = []
    if not folder.exists():
        return bad
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.name == "filler":
            continue
        try:
            with sf.SoundFile(str(path)) as f:
                f.read(dtype="float32")
        except Exception as exc:
            bad.append(f"{path.name}: {exc}")
    return bad


def audio_files(folder: Path) -> list[Path]:
    if not folder.exists():
        return []
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix in (".wav", ".flac", ".ogg")
    )
