"""The tray icon as an ``org.kde.StatusNotifierItem`` object.

Serves the state's icon (pixels: no icon theme to install), the tooltip and
the status, and takes the host's clicks: ``Activate`` (a left click) toggles
a capture like a click on the X11 icon.  ``ItemIsMenu`` is false so hosts
send ``Activate`` at all (XFCE's plugin needs it: blueman PR #1382); the menu
is the ``com.canonical.dbusmenu`` object at ``Menu``.

Imports dbus-fast at the top: Linux only, imported lazily by
:mod:`loopcap.app.desktop.sni`.  Threading: every method and
:meth:`StatusNotifierItem.update` run on the
:class:`~loopcap.app.desktop.bus.SessionBus` loop thread.
"""

import functools
from collections.abc import Callable
from typing import Annotated, Any

from dbus_fast.annotations import DBusSignature
from dbus_fast.constants import PropertyAccess
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property, dbus_signal
from PIL import Image

from loopcap.app.icons import icon_image

__all__ = ["StatusNotifierItem", "ITEM_INTERFACE", "ITEM_PATH", "MENU_PATH", "pixmaps"]

ITEM_INTERFACE = "org.kde.StatusNotifierItem"
ITEM_PATH = "/StatusNotifierItem"
MENU_PATH = "/MenuBar"
#: The icon's sizes in pixels: hosts pick the nearest (22-24 px panels, 2x
#: HiDPI ones and KDE's larger panels).
PIXMAP_SIZES = (22, 32, 48)

Int32 = Annotated[int, DBusSignature("i")]
Str = Annotated[str, DBusSignature("s")]
Bool = Annotated[bool, DBusSignature("b")]
ObjectPath = Annotated[str, DBusSignature("o")]
Pixmaps = Annotated[list[Any], DBusSignature("a(iiay)")]
ToolTipStruct = Annotated[list[Any], DBusSignature("(sa(iiay)ss)")]


def argb32(image: Image.Image) -> bytes:
    """An RGBA image's pixels as ARGB32 in network byte order (A, R, G, B
    bytes), as the StatusNotifierItem spec's ``IconPixmap`` wants (ksni #20
    quotes it).  Pillow has no ARGB packer: reorder the bands."""
    r, g, b, a = image.convert("RGBA").split()
    return Image.merge("RGBA", (a, r, g, b)).tobytes()


@functools.lru_cache(maxsize=16)
def pixmaps(state: str) -> tuple[tuple[int, int, bytes], ...]:
    """``state``'s icon at :data:`PIXMAP_SIZES`, as ``(width, height, ARGB32)``."""
    return tuple((s, s, argb32(icon_image(state, s))) for s in PIXMAP_SIZES)


class StatusNotifierItem(ServiceInterface):
    """The item's D-Bus interface.  ``on_activate()``: a left click (loop thread)."""

    def __init__(self, item_id: str, on_activate: Callable[[], object]) -> None:
        super().__init__(ITEM_INTERFACE)
        self._id = item_id
        self._on_activate = on_activate
        self.status = "Active"
        self.icon_state = "idle"
        self.tooltip = "loopcap"

    def update(self, status: str, icon_state: str, tooltip: str) -> None:
        """Change what is shown; each change is signalled (NewStatus, NewIcon,
        NewToolTip) so hosts read the property again.  Loop thread."""
        if icon_state != self.icon_state:
            self.icon_state = icon_state
            self.NewIcon()
            self.NewAttentionIcon()
        if status != self.status:
            self.status = status
            self.NewStatus(status)
        if tooltip != self.tooltip:
            self.tooltip = tooltip
            self.NewToolTip()

    def _pixmaps(self) -> list[Any]:
        return [list(p) for p in pixmaps(self.icon_state)]

    # ------------------------------------------------------------ methods

    @dbus_method()
    def Activate(self, x: Int32, y: Int32) -> None:
        self._on_activate()

    @dbus_method()
    def SecondaryActivate(self, x: Int32, y: Int32) -> None:
        pass  # a middle click: nothing (a toggle by mistake would be worse)

    @dbus_method()
    def ContextMenu(self, x: Int32, y: Int32) -> None:
        pass  # hosts show the dbusmenu themselves

    @dbus_method()
    def Scroll(self, delta: Int32, orientation: Str) -> None:
        pass

    # ------------------------------------------------------------ signals

    @dbus_signal()
    def NewTitle(self) -> None:
        return None

    @dbus_signal()
    def NewIcon(self) -> None:
        return None

    @dbus_signal()
    def NewAttentionIcon(self) -> None:
        return None

    @dbus_signal()
    def NewOverlayIcon(self) -> None:
        return None

    @dbus_signal()
    def NewToolTip(self) -> None:
        return None

    @dbus_signal()
    def NewStatus(self, status: str) -> Str:
        return status

    # ------------------------------------------------------------ properties

    @dbus_property(access=PropertyAccess.READ)
    def Category(self) -> Str:
        return "ApplicationStatus"

    @dbus_property(access=PropertyAccess.READ)
    def Id(self) -> Str:
        return self._id

    @dbus_property(access=PropertyAccess.READ)
    def Title(self) -> Str:
        return "loopcap"

    @dbus_property(access=PropertyAccess.READ)
    def Status(self) -> Str:
        return self.status

    @dbus_property(access=PropertyAccess.READ)
    def WindowId(self) -> Int32:
        return 0

    @dbus_property(access=PropertyAccess.READ)
    def IconName(self) -> Str:
        return ""  # the pixels below: no icon theme needed

    @dbus_property(access=PropertyAccess.READ)
    def IconThemePath(self) -> Str:
        return ""

    @dbus_property(access=PropertyAccess.READ)
    def IconPixmap(self) -> Pixmaps:
        return self._pixmaps()

    @dbus_property(access=PropertyAccess.READ)
    def OverlayIconName(self) -> Str:
        return ""

    @dbus_property(access=PropertyAccess.READ)
    def OverlayIconPixmap(self) -> Pixmaps:
        return []

    @dbus_property(access=PropertyAccess.READ)
    def AttentionIconName(self) -> Str:
        return ""

    @dbus_property(access=PropertyAccess.READ)
    def AttentionIconPixmap(self) -> Pixmaps:
        # Shown instead of IconPixmap while NeedsAttention (recording): the same
        # red icon, so every host shows the recording state alike.
        return self._pixmaps()

    @dbus_property(access=PropertyAccess.READ)
    def AttentionMovieName(self) -> Str:
        return ""

    @dbus_property(access=PropertyAccess.READ)
    def ToolTip(self) -> ToolTipStruct:
        return ["", [], "loopcap", self.tooltip]

    @dbus_property(access=PropertyAccess.READ)
    def ItemIsMenu(self) -> Bool:
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Menu(self) -> ObjectPath:
        return MENU_PATH
