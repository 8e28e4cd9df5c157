"""A notification after every save: the file, its length, or what went wrong.

Built on desktop-notifier: on Linux its backend calls
``org.freedesktop.Notifications`` with dbus-fast, on Windows the WinRT toast
API, on macOS the notification centre (from an app bundle only; a plain
``python`` gets its dummy backend, desktop-notifier's README).  Clicking a
notification runs its default action where the server has one (every
server but xfce4-notifyd: desktop-notifier checks), which opens the folder
of the saved file.

Threading.  desktop-notifier's API is asyncio, and a clicked notification
calls back only while an event loop runs (desktop-notifier #3, #120);
``DesktopNotifierSync`` runs each call to completion on a loop of its own
and so blocks its caller.  The controller's worker must never wait on the
desktop, so :class:`Notifier` runs one asyncio loop on a daemon thread
("loopcap-notify", started at the first notification) and hands it each
notification with ``run_coroutine_threadsafe``: :meth:`Notifier.saved`
returns at once.  The click callback runs on that loop thread and only
starts the opener (a ``Popen``).  Every failure (no notification server,
a server that does not answer within :data:`SEND_TIMEOUT_S`, no
desktop-notifier) is logged, once as a warning and then at debug level;
nothing here raises into the caller.

Lifecycle: ``Notifier(enabled)``, then :meth:`~Notifier.saved` /
:meth:`~Notifier.failed` from any thread, :meth:`~Notifier.close` at the end
(idempotent).  ``[app] notify = false`` gives a notifier that does nothing.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopcap.app.desktop import APP_ID
from loopcap.errors import DeviceLostError
from loopcap.log import logger
from loopcap.session import Saved

__all__ = [
    "Notifier",
    "Message",
    "describe",
    "failure_message",
    "open_folder",
    "doctor_line",
    "SEND_TIMEOUT_S",
]

#: The longest a notification may take to reach the server (s); then it is dropped.
SEND_TIMEOUT_S = 5.0
APP_NAME = "loopcap"


@dataclass(frozen=True)
class Message:
    """One notification: its summary (title), body, and the folder a click opens."""

    summary: str
    body: str
    folder: Path | None = None


def describe(saved: Saved) -> Message:
    """The notification for a finished capture.  Pure."""
    notes = list(saved.paths)
    where = notes[0] if notes else saved.raw_path
    folder = where.parent if where is not None else None
    if notes and saved.notes:
        if len(notes) == 1:
            summary = f"Saved {notes[0].name}"
            body = f"a {saved.notes[0].kept_s:.1f} s note, in {folder}"
            if saved.notes[0].reason:
                # Kept whole under a background, or cut off by the stop: the
                # line the terminal gets, so the user knows why.
                body = f"{body}; {saved.notes[0].reason}"
        else:
            summary = f"Saved {len(notes)} notes"
            total = sum(b.kept_s for b in saved.notes)
            body = f"{notes[0].name} to {notes[-1].name} ({total:.1f} s in all), in {folder}"
    elif saved.raw_path is not None:
        summary = "No sound captured"
        body = f"the raw capture is kept: {saved.raw_path.name} ({saved.duration_s:.1f} s)"
    else:
        summary = "No sound captured"
        body = f"nothing was saved ({saved.duration_s:.1f} s captured)"
    if saved.error is not None:
        reason = (
            "the sound device went away"
            if isinstance(saved.error, DeviceLostError)
            else str(saved.error).rstrip(".")
        )
        kept = f"what was captured is saved in {folder}" if folder else "nothing could be saved"
        body = f"{reason}: {kept}. {summary}: {body}"
        summary = "Capture ended by an error"
    return Message(summary, body, folder)


def failure_message(message: str) -> Message:
    """The notification for a capture that could not be saved.  Pure."""
    return Message("Capture not saved", message)


def open_folder(folder: Path) -> None:
    """Open ``folder`` in the file manager without waiting for it.  Never raises.

    (The same as :func:`loopcap.app.tray.open_path`, which this module cannot
    import: the tray imports the controller, which is handed a notifier.)"""
    try:
        if sys.platform == "win32":
            os.startfile(folder)  # noqa: S606
            return
        opener = "open" if sys.platform == "darwin" else "xdg-open"
        subprocess.Popen(
            [opener, str(folder)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        logger.warning(f"cannot open {folder} ({exc})")


class Notifier:
    """Notifications after saves; see the module's docstring for threads.

    ``opener`` is called with the folder when a notification is clicked (on
    the notifier's loop thread; it must not block).
    """

    def __init__(
        self,
        enabled: bool = True,
        *,
        opener: Callable[[Path], None] = open_folder,
        timeout_s: float = SEND_TIMEOUT_S,
    ) -> None:
        self.enabled = enabled
        self.opener = opener
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._api: Any = None  # desktop_notifier.DesktopNotifier, made on the loop
        self._warned = False
        self._closed = False

    # ------------------------------------------------------------ any thread

    def saved(self, saved: Saved) -> Future[bool] | None:
        """Notify of a finished capture.  Returns at once: a future that says
        whether the server took it (for tests), or None when off."""
        try:
            return self.send(describe(saved))
        except Exception:  # a bug in describe must not reach the controller
            logger.exception("the notification of a save failed")
            return None

    def failed(self, message: str) -> Future[bool] | None:
        """Notify of a capture that could not be saved.  Returns at once."""
        return self.send(failure_message(message))

    def send(self, message: Message) -> Future[bool] | None:
        """Hand ``message`` to the loop thread; never blocks, never raises."""
        if not self.enabled:
            return None
        try:
            loop = self._start()
            if loop is None:
                return None
            return asyncio.run_coroutine_threadsafe(self._send(message), loop)
        except Exception as exc:
            self._failed(f"the notification could not be queued ({exc})")
            return None

    def close(self) -> None:
        """Stop the loop thread (notifications not yet sent are dropped).  Idempotent."""
        with self._lock:
            self._closed = True
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        if thread is not threading.current_thread():
            try:  # close the D-Bus connection on the loop, then stop it
                asyncio.run_coroutine_threadsafe(self._disconnect(), loop).result(1.0)
            except Exception:
                pass
        loop.call_soon_threadsafe(loop.stop)
        if thread is not threading.current_thread():
            thread.join(2.0)

    # ------------------------------------------------------------ internals

    def _start(self) -> asyncio.AbstractEventLoop | None:
        with self._lock:
            if self._closed:
                return None
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=self._run, args=(loop,), name="loopcap-notify", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.close()

    def _failed(self, why: str) -> None:
        if not self._warned:
            self._warned = True
            logger.warning(f"no notifications: {why}")
        else:
            logger.debug(f"notification not shown: {why}")

    def _make_api(self) -> Any:
        from desktop_notifier import DesktopNotifier, Icon

        # A named icon: the one desktop_file.install puts in the hicolor theme.
        # On Linux app_name should be the desktop entry's name (desktop-notifier's
        # docstring); macOS ignores both and shows the bundle's.
        icon = Icon(name=APP_ID) if sys.platform.startswith("linux") else None
        return DesktopNotifier(app_name=APP_NAME, app_icon=icon)

    async def _disconnect(self) -> None:
        """On the loop: close the D-Bus backend's connection (its ``bus``);
        disconnect() only shuts the socket, the loop's reader closes it."""
        api, self._api = self._api, None
        bus = getattr(getattr(api, "_backend", None), "bus", None)
        if bus is not None:
            bus.disconnect()
            await bus.wait_for_disconnect()

    def _drop_api(self) -> None:
        """Forget a notifier whose server failed, closing the D-Bus connection
        its backend opened (desktop-notifier's ``_init_dbus`` keeps it in
        ``bus`` and opens a new one on the next try)."""
        api, self._api = self._api, None
        bus = getattr(getattr(api, "_backend", None), "bus", None)
        if bus is not None:
            try:
                bus.disconnect()
            except Exception:
                pass

    async def _send(self, message: Message) -> bool:
        """On the loop thread: send, with a deadline.  True when the server took it."""
        try:
            if self._api is None:
                self._api = self._make_api()
            api = self._api
            # desktop-notifier logs and swallows a failed send (its backends'
            # ``send``), so ask the server first: this raises when none is there.
            await asyncio.wait_for(api.get_capabilities(), self.timeout_s)
            from desktop_notifier import Notification

            folder = message.folder
            notification = Notification(
                message.summary,
                message.body,
                on_clicked=(lambda: self._clicked(folder)) if folder is not None else None,
            )
            ident = await asyncio.wait_for(api.send_notification(notification), self.timeout_s)
            if ident not in await api.get_current_notifications():
                self._failed("the notification server refused it (see the log)")
                self._drop_api()
                return False
        except ImportError as exc:
            self._failed(f"desktop-notifier cannot be imported ({exc})")
            return False
        except Exception as exc:
            self._failed(str(exc) or type(exc).__name__)
            self._drop_api()
            return False
        logger.debug(f"notified: {message.summary}")
        return True

    def _clicked(self, folder: Path) -> None:
        try:
            self.opener(folder)
        except Exception:
            logger.exception(f"opening {folder} failed")


# ---------------------------------------------------------------- doctor


def doctor_line(enabled: bool, timeout_s: float = 2.0) -> tuple[str, str]:
    """doctor's line for notifications: ("ok" | "warn", text).  Asks the
    session bus (Linux) whether a notification server is there and what it
    offers; sends nothing.  Blocks up to about ``timeout_s``; never raises."""
    if not enabled:
        return "ok", "notifications: off ([app] notify = false)"
    if sys.platform == "win32":
        return "ok", "notifications: Windows toast notifications (desktop-notifier, WinRT)"
    if sys.platform == "darwin":
        try:
            from desktop_notifier.backends.macos_support import is_bundle

            bundled = bool(is_bundle())
        except Exception:
            bundled = False
        if bundled:
            return "ok", "notifications: the macOS notification centre"
        # desktop-notifier's macOS backend works from an app bundle only.
        return "warn", (
            "notifications: none; macOS shows them only for an app bundle, not a plain "
            "python (the tray icon and `loopcap status` still say what happened)"
        )
    try:
        server = _ask_server(timeout_s)
    except Exception as exc:
        return "warn", f"notifications: none; {exc}"
    name, caps = server
    click = (
        "clicking one opens the folder"
        if "actions" in caps and name != "Xfce Notify Daemon"
        else "this server has no actions: a click opens nothing"
    )
    return "ok", f"notifications: org.freedesktop.Notifications ({name}); {click}"


def _ask_server(timeout_s: float) -> tuple[str, list[str]]:
    """(server name, capabilities) from org.freedesktop.Notifications on the
    session bus.  Raises with a sentence saying what is missing."""
    from loopcap.app.desktop.bus import SessionBus

    async def ask(bus: Any) -> tuple[str, list[str]]:
        from dbus_fast import Message, MessageType

        async def call(member: str) -> list[Any]:
            reply = await bus.call(
                Message(
                    destination="org.freedesktop.Notifications",
                    path="/org/freedesktop/Notifications",
                    interface="org.freedesktop.Notifications",
                    member=member,
                )
            )
            if reply.message_type == MessageType.ERROR:
                raise RuntimeError(
                    "no notification server on the session bus "
                    f"({reply.error_name}); the desktop shows none"
                )
            return list(reply.body)

        info = await call("GetServerInformation")
        caps = await call("GetCapabilities")
        return str(info[0]), [str(c) for c in caps[0]]

    with SessionBus() as session:
        return session.run(ask(session.bus), timeout_s)
