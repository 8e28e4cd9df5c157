"""Logging, configured once by the entry point (other modules only use
``from loguru import logger``).

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
from pathlib import Path

from loguru import logger

from loopcap.fs import ensure_private_dir
from loopcap.platforms import log_dir

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
    logger.remove()
    logger.add(
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
        logger.add(
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
        logger.warning(f"cannot write the log file ({exc}); logging to the terminal only")
    warnings.showwarning = _showwarning
    warnings.simplefilter("default")
