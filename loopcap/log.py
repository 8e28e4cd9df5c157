"""loopcap's logger: loguru's own, imported when something is first logged.

Every module logs with ``from loopcap.log import logger`` and uses it exactly
as loguru's ``logger`` (the same object's methods: ``logger.info``,
``logger.opt(...)``, ``logger.add``).  The entry point configures it once,
through :func:`configure` (:func:`loopcap.app.logsetup.setup_logging`).

Why not ``from loguru import logger`` at the top of each module: importing
loguru after numpy and soundfile adds 35-40 ms (it imports asyncio, ssl and
multiprocessing) and adding its two sinks 14 ms more (its exception
formatter asks sysconfig for the library folders), on an AMD EPYC host.
``loopcap trim`` of one voice note took 0.23-0.32 s in all, most of it
Python's start and numpy's import, and logs nothing when all goes well:
those 40-50 ms of its 0.3 s budget bought nothing.
Now a command that logs nothing never imports loguru; the first message, from
any thread, imports it, applies the entry point's configuration, and is
logged as before (to the terminal and the log file).

Threading: the first use is serialised by a lock, so two threads logging
their first message at once configure loguru once.  After that the proxy is
one attribute lookup per call.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors only
    from loguru import Logger

__all__ = ["logger", "configure", "load"]

# Re-entrant: a configuration may log (a warning that the log file cannot be
# written) while the first use holds the lock.
_lock = threading.RLock()
_real: Any = None
_pending: Callable[[Logger], None] | None = None


def configure(setup: Callable[[Logger], None]) -> None:
    """Have ``setup(loguru_logger)`` configure the sinks: at once where
    loguru is already imported (by the app's other parts, or by tests that
    add their own sinks first), else at the first message.  A later call
    replaces a configuration not yet applied."""
    global _pending
    with _lock:
        if _real is None and "loguru" not in sys.modules:
            _pending = setup
            return
        _pending = None
    setup(_load())


def load() -> None:
    """Import loguru and apply the setup now rather than at the first
    message: for the commands that start a capture thread (``run``,
    ``record``), whose reads must not share the interpreter with loguru's
    import (40-90 ms) once the capture runs."""
    _load()


def _load() -> Logger:
    global _real, _pending
    if _real is not None:
        return _real
    with _lock:
        if _real is None:
            from loguru import logger as real

            setup, _pending = _pending, None
            if setup is not None:
                try:
                    setup(real)
                except BaseException:
                    # Not applied: tried again at the next message, whose
                    # caller sees the error as the entry point would have.
                    _pending = setup
                    raise
            # Only now: another thread's first message waits on the lock
            # rather than reach loguru's default sink before the setup.
            _real = real
    return _real


class _Lazy:
    """Stands for loguru's logger; every attribute is the real one's."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        return getattr(_real if _real is not None else _load(), name)

    def __repr__(self) -> str:
        return "<loopcap.log.logger: loguru's logger, loaded on first use>"


logger: Logger = cast("Logger", _Lazy())
