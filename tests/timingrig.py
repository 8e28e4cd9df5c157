"""Precisely timed playback and recording on a private sound server (re-exported
by ``rig``), for PulseAudio and PipeWire alike.

* :class:`ReferencePlayer` -- a helper process that keeps a low-latency playback
  stream open and places a sound on the sink's timeline at a chosen moment of the
  system's monotonic clock (``time.monotonic()`` is the same clock in every process
  on Linux).  paplay is not precise enough for that: it needs ~30 ms to start, and
  that start-up time varies.
* :class:`TimedCapture` -- a low-latency recording of a source with the arrival
  time of each block, to check the ReferencePlayer against.

Both talk to the server through its PulseAudio protocol (soundcard), with the
environment of ``server.env()``, and keep their files in ``server.dir``.  Both ask
for small blocks: pipewire-pulse's default record fragment is 2 s
(``pulse.default.frag``) and would hand a recorder its audio in 2 s lumps.  Their
accuracy on each server is checked by ``tests/system/test_rig.py``.

The helper processes of both are this file, run as a script.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Protocol

import numpy as np
from baserig import SAMPLERATE, SINK, SoundServerError
from soundrig import write_wav

__all__ = ["ReferencePlayer", "TimedCapture"]


class _Server(Protocol):
    """What the helpers need of a sound server (``serverrig.SoundServer``)."""

    dir: Path
    monitor_delay_s: float

    def env(self) -> dict[str, str]: ...


# --------------------------------------------------------------------------------------
# Precisely timed playback
# --------------------------------------------------------------------------------------


class ReferencePlayer:
    """Plays sounds into a sink at chosen moments of ``time.monotonic()``.

    A helper process (this file, run as a script) keeps a playback stream with a
    20 ms buffer open, feeding it silence.  To place a sound, it asks the server for
    the stream's current latency (the time until a sample written now is heard, as
    PulseAudio accounts it), pads with exactly enough silence frames and writes
    the sound.  ``play_at`` returns the monotonic time at which the first sample of
    the sound enters the sink, according to that computation, plus the server's
    ``monitor_delay_s``: on PipeWire a sound reaches the sink's monitor one graph
    cycle later than the stream's latency says, and "enters the sink" means what
    a recorder of the monitor, such as loopcap, sees.

    The stream keeps the sink busy: the server runs a sink at the lowest latency
    its streams ask for, so while the player is open the null sink renders in
    small blocks (PipeWire: 256-frame cycles) instead of the 2 s blocks of an
    idle null sink.  With
    ``open_stream=False`` the helper starts (and imports soundcard) but opens its
    stream only for the first sound, so the sink stays idle until then; allow
    0.2 s for the stream to open and settle before the first ``at``.

    Its accuracy is checked against an independent low-latency recording of the
    monitor in the rig's own tests (tests/system/test_rig.py).
    """

    def __init__(self, server: _Server, sink: str = SINK, open_stream: bool = True):
        self.server = server
        self.sink = sink
        self.open_stream = open_stream
        self.proc: subprocess.Popen | None = None
        self.latency_s: float | None = None

    def __enter__(self) -> ReferencePlayer:
        mode = "player" if self.open_stream else "lazy-player"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                mode,
                self.sink,
                repr(self.server.monitor_delay_s),
            ],
            env=self.server.env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.latency_s = self._reply(timeout=15)["latency"]
        return self

    def _reply(self, timeout: float) -> dict:
        assert self.proc is not None and self.proc.stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()))
        reader.daemon = True
        reader.start()
        reader.join(timeout)
        if not result or not result[0]:
            self.close()
            raise SoundServerError("reference player did not answer")
        reply = json.loads(result[0])
        if "error" in reply:
            raise SoundServerError(f"reference player: {reply['error']}")
        return reply

    def play_at(self, data, at: float, samplerate: int = SAMPLERATE) -> float:
        """Schedule ``data`` to enter the sink at monotonic time ``at``.

        Returns as soon as the sound is queued (before it has been played) with the
        time the first sample enters the sink, which equals ``at`` unless ``at`` was
        already too close (then it is as soon as possible).  Sounds queued while an
        earlier one plays follow it.
        """
        assert self.proc is not None and self.proc.stdin is not None
        path = write_wav(self.server.dir / f"ref-{time.monotonic_ns()}.wav", data, samplerate)
        self.proc.stdin.write(json.dumps({"play": str(path), "at": at}) + "\n")
        self.proc.stdin.flush()
        return self._reply(timeout=max(10.0, at - time.monotonic() + 10.0))["start"]

    def close(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def __exit__(self, *exc) -> None:
        self.close()


def _player_main(sink_name: str, open_stream: bool, monitor_delay_s: float) -> int:
    """Body of the :class:`ReferencePlayer` helper process (JSON lines on stdin/stdout)."""
    import queue

    import soundcard  # connects to PULSE_SERVER at import
    import soundfile

    block = 960  # 20 ms at 48 kHz: the stream's whole server-side buffer; 5 ms underran under load
    speaker = soundcard.get_speaker(sink_name)
    commands: queue.Queue = queue.Queue()

    def read_commands():
        for line in sys.stdin:
            commands.put(json.loads(line))
        commands.put(None)

    threading.Thread(target=read_commands, daemon=True).start()
    silence = np.zeros((block, 2), dtype=np.float32)

    def say(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    pending = None
    if not open_stream:
        say({"latency": None})
        pending = commands.get()
        if pending is None:
            return 0
        commands.put(pending)  # handled below, once the stream runs
        pending = None
    with speaker.player(samplerate=SAMPLERATE, channels=2, blocksize=block) as player:
        for _ in range(20):  # let the stream start and its timing settle
            player.play(silence)
        if open_stream:
            say({"latency": player.latency + monitor_delay_s})
        while True:
            if pending is None:
                try:
                    pending = commands.get_nowait()
                except queue.Empty:
                    pass
                else:
                    if pending is None:
                        break
                    data, sr = soundfile.read(pending["play"], dtype="float32", always_2d=True)
                    if sr != SAMPLERATE:
                        say({"error": f"sample rate {sr} != {SAMPLERATE}"})
                        pending = None
                        continue
                    if data.shape[1] == 1:
                        data = np.repeat(data, 2, axis=1)
                    pending["data"] = data[:, :2]
            if pending is not None:
                now = time.monotonic()
                latency = player.latency + monitor_delay_s
                lead = pending["at"] - (now + latency)
                if lead < 4 * block / SAMPLERATE:
                    pad = max(0, round(lead * SAMPLERATE))
                    start = now + latency + pad / SAMPLERATE
                    say({"start": start, "latency": latency, "late_s": max(0.0, -lead)})
                    player.play(np.concatenate([np.zeros((pad, 2), np.float32), pending["data"]]))
                    pending = None
                    continue
            player.play(silence)
    return 0


# --------------------------------------------------------------------------------------
# Reference recording with arrival times
# --------------------------------------------------------------------------------------


class TimedCapture:
    """A low-latency recording of a source in a helper process, with the monotonic
    time at which each block reached the helper.

    ``latest_time(i)`` is the latest moment at which sample ``i`` can have entered
    the sink: the arrival time of its block minus the samples after it in that
    block.  With 1 ms blocks this is an upper bound that is tight to a millisecond
    or two, which is what the rig's own tests use to check the ReferencePlayer.
    """

    def __init__(self, server: _Server, source: str, seconds: float):
        self._out = server.dir / f"timed-{time.monotonic_ns()}.npz"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "timed-capture",
                source,
                str(seconds),
                str(self._out),
            ],
            env=server.env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        if self.proc.stdout.readline().strip() != "recording":
            self.proc.wait()
            raise SoundServerError("timed capture helper failed to start")
        self.data: np.ndarray | None = None
        self.ends: np.ndarray | None = None
        self.times: np.ndarray | None = None

    def result(self, timeout: float = 60) -> TimedCapture:
        self.proc.wait(timeout=timeout)
        with np.load(self._out) as z:
            self.data, self.ends, self.times = z["data"], z["ends"], z["times"]
        self._out.unlink()
        return self

    def latest_time(self, index: int) -> float:
        block = int(np.searchsorted(self.ends, index, side="right"))
        return float(self.times[block] - (self.ends[block] - index) / SAMPLERATE)


def _timed_capture_main(source: str, seconds: float, out: str) -> int:
    import soundcard

    mic = soundcard.get_microphone(source, include_loopback=True)
    chunks, ends, times = [], [], []
    total = 0
    with mic.recorder(samplerate=SAMPLERATE, channels=2, blocksize=48) as recorder:
        print("recording", flush=True)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            chunk = recorder.record(numframes=None)
            times.append(time.monotonic())
            total += len(chunk)
            ends.append(total)
            chunks.append(chunk)
    np.savez(out, data=np.concatenate(chunks), ends=np.array(ends), times=np.array(times))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] in ("player", "lazy-player"):
        open_stream = sys.argv[1] == "player"
        sys.exit(_player_main(sys.argv[2], open_stream, float(sys.argv[3])))
    if len(sys.argv) == 5 and sys.argv[1] == "timed-capture":
        sys.exit(_timed_capture_main(sys.argv[2], float(sys.argv[3]), sys.argv[4]))
    sys.exit(
        f"usage: {sys.argv[0]} player|lazy-player SINK DELAY | timed-capture SOURCE SECONDS OUT"
    )
