"""Export a generator's per-step network to ONNX (for game engines and other runtimes).

The ONNX graph is one step of engine/generator/runtime.py: inputs ``dev`` (B, m) — the deviation
state — and ``cond`` (B, k + 1 + 5 S) — the DNA code and phase of the next frame followed
by the per-slot target features; output ``next_dev`` (B, m). The DNA arrays, the bases and
the decoding to joint rotations stay in the .mdna file (documented in docs/engine.md).
Uses the TorchScript-based exporter (``dynamo=False``), which works offline without
onnxscript.
"""
import os

from ..io import atomic, generator_file

OPSET = 17


def export(generator_path, onnx_path):
    # torch (and the model, which imports it) only when an export runs: this module is
    # imported by the worker at start, before it knows whether torch is there.
    import torch

    from .model import Stepper
    arrays, meta = generator_file.load(generator_path)
    net = Stepper.from_arrays(arrays, float(meta["network"]["decay"])).eval()
    m = arrays["w1_dev"].shape[0]
    cond_dim = arrays["w1_code"].shape[0] + arrays["w1_target"].shape[0]
    dev = torch.zeros(1, m)
    cond = torch.zeros(1, cond_dim)
    kwargs = {"dynamo": False} if "dynamo" in torch.onnx.export.__code__.co_varnames else {}
    with atomic.replacing(onnx_path) as tmp:
        torch.onnx.export(net, (dev, cond), tmp, input_names=["dev", "cond"], output_names=["next_dev"],
                          dynamic_axes={"dev": {0: "batch"}, "cond": {0: "batch"}, "next_dev": {0: "batch"}},
                          opset_version=OPSET, **kwargs)
    return {"path": str(onnx_path), "size_bytes": os.path.getsize(onnx_path), "opset": OPSET,
            "inputs": {"dev": [None, m], "cond": [None, cond_dim]}, "outputs": {"next_dev": [None, m]},
            "slots": meta["network"]["slots"], "num_codes": int(arrays["basis"].shape[0])}
