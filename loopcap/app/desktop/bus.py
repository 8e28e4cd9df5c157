"""One connection to the session bus, on one asyncio loop of its own.

dbus-fast is asyncio-based; loopcap's app is threads (the controller's
worker, pystray's loop on the main thread).  :class:`SessionBus` runs an
event loop on a daemon thread ("loopcap-dbus") with one
:class:`dbus_fast.aio.MessageBus`, and every desktop service (the portal's
shortcuts, the StatusNotifierItem) uses that connection: a service exports
its objects and subscribes to signals from coroutines run there, and other
threads reach it only through :meth:`SessionBus.run` (blocking, with a
timeout) or :meth:`SessionBus.submit` (a future).  Callbacks from the bus
run on the loop thread and must not block: post to the controller.

Lifecycle: :meth:`SessionBus.connect` once (raises
:class:`~loopcap.errors.DesktopUnavailable` when no session bus answers),
then :meth:`close` (idempotent).  The address is the environment's
``DBUS_SESSION_BUS_ADDRESS`` (tests point it at a private ``dbus-daemon``).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from loopcap.errors import LoopcapError
from loopcap.log import logger

__all__ = ["SessionBus", "DesktopUnavailable", "CONNECT_TIMEOUT_S"]

T = TypeVar("T")

#: How long connecting to the session bus may take (s) before the desktop
#: services are given up for the fallbacks.
CONNECT_TIMEOUT_S = 2.0


async def _disconnect(bus: Any) -> None:
    bus.disconnect()
    await bus.wait_for_disconnect()


class DesktopUnavailable(LoopcapError):
    """A desktop service (the session bus, the portal, a tray host) is not there;
    the message says which, for doctor and the log.  Callers fall back."""


class SessionBus:
    """The shared session-bus connection and its event loop thread."""

    def __init__(self, address: str | None = None) -> None:
        self.address = address or os.environ.get("DBUS_SESSION_BUS_ADDRESS") or None
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="loopcap-dbus", daemon=True)
        self.bus: Any = None  # dbus_fast.aio.MessageBus once connected
        self._closed = False

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def connect(self, timeout: float = CONNECT_TIMEOUT_S) -> SessionBus:
        """Start the loop thread and connect.  Raises DesktopUnavailable."""
        if self.address is None:
            self.close()  # closes the loop: no ResourceWarning for an unused one
            raise DesktopUnavailable("no session bus (DBUS_SESSION_BUS_ADDRESS is not set)")
        try:
            from dbus_fast.aio import MessageBus
        except ImportError as exc:  # a broken install: fall back, say why
            self.close()
            raise DesktopUnavailable(f"dbus-fast cannot be imported ({exc})") from None
        self._thread.start()

        async def connect() -> Any:
            return await MessageBus(bus_address=self.address).connect()

        try:
            self.bus = self.run(connect(), timeout)
        except Exception as exc:
            self.close()
            raise DesktopUnavailable(f"the session bus does not answer ({exc})") from None
        logger.debug(f"connected to the session bus as {self.bus.unique_name}")
        return self

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Run ``coro`` on the loop thread; returns its future.  Any thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = CONNECT_TIMEOUT_S) -> T:
        """Run ``coro`` on the loop thread and wait for its result (raises what
        it raised, TimeoutError after ``timeout`` s).  Never from the loop thread."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("SessionBus.run would deadlock on its own loop thread")
        return self.submit(coro).result(timeout)

    def close(self) -> None:
        """Disconnect and stop the loop thread.  Idempotent; any thread but the loop's."""
        if self._closed:
            return
        self._closed = True
        bus, self.bus = self.bus, None
        if bus is not None and self._thread.is_alive():
            # disconnect() only shuts the socket down; the reader closes it on
            # the loop, so let the loop see that before stopping it (else the
            # socket is left to the garbage collector: a ResourceWarning).
            try:
                self.submit(_disconnect(bus)).result(1.0)
            except Exception:  # timed out, or the loop is already gone
                pass
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(2.0)
        if not self.loop.is_running() and not self.loop.is_closed():
            self.loop.close()

    def __enter__(self) -> SessionBus:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()
