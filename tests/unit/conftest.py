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
