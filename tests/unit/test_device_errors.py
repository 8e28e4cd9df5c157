"""Foreign errors of the sound stack are translated at the edge: one line, the
device error's exit code, never "unexpected error"."""

import sys

from loopcap.app.cli import main
from loopcap.errors import EXIT_DEVICE


def test_a_missing_soundcard_module_is_a_device_error(monkeypatch, capsys):
    monkeypatch.delenv("LOOPCAP_BACKEND", raising=False)
    monkeypatch.setitem(sys.modules, "soundcard", None)  # import soundcard -> ImportError
    assert main(["devices"]) == EXIT_DEVICE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "soundcard" in err[0] and "unexpected" not in err[0]
