"""Crash safety: a real process killed mid-capture, then `loopcap recover`."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import rig
import soundfile as sf

from loopcap.app.cli import main
from loopcap.fs import create_locked
from loopcap.writer.recover import recover_dir


def fake_env(tmp_path, **extra):
    env = dict(
        os.environ,
        LOOPCAP_BACKEND="fake",
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "cfg"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def start_recording(tmp_path, out, *args, **env) -> tuple[rig.Loopcap, float]:
    """``loopcap record`` on the fake source, once its first line said it records:
    (the process, when that line came)."""
    proc = rig.Loopcap(["record", "--out-dir", str(out), *args], fake_env(tmp_path, **env))
    t_start = proc.wait_started()
    assert proc.lines[0][1].startswith(rig.START_LINE), proc.stderr
    return proc, t_start


def test_sigkill_then_recover_keeps_all_but_the_last_second(tmp_path, capsys):
    out = tmp_path / "out"
    proc, t_start = start_recording(tmp_path, out, "--format", "flac")
    time.sleep(2.5)
    t_kill, _ = proc.kill()
    assert [p.name for p in out.iterdir()][0].endswith(".partial.wav")

    assert main(["recover", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result) == 1
    path = result[0]["path"]
    audio, sr = sf.read(path)
    assert len(audio) / sr >= (t_kill - t_start) - 1.0
    assert np.max(np.abs(audio)) > 0.2  # the tone is there
    assert path.endswith(".wav") and not list(out.glob("*.partial.wav"))
    if os.name == "posix":  # Windows has no such modes (its profile is private)
        assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_a_live_capture_is_not_touched(tmp_path):
    partial = tmp_path / "busy.partial.wav"
    fd = create_locked(partial)
    try:
        assert recover_dir(tmp_path) == []
        assert partial.exists()
    finally:
        os.close(fd)
    # Once its writer is gone (the lock is released) it is dealt with: this
    # one never received a header, so there is nothing in it to keep.
    assert recover_dir(tmp_path) == []
    assert not partial.exists()


def test_an_unrepairable_partial_is_left_alone(tmp_path):
    junk = tmp_path / "junk.partial.wav"
    junk.write_bytes(b"not audio at all")
    assert recover_dir(tmp_path) == []
    assert junk.read_bytes() == b"not audio at all"


def test_any_command_repairs_the_captures_folder(tmp_path, monkeypatch):
    out = tmp_path / "out"
    proc, _ = start_recording(tmp_path, out, "--format", "wav")
    time.sleep(1.5)
    proc.kill()
    proc.communicate()
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[output]\ndir = "{out}"\n')
    monkeypatch.setenv("LOOPCAP_BACKEND", "fake")
    assert main(["--config", str(cfg), "devices"]) == 0
    assert not list(out.glob("*.partial.wav"))
    assert len(list(out.glob("*.wav"))) == 1


_RF64_KILLED = """
import os, sys
import numpy as np, soundfile as sf
path, synced = sys.argv[1], int(sys.argv[2])
audio = np.load(sys.argv[3])
fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
f = sf.SoundFile(fd, "w", 48000, 2, format="RF64", subtype="FLOAT", closefd=False)
f.write(audio[:synced])
sf._snd.sf_command(f._file, 0x1060, sf._ffi.NULL, 0)  # SFC_UPDATE_HEADER_NOW
f.write(audio[synced:])
os.write(fd, b"\\x00" * 4)  # a frame cut in half
os._exit(0)  # killed: the header is never rewritten again
"""


def _kill_mid_rf64(tmp_path, path, audio, synced_frames):
    """What a SIGKILL leaves of a partial file past 4 GiB (then RF64): the
    ds64 sizes from the last header rewrite, more audio after them, and half
    a frame at the very end."""
    np.save(tmp_path / "audio.npy", audio)
    subprocess.run(
        [
            sys.executable,
            "-c",
            _RF64_KILLED,
            str(path),
            str(synced_frames),
            str(tmp_path / "audio.npy"),
        ],
        check=True,
    )
    (tmp_path / "audio.npy").unlink()


def test_an_rf64_partial_is_repaired_up_to_its_last_whole_frame(tmp_path):
    audio = (np.random.default_rng(3).standard_normal((48000 * 3, 2)) * 0.1).astype(np.float32)
    path = tmp_path / "loopcap-2026-01-01_00-00-00.partial.wav"
    _kill_mid_rf64(tmp_path, path, audio, synced_frames=48000)
    assert path.read_bytes()[:4] == b"RF64"
    assert sf.info(str(path)).frames == 48000  # what libsndfile alone would keep
    (rec,) = recover_dir(tmp_path)
    back, sr = sf.read(rec.path, dtype="float32")
    assert sr == 48000 and rec.duration_s == 3.0
    np.testing.assert_array_equal(back, audio)


def test_the_partial_file_is_a_plain_wav_while_small(tmp_path):
    out = tmp_path / "out"
    proc, _ = start_recording(tmp_path, out, "--format", "wav")
    time.sleep(0.8)
    (partial,) = out.glob("*.partial.wav")
    assert partial.read_bytes()[:4] == b"RIFF"
    proc.kill()
    proc.communicate()
    (rec,) = recover_dir(out)
    assert rec.path.read_bytes()[:4] == b"RIFF"
    assert sf.info(str(rec.path)).duration > 0.3


def test_an_rf64_capture_is_inspected_as_a_wav(tmp_path):
    # Past 4 GiB the partial file is RF64, its data size 0xFFFFFFFF (the real
    # one is in the ds64 chunk): still a WAV, not cut, not an unknown file.
    from loopcap.output.containers import inspect

    path = tmp_path / "big.wav"
    with sf.SoundFile(path, "w", 48000, 2, format="RF64", subtype="FLOAT") as f:
        f.write(np.zeros((1000, 2), np.float32))
    assert path.read_bytes()[:4] == b"RF64"
    layout = inspect(path)
    assert layout.kind == "wav" and not layout.truncated and layout.problem is None


def test_a_header_rewritten_before_the_last_frames_does_not_cut_them(tmp_path):
    """Killed between two header rewrites: the header says 1.0 s, 1.5 s are on
    disk.  libsndfile would take the header's word; recover counts the frames."""
    from loopcap.writer.recover import recover_one

    path = tmp_path / "note.partial.wav"
    data = (np.arange(72000, dtype=np.float32) % 100 / 1000)[:, None].repeat(2, axis=1)
    with sf.SoundFile(path, "w", 48000, 2, format="WAV", subtype="FLOAT") as f:
        f.write(data[:48000])
        f.flush()
        f.seek(0, sf.SEEK_END)
    header = path.read_bytes()
    with open(path, "ab") as f:  # what the writer wrote after its last header rewrite
        f.write(data[48000:].tobytes())
    assert sf.info(str(path)).frames == 48000 and len(header) < path.stat().st_size
    rec = recover_one(path)
    assert rec is not None
    back, _ = sf.read(str(rec.path), dtype="float32")
    assert len(back) == 72000 and np.array_equal(back, data)
