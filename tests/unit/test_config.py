"""Configuration: defaults, errors that name the key, and the example kept in step."""

import dataclasses
import tomllib
from pathlib import Path

import pytest

from loopcap.config import TABLES, Config, load_config
from loopcap.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def test_example_has_exactly_the_keys_the_code_reads():
    data = tomllib.loads(EXAMPLE.read_text())
    assert set(data) == set(TABLES)
    for table, cls in TABLES.items():
        fields = {f.name for f in dataclasses.fields(cls)}
        assert set(data[table]) == fields, table


def test_example_values_are_the_defaults():
    data = tomllib.loads(EXAMPLE.read_text())
    defaults = Config()
    for table, values in data.items():
        for key, value in values.items():
            assert getattr(getattr(defaults, table), key) == value, f"{table}.{key}"


def test_no_file_gives_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    cfg = load_config()
    assert cfg == Config()
    assert cfg.output.directory.name == "loopcap"


def write(tmp_path, text):
    p = tmp_path / "c.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    "text, words",
    [
        ('[output]\nformat = "aiff"', ["output.format", "'aiff'", "wav, flac, ogg, mp3"]),
        ("[capture]\nsamplerate = 5", ["capture.samplerate", "5", "8000"]),
        ('[capture]\nsamplerate = "fast"', ["capture.samplerate", "'fast'", "whole number"]),
        ("[capture]\nsamplerate = 44100.0", ["capture.samplerate", "whole number"]),
        ("[capture]\ndevice = 3", ["capture.device", "string"]),
        ('[output]\nstem = "../escape"', ["output.stem", "plain file name"]),
        ('[output]\nstem = "/abs/name"', ["output.stem", "plain file name"]),
        ('[output]\nstem = "{user}"', ["output.stem", "{now}"]),
        ("output = 3", ["output", "table"]),
        ("[capture]\npreroll_s = -1", ["capture.preroll_s", "-1"]),
        ('[hotkeys]\ntoggle = "ctrl+alt+r"', ["hotkeys.toggle", "'ctrl+alt+r'", "<ctrl>"]),
        ('[hotkeys]\ntoggle = "<ctrl>+<alt>"', ["hotkeys.toggle", "ending in a key"]),
        ('[hotkeys]\ncancel = "<ctrl>+<alt>+r"', ["hotkeys.toggle", "hotkeys.cancel"]),
        ("[trim]\nopen_db = 3\nclose_db = 6", ["trim.close_db"]),
        ("[trim]\nhop_s = 0", ["trim.hop_s"]),
        ("[output\n", ["not valid TOML"]),
    ],
)
def test_bad_values_name_the_key(tmp_path, text, words):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    msg = str(err.value)
    for w in words:
        assert w in msg
    assert "\n" not in msg


def test_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_unknown_keys_are_warned_about(tmp_path):
    from loguru import logger

    seen = []
    sink = logger.add(seen.append, level="WARNING")
    try:
        cfg = load_config(write(tmp_path, '[output]\nformt = "wav"\n[extra]\nx = 1'))
    finally:
        logger.remove(sink)
    assert cfg.output.format == "flac"
    text = "".join(seen)
    assert "output.formt" in text and "[extra]" in text


def test_values_are_read(tmp_path):
    cfg = load_config(
        write(
            tmp_path,
            '[output]\ndir = "~/x"\nformat = "wav"\n[capture]\ndevice = "spk"\nsamplerate = 44100',
        )
    )
    assert cfg.output.format == "wav" and cfg.capture.samplerate == 44100
    assert cfg.output.directory == Path.home() / "x"
    assert cfg.capture.device == "spk"
