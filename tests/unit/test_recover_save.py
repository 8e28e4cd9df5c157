"""Recovery after a kill *while saving*: each state a save passes through, made
for real by stopping a capture's save at that step (the SIGKILL trials in
test_faults_kill.py reach them at random; here each one is reached on purpose).

A save (output.save.save_capture) goes: trimmed note to a hidden temporary, renamed to
``<stem>.<ext>``; raw capture encoded to a hidden temporary (write_span; for WAV
the partial file itself), linked to ``<stem>.raw.<ext>``; the partial name removed.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import soundfile as sf

from loopcap.config import OutputConfig
from loopcap.device.fake import FakeSource
from loopcap.session import Recording
from loopcap.writer.recover import recover_dir

SR = 48000


class Killed(BaseException):
    """Stands for the SIGKILL: nothing after it runs (not even except Exception)."""


def capture(tmp_path, fmt: str, monkeypatch, kill_at: str, left_behind: list | None = None):
    """Record 1.5 s of bursts (a note the trimmer finds), then 'die' at ``kill_at``.

    ``left_behind`` receives the path of the raw capture's half-written
    temporary (``mid-encode``), as the code itself named it."""
    import loopcap.output.export
    import loopcap.output.save

    real_link = loopcap.output.save.link_exclusive
    real_write_span = loopcap.output.save.write_span
    real_create = loopcap.output.export.create_exclusive

    def link(src, dst):
        if kill_at == "after-link" and ".raw." in dst.name:
            os.link(src, dst)  # the new name is made, the old not yet removed
            raise Killed
        if kill_at == "before-raw" and ".raw." in dst.name:
            raise Killed
        return real_link(src, dst)

    def write_span(src, dst, *args, **kwargs):
        if ".raw." in dst.name and kill_at == "before-raw":
            raise Killed  # before the raw capture's encoding began
        return real_write_span(src, dst, *args, **kwargs)

    def create(path):
        fd = real_create(path)
        if ".raw." in path.name and kill_at == "mid-encode":
            # Killed while encoding the raw capture: the temporary the code
            # made is left half-written (a real kill runs no clean-up).
            os.write(fd, b"fLaC\0\0\0")
            os.close(fd)
            if left_behind is not None:
                left_behind.append(path)
            raise Killed
        return fd

    monkeypatch.setattr(loopcap.output.save, "link_exclusive", link)
    monkeypatch.setattr(loopcap.output.save, "write_span", write_span)
    monkeypatch.setattr(loopcap.output.export, "create_exclusive", create)
    rec = Recording(
        FakeSource(signal="burst", speed=1),
        OutputConfig(dir=str(tmp_path), format=fmt, stem="note"),
        SR,
    )
    rec.start()
    time.sleep(max(0.0, rec.t0 + 1.5 - time.monotonic()))
    with pytest.raises(Killed):
        rec.stop(rec.t0 + 1.5)
    rec.writer.release()  # the process is gone: so is its lock
    monkeypatch.undo()
    return sorted(p.name for p in tmp_path.iterdir())


def playable(path) -> int:
    with sf.SoundFile(str(path)) as f:
        return len(f.read(dtype="float32"))


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_killed_after_the_note_before_the_raw(tmp_path, monkeypatch, fmt):
    left = capture(tmp_path, fmt, monkeypatch, "before-raw")
    assert left == sorted([f"note.{fmt}", "note.partial.wav"]), left
    (rec,) = recover_dir(tmp_path)
    # The whole capture becomes the note's raw capture, not a second "note-2".
    assert rec.path.name == "note.raw.wav"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"note.{fmt}", "note.raw.wav"])
    assert playable(rec.path) == pytest.approx(1.5 * SR, abs=0.05 * SR)
    assert playable(tmp_path / f"note.{fmt}") > 0


def test_killed_between_naming_the_raw_and_dropping_the_partial(tmp_path, monkeypatch):
    left = capture(tmp_path, "wav", monkeypatch, "after-link")
    assert left == ["note.partial.wav", "note.raw.wav", "note.wav"], left
    (rec,) = recover_dir(tmp_path)
    assert rec.path.name == "note.raw.wav"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["note.raw.wav", "note.wav"]
    assert playable(rec.path) == pytest.approx(1.5 * SR, abs=0.05 * SR)


def test_killed_while_encoding_leaves_no_unreadable_temporary(tmp_path, monkeypatch):
    temporaries: list = []
    left = capture(tmp_path, "flac", monkeypatch, "mid-encode", temporaries)
    assert [p.name for p in temporaries] == [f".note.raw.flac.{os.getpid()}.tmp"]
    assert temporaries[0].name in left and "note.partial.wav" in left, left
    (rec,) = recover_dir(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["note.flac", "note.raw.wav"]
    assert playable(rec.path) == pytest.approx(1.5 * SR, abs=0.05 * SR)


def test_an_encoded_raw_that_was_finished_makes_the_partial_redundant(tmp_path):
    audio = (np.random.default_rng(1).standard_normal((SR, 2)) * 0.1).astype(np.float32)
    sf.write(tmp_path / "note.partial.wav", audio, SR, subtype="FLOAT")
    sf.write(tmp_path / "note.raw.flac", audio, SR, subtype="PCM_24")
    (rec,) = recover_dir(tmp_path)
    assert rec.path.name == "note.raw.flac"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["note.raw.flac"]


def test_a_partial_with_a_header_and_no_audio_is_removed(tmp_path):
    with sf.SoundFile(tmp_path / "x.partial.wav", "w", SR, 2, subtype="FLOAT"):
        pass
    assert recover_dir(tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_a_capture_being_saved_is_left_alone(tmp_path):
    """The partial file stays locked until the save is done, so a recovery that
    another loopcap command starts meanwhile does not take it away."""
    rec = Recording(
        FakeSource(signal="burst"),
        OutputConfig(dir=str(tmp_path), format="wav", stem="note"),
        SR,
    )
    rec.start()
    time.sleep(0.5)
    seen = {}
    real_finalise = rec._finalise

    def finalise(result, **kw):
        seen["recovered"] = recover_dir(tmp_path)  # another command starts now
        return real_finalise(result, **kw)

    rec._finalise = finalise
    saved = rec.stop()
    assert seen["recovered"] == []
    assert saved.raw_path.exists() and playable(saved.raw_path) > 0
