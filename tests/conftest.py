"""Shared fixtures.

* The whole test process runs with ``HOME`` and the XDG base directories pointed at
  a temporary folder (set up in :func:`pytest_configure`, before collection, and
  restored in :func:`pytest_unconfigure`), so that calling loopcap in-process never
  reads or writes the real user's configuration, logs or music folder.
* ``pulse``: one private PulseAudio server for the whole run (see ``rig.py``).
* ``loopcap_env``: the environment for running loopcap in a subprocess against that
  server, with every user folder inside the test's ``tmp_path``.
* ``loopcap_cmd``: the argv prefix that runs loopcap's command line.
* Every test under ``tests/system/`` is marked ``system``
  (deselect them with ``-m "not system"``).
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent
SYSTEM_DIR = TESTS_DIR / "system"

for _d in (TESTS_DIR, TESTS_DIR / "unit", SYSTEM_DIR):
    if str(_d) not in sys.path:
        sys.path.insert(0, str(_d))

import rig  # noqa: E402

#: --soak, soak tests and the fault table (see faulttable.py).
pytest_plugins = ("faulttable",)

#: The variables that decide where programs keep user files.
USER_DIR_VARS = (
    "HOME",
    "XDG_CONFIG_HOME",
    "XDG_STATE_HOME",
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "XDG_MUSIC_DIR",
)

_saved_environ: dict[str, str | None] = {}
_private_home: Path | None = None


def user_dirs(root: Path) -> dict[str, str]:
    """HOME and XDG user folders, all inside ``root`` (created)."""
    dirs = {
        "HOME": root / "home",
        "XDG_CONFIG_HOME": root / "home" / ".config",
        "XDG_STATE_HOME": root / "home" / ".local" / "state",
        "XDG_CACHE_HOME": root / "home" / ".cache",
        "XDG_DATA_HOME": root / "home" / ".local" / "share",
        "XDG_MUSIC_DIR": root / "home" / "Music",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    return {name: str(path) for name, path in dirs.items()}


def pytest_configure(config):
    global _private_home
    _private_home = Path(tempfile.mkdtemp(prefix="loopcap-test-home-"))
    for name, value in user_dirs(_private_home).items():
        _saved_environ[name] = os.environ.get(name)
        os.environ[name] = value


def pytest_unconfigure(config):
    for name, value in _saved_environ.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    _saved_environ.clear()
    if _private_home is not None:
        shutil.rmtree(_private_home, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(SYSTEM_DIR):
            item.add_marker(pytest.mark.system)


@pytest.fixture(autouse=True)
def _collect_what_a_test_leaves():
    """Collect the garbage a test leaves (a subprocess's pipes, say) at its end.

    Collected later, in the middle of another test, such a pipe's
    ResourceWarning reaches loopcap's warning log if that test runs loopcap
    in-process, and a test that reads stderr line by line sees a stray line.
    """
    yield
    gc.collect()


@pytest.fixture(scope="session")
def private_home() -> Path:
    """The temporary folder that HOME and the XDG folders point to during the run."""
    assert _private_home is not None
    return _private_home


@pytest.fixture(scope="session")
def pulse():
    """One private PulseAudio server (null sink ``speakers``) shared by the run."""
    with rig.PulseServer() as server:
        yield server


@pytest.fixture
def loopcap_env(tmp_path, pulse) -> dict[str, str]:
    """Environment for a loopcap subprocess: the private sound server, user folders in
    ``tmp_path``, no LOOPCAP_* settings inherited from the caller, unbuffered output."""
    pulse.start()  # no-op while it runs; brings it back if a test brought it down
    env = pulse.env()
    for name in list(env):
        if name.startswith("LOOPCAP_"):
            del env[name]
    env.update(user_dirs(tmp_path / "user"))
    env["PYTHONUNBUFFERED"] = "1"
    # The working tree's loopcap, whatever else is installed.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_DIR), env.get("PYTHONPATH", "")) if p)
    return env


@pytest.fixture
def loopcap_cmd() -> list[str]:
    """The argv prefix that runs loopcap's command line in a subprocess."""
    return [sys.executable, "-m", "loopcap"]


@pytest.fixture(scope="session")
def xdisplay():
    """A private X display (Xvfb) with a system tray (trayer), shared by the run.

    An :class:`xrig.XDisplay`: ``xdisplay.env(base)`` is ``base`` with ``DISPLAY``
    pointing at it; it also takes screenshots and presses keys (see ``xrig.py``).
    """
    import xrig

    with xrig.XDisplay(tray=True) as x:
        yield x


@pytest.fixture
def app_env(loopcap_env, xdisplay):
    """``loopcap_env`` on the private X display, with a runtime folder of the test's
    own (``XDG_RUNTIME_DIR``: the app's lock and control socket), so every test's
    app is alone.  The tray is brought back first if an earlier test stopped it.

    The runtime folder is a short path under the system's temporary folder: a Unix
    socket's path must stay under 108 bytes, which a test's ``tmp_path`` may not.
    """
    xdisplay.ensure_tray()
    runtime = Path(tempfile.mkdtemp(prefix="loopcap-run-"))
    os.chmod(runtime, 0o700)
    env = xdisplay.env(loopcap_env)
    env["XDG_RUNTIME_DIR"] = str(runtime)
    yield env
    shutil.rmtree(runtime, ignore_errors=True)
