"""The order in which the background model's probes grow (issue 15): each
probe grows first, then the other, and the note's end stands where the
probes grown either way put it earliest.  The probe search is driven here
by a stand-in for what each pair of probes finds, so the order can be
checked without a signal that happens to need it."""

import numpy as np
import pytest

from loopcap.trim import TrimParams
from loopcap.trim import background as bg


def test_each_probe_grows_first_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # Probes of 0.3 s (120 chunks) find the note, its walk ending at 1,100
    # and its fade at 1,000.  Grown at the start first (240, 120), the end
    # probe can no longer grow (240, 240 finds nothing): the fade stays at
    # 1,000.  Grown at the end first (120, 240), it holds more of the
    # background after the note, and the fade found is earlier, 900.
    fades = {(120, 120): 1000, (240, 120): 1000, (120, 240): 900}

    def tried(edge, long, probes, best, params, relaxed=False, touch=False):
        if probes not in fades:
            return None, False
        return ((200, 1200), (300, 800), 1100, 190, -60.0, fades[probes]), False

    monkeypatch.setattr(bg, "_tried", tried)
    levels = np.zeros(2000)
    probe, found = bg._probed(levels, levels, TrimParams())
    assert probe == 120 and found is not None
    assert found[2] == 900  # the end probe grown first; 1,000 the other way only
    assert found[0] == (200, 900 + round(bg.PAD_S / TrimParams().hop_s))
