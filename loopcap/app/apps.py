"""Per-application capture as the app shell sees it: which source a capture
records (one app's playback, or the whole output), how an application is
told to the user, and the one sentence said when the app named is not playing.

The device layer does the recording (:func:`loopcap.device.open_app_source`:
the mix of the app's playback streams, silence while it plays nothing); this
module only chooses, names and explains.  Every function here may be called
from any thread; :func:`open_capture_source` and :func:`apps_playing` ask the
sound server (a few ms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from loopcap.errors import LoopcapError
from loopcap.log import logger

if TYPE_CHECKING:
    from loopcap.device import AppInfo, Source

__all__ = [
    "CaptureChoice",
    "app_line",
    "apps_playing",
    "open_capture_source",
    "playing_note",
    "EVERYTHING",
]

#: What the tray's "Record from" menu calls the whole output.
EVERYTHING = "Everything"


@dataclass(frozen=True)
class CaptureChoice:
    """An opened source and what to tell the user about it (once)."""

    source: Source
    #: The application recorded ("" = the whole output of ``source``).
    app: str = ""
    #: One sentence when the app is not playing now (the capture is silence
    #: until it plays), else "".
    note: str = ""


def app_line(app: AppInfo) -> str:
    """One application as ``loopcap apps`` prints it: its name, program, pid,
    playback streams and the outputs they play to."""
    program = f"{app.binary}, " if app.binary else ""
    pid = f"pid {app.pid}, " if app.pid is not None else ""
    n = len(app.streams)
    streams = f"{n} stream{'s' if n != 1 else ''}"
    if n:
        streams += f" ({', '.join(str(i) for i in app.streams)})"
    sinks = f" on {', '.join(app.sinks)}" if app.sinks else ""
    return f"{app.name} ({program}{pid}{streams}{sinks})"


def _short(app: AppInfo) -> str:
    return f"{app.name} ({app.binary})" if app.binary and app.binary != app.name else app.name


def playing_note(name: str, apps: list[AppInfo]) -> str:
    """The sentence said once when no application matching ``name`` is among
    ``apps`` (those playing now): the capture waits for it, silence until it
    plays, and which apps do play, so a misspelt name is seen at once.
    "" when it plays.  Pure."""
    from loopcap.device import match_app

    if match_app(name, apps):
        return ""
    playing = ", ".join(dict.fromkeys(_short(a) for a in apps)) or "none"
    return (
        f"no application matching {name!r} is playing now: the capture is silence until it "
        f"plays (playing now: {playing}; `loopcap apps` lists them)"
    )


def open_capture_source(app: str, device: str) -> CaptureChoice:
    """Open what a capture records: the application ``app`` alone where it is
    not "" (``device`` is then not used: the app is followed on any output),
    else the loopback ``device`` ("" = the default output's).

    Raises DeviceError where per-app capture is unsupported, or when the
    device is missing or no server runs.  An app that is not playing is no
    error: the returned ``note`` says so.
    """
    from loopcap.device import list_apps, match_app, open_app_source, open_source

    if not app:
        return CaptureChoice(open_source(device))
    if device:
        logger.info(f"recording the application {app!r}: [capture] device {device!r} is not used")
    source = open_app_source(app)
    try:
        apps = list_apps()
    except LoopcapError as exc:  # the stream itself will tell if the server is gone
        logger.debug(f"the applications playing cannot be listed: {exc}")
        return CaptureChoice(source, app)
    note = playing_note(app, apps)
    if not note:
        found = ", ".join(app_line(a) for a in match_app(app, apps))
        logger.info(f"recording the application {app!r} only: {found}")
    return CaptureChoice(source, app, note)


def apps_playing() -> tuple[list[AppInfo], str]:
    """The applications playing now, for the tray's "Record from" menu, and
    "" or why there are none to offer (this system records the whole output
    only; no sound server).  Never raises; one short request to the server."""
    from loopcap.device import app_capture_support, list_apps

    try:
        supported, why = app_capture_support()
        if not supported:
            return [], why
        return list_apps(), ""
    except LoopcapError as exc:
        return [], str(exc)
    except Exception as exc:  # the menu must open whatever the server answers
        logger.debug(f"listing the applications failed: {exc!r}")
        return [], "the applications playing cannot be listed"
