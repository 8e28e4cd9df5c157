"""X11 for the app shell: python-xlib made safe across threads, and the
tray's own X connection.

Applied once: :func:`thread_safe_xlib` is called by the app's entry point
(:func:`loopcap.app.main.run_app`) before the tray or pynput open a display,
so every display of the process has real locks and the wake-up fix below.

**The lost wake-up in python-xlib's thread-safe mode (0.33, the latest).**
pystray's Xorg backend shares one X connection between its event loop (the
main thread) and whichever thread changes the icon: that thread queues a
message and calls ``flush()``, then waits for the loop to act on it.  With
``Xlib.threaded`` imported the connection has real locks, but
``send_and_recv`` still has a lost wake-up: a thread that is only *sending*
(a flush, while another thread receives) returns early when the socket turns
readable, and on that path it clears ``send_active`` without waking a thread
that went to sleep waiting for it to send its request.  If that sleeper is
the event loop, nobody is left to send its request or read the reply, and the
icon hangs for good (measured on Xvfb: the loop stuck in ``get_geometry``
after 24 to 231 replies in a 3-thread stress run; in CI the tray icon never
appeared).

The fix wraps ``send_and_recv``: when any call returns, a thread still waiting
for a sender or a receiver that no longer exists is woken.  python-xlib's own
contract is that a woken caller re-checks and calls again ("it is not
guaranteed that the return condition has been fulfilled when the function
returns"), so an extra wake-up is always safe; a missed one is the bug.
"""

from __future__ import annotations

import functools
import os

from loopcap.log import logger

__all__ = [
    "thread_safe_xlib",
    "fix_send_and_recv",
    "XConnection",
    "x11_tray_owner",
    "panel_colour_around",
]

RGB = tuple[int, int, int]
Box = tuple[int, int, int, int]


def thread_safe_xlib() -> None:
    """Make python-xlib safe to use from several threads (python-xlib #279).

    Without ``Xlib.threaded`` its locks are dummies: pystray's Xorg backend
    uses one display from its event loop and from the setup thread (``visible
    = True``), and a flush from one thread can take the reply the other waits
    for, which then waits forever (measured: the icon never appeared, the loop
    stuck in ``get_geometry`` at start).  Displays made after this call get
    real locks, so it must run before pystray or pynput make theirs: the app's
    entry point calls it once, first.  Real locks are not enough: python-xlib
    also loses a wake-up between threads, which :func:`fix_send_and_recv` mends.
    Idempotent; does nothing where python-xlib is not installed.
    """
    try:
        import Xlib.threaded  # noqa: F401 - importing it is what switches the locks
    except ImportError:  # not an X11 system
        return
    fix_send_and_recv()


def fix_send_and_recv() -> bool:
    """Patch ``Xlib.protocol.display.Display.send_and_recv`` once.

    Returns True if python-xlib is present (patched now or before), False if
    it is not installed (no X11 here).  Safe to call from any thread, any
    number of times; affects every display, including pystray's and pynput's.
    """
    try:
        from Xlib.protocol import display as xdisplay
    except ImportError:
        return False
    original = xdisplay.Display.send_and_recv
    if getattr(original, "_loopcap_fixed", False):
        return True

    @functools.wraps(original)
    def send_and_recv(self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        finally:
            _wake_orphans(self)

    send_and_recv._loopcap_fixed = True  # type: ignore[attr-defined]
    xdisplay.Display.send_and_recv = send_and_recv
    return True


def _wake_orphans(conn) -> None:
    """Wake threads that wait for a sender or receiver that has gone.

    Runs after every ``send_and_recv`` return, under the connection's
    ``send_recv_lock`` (the lock python-xlib guards these fields with).
    """
    lock = conn.send_recv_lock
    lock.acquire()
    try:
        if conn.request_waiting and not conn.send_active:
            conn.request_waiting = 0
            conn.request_wait_lock.release()
        if conn.event_waiting and not conn.recv_active:
            conn.event_waiting = 0
            conn.event_wait_lock.release()
    finally:
        lock.release()


class XConnection:
    """A connection to the X server of loopcap's own, for one thread: opened
    at first use, kept, and opened again after a failure.

    The icon is redrawn and its docking checked once a second, each on its
    own thread; opening a connection costs ~3 ms of CPU (measured), so
    opening one for every check cost 0.6% of a core while the app waited,
    more than the capture itself.  A request on an open one: ~0.1 ms.
    Not thread-safe: one instance per thread that uses it.
    """

    def __init__(self) -> None:
        self._display = None

    def get(self):
        """The open display, opened now if needed (raises if X is unreachable)."""
        if self._display is None:
            from Xlib import display

            d = display.Display()
            # Errors of requests that have no reply (an event sent to a window
            # that has just gone) arrive later; log them, do not print them.
            d.set_error_handler(lambda err, *_: logger.debug(f"X error: {err}"))
            self._display = d
        return self._display

    def reset(self) -> None:
        """Close the display (after a failure); the next :meth:`get` opens a new one."""
        d, self._display = self._display, None
        if d is not None:
            try:
                d.close()
            except Exception:
                pass


def _intersect(a: Box, b: Box) -> Box | None:
    box = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return box if box[0] < box[2] and box[1] < box[3] else None


def _root_box(window, root) -> Box:
    """``window``'s (left, top, right, bottom) in root coordinates."""
    geometry = window.get_geometry()
    pos = window.translate_coords(root, 0, 0)  # root's origin in window coordinates
    return -pos.x, -pos.y, -pos.x + geometry.width, -pos.y + geometry.height


def _pixels(d, root, box: Box) -> list[RGB] | None:
    """The screen's pixels in ``box`` (root coordinates), row by row, read with
    GetImage on the root window (what the screen shows, the windows on it
    included); None where the root visual is not 24-bit TrueColor in 32-bit
    pixels (the only layout decoded here)."""
    from Xlib import X

    info = d.display.info
    screen = d.screen()
    bpp = {f.depth: f.bits_per_pixel for f in info.pixmap_formats}.get(screen.root_depth)
    visual = next(
        (
            v
            for dd in screen.allowed_depths
            for v in dd.visuals
            if v.visual_id == screen.root_visual
        ),
        None,
    )
    if bpp != 32 or visual is None or (visual.red_mask, visual.blue_mask) != (0xFF0000, 0xFF):
        return None
    width, height = box[2] - box[0], box[3] - box[1]
    data = root.get_image(box[0], box[1], width, height, X.ZPixmap, 0xFFFFFFFF).data
    r, g, b = (2, 1, 0) if info.image_byte_order == X.LSBFirst else (1, 2, 3)
    return [(data[i + r], data[i + g], data[i + b]) for i in range(0, width * height * 4, 4)]


def panel_colour_around(d, window_id: int, margin: int = 3) -> RGB | None:
    """The colour a panel shows around the docked window ``window_id``: the
    most frequent colour in a ``margin``-pixel frame around it, inside the
    panel's top-level window (the whole panel if the frame is empty: an icon as
    tall as its panel).  None while the window is not docked (its parent is the
    root) or where the screen's pixels are not decoded (see :func:`_pixels`).

    ``d`` is a python-xlib display of the calling thread's own (one request
    per ancestor and one GetImage of a few hundred pixels: about a millisecond).
    """
    window = d.create_resource_object("window", window_id)
    tree = window.query_tree()
    root, top = tree.root, window
    if tree.parent == root:
        return None  # not docked: no panel around it yet
    while True:
        parent = top.query_tree().parent
        if parent == root:
            break
        top = parent
    icon = _root_box(window, root)
    screen = d.screen()
    panel = _intersect(
        _root_box(top, root), (0, 0, screen.width_in_pixels, screen.height_in_pixels)
    )
    if panel is None:
        return None
    wide = (icon[0] - margin, icon[1] - margin, icon[2] + margin, icon[3] + margin)
    for area in (_intersect(wide, panel), panel):
        if area is None:
            continue
        pixels = _pixels(d, root, area)
        if pixels is None:
            return None
        width = area[2] - area[0]
        counts: dict[RGB, int] = {}
        for i, c in enumerate(pixels):
            x, y = area[0] + i % width, area[1] + i // width
            if not (icon[0] <= x < icon[2] and icon[1] <= y < icon[3]):
                counts[c] = counts.get(c, 0) + 1
        if sum(counts.values()) >= 4:
            return max(counts, key=counts.__getitem__)
    return None


def x11_tray_owner() -> bool | None:
    """True/False: an X11 system tray exists or not; None: not an X11 session."""
    if not os.environ.get("DISPLAY"):
        return None
    try:
        from Xlib import X, display
    except ImportError:
        return None
    try:
        d = display.Display()
    except Exception:
        return False
    try:
        atom = d.intern_atom(f"_NET_SYSTEM_TRAY_S{d.get_default_screen()}")
        return d.get_selection_owner(atom) != X.NONE
    finally:
        d.close()
