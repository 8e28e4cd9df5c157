"""Helpers for the fault tests: private environments for the loopcap processes
they kill (started with ``rig.Loopcap``), small file systems to fill, and checks
that every file left behind plays and holds what was played.

* :func:`private_env` -- an environment of the test's own, sound server and
  display settings left out; :func:`rescue_dir` -- where its rescued captures go.
* :func:`tmpfs` -- a small tmpfs mounted for one test (root only; in CI a
  missing privilege is a failure, see :func:`require_mount`).
* :func:`counter_run` -- what a file recorded from the fake source's counter
  signal holds: how many frames, from which position, and whether any frame
  is missing, doubled or foreign.
* :func:`unplayable` -- the files in a folder that soundfile cannot read.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rig
import soundfile as sf

from loopcap.device.fake import decode_counter

SR = 48000


# --------------------------------------------------------------------------------------
# Environments
# --------------------------------------------------------------------------------------


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
    env = rig.child_env(env, root)
    runtime = Path(tempfile.mkdtemp(prefix="loopcap-frt-"))
    os.chmod(runtime, 0o700)
    # Outside ``root`` (a socket path must be short), so removed on its own:
    # when the test process ends, once every server started in it is gone.
    atexit.register(shutil.rmtree, runtime, ignore_errors=True)
    env["XDG_RUNTIME_DIR"] = str(runtime)
    return env


def rescue_dir(env: dict[str, str]) -> Path:
    """The first rescue folder of a loopcap run with ``env`` (see loopcap.writer.rescue)."""
    return Path(env["XDG_DATA_HOME"]) / "loopcap" / "rescue"


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
