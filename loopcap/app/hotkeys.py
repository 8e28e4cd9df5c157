"""Global hotkeys: the backend chosen once, in order of preference.

1. The XDG desktop portal's global shortcuts
   (:class:`loopcap.app.desktop.portal.PortalShortcuts`) wherever the session
   bus offers them, on Wayland or X11 (KDE Plasma 5.27+, GNOME 48+, Hyprland).
2. pynput on X11, Windows and macOS.  Its callbacks only post an event: no
   work on the listener thread (pynput #322: a callback that blocks leaves
   keys stuck).  It hears nothing on Wayland (pynput #331, #647).
3. None: the user binds a desktop shortcut to ``loopcap toggle`` (GNOME 47
   and older, sway and other wlroots desktops: xdg-desktop-portal-wlr has no
   global shortcuts).

``LOOPCAP_HOTKEYS=portal|pynput|none`` forces one (tests, and users whose
desktop misbehaves), as ``PYSTRAY_BACKEND`` does for pystray.

Keys heard are never logged or stored anywhere: only the action they map to.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from loopcap.app.desktop import APP_ID
from loopcap.config import HotkeysConfig
from loopcap.log import logger

__all__ = ["start_hotkeys", "hotkey_support", "Hotkeys", "hotkey_doctor_lines", "BACKEND_ENV"]

#: The environment variable that forces a backend.
BACKEND_ENV = "LOOPCAP_HOTKEYS"
_BACKENDS = ("portal", "pynput", "none")
#: The actions a key can trigger, in the order they are shown.
ACTIONS_ORDER = ("toggle", "cancel", "arm")


def _bind_hint(config: HotkeysConfig) -> str:
    key = config.toggle or "<ctrl>+<alt>+r"
    return (
        "bind a key to `loopcap toggle` in your desktop's keyboard settings "
        f"(sway: `bindsym {_sway_key(key)} exec loopcap toggle`)"
    )


def _sway_key(hotkey: str) -> str:
    names = {"ctrl": "Ctrl", "alt": "Mod1", "shift": "Shift", "cmd": "Mod4", "super": "Mod4"}
    parts = [p.strip("<>") for p in hotkey.split("+")]
    return "+".join(names.get(p, p) for p in parts)


def hotkey_support() -> tuple[bool, str]:
    """(usable, reason): whether pynput can hear global hotkeys in this session."""
    if sys.platform.startswith("linux"):
        if os.environ.get("XDG_SESSION_TYPE") == "wayland" or (
            os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY")
        ):
            return False, "pynput cannot hear keys on Wayland (pynput #331)"
        if not os.environ.get("DISPLAY"):
            return False, "no X display for pynput"
    return True, ""


class Hotkeys:
    """The hotkey backend in use: ``backend`` is "portal", "pynput" or "none";
    ``reasons`` say why the backends before it were not chosen.

    Lifecycle: made by :func:`start_hotkeys`; :meth:`stop` once at the end
    (idempotent; any thread but the session bus's loop thread).
    """

    def __init__(
        self,
        config: HotkeysConfig,
        backend: str,
        reasons: list[str],
        portal: Any = None,
        listener: Any = None,
        own_bus: Any = None,
    ) -> None:
        self.config = config
        self.backend = backend
        self.reasons = reasons
        self.portal = portal  # PortalShortcuts
        self.listener = listener  # pynput's GlobalHotKeys
        self._own_bus = own_bus  # a SessionBus opened for the portal alone
        self._stopped = False

    @property
    def heard(self) -> bool:
        """True when a global key reaches the app (the first run says which)."""
        return self.backend != "none"

    def bindings(self) -> dict[str, str]:
        """{action: the key that triggers it}: the desktop's description for
        the portal, the ``[hotkeys]`` value for pynput, {} for none."""
        if self.portal is not None:
            return dict(self.portal.bindings())
        if self.listener is not None:
            return {a: k for a in ACTIONS_ORDER if (k := getattr(self.config, a))}
        return {}

    def describe(self) -> list[str]:
        """Lines for doctor and the log: the backend in use, then why the
        others were not chosen."""
        keys = ", ".join(f"{a} = {k or '(no key)'}" for a, k in self.bindings().items())
        if self.backend == "portal":
            pending = self.portal is not None and self.portal.pending_bind
            what = "waiting for you to confirm the desktop's dialog" if pending else keys
            head = f"hotkeys: desktop portal global shortcuts ({what or 'none bound yet'})"
        elif self.backend == "pynput":
            head = f"hotkeys: pynput global hotkeys ({keys})"
        else:
            head = f"hotkeys: none heard; {_bind_hint(self.config)}"
        return [head] + [f"  {r}" for r in self.reasons]

    def stop(self) -> None:
        """Close the portal session or stop pynput's listener.  Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self.portal is not None:
            self.portal.close()
        if self.listener is not None:
            try:
                self.listener.stop()
            except Exception as exc:  # pynput's X thread already gone
                logger.debug(f"stopping pynput: {exc}")
        if self._own_bus is not None:
            self._own_bus.close()


def start_hotkeys(
    config: HotkeysConfig,
    post: Callable[[str], object],
    session_bus: Any = None,
    app_id: str = APP_ID,
    portal_timeout: float | None = None,
) -> Hotkeys:
    """Choose and start the hotkey backend; never raises.  Main thread.

    ``post(action)`` is called on the portal's bus thread or pynput's
    listener thread and must not block.  ``session_bus``: the app's shared,
    connected :class:`~loopcap.app.desktop.bus.SessionBus`; without one, a
    connection of its own is opened for the portal (and closed by
    :meth:`Hotkeys.stop`).  Call after :func:`loopcap.app.x11.thread_safe_xlib`
    (pynput opens X displays).
    """
    forced = os.environ.get(BACKEND_ENV, "").strip().lower()
    if forced and forced not in _BACKENDS:
        logger.warning(f"{BACKEND_ENV}={forced!r} is not one of {', '.join(_BACKENDS)}: ignored")
        forced = ""
    reasons: list[str] = []
    if not any((config.toggle, config.cancel, config.arm)):
        return Hotkeys(config, "none", ["no key is set: every [hotkeys] value is empty"])
    if forced in ("", "portal"):
        portal, own_bus, reason = _start_portal(config, post, session_bus, app_id, portal_timeout)
        if portal is not None:
            if not forced:
                reasons.append("pynput not used: the desktop portal is preferred")
            return Hotkeys(config, "portal", reasons, portal=portal, own_bus=own_bus)
        reasons.append(f"portal not used: {reason}")
    else:
        reasons.append(f"portal not used: {BACKEND_ENV}={forced}")
    if forced in ("", "pynput"):
        listener, reason = _start_pynput(config, post)
        if listener is not None:
            return Hotkeys(config, "pynput", reasons, listener=listener)
        reasons.append(f"pynput not used: {reason}")
    else:
        reasons.append(f"pynput not used: {BACKEND_ENV}={forced}")
    hotkeys = Hotkeys(config, "none", reasons)
    logger.warning(f"global hotkeys are off ({'; '.join(reasons)}): {_bind_hint(config)}")
    return hotkeys


def _start_portal(
    config: HotkeysConfig,
    post: Callable[[str], object],
    session_bus: Any,
    app_id: str,
    timeout: float | None,
    bind: bool = True,
) -> tuple[Any, Any, str]:
    """(PortalShortcuts started, the bus opened for it or None, "") or
    (None, None, why not)."""
    if sys.platform in ("win32", "darwin"):
        return None, None, "the desktop portal is a Linux desktop's"
    from loopcap.app.desktop.bus import DesktopUnavailable, SessionBus
    from loopcap.app.desktop.portal import START_TIMEOUT_S, PortalShortcuts

    own_bus = None
    try:
        if session_bus is None:
            own_bus = session_bus = SessionBus().connect()
        portal = PortalShortcuts(session_bus, app_id, config, post)
        portal.start(START_TIMEOUT_S if timeout is None else timeout, bind=bind)
    except DesktopUnavailable as exc:
        if own_bus is not None:
            own_bus.close()
        return None, None, str(exc)
    return portal, own_bus, ""


def hotkey_doctor_lines(
    config: HotkeysConfig, session_bus: Any = None, app_id: str = APP_ID
) -> list[tuple[str, str]]:
    """doctor's lines for the hotkey backend: ("ok" | "warn", text), the first
    for the backend this session would use, the others why the rest would not
    be.  Binds nothing: on the portal it lists what the desktop has bound for
    ``app_id`` in a session of its own, closed at once.  pynput is only
    checked (:func:`hotkey_support`), not started."""
    reasons: list[str] = []
    forced = os.environ.get(BACKEND_ENV, "").strip().lower()
    if forced in ("", "portal"):
        portal, own_bus, reason = _start_portal(
            config, lambda _a: None, session_bus, app_id, None, bind=False
        )
        if portal is not None:
            bound = portal.bindings()
            portal.close()
            if own_bus is not None:
                own_bus.close()
            keys = ", ".join(f"{a} = {k or '(no key)'}" for a, k in bound.items())
            text = "hotkeys: desktop portal global shortcuts" + (
                f" ({keys})" if keys else " (bound when loopcap runs: the desktop asks once)"
            )
            return [("ok", text), ("ok", "  pynput not used: the desktop portal is preferred")]
        reasons.append(f"portal not used: {reason}")
    if forced in ("", "pynput"):
        ok, reason = hotkey_support()
        if ok:
            keys = ", ".join(f"{a} = {k}" for a in ACTIONS_ORDER if (k := getattr(config, a)))
            return [("ok", f"hotkeys: pynput global hotkeys ({keys})")] + [
                ("ok", f"  {r}") for r in reasons
            ]
        reasons.append(f"pynput not used: {reason}")
    return [("warn", f"hotkeys: none heard; {_bind_hint(config)}")] + [
        ("warn", f"  {r}") for r in reasons
    ]


def _start_pynput(config: HotkeysConfig, post: Callable[[str], object]) -> tuple[Any, str]:
    """Start a GlobalHotKeys listener (daemon thread); returns (it, "") or
    (None, why not).

    ``post(action)`` is called on pynput's thread and must not block (pynput
    #322).  Call after :func:`loopcap.app.x11.thread_safe_xlib` (pynput opens
    X displays).
    """
    ok, reason = hotkey_support()
    if not ok:
        return None, reason
    actions = (("toggle", config.toggle), ("cancel", config.cancel), ("arm", config.arm))
    bindings = {k: a for a, k in actions if k}
    if not bindings:
        return None, "every [hotkeys] key is empty"
    try:
        # python-xlib is thread-safe by now: the entry point made it so before
        # calling here (loopcap.app.x11.thread_safe_xlib), as pynput needs.
        from pynput import keyboard
    except Exception as exc:  # no X server, no permission, missing backend
        return None, f"pynput cannot start ({exc})"
    handlers = {key: (lambda action=action: post(action)) for key, action in bindings.items()}
    try:
        listener = keyboard.GlobalHotKeys(handlers)
        listener.daemon = True
        listener.start()
        listener.wait()
    except Exception as exc:
        return None, f"pynput cannot start ({exc})"
    if sys.platform == "darwin" and not getattr(listener, "IS_TRUSTED", True):
        logger.warning(
            "macOS has not allowed loopcap to hear keys: grant Accessibility and "
            "Input Monitoring permission to your terminal or Python in System "
            "Settings > Privacy & Security, then restart loopcap"
        )
    names = ", ".join(f"{a} = {k}" for k, a in bindings.items())
    logger.info(f"hotkeys: {names}")
    return listener, ""
