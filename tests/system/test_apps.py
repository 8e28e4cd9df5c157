"""Per-application capture on real servers (PulseAudio and PipeWire).

Two "apps" play into the same sink at once (``paplay --client-name``): one
music (chords of tones, all along), one notes (a human voice).  Recording
``notes`` alone:

- keeps the voice whole (correlation >= 0.99 with what was played) and none
  of the music (below -70 dBFS where only the music played, before the first
  note, between the notes once the note's stream ended, after the last);
- a second note played 7 s later, in a new stream of the same app (as a
  browser does: it closes an idle stream after 5 s), lands at its true place:
  its distance from the first note is the one a recorder of the whole
  output (``parec`` on the sink's monitor, music and all) heard, within 20 ms;
- the app plays nothing when the capture starts: it is waited for;
- the app's stream ending leaves silence, never another source.

The app's streams ask for 40 ms of latency, as Chromium's do (paplay's
default of 2 s would let the sink render a sound ahead of its time).
"""

from __future__ import annotations

import json
import signal
import time

import numpy as np
import pytest
import rig
from apprig import (
    NOTES_APART_S,
    POSITION_TOLERANCE_S,
    SILENCE_DBFS,
    music,
    two_notes,
)
from apprig import play_file_as as play_as

SR = rig.SAMPLERATE
#: How late (s) an app's stream may begin to be recorded on PipeWire: about
#: 21 ms measured on a quiet host, 43 ms under load (see the killed app's test).
START_LATE_S = 0.1


def test_record_app_keeps_the_apps_notes_alone_at_their_true_places(pulse, loopcap_env, tmp_path):
    voice = rig.voice()
    voice_path = rig.write_wav(tmp_path / "voice.wav", voice)
    music_path = rig.write_wav(tmp_path / "music.wav", music(16.0))
    player = play_as(pulse, "music", music_path, wait=False)
    try:
        time.sleep(0.5)
        reference = pulse.record_timestamped(14.0)
        run = rig.Loopcap(
            [
                "record",
                "--app",
                "notes",
                "--out-dir",
                str(tmp_path / "out"),
                "--format",
                "wav",
                "--json",
            ],
            loopcap_env,
            tmp_path,
        )
        t_line = run.wait_started()
        time.sleep(1.5)  # the app is not playing yet: waited for
        play_as(pulse, "notes", voice_path)  # its stream ends with the note
        time.sleep(NOTES_APART_S - len(voice) / SR)
        play_as(pulse, "notes", voice_path)  # a new stream of the same app
        time.sleep(1.5)  # only the music plays
        t_sig = run.send(signal.SIGINT)
        status = run.finish()
    finally:
        player.kill()
        player.wait()
    print(f"{pulse.kind}: exit {1000 * (run.t_exit - t_sig):.0f} ms after SIGINT")
    # (To the process's exit: the stop, then the trim and the save of the
    # note; measured 210-215 ms here.  A loose bound, for a loaded host: a
    # hung stop fails it; how long a stop takes is for the benchmark.)
    assert run.t_exit - t_sig < 1.0, "the stop waited"
    assert status == 0, f"exit status {status}; stderr:\n{run.stderr}"
    # Not playing at the start: said once, with the apps that do play (a
    # misspelt name is seen at once).
    waiting = [ln for ln in run.stderr.splitlines() if "no application matching" in ln]
    assert len(waiting) == 1, run.stderr
    assert "'notes' is playing now: the capture is silence until it plays" in waiting[0]
    assert "playing now: music" in waiting[0]
    data, sr = rig.read_audio(run.json()["raw_path"])
    assert sr == SR
    ours = rig.mono(data)
    n = len(voice)

    # The two notes, whole.
    lag1, corr1, lag2, corr2 = two_notes(ours, voice)
    assert corr1 >= 0.99 and corr2 >= 0.99, (corr1, corr2)
    assert 0 <= lag1 and lag2 + n <= len(ours), "a note is cut off"

    # Nothing but the notes: the music is not there, nor any other source
    # after the note's stream ended.
    guard = int(0.05 * SR)
    quiet = [ours[: lag1 - guard], ours[lag1 + n + guard : lag2 - guard], ours[lag2 + n + guard :]]
    for i, part in enumerate(quiet):
        assert len(part) > SR // 2, f"stretch {i} is too short to tell: {len(part)} frames"
        level = rig.dbfs(part)
        assert level < SILENCE_DBFS, f"stretch {i} without the app is at {level:.1f} dBFS"

    # The second note is as far from the first as the whole output heard it.
    ref = reference.result()
    whole = rig.mono(ref.data)
    r1, _, r2, rcorr = two_notes(whole, voice)
    # (Against the voice alone; the music lies under it there: ~0.47-0.6.)
    assert rcorr > 0.3, "the reference recorder did not hear the second note"
    assert (r2 - r1) / SR == pytest.approx(NOTES_APART_S, abs=0.5), "it found something else"
    ours_apart, true_apart = (lag2 - lag1) / SR, (r2 - r1) / SR
    assert ours_apart == pytest.approx(true_apart, abs=POSITION_TOLERANCE_S)
    # And the first is where the wall clock says (the file starts at the line).
    t_first = ref.latest_time(r1)
    assert lag1 / SR == pytest.approx(t_first - t_line, abs=0.1)
    print(f"{pulse.kind}: second note {1000 * (ours_apart - true_apart):+.1f} ms from its place")


def test_record_app_follows_its_stream_to_another_output(pulse, loopcap_env, tmp_path):
    """The user picks headphones while the note plays: the app's stream moves
    to another sink.  Its pinned record stream fails there (DONT_MOVE: never
    another source) and the app is recorded again on the new sink's monitor:
    the note goes on in the capture, at its place, with the music that plays
    on the first sink still left out."""
    sweep = np.repeat(rig.chirp(8.0, f0=150.0, f1=6000.0, amplitude=0.3)[:, None], 2, axis=1)
    sweep_path = rig.write_wav(tmp_path / "sweep.wav", sweep)
    music_path = rig.write_wav(tmp_path / "music.wav", music(16.0))
    module = pulse.load_sink("headphones")
    music_player = play_as(pulse, "music", music_path, wait=False)
    notes = None
    try:
        run = rig.Loopcap(
            ["record", "--app", "notes", "--out-dir", str(tmp_path / "out"), "--json"],
            loopcap_env,
            tmp_path,
        )
        run.wait_started()
        time.sleep(1.0)
        notes = play_as(pulse, "notes", sweep_path, wait=False)
        deadline = time.monotonic() + 3
        while not (streams := pulse.sink_inputs("notes")):
            assert time.monotonic() < deadline, "the notes player's stream never appeared"
            time.sleep(0.02)
        # The move comes about 2 s into the sweep (it starts some 0.1-0.5 s
        # after its stream appears): between the two parts compared below.
        time.sleep(2.2)
        pulse.move_sink_input(streams[0], "headphones")
        assert notes.wait(20) == 0
        time.sleep(1.0)
        run.send(signal.SIGINT)
        status = run.finish()
    finally:
        for player in (music_player, notes):
            if player is not None and player.poll() is None:
                player.kill()
                player.wait()
        pulse.unload_module(module)
    assert status == 0, f"exit status {status}; stderr:\n{run.stderr}"
    ours = rig.mono(rig.read_audio(run.json()["raw_path"])[0])
    played = rig.mono(sweep)

    # The sweep in 1 s pieces from 0.05 s (PipeWire records a new stream from
    # ~15 ms after it starts, see the README), each found on its own: the
    # move may damage one piece, or two side by side where it straddles their
    # boundary (when it comes depends on the machine's load: pieces 2 and 3
    # once); every other is whole, and the first and the last lie as far
    # apart as they were played.
    starts = [int((0.05 + k) * SR) for k in range(8)]
    found = [rig.best_lag(ours, played[a : a + SR]) for a in starts]
    print(f"{pulse.kind}: pieces " + ", ".join(f"{c:.4f}" for _, c in found))
    damaged = [k for k, (_, c) in enumerate(found) if c < 0.99]
    assert not damaged or damaged[-1] - damaged[0] <= 1, found
    assert 0 not in damaged and 7 not in damaged, found
    apart = (found[7][0] - found[0][0]) / SR
    print(f"{pulse.kind}: first and last piece {apart:.4f} s apart (played 7.0000 s apart)")
    assert apart == pytest.approx(7.0, abs=POSITION_TOLERANCE_S)
    lag_head = found[0][0] - starts[0]

    # None of the music, which went on playing on the first sink.
    guard = int(0.05 * SR)
    quiet = [ours[: lag_head - guard], ours[lag_head + len(played) + guard :]]
    for i, part in enumerate(quiet):
        assert len(part) > SR // 2, f"stretch {i} is too short to tell: {len(part)} frames"
        level = rig.dbfs(part)
        assert level < SILENCE_DBFS, f"stretch {i} without the app is at {level:.1f} dBFS"


def test_record_app_killed_is_recovered(pulse, loopcap_env, tmp_path):
    """Crash-safe as a whole-output capture: SIGKILL while the app plays, then
    ``loopcap recover``: the file holds what was recorded up to the last
    second, the app's sound intact."""
    sweep = np.repeat(rig.chirp(8.0, f0=150.0, f1=6000.0, amplitude=0.3)[:, None], 2, axis=1)
    sweep_path = rig.write_wav(tmp_path / "sweep.wav", sweep)
    out = tmp_path / "out"
    run = rig.Loopcap(
        ["record", "--app", "notes", "--out-dir", str(out), "--format", "wav", "--json"],
        loopcap_env,
        tmp_path,
    )
    t0 = run.wait_started()
    reference = pulse.record_timestamped(6.0)
    notes = play_as(pulse, "notes", sweep_path, wait=False)
    try:
        time.sleep(4.0)
        t_kill = run.send(signal.SIGKILL)
        run.finish()
    finally:
        notes.kill()
        notes.wait()
    done = rig.run_loopcap(["recover", str(out), "--json"], loopcap_env, tmp_path, timeout=30)
    assert done.returncode == 0, done.stderr
    (recovered,) = json.loads(done.stdout)
    data, sr = rig.read_audio(recovered["path"])
    assert sr == SR
    kept, ran = len(data) / SR, t_kill - t0
    print(f"{pulse.kind}: {kept:.2f} s recovered of {ran:.2f} s")
    assert ran - 1.0 <= kept <= ran + 0.5
    # The sweep's first 2 s, whole, where the wall clock says; on PipeWire
    # but for its very start.  There an app's stream is recorded from the
    # first cycle of the server's graph after loopcap's record stream is
    # linked to it (README, "Record one app only"): measured, the sweep's
    # first 21 ms (one 1,024-frame cycle) were missing on a quiet host, the
    # rest correlating at 1.0; under load in CI a check of the whole 2 s
    # failed twice, at 0.990 and 0.989 (as correlation goes, 40-45 ms
    # missing).  PulseAudio keeps them.
    ours = rig.mono(data)
    head = rig.mono(sweep)[: 2 * SR]
    late = int(START_LATE_S * SR) if pulse.kind == "pipewire" else 0
    lag, corr = rig.best_lag(ours, head[late:])
    assert corr >= 0.99, corr
    lag -= late  # where the sweep begins
    assert lag >= 0, "the capture began after the sweep"
    if late:
        heard = np.flatnonzero(np.abs(ours[lag : lag + late]) > 1e-3)
        assert len(heard), f"the sweep's first {1000 * START_LATE_S:.0f} ms are all missing"
        print(f"{pulse.kind}: the sweep's first {1000 * heard[0] / SR:.1f} ms missing")
    ref = reference.result()
    r, rcorr = rig.best_lag(rig.mono(ref.data), head)
    assert rcorr >= 0.99, "the reference recorder did not hear the sweep"
    true_s = ref.latest_time(r) - t0
    print(f"{pulse.kind}: the sweep at {lag / SR:.3f} s, the wall clock says {true_s:.3f} s")
    assert lag / SR == pytest.approx(true_s, abs=0.1)
