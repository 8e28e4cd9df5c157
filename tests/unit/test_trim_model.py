"""The shipped voice detector against silero-vad's own model.

``models/silero_vad_16k_products.onnx`` is derived from silero-vad's 16 kHz
"sequence" model by ``scripts/derive_vad_model.py`` (its convolutions run
as matrix products, for speed).  ``data/silero_vad_reference.npy`` holds
what silero-vad's own model heard in the signal below, window by window
(made once with that model through :func:`~loopcap.trim.judge.speech_probs`).
The derived model must hear the same: here the two differ by at most
3.4e-6, where onnxruntime sums a product's terms in other blocks; a layer
derived wrongly is off by far more (taps in the wrong order: 0.999).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from soundrig import silence, tone, voice

from loopcap.trim.judge import speech_probs

RATE = 16000
REFERENCE = Path(__file__).parent / "data" / "silero_vad_reference.npy"


def signal() -> np.ndarray:
    """A voice over a soft chord, the chord alone, the voice quieter over it,
    between silences (16 kHz mono float32; always the same samples)."""
    v = voice(RATE, channels=1)[:, 0]

    def chord(n: int) -> np.ndarray:
        s = n / RATE
        return tone(220, s, RATE, 0.02) + tone(277, s, RATE, 0.02) + tone(330, s, RATE, 0.02)

    return np.concatenate(
        [
            silence(0.5, RATE),
            0.5 * v + chord(len(v)),
            chord(round(0.6 * RATE)),
            0.3 * v + chord(len(v)),
            silence(0.4, RATE),
        ]
    ).astype(np.float32)


def test_the_shipped_detector_hears_what_silero_vads_own_model_hears():
    reference = np.load(REFERENCE)
    # The signal has speech and none: the comparison covers both ends.
    assert reference.max() > 0.9 and reference.min() < 0.05
    probs = speech_probs(signal())
    assert probs is not None and probs.shape == reference.shape
    assert np.abs(probs - reference).max() < 1e-4
