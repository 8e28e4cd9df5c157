"""The app's state machine: idle -> recording -> saving -> idle (or error);
armed: idle -> armed -> (sound) recording -> (silence) saving -> idle.

Every input (hotkey, tray menu, control socket, signal, device failure) is an
event posted to one queue; one worker thread handles them in order.  So a key
pressed twenty times in a second gives ten whole captures one after another,
never two half ones, and no input thread ever waits on the device or the disk
(a hotkey callback that blocks leaves keys stuck: pynput #322).

What is recorded: the loopback of an output (``device``), or one
application's playback alone (``app``, :func:`loopcap.device.open_app_source`),
followed on whichever output it plays; :meth:`Controller.choose_app` (the
tray's "Record from" menu) switches between them while idle.

Listeners (the tray, the terminal) are told of every change through
:meth:`Controller.subscribe`; they are called on the worker thread and must
return quickly.  A ``notifier`` (:class:`SaveNotifier`, in the app
:class:`loopcap.app.desktop.notify.Notifier`) is told of every saved capture
and every failed save, once each, on the worker thread; it must not block
(the Notifier hands the work to a thread of its own).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from loopcap.app.apps import open_capture_source
from loopcap.capture.arm import ARM_CHECK_S, ARM_LEAD_S, Armed
from loopcap.capture.tap import Tap
from loopcap.config import Config
from loopcap.device import list_loopbacks, watch_default_output
from loopcap.errors import LoopcapError
from loopcap.fs import ensure_private_dir, link_exclusive
from loopcap.log import logger
from loopcap.naming import claim
from loopcap.session import Recording, Saved

__all__ = [
    "Controller",
    "SaveNotifier",
    "Snapshot",
    "IDLE",
    "ARMED",
    "RECORDING",
    "SAVING",
    "ERROR",
]

IDLE, ARMED, RECORDING, SAVING, ERROR = "idle", "armed", "recording", "saving", "error"
#: Seconds between attempts to reopen a device that failed.
RETRY_S = 2.0
#: The longest the worker sleeps without an event (a safety net: a tap that
#: ends posts an event at once), and how often it looks for a new default
#: output when the server cannot tell it (see Controller._follow_default).
WATCH_S = 2.0
#: The same while the server tells of a new default output: a safety net.
QUIET_WATCH_S = 60.0
RECENT = 5


@dataclass(frozen=True)
class Snapshot:
    """What listeners see: the state and what goes with it."""

    state: str
    started: float | None = None  # monotonic start of the current capture
    message: str = ""  # the error, or what was just saved
    recent: tuple[Path, ...] = ()
    saved: Saved | None = None  # the capture just saved (on the change to idle)
    armed: bool = False  # waiting for sound, or recording until silence
    app: str = ""  # the application recorded alone ("" = the whole output)

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started if self.started else 0.0


class SaveNotifier(Protocol):
    """Told of each save's end on the worker thread; returns at once, never raises."""

    def saved(self, saved: Saved) -> object: ...

    def failed(self, message: str) -> object: ...


@dataclass
class _Event:
    name: str
    t: float = field(default_factory=time.monotonic)
    done: threading.Event | None = None
    arg: str = ""  # choose_app: the application ("" = the whole output)


class Controller:
    """Owns the tap (open device) and the current recording.

    ``device``: the loopback to record (None: ``[capture] device``); ``app``:
    the application to record alone (None: ``[capture] app``, unless a
    ``device`` is given; "" the whole output).

    Lifecycle: :meth:`start` (opens the device, starts the worker), events via
    :meth:`post`, :meth:`quit` (saves a running capture, closes the device);
    :attr:`finished` is set when all is done.
    """

    def __init__(
        self,
        config: Config,
        device: str | None = None,
        notifier: SaveNotifier | None = None,
        app: str | None = None,
    ) -> None:
        self.config = config
        self.notifier = notifier
        self.device = config.capture.device if device is None else device
        if app is None:
            app = config.capture.app if device is None else ""
        #: The application recorded alone ("" = the whole output).  Worker thread.
        self.app = app
        self._noted: str | None = None  # the app whose "not playing" was said
        self.directory = config.output.directory
        self.finished = threading.Event()
        self._events: queue.Queue[_Event] = queue.Queue()
        self._listeners: list[Callable[[Snapshot], None]] = []
        self._tap: Tap | None = None
        self._rec: Recording | None = None
        self._armed: Armed | None = None
        self._recent: list[Path] = []
        self._snapshot = Snapshot(IDLE)
        self._next_retry = 0.0
        self._device_id: str | None = None  # the device last opened
        #: The OutputWatcher (see _follow_default); None before, False if none can run.
        self._outputs: Any = None
        self._thread = threading.Thread(target=self._run, name="loopcap-controller", daemon=True)

    # ------------------------------------------------------------ public

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def subscribe(self, listener: Callable[[Snapshot], None]) -> None:
        self._listeners.append(listener)
        listener(self._snapshot)

    def start(self) -> None:
        """Open the device (an error is shown, then retried) and start the worker."""
        self._open_tap()
        self._thread.start()

    def post(self, name: str) -> threading.Event:
        """Queue an event (toggle, start, stop, cancel, arm, quit); never blocks.

        Returns an Event set once the event has been handled.
        """
        done = threading.Event()
        self._events.put(_Event(name, done=done))
        return done

    def quit(self) -> None:
        self.post("quit")

    def choose_app(self, app: str) -> threading.Event:
        """Record the application ``app`` alone from now on ("" = everything
        the output plays), as the tray's "Record from" menu asks; taken while
        idle (or in error), refused while armed, recording or saving.  Lasts
        until the app quits (the config is not changed).  Never blocks;
        returns an Event set once handled."""
        done = threading.Event()
        self._events.put(_Event("choose_app", done=done, arg=app))
        return done

    # ------------------------------------------------------------ worker

    def _set(self, state: str, **kw) -> None:
        kw.setdefault("recent", tuple(self._recent))
        kw.setdefault("app", self.app)
        self._snapshot = Snapshot(state, **kw)
        for listener in list(self._listeners):
            try:
                listener(self._snapshot)
            except Exception:
                logger.exception("a state listener failed")

    def _open_tap(self, change: str = "", chosen: bool = False) -> None:
        """Open the tap on the application chosen, or else the configured
        device (or the default output's loopback); ``change`` says why the
        device differs from the last one (default: the last one is gone);
        ``chosen``: the user has just chosen what to record (say what now is)."""
        try:
            choice = open_capture_source(self.app, self.device)
            source = choice.source
            tap = Tap(source, self.config.capture.samplerate, self.config.capture.preroll_s)
            tap.start()
        except LoopcapError as exc:
            self._tap = None
            self._next_retry = time.monotonic() + RETRY_S
            if self._snapshot.state != ERROR or self._snapshot.message != str(exc):
                logger.error(f"loopcap: {exc}")
            self._set(ERROR, message=str(exc))
            return
        self._tap = tap
        tap.when_ended(lambda: self._events.put(_Event("watch")))
        previous, self._device_id = self._device_id, source.info.id
        note = ""
        if choice.note and self._noted != self.app:
            # Once per choice, not at every reopen: the app is waited for.
            note = choice.note
            logger.warning(f"loopcap: {note}")
        self._noted = self.app
        if chosen:
            what = f"{self.app!r} only" if self.app else "everything the output plays"
            msg = f"now recording {what} ({source.info.name})"
            logger.info(msg)
            self._set(IDLE, message=f"{msg}; {note}" if note else msg)
            return
        if previous is not None and previous != source.info.id:
            # The default output changed (its device went away): say so, never
            # carry on from another device silently.
            if not change:
                # PulseAudio moves a stream on the old default's monitor when
                # the default changes, and the watchdog ends the tap: the old
                # device may well still be there.
                try:
                    stays = previous in {d.id for d in list_loopbacks()}
                except LoopcapError:
                    stays = False
                change = "the default output changed" if stays else f"{previous} is gone"
            msg = f"now recording from {source.info.name} ({source.info.id}): {change}"
            logger.warning(f"loopcap: {msg}")
            self._set(IDLE, message=f"{msg}; {note}" if note else msg)
            return
        if self._snapshot.state == ERROR:
            logger.info(f"recording device is back: {source.info.name}")
        self._set(IDLE, message=note)

    def _run(self) -> None:
        try:
            while True:
                # A tap that ends posts "watch" (see _open_tap), so with a tap
                # this thread sleeps until an event (it used to wake 4 times a
                # second to look); without one it wakes for the next retry.
                if self._armed is not None and self._rec is not None:
                    # An armed capture ends on silence: look at the clock often.
                    timeout = ARM_CHECK_S
                elif self._tap is not None:
                    quiet = bool(self._outputs) and self._outputs.quiet
                    timeout = QUIET_WATCH_S if quiet else WATCH_S
                else:
                    timeout = min(WATCH_S, max(0.0, self._next_retry - time.monotonic()))
                try:
                    ev = self._events.get(timeout=timeout)
                except queue.Empty:
                    self._watch()
                    continue
                try:
                    if ev.name == "quit":
                        self._stop(ev.t)
                        break
                    self._handle(ev)
                except Exception:
                    logger.exception(f"handling {ev.name} failed")
                finally:
                    if ev.done is not None:
                        ev.done.set()
        finally:
            if self._tap is not None:
                self._tap.close()
            if self._outputs:
                self._outputs.close()
            self.finished.set()
            # Release anyone still waiting on an event that will never run.
            while not self._events.empty():
                left = self._events.get_nowait()
                if left.done is not None:
                    left.done.set()

    def _watch(self) -> None:
        """Between events: notice a failed device, retry a missing one."""
        tap = self._tap
        if self._armed is not None and self._rec is not None:
            now = time.monotonic()
            reason = self._armed.stop_reason(now, self._rec.t0)
            if reason is not None:
                logger.info(f"armed capture ends: {reason}")
                self._stop(now)
                return
        if tap is not None and tap.ended.is_set():
            err = tap.error or LoopcapError("the recording device closed")
            self._disarm()
            self._tap = None
            if self._rec is not None:
                self._stop(time.monotonic())
            logger.error(f"loopcap: {err}")
            self._set(ERROR, message=str(err), recent=tuple(self._recent))
            self._next_retry = time.monotonic() + RETRY_S
        elif tap is None and time.monotonic() >= self._next_retry:
            self._open_tap()
        elif (
            tap is not None
            and self._rec is None
            and self._armed is None
            and not self.device
            and not self.app  # an app's source follows the app on any output itself
        ):
            self._follow_default()

    def _follow_default(self) -> None:
        """While idle on the default output's loopback: move to the new
        default output when it changes while the old one stays (headphones
        plugged in, a Bluetooth headset connected), and say so.  A recording
        never moves: it goes on from its device, which still exists.

        soundcard has no event for this: the server's own events wake the
        watch (see loopcap.device.soundcard.outputs), or where it has none
        the device list is read at every watch (every WATCH_S)."""
        if self._outputs is None or (self._outputs and not self._outputs.alive):
            post = lambda: self._events.put(_Event("watch"))  # noqa: E731
            self._outputs = watch_default_output(post) or False
        elif self._outputs:
            self._outputs.changed.clear()  # looked at now
        try:
            default = next((d for d in list_loopbacks() if d.default), None)
        except LoopcapError:
            return  # the server is gone: the tap's own end tells
        if default is None or default.id == self._device_id or self._tap is None:
            return
        self._tap.close()
        self._tap = None
        self._open_tap(change="the default output changed")

    def _handle(self, ev: _Event) -> None:
        name = ev.name
        if name == "watch":
            self._watch()
            return
        if name == "choose_app":
            self._choose_app(ev.arg)
            return
        waiting = self._armed is not None and self._rec is None
        if name == "toggle":
            name = "stop" if self._rec is not None else "disarm" if waiting else "start"
        elif name == "arm":
            name = "stop" if self._rec is not None else "disarm" if waiting else "arm"
        if name == "start" and self._rec is None:
            self._disarm()
            self._start(ev.t)
        elif name == "arm" and self._rec is None:
            self._arm()
        elif (
            name == "sound"
            and waiting
            and self._armed is not None
            and (onset := self._armed.onset_t) is not None
        ):
            self._start(onset - ARM_LEAD_S, armed=True)
            if self._rec is None:
                self._disarm()
        elif name in ("disarm", "cancel", "stop") and waiting:
            self._disarm()
            self._set(IDLE, message="disarmed")
        elif name == "stop" and self._rec is not None:
            self._stop(ev.t)
        elif name == "cancel" and self._rec is not None:
            self._stop(ev.t, cancel=True)

    def _choose_app(self, app: str) -> None:
        """Record ``app`` alone ("" = the whole output) from now on: the tap
        is opened on it at once, so the pre-roll holds its sound from here."""
        if self._rec is not None or self._armed is not None:
            logger.warning("loopcap: what to record changes only while idle: stop or disarm first")
            return
        if app == self.app and self._tap is not None:
            return
        if self._tap is not None:
            self._tap.close()
            self._tap = None
        self.app = app
        # A source chosen is no device gone: should it fail to open, the
        # retry that succeeds says only that it is back.
        self._device_id = None
        self._open_tap(chosen=True)

    def _arm(self) -> None:
        """Wait for sound (see :mod:`loopcap.capture.arm`); it posts "sound" when it begins."""
        if self._tap is None:
            self._open_tap()
            if self._tap is None:
                return
        self._armed = Armed(self._tap, self.config.arm, self.config.trim, self._sound_began)
        self._armed.attach()
        logger.info("armed: the capture starts when sound begins")
        self._set(ARMED, armed=True)

    def _sound_began(self, t: float) -> None:
        """On the tap's router thread: only post."""
        self.post("sound")

    def _disarm(self) -> None:
        armed, self._armed = self._armed, None
        if armed is not None:
            armed.detach()

    def _start(self, t: float, armed: bool = False) -> None:
        if self._tap is None:
            self._open_tap()
            if self._tap is None:
                return
        rec = Recording(
            self._tap,
            self.config.output,
            self.config.capture.samplerate,
            trim=self.config.trim,
            rescue_on_start=True,  # the note is playing now: never refuse it
        )
        try:
            rec.start(t)
        except LoopcapError as exc:
            logger.error(f"loopcap: {exc}")
            self._set(ERROR, message=str(exc))
            return
        self._rec = rec
        logger.info("capture started" + (" (sound began)" if armed else ""))
        self._set(RECORDING, started=rec.t0, armed=armed)

    def _stop(self, t: float, cancel: bool = False) -> None:
        rec, self._rec = self._rec, None
        self._disarm()
        if rec is None:
            return
        self._set(SAVING, started=rec.t0)
        try:
            saved = rec.stop(t)
        except LoopcapError as exc:
            logger.error(f"loopcap: {exc}")
            self._set(ERROR, message=str(exc))
            self._notify(failed=str(exc))
            return
        except Exception as exc:  # a bug: the audio stays in the .partial file
            logger.exception("saving the capture failed")
            msg = f"saving failed ({exc}); `loopcap recover` repairs the capture"
            self._set(ERROR, message=msg)
            self._notify(failed=msg)
            return
        if cancel:
            self._to_trash(saved)
            self._set(IDLE, message="capture cancelled (moved to the trash folder)")
            return
        if saved.path is not None and saved.bounds is not None:  # a path has its bounds
            notes = list(saved.paths) or [saved.path]  # several when split
            self._recent = (notes[::-1] + self._recent)[:RECENT]
            msg = f"saved {saved.path.name} ({saved.bounds.kept_s:.1f} s)"
            if len(notes) > 1:
                msg = f"saved {len(notes)} notes, {notes[0].name} to {notes[-1].name}"
        else:
            if saved.raw_path is not None:
                self._recent = ([saved.raw_path] + self._recent)[:RECENT]
            msg = "no sound captured; the raw capture is kept"
        logger.info(msg)
        if saved.error is not None:
            self._set(ERROR, message=str(saved.error), saved=saved)
        else:
            self._set(IDLE, message=msg, saved=saved)
        self._notify(saved=saved)

    def _notify(self, saved: Saved | None = None, failed: str | None = None) -> None:
        """One notification per save's end (never for a cancelled capture)."""
        if self.notifier is None:
            return
        try:
            if saved is not None:
                self.notifier.saved(saved)
            elif failed is not None:
                self.notifier.failed(failed)
        except Exception:  # a notifier must never stop the worker
            logger.exception("the save notification failed")

    def _to_trash(self, saved: Saved) -> None:
        """Move a cancelled capture's files into the ``trash`` folder of the
        folder they are in: a rescued capture stays in its rescue folder's
        trash (the output folder could not take it)."""
        # Every note of a split capture, the first note and the raw capture.
        files = [p for p in dict.fromkeys((*saved.paths, saved.raw_path)) if p is not None]
        trash = ensure_private_dir((files[0].parent if files else self.directory) / "trash")
        for path in files:
            if path.exists():

                def move(name: str, path: Path = path) -> None:
                    link_exclusive(path, trash / f"{name}{path.suffix}")

                claim(path.stem, move)  # "x.wav", else "x-2.wav"...
        logger.info(f"capture cancelled; moved to {trash}")
