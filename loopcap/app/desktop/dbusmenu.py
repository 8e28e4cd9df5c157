"""The tray's menu as a ``com.canonical.dbusmenu`` object (protocol version 3).

A StatusNotifierItem host (KDE Plasma, GNOME's AppIndicator extension, XFCE,
waybar, ...) reads the item's ``Menu`` path and draws this menu itself; a
click comes back as ``Event(id, "clicked", ...)``.  :class:`DBusMenu` holds
the menu made by :func:`loopcap.app.menu.menu_entries` and serves it.

Imports dbus-fast at the top: Linux only, imported lazily by
:mod:`loopcap.app.desktop.sni`.  Threading: everything here (the D-Bus
methods, :meth:`DBusMenu.set_entries`) runs on the
:class:`~loopcap.app.desktop.bus.SessionBus` loop thread; actions are called
there and only post to the controller or spawn an opener (never block).

Ids: an item keeps its id for as long as its label path (the labels from the
root to it) is the same; "Start capture" and "Stop capture" get different
ids.  So a click the host sends for a layout that has just changed never
does the opposite of what the user saw: an id that is gone is ignored.
"""

from collections.abc import Callable
from typing import Annotated, Any

from dbus_fast.annotations import DBusSignature
from dbus_fast.constants import PropertyAccess
from dbus_fast.errors import DBusError
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property, dbus_signal
from dbus_fast.signature import Variant

from loopcap.app.menu import MenuEntry
from loopcap.log import logger

__all__ = ["DBusMenu", "MENU_INTERFACE", "escape_label"]

MENU_INTERFACE = "com.canonical.dbusmenu"
VERSION = 3

# Annotated types: dbus-fast reads the D-Bus signatures from them (dbus-fast
# >= 4; plain signature strings would be undefined names to ruff and mypy).
Int32 = Annotated[int, DBusSignature("i")]
UInt32 = Annotated[int, DBusSignature("u")]
Bool = Annotated[bool, DBusSignature("b")]
Str = Annotated[str, DBusSignature("s")]
Strs = Annotated[list[str], DBusSignature("as")]
Ints = Annotated[list[int], DBusSignature("ai")]
AnyVariant = Annotated[Variant, DBusSignature("v")]
Layout = Annotated[list[Any], DBusSignature("u(ia{sv}av)")]
GroupProperties = Annotated[list[Any], DBusSignature("a(ia{sv})")]
Events = Annotated[list[Any], DBusSignature("a(isvu)")]
UpdatesAndErrors = Annotated[list[Any], DBusSignature("aiai")]
LayoutUpdate = Annotated[list[Any], DBusSignature("ui")]
PropertiesUpdate = Annotated[list[Any], DBusSignature("a(ia{sv})a(ias)")]
Activation = Annotated[list[Any], DBusSignature("iu")]

NO_SUCH_ITEM = "org.freedesktop.DBus.Error.InvalidArgs"


def escape_label(label: str) -> str:
    """A dbusmenu label shows ``_`` as the mark of an access key and ``__`` as
    an underscore: double them, or ``note_1.wav`` shows as ``note1.wav``
    (the protocol's ``label`` property; sway PR #6249 reads it so too)."""
    return label.replace("_", "__")


class _Item:
    __slots__ = ("entry", "props", "children")

    def __init__(self, entry: MenuEntry | None, props: dict[str, Variant]) -> None:
        self.entry = entry
        self.props = props
        self.children: list[int] = []


def _props(entry: MenuEntry) -> dict[str, Variant]:
    if entry.separator:
        return {"type": Variant("s", "separator"), "visible": Variant("b", True)}
    props = {
        "label": Variant("s", escape_label(entry.label)),
        "enabled": Variant("b", entry.enabled),
        "visible": Variant("b", True),
    }
    if entry.children:
        props["children-display"] = Variant("s", "submenu")
    if entry.checked is not None:
        props["toggle-type"] = Variant("s", "radio")
        props["toggle-state"] = Variant("i", 1 if entry.checked else 0)
    return props


def _pick(props: dict[str, Variant], names: list[str]) -> dict[str, Variant]:
    """The properties asked for (all of them for an empty list)."""
    return {k: v for k, v in props.items() if not names or k in names}


def _same(a: dict[str, Variant], b: dict[str, Variant]) -> bool:
    return a.keys() == b.keys() and all(a[k].value == b[k].value for k in a)


class DBusMenu(ServiceInterface):
    """``com.canonical.dbusmenu`` serving a list of :class:`MenuEntry`.  Loop thread only."""

    def __init__(self) -> None:
        super().__init__(MENU_INTERFACE)
        self.revision = 1
        root = _Item(None, {"children-display": Variant("s", "submenu")})
        self._items: dict[int, _Item] = {0: root}
        self._ids: dict[tuple[str, ...], int] = {}
        #: Called (loop thread) with the item a host is about to show; makes
        #: the menu current (:meth:`set_entries`) and returns whether it changed.
        self.about_to_show: Callable[[int], bool] | None = None

    # ------------------------------------------------------------ the model

    def set_entries(self, entries: list[MenuEntry]) -> bool:
        """Show ``entries``.  When anything changed: the revision goes up,
        ``ItemsPropertiesUpdated`` names the items that kept their id but
        changed, and ``LayoutUpdated`` tells hosts to read the menu again.
        Returns whether anything changed."""
        items: dict[int, _Item] = {0: _Item(None, dict(self._items[0].props))}

        def add(parent: int, path: tuple[str, ...], entries: tuple[MenuEntry, ...]) -> None:
            for n, entry in enumerate(entries):
                key = (*path, entry.label if not entry.separator else f"--{n}")
                item_id = self._ids.setdefault(key, len(self._ids) + 1)
                items[item_id] = _Item(entry, _props(entry))
                items[parent].children.append(item_id)
                add(item_id, key, entry.children)

        add(0, (), tuple(entries))
        old = self._items
        changed = [
            i for i, item in items.items() if i in old and not _same(old[i].props, item.props)
        ]
        structure = {i: item.children for i, item in items.items()} != {
            i: item.children for i, item in old.items()
        }
        self._items = items
        if not changed and not structure:
            return False
        self.revision += 1
        if changed:
            self.ItemsPropertiesUpdated([[i, items[i].props] for i in changed], [])
        self.LayoutUpdated(self.revision, 0)
        return True

    def labels(self) -> list[str]:
        """The labels shown, depth first (for logs and tests)."""
        return [str(i.props["label"].value) for i in self._items.values() if "label" in i.props]

    def _layout(self, item_id: int, depth: int, names: list[str]) -> list[Any]:
        item = self._items[item_id]
        props = _pick(item.props, names)
        children = []
        if depth != 0:
            for child in item.children:
                children.append(Variant("(ia{sv}av)", self._layout(child, depth - 1, names)))
        return [item_id, props, children]

    def _click(self, item_id: int, event_id: str) -> bool:
        item = self._items.get(item_id)
        if item is None:
            return False
        entry = item.entry
        if event_id != "clicked" or entry is None or entry.action is None or not entry.enabled:
            return True
        logger.debug(f"tray menu: {entry.label}")
        try:
            entry.action()
        except Exception as exc:  # an action must never take the bus's loop down
            logger.warning(f"the menu item {entry.label!r} failed: {exc}")
        return True

    # ------------------------------------------------------------ D-Bus

    @dbus_method()
    def GetLayout(self, parent_id: Int32, recursion_depth: Int32, property_names: Strs) -> Layout:
        if parent_id not in self._items:
            raise DBusError(NO_SUCH_ITEM, f"no menu item {parent_id}")
        return [self.revision, self._layout(parent_id, recursion_depth, property_names)]

    @dbus_method()
    def GetGroupProperties(self, ids: Ints, property_names: Strs) -> GroupProperties:
        # An empty list means every item (libdbusmenu asks so: blueman PR #1382).
        wanted = ids or list(self._items)
        return [
            [i, _pick(self._items[i].props, property_names)] for i in wanted if i in self._items
        ]

    @dbus_method()
    def GetProperty(self, item_id: Int32, name: Str) -> AnyVariant:
        item = self._items.get(item_id)
        if item is None or name not in item.props:
            raise DBusError(NO_SUCH_ITEM, f"no property {name!r} on menu item {item_id}")
        return item.props[name]

    @dbus_method()
    def Event(self, item_id: Int32, event_id: Str, data: AnyVariant, timestamp: UInt32) -> None:
        if not self._click(item_id, event_id):
            raise DBusError(NO_SUCH_ITEM, f"no menu item {item_id}")

    @dbus_method()
    def EventGroup(self, events: Events) -> Ints:
        return [e[0] for e in events if not self._click(e[0], e[1])]

    def _refresh(self, item_id: int) -> bool:
        """Make the menu current before it is shown ("Record from" lists the
        applications playing now); whether it changed."""
        if self.about_to_show is None or item_id not in self._items:
            return False
        try:
            return self.about_to_show(item_id)
        except Exception as exc:  # the menu must open whatever happens
            logger.warning(f"the tray menu could not be brought up to date: {exc}")
            return False

    @dbus_method()
    def AboutToShow(self, item_id: Int32) -> Bool:
        # The state's changes are signalled as they come; what is read only
        # now is the list of applications playing.
        return self._refresh(item_id)

    @dbus_method()
    def AboutToShowGroup(self, ids: Ints) -> UpdatesAndErrors:
        # Cinnamon's host calls this one, not AboutToShow (linuxmint/xapp #153).
        known = [i for i in ids if i in self._items]
        changed = self._refresh(known[0]) if known else False
        return [known if changed else [], [i for i in ids if i not in self._items]]

    @dbus_signal()
    def ItemsPropertiesUpdated(self, updated: list[Any], removed: list[Any]) -> PropertiesUpdate:
        return [updated, removed]

    @dbus_signal()
    def LayoutUpdated(self, revision: int, parent: int) -> LayoutUpdate:
        return [revision, parent]

    @dbus_signal()
    def ItemActivationRequested(self, item_id: int, timestamp: int) -> Activation:
        return [item_id, timestamp]

    @dbus_property(access=PropertyAccess.READ)
    def Version(self) -> UInt32:
        return VERSION

    @dbus_property(access=PropertyAccess.READ)
    def TextDirection(self) -> Str:
        return "ltr"

    @dbus_property(access=PropertyAccess.READ)
    def Status(self) -> Str:
        return "normal"

    @dbus_property(access=PropertyAccess.READ)
    def IconThemePath(self) -> Strs:
        return []
