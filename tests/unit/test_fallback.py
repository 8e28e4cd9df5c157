"""The output folder failing during a capture: the capture moves to a rescue folder
whole, and the user is told where (in-process, fake source with the counter signal,
so every frame of the saved file can be accounted for).

A full disk is a real one: a 2 MB tmpfs (mounting needs root; in CI that is a
must, see faultrig.require_mount).  A deleted folder is really deleted.  A failing
write that is neither is injected at soundfile's write call.
"""

from __future__ import annotations

import errno
import shutil
import tempfile
import time
from pathlib import Path

import pytest
import soundfile as sf
from faultrig import counter_run, fill, tmpfs

from loopcap.config import OutputConfig
from loopcap.device.fake import FakeSource
from loopcap.errors import OutputError
from loopcap.session import Recording

pytestmark = pytest.mark.posix  # small disks are tmpfs mounts (and /proc): Linux

SR = 48000


@pytest.fixture
def rescue(tmp_path, monkeypatch) -> Path:
    """The first rescue folder, inside this test's tmp_path."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # the second one
    return tmp_path / "data" / "loopcap" / "rescue"


def record(out: Path, seconds: float, speed: float = 1.0, during=None, **kw):
    """Record the counter for ``seconds`` of wall time; ``during(rec)`` runs at half time."""
    rec = Recording(
        FakeSource(signal="counter", speed=speed),
        OutputConfig(dir=str(out), format="wav", stem="note"),
        SR,
        **kw,
    )
    rec.start()
    if during is not None:
        time.sleep(max(0.0, rec.t0 + seconds / 2 - time.monotonic()))
        during(rec)
    time.sleep(max(0.0, rec.t0 + seconds - time.monotonic()))
    return rec, rec.stop(rec.t0 + seconds)


def assert_whole(saved, seconds: float, speed: float = 1.0):
    """The raw capture holds every frame from its first on, none missing or doubled,
    and lasts as long as the capture (speed 1: the wall clock; faster: at least that)."""
    run = counter_run(saved.raw_path)
    assert run.intact, f"{run.breaks} breaks in {saved.raw_path}"
    assert run.tail_zeros < 0.02 * SR, f"{run.tail_zeros} silent frames at the end"
    assert run.frames == sf.info(str(saved.raw_path)).frames
    if speed == 1.0:
        assert run.seconds == pytest.approx(seconds, abs=0.05)
    else:
        assert run.seconds >= seconds
    return run


def test_disk_full_mid_capture_goes_on_in_the_rescue_folder(tmp_path, rescue):
    out = tmp_path / "small"
    with tmpfs(out, size="2m"):
        # 2 MB hold 5.4 s of 48 kHz stereo float; 3 s at 4x is 12 s of audio.
        rec, saved = record(out, 3.0, speed=4.0)
        left = sorted(p.name for p in out.iterdir())
    assert saved.raw_path.parent == rescue, saved
    run = assert_whole(saved, 3.0, speed=4.0)
    assert run.seconds > 10.0
    assert left == [], f"the full disk still holds {left}"
    assert isinstance(saved.error, OutputError)
    message = str(saved.error)
    assert "No space left on device" in message, message
    assert str(out) in message and str(rescue) in message, message
    assert not list(rescue.glob("*.partial.wav"))


def test_disk_full_before_the_first_header(tmp_path, rescue):
    out = tmp_path / "full"
    with tmpfs(out, size="1m"):
        fill(out)
        rec, saved = record(out, 1.0)
        left = sorted(p.name for p in out.iterdir())
    assert left == ["filler"]
    assert saved.raw_path.parent == rescue
    assert_whole(saved, 1.0)
    assert "No space left on device" in str(saved.error)


def test_folder_deleted_mid_capture(tmp_path, rescue):
    out = tmp_path / "captures"

    def delete(rec):
        shutil.rmtree(out)

    rec, saved = record(out, 2.0, during=delete)
    assert saved.raw_path.parent == rescue
    assert_whole(saved, 2.0)
    assert "deleted" in str(saved.error) and str(rescue) in str(saved.error)
    assert not out.exists() or not list(out.iterdir())


def test_write_error_mid_capture_keeps_every_frame(tmp_path, rescue, monkeypatch):
    out = tmp_path / "captures"
    real_write = sf.SoundFile.write
    calls = {"n": 0}

    def failing_write(self, data):
        # The captures folder's disk fails after 40 writes (an I/O error).
        if isinstance(self.name, int) and _fd_dir(self.name) == out:
            calls["n"] += 1
            if calls["n"] > 40:
                raise OSError(errno.EIO, "Input/output error")
        return real_write(self, data)

    monkeypatch.setattr(sf.SoundFile, "write", failing_write)
    rec, saved = record(out, 1.5)
    assert calls["n"] > 40
    assert saved.raw_path.parent == rescue
    assert_whole(saved, 1.5)
    assert "Input/output error" in str(saved.error)


def _fd_dir(fd: int) -> Path | None:
    try:
        return Path(f"/proc/self/fd/{fd}").resolve().parent
    except OSError:
        return None


def test_unwritable_folder_at_the_start(tmp_path, rescue):
    out = tmp_path / "ro"
    with tmpfs(out, size="1m", ro=True):
        # `loopcap record` refuses at once: nothing was recorded yet.
        with pytest.raises(OutputError, match="cannot write to the output folder"):
            record(out, 0.5)
        # The app records into the rescue folder instead, and says where.
        rec, saved = record(out, 1.0, rescue_on_start=True)
    assert saved.raw_path.parent == rescue
    assert_whole(saved, 1.0)
    assert "Read-only file system" in str(saved.error) and str(rescue) in str(saved.error)


def test_no_folder_takes_it_then_nothing_is_claimed(tmp_path, rescue, monkeypatch):
    """With the output folder full and no rescue folder writable, the audio on
    disk stays in the partial file and the error says writing failed."""
    out = tmp_path / "small"
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the rescue folders' parents should be")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    monkeypatch.setattr(tempfile, "tempdir", str(blocker))
    with tmpfs(out, size="1m"):
        with pytest.raises(OutputError, match="writing .* failed"):
            record(out, 2.0, speed=4.0)
        partials = list(out.glob("*.partial.wav"))
        assert len(partials) == 1
        # Unlocked once given up, so `loopcap recover` can repair it.
        from loopcap.writer.recover import recover_dir

        (done,) = recover_dir(out)
        run = counter_run(done.path)
    assert run.intact and run.seconds > 2.0
