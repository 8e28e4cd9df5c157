"""`loopcap trim` on hundreds of bad files, generated here, family by family.

Every bad file goes through ``loopcap trim BAD GOOD`` (in this process, through
``loopcap.app.cli.main``) and must give:

* exactly one line on stderr, ``loopcap: BAD: <reason>``, with the reason the
  family calls for, and nothing else on stderr (no traceback, no decoder noise);
* exit status 1 (some file failed);
* its input untouched (bytes and modification time), no output and no
  temporary file left in its folder;
* the good file after it trimmed all the same (the batch goes on).

Each family counts its trials and the files handled correctly; a failure lists
every file that was not.  With ``LOOPCAP_RELIABILITY_OUT=FILE`` the counts are
also appended to FILE as JSON lines (``benchmarks/reliability.py`` prints them
as the table in ``docs/reliability.md``).
"""

from __future__ import annotations

import ctypes
import io
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rig
import soundfile as sf
from filerig import SR, note, ogg_pages, opus_note, pcm16, wav_header
from rig import report

from loopcap.app.cli import main
from loopcap.errors import EXIT_ERROR

# --------------------------------------------------------------------------------------
# Checking one bad file
# --------------------------------------------------------------------------------------

Run = Callable[[list[str]], tuple[int, str, str]]


def snapshot(path: Path):
    """What must not change about an input: its bytes and modification time."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not path.is_file() or path.is_symlink():
        return (st.st_mode, st.st_mtime_ns)
    try:
        return (path.read_bytes(), st.st_mtime_ns)
    except PermissionError:  # the unreadable family: its size stands in
        return (st.st_size, st.st_mtime_ns)


def check_bad(run: Run, bad: Path, good: Path, reason: str) -> str | None:
    """None if ``loopcap trim BAD GOOD`` handles ``bad`` as a bad file must be
    handled (see the module's docstring); else what went wrong."""
    folder = bad.parent if bad.parent.exists() else good.parent
    watched = {folder, good.parent}
    before = {d: _listing(d) for d in watched}
    kept = snapshot(bad)
    good_out = good.with_name(f"{good.stem}.trimmed{good.suffix}")
    code, out, err = run(["trim", str(bad), str(good)])
    problems = []
    if code != EXIT_ERROR:
        problems.append(f"exit status {code}, not {EXIT_ERROR}")
    if "Traceback" in err:
        problems.append("a traceback")
    lines = [line for line in err.splitlines() if line.strip()]
    prefix = f"loopcap: {bad}: "
    named = [line for line in lines if line.startswith(prefix)]
    if len(named) != 1:
        problems.append(f"{len(named)} lines naming it")
    elif not re.search(reason, named[0][len(prefix) :]):
        problems.append(f"reason {named[0][len(prefix) :]!r} does not match {reason!r}")
    stray = [line for line in lines if not line.startswith(prefix)]
    if stray:
        problems.append(f"other lines on stderr: {stray[:3]}")
    if not good_out.is_file() or str(good_out) not in out:
        problems.append("the good file after it was not trimmed")
    good_out.unlink(missing_ok=True)
    if snapshot(bad) != kept:
        problems.append("the input changed")
    for d, names in before.items():
        if _listing(d) != names:
            problems.append(f"left behind in {d}: {sorted(_listing(d) - names)}")
    return "; ".join(problems) or None


def _listing(folder: Path) -> set[str]:
    try:
        return {p.name for p in folder.iterdir()}
    except OSError:
        return set()


def check_family(
    family: str, run: Run, cases: list[tuple[Path, str]], good: Path
) -> tuple[int, int]:
    """Check every (bad file, reason pattern); fail listing the ones mishandled."""
    assert cases, f"{family}: no cases generated"
    failures = []
    for bad, reason in cases:
        problem = check_bad(run, bad, good, reason)
        if problem:
            failures.append(f"{bad.name}: {problem}")
    handled = len(cases) - len(failures)
    report("Bad input", family, len(cases), handled)
    assert not failures, f"{family}: {handled} of {len(cases)} handled; not handled:\n" + "\n".join(
        failures[:40]
    )
    return len(cases), handled


@pytest.fixture
def run(capfd) -> Run:
    """``loopcap ARGS`` in this process: (status, stdout, stderr), stderr at the
    file-descriptor level (what native libraries print there too)."""
    capfd.readouterr()

    def go(args: list[str]) -> tuple[int, str, str]:
        code = main(args)
        out, err = capfd.readouterr()
        return code, out, err

    return go


@pytest.fixture
def good(tmp_path) -> Path:
    path = tmp_path / "good" / "good.wav"
    path.parent.mkdir()
    sf.write(path, note(), SR)
    return path


# --------------------------------------------------------------------------------------
# The families
# --------------------------------------------------------------------------------------

EXTENSIONS = ("wav", "flac", "ogg", "opus", "mp3")
DAMAGED = r"^cannot read it: it is (damaged, cut short|not an audio file)"
CUT = DAMAGED + r"|^it is cut short before its first complete audio|^holds no audio"


def test_empty_files(tmp_path, run, good):
    cases = []
    for name in [*(f"empty.{e}" for e in EXTENSIONS), "EMPTY.WAV", "empty"]:
        path = tmp_path / name
        path.write_bytes(b"")
        cases.append((path, r"^the file is empty$"))
    check_family("empty files", run, cases, good)


def wav_bytes(subtype: str) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, note(channels=2), SR, format="WAV", subtype=subtype)
    return buf.getvalue()


def data_offset(wav: bytes) -> int:
    """Where the samples of a WAV begin."""
    return wav.index(b"data") + 8


def test_files_cut_inside_their_header(tmp_path, run, good):
    cases = []

    def cuts(name: str, data: bytes, offsets) -> None:
        for cut in offsets:
            path = tmp_path / f"cut{cut:05d}-{name}"
            path.write_bytes(data[:cut])
            cases.append((path, CUT))

    for subtype in ("PCM_16", "FLOAT"):  # 44-byte header; 80 with fact and PEAK chunks
        wav = wav_bytes(subtype)
        cuts(f"{subtype.lower()}.wav", wav, range(1, data_offset(wav) + 1))
    flac = tmp_path / "src.flac"
    sf.write(flac, note(channels=2), SR)
    data = flac.read_bytes()
    flac.unlink()
    first_frame = data.index(b"\xff\xf8")  # the first frame's sync code
    cuts("stream.flac", data, range(1, first_frame + 8))
    opus = opus_note(tmp_path)
    headers_end = max(end for _, end, granule in ogg_pages(opus) if granule == 0)
    cuts("note.opus", opus, range(1, headers_end + 1))
    vorbis = tmp_path / "src.ogg"
    sf.write(vorbis, note(channels=2), SR, format="OGG", subtype="VORBIS")
    data = vorbis.read_bytes()
    vorbis.unlink()
    pages = ogg_pages(data)
    headers_end = max(end for _, end, granule in pages if granule == 0)
    # Every byte of the first page; then every 64th of the codebooks' page.
    cuts("stream.ogg", data, [*range(1, pages[0][1] + 1), *range(pages[0][1], headers_end, 64)])
    check_family("cut inside the header", run, cases, good)


def test_random_bytes(tmp_path, run, good):
    rng = np.random.default_rng(20261122)
    cases = []
    for ext in EXTENSIONS:
        for size in (1, 2, 3, 4, 12, 44, 100, 1000, 4096, 65536):
            path = tmp_path / f"random{size}.{ext}"
            path.write_bytes(rng.bytes(size))
            cases.append((path, DAMAGED))
    # The right magic, then noise.
    for magic, ext in (
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "wav"),
        (b"fLaC", "flac"),
        (b"OggS\x00\x02", "ogg"),
        (b"OggS\x00\x02", "opus"),
        (b"ID3\x03\x00\x00", "mp3"),
        (b"\xff\xfb\x90\x64", "mp3"),
    ):
        for size in (4, 100, 4096):
            path = tmp_path / f"magic{size}-{magic[:4].hex()}.{ext}"
            path.write_bytes(magic + rng.bytes(size))
            cases.append((path, DAMAGED + r"|^its header is damaged"))
    check_family("random bytes", run, cases, good)


ABSURD = {
    "channels 0": dict(channels=0),
    "channels 65": dict(channels=65),
    "channels 65535": dict(channels=65535),
    "rate 0": dict(rate=0),
    "rate 1": dict(rate=1),
    "rate 999": dict(rate=999),
    "rate 2^31": dict(rate=2**31),
    "rate 2^32-1": dict(rate=2**32 - 1),
    "bits 0": dict(bits=0),
    "bits 1": dict(bits=1),
    "bits 7": dict(bits=7),
    "bits 33": dict(bits=33),
    "bits 64": dict(bits=64),
    "bits 65535": dict(bits=65535),
    "format tag 0": dict(tag=0),
    "format tag 0x1234": dict(tag=0x1234),
    "format tag 0xffff": dict(tag=0xFFFF),
    "extensible without its extension": dict(tag=0xFFFE),
    "float with 16 bits": dict(tag=3),
    "fmt size 0": dict(fmt_size=0),
    "fmt size 2": dict(fmt_size=2),
    "fmt size 2^32-1": dict(fmt_size=2**32 - 1),
    "fmt size past the data": dict(fmt_size=100),
    "data size 0": dict(data_size=0),
}


def test_absurd_wav_header_values(tmp_path, run, good):
    samples = pcm16(note(channels=2))
    cases = []
    for name, fields in ABSURD.items():
        path = tmp_path / (name.replace(" ", "_") + ".wav")
        path.write_bytes(wav_header(samples=samples, **fields))
        cases.append((path, r"^its header is damaged|" + CUT))
    check_family("absurd WAV header values", run, cases, good)


@pytest.mark.posix  # a FIFO and symlinks: POSIX
def test_not_a_file(tmp_path, run, good):
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder.wav").mkdir()
    (tmp_path / "dangling.wav").symlink_to(tmp_path / "nowhere.wav")
    (tmp_path / "loop.wav").symlink_to(tmp_path / "loop.wav")
    os.mkfifo(tmp_path / "fifo.wav")
    file = tmp_path / "file.wav"
    sf.write(file, note(), SR)
    cases = [
        (tmp_path / "folder", r"^is a folder, not an audio file$"),
        (tmp_path / "folder.wav", r"^is a folder, not an audio file$"),
        (tmp_path / "missing.wav", r"^no such file$"),
        (tmp_path / "no-folder" / "missing.wav", r"^no such file$"),
        (file / "below-a-file.wav", r"^no such file$"),
        (tmp_path / "dangling.wav", r"^no such file$"),
        (tmp_path / "loop.wav", r"^cannot reach it \(Too many levels of symbolic links\)$"),
        (tmp_path / "fifo.wav", r"^is not a regular file$"),  # and never blocks on it
    ]
    check_family("not a file", run, cases, good)


# --------------------------------------------------------------------------------------
# Files loopcap may not read
# --------------------------------------------------------------------------------------

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE = 1
CAP_DAC_READ_SEARCH = 2


def _without_dac_override() -> None:
    """In the child before exec: as root, give up the capabilities that let root
    read and search anything, so file permissions apply to it as to anyone."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def run_subprocess(args: list[str]) -> tuple[int, str, str]:
    """``loopcap ARGS`` in a child process where permissions apply (as root:
    without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH)."""
    done = rig.run_loopcap(
        args, timeout=60, preexec_fn=_without_dac_override if os.geteuid() == 0 else None
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.posix  # chmod and geteuid: POSIX
def test_files_it_may_not_read(tmp_path, good):
    if os.geteuid() == 0:
        try:
            subprocess.run(["true"], preexec_fn=_without_dac_override, check=True, timeout=10)
        except (OSError, subprocess.SubprocessError) as exc:
            rig.unavailable(f"running as root and cannot give up CAP_DAC_OVERRIDE here ({exc})")
    cases = []
    for name, mode in (("mode-000.wav", 0o000), ("write-only.wav", 0o200)):
        path = tmp_path / name
        sf.write(path, note(), SR)
        path.chmod(mode)
        cases.append((path, r"^permission denied: you may not read it$"))
    for name, mode in (("closed-folder", 0o000), ("unsearchable-folder", 0o600)):
        folder = tmp_path / name
        folder.mkdir()
        sf.write(folder / "note.wav", note(), SR)
        folder.chmod(mode)
        cases.append(
            (folder / "note.wav", r"^permission denied: you may not open the folder it is in$")
        )
    try:
        # The check itself, in a child process that is refused them for real.
        check_family("files it may not read", run_subprocess, cases, good)
        # The same child conditions refuse any program, not just loopcap.
        cat = subprocess.run(
            ["cat", str(cases[0][0])],
            preexec_fn=_without_dac_override if os.geteuid() == 0 else None,
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert cat.returncode != 0 and "Permission denied" in cat.stderr
    finally:
        for name in ("closed-folder", "unsearchable-folder"):
            (tmp_path / name).chmod(0o700)
