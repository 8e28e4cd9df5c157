"""Configuration: frozen dataclasses loaded from a TOML file.

Every value has a default, so loopcap runs with no file at all.  A bad value
raises :class:`~loopcap.errors.ConfigError` with one sentence that names the
key, the value and what is allowed.  Unknown keys are reported as a warning
naming them (a typo must not pass silently) and otherwise ignored.

``config.example.toml`` at the top of the repository documents every key with
its default; a test keeps the two in step.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopcap.errors import ConfigError
from loopcap.formats import CAPTURE_FORMATS
from loopcap.log import logger
from loopcap.naming import render_stem
from loopcap.platforms import captures_dir, config_dir
from loopcap.trim import TrimParams

__all__ = [
    "CaptureConfig",
    "OutputConfig",
    "ArmConfig",
    "AppConfig",
    "Config",
    "TrimParams",
    "NORMALIZE_LUFS_MIN",
    "NORMALIZE_LUFS_MAX",
    "APP_NAME_MAX",
    "check_app_name",
    "check_normalize_lufs",
    "default_config_path",
    "load_config",
]

#: The loudness a note may be normalised to (LUFS); 0 means "leave it".
NORMALIZE_LUFS_MIN = -60
NORMALIZE_LUFS_MAX = -5


def _show(value: Any, limit: int = 60) -> str:
    """A value as the config's error sentence shows it: its repr, shortened."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to print
        text = f"<a number of {value.bit_length()} bits>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _invalid(key: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError(f"config key {key} = {_show(value)} is invalid: {allowed}.")


def _check(ok: bool, key: str, value: Any, allowed: str) -> None:
    if not ok:
        raise _invalid(key, value, allowed)


@dataclass(frozen=True)
class CaptureConfig:
    """``[capture]``: where audio comes from."""

    #: Loopback device: case-insensitive substring of its name or id; "" = the
    #: default output's loopback.
    device: str = ""
    #: Sample rate requested from the sound server, in Hz.
    samplerate: int = 48000
    #: The app keeps this many seconds heard before the start key (0: off).
    preroll_s: float = 2.0
    #: Record one application only: a case-insensitive part of its name or of
    #: its process binary, as ``loopcap apps`` lists them ("chromium",
    #: "whatsapp"); "" = the whole output.  When set, ``device`` is not used:
    #: the app is recorded on whichever output it plays.
    app: str = ""

    def validate(self) -> None:
        _check(
            0 <= self.preroll_s <= 60,
            "capture.preroll_s",
            self.preroll_s,
            "it must be from 0 to 60 seconds",
        )
        _check(isinstance(self.device, str), "capture.device", self.device, "it must be a string")
        check_app_name(self.app)
        _check(
            isinstance(self.samplerate, int)
            and not isinstance(self.samplerate, bool)
            and 8000 <= self.samplerate <= 192000,
            "capture.samplerate",
            self.samplerate,
            "it must be a whole number of Hz from 8000 to 192000",
        )


@dataclass(frozen=True)
class OutputConfig:
    """``[output]``: where and how captures are saved."""

    #: Folder for captures; "" = a ``loopcap`` folder in the user's Music folder
    #: (on Linux, macOS and Windows alike: :func:`loopcap.platforms.captures_dir`).
    dir: str = ""
    #: File format of saved captures: wav, flac, ogg, mp3 or voicenote (see
    #: :data:`loopcap.formats.FORMATS`).
    format: str = "flac"
    #: File name (without extension) of a capture: a ``str.format`` template
    #: where ``{now}`` is the local start time (``datetime``).
    stem: str = "loopcap-{now:%Y-%m-%d_%H-%M-%S}"
    #: Keep the untrimmed capture beside the trimmed note, as ``<stem>.raw.<ext>``.
    keep_raw: bool = True
    #: Save each note of a capture of consecutive notes as its own file,
    #: ``<stem>-1.<ext>``, ``<stem>-2.<ext>``...
    split: bool = False
    #: Bring every saved note to this integrated loudness (LUFS, e.g. -16);
    #: 0 leaves the level as captured.
    normalize_lufs: float = 0.0
    #: Write a picture of the cut beside the saved note, ``<stem>.png``: the
    #: level over time, the notes kept, the floor, what was left out.
    save_plot: bool = False

    def validate(self) -> None:
        _check(isinstance(self.dir, str), "output.dir", self.dir, "it must be a string")
        _check("\x00" not in self.dir, "output.dir", self.dir, "it must not contain NUL characters")
        blocker = _file_in_the_way(self.directory)
        _check(
            blocker is None,
            "output.dir",
            self.dir,
            f"{blocker} is a file, not a folder: give a folder (it is created if missing)",
        )
        _check(
            self.format in CAPTURE_FORMATS,
            "output.format",
            self.format,
            "allowed are " + ", ".join(CAPTURE_FORMATS),
        )
        _check(
            isinstance(self.stem, str) and self.stem != "",
            "output.stem",
            self.stem,
            "it must be a non-empty string",
        )
        check_normalize_lufs(self.normalize_lufs)
        _check(
            isinstance(self.save_plot, bool),
            "output.save_plot",
            self.save_plot,
            "it must be true or false",
        )
        try:
            render_stem(self.stem)
        except ValueError as exc:
            raise _invalid("output.stem", self.stem, str(exc)) from None

    @property
    def directory(self) -> Path:
        """The captures folder, resolved (``~`` expanded, default applied)."""
        if self.dir:
            return Path(os.path.expanduser(self.dir))
        return captures_dir()


#: The longest application name ``[capture] app`` and ``--app`` take (characters).
APP_NAME_MAX = 200


def check_app_name(value: object, option: str | None = None) -> None:
    """The one check of an application to record (``[capture] app``, ``--app``):
    "" (the whole output) or a part of an application's name: printable
    characters, not only spaces, at most :data:`APP_NAME_MAX` of them.

    Raises ConfigError naming where the value came from: the command-line
    ``option`` (``--app``) or, when None, the config key.
    """
    if not isinstance(value, str):
        raise _invalid("capture.app", value, "it must be a string")
    if value == "":
        return
    problem = ""
    if not value.strip():
        problem = "give a part of the application's name, as `loopcap apps` lists it"
    elif not value.isprintable():
        problem = "it must not contain control characters"
    elif len(value) > APP_NAME_MAX:
        problem = f"it must be at most {APP_NAME_MAX} characters"
    if not problem:
        return
    if option is not None:
        raise ConfigError(f"{option} {_show(value)} is invalid: {problem}.")
    raise _invalid("capture.app", value, problem)


def check_normalize_lufs(value: float, option: str | None = None) -> None:
    """The one range check of a normalisation target (LUFS): 0 (off) or from
    :data:`NORMALIZE_LUFS_MIN` to :data:`NORMALIZE_LUFS_MAX`.

    Raises ConfigError naming where the value came from: the command-line
    ``option`` (``--normalize-lufs``) or, when None, the config key.
    """
    if value == 0 or NORMALIZE_LUFS_MIN <= value <= NORMALIZE_LUFS_MAX:
        return
    span = f"{NORMALIZE_LUFS_MIN} to {NORMALIZE_LUFS_MAX} (LUFS)"
    if option is not None:
        raise ConfigError(f"{option} {value:g} is invalid: give {span}, or 0")
    raise _invalid(
        "output.normalize_lufs", value, f"it must be from {span}, or 0 to leave levels alone"
    )


def _file_in_the_way(folder: Path) -> Path | None:
    """The first existing part of ``folder`` that is not a folder, if any."""
    for part in (folder, *folder.parents):
        try:
            if part.exists():
                return None if part.is_dir() else part
        except OSError:  # not allowed to look: creating it will say so
            return None
    return None


@dataclass(frozen=True)
class ArmConfig:
    """``[arm]``: hands-free capture, armed by a key, started by sound."""

    #: An armed capture stops after this many seconds of silence.
    stop_after_silence_s: float = 3.0
    #: ...or once it has lasted this long (seconds).
    max_s: float = 1800.0

    def validate(self) -> None:
        _check(
            0.5 <= self.stop_after_silence_s <= 60,
            "arm.stop_after_silence_s",
            self.stop_after_silence_s,
            "it must be from 0.5 to 60 seconds",
        )
        _check(
            1 <= self.max_s <= 86400,
            "arm.max_s",
            self.max_s,
            "it must be from 1 to 86400 seconds",
        )


@dataclass(frozen=True)
class HotkeysConfig:
    """``[hotkeys]``: global hotkeys of the app, in pynput's syntax."""

    #: Start a capture; pressed again, stop and save it.
    toggle: str = "<ctrl>+<alt>+r"
    #: Stop the current capture and move it to the trash folder.
    cancel: str = "<ctrl>+<alt>+x"
    #: Arm: wait for sound, capture it, stop after silence (pressed again: disarm).
    arm: str = "<ctrl>+<alt>+a"

    def validate(self) -> None:
        seen: dict[str, str] = {}
        for name in ("toggle", "cancel", "arm"):
            value = getattr(self, name)
            _check(isinstance(value, str), f"hotkeys.{name}", value, "it must be a string")
            if value == "":
                continue  # "" turns the hotkey off
            key = check_hotkey(value, f"hotkeys.{name}")
            if key in seen:
                raise ConfigError(
                    f"config keys hotkeys.{seen[key]} and hotkeys.{name} are both "
                    f"{value!r}: give each action its own hotkey."
                )
            seen[key] = name


@dataclass(frozen=True)
class AppConfig:
    """``[app]``: how the desktop app meets the desktop."""

    #: A notification after every save (the file and its length, or what went wrong).
    notify: bool = True
    #: Start the app at login; the app makes the system's entry agree with this
    #: at every start (``loopcap autostart`` changes the entry until then).
    start_at_login: bool = False

    def validate(self) -> None:
        for name in ("notify", "start_at_login"):
            value = getattr(self, name)
            _check(isinstance(value, bool), f"app.{name}", value, "it must be true or false")


_MODIFIERS = frozenset(
    "alt alt_l alt_r alt_gr ctrl ctrl_l ctrl_r shift shift_l shift_r cmd cmd_l cmd_r super".split()
)
#: pynput's named keys that a hotkey may use, in angle brackets.
_KEYS = (
    _MODIFIERS
    | frozenset(
        "space tab enter esc backspace delete home end page_up page_down insert pause "
        "print_screen scroll_lock menu up down left right media_play_pause media_next "
        "media_previous".split()
    )
    | frozenset(f"f{i}" for i in range(1, 25))
)


def check_hotkey(value: str, key: str) -> str:
    """Validate a pynput hotkey string without connecting to a display.

    Returns a normalised form.  pynput's own parser (``HotKey.parse``) needs a
    working keyboard backend, which a headless machine lacks, so the grammar
    is checked here: ``<modifier>+...+key`` with named keys in angle brackets.
    """
    parts = value.lower().split("+")
    names = [p[1:-1] for p in parts if p.startswith("<") and p.endswith(">")]
    ok = bool(parts) and all(
        (len(p) == 1 and p.isprintable() and p != " ")
        or (p.startswith("<") and p.endswith(">") and (p[1:-1] in _KEYS or p[1:-1].isdigit()))
        for p in parts
    )
    # Each part once, and at least one that is not a modifier (the key itself).
    ok = (
        ok
        and len(set(parts)) == len(parts)
        and len(names) - sum(n in _MODIFIERS for n in names) + (len(parts) - len(names)) > 0
    )
    _check(
        ok,
        key,
        value,
        "write it like '<ctrl>+<alt>+r': modifiers and named keys in "
        "angle brackets, joined by '+', ending in a key",
    )
    return "+".join(sorted(parts))


@dataclass(frozen=True)
class Config:
    """The whole configuration; one attribute per TOML table."""

    capture: CaptureConfig = field(default_factory=CaptureConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    trim: TrimParams = field(default_factory=TrimParams)
    arm: ArmConfig = field(default_factory=ArmConfig)
    hotkeys: HotkeysConfig = field(default_factory=HotkeysConfig)
    app: AppConfig = field(default_factory=AppConfig)
    #: Where this configuration was read from (None: defaults only).
    source: Path | None = None

    def validate(self) -> Config:
        self.capture.validate()
        self.output.validate()
        validate_trim(self.trim)
        self.arm.validate()
        self.hotkeys.validate()
        self.app.validate()
        return self


def validate_trim(p: TrimParams) -> None:
    """Check the ``[trim]`` table (TrimParams lives in the pure trim module)."""
    for name, lo, hi in (
        ("hop_s", 0.0005, 0.05),
        ("frame_s", 0.001, 0.2),
        ("floor_window_s", 0.01, 5.0),
        ("merge_gap_s", 0.0, 30.0),
        ("max_pause_s", 0.0, 30.0),
        ("min_sound_s", 0.0, 5.0),
        ("min_note_s", 0.0, 600.0),
        ("bright_hz", 50.0, 100000.0),
        ("voice_low_share", 0.0, 1.0),
        ("voice_periodicity", 0.0, 1.0),
        ("open_after_s", 0.0, 600.0),
        ("presence_window_s", 0.01, 5.0),
        ("presence_db", 0.1, 30.0),
        ("note_snr_db", 0.0, 200.0),
        ("own_floor_depth_db", 0.0, 200.0),
        ("edge_window_s", 0.001, 1.0),
        ("edge_db", 0.0, 60.0),
        ("pad_s", 0.0, 5.0),
        ("open_db", 0.0, 60.0),
        ("close_db", 0.0, 60.0),
    ):
        value = getattr(p, name)
        _check(lo <= value <= hi, f"trim.{name}", value, f"it must be from {lo} to {hi}")
    _check(p.frame_s >= p.hop_s, "trim.frame_s", p.frame_s, "it must be at least trim.hop_s")
    _check(p.close_db <= p.open_db, "trim.close_db", p.close_db, "it must not exceed trim.open_db")


#: TOML table name -> dataclass; the single list the loader and the drift test use.
TABLES: dict[str, type] = {
    "capture": CaptureConfig,
    "output": OutputConfig,
    "trim": TrimParams,
    "arm": ArmConfig,
    "hotkeys": HotkeysConfig,
    "app": AppConfig,
}


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    return lines[0] if len(lines[0]) <= 120 else lines[0][:117] + "..."


def default_config_path() -> Path:
    """The per-user config file: ``$XDG_CONFIG_HOME/loopcap/config.toml`` on
    Linux, ``~/Library/Application Support/loopcap`` on macOS,
    ``%LOCALAPPDATA%\\loopcap`` on Windows (:func:`loopcap.platforms.config_dir`)."""
    return config_dir() / "config.toml"


def _build(table: str, cls: type, data: Any) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(
            f"config key {table} = {_show(data)} is invalid: it must be a table ([{table}])."
        )
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        names = ", ".join(f"{table}.{k}" for k in unknown)
        logger.warning(f"ignoring unknown config keys: {names}")
    values = {k: v for k, v in data.items() if k in fields}
    for name, value in values.items():
        key = f"{table}.{name}"
        default = fields[name].default
        if type(default) is int and type(value) is not int:
            raise _invalid(key, value, "it must be a whole number")
        if type(default) is float and type(value) not in (int, float):
            raise _invalid(key, value, "it must be a number")
        if type(default) is float:
            try:
                values[name] = float(value)
            except OverflowError:
                raise _invalid(key, value, "it is far too large a number") from None
        if type(default) is str and not isinstance(value, str):
            raise _invalid(key, value, "it must be a string")
        if type(default) is bool and not isinstance(value, bool):
            raise _invalid(key, value, "it must be true or false")
    return cls(**values)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the configuration.

    ``path`` given: that file must exist.  ``path`` None: the per-user file if
    it exists, else the defaults.
    """
    explicit = path is not None
    file = Path(path) if path is not None else default_config_path()
    if not file.exists():
        if explicit:
            raise ConfigError(
                f"config file {file} does not exist: check the path given to --config."
            )
        return Config().validate()
    if file.is_dir():
        raise ConfigError(f"config file {file} is a folder: give the path of a TOML file.")
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"config file {file} cannot be read ({exc.strerror or exc}): check its permissions."
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {file} is not UTF-8 text (byte {raw[exc.start]:#04x} at offset "
            f"{exc.start}): save it as UTF-8."
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"config file {file} is not valid TOML ({_first_line(exc)}): fix or remove it."
        ) from None
    except ValueError:  # Python refuses integers of over 4300 digits
        raise ConfigError(
            f"config file {file} holds a number with thousands of digits: fix or remove it."
        ) from None
    unknown = sorted(k for k in set(data) - set(TABLES) if isinstance(data[k], dict))
    if unknown:
        logger.warning("ignoring unknown config tables: " + ", ".join(f"[{k}]" for k in unknown))
    stray = sorted(k for k in set(data) - set(TABLES) if not isinstance(data[k], dict))
    if stray:
        logger.warning("ignoring unknown config keys outside any table: " + ", ".join(stray))
    parts = {name: _build(name, cls, data.get(name, {})) for name, cls in TABLES.items()}
    return Config(**parts, source=file).validate()
