"""``loopcap doctor``: can loopcap do its job here?  One line per check.

Each line: a verdict (ok, warn, FAIL), what was checked, and for anything
not ok what to do.  The exit status is 0 only if loopcap can record and save
(warnings, such as no tray, leave it usable).  On macOS it also checks the
BlackHole route and the permission global hotkeys need.  It lists the
applications playing now (what ``[capture] app`` and ``--app`` match) and says
where per-application capture is not available.  When nothing
failed it ends, after a blank line, with the first run's short summary
(:func:`loopcap.app.firstrun.welcome_lines`): the key, the folder, the menu.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf

from loopcap.app.firstrun import welcome_lines
from loopcap.config import Config
from loopcap.errors import EXIT_ERROR, EXIT_OK, LoopcapError
from loopcap.formats import CAPTURE_FORMATS, capture_target
from loopcap.fs import ensure_private_dir

if TYPE_CHECKING:
    from loopcap.device import AppInfo

__all__ = [
    "run_doctor",
    "checks",
    "closing_lines",
    "blackhole_lines",
    "mac_hotkey_line",
    "app_lines",
]

OK, WARN, FAIL = "ok", "warn", "FAIL"

_MULTI_OUTPUT = (
    "open Audio MIDI Setup, create a Multi-Output Device with your speakers and {dev}, "
    "and choose it as the output (System Settings > Sound)"
)


def blackhole_lines(route) -> list[tuple[str, str]]:
    """macOS: is there a virtual loopback device (BlackHole), and does the
    current output reach it?  ``route``: a
    :class:`~loopcap.device.soundcard.macos.OutputRoute`.  Pure."""
    from loopcap.device.soundcard.macos import reaches

    found = route.loopbacks
    if not found:
        return [
            (
                FAIL,
                "BlackHole: no virtual loopback device; macOS has none of its own: install "
                "BlackHole (brew install blackhole-2ch), then " + _MULTI_OUTPUT.format(dev="it"),
            )
        ]
    out = [(OK, f"BlackHole: {', '.join(found)}")]
    verdicts = {dev: reaches(route, dev) for dev in found}
    hit = [dev for dev, v in verdicts.items() if v]
    if route.output in found:
        out.append(
            (
                WARN,
                f"output: {route.output} itself, so loopcap hears everything and you hear "
                "nothing; " + _MULTI_OUTPUT.format(dev=route.output),
            )
        )
    elif hit:
        out.append((OK, f"output: {route.output} includes {hit[0]}"))
    elif None in verdicts.values():
        out.append(
            (
                WARN,
                f"output: cannot tell whether {route.output} includes {found[0]}; check it "
                "in Audio MIDI Setup",
            )
        )
    else:
        out.append(
            (
                FAIL,
                f"output: {route.output or 'none'} does not reach {found[0]}, so loopcap "
                "records silence; " + _MULTI_OUTPUT.format(dev=found[0]),
            )
        )
    return out


def mac_hotkey_line(trusted: bool | None) -> tuple[str, str]:
    """macOS: pynput hears keys only with Accessibility and Input Monitoring
    permission, and without them misses them silently (pynput #27, #389).
    ``trusted``: AXIsProcessTrusted(), None when it cannot be asked."""
    step = (
        "allow your terminal (or Python) in System Settings > Privacy & Security > "
        "Accessibility and > Input Monitoring, then restart loopcap"
    )
    if trusted:
        return OK, "hotkeys: Accessibility allowed (Input Monitoring is asked on first use)"
    if trusted is None:
        return WARN, f"hotkeys: cannot tell whether keys may be heard; {step}"
    return WARN, f"hotkeys: macOS does not let loopcap hear keys; {step}"


def _mac_trusted() -> bool | None:
    try:
        import HIServices  # pyobjc-framework-ApplicationServices, pynput's on macOS

        return bool(HIServices.AXIsProcessTrusted())
    except Exception:
        return None


def _mac_route() -> list[tuple[str, str]]:
    from loopcap.device import backend_name

    if backend_name() != "soundcard":
        return []
    from loopcap.device.soundcard.connection import soundcard_module
    from loopcap.device.soundcard.macos import read_route

    try:
        return blackhole_lines(read_route(soundcard_module()))
    except Exception as exc:  # soundcard's Core Audio helpers assert
        return [(WARN, f"BlackHole: the output route cannot be read ({exc})")]


def _sound(config: Config) -> list[tuple[str, str]]:
    from loopcap.device import list_loopbacks, open_source, server_name

    try:
        devices = list_loopbacks()
        server = server_name()
    except LoopcapError as exc:
        return [(FAIL, f"sound server: {exc}")]
    out = [(OK, f"sound server: {server or 'reachable'}")]
    if sys.platform == "darwin":
        out += _mac_route()
    if not devices:
        return out + [(FAIL, "loopback devices: none found; check that an output device exists")]
    default = [d for d in devices if d.default]
    names = ", ".join(f"{d.name} ({d.id})" for d in devices)
    out.append((OK, f"loopback devices: {names}"))
    if default:
        out.append((OK, f"default output's loopback: {default[0].id}"))
    else:
        out.append((WARN, "no loopback of the default output; set [capture] device"))
    try:
        source = open_source(config.capture.device)
        stream = source.open(config.capture.samplerate)
        got, t_end = 0, time.monotonic() + 3.0
        # A sink that sleeps delivers nothing, and read() waits for audio:
        # a drain at the deadline makes it return what it has.
        deadline = threading.Timer(3.0, stream.drain)
        deadline.daemon = True
        deadline.start()
        try:
            while got < config.capture.samplerate // 2 and time.monotonic() < t_end:
                got += len(stream.read()[0])
        finally:
            deadline.cancel()
            stream.close()
        if got:
            out.append(
                (OK, f"test capture from {source.info.id}: {got / config.capture.samplerate:.2f} s")
            )
        else:
            out.append(
                (
                    WARN,
                    "test capture: the device delivered no audio in 3 s (normal while "
                    "nothing plays on Windows, or on a sound card that sleeps)",
                )
            )
    except LoopcapError as exc:
        out.append((FAIL, f"test capture: {exc}"))
    return out + _apps(config)


def app_lines(
    app: str, support: tuple[bool, str], apps: list[AppInfo] | None, why: str = ""
) -> list[tuple[str, str]]:
    """Per-application capture: whether this system has it, the applications
    playing now (``apps``; None when they cannot be listed, ``why``), and
    whether ``[capture] app`` (``app``) is among them.  Pure."""
    from loopcap.app.apps import app_line, playing_note
    from loopcap.device import match_app

    supported, reason = support
    key = f"[capture] app = {app!r}"
    if not supported:
        if app:
            return [(FAIL, f'{key}: {reason}; set app = "" to record the whole output')]
        return [(OK, f"per-app capture: not here: {reason}")]
    if apps is None:
        return [(WARN, f"applications playing: cannot be listed ({why})")]
    listed = "; ".join(app_line(a) for a in apps) or "none now (`loopcap apps` lists them)"
    out = [(OK, f"applications playing: {listed}")]
    if app:
        note = playing_note(app, apps)
        if note:
            out.append((WARN, f"{key}: {note}"))
        else:
            names = ", ".join(dict.fromkeys(a.name for a in match_app(app, apps)))
            out.append((OK, f"{key}: records {names} only"))
    return out


def _apps(config: Config) -> list[tuple[str, str]]:
    from loopcap.device import app_capture_support, list_apps

    support = app_capture_support()
    if not support[0]:
        return app_lines(config.capture.app, support, None)
    try:
        return app_lines(config.capture.app, support, list_apps())
    except LoopcapError as exc:
        return app_lines(config.capture.app, support, None, str(exc))


def _display(config: Config) -> list[tuple[str, str]]:
    from loopcap.app.hotkeys import hotkey_doctor_lines, hotkey_support
    from loopcap.app.tray import tray_support

    out = []
    sni_ok, sni_reason = _sni()
    ok, reason = tray_support()
    if sni_ok:
        out.append((OK, f"tray: a StatusNotifierItem with a menu ({sni_reason})"))
    if ok:
        try:
            import pystray

            backend = pystray.Icon.__module__.rsplit(".", 1)[-1].lstrip("_")
        except Exception:
            backend = "?"
        if sni_ok:
            out.append((OK, f"tray: pystray's {backend} backend not used: SNI comes first"))
        else:
            out.append((OK, f"display and tray: tray backend {backend} (no SNI: {sni_reason})"))
    elif not sni_ok:
        out.append((WARN, f"tray: {reason}; no StatusNotifierItem host either ({sni_reason})"))
    # The backend this session uses, then why the others were not chosen.
    out += hotkey_doctor_lines(config.hotkeys)
    if sys.platform == "darwin" and hotkey_support()[0]:
        out.append(mac_hotkey_line(_mac_trusted()))
    return out


def _desktop_services(config: Config) -> list[tuple[str, str]]:
    """Notifications, start at login and (Linux) the desktop entry: one line each."""
    from loopcap.app.desktop import autostart, desktop_file
    from loopcap.app.desktop.notify import doctor_line

    out = [doctor_line(config.app.notify)]
    try:
        st = autostart.status()
        want = config.app.start_at_login
        line = f"start at login: {st.line()}"
        if st.enabled != want:
            line += (
                f"; loopcap's next start sets it {'on' if want else 'off'} ([app] start_at_login)"
            )
        out.append((OK, line))
    except OSError as exc:
        out.append((WARN, f"start at login: cannot be read ({exc})"))
    if sys.platform not in ("win32", "darwin"):
        entry = desktop_file.entry_path()
        if entry.exists():
            out.append((OK, f"desktop entry: {entry}"))
        else:
            out.append(
                (
                    WARN,
                    f"desktop entry: {entry} is missing (the desktop's portal names loopcap "
                    "by it); `loopcap run` installs it, or `loopcap install-desktop`",
                )
            )
    return out


def _output(config: Config) -> list[tuple[str, str]]:
    d = config.output.directory
    try:
        ensure_private_dir(d)  # 0700 whatever the umask, as every capture folder
        with tempfile.NamedTemporaryFile(dir=d, prefix=".doctor-", delete=True) as f:
            f.write(b"x")
        out = [(OK, f"output folder writable: {d}")]
    except OSError as exc:
        return [(FAIL, f"output folder {d}: {exc.strerror}; set [output] dir to a writable folder")]
    missing = []
    tone = np.zeros((4800, 2), np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        for name in CAPTURE_FORMATS:
            t = capture_target(name)
            rate = t.samplerate or 48000
            data = tone[: rate // 10, :1] if t.mono else tone
            try:
                sf.write(
                    Path(tmp) / f"{name}.{t.ext}", data, rate, format=t.format, subtype=t.subtype
                )
            except Exception:
                missing.append(name)
    if missing:
        out.append(
            (
                WARN if config.output.format not in missing else FAIL,
                f"formats: cannot write {', '.join(missing)} (libsndfile too old)",
            )
        )
    else:
        out.append((OK, f"formats: {', '.join(CAPTURE_FORMATS)}"))
    return out


def checks(config: Config) -> list[tuple[str, str]]:
    parts: list[Callable[[], list[tuple[str, str]]]] = [
        lambda: _sound(config),
        lambda: _display(config),
        lambda: _desktop_services(config),
        lambda: _output(config),
    ]
    return [line for part in parts for line in part()]


def closing_lines(
    config: Config,
    lines: list[tuple[str, str]],
    *,
    hotkeys_heard: bool = True,
    has_menu: bool | None = True,
) -> list[str]:
    """What doctor prints after its check ``lines``: the verdict, and when
    nothing failed a blank line and the first run's summary, indented
    (``hotkeys_heard``, ``has_menu``: see
    :func:`~loopcap.app.firstrun.welcome_lines`).  Pure."""
    if any(v == FAIL for v, _ in lines):
        return ["loopcap cannot record here yet: fix the FAIL lines above."]
    summary = welcome_lines(config, hotkeys_heard=hotkeys_heard, has_menu=has_menu)
    return ["loopcap can record here.", "", "How to use it:", *(f"  {s}" for s in summary)]


def _sni() -> tuple[bool, str]:
    """Whether the app would show a StatusNotifierItem here, and why (not)."""
    import sys

    if not sys.platform.startswith("linux"):
        return False, "not on this system"
    from loopcap.app.desktop.bus import DesktopUnavailable, SessionBus
    from loopcap.app.desktop.sni import sni_support

    try:
        bus = SessionBus().connect()
    except DesktopUnavailable as exc:
        return False, str(exc)
    try:
        return sni_support(bus)
    finally:
        bus.close()


def _desktop() -> tuple[bool, bool | None]:
    """(global hotkeys heard, the tray's menu: True, False for a plain X11
    tray icon, None for no tray), as the app would find them."""
    from loopcap.app.hotkeys import hotkey_support
    from loopcap.app.tray import tray_support

    has_menu: bool | None = None
    if tray_support()[0]:
        try:
            import pystray

            has_menu = bool(getattr(pystray.Icon, "HAS_MENU", True))
        except Exception:
            has_menu = None
    return hotkey_support()[0], has_menu


def run_doctor(config: Config) -> int:
    lines = checks(config)
    for verdict, text in lines:
        print(f"{verdict:<4} {text}")
    failed = any(v == FAIL for v, _ in lines)
    heard, has_menu = (True, None) if failed else _desktop()
    for line in closing_lines(config, lines, hotkeys_heard=heard, has_menu=has_menu):
        print(line)
    return EXIT_ERROR if failed else EXIT_OK
