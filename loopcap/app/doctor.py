"""``loopcap doctor``: can loopcap do its job here?  One line per check.

Each line: a verdict (ok, warn, FAIL), what was checked, and for anything
not ok what to do.  The exit status is 0 only if loopcap can record and save
(warnings, such as no tray, leave it usable).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from loopcap.config import Config
from loopcap.errors import EXIT_ERROR, EXIT_OK, LoopcapError
from loopcap.formats import CAPTURE_FORMATS, capture_target
from loopcap.fs import ensure_private_dir

__all__ = ["run_doctor", "checks"]

OK, WARN, FAIL = "ok", "warn", "FAIL"


def _sound(config: Config) -> list[tuple[str, str]]:
    from loopcap.device import list_loopbacks, open_source

    try:
        devices = list_loopbacks()
    except LoopcapError as exc:
        return [(FAIL, f"sound server: {exc}")]
    out = [(OK, "sound server reachable")]
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
        try:
            while got < config.capture.samplerate // 2 and time.monotonic() < t_end:
                got += len(stream.read()[0])
        finally:
            stream.close()
        if got:
            out.append(
                (OK, f"test capture from {source.info.id}: {got / config.capture.samplerate:.2f} s")
            )
        else:
            out.append(
                (
                    WARN,
                    "test capture: the device delivered no audio in 3 s (normal on "
                    "Windows while nothing plays)",
                )
            )
    except LoopcapError as exc:
        out.append((FAIL, f"test capture: {exc}"))
    return out


def _display() -> list[tuple[str, str]]:
    from loopcap.app.hotkeys import hotkey_support
    from loopcap.app.tray import tray_support

    out = []
    ok, reason = tray_support()
    if ok:
        try:
            import pystray

            backend = pystray.Icon.__module__.rsplit(".", 1)[-1].lstrip("_")
        except Exception:
            backend = "?"
        out.append((OK, f"display and tray: tray backend {backend}"))
    else:
        out.append((WARN, f"tray: {reason}"))
    ok, reason = hotkey_support()
    out.append((OK, "hotkeys: X11 global hotkeys") if ok else (WARN, f"hotkeys: {reason}"))
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
        _display,
        lambda: _output(config),
    ]
    return [line for part in parts for line in part()]


def run_doctor(config: Config) -> int:
    lines = checks(config)
    for verdict, text in lines:
        print(f"{verdict:<4} {text}")
    failed = any(v == FAIL for v, _ in lines)
    print(
        "loopcap can record here."
        if not failed
        else "loopcap cannot record here yet: fix the FAIL lines above."
    )
    return EXIT_ERROR if failed else EXIT_OK
