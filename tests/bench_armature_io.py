"""Speed of armature <-> arrays (a benchmark, not a test: pytest does not collect it).

    .venv/bin/python tests/bench_armature_io.py [--frames 1000] [--bones 65] [--repeats 5]
                                                [--clutter 200] [--live-frames 300]

Builds a synthetic rig (a root plus four 16-bone chains = 65 bones) keyed for 1000 frames,
once with quaternion and once with XYZ Euler bones, and, when ../shared is present, the
imported cmu_iclone_cc clip (100 joints, 927 frames). Reports medians of several runs:

- read: read_motion in ms per frame, in a scene holding only the rig;
- read rig_only: read_motion(rig_only=True) after ``--clutter`` animated objects were
  added to the scene (and, for comparison, the plain read in that cluttered scene);
- write: write_action to a new action, ms per call;
- live rewrite: write_action(action=<earlier result>) of ``--live-frames`` frames, in place
  (same curves and key count) vs. recreating the curves (the path before the in-place one).

Goals (docs/io.md): read <= 0.5 ms/frame, write <= 50 ms for 65 bones x 1000 frames.
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

from motiondna.blender_motiondna.io import armature_io as aio  # noqa: E402
from motiondna.engine.motion import quat  # noqa: E402
from motiondna.engine.motion.skeleton import Motion  # noqa: E402

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


def median_ms(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times))


def add_clutter(count, frames):
    """``count`` cubes whose geometry changes every frame (wave + subdivision modifiers)
    and whose location is keyed: a busy scene where every frame change costs time."""
    mesh = bpy.data.meshes.new("clutter")
    mesh.from_pydata([(x, y, z) for x in (0, 1) for y in (0, 1) for z in (0, 1)], [],
                     [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)])
    for i in range(count):
        ob = bpy.data.objects.new(f"clutter{i}", mesh)
        ob.modifiers.new("wave", "WAVE")   # time-dependent: re-evaluated on every frame
        ob.modifiers.new("subsurf", "SUBSURF").levels = 2
        bpy.context.scene.collection.objects.link(ob)
        for f in (1, frames):
            ob.location = (i, f * 0.01, 0)
            ob.keyframe_insert("location", frame=f)


def measure(obj, repeats):
    source = obj.animation_data.action
    aio.write_action(obj, aio.read_motion(obj, action=source))   # warm-up (imports, first allocations)
    motion = aio.read_motion(obj, action=source)
    read = median_ms(lambda: aio.read_motion(obj, action=source), repeats) / motion.num_frames
    write = median_ms(lambda: aio.write_action(obj, motion), repeats)
    return motion, read, write


def measure_live(obj, motion, frames, repeats):
    """In-place rewrite of an earlier result vs. clearing and recreating its curves."""
    part = motion.slice(0, frames)
    result = aio.write_action(obj, part, name="live")
    in_place = median_ms(lambda: aio.write_action(obj, part, action=result), repeats)
    original = aio._rewrite_in_place
    aio._rewrite_in_place = lambda *a: False   # force the clear-and-recreate path
    try:
        recreate = median_ms(lambda: aio.write_action(obj, part, action=result), repeats)
    finally:
        aio._rewrite_in_place = original
    return in_place, recreate


def report(label, obj, args):
    motion, read_ms, write_ms = measure(obj, args.repeats)
    print(f"{label:30s} bones={motion.skeleton.num_joints:3d} frames={motion.num_frames:4d}  "
          f"read {read_ms:.3f} ms/frame  write {write_ms:.1f} ms", flush=True)
    if args.live_frames:
        in_place, recreate = measure_live(obj, motion, args.live_frames, args.repeats)
        print(f"{'':30s} live rewrite {min(args.live_frames, motion.num_frames)} frames: in place {in_place:.1f} ms, "
              f"recreating curves {recreate:.1f} ms", flush=True)
    if args.clutter:
        source = obj.animation_data.action
        add_clutter(args.clutter, motion.num_frames)
        plain = median_ms(lambda: aio.read_motion(obj, action=source), args.repeats) / motion.num_frames
        rig = median_ms(lambda: aio.read_motion(obj, action=source, rig_only=True), args.repeats) / motion.num_frames
        print(f"{'':30s} with {args.clutter} animated objects: read {plain:.3f} ms/frame, "
              f"rig_only {rig:.3f} ms/frame", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--bones", type=int, default=65)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--clutter", type=int, default=200, help="animated objects for the rig_only comparison (0: skip)")
    ap.add_argument("--live-frames", type=int, default=300, help="frames of the in-place rewrite (0: skip)")
    args = ap.parse_args()
    print(f"Blender {bpy.app.version_string}, numpy {np.__version__}, {os.cpu_count()} CPU(s)")
    for mode in ("QUATERNION", "XYZ"):
        obj = build_rig(args.bones, mode)
        aio.write_action(obj, smooth_motion(aio.skeleton_from_armature(obj), args.frames), name="source")
        report(f"synthetic {mode}", obj, args)
    if os.path.isfile(CLIP):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        bpy.ops.import_anim.bvh(filepath=CLIP, update_scene_fps=True, update_scene_duration=True, rotate_mode="NATIVE")
        report("cmu_iclone_cc (BVH import)", bpy.context.view_layer.objects.active, args)


if __name__ == "__main__":
    main()
