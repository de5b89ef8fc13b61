"""Speed of armature <-> arrays (a benchmark, not a test: pytest does not collect it).

    .venv/bin/python tests/bench_armature_io.py [--frames 1000] [--bones 65] [--repeats 5]

Builds a synthetic rig (a root plus four 16-bone chains = 65 bones) keyed for 1000 frames,
once with quaternion and once with XYZ Euler bones, and, when ../shared is present, the
imported cmu_iclone_cc clip (100 joints, 927 frames). Reports medians of several runs:
read_motion in ms per frame, write_action in ms per call. Goals: read <= 0.5 ms/frame,
write <= 50 ms for 65 bones x 1000 frames.
"""
import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from blender_motiondna.bootstrap import load_extension_package  # noqa: E402

load_extension_package()

import bpy  # noqa: E402
import numpy as np  # noqa: E402

from motiondna.blender_motiondna import armature_io as aio  # noqa: E402
from motiondna.engine import quat  # noqa: E402
from motiondna.engine.skeleton import Motion  # noqa: E402

CLIP = os.path.join(ROOT, "..", "shared", "motions", "cmu_iclone_cc", "002_05_punch_strike.bvh")


def build_rig(bones, mode):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    arm = bpy.data.armatures.new("Bench")
    obj = bpy.data.objects.new("Bench", arm)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    root = arm.edit_bones.new("root")
    root.head, root.tail = (0, 0, 1), (0, 0, 1.1)
    chains, per = 4, (bones - 1) // 4
    for c in range(chains):
        parent, d = root, np.array([np.cos(c * np.pi / 2), np.sin(c * np.pi / 2), 0.3])
        for k in range(per):
            eb = arm.edit_bones.new(f"c{c}_{k}")
            eb.head = parent.tail
            eb.tail = np.array(parent.tail) + 0.1 * d
            eb.roll = 0.1 * k
            eb.parent, eb.use_connect = parent, True
            parent = eb
    bpy.ops.object.mode_set(mode="OBJECT")
    for pb in obj.pose.bones:
        pb.rotation_mode = mode
    return obj


def smooth_motion(skeleton, frames, fps=30.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None, None] / fps
    freq, phase = rng.uniform(0.2, 2.0, (1, skeleton.num_joints, 3)), rng.uniform(0, 6.3, (1, skeleton.num_joints, 3))
    angles = 0.6 * np.sin(2 * np.pi * freq * t + phase)
    rot = quat.from_scaled_axis(angles)
    trans = np.broadcast_to(skeleton.rest_translations, (frames, skeleton.num_joints, 3)).copy()
    trans[:, 0] += np.cumsum(rng.normal(0, 0.01, (frames, 3)), axis=0)
    return Motion(skeleton, rot, trans, fps, "bench", {"frame_start": 1})


def measure(obj, repeats):
    aio.write_action(obj, aio.read_motion(obj))   # warm-up (imports, first allocations)
    source = obj.animation_data.action
    reads, writes = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        motion = aio.read_motion(obj, action=source)
        reads.append((time.perf_counter() - t) / motion.num_frames * 1e3)
        t = time.perf_counter()
        aio.write_action(obj, motion)
        writes.append((time.perf_counter() - t) * 1e3)
    return motion, float(np.median(reads)), float(np.median(writes))


def report(label, obj, repeats):
    motion, read_ms, write_ms = measure(obj, repeats)
    print(f"{label:32s} bones={motion.skeleton.num_joints:3d} frames={motion.num_frames:4d}  "
          f"read {read_ms:.3f} ms/frame  write {write_ms:.1f} ms")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--bones", type=int, default=65)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    for mode in ("QUATERNION", "XYZ"):
        obj = build_rig(args.bones, mode)
        aio.write_action(obj, smooth_motion(aio.skeleton_from_armature(obj), args.frames), name="source")
        report(f"synthetic {mode}", obj, args.repeats)
    if os.path.isfile(CLIP):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        bpy.ops.import_anim.bvh(filepath=CLIP, update_scene_fps=True, update_scene_duration=True, rotate_mode="NATIVE")
        report("cmu_iclone_cc (BVH import)", bpy.context.view_layer.objects.active, args.repeats)


if __name__ == "__main__":
    main()
