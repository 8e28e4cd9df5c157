"""What an installed loopcap holds: the files it reads from its own package
(the voice detector's model and its licence, the example config, the tray
icon's art) must be declared as package data, or a wheel ships without them
while an editable install (the tests' own) still finds them in the tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _built(tmp_path: Path) -> Path:
    """The package as setuptools builds it for a wheel (its ``build_py``
    step), from a copy of the tree so that nothing is written into it."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "loopcap", src / "loopcap", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    lib = tmp_path / "lib"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import setuptools; setuptools.setup()",
            "-q",
            "build_py",
            "--build-lib",
            str(lib),
        ],
        cwd=src,
        check=True,
        capture_output=True,
    )
    return lib


def test_the_built_package_ships_the_voice_detector_and_loads_it(tmp_path: Path) -> None:
    lib = _built(tmp_path)
    models = lib / "loopcap" / "trim" / "models"
    assert (models / "silero_vad_16k_products.onnx").stat().st_size > 1_000_000
    assert "MIT" in (models / "LICENSE.silero-vad").read_text()
    assert (lib / "loopcap" / "config.example.toml").is_file()
    assert list((lib / "loopcap" / "app" / "art").glob("*.svg"))
    # The model loads from the built package, not from this tree.
    probe = "import loopcap.trim.judge as j; print(j.__file__); print(j._model() is not None)"
    env = {**os.environ, "PYTHONPATH": str(lib)}
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert out[0].startswith(str(lib))
    assert out[1] == "True"
