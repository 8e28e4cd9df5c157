"""A private PipeWire server for the tests (re-exported by ``rig``).

* :class:`PipeWireServer` -- ``pipewire``, ``wireplumber`` (the session
  manager: it links streams to devices, keeps the default sink and suspends idle
  nodes) and ``pipewire-pulse`` (the PulseAudio protocol, which loopcap and the
  tests speak), with a session bus of their own, in a temporary directory.  It
  has the interface of :class:`pulserig.PulseServer` (both are
  :class:`serverrig.SoundServer`): one 48 kHz stereo null sink, ``speakers``,
  loaded through ``pactl`` as a user would, its monitor the loopback device.

It runs headless, as root or not, in about 0.1 s, and never reaches the user's
own PipeWire, devices or session bus: its ``XDG_RUNTIME_DIR``, ``HOME`` and
config, state and data folders are its own; WirePlumber's device monitors (ALSA,
Bluetooth, V4L2, libcamera) are off, so a developer's real sound card is never
opened; its graph runs the same 256-frame cycle on every machine (PipeWire would
raise it to 1024 on one it takes for a virtual machine).
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time

from baserig import SoundServerError, require
from dbusrig import PrivateBus
from serverrig import SoundServer

__all__ = ["PipeWireServer"]

#: The processes of one server, in start order (stopped in reverse).
_DAEMONS = ("pipewire", "wireplumber", "pipewire-pulse")

# WirePlumber 0.4 reads its Lua configuration from $XDG_CONFIG_HOME/wireplumber
# before /usr/share; these files run after the packaged 50-*-config.lua and
# before 90-enable-all.lua, which enables only what is not switched off here.
_WIREPLUMBER_MAIN = """-- loopcap test rig: no real devices in a private server.
alsa_monitor.enabled = false
v4l2_monitor.enabled = false
libcamera_monitor.enabled = false
"""
# WirePlumber's restore-stream remembers, per application name, where a stream
# was last moved and puts the application's next streams there, whatever device
# they ask for (measured: after a `pactl move-source-output`, a later stream of
# the same application asking for phone.monitor opened on the monitor the
# earlier one had been moved to, and later moves were lost).  Every
# loopcap of a run has the same name, so one test's move would steer the next
# tests.  The PulseAudio rig loads no module-stream-restore either.
_WIREPLUMBER_NO_RESTORE = """-- loopcap test rig: no stream memory from one test to the next.
stream_defaults.enabled = false
"""
_WIREPLUMBER_BLUETOOTH = """-- loopcap test rig: no real devices in a private server.
bluez_monitor.enabled = false
"""

#: The graph cycle while a low-latency PulseAudio client is connected, in frames:
#: pipewire-pulse's ``pulse.min.quantum`` (its default, pinned below).
QUANTUM = 256

# PipeWire raises its minimum cycle to 1024 frames (21 ms) on a machine it takes
# for a virtual one ("vm.overrides"), as CI runners are: the tests' timing would
# then depend on the machine.  These pin the defaults of a desktop instead.
_PIPEWIRE_CONF = """# loopcap test rig: the same cycle on every machine.
context.properties = {
    vm.overrides = { }
}
"""
_PIPEWIRE_PULSE_CONF = f"""# loopcap test rig: the same cycle on every machine.
pulse.properties = {{
    pulse.min.req = {QUANTUM}/48000
    pulse.min.frag = {QUANTUM}/48000
    pulse.min.quantum = {QUANTUM}/48000
    vm.overrides = {{ }}
}}
"""


class PipeWireServer(SoundServer):
    """A private PipeWire server (with WirePlumber and pipewire-pulse) with one
    48 kHz stereo null sink, ``speakers``, set as the default.

    Layout of :attr:`dir`: the ``pipewire-0`` socket, ``pulse/native`` (the
    PulseAudio protocol), ``bus`` (the private ``dbus-daemon --session``
    WirePlumber wants), ``config``/``state``/``data`` (the servers' XDG folders)
    and one log per process.  Clients get ``PULSE_SERVER``, ``XDG_RUNTIME_DIR``,
    ``PIPEWIRE_RUNTIME_DIR`` and ``PIPEWIRE_REMOTE`` pointing here (:meth:`env`),
    never the private bus: that is the servers' alone.

    ``suspend_after_s``: None (the default) leaves WirePlumber's own rule (an idle
    node suspends after 5 s); a number sets the null sinks'
    ``session.suspend-timeout-seconds`` (WirePlumber 0.4's ``suspend-node.lua``
    reads it from the node; 0 never suspends).  ``restore_streams``: keep
    WirePlumber's restore-stream (off by default: it carries one test's stream
    moves into the next; a test of that behaviour turns it on).

    :meth:`kill` SIGKILLs the three daemons as a crash would (the bus stays,
    as a desktop's does); :meth:`restart` starts them again at the same
    addresses and loads the null sink again, as a user's login would.
    """

    kind = "pipewire"
    # A sound reaches the monitor one graph cycle after pipewire-pulse's
    # playback latency says it enters the sink (measured by the rig's tests).
    monitor_delay_s = QUANTUM / 48000

    def __init__(self, *args, restore_streams: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.restore_streams = restore_streams
        self.pipewire_socket = self.dir / "pipewire-0"
        self.procs: dict[str, subprocess.Popen] = {}
        self.bus = PrivateBus(self.dir)
        self.sink_module: int | None = None
        config = self.dir / "config"
        for folder, name, text in (
            ("wireplumber/main.lua.d", "51-loopcap-rig.lua", _WIREPLUMBER_MAIN),
            ("wireplumber/bluetooth.lua.d", "51-loopcap-rig.lua", _WIREPLUMBER_BLUETOOTH),
            ("pipewire/pipewire.conf.d", "50-loopcap-rig.conf", _PIPEWIRE_CONF),
            ("pipewire/pipewire-pulse.conf.d", "50-loopcap-rig.conf", _PIPEWIRE_PULSE_CONF),
        ):
            (config / folder).mkdir(parents=True, exist_ok=True)
            (config / folder / name).write_text(text)
        if not restore_streams:
            (config / "wireplumber/main.lua.d/52-loopcap-rig-no-restore.lua").write_text(
                _WIREPLUMBER_NO_RESTORE
            )

    # -- environment -------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """``os.environ`` plus what points a client at this server, and only at it."""
        env = super().env()
        env.update(
            PIPEWIRE_RUNTIME_DIR=str(self.dir),
            PIPEWIRE_REMOTE=str(self.pipewire_socket),
        )
        return env

    def _daemon_env(self) -> dict[str, str]:
        """The daemons' environment: the client one, their own XDG folders and bus,
        and no display (module-x11-bell would ring the test's X server)."""
        env = self.env()
        for name in ("DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY"):
            env.pop(name, None)
        env.update(
            XDG_CONFIG_HOME=str(self.dir / "config"),
            XDG_STATE_HOME=str(self.dir / "state"),
            XDG_DATA_HOME=str(self.dir / "data"),
            XDG_CACHE_HOME=str(self.dir / "cache"),
            DBUS_SESSION_BUS_ADDRESS=self.bus.address,
        )
        return env

    # -- life cycle --------------------------------------------------------------------

    def start(self) -> PipeWireServer:
        for binary in (*_DAEMONS, "pactl", "dbus-daemon"):
            require(binary)
        if self.running:
            return self
        self.kill()  # what is left of a half-dead server
        self._version = None
        self.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.bus.proc is None or self.bus.proc.poll() is not None:
            self.bus.start()
        self._spawn("pipewire")
        self._wait_socket()
        self._spawn("wireplumber")
        self._spawn("pipewire-pulse")
        self._wait_ready(lambda: self.running, "pipewire, wireplumber or pipewire-pulse")
        out = self.pactl(
            "load-module", "module-null-sink", *self._null_sink_args(self.sink, self.samplerate)
        )
        self.sink_module = int(out.strip())
        self._set_default_sink()
        return self

    def _spawn(self, name: str) -> None:
        with open(self.dir / f"{name}.log", "ab") as log:
            self.procs[name] = subprocess.Popen(
                [name],
                env=self._daemon_env(),
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal is for pytest
            )

    def _wait_socket(self) -> None:
        """Wait until pipewire accepts connections (a killed server's socket file
        stays behind, so its existence proves nothing)."""
        deadline = time.monotonic() + self.READY_TIMEOUT_S
        while True:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                try:
                    probe.connect(str(self.pipewire_socket))
                    return
                except OSError:
                    pass
            if self.procs["pipewire"].poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise SoundServerError(f"pipewire did not start:\n{self.log_tail()}")
            time.sleep(0.01)

    def _set_default_sink(self) -> None:
        """Make the sink the default, once WirePlumber can take it: the default is
        kept in WirePlumber's "default" metadata, which does not exist until it
        has started ("Not supported" from pactl before that)."""
        deadline = time.monotonic() + self.READY_TIMEOUT_S
        while True:
            try:
                self.pactl("set-default-sink", self.sink)
                if f"Default Sink: {self.sink}\n" in self.pactl("info"):
                    return
            except SoundServerError:
                pass
            if time.monotonic() > deadline:
                raise SoundServerError(f"{self.sink} is not the default sink:\n{self.log_tail()}")
            time.sleep(0.02)

    def _null_sink_args(self, name: str, samplerate: int) -> list[str]:
        args = super()._null_sink_args(name, samplerate)
        if self.suspend_after_s is not None:
            args.append(f"sink_properties=session.suspend-timeout-seconds={self.suspend_after_s:g}")
        return args

    def move_sink_input(self, index: int, sink: str, timeout: float = 3.0) -> None:
        """Move playback stream ``index`` to ``sink``, as a user's mixer does, and
        wait until the server says it plays there: through the "default"
        metadata, as :meth:`move_source_output` (``pactl move-sink-input``
        reported success and left the stream where it was)."""
        self._set_target(self._node_id_of("Sink Input", index), self.sink_index(sink))
        target = self.sink_index(sink)
        deadline = time.monotonic() + timeout
        while (now := self.sink_of_input(index)) != target:
            if time.monotonic() > deadline:
                raise SoundServerError(f"sink input {index} still plays to sink {now}, not {sink}")
            time.sleep(0.02)

    def _set_target(self, node: int, target: int) -> None:
        """Link stream node ``node`` to the node of serial ``target``."""
        require("pw-metadata")
        done = subprocess.run(
            ["pw-metadata", "-n", "default", str(node), "target.object", str(target), "Spa:Id"],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=10,
        )
        if done.returncode != 0:
            raise SoundServerError(f"pw-metadata failed: {done.stderr.strip()}")

    def move_source_output(self, index: int, source: str, timeout: float = 3.0) -> None:
        """Move record stream ``index`` to ``source``, as a user's mixer does, and
        wait until the server says it records from there.

        Through the "default" metadata, as pavucontrol and WirePlumber do, not
        ``pactl move-source-output``: pipewire-pulse 0.3.65 turns a move to the
        default source into "follow the default" (``target.object = -1``), and
        after the first such move of a server's life it wrote nothing at all for
        later streams, so they stayed where they were (measured: 3 moves of 4
        lost, pactl reporting success)."""
        node = self._node_id_of("Source Output", index)
        # (target.object wants a node's serial: what pactl calls its index)
        self._set_target(node, self.source_index(source))
        self._wait_moved(index, source, timeout)

    def _node_id_of(self, kind: str, index: int) -> int:
        """The PipeWire node id (``object.id``) of stream ``index`` of ``kind``:
        "Source Output" (a record stream) or "Sink Input" (a playback stream)."""
        block = None
        listing = "source-outputs" if kind == "Source Output" else "sink-inputs"
        for line in self.pactl("list", listing).splitlines():
            if line.startswith(f"{kind} #"):
                block = int(line.split("#")[1])
            elif block == index and line.strip().startswith("object.id = "):
                return int(line.split("=")[1].strip().strip('"'))
        raise SoundServerError(f"no {kind.lower()} {index} on the pipewire server")

    @property
    def running(self) -> bool:
        return len(self.procs) == len(_DAEMONS) and all(
            proc.poll() is None for proc in self.procs.values()
        )

    def kill(self) -> None:
        """SIGKILL pipewire, wireplumber and pipewire-pulse, as a crash would:
        clients see the connection drop.  The private bus stays up."""
        for name in reversed(_DAEMONS):
            proc = self.procs.pop(name, None)
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            if proc is not None:
                proc.wait(timeout=10)
        self.sink_module = None

    def stop(self) -> None:
        """Stop the daemons and the bus, and delete the server's directory."""
        for name in reversed(_DAEMONS):
            proc = self.procs.pop(name, None)
            if proc is None:
                continue
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        self.bus.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of each daemon's log, under its name."""
        parts = []
        for name in _DAEMONS:
            try:
                text = (self.dir / f"{name}.log").read_text(errors="replace")
            except OSError:
                text = "(no log)"
            parts.append(f"--- {name} ---\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(parts)
