"""A storm of toggles on the tray app: 50 real hotkey presses in 5 s (xdotool on
the private Xvfb), with clicks on the tray icon (the Xorg tray's menu-less way to
start and stop) and ``loopcap toggle`` processes at the same time, while a voice
plays into the real PulseAudio sink.

Required: no deadlock (the app answers ``loopcap status`` at once and quits
cleanly), no lost or corrupt file (every capture opens and has audio, no
partial or temporary file left), and the captures consistent with the toggles
the app processed: every toggle is one start or one stop, handled in order on
the controller's one thread, so the log's starts and saves alternate and the
files on disk are exactly the saves.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import rig
import soundfile as sf
import xrig
from rig import Loopcap, ask, wait_state, write_config

KEY = xrig.TOGGLE_KEY
KEYS, CLICKS, CLIS = 50, 10, 10
STORM_S = 5.0


def test_fifty_hotkeys_with_clicks_and_toggles_in_five_seconds(
    pulse, xdisplay, app_env, tmp_path, fault_trials
):
    family = "toggle storm: 50 hotkeys + 10 clicks + 10 `loopcap toggle` in 5 s (tray app)"
    survived = False
    config, out = write_config(tmp_path, hotkeys={"toggle": xrig.TOGGLE_HOTKEY})
    app = Loopcap(["run", "--config", str(config)], app_env, cwd=tmp_path)
    background = None
    try:
        assert app.wait_line("loopcap is running", timeout=30) is not None, app.stderr
        wait_state(app_env, "idle", proc=app)
        shots = tmp_path / "shots"
        shots.mkdir()
        ok, png, colour = xdisplay.wait_icon("idle", shots, timeout=8, tag="idle")
        assert ok, f"no idle icon in the tray ({colour}, {png}); log:\n{app.stderr}"
        box = xrig.icon_box(png)
        assert box is not None
        cx, cy = (box[0] + box[2]) // 2, (box[1] + box[3]) // 2

        voice = rig.voice()
        background = pulse.play_array(np.concatenate([voice] * 5), wait=False)
        errors: list[str] = []
        t0 = time.monotonic() + 0.2

        def at(i: int, n: int) -> float:
            return t0 + STORM_S * i / n

        keys_took = []

        def keys():
            for i in range(KEYS):
                time.sleep(max(0.0, at(i, KEYS) - time.monotonic()))
                xdisplay.key(KEY)
            keys_took.append(time.monotonic() - t0)

        def clicks():
            for i in range(CLICKS):
                time.sleep(max(0.0, at(i, CLICKS) + 0.23 - time.monotonic()))
                xdisplay.click(cx, cy)

        def toggles():
            procs = []
            for i in range(CLIS):
                time.sleep(max(0.0, at(i, CLIS) + 0.37 - time.monotonic()))
                procs.append(Loopcap(["toggle"], app_env, tmp_path))
            for p in procs:
                _, err = p.communicate(timeout=60)
                if p.returncode != 0:
                    errors.append(f"loopcap toggle exited {p.returncode}: {err.strip()}")

        senders = [threading.Thread(target=f) for f in (keys, clicks, toggles)]
        for t in senders:
            t.start()
        for t in senders:
            t.join(120)
        took = time.monotonic() - t0
        assert not errors, errors

        # No deadlock: the app answers at once, and so does the command line.
        t_ask = time.monotonic()
        assert ask(app_env)["ok"] is True
        answered = time.monotonic() - t_ask
        assert answered < 0.5, f"status took {answered:.2f} s"
        done = rig.run_loopcap(["status"], app_env, timeout=30)
        assert done.returncode == 0, done.stderr

        # Let the queue drain: the state stops changing.
        settled = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            before = (len(app.lines), ask(app_env)["state"])
            time.sleep(1.0)
            now = (len(app.lines), ask(app_env)["state"])
            if now == before and now[1] in ("idle", "recording"):
                settled = now[1]
                break
        assert settled is not None, f"the app never settled; log:\n{app.stderr}"

        log = [line for _, line in app.lines]
        events = [
            "start" if line.startswith("capture started") else "stop"
            for line in log
            if line.startswith(("capture started", "saved ", "no sound captured"))
        ]
        starts, stops = events.count("start"), events.count("stop")
        sent = KEYS + CLICKS + CLIS
        print(
            f"{KEYS} hotkeys in {keys_took[0]:.2f} s, {sent} toggles in all sent in {took:.2f} s "
            f"(`loopcap toggle` waits for its answer); processed {starts} starts and {stops} "
            f"saves; state {settled}; status answered in {answered * 1000:.0f} ms"
        )
        assert all(e == ("start" if i % 2 == 0 else "stop") for i, e in enumerate(events)), events
        assert starts - stops == (1 if settled == "recording" else 0), (starts, stops, settled)
        assert not any(line.startswith("loopcap:") for line in log), app.stderr
        assert starts + stops == sent, f"{starts + stops} of {sent} toggles processed"

        if settled == "recording":
            ask(app_env, "toggle")
            wait_state(app_env, "idle", proc=app)
            stops += 1
        raws = sorted(out.glob("*.raw.wav"))
        notes = [p for p in out.glob("*.wav") if not p.name.endswith((".raw.wav", ".partial.wav"))]
        left = [p.name for p in out.iterdir() if p.name.endswith((".partial.wav", ".tmp"))]
        assert not left, left
        assert len(raws) == stops, f"{len(raws)} captures on disk, {stops} saves in the log"
        for path in raws + notes:
            with sf.SoundFile(str(path)) as f:
                assert f.samplerate == rig.SAMPLERATE and f.channels == 2, path
                assert f.frames > 0, path
                f.read(dtype="float32")
        for note in notes:
            assert note.with_name(note.stem + ".raw.wav") in raws, f"{note.name} has no raw"

        assert ask(app_env, "quit")["state"] == "quitting"
        assert app.finish(20) == 0, app.stderr
        assert "Traceback" not in app.stderr, "\n" + app.stderr
        survived = True
    finally:
        fault_trials.add(family, survived)
        if background is not None:
            background.kill()
            background.communicate()
        if app.alive():
            app.kill()
