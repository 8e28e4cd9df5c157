"""A whole recording on the deterministic fake source: timeline, stop, loss, files."""

import os
import stat
import time

import numpy as np
import pytest
import soundfile as sf

from loopcap.config import OutputConfig
from loopcap.device.fake import FakeSource
from loopcap.errors import DeviceLostError
from loopcap.session import Recording

SR = 48000


def record(tmp_path, source, seconds, fmt="wav", stem="note"):
    rec = Recording(source, OutputConfig(dir=str(tmp_path), format=fmt, stem=stem), SR)
    rec.start()
    time.sleep(max(0.0, rec.t0 + seconds - time.monotonic()))
    return rec, rec.stop(rec.t0 + seconds)


def fake_offset(rec, src):
    """Seconds of the fake device's clock before the file's position 0."""
    return rec.t0 - src.stream.t_open


def test_silence_the_device_did_not_deliver_is_kept_in_place(tmp_path):
    # The device delivers nothing from 1.0 s to 2.0 s of its clock, as an idle
    # monitor does; the file starts where that clock does (the start does not
    # wait for audio).
    src = FakeSource(signal="tone", gaps_s=[(1.0, 2.0)])
    rec, saved = record(tmp_path, src, 2.5)
    o = fake_offset(rec, src)
    assert -0.005 < o < 0.03
    audio, sr = sf.read(saved.raw_path, dtype="float32")
    assert abs(len(audio) / sr - 2.5) < 0.05
    mono = audio[:, 0]
    # Silence where nothing came, the tone on both sides.
    assert np.max(np.abs(mono[int((1.1 - o) * sr) : int((1.9 - o) * sr)])) == 0.0
    assert np.max(np.abs(mono[int(0.1 * sr) : int((0.9 - o) * sr)])) > 0.2
    # After the gap the tone sits at its true time: compare with the ideal sine.
    seg = slice(int(2.2 * sr), int(2.4 * sr))
    t = np.arange(seg.start, seg.stop) / sr + o
    best = max(
        range(-960, 961, 24),
        key=lambda lag: float(np.dot(mono[seg], np.sin(2 * np.pi * 440 * (t - lag / sr)))),
    )
    assert abs(best) / sr <= 0.02, f"tone displaced by {best / sr * 1000:.1f} ms"


def test_stop_is_prompt_while_the_device_blocks(tmp_path):
    # After 0.2 s the device never delivers again: read() blocks.
    src = FakeSource(signal="tone", gaps_s=[(0.2, 1e9)])
    rec = Recording(src, OutputConfig(dir=str(tmp_path), format="wav", stem="x"), SR)
    rec.start()
    time.sleep(1.0)
    t = time.monotonic()
    saved = rec.stop()
    took = time.monotonic() - t
    assert took < 0.25, took
    assert abs(saved.duration_s - 1.0) < 0.05
    assert sf.info(str(saved.raw_path)).frames == round(saved.duration_s * SR)


def test_device_lost_keeps_what_was_captured(tmp_path):
    src = FakeSource(signal="tone", lose_after_s=1.0)
    rec = Recording(src, OutputConfig(dir=str(tmp_path), format="wav", stem="x"), SR)
    rec.start()
    deadline = time.monotonic() + 3
    while not rec.failed and time.monotonic() < deadline:
        time.sleep(0.02)
    assert rec.failed
    saved = rec.stop()
    assert isinstance(saved.error, DeviceLostError)
    audio, _ = sf.read(saved.raw_path)
    assert abs(len(audio) / SR - (1.0 - fake_offset(rec, src))) < 0.02
    assert np.max(np.abs(audio)) > 0.2


def test_audio_is_on_disk_within_a_second(tmp_path):
    src = FakeSource(signal="tone")
    rec = Recording(src, OutputConfig(dir=str(tmp_path), format="wav", stem="x"), SR)
    rec.start()
    time.sleep(1.6)
    partial = tmp_path / "x.partial.wav"
    with sf.SoundFile(partial) as f:  # the header is kept current
        on_disk = f.frames / SR
    elapsed = time.monotonic() - rec.t0
    rec.stop()
    assert on_disk >= elapsed - 1.0, (on_disk, elapsed)


def test_names_are_never_reused_and_files_are_private(tmp_path):
    out = tmp_path / "captures"
    src = FakeSource(signal="burst")  # a burst from 0.5 s to 1.0 s of each capture
    _, a = record(out, src, 1.2, stem="note")
    _, b = record(out, src, 1.2, stem="note")
    (out / "note-3.raw.wav").write_bytes(b"taken")
    _, c = record(out, src, 1.2, stem="note")
    assert [a.path.name, b.path.name, c.path.name] == ["note.wav", "note-2.wav", "note-4.wav"]
    assert c.raw_path.name == "note-4.raw.wav"
    assert (out / "note-3.raw.wav").read_bytes() == b"taken"
    if os.name == "posix":  # Windows has no such modes (its profile is private)
        assert stat.S_IMODE(os.stat(out).st_mode) == 0o700
        for s in (a, b, c):
            assert stat.S_IMODE(os.stat(s.path).st_mode) == 0o600
            assert stat.S_IMODE(os.stat(s.raw_path).st_mode) == 0o600
    assert not list(out.glob("*.partial.wav"))
    assert not list(out.glob(".*"))  # no temporary files left


@pytest.mark.parametrize("fmt, ext", [("flac", "flac"), ("ogg", "ogg"), ("mp3", "mp3")])
def test_encoded_formats(tmp_path, fmt, ext):
    src = FakeSource(signal="burst")
    _, saved = record(tmp_path, src, 1.0, fmt=fmt)
    assert saved.path.name == f"note.{ext}" and saved.raw_path.name == f"note.raw.{ext}"
    raw = sf.info(str(saved.raw_path))
    note = sf.info(str(saved.path))
    assert raw.samplerate == note.samplerate == SR and raw.channels == note.channels == 2
    assert abs(raw.duration - 1.0) < 0.1  # lossy codecs pad a little
    assert abs(note.duration - 0.5) < 0.1  # the burst from 0.5 s to 1.0 s
    for p in (saved.path, saved.raw_path):
        assert os.name != "posix" or stat.S_IMODE(os.stat(p).st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [saved.path.name, saved.raw_path.name]
    )


def test_trimmed_note_and_raw_capture(tmp_path):
    src = FakeSource(signal="burst")
    rec, saved = record(tmp_path, src, 1.0)
    o = fake_offset(rec, src)
    assert abs(saved.bounds.start_s - (0.5 - o)) < 0.003
    assert abs(saved.bounds.end_s - (1.0 - o)) < 0.003
    note, _ = sf.read(saved.path)
    raw, _ = sf.read(saved.raw_path)
    assert np.array_equal(note, raw[saved.bounds.start : saved.bounds.end])


def test_no_sound_keeps_only_the_raw_capture(tmp_path):
    _, saved = record(tmp_path, FakeSource(signal="silence"), 0.5)
    assert saved.path is None and saved.bounds is None
    assert [p.name for p in tmp_path.iterdir()] == [saved.raw_path.name]


def test_keep_raw_false(tmp_path):
    out = OutputConfig(dir=str(tmp_path), format="wav", stem="n", keep_raw=False)
    rec = Recording(FakeSource(signal="burst"), out, SR)
    rec.start()
    time.sleep(1.0)
    saved = rec.stop()
    assert saved.raw_path is None
    assert [p.name for p in tmp_path.iterdir()] == ["n.wav"]


def test_preroll_catches_what_played_before_the_start(tmp_path):
    from loopcap.capture.tap import Tap

    tap = Tap(FakeSource(signal="burst"), SR, preroll_s=0.6)
    tap.start()
    try:
        time.sleep(2.7)  # the burst plays from 2.5 s to 3.0 s
        t_start = time.monotonic()
        rec = Recording(tap, OutputConfig(dir=str(tmp_path), format="wav", stem="p"), SR)
        rec.start(t_start)
        assert t_start - 0.62 <= rec.t0 <= t_start - 0.58
        time.sleep(0.5)
        saved = rec.stop()
    finally:
        tap.close()
    # The burst began 0.2 s before the start key: it is in the file, whole.
    assert abs(saved.duration_s - 1.1) < 0.05
    assert saved.bounds is not None and abs(saved.bounds.kept_s - 0.5) < 0.005
    raw, _ = sf.read(saved.raw_path)
    tone = np.abs(raw[:, 0]) > 0.01
    onset = np.flatnonzero(tone)[0] / SR
    # In the file the burst starts where the wall clock says: 2.5 s of tap
    # time, i.e. 0.2 s before the start key, 0.4 s into the pre-roll.
    assert abs(onset - 0.4) < 0.03


def test_tap_serves_consecutive_recordings(tmp_path):
    from loopcap.capture.tap import Tap

    tap = Tap(FakeSource(signal="burst"), SR, preroll_s=0.0)
    tap.start()
    out = OutputConfig(dir=str(tmp_path), format="wav", stem="c")
    try:
        saved = []
        for _ in range(3):
            rec = Recording(tap, out, SR)
            rec.start()
            time.sleep(0.4)
            saved.append(rec.stop())
    finally:
        tap.close()
    assert [s.raw_path.name for s in saved] == ["c.raw.wav", "c-2.raw.wav", "c-3.raw.wav"]
    for s in saved:
        assert abs(s.duration_s - 0.4) < 0.05


def test_late_delivery_is_not_mistaken_for_a_gap(tmp_path):
    # The device delivers nothing from 1.0 s to 1.3 s, then all it owes: the
    # tone must come out whole, with no silence inserted.
    src = FakeSource(signal="tone", stalls_s=[(1.0, 1.3)])
    rec, saved = record(tmp_path, src, 2.0)
    audio, sr = sf.read(saved.raw_path, dtype="float32")
    assert abs(len(audio) / sr - 2.0) < 0.05
    mono = np.abs(audio[:, 0])
    quiet = mono < 1e-6
    runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(int), [0]]))))
    longest = int(runs[::2].max()) if len(runs) else 0
    assert longest < 10, f"{longest} samples of silence inside the tone"
    # After the stall the tone sits at its true time: compare with the ideal sine.
    o = fake_offset(rec, src)
    seg = slice(int(1.3 * sr), int(1.8 * sr))
    t = np.arange(seg.start, seg.stop) / sr + o

    def match(lag):
        ideal = np.sin(2 * np.pi * 440 * (t - lag / sr))
        return float(
            np.dot(audio[seg, 0], ideal) / (np.linalg.norm(audio[seg, 0]) * np.linalg.norm(ideal))
        )

    best = max(range(-960, 961, 4), key=match)
    assert abs(best) / sr <= 0.02 and match(best) > 0.95, (best, match(best))


def test_the_stop_decodes_the_capture_only_to_write_the_note(tmp_path, monkeypatch):
    """The writer measured the levels as it wrote: at the stop the partial file
    is not analysed again, and the only frames decoded from it are the note's
    (the raw WAV is given its name, not copied)."""
    import loopcap.output.reading as reading
    import loopcap.session as session

    decoded = {"frames": 0}
    real_iter = reading.Decoded.__iter__

    def counting_iter(self):
        for block in real_iter(self):
            decoded["frames"] += len(block)
            yield block

    def no_second_pass(*args, **kwargs):
        raise AssertionError("the capture was analysed again at the stop")

    monkeypatch.setattr(reading.Decoded, "__iter__", counting_iter)
    monkeypatch.setattr(session, "analyse_file", no_second_pass)
    rec, saved = record(tmp_path, FakeSource(signal="burst"), 2.2)
    (note,) = saved.notes
    assert saved.raw_path is not None and saved.path is not None
    assert decoded["frames"] == note.end - note.start
    assert note.end - note.start < 0.4 * saved.duration_s * SR


def test_a_second_stop_is_refused_and_close_after_stop_does_nothing(tmp_path):
    """A stopped recording never touches its tap again: on the app's shared tap
    that would end the next recording."""
    from loopcap.errors import LoopcapError

    rec, saved = record(tmp_path, FakeSource(signal="burst"), 1.0)
    assert saved.raw_path is not None
    with pytest.raises(LoopcapError, match="already stopped"):
        rec.stop()
    rec.close()  # nothing to do: no error, no second save
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (*saved.paths, saved.raw_path)
    )
