"""A private D-Bus session bus for tests: never the user's.

:class:`PrivateBus` starts ``dbus-daemon --session`` on a socket in a
temporary folder and stops it; ``address`` goes into the environment of what
the test starts (``DBUS_SESSION_BUS_ADDRESS``).  Stand-ins for the desktop's
services (the portal, the StatusNotifierWatcher, the notification server)
are small dbus-fast services of the tests' own, run on a
:class:`loopcap.app.desktop.bus.SessionBus` connected to it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from baserig import require

__all__ = ["PrivateBus"]


#: A session bus with no service directories: nothing is started on demand.
#: The standard session config activates every service the machine has
#: installed (dunst for org.freedesktop.Notifications, xfconfd...), so a test
#: that expects no notification server would get one, drawing on its display.
_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class PrivateBus:
    """``dbus-daemon --session`` on a private socket.  ``with PrivateBus() as bus``."""

    def __init__(self, folder: Path | None = None) -> None:
        self._own = folder is None
        self.folder = Path(tempfile.mkdtemp(prefix="loopcap-bus-")) if folder is None else folder
        self.socket = self.folder / "bus"
        self.address = f"unix:path={self.socket}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> PrivateBus:
        require("dbus-daemon")
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "session.conf"
        config.write_text(_CONFIG, encoding="utf-8")
        self.proc = subprocess.Popen(
            [
                "dbus-daemon",
                f"--config-file={config}",
                "--nofork",
                "--nopidfile",
                f"--address={self.address}",
                "--print-address",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal is for pytest
        )
        line = self.proc.stdout.readline().decode().strip() if self.proc.stdout else ""
        if not line.startswith("unix:"):
            self.stop()
            raise RuntimeError(f"dbus-daemon did not start: {line!r}")
        deadline = time.monotonic() + 5
        while not self.socket.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """``base`` (default os.environ) pointed at this bus, and only at it."""
        env = dict(os.environ if base is None else base)
        env["DBUS_SESSION_BUS_ADDRESS"] = self.address
        return env

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        if self._own:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PrivateBus:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
