"""Configuration fuzzing, generated from the config's own dataclasses.

Every key of every table gets every TOML type it does not take and values it
cannot use; files get syntax errors, other encodings, a folder for a path.
Each bad config must stop loopcap (``loopcap --config FILE recover DIR``, in
this process) with exit status 2 and one line, naming the key and the value
and saying what is allowed, and no traceback.  Unknown keys and tables are a
warning naming them, and loopcap runs.  The ``[output] stem`` template is the
only source of capture file names: whatever would name anything but a plain
new file in the output folder is refused at load.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from rig import report

from loopcap.app.cli import main
from loopcap.app.logsetup import log_path
from loopcap.config import TABLES
from loopcap.errors import EXIT_OK, EXIT_USAGE

#: A TOML literal of each type.
LITERALS = {
    "string": '"x"',
    "integer": "7",
    "float": "1.5",
    "boolean": "true",
    "array": "[1, 2]",
    "inline table": "{ a = 1 }",
    "offset date-time": "1979-05-27T07:32:00Z",
    "local date": "1979-05-27",
    "local time": "07:32:00",
}

FIELDS = [
    (table, f.name, f.default)
    for table, cls in TABLES.items()
    for f in dataclasses.fields(cls)
]  # fmt: skip


def takes(default, kind: str) -> bool:
    """Whether a key whose default is ``default`` takes a TOML value of ``kind``."""
    if isinstance(default, bool):
        return kind == "boolean"
    if isinstance(default, int):
        return kind == "integer"
    if isinstance(default, float):
        return kind in ("integer", "float")
    if isinstance(default, str):
        return kind == "string"
    raise AssertionError(f"a config key of a type this test does not know: {default!r}")


#: What a refusal must say: which rule was broken, or what to give instead.
ALLOWED = re.compile(r"it must |allowed are |give a |give each |write it like |far too large")


@pytest.fixture
def run(capfd, tmp_path):
    """``loopcap --config FILE recover DIR`` in this process: (status, stderr lines)."""
    folder = tmp_path / "captures"
    folder.mkdir()
    capfd.readouterr()

    def go(config: Path, *command: str) -> tuple[int, list[str], str]:
        code = main(["--config", str(config), *(command or ("recover", str(folder)))])
        out, err = capfd.readouterr()
        return code, [line for line in err.splitlines() if line.strip()], out

    return go


def refused(run, config: Path, *names: str, shown: str | None = None) -> str | None:
    """None if loopcap refuses ``config`` as it must (see the module docstring)."""
    code, lines, _ = run(config)
    problems = []
    if code != EXIT_USAGE:
        problems.append(f"exit {code}, not {EXIT_USAGE}")
    if len(lines) != 1:
        problems.append(f"{len(lines)} lines on stderr: {lines[:4]}")
    text = "\n".join(lines)
    if "Traceback" in text:
        problems.append("a traceback")
    line = lines[0] if lines else ""
    if not line.startswith("loopcap: config "):
        problems.append(f"not a config error: {line!r}")
    for name in names:
        if name not in line:
            problems.append(f"{name!r} not named in {line!r}")
    if shown is not None and shown not in line:
        problems.append(f"the value {shown!r} not shown in {line!r}")
    if names and not ALLOWED.search(line):
        problems.append(f"does not say what is allowed: {line!r}")
    return "; ".join(problems) or None


def conclude(family: str, outcomes: dict[str, str | None]) -> None:
    assert outcomes, f"{family}: no cases were tried"
    failures = {k: v for k, v in outcomes.items() if v}
    report("Configuration", family, len(outcomes), len(outcomes) - len(failures))
    assert not failures, f"{family}: {len(failures)} of {len(outcomes)} mishandled:\n" + "\n".join(
        f"{k}: {v}" for k, v in list(failures.items())[:40]
    )


def write(tmp_path: Path, text: str | bytes, name: str = "config.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def shown(literal: str, default=None) -> str:
    """The start of a TOML value as a Python repr: what the error must show (a
    whole number given for a key that takes any number is shown as a float)."""
    value = tomllib.loads(f"v = {literal}")["v"]
    if type(default) is float and type(value) is int:
        try:
            value = float(value)
        except OverflowError:
            pass
    return repr(value)[:20]


# --------------------------------------------------------------------------------------


def test_every_key_refuses_every_type_it_does_not_take(tmp_path, run):
    outcomes = {}
    for table, key, default in FIELDS:
        for kind, literal in LITERALS.items():
            if takes(default, kind):
                continue
            config = write(tmp_path, f"[{table}]\n{key} = {literal}\n")
            outcomes[f"{table}.{key} = {kind}"] = refused(
                run, config, f"{table}.{key}", shown=shown(literal)
            )
    assert len(outcomes) >= len(FIELDS) * 7
    conclude("wrong types, every key", outcomes)


def impossible_values(tmp_path: Path) -> list[tuple[str, str, str]]:
    """(table, key, TOML literal) of values no key of that kind can take."""
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    cases = []
    for table, key, default in FIELDS:
        if isinstance(default, float):
            for literal in ("-1.0", "nan", "inf", "-inf", "1e308", "1" + "0" * 30, "9" * 400):
                cases.append((table, key, literal))
        elif isinstance(default, int) and not isinstance(default, bool):
            for literal in ("0", "-1", "9223372036854775807", "-9223372036854775808", "9" * 400):
                cases.append((table, key, literal))
    cases += [
        ("capture", "samplerate", "7999"),
        ("capture", "samplerate", "192001"),
        ("capture", "preroll_s", "61"),
        ("output", "format", '""'),
        ("output", "format", '"FLAC"'),
        ("output", "format", '"aiff"'),
        ("output", "format", '"wav "'),
        ("output", "dir", json.dumps(str(a_file))),
        ("output", "dir", json.dumps(str(a_file / "below"))),
        ("output", "dir", '"captures\\u0000"'),
        ("trim", "hop_s", "0"),
        ("trim", "bright_hz", "0"),
    ]
    for key in ("toggle", "cancel"):
        for hotkey in (
            "ctrl+alt+r", "<ctrl>+<alt>", "<ctrl>++r", "<hyper>+r", "<ctrl>+<ctrl>+r", "r+r",
            " ", "+", "<>", "<ctrl>+<alt>+rr", "<ctrl>+\u0000",
        ):  # fmt: skip
            cases.append(("hotkeys", key, json.dumps(hotkey)))
    return cases


def test_impossible_values_are_refused(tmp_path, run):
    outcomes = {}
    defaults = {(table, key): default for table, key, default in FIELDS}
    for table, key, literal in impossible_values(tmp_path):
        config = write(tmp_path, f"[{table}]\n{key} = {literal}\n")
        outcomes[f"{table}.{key} = {literal[:30]}"] = refused(
            run, config, f"{table}.{key}", shown=shown(literal, defaults[table, key])
        )
    # Keys in conflict with each other.
    for text, names in (
        ('[hotkeys]\ntoggle = "<ctrl>+<alt>+r"\ncancel = "<alt>+<ctrl>+r"', ["hotkeys.cancel"]),
        ("[trim]\nopen_db = 3.0\nclose_db = 6.0", ["trim.close_db"]),
        ("[trim]\nhop_s = 0.02\nframe_s = 0.01", ["trim.frame_s"]),
    ):
        outcomes[text] = refused(run, write(tmp_path, text), *names)
    conclude("impossible values", outcomes)


def test_bad_files_are_refused(tmp_path, run):
    outcomes = {}
    for name, content in (
        ("unclosed table", "[output\n"),
        ("no value", "[output]\nformat =\n"),
        ("unclosed string", '[output]\nformat = "wav\n'),
        ("key twice", '[output]\nformat = "wav"\nformat = "flac"\n'),
        ("table twice", "[output]\n[output]\n"),
        ("no key", "= 1\n"),
        ("bare word", "[output]\nformat = wav\n"),
        ("unclosed multi-line string", '[output]\nstem = """abc\n'),
        ("array of tables", '[[output]]\nformat = "wav"\n'),
        ("a table that is a number", "capture = 3\n"),
        ("a table that is an array", "trim = [1, 2]\n"),
        ("a number of 5000 digits", "[trim]\npad_s = " + "1" * 5000 + "\n"),
        ("Latin-1", '[capture]\ndevice = "caf\xe9"\n'.encode("latin-1")),
        ("UTF-16", '[capture]\ndevice = "x"\n'.encode("utf-16")),
        ("binary", bytes(range(256))),
    ):
        outcomes[name] = refused(run, write(tmp_path, content))
    folder = tmp_path / "a-folder.toml"
    folder.mkdir()
    outcomes["a folder"] = refused(run, folder)
    outcomes["no such file"] = refused(run, tmp_path / "missing.toml")
    conclude("bad config files", outcomes)


STEMS = [
    "../escape", "/abs/name", "a/b", "a\\\\b", "..", ".", ".hidden", "",
    "{now:%Y/%m/%d}", "a\\u0000b", "line\\nbreak", "tab\\there", "bell\\u0007",
    "{user}", "{now.year}", "{0}", "{}", "{", "}", "{now:%Y", "x" * 201, "\u00e9" * 101,
    "note.partial", "{now:%n}", "{now:%Y}/../../etc",
]  # fmt: skip


def test_stem_templates_that_would_escape_are_refused(tmp_path, run):
    outcomes = {}
    for stem in STEMS:
        config = write(tmp_path, f'[output]\nstem = "{stem}"\n')
        outcomes[repr(stem)[:40]] = refused(run, config, "output.stem")
    conclude("stem templates", outcomes)


def test_unknown_keys_and_tables_are_warned_about_and_loopcap_runs(tmp_path, run):
    cases = [
        (f"[{table}]\n{key}x = 1\n", [f"{table}.{key}x"])
        for table, key, _ in FIELDS
    ]  # fmt: skip
    cases += [
        ("[extra]\nx = 1\n", ["[extra]"]),
        ("[Output]\nformat = 1\n", ["[Output]"]),
        ("[capture.sub]\nx = 1\n", ["capture.sub"]),
        ("stray = 1\n", ["stray"]),
        ("[a]\n[b]\n[output]\nformt = 1\n", ["[a]", "[b]", "output.formt"]),
    ]
    outcomes = {}
    log = log_path()
    for text, names in cases:
        config = write(tmp_path, text)
        before = log.stat().st_size if log.exists() else 0
        code, lines, _ = run(config)
        problems = []
        if code != EXIT_OK:
            problems.append(f"exit {code}: {lines}")
        for name in names:
            if not any(name in line and "ignoring unknown" in line for line in lines):
                problems.append(f"no warning naming {name}: {lines}")
        if "Traceback" in "\n".join(lines):
            problems.append("a traceback")
        with open(log, encoding="utf-8") as f:
            f.seek(before)
            logged = [line for line in f if " WARNING " in line]
        if not all(any(name in line for line in logged) for name in names):
            problems.append(f"not all of {names} logged at WARNING level")
        outcomes[text.replace("\n", " ")] = "; ".join(problems) or None
    assert len(outcomes) >= len(FIELDS)
    # ...and with such a config loopcap does its work.
    t = np.arange(4000) / 8000
    src = tmp_path / "note.wav"
    sf.write(src, np.concatenate([np.zeros(2000), 0.3 * np.sin(2 * np.pi * 300 * t)]), 8000)
    code, lines, _ = run(write(tmp_path, "[extra]\nx = 1\n"), "trim", str(src))
    ok = code == EXIT_OK and (tmp_path / "note.trimmed.wav").is_file()
    outcomes["trim with an unknown table"] = None if ok else f"exit {code}: {lines}"
    conclude("unknown keys and tables", outcomes)


def test_capture_names_come_from_the_stem_alone(tmp_path, monkeypatch, capsys):
    """An unusual but plain template names the files, all inside the output folder."""
    monkeypatch.setenv("LOOPCAP_BACKEND", "fake")
    monkeypatch.setenv("LOOPCAP_FAKE", "signal=burst")
    out = tmp_path / "deep" / "captures"
    config = write(
        tmp_path,
        f'[output]\ndir = {json.dumps(str(out))}\nformat = "wav"\n'
        'stem = "voice note \u00e9 {now:%Y} ({now!s})"\n',
    )
    code = main(["--config", str(config), "record", "--duration", "1.0", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK, result
    stem = Path(result["raw_path"]).name[: -len(".raw.wav")]
    assert re.fullmatch(r"voice note \u00e9 \d{4} \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+\)", stem)
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{stem}.wav", f"{stem}.raw.wav"])
    assert [p.name for p in (tmp_path / "deep").iterdir()] == ["captures"]
