"""Shared fixtures.

* The whole test process runs with ``HOME`` and the XDG base directories pointed at
  a temporary folder (set up in :func:`pytest_configure`, before collection, and
  restored in :func:`pytest_unconfigure`), so that calling loopcap in-process never
  reads or writes the real user's configuration, logs or music folder.
* ``pulse``: the private sound server a test runs on, parametrized over both
  kinds (ids ``pulseaudio`` and ``pipewire``), so every test that uses it, or
  ``loopcap_env``, ``app_env``, ``start_app``, runs on each.  One server of each
  kind serves the whole run: started when a test first asks for it, stopped at
  the end.  ``@rig.on_servers("pulseaudio")`` runs a test on one kind only
  (what differs gets its own test on the other); ``pulseaudio_only`` and
  ``pipewire_only`` hand a test the shared server of that kind.
* ``new_server``: makes fresh servers of the test's kind, for tests that kill
  or reshape one.  ``sleepy_server``: a server of each kind of its own whose
  null sink suspends after 1 s idle; ``sleepy_env`` is ``loopcap_env`` on it.
* ``loopcap_env``: the environment for running loopcap in a subprocess against
  ``pulse``, with every user folder inside the test's ``tmp_path``.
* ``xdisplay``, ``app_env``: a private X display with a tray, and the app's
  environment on it; ``start_app`` starts ``loopcap run`` there, ``shots`` is a
  folder for screenshots.
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

import loguru  # noqa: F401 - see below
import pytest

# loguru imported before any test: loopcap.log then applies the entry
# point's logging setup at once, as loopcap did when every module imported
# loguru.  Without it, a test that runs loopcap in-process and logs nothing
# would leave that setup pending, and a later test's first message would
# apply it: its logger.remove() took away the sink the test had just added.
# (tests/unit/test_log.py checks the deferred setup in fresh interpreters.)

TESTS_DIR = Path(__file__).resolve().parent
SYSTEM_DIR = TESTS_DIR / "system"

# The rig modules (rig.py, xrig.py, faultrig.py) are imported by name from every
# test folder; no test module imports another.
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

import rig  # noqa: E402

#: --soak, soak tests and the fault table (see faulttable.py).
pytest_plugins = ("faulttable",)

_saved_environ: dict[str, str | None] = {}
_private_home: Path | None = None


def pytest_configure(config):
    global _private_home
    _private_home = Path(tempfile.mkdtemp(prefix="loopcap-test-home-"))
    for name, value in rig.user_dirs(_private_home).items():
        _saved_environ[name] = os.environ.get(name)
        os.environ[name] = value
    # Never the user's session bus (their portal, tray, notifications): a test
    # that needs one starts a private dbus-daemon (dbusrig.PrivateBus).
    _saved_environ["DBUS_SESSION_BUS_ADDRESS"] = os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)


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


class _Servers:
    """Private sound servers, one per kind, started on first use (a kind no
    test asks for costs nothing) and stopped when the run ends."""

    def __init__(self, **options) -> None:
        self.options = options
        self.servers: dict[str, rig.SoundServer] = {}

    def get(self, kind: str) -> rig.SoundServer:
        server = self.servers.get(kind)
        if server is None:
            server = self.servers[kind] = rig.server_class(kind)(**self.options)
        # A no-op while it runs; brings it back if a test brought it down.
        return server.start()

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="session")
def _shared_servers():
    servers = _Servers()
    yield servers
    servers.stop()


@pytest.fixture(scope="session")
def _sleepy_servers():
    servers = _Servers(suspend_after_s=1)
    yield servers
    servers.stop()


@pytest.fixture(scope="session", params=rig.SERVER_KINDS)
def pulse(request, _shared_servers) -> rig.SoundServer:
    """The shared private sound server of the kind this test runs on, PulseAudio
    or PipeWire (null sink ``speakers``, the default; it never sleeps on
    PulseAudio, and on PipeWire after WirePlumber's 5 s idle with no client)."""
    return _shared_servers.get(request.param)


@pytest.fixture
def pulseaudio_only(_shared_servers) -> rig.SoundServer:
    """The shared PulseAudio server, for a test of a PulseAudio behaviour."""
    return _shared_servers.get("pulseaudio")


@pytest.fixture
def pipewire_only(_shared_servers) -> rig.SoundServer:
    """The shared PipeWire server, for a test of a PipeWire behaviour."""
    return _shared_servers.get("pipewire")


@pytest.fixture(params=rig.SERVER_KINDS)
def sleepy_server(request, _sleepy_servers) -> rig.SoundServer:
    """A server of each kind, not the shared ones, whose null sinks suspend after
    1 s idle (PulseAudio: ``module-suspend-on-idle timeout=1``; PipeWire: the
    sinks' ``session.suspend-timeout-seconds=1``, which WirePlumber honours).
    It is asleep, or falls asleep 1 s after the test's last client leaves."""
    return _sleepy_servers.get(request.param)


@pytest.fixture
def new_server(pulse):
    """``new_server(**options) -> rig.SoundServer``: a fresh private server of the
    kind this test runs on (``pulse.kind``), not started (``with new_server() as
    own:``), for a test that kills or reshapes its server; every one is stopped
    at the test's end."""
    made: list[rig.SoundServer] = []

    def make(**options) -> rig.SoundServer:
        made.append(rig.server_class(pulse.kind)(**options))
        return made[-1]

    yield make
    for server in made:
        server.stop()


def _loopcap_env(server: rig.SoundServer, root: Path) -> dict[str, str]:
    env = {k: v for k, v in server.env().items() if not k.startswith("LOOPCAP_")}
    return rig.child_env(env, root)


@pytest.fixture
def loopcap_env(tmp_path, pulse) -> dict[str, str]:
    """Environment for a loopcap subprocess: the private sound server, user folders in
    ``tmp_path``, no LOOPCAP_* settings inherited from the caller, unbuffered output."""
    pulse.start()  # no-op while it runs; brings it back if a test brought it down
    return _loopcap_env(pulse, tmp_path / "user")


@pytest.fixture
def sleepy_env(tmp_path, sleepy_server) -> dict[str, str]:
    """``loopcap_env`` on ``sleepy_server``."""
    return _loopcap_env(sleepy_server, tmp_path / "user")


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


@pytest.fixture
def start_app(app_env, tmp_path):
    """``start_app(preroll_s=0.0, env=None, wait=True) -> (rig.Loopcap, out_dir)``:
    ``loopcap run --config FILE`` with the toggle hotkey ``<ctrl>+<alt>+r``
    (``xrig.TOGGLE_KEY``), its captures in ``tmp_path/out``.

    Every app still running at the end is killed (its icon leaves the tray with it).
    """
    import xrig

    started: list[rig.Loopcap] = []

    def start(preroll_s: float = 0.0, env=None, wait: bool = True) -> tuple[rig.Loopcap, Path]:
        config, out = rig.write_config(
            tmp_path, preroll_s=preroll_s, hotkeys={"toggle": xrig.TOGGLE_HOTKEY}
        )
        app = rig.Loopcap(["run", "--config", str(config)], env or app_env, tmp_path)
        started.append(app)
        if wait:
            app.wait_running()
        return app, out

    yield start
    for app in started:
        app.kill()


@pytest.fixture
def shots(tmp_path) -> Path:
    """A folder for the test's screenshots."""
    d = tmp_path / "shots"
    d.mkdir()
    return d
