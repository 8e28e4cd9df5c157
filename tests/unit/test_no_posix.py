"""loopcap's commands in an interpreter that lacks what Windows lacks.

Each command runs in a subprocess whose ``sitecustomize`` (written into the
test's folder, first on ``PYTHONPATH``) makes ``fcntl``, ``termios``, ``pwd``,
``grp`` and ``resource`` unimportable (``None`` in ``sys.modules``, as
``ModuleNotFoundError`` on Windows) and deletes ``socket.AF_UNIX`` and
``socket.SO_PEERCRED`` (``socket.socketpair`` becoming Windows' pair of TCP
sockets over 127.0.0.1), with ``LOOPCAP_PLATFORM=windows`` and a fake
``msvcrt`` (``locking`` and the ``LK_*`` constants over an in-process table
of locked bytes), so the Windows code paths of the platform layer run.  The
fake is installed as ``msvcrt`` only after ``subprocess`` is imported: the
standard library decides "this is Windows" by whether ``import msvcrt``
works (subprocess's ``_mswindows``), and must keep its POSIX branches here.

What this proves: no module on these paths imports a POSIX-only module or
uses a Unix socket unguarded, and the Windows lock logic carries a capture,
``loopcap recover`` and the rest.  What it cannot: anything the Windows
kernel, CRT or WASAPI does (see the README's per-OS notes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rig
import soundfile as sf

SITECUSTOMIZE = '''\
"""Make this interpreter lack what Windows lacks (see tests/unit/test_no_posix.py)."""
import socket
import subprocess  # noqa: F401  - decides _mswindows by trying msvcrt: before the fake
import sys

for _name in ("fcntl", "termios", "pwd", "grp", "resource"):
    sys.modules[_name] = None  # import raises ModuleNotFoundError
for _name in ("AF_UNIX", "SO_PEERCRED"):
    if hasattr(socket, _name):
        delattr(socket, _name)


def _windows_socketpair(family=socket.AF_INET, type=socket.SOCK_STREAM, proto=0):
    """Windows' socket.socketpair: a connected TCP pair over 127.0.0.1 (the
    standard library's fallback where the OS has no socketpair)."""
    lsock = socket.socket(family, type, proto)
    try:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen()
        csock = socket.socket(family, type, proto)
        csock.connect(lsock.getsockname())
        ssock, _ = lsock.accept()
    finally:
        lsock.close()
    return ssock, csock


socket.socketpair = _windows_socketpair

import fake_msvcrt  # noqa: E402

sys.modules["msvcrt"] = fake_msvcrt
'''

FAKE_MSVCRT = '''\
"""A fake msvcrt: locking() over an in-process table of locked bytes.

A byte another live descriptor of the same file holds is refused with EACCES,
as LockFileEx refuses another handle; a lock dies with its descriptor (found
closed, or reopened on another file, when next asked); the same descriptor
number locking again is taken for a number reused after a close.
"""
import errno
import os

LK_UNLCK, LK_LOCK, LK_NBLCK, LK_RLCK, LK_NBRLCK = 0, 1, 2, 3, 4
_held = {}  # (st_dev, st_ino, offset) -> fd


def _alive(fd, key):
    try:
        st = os.fstat(fd)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == key[:2]


def locking(fd, mode, nbytes):
    st = os.fstat(fd)
    pos = os.lseek(fd, 0, os.SEEK_CUR)
    keys = [(st.st_dev, st.st_ino, pos + i) for i in range(nbytes)]
    if mode == LK_UNLCK:
        for key in keys:
            _held.pop(key, None)
        return
    for key in keys:
        holder = _held.get(key)
        if holder is not None and holder != fd and _alive(holder, key):
            raise PermissionError(errno.EACCES, "Permission denied")
    for key in keys:
        _held[key] = fd
'''

# A simulation of Windows on Linux: on Windows and macOS the real thing runs
# (and platformdirs there ignores the XDG folders the environment points at).
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="simulates Windows on Linux")

#: Variables that would let a child find a display or a session bus, which
#: Windows does not have: doctor's answers must not depend on the test host.
_HOST_ONLY = ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "XDG_SESSION_TYPE")


@pytest.fixture
def windows_like(tmp_path) -> dict[str, str]:
    """The environment of a Windows-like loopcap (see the module's docstring)."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(SITECUSTOMIZE)
    (shim / "fake_msvcrt.py").write_text(FAKE_MSVCRT)
    env = rig.child_env(dict(os.environ), tmp_path)
    env["PYTHONPATH"] = os.pathsep.join((str(shim), env["PYTHONPATH"]))
    env.update(LOOPCAP_PLATFORM="windows", LOOPCAP_BACKEND="fake")
    env["XDG_RUNTIME_DIR"] = str(tmp_path / "run")
    for name in _HOST_ONLY:
        env.pop(name, None)
    return env


def run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """Run ``loopcap ARGS``; fail on any sign of a crash.  (exit status, stdout, stderr)"""
    proc = rig.run_loopcap(args, env=env, cwd=cwd, timeout=120)
    both = proc.stdout + proc.stderr
    assert "Traceback" not in both, both
    assert "unexpected error" not in both, both
    assert "ModuleNotFoundError" not in both and "AttributeError" not in both, both
    return proc.returncode, proc.stdout, proc.stderr


def test_the_interpreter_really_lacks_them(windows_like, tmp_path):
    """The simulation is in force (a sitecustomize elsewhere would silently undo it)."""
    code = (
        "import importlib, socket, subprocess, sys, msvcrt\n"
        "gone = []\n"
        "for m in ('fcntl', 'termios', 'pwd', 'grp', 'resource'):\n"
        "    try:\n"
        "        importlib.import_module(m)\n"
        "    except ModuleNotFoundError:\n"
        "        gone.append(m)\n"
        "print(gone, hasattr(socket, 'AF_UNIX'), hasattr(socket, 'SO_PEERCRED'),\n"
        "      msvcrt.__name__, subprocess._mswindows)\n"
        "import loopcap.platforms\n"
        "print(loopcap.platforms.current().name)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=windows_like, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "['fcntl', 'termios', 'pwd', 'grp', 'resource'] False False fake_msvcrt False",
        "windows",
    ]


def test_trim(windows_like, tmp_path):
    sr = 48000
    t = np.arange(sr) / sr
    x = np.concatenate([np.zeros(sr // 2), 0.3 * np.sin(2 * np.pi * 300 * t), np.zeros(sr // 2)])
    src = tmp_path / "note.wav"
    sf.write(src, np.repeat(x[:, None], 2, axis=1).astype(np.float32), sr)
    code, out, err = run(["trim", "--json", str(src)], windows_like, tmp_path)
    assert code == 0, err
    result = json.loads(out.splitlines()[0])
    assert Path(result["output"]).exists(), result


#: A writer killed before it closed its WAV (run in a plain interpreter).
_KILLED_WRITER = """
import os, sys
import numpy as np, soundfile as sf
f = sf.SoundFile(sys.argv[1], "w", samplerate=48000, channels=2, format="WAV", subtype="FLOAT")
f.write((0.3 * np.sin(np.arange(48000) / 10)).astype("float32")[:, None].repeat(2, 1))
os._exit(0)  # killed: the header was never finished
"""


def _crashed_partial(path: Path) -> None:
    """A 1 s partial capture as a killed writer leaves it."""
    subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(path)], check=True, timeout=60)


def test_recover_a_crashed_capture(windows_like, tmp_path):
    caps = tmp_path / "caps"
    caps.mkdir()
    _crashed_partial(caps / "loopcap-2026-01-01_10-00-00.partial.wav")
    code, out, err = run(["recover", "--json", str(caps)], windows_like, tmp_path)
    assert code == 0, err
    (rec,) = json.loads(out)
    assert Path(rec["path"]) == caps / "loopcap-2026-01-01_10-00-00.wav"
    assert sf.info(rec["path"]).frames == 48000
    assert not list(caps.glob("*.partial.wav"))


def test_config_path(windows_like, tmp_path):
    code, out, err = run(["config", "--path"], windows_like, tmp_path)
    assert code == 0, err
    assert out.strip() == str(Path(windows_like["XDG_CONFIG_HOME"]) / "loopcap" / "config.toml")


def test_doctor_answers_in_plain_lines(windows_like, tmp_path):
    code, out, err = run(["doctor"], windows_like, tmp_path)
    # No display, no hotkeys here: doctor may say FAIL (exit 1) or only warn.
    assert code in (0, 1), out + err
    # One line per check, then the verdict (and, after a blank line, how to use it).
    checked = out.split("\n\n")[0]
    verdicts = [line.split()[0] for line in checked.splitlines() if line.strip()][:-1]
    assert verdicts and set(verdicts) <= {"ok", "warn", "FAIL"}, out
    assert "output folder writable" in out


def test_record_through_the_windows_lock(windows_like, tmp_path):
    """A capture whose partial file is created and locked by the Windows code
    path while libsndfile writes through the same descriptor, then saved."""
    out_dir = tmp_path / "out"
    env = {**windows_like, "LOOPCAP_FAKE": "signal=burst"}  # a 0.5 s tone: a note to save
    code, out, err = run(
        ["record", "--duration", "1.5", "--format", "wav", "--json", "--out-dir", str(out_dir)],
        env,
        tmp_path,
    )
    assert code == 0, err
    saved = json.loads(out)
    assert Path(saved["path"]).is_file() and Path(saved["raw_path"]).is_file(), saved
    assert Path(saved["path"]).parent == out_dir
    assert not list(out_dir.glob("*.partial.wav"))
