"""Logging, configured once by the entry point (other modules only use
``from loopcap.log import logger``, loguru's logger imported on first use).

- Human lines on stderr: INFO and up, or DEBUG with ``-v``.
- A rotating log file in the user log folder (mode 0600, folder 0700 on
  POSIX; :func:`loopcap.platforms.log_dir`: ``~/.local/state/loopcap/log``,
  ``~/Library/Logs/loopcap``, ``%LOCALAPPDATA%\\loopcap\\Logs``), always at
  DEBUG, so a user can send it with a bug report.
- Python warnings (soundcard's discontinuity warnings, for one) are routed
  to the log and counted, never silently dropped.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections import Counter
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from loopcap.fs import ensure_private_dir
from loopcap.log import configure, logger
from loopcap.platforms import log_dir

if TYPE_CHECKING:  # pragma: no cover
    from loguru import Logger

__all__ = ["setup_logging", "warning_counts", "log_path"]

warning_counts: Counter[str] = Counter()


def log_path() -> Path:
    return log_dir() / "loopcap.log"


def _private_opener(path: str, flags: int) -> int:
    # ``flags`` come from io.FileIO, which adds O_CLOEXEC (O_NOINHERIT and
    # O_BINARY on Windows) itself.
    return os.open(path, flags, 0o600)


def _showwarning(message, category, filename, lineno, file=None, line=None) -> None:
    warning_counts[category.__name__] += 1
    logger.opt(depth=2).warning(f"{category.__name__}: {message} ({filename}:{lineno})")


def setup_logging(verbose: bool = False) -> None:
    """Route messages to stderr and the log file, and Python's warnings to
    the log.  The sinks are added when the first message is logged
    (:func:`loopcap.log.configure`): a command that logs nothing never
    imports loguru nor opens the log file."""
    configure(partial(_add_sinks, verbose=verbose))
    warnings.showwarning = _showwarning
    warnings.simplefilter("default")


def _add_sinks(real: Logger, verbose: bool) -> None:
    real.remove()
    # pythonw.exe (Windows' start at login, desktop_file.py) has no stderr:
    # sys.stderr is None there, which loguru refuses as a sink.
    if sys.stderr is not None:
        real.add(
            sys.stderr,
            level="DEBUG" if verbose else "INFO",
            format="{message}",
            colorize=False,
            backtrace=False,
            diagnose=False,
        )
    try:
        path = log_path()
        ensure_private_dir(path.parent)
        real.add(
            path,
            level="DEBUG",
            rotation="1 MB",
            retention=5,
            encoding="utf-8",
            opener=_private_opener,
            backtrace=False,
            diagnose=False,
            format="{time:YYYY-MM-DD HH:mm:ss.SSS} {level: <7} {name}: {message}",
        )
    except OSError as exc:
        real.warning(f"cannot write the log file ({exc}); logging to the terminal only")
