"""A long capture with ``loopcap record``: memory stays flat and the file is complete.

The fake source delivers the counter signal in real time for its first second
(so the capture starts as on a real device), then 200 times faster, in 0.25 s
blocks, and ends after exactly ``length`` of audio: loopcap's position 0 is
the moment its stream opened, where the device's stream begins, so the file
should last ``length``.
While it records, the process's peak RSS (``VmHWM``) is read when 10 minutes of
audio are on disk and again at the end; after the stop the file is read back
frame by frame.

Required: peak RSS at the end within 5 MB of the peak at 10 minutes, beyond
the audio the writer was behind the 200x source (see :func:`max_backlog_mb`);
the file holds every frame from its first to the device's last, none missing
or doubled (so its frame count is exactly right), and lasts ``length`` within
50 ms.

CI runs 30 minutes of audio (about 10 s of recording); ``--soak`` runs the
full 2 hours (about 40 s of recording and 2.8 GB of disk, read back after).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from faultrig import counter_run, private_env
from rig import Loopcap

pytestmark = pytest.mark.posix  # SIGINT to a child and /proc: Linux

SR = 48000
SPEED = 200
BLOCK_FRAMES = 12000  # 0.25 s: the blocks the real stream hands over at each device check
MARK_S = 600.0  # where the first memory reading is taken
GROWTH_MB = 5.0


def vm_kib(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def max_backlog_mb(samples, t_line: float, first: int, end_s: float) -> float:
    """How far, at most, the file on disk was behind what the source had
    delivered (MB of float32 stereo): audio waiting in the capture queue.

    At 200x the writer must write 77 MB/s and fsync 19 MB every 0.25 s; on a
    busy disk it falls behind now and then, and the queue holds the audio
    until it is written (by design: audio is kept, not dropped).  That
    backlog is memory in use, but not memory that grows with the length of
    the capture.  The source's schedule is known: it opened ``first`` frames
    (position 0 of the file) before "Recording from", delivered in real time
    for 1 s, then SPEED times faster, until ``end_s``.  Sampled every 20 ms:
    up to 4 s of audio (1.5 MB) between samples is missed.
    """
    t_open = t_line - first / SR
    worst = 0
    for t, size in samples:
        elapsed = t - t_open
        delivered = SR * min(end_s, elapsed if elapsed <= 1 else 1 + (elapsed - 1) * SPEED)
        worst = max(worst, delivered - first - size / 8)
    return worst * 8 / 2**20


def long_capture(tmp_path, fault_trials, length_s: float):
    family = f"long capture, {length_s / 60:g} min of audio at {SPEED}x (memory, completeness)"
    survived = False
    out = tmp_path / "out"
    env = private_env(tmp_path / "env")
    end_s = length_s  # position 0 is where the device's stream begins: see above
    env["LOOPCAP_BACKEND"] = "fake"
    env["LOOPCAP_FAKE"] = (
        f"signal=counter,speed={SPEED},fast_after_s=1,end_after_s={end_s},"
        f"block_frames={BLOCK_FRAMES}"
    )
    proc = Loopcap(["record", "--out-dir", str(out), "--format", "wav", "--json"], env)
    try:
        t_line = proc.wait_line("Recording from", timeout=30)
        assert t_line is not None, proc.stderr
        (partial,) = out.glob("*.partial.wav")
        frame_bytes = 8  # float32 stereo
        hwm_mark = hwm_end = None
        samples = []  # (time, bytes on disk) after the 10-minute mark
        last_size, still_since = -1, time.monotonic()
        deadline = time.monotonic() + 20 + 3 * length_s / SPEED
        while time.monotonic() < deadline:
            size = partial.stat().st_size
            if hwm_mark is None and size >= MARK_S * SR * frame_bytes:
                hwm_mark = vm_kib(proc.pid, "VmHWM")
            elif hwm_mark is not None:
                samples.append((time.monotonic(), size))
            if size != last_size:
                last_size, still_since = size, time.monotonic()
            elif size > (end_s - 1) * SR * frame_bytes and time.monotonic() - still_since > 1.0:
                break  # the device has ended and all it gave is on disk
            time.sleep(0.02)
        else:
            pytest.fail(f"the capture did not reach its end; stderr:\n{proc.stderr}")
        hwm_end = vm_kib(proc.pid, "VmHWM")
        recording_s = time.monotonic() - proc.t_launch
        proc.proc.send_signal(signal.SIGINT)
        peak_run = hwm_end
        while proc.alive():  # the save: the trimmer's pass over the file
            peak_run = vm_kib(proc.pid, "VmHWM") or peak_run
            time.sleep(0.05)
        status = proc.finish(120)
        assert status == 4, f"exit {status} (4: no note in the counter); {proc.stderr}"
        raw = Path(proc.json()["raw_path"])
        run = counter_run(raw)
        growth = (hwm_end - hwm_mark) / 1024
        behind = max_backlog_mb(samples, t_line, run.first, end_s)
        print(
            f"{length_s / 60:g} min: recorded in {recording_s:.1f} s; peak RSS "
            f"{hwm_mark / 1024:.1f} MB at 10 min, {hwm_end / 1024:.1f} MB at the end "
            f"({growth:+.1f} MB; the writer up to {behind:.1f} MB behind the source), "
            f"{peak_run / 1024:.1f} MB with the save; file "
            f"{run.frames} frames = {run.seconds:.4f} s from stream position {run.first}"
        )
        assert run.breaks == 0 and run.tail_zeros == 0, run
        assert run.last == round(end_s * SR) - 1, f"the file ends at {run.last}"
        assert run.frames == run.last - run.first + 1
        assert run.seconds == pytest.approx(length_s, abs=0.05), run.seconds
        assert growth <= GROWTH_MB + behind, (
            f"peak RSS grew {growth:.1f} MB after 10 min, more than {GROWTH_MB} MB and the "
            f"{behind:.1f} MB of audio the writer was behind"
        )
        assert "lost" not in proc.stderr, proc.stderr
        survived = True
    finally:
        fault_trials.add(family, survived)
        if proc.alive():
            proc.kill()
        for path in out.glob("*.wav"):
            path.unlink()


def test_thirty_minutes_memory_flat_and_file_complete(tmp_path, fault_trials):
    long_capture(tmp_path, fault_trials, length_s=30 * 60)


@pytest.mark.soak
@pytest.mark.timeout(900)
def test_two_hours_memory_flat_and_file_complete(tmp_path, fault_trials):
    long_capture(tmp_path, fault_trials, length_s=2 * 3600)


@pytest.mark.soak
@pytest.mark.timeout(900)
def test_past_four_gib_the_file_stays_complete(tmp_path, fault_trials):
    """3.5 hours of float stereo is 4.5 GiB: past a WAV's 32-bit sizes, so the
    partial file turns RF64 (about 70 s of recording, 4.8 GB of disk)."""
    long_capture(tmp_path, fault_trials, length_s=3.5 * 3600)
