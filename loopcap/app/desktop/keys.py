"""The keys of the portal's global shortcuts: the ``[hotkeys]`` values in the
shortcuts spec's syntax (:func:`portal_trigger`) and one action per press
(:class:`PressFilter`).  Pure: no D-Bus, no threads, no clock of its own.
"""

from __future__ import annotations

__all__ = ["portal_trigger", "PressFilter"]

# pynput's named keys -> xkbcommon keysym names (the shortcuts spec takes its
# identifiers from xkbcommon-keysyms.h, its modifiers from xkbcommon-names.h).
_MODIFIERS = {
    "ctrl": "CTRL", "ctrl_l": "CTRL", "ctrl_r": "CTRL",
    "alt": "ALT", "alt_l": "ALT", "alt_r": "ALT", "alt_gr": "ALT",
    "shift": "SHIFT", "shift_l": "SHIFT", "shift_r": "SHIFT",
    "cmd": "LOGO", "cmd_l": "LOGO", "cmd_r": "LOGO", "super": "LOGO",
}  # fmt: skip
_KEYSYMS = {
    "space": "space", "tab": "Tab", "enter": "Return", "esc": "Escape",
    "backspace": "BackSpace", "delete": "Delete", "home": "Home", "end": "End",
    "page_up": "Page_Up", "page_down": "Page_Down", "insert": "Insert",
    "pause": "Pause", "print_screen": "Print", "scroll_lock": "Scroll_Lock",
    "menu": "Menu", "up": "Up", "down": "Down", "left": "Left", "right": "Right",
    "media_play_pause": "XF86AudioPlay", "media_next": "XF86AudioNext",
    "media_previous": "XF86AudioPrev",
    **{f"f{i}": f"F{i}" for i in range(1, 25)},
}  # fmt: skip
_PUNCTUATION = {
    ",": "comma", ".": "period", "/": "slash", ";": "semicolon", "'": "apostrophe",
    "[": "bracketleft", "]": "bracketright", "\\": "backslash", "-": "minus",
    "=": "equal", "`": "grave",
}  # fmt: skip
_MODIFIER_ORDER = ("CTRL", "ALT", "SHIFT", "LOGO")


def portal_trigger(hotkey: str) -> str | None:
    """pynput's ``<ctrl>+<alt>+r`` as the shortcuts spec's ``CTRL+ALT+r``.

    None when there is nothing to offer (an empty hotkey, or a key the spec
    has no name for, such as pynput's ``<65>`` key codes): the shortcut is
    then bound without a preferred trigger and the desktop asks the user.
    """
    if not hotkey:
        return None
    mods: set[str] = set()
    keys: list[str] = []
    for part in hotkey.lower().split("+"):
        name = part[1:-1] if part.startswith("<") and part.endswith(">") else None
        if name is not None and name in _MODIFIERS:
            mods.add(_MODIFIERS[name])
        elif name is not None and name in _KEYSYMS:
            keys.append(_KEYSYMS[name])
        elif name is None and len(part) == 1 and (part.isalnum() and part.isascii()):
            keys.append(part)
        elif name is None and part in _PUNCTUATION:
            keys.append(_PUNCTUATION[part])
        else:
            return None
    if len(keys) != 1:
        return None
    return "+".join([m for m in _MODIFIER_ORDER if m in mods] + keys)


class PressFilter:
    """One action per press, whatever the desktop repeats.

    Holding a key repeats the signals: as Activated/Deactivated pairs (the
    key repeat turned into presses and releases), or as Activated alone
    (Hyprland's repeating binds: hyprwm/Hyprland #4827, #8904).  The rule:

    * an Activated for an id already active (no Deactivated since) is the
      same press, unless nothing was heard of that id for ``stuck_s`` (a
      lost Deactivated must not swallow the next press forever);
    * an Activated within ``repeat_gap_s`` of that id's Deactivated is the
      same press (a key repeat's pair; two taps closer than 0.3 s are one);
    * anything else is a new press.

    Times are this process's monotonic clock at arrival, not the signal's
    timestamp (its base is undefined by the portal).  Not thread-safe: used
    on the bus's loop thread only.
    """

    def __init__(self, repeat_gap_s: float = 0.3, stuck_s: float = 2.0) -> None:
        self.repeat_gap_s = repeat_gap_s
        self.stuck_s = stuck_s
        self._active: dict[str, bool] = {}
        self._last: dict[str, float] = {}  # last Activated or Deactivated
        self._released: dict[str, float] = {}

    def activated(self, shortcut_id: str, now: float) -> bool:
        """Record an Activated; True when it starts a new press."""
        last = self._last.get(shortcut_id)
        released = self._released.get(shortcut_id)
        if self._active.get(shortcut_id) and last is not None:
            new = now - last >= self.stuck_s
        else:
            new = released is None or now - released >= self.repeat_gap_s
        self._active[shortcut_id] = True
        self._last[shortcut_id] = now
        return new

    def deactivated(self, shortcut_id: str, now: float) -> None:
        """Record a Deactivated."""
        self._active[shortcut_id] = False
        self._last[shortcut_id] = now
        self._released[shortcut_id] = now
