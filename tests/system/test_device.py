"""The PulseAudio stream reader (``loopcap.device``) on a real private server.

``loopcap record`` and the app are tested end to end in test_record.py and
test_faults_sound.py; here the reader's second line of defence is tested on
its own: the device-list check that guards every hand-over on servers other
than genuine PulseAudio (pipewire-pulse may report a move after some of the
new source's audio).  PulseAudio itself always takes the first line (the
stream's device index), so the reader is told to behave as it does for the
other servers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import rig

SR = rig.SAMPLERATE

#: Reads ``phone.monitor`` with only the device-list check, prints "ready"
#: after 1 s of audio, then reads until the device is lost (or 6 s of audio);
#: saves what it was handed and prints the error (null if none).
READER = r"""
import json, sys
import numpy as np
from loopcap import device
from loopcap.errors import DeviceLostError

stream = device.open_source("phone.monitor").open(48000)
stream._index_now = None  # as on a server that reports a move late
stream._moves_in_order = False
blocks, error, said = [], None, False
try:
    while sum(map(len, blocks)) < 6 * 48000:  # a reader that misses the loss stops here
        frames, _ = stream.read()
        blocks.append(frames)
        if not said and sum(map(len, blocks)) >= 48000:
            print("ready", flush=True)
            said = True
except DeviceLostError as exc:
    error = str(exc)
finally:
    stream.close()
np.save(sys.argv[1], np.concatenate(blocks) if blocks else np.zeros((0, 2), np.float32))
print(json.dumps({"error": error}), flush=True)
"""


def test_device_list_check_keeps_out_the_source_a_removed_device_moves_to(
    pulse, loopcap_env, tmp_path
):
    module = pulse.load_sink("phone")
    intruder = pulse.play_array(
        np.repeat(rig.tone(5000, 20.0, amplitude=0.3)[:, None], 2, axis=1),
        sink="speakers",
        wait=False,
    )
    ours = pulse.play_array(
        np.repeat(rig.tone(440, 20.0, amplitude=0.3)[:, None], 2, axis=1), sink="phone", wait=False
    )
    out = tmp_path / "audio.npy"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(out)],
        env=loopcap_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "ready", reader.stderr.read()
        time.sleep(0.1)
        pulse.unload_module(module)
        module = None
        line = reader.stdout.readline()
        reader.wait(10)
    finally:
        for proc in (intruder, ours, reader):
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        if module is not None:
            pulse.unload_module(module)
    assert line, f"the reader ended without a result:\n{reader.stderr.read()}"
    error = json.loads(line)["error"]
    assert error and "disappeared" in error and "phone" in error, error
    audio = np.load(out)
    assert len(audio) >= SR, f"only {len(audio) / SR:.2f} s handed over"
    assert rig.tone_amplitude(audio, 440) > 0.1, "the device's own sound is missing"
    level = rig.tone_amplitude(audio, 5000)
    assert level < 0.005, f"audio from the other sink was handed over (5 kHz at {level:.3f})"
