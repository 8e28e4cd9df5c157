"""``loopcap run``: the desktop app's lifecycle.

Main thread: the tray icon (pystray requires it), or a plain wait with
``--no-tray`` or where no tray exists.  Other threads: the controller, the
capture and writer, the hotkey listener, the control channel.  SIGINT,
SIGTERM, Quit and ``loopcap quit`` all end the same way: a running capture is
finished and saved, then the process exits with status 0.

On the first start (``first_run``, decided by the command line:
:func:`loopcap.app.firstrun.first_start`) the app says once, on the terminal
and in a notification where the tray has them, which key starts a capture,
where the notes go and how to reach the menu (:func:`welcome`).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from loopcap.app.control import ControlServer, InstanceLock
from loopcap.app.controller import Controller
from loopcap.app.desktop.bus import DesktopUnavailable, SessionBus
from loopcap.app.firstrun import welcome_lines
from loopcap.app.hotkeys import start_hotkeys
from loopcap.app.signals import forward_signals
from loopcap.app.x11 import thread_safe_xlib
from loopcap.config import Config
from loopcap.errors import EXIT_OK
from loopcap.log import logger

__all__ = ["run_app", "welcome"]

#: Longest wait for a running capture to be saved on quit, in seconds.
QUIT_TIMEOUT_S = 4.0
#: How long the tray gets to close once everything is saved, in seconds.
TRAY_CLOSE_S = 1.5
#: How long the first run's notification waits for the icon to be shown, in seconds.
WELCOME_WAIT_S = 5.0


def run_app(
    config: Config,
    config_path: Path,
    no_tray: bool = False,
    device: str | None = None,
    first_run: Callable[[], bool] | None = None,
    app: str | None = None,
) -> int:
    """Run the app until quit; ends the process (see :func:`_exit`).  Main thread.

    ``device``, ``app``: what to record (see :class:`~loopcap.app.controller.Controller`).

    ``first_run``: asked once the app holds its instance lock; True: this is
    the first start, and the app explains itself (:func:`welcome`).
    """
    with InstanceLock() as lock:
        # Once, before the tray or pynput open an X display (loopcap.app.x11).
        thread_safe_xlib()
        from loopcap.app.desktop.notify import Notifier  # a notification after every save

        controller = Controller(
            config, device=device, app=app, notifier=Notifier(config.app.notify)
        )
        quit_requested = threading.Event()
        tray = None

        def request_quit(*_: object) -> None:
            if not quit_requested.is_set():
                quit_requested.set()
                controller.quit()

        # Leaving the block by an exception closes the control channel and frees the lock;
        # the normal end is _exit, which closes them itself.
        with ControlServer(_control_handler(controller, request_quit)) as server:
            controller.start()
            # One connection for the desktop's services (portal shortcuts, the
            # StatusNotifierItem tray); None where there is no session bus.
            session_bus = _session_bus()
            listener = start_hotkeys(config.hotkeys, controller.post, session_bus=session_bus)
            # At once, even while the tray's loop sleeps on X (loopcap.app.signals).
            forward_signals(request_quit)
            if not no_tray:
                tray = _start_tray(controller, config_path, request_quit, session_bus)
            logger.info(
                "loopcap is running: "
                + ("see the tray icon" if tray else "`loopcap toggle` starts and stops a capture")
            )
            if first_run is not None and first_run():
                welcome(config, tray, listener.heard, controller.notifier)
            if tray is not None:
                threading.Thread(
                    target=_close_tray,
                    args=(controller, tray, server, lock, session_bus),
                    daemon=True,
                ).start()
                tray.run()  # returns after tray.stop()
                if not quit_requested.is_set():
                    # The icon's window went away (the panel restarted): keep going.
                    logger.warning("the tray icon went away; running with hotkeys only")
            # No timeout: the stop signals come through forward_signals' thread,
            # so this thread need not wake to let Python run their handlers.
            controller.finished.wait()
            request_quit()
            controller.finished.wait(QUIT_TIMEOUT_S)
            _exit(server, lock, EXIT_OK, session_bus)
    return EXIT_OK  # not reached: _exit ends the process


def _session_bus() -> SessionBus | None:
    """The app's one session-bus connection, or None (no bus: the fallbacks)."""
    if not sys.platform.startswith("linux"):
        return None  # dbus-fast is a Linux dependency (pyproject.toml)
    try:
        return SessionBus().connect()
    except DesktopUnavailable as exc:
        logger.info(f"no desktop services over D-Bus: {exc}")
        return None


def _start_tray(
    controller: Controller,
    config_path: Path,
    request_quit: Callable[[], None],
    session_bus: SessionBus | None,
):
    """The tray, in order of preference: a StatusNotifierItem where a watcher
    with a host is on the session bus (KDE, GNOME with the AppIndicator
    extension, XFCE: an icon with a menu), else pystray (XEmbed on X11,
    win32, darwin), else none.  One line in the log says which and why."""
    why_not_sni = "no session bus"
    if session_bus is not None:
        from loopcap.app.desktop.sni import SniTray

        try:
            sni = SniTray(session_bus, controller, config_path, request_quit)
        except DesktopUnavailable as exc:
            why_not_sni = str(exc)
        except Exception as exc:  # a bug or a broken host must not stop the app
            why_not_sni = f"the StatusNotifierItem failed to start ({exc})"
        else:
            logger.info(
                "tray: a StatusNotifierItem with a menu "
                "(a StatusNotifierWatcher with a host is on the session bus)"
            )
            return sni
    from loopcap.app.tray import Tray, tray_support

    ok, reason = tray_support()
    if not ok:
        logger.warning(f"{reason} (tray: none; not a StatusNotifierItem: {why_not_sni})")
        return None
    try:
        tray = Tray(controller, config_path, request_quit)
    except Exception as exc:  # a backend that fails to start
        logger.warning(
            f"the tray icon failed to start ({exc}); running with hotkeys only "
            f"(tray: none; not a StatusNotifierItem: {why_not_sni})"
        )
        return None
    backend = type(tray.icon).__module__.rsplit("._", 1)[-1]
    logger.info(f"tray: pystray's {backend} backend (not a StatusNotifierItem: {why_not_sni})")
    return tray


def welcome(config: Config, tray, hotkeys_heard: bool, notifier=None) -> list[str]:
    """Say the first run's summary (:func:`loopcap.app.firstrun.welcome_lines`)
    on the terminal, and in a notification: the tray's where it has them (a
    :class:`~loopcap.app.tray.Tray`, once its icon is shown), else the
    desktop's (``notifier``, a :class:`~loopcap.app.desktop.notify.Notifier`:
    the SNI tray and pystray's Xorg icon have none).  Returns the lines said.
    Main thread; never raises."""
    has_menu = None if tray is None else tray.has_menu
    lines = welcome_lines(config, hotkeys_heard=hotkeys_heard, has_menu=has_menu)
    logger.info("loopcap's first run: how it works")
    for line in lines:
        logger.info(f"  {line}")
    if tray is not None and tray.has_notify:
        threading.Thread(
            target=_notify_when_shown, args=(tray, "\n".join(lines)), daemon=True
        ).start()
    elif notifier is not None:
        from loopcap.app.desktop.notify import Message

        notifier.send(Message("Welcome to loopcap", "\n".join(lines), config.output.directory))
    return lines


def _notify_when_shown(tray, text: str) -> None:
    """Notify once the icon is shown (a notification of an icon not yet
    shown is lost on some backends)."""
    deadline = time.monotonic() + WELCOME_WAIT_S
    while not getattr(tray.icon, "visible", False) and time.monotonic() < deadline:
        time.sleep(0.1)
    tray.notify(text, "Welcome to loopcap")


def _control_handler(
    controller: Controller, request_quit: Callable[[], None]
) -> Callable[[str], dict]:
    """The control channel's answers (:data:`loopcap.app.control.COMMANDS`); they
    run on the server's per-connection threads."""

    def handle(command: str) -> dict:
        if command == "status":
            s = controller.snapshot
            return {
                "ok": True,
                "state": s.state,
                "armed": s.armed,
                "elapsed_s": round(s.elapsed_s, 1),
                "message": s.message,
                "recent": [str(p) for p in s.recent],
            }
        if command == "quit":
            request_quit()
            return {"ok": True, "state": "quitting"}
        done = controller.post(command)
        done.wait(2.0)  # answer with the state the command led to
        return {"ok": True, "state": controller.snapshot.state}

    return handle


def _close_tray(
    controller: Controller,
    tray,
    server: ControlServer,
    lock: InstanceLock,
    session_bus: SessionBus | None = None,
) -> None:
    """Once the controller has saved and stopped, close the tray; if pystray's
    loop does not return (its Xorg backend can miss the request: measured, 1
    stop in 12), end the process anyway: everything is saved by then."""
    controller.finished.wait()
    threading.Thread(target=tray.stop, daemon=True).start()
    time.sleep(TRAY_CLOSE_S)
    logger.debug("the tray did not close in time")
    _exit(server, lock, EXIT_OK, session_bus)


def _exit(
    server: ControlServer,
    lock: InstanceLock,
    status: int,
    session_bus: SessionBus | None = None,
) -> None:
    """Release what others can see (control channel, lock; both closes are idempotent),
    flush the logs, and end the process at once.  Not through interpreter
    shutdown: pystray's and pynput's X threads are still alive then, and
    tearing them down aborted the process now and then (measured: SIGABRT in
    glibc after "loopcap stopped")."""
    server.close()
    lock.release()
    if session_bus is not None:
        session_bus.close()  # idempotent; the tray and the portal have let go by now
    logger.info("loopcap stopped")
    logger.complete()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(status)
