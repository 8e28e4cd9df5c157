"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest

import loopcap.platforms as platforms
from loopcap.platforms import Platform


@pytest.fixture
def use(monkeypatch):
    """``use(platform)``: make it this process's :func:`loopcap.platforms.current`
    for the test (the chosen one is restored afterwards)."""

    def install(platform: Platform) -> Platform:
        monkeypatch.setattr(platforms, "_current", platform)
        return platform

    return install


class Clock:
    """A monotonic clock (s) that moves only when a test sets ``t``."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """The clock of the polled per-app streams (:mod:`loopcap.device.app_follow`,
    the Windows and macOS backends), set by the test."""
    from loopcap.device import app_follow  # only where a test asks for it

    c = Clock()
    monkeypatch.setattr(app_follow.PolledAppStream, "_now", staticmethod(c))
    return c
