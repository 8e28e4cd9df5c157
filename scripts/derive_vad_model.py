#!/usr/bin/env python3
"""Derive ``loopcap/trim/models/silero_vad_16k_products.onnx`` from
silero-vad's 16 kHz "sequence" model: the same network, its convolutions
run as matrix products over every window of a call at once.

Why: onnxruntime runs a convolution one batch item at a time.  silero-vad's
short-time Fourier transform and its four encoder layers see 4 frames (or
fewer) per 32 ms window, so each call did a block's worth of tiny products
(258 x 256 by 256 x 5, for the transform): 84% of the model's time on a
minute's note.  Here each becomes one product over the whole block (the
transform: every window's five 256-sample frames by the basis; each
encoder layer: its three taps of every frame, channel by channel as
onnxruntime lays them out, by the kernel), with the same weights, padding
and strides.  A minute over music: 108 ms -> 40 ms, one thread.

The transform's probabilities are the same to the bit.  The encoder's
differ a little (at most 3.4e-6 on the signals measured: a minute over
music, the tests' voice over a chord): onnxruntime sums a product's terms
in blocks whose size follows the product's shape.  The tests compare the
shipped model with probabilities silero-vad's own model gave
(``tests/unit/test_trim_model.py``).

Usage (needs ``onnx`` and ``numpy``; neither is needed at run time)::

    python scripts/derive_vad_model.py SOURCE.onnx OUT.onnx

SOURCE: ``silero_vad/data/silero_vad_16k_sequence.onnx`` of the
silero-vad 6.2.3 package (MIT), sha256 9ccdacc4...38a85.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

SOURCE_SHA256 = "9ccdacc4719d8aa7e45a77536bfabec45a03ba1f2fad5e241ab4060b24238a85"


class _Builder:
    """New nodes and initialisers for ``graph``, each name prefixed."""

    def __init__(self, graph: onnx.GraphProto) -> None:
        self.graph = graph
        self.nodes: list[onnx.NodeProto] = []
        self.weights = {i.name: numpy_helper.to_array(i) for i in graph.initializer}

    def const(self, name: str, value: np.ndarray) -> str:
        name = "products/" + name
        self.graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def ints(self, name: str, *values: int) -> str:
        return self.const(name, np.array(values, np.int64))

    def node(self, op: str, inputs: list[str], output: str, **attrs) -> str:
        made = helper.make_node(op, inputs, [output], name="/products/" + output, **attrs)
        self.nodes.append(made)
        return output


def _transform(b: _Builder, padded: str, out: str) -> None:
    """``/stft/Conv`` (kernel 256, stride 128, over 832 padded samples: 5
    frames) as one product: the frames are the 128-sample blocks 0-5 taken
    in overlapping pairs."""
    basis = b.weights["stft.forward_basis_buffer"][:, 0, :]  # (258, 256)
    one = b.ints("one", 1)
    used = b.node("Slice", [padded, b.ints("zero", 0), b.ints("used_end", 768), one], "used")
    blocks = b.node("Reshape", [used, b.ints("blocks_shape", -1, 6, 128)], "blocks")
    first = b.node("Slice", [blocks, "products/zero", b.ints("five", 5), one], "first_halves")
    second = b.node("Slice", [blocks, one, b.ints("six", 6), one], "second_halves")
    frames = b.node("Concat", [first, second], "frames", axis=2)  # (windows, 5, 256)
    spectra = b.node("MatMul", [frames, b.const("basis_t", basis.T.astype(np.float32))], "spectra")
    b.node("Transpose", [spectra], out, perm=[0, 2, 1])  # (windows, 258, 5), as the conv's


def _layer(b: _Builder, x: str, index: int, stride: int, frames_out: int) -> str:
    """``/encoder.<index>/Conv`` (kernel 3, padding 1) and its ReLU on
    frames laid out (windows, frames, channels)."""
    w = b.weights[f"encoder.{index}.weight"]  # (out, in, 3)
    channels_out, channels_in, _ = w.shape
    tag = f"e{index}"
    padded = b.node("Pad", [x, b.ints(f"{tag}_pads", 0, 1, 0, 0, 1, 0)], f"{tag}_padded")
    step = b.ints(f"{tag}_stride", stride)
    axis3 = b.ints(f"{tag}_axis3", 3)
    taps = []
    for tap in range(3):
        end = tap + stride * (frames_out - 1) + 1
        starts, ends = b.ints(f"{tag}_s{tap}", tap), b.ints(f"{tag}_e{tap}", end)
        taken = b.node("Slice", [padded, starts, ends, "products/one", step], f"{tag}_tap{tap}")
        taps.append(b.node("Unsqueeze", [taken, axis3], f"{tag}_tap{tap}_"))
    columns = b.node("Concat", taps, f"{tag}_columns", axis=3)  # (windows, frames, in, 3)
    # Channel by channel, its three taps together: onnxruntime's own order.
    flat = b.node("Reshape", [columns, b.ints(f"{tag}_flat", 0, 0, channels_in * 3)], f"{tag}_flat")
    kernel = w.reshape(channels_out, channels_in * 3).T.astype(np.float32)
    y = b.node("MatMul", [flat, b.const(f"{tag}_kernel", kernel)], f"{tag}_product")
    bias = b.weights[f"encoder.{index}.bias"].astype(np.float32)
    y = b.node("Add", [y, b.const(f"{tag}_bias", bias)], f"{tag}_biased")
    return b.node("Relu", [y], f"{tag}_out")


def derive(source: onnx.ModelProto) -> onnx.ModelProto:
    """The model with its transform and encoder as products (see above)."""
    model = onnx.ModelProto()
    model.CopyFrom(source)
    g = model.graph
    old = list(g.node)
    names = [n.name for n in old]
    b = _Builder(g)
    _transform(b, "/stft/padding/Pad_output_0", "/stft/Conv_output_0")
    transform = list(b.nodes)
    x = b.node("Transpose", ["/stft/Sqrt_output_0"], "magnitudes", perm=[0, 2, 1])
    for index, stride, frames_out in ((0, 1, 4), (1, 2, 2), (2, 2, 1), (3, 1, 1)):
        x = _layer(b, x, index, stride, frames_out)
    b.node("Identity", [x], "/Transpose_output_0")  # (windows, 1, 128): the LSTM's input
    encoder = b.nodes[len(transform) :]
    del g.node[:]
    g.node.extend(
        old[: names.index("/stft/Unsqueeze")]
        + transform
        + old[names.index("/stft/Conv") + 1 : names.index("/encoder.0/Conv")]  # magnitudes
        + encoder
        + old[names.index("/recurrent/LSTM") :]
    )
    # The constants only the replaced nodes read (onnxruntime warns of them).
    wanted = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    for unused in [n for n in g.node if n.op_type == "Constant" and n.output[0] not in wanted]:
        g.node.remove(unused)
    for init in list(g.initializer):
        if init.name not in wanted:
            g.initializer.remove(init)
    onnx.checker.check_model(model)
    return model


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.split("Usage")[1], file=sys.stderr)
        return 2
    blob = Path(argv[1]).read_bytes()
    if hashlib.sha256(blob).hexdigest() != SOURCE_SHA256:
        print(f"{argv[1]} is not silero-vad 6.2.3's 16 kHz sequence model", file=sys.stderr)
        return 1
    onnx.save(derive(onnx.load_from_string(blob)), argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
