"""The desktop app recording one application only (``[capture] app``), on a
private X display with a tray and each private sound server.

Two "apps" play at once, as ``paplay --client-name=...`` processes: "music"
all along, "notes" two voice notes, each in a stream of its own (a player
that ends closes its stream, as a browser does 5 s after a note).  The app
waits with its pre-roll; the start key comes a second into the first note
and the stop key after the second: the capture holds both notes whole (the
first one's head from the pre-roll) and nothing of the music, digital
silence wherever the notes app played nothing.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np
import rig
import xrig

SR = rig.SAMPLERATE
KEY = xrig.TOGGLE_KEY
#: The notes against what was played (the issue's bar).
MIN_CORR = 0.99
#: Where only the music played, the capture is below this (dBFS).
SILENT_DBFS = -70.0
#: Around each note, this much (s) is left out of the silence check: the
#: edges of the note's own fade.
EDGE_S = 0.02


def play_as(pulse: rig.SoundServer, client: str, data: np.ndarray) -> subprocess.Popen:
    """Play ``data`` (frames x 2, float) with ``paplay --client-name=client``:
    an application of that name to the sound server, with a stream of its own.

    With 40 ms of latency, as Chromium's streams ask: paplay's default (2 s)
    lets an idle null sink take a short sound whole in one render, before
    any per-stream recorder can attach to the new stream."""
    rig.require("paplay")
    path = rig.write_wav(pulse.dir / f"{client}-{time.monotonic_ns()}.wav", data)
    return subprocess.Popen(
        ["paplay", "--latency-msec=40", f"--client-name={client}", "-d", pulse.sink, str(path)],
        env=pulse.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stereo(x: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(x, np.float32)[:, None], 2, axis=1)


def saved(out: Path) -> dict[str, Path]:
    """The one capture in ``out``: {"note": <stem>.wav, "raw": <stem>.raw.wav}."""
    files = {}
    for p in sorted(out.glob("*.wav")) if out.exists() else []:
        if p.name.endswith(".partial.wav"):
            continue
        files["raw" if p.name.endswith(".raw.wav") else "note"] = p
    return files


def test_the_tray_app_records_the_notes_app_only_with_its_preroll(
    pulse, xdisplay, app_env, tmp_path
):
    config, out = rig.write_config(
        tmp_path,
        preroll_s=2.0,
        hotkeys={"toggle": xrig.TOGGLE_HOTKEY},
        capture={"app": "notes"},
    )
    app = rig.Loopcap(["run", "--config", str(config)], app_env, tmp_path)
    music = None
    try:
        app.wait_running()
        # An idle PulseAudio null sink renders 2 s at a time (rig.IDLE_BLOCK_S).
        time.sleep(3.0)
        # Nothing played at the start: the app said once that it waits for the app.
        waiting = [ln for _, ln in app.lines if "no application matching 'notes'" in ln]
        assert len(waiting) == 1, app.stderr
        assert "silence until it plays" in waiting[0]

        # A player's stream opens a moment before its note and closes a moment
        # after (a browser: 5 s after): a note is never a whole stream.
        lead = np.zeros((SR // 5, 2), np.float32)
        tail = np.zeros((SR * 3 // 10, 2), np.float32)
        note1 = rig.voice()
        note2 = stereo(rig.chirp(1.2, f0=150.0, f1=5000.0, amplitude=0.4))
        music = play_as(pulse, "music", stereo(rig.tone(523.25, 16.0, amplitude=0.3)))
        time.sleep(1.0)
        t_note = time.monotonic()
        player = play_as(pulse, "notes", np.concatenate([lead, note1, tail]))
        # The key comes a second into the note: its head is in the pre-roll.
        time.sleep(max(0.0, t_note + 1.0 - time.monotonic()))
        xdisplay.key(KEY)
        app.wait_state("recording", timeout=5)
        assert player.wait(20) == 0
        time.sleep(1.0)
        # The same app again, in a new stream.
        player = play_as(pulse, "notes", np.concatenate([lead, note2, tail]))
        assert player.wait(20) == 0
        time.sleep(0.7)
        xdisplay.key(KEY)
        deadline = time.monotonic() + 10
        while not (app.status()["state"] == "idle" and set(saved(out)) == {"note", "raw"}):
            if time.monotonic() > deadline:
                app.fail(f"no saved capture after 10 s: {sorted(saved(out))}")
            time.sleep(0.05)
        assert music.poll() is None, "the music must play all along"
    finally:
        if music is not None:
            music.kill()
            music.wait(5)
        app.kill()

    raw, sr = rig.read_audio(saved(out)["raw"])
    assert sr == SR
    spans = []
    for name, played in (("first note", note1), ("second note", note2)):
        lag, corr = rig.best_lag(raw, played)
        print(
            f"{pulse.kind}: the {name} at {lag / SR:.3f} s of {len(raw) / SR:.3f} s, "
            f"corr {corr:.4f}"
        )
        if corr < MIN_CORR:
            # Where it differs, by 10 ms windows of the note (seconds into it).
            win = SR // 100
            here, there = rig.aligned(raw, played, lag)
            wc = rig.windowed_correlation(here, there, win, min_rms=0.0)
            bad = [f"{i * win / SR:.2f}" for i, c in enumerate(wc) if not c >= 0.95]
            raise AssertionError(
                f"the {name} is not whole in the capture (corr {corr:.4f}); 10 ms windows "
                f"that differ, s into the note: {', '.join(bad[:40])}"
            )
        assert 0 <= lag and lag + len(played) <= len(raw), f"the {name} is cut off"
        spans.append((lag, lag + len(played)))
    # The first note began a second before the key: the pre-roll holds it.
    assert spans[0][0] / SR < 2.0

    # Everything else is the music's time alone: nothing of it is there.
    music_only = np.ones(len(raw), bool)
    edge = int(EDGE_S * SR)
    for start, end in spans:
        music_only[max(0, start - edge) : end + edge] = False
    level = rig.dbfs(raw[music_only])
    print(f"{pulse.kind}: {music_only.sum() / SR:.2f} s of music alone, peak {level:.1f} dBFS")
    assert music_only.sum() > 2.0 * SR
    assert level < SILENT_DBFS, f"the music is in the capture ({level:.1f} dBFS)"
    # And nothing of it under the notes either: what is there is the notes.
    for (start, end), played in zip(spans, (note1, note2), strict=True):
        rest = raw[start:end] - played
        assert rig.tone_amplitude(rest, 523.25) < 1e-3, "the music is under a note"

    note, _ = rig.read_audio(saved(out)["note"])
    assert max(rig.best_lag(note, p)[1] for p in (note1, note2)) >= MIN_CORR


def test_apps_and_doctor_list_the_applications_playing(pulse, loopcap_env, tmp_path):
    """``loopcap apps`` and ``loopcap doctor`` name each application playing,
    by the name it gave the server, with its stream; doctor says whether
    ``[capture] app`` is among them."""
    config, _ = rig.write_config(tmp_path, capture={"app": "NOTES"})
    player = play_as(pulse, "notes", stereo(rig.tone(440.0, 6.0, amplitude=0.2)))
    try:
        deadline = time.monotonic() + 5
        while True:  # paplay's stream is there some tens of ms after its start
            done = rig.run_loopcap(["apps", "--json"], loopcap_env, tmp_path)
            assert done.returncode == 0, done.stderr
            listed = [a for a in json.loads(done.stdout) if a["name"] == "notes"]
            if listed or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert len(listed) == 1, done.stdout
        (notes,) = listed
        assert notes["pid"] is not None and len(notes["streams"]) == 1
        assert notes["sinks"] == [pulse.sink]
        done = rig.run_loopcap(["apps"], loopcap_env, tmp_path)
        assert f"notes ({notes['binary']}, pid {notes['pid']}, 1 stream" in done.stdout
        done = rig.run_loopcap(["--config", str(config), "doctor"], loopcap_env, tmp_path)
        lines = done.stdout.splitlines()
        print("\n".join(lines))
        assert any(ln.startswith("ok   applications playing: notes (") for ln in lines)
        assert "ok   [capture] app = 'NOTES': records notes only" in lines
    finally:
        player.kill()
        player.wait(5)
    done = rig.run_loopcap(["--config", str(config), "doctor"], loopcap_env, tmp_path)
    waiting = [ln for ln in done.stdout.splitlines() if ln.startswith("warn [capture] app")]
    assert len(waiting) == 1 and "silence until it plays" in waiting[0], done.stdout
