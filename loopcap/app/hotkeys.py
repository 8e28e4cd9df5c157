"""Global hotkeys with pynput.  Callbacks only post an event: no work on the
listener thread (pynput #322: a callback that blocks leaves keys stuck).

Keys heard are never logged or stored anywhere: only the action they map to.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from loguru import logger

from loopcap.config import HotkeysConfig

__all__ = ["start_hotkeys", "hotkey_support"]


def hotkey_support() -> tuple[bool, str]:
    """(usable, reason): whether global hotkeys can be heard in this session."""
    if sys.platform.startswith("linux"):
        if os.environ.get("XDG_SESSION_TYPE") == "wayland" or (
            os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY")
        ):
            return False, (
                "global hotkeys cannot be heard on Wayland (pynput #331): bind a "
                "desktop shortcut to `loopcap toggle` instead"
            )
        if not os.environ.get("DISPLAY"):
            return False, "no X display: global hotkeys are off; use `loopcap toggle`"
    return True, ""


def start_hotkeys(config: HotkeysConfig, post: Callable[[str], object]):
    """Start a GlobalHotKeys listener (daemon thread); returns it or None.

    ``post(action)`` is called on pynput's thread and must not block.  Call
    after :func:`loopcap.app.x11.thread_safe_xlib` (pynput opens X displays).
    """
    ok, reason = hotkey_support()
    if not ok:
        logger.warning(reason)
        return None
    actions = (("toggle", config.toggle), ("cancel", config.cancel), ("arm", config.arm))
    bindings = {k: a for a, k in actions if k}
    if not bindings:
        return None
    try:
        # python-xlib is thread-safe by now: the entry point made it so before
        # calling here (loopcap.app.x11.thread_safe_xlib), as pynput needs.
        from pynput import keyboard
    except Exception as exc:  # no X server, no permission, missing backend
        logger.warning(f"global hotkeys are off ({exc}); use `loopcap toggle` instead")
        return None
    handlers = {key: (lambda action=action: post(action)) for key, action in bindings.items()}
    try:
        listener = keyboard.GlobalHotKeys(handlers)
        listener.daemon = True
        listener.start()
        listener.wait()
    except Exception as exc:
        logger.warning(f"global hotkeys are off ({exc}); use `loopcap toggle` instead")
        return None
    if sys.platform == "darwin" and not getattr(listener, "IS_TRUSTED", True):
        logger.warning(
            "macOS has not allowed loopcap to hear keys: grant Accessibility and "
            "Input Monitoring permission to your terminal or Python in System "
            "Settings > Privacy & Security, then restart loopcap"
        )
    names = ", ".join(f"{a} = {k}" for k, a in bindings.items())
    logger.info(f"hotkeys: {names}")
    return listener
