"""`loopcap doctor` on the private sound server, and without one."""

import re

import rig


def doctor(env, cwd):
    return rig.run_loopcap(["doctor"], env, cwd, timeout=60)


def test_doctor_passes_on_a_working_sound_server(pulse, loopcap_env, tmp_path):
    env = {k: v for k, v in loopcap_env.items() if k != "DISPLAY"}
    done = doctor(env, tmp_path)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "FAIL" not in out
    # It names the server and its version, as the server tells them.
    (server,) = [line for line in out.splitlines() if line.startswith("ok   sound server: ")]
    if pulse.kind == "pipewire":
        assert re.fullmatch(
            r"ok   sound server: PipeWire \d+\.\d+\.\d+ \(its PulseAudio server\)", server
        )
    else:
        assert re.fullmatch(r"ok   sound server: PulseAudio \d+\.\d+(\.\d+)?", server), server
    # Every saved format can be written, WhatsApp's own included.
    formats = [line for line in out.splitlines() if line.startswith("ok   formats: ")]
    assert len(formats) == 1, out
    assert {"wav", "flac", "ogg", "mp3", "voicenote"} <= set(formats[0][14:].split(", "))
    # Without a display it says how to work instead of failing.
    assert any(line.startswith("warn tray") for line in out.splitlines())


def test_doctor_fails_with_one_plain_line_without_a_sound_server(loopcap_env, tmp_path):
    env = {k: v for k, v in loopcap_env.items() if k != "DISPLAY"}
    env["PULSE_SERVER"] = f"unix:{tmp_path / 'no-such-socket'}"
    done = doctor(env, tmp_path)
    assert done.returncode != 0
    fails = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    # One line: what is wrong and what to do.
    assert len(fails) == 1, done.stdout
    assert fails[0].startswith("FAIL sound server: no sound server is running")
    assert "start PulseAudio or PipeWire" in fails[0]
    assert "Traceback" not in done.stderr
