"""A stand-in ``org.kde.StatusNotifierWatcher`` for tests, on a private bus,
and a small client that reads and clicks a StatusNotifierItem as a panel would.

KDE's watcher (or GNOME's AppIndicator extension) in a few lines of
dbus-fast: ``RegisterStatusNotifierItem`` (recorded with the caller's unique
name), ``RegisterStatusNotifierHost``, the properties
``RegisteredStatusNotifierItems``, ``IsStatusNotifierHostRegistered`` (the
``host`` argument: False is a watcher no panel uses) and ``ProtocolVersion``,
and the ``StatusNotifierItemRegistered`` / ``...HostRegistered`` signals.

``with SniWatcher(bus.address) as watcher`` (``bus`` a
:class:`dbusrig.PrivateBus`): the service runs on its own
:class:`loopcap.app.desktop.bus.SessionBus` in the test process;
``watcher.wait_registered()`` waits for an item and returns its service;
``SniClient(watcher.session, service)`` reads its properties, its dbusmenu
layout and clicks menu items (``click("Start")``), and records the signals
the item and its menu send.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated, Any

from dbus_fast import Message, MessageType
from dbus_fast.annotations import DBusSignature
from dbus_fast.constants import PropertyAccess
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property, dbus_signal
from dbus_fast.signature import Variant

from loopcap.app.desktop.bus import SessionBus

__all__ = ["SniWatcher", "SniClient", "NAME", "PATH"]

NAME = "org.kde.StatusNotifierWatcher"
PATH = "/StatusNotifierWatcher"
ITEM_PATH = "/StatusNotifierItem"

Str = Annotated[str, DBusSignature("s")]
Strs = Annotated[list[str], DBusSignature("as")]
Bool = Annotated[bool, DBusSignature("b")]
Int = Annotated[int, DBusSignature("i")]


class _Watcher(ServiceInterface):
    def __init__(self, watcher: SniWatcher) -> None:
        super().__init__(NAME)
        self.watcher = watcher

    @dbus_method()
    def RegisterStatusNotifierItem(self, service: Str):  # noqa: N802 (D-Bus names)
        self.watcher._items.append(service)
        self.StatusNotifierItemRegistered(service)
        self.watcher._changed.set()

    @dbus_method()
    def RegisterStatusNotifierHost(self, service: Str):  # noqa: N802
        self.watcher.host = True
        self.StatusNotifierHostRegistered()

    @dbus_property(access=PropertyAccess.READ)
    def RegisteredStatusNotifierItems(self) -> Strs:  # noqa: N802
        return list(self.watcher._items)

    @dbus_property(access=PropertyAccess.READ)
    def IsStatusNotifierHostRegistered(self) -> Bool:  # noqa: N802
        return self.watcher.host

    @dbus_property(access=PropertyAccess.READ)
    def ProtocolVersion(self) -> Int:  # noqa: N802
        return 0

    @dbus_signal()
    def StatusNotifierItemRegistered(self, service: str) -> Str:  # noqa: N802
        return service

    @dbus_signal()
    def StatusNotifierItemUnregistered(self, service: str) -> Str:  # noqa: N802
        return service

    @dbus_signal()
    def StatusNotifierHostRegistered(self):  # noqa: N802
        return None


class SniWatcher:
    """The stand-in watcher.  ``registrations``: (caller's unique name,
    service as given), in order; ``items``: the services as given."""

    def __init__(self, address: str, host: bool = True) -> None:
        self.address = address
        self.host = host
        self.session = SessionBus(address)
        self._items: list[str] = []
        self.registrations: list[tuple[str, str]] = []
        self._changed = threading.Event()

    @property
    def items(self) -> list[str]:
        return list(self._items)

    def _record(self, msg: Message) -> None:
        if msg.member == "RegisterStatusNotifierItem" and msg.path == PATH and msg.body:
            self.registrations.append((str(msg.sender), str(msg.body[0])))
        return None

    def start(self) -> SniWatcher:
        self.session.connect()

        async def setup() -> None:
            bus = self.session.bus
            bus.add_message_handler(self._record)
            bus.export(PATH, _Watcher(self))
            await bus.request_name(NAME)

        self.session.run(setup(), 5)
        return self

    def wait_registered(self, n: int = 1, timeout: float = 5.0) -> str:
        """Wait for the n-th registration; returns that item's service."""
        deadline = time.monotonic() + timeout
        while len(self._items) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self._items)} items registered, waited for {n}")
            self._changed.wait(0.05)
            self._changed.clear()
        return self._items[n - 1]

    def stop(self) -> None:
        self.session.close()

    def __enter__(self) -> SniWatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _plain(value: Any) -> Any:
    """Variants unwrapped, all the way down."""
    if isinstance(value, Variant):
        return _plain(value.value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class SniClient:
    """A panel's view of one StatusNotifierItem: properties, the dbusmenu
    layout, clicks.  ``signals``: (path, member, plain body) received from the
    item's connection since this client was made.  Any thread but the bus's."""

    def __init__(self, session: SessionBus, service: str, timeout: float = 5.0) -> None:
        self.session = session
        self.timeout = timeout
        self.service = service
        self.owner = service if service.startswith(":") else self._owner(service)
        self.signals: list[tuple[str, str, Any]] = []
        self._signalled = threading.Event()

        def on_message(msg: Message) -> None:
            if msg.message_type == MessageType.SIGNAL and msg.sender == self.owner:
                self.signals.append((msg.path, msg.member, _plain(msg.body)))
                self._signalled.set()
            return None

        async def subscribe() -> None:
            self.session.bus.add_message_handler(on_message)
            rule = f"type='signal',sender='{self.owner}'"
            await self._call_async(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "AddMatch",
                "s",
                [rule],
            )

        self.session.run(subscribe(), timeout)
        self.menu_path = str(self.property("Menu"))

    async def _call_async(
        self,
        dest: str,
        path: str,
        iface: str,
        member: str,
        sig: str = "",
        body: list[Any] | None = None,
    ) -> list[Any]:
        reply = await self.session.bus.call(
            Message(
                destination=dest,
                path=path,
                interface=iface,
                member=member,
                signature=sig,
                body=body or [],
            )
        )
        if reply.message_type == MessageType.ERROR:
            raise RuntimeError(f"{member}: {reply.error_name}: {reply.body}")
        return list(reply.body)

    def call(
        self, path: str, iface: str, member: str, sig: str = "", body: list[Any] | None = None
    ) -> list[Any]:
        dest = self.owner
        return self.session.run(
            self._call_async(dest, path, iface, member, sig, body), self.timeout
        )

    def _owner(self, name: str) -> str:
        async def ask() -> list[Any]:
            return await self._call_async(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "GetNameOwner",
                "s",
                [name],
            )

        return str(self.session.run(ask(), self.timeout)[0])

    def property(
        self, name: str, path: str = ITEM_PATH, iface: str = "org.kde.StatusNotifierItem"
    ) -> Any:
        (value,) = self.call(path, "org.freedesktop.DBus.Properties", "Get", "ss", [iface, name])
        return _plain(value)

    def layout(self) -> tuple[int, list[Any]]:
        """(revision, [id, props, children]) of the whole menu, plain values."""
        revision, tree = self.call(
            self.menu_path, "com.canonical.dbusmenu", "GetLayout", "iias", [0, -1, []]
        )
        return int(revision), _plain(tree)

    def items(self) -> list[tuple[int, dict[str, Any]]]:
        """Every item of the menu, depth first: (id, properties)."""
        out: list[tuple[int, dict[str, Any]]] = []

        def walk(node: list[Any]) -> None:
            for child in node[2]:
                out.append((child[0], child[1]))
                walk(child)

        walk(self.layout()[1])
        return out

    def labels(self) -> list[str]:
        return [str(p["label"]) for _, p in self.items() if "label" in p]

    def find(self, prefix: str) -> int:
        """The id of the first item whose label starts with ``prefix``."""
        for item_id, props in self.items():
            if str(props.get("label", "")).startswith(prefix):
                return item_id
        raise LookupError(f"no menu item starts with {prefix!r}: {self.labels()}")

    def click(self, prefix_or_id: str | int) -> int:
        """Send ``Event(id, "clicked")`` as a panel does; returns the id."""
        item_id = prefix_or_id if isinstance(prefix_or_id, int) else self.find(prefix_or_id)
        self.call(
            self.menu_path,
            "com.canonical.dbusmenu",
            "Event",
            "isvu",
            [item_id, "clicked", Variant("s", ""), 0],
        )
        return item_id

    def activate(self) -> None:
        """A left click on the icon."""
        self.call(ITEM_PATH, "org.kde.StatusNotifierItem", "Activate", "ii", [0, 0])

    def wait_signal(self, member: str, timeout: float = 5.0, since: int = 0) -> Any:
        """The body of the first signal ``member`` at index >= ``since``."""
        deadline = time.monotonic() + timeout
        while True:
            for _path, name, body in self.signals[since:]:
                if name == member:
                    return body
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {member} signal; got {[s[1] for s in self.signals]}")
            self._signalled.wait(0.05)
            self._signalled.clear()
