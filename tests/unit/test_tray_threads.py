"""The tray's icon changes run where its backend allows them (pystray #60).

On macOS AppKit is main-thread only and pystray's darwin setters call it on
the calling thread: the change is queued on the main run loop with PyObjC's
``AppHelper.callAfter`` (faked here).  Elsewhere it runs at once.
"""

from __future__ import annotations

import sys
from types import ModuleType

from loopcap.app.tray import _on_ui_thread


def test_on_macos_icon_changes_are_queued_on_the_main_run_loop(monkeypatch):
    queued = []
    helper = ModuleType("PyObjCTools.AppHelper")
    helper.callAfter = queued.append  # type: ignore[attr-defined]
    package = ModuleType("PyObjCTools")
    package.AppHelper = helper  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "PyObjCTools", package)
    monkeypatch.setitem(sys.modules, "PyObjCTools.AppHelper", helper)
    ran = []
    _on_ui_thread(lambda: ran.append(1), platform="darwin")
    assert ran == [] and len(queued) == 1  # not on this (the updater) thread
    queued[0]()  # what the main run loop does
    assert ran == [1]


def test_elsewhere_icon_changes_run_at_once_and_never_raise():
    ran = []
    _on_ui_thread(lambda: ran.append(1), platform="win32")
    assert ran == [1]
    _on_ui_thread(lambda: 1 / 0, platform="linux")  # logged, not raised
