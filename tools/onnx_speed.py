"""Sizes and speed of the ONNX export on every clip of ../shared/motions (docs/engine.md):

    .venv/bin/python tools/onnx_speed.py [--float64]

Per clip: the .mdna, the step and planner models' sizes, steps/s of the step model (one
character a call, and 100 a call), decisions/s of the planner model (2 targets), all with
onnxruntime on one thread, and steps/s of the numpy Stream (ik=False) for comparison."""
import glob
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from blender_motiondna.bootstrap import load_extension_package  # noqa: E402

load_extension_package()
import onnxruntime as ort  # noqa: E402

from motiondna.engine.eval.benchmark import load_clip  # noqa: E402
from motiondna.engine.export import onnx_step  # noqa: E402
from motiondna.engine.generator.build import build_generator  # noqa: E402
from motiondna.engine.generator.runtime import Generator  # noqa: E402

CROWD = 100   # characters stepped in one call


def rate(call, count):
    for _ in range(min(count, 20)):
        call()
    started = time.perf_counter()
    for _ in range(count):
        call()
    return count / (time.perf_counter() - started)


def measure(path, folder, dtype):
    name = os.path.splitext(os.path.basename(path))[0]
    mdna = os.path.join(folder, name + ".mdna")
    build_generator(load_clip(path), mdna)
    generator = Generator.load(mdna)
    info = onnx_step.export(generator, os.path.join(folder, name + ".onnx"), dtype=dtype)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    step, decide = (ort.InferenceSession(info[k], options, providers=["CPUExecutionProvider"]) for k in ("step", "decide"))
    cursor = onnx_step.pack_cursor(generator.playback.start(0, 2.4), onnx_step.step_columns(generator.layout)).astype(dtype)
    feeds = {"cursor": cursor[None], "start": np.array([[0, 0, 1, 1]], dtype)}
    crowd = {"cursor": np.repeat(cursor[None], CROWD, axis=0), "start": np.repeat(feeds["start"], CROWD, axis=0)}
    n = onnx_step.MAX_TARGETS
    targets = {"cursor": cursor, "target_joint": np.ones(n, np.int64), "target_position": np.zeros((n, 3), dtype),
               "target_ahead": np.full(n, 30, dtype), "target_active": (np.arange(n) < 2).astype(dtype),
               "incumbent": np.array([-1, 0, 0, 0], dtype),
               "residual_weight": np.array([0.5], dtype), "after_frames": np.array([0], dtype)}
    stream = generator.stream(ik=False)
    print(f"| {name} | {generator.num_frames} x {generator.skeleton.num_joints} | {os.path.getsize(mdna) / 1024:.0f} KB "
          f"| {info['step_bytes'] / 1024:.0f} KB | {info['decide_bytes'] / 1024:.0f} KB "
          f"| {rate(lambda: step.run(None, feeds), 2000):.0f} | {CROWD * rate(lambda: step.run(None, crowd), 200):.0f} "
          f"| {rate(lambda: decide.run(None, targets), 200):.0f} "
          f"| {rate(stream.step, 2000):.0f} |", flush=True)


if __name__ == "__main__":
    dtype = np.float64 if "--float64" in sys.argv else np.float32
    print(f"| clip | frames x joints | .mdna | step .onnx | planner .onnx | step steps/s | steps/s in batches of {CROWD} "
          "| planner calls/s | numpy Stream steps/s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as folder:
        for clip in sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "motions", "*", "*.bvh"))):
            measure(clip, folder, dtype)
