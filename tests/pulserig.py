"""A private PulseAudio server for the tests (re-exported by ``rig``).

The server lives in a temporary directory, so the tests work the same whether
or not the person running them has a sound server of their own, and never play
into (or record from) that server.

* :class:`PulseServer` -- start/stop/kill/restart a private ``pulseaudio`` with
  one null sink called ``speakers`` (48 kHz stereo).  Its monitor,
  ``speakers.monitor``, is the loopback device loopcap records.  Everything it
  shares with the PipeWire server (``env()``, ``pactl()``, players, sink states)
  is :class:`serverrig.SoundServer`'s.
"""

from __future__ import annotations

import shutil
import signal
import subprocess

from baserig import SoundServerError, require
from serverrig import SoundServer

__all__ = ["PulseServer", "PulseServerError"]

#: The name the rig's errors had when PulseAudio was its only server.
PulseServerError = SoundServerError


class PulseServer(SoundServer):
    """A private PulseAudio server with one 48 kHz stereo null sink, ``speakers``.

    The server lives in its own temporary directory, which serves as its
    ``XDG_RUNTIME_DIR``, ``HOME`` and (``<dir>/pulse``) ``PULSE_RUNTIME_PATH``.
    Clients reach it through ``PULSE_SERVER=unix:<dir>/pulse/native``, set in the
    environment returned by :meth:`env`.

    ``suspend_after_s``: None (the default) loads no ``module-suspend-on-idle``,
    so the sink never sleeps; a number loads it with that timeout (whole
    seconds, at least 1: the module's ``timeout`` is an integer).

    Use as a context manager, or call :meth:`start` and :meth:`stop`::

        with PulseServer() as pulse:
            subprocess.run(["paplay", "x.wav"], env=pulse.env())
    """

    kind = "pulseaudio"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.log_path = self.dir / "pulseaudio.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> PulseServer:
        require("pulseaudio")
        require("pactl")
        if self.running:
            return self
        self._version = None
        self.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        cmd = [
            "pulseaudio",
            "-n",
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--load=module-native-protocol-unix",
            f"--load=module-null-sink sink_name={self.sink} rate={self.samplerate}",
        ]
        if self.suspend_after_s is not None:
            timeout = max(1, round(self.suspend_after_s))
            cmd.append(f"--load=module-suspend-on-idle timeout={timeout}")
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
        self._wait_ready(lambda: self.running, "pulseaudio")
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

    def stop(self) -> None:
        """Stop the server and delete its directory."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
