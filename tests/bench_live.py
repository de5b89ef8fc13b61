"""Drag-to-keys latency in the bpy module (docs/evaluation.md "drag-to-keys"; a benchmark, not a test).

    .venv/bin/python tests/bench_live.py [--frames 300] [--bones 65] [--drags 60]

The rig: the cmu_iclone_cc clip (100 joints) pruned leaf by leaf to ``--bones`` bones
and its first ``--frames`` frames, when ../shared is present; otherwise a synthetic
humanoid of that many Euler bones. A generator is built in the worker, one hand target is
added and live mode turned on. Each drag moves the empty, then times what the UI does
after a mouse move: ``view_layer.update()`` (the depsgraph handler marks the armature
dirty) and ``live.flush()`` (regenerate + rewrite the result action's keys) — the same
code the live timer runs. Reports median and p95 over ``--drags`` drags, and the median
of each stage (target collection, runtime generation, key writing)."""
import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from blender_motiondna.bootstrap import load_extension_package  # noqa: E402

load_extension_package().register()
import bpy  # noqa: E402
import numpy as np  # noqa: E402

from motiondna.blender_motiondna import worker_client  # noqa: E402
from motiondna.blender_motiondna.io import action_compat, armature_io, bvh_io  # noqa: E402
from motiondna.blender_motiondna.scene import build, live, targets  # noqa: E402

ICLONE = os.path.join("motions", "cmu_iclone_cc", "002_05_punch_strike.bvh")
# Leaves removed first when pruning the iClone rig (face, toes, helper bones, finger tips).
PRUNE_ORDER = ("Tongue", "Teeth", "Eye", "Jaw", "Facial", "Toe", "Share", "Breast", "Ribs",
               "Twist02", "Twist01", "3", "2")


def _shared_dir():
    return os.path.abspath(os.path.join(ROOT, "..", "shared"))


def _remove_bones(arm, names):
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode='EDIT')
    for n in names:
        arm.data.edit_bones.remove(arm.data.edit_bones[n])
    bpy.ops.object.mode_set(mode='OBJECT')


def _prune(arm, keep):
    """Remove leaf bones (by PRUNE_ORDER) until ``keep`` remain."""
    while len(arm.data.bones) > keep:
        leaves = [b.name for b in arm.data.bones if not b.children]
        pick = None
        for pattern in PRUNE_ORDER:
            pick = next((n for n in leaves if pattern in n), None)
            if pick:
                break
        if pick is None:
            raise RuntimeError("cannot prune the rig further")
        _remove_bones(arm, [pick])


def iclone_rig(bones, frames):
    arm, _, _ = bvh_io.import_bvh(os.path.join(_shared_dir(), ICLONE))
    _prune(arm, bones)
    arm.mdna.use_frame_range, arm.mdna.frame_start, arm.mdna.frame_end = True, 1, frames
    return arm, "cmu_iclone_cc 002_05 pruned"


def synthetic_rig(bones, frames):
    """A root, a spine/head chain and four limbs, bone count ``bones``, keyed with sines."""
    data = bpy.data.armatures.new("Synthetic")
    arm = bpy.data.objects.new("Synthetic", data)
    bpy.context.scene.collection.objects.link(arm)
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode='EDIT')
    root = data.edit_bones.new("Hips")
    root.head, root.tail = (0, 0, 1.0), (0, 0, 1.1)
    chains = [("Spine", (0, 0, 1)), ("ArmL", (1, 0, 0)), ("ArmR", (-1, 0, 0)), ("LegL", (0.2, 0, -1)),
              ("LegR", (-0.2, 0, -1))]
    per = (bones - 1) // len(chains)
    extra = bones - 1 - per * len(chains)
    for c, (name, direction) in enumerate(chains):
        parent, d = root, np.array(direction, float) / np.linalg.norm(direction)
        for i in range(per + (1 if c < extra else 0)):
            b = data.edit_bones.new(f"{name}{i:02d}")
            b.head = parent.tail
            b.tail = np.array(parent.tail) + d * 0.6 / per
            b.parent, b.use_connect = parent, True
            parent = b
    bpy.ops.object.mode_set(mode='OBJECT')
    for pb in arm.pose.bones:
        pb.rotation_mode = 'ZXY'
    t = np.arange(frames) / 30.0
    arm.animation_data_create()
    action = bpy.data.actions.new("SyntheticWalk")
    action_compat.assign_action(arm, action)
    for j, pb in enumerate(arm.pose.bones):
        for f, tt in zip(range(1, frames + 1), t):
            pb.rotation_euler = (0.3 * np.sin(2 * np.pi * tt + j), 0.1 * np.cos(2 * np.pi * tt + j), 0.0)
            pb.keyframe_insert("rotation_euler", frame=f)
            if pb.parent is None:
                pb.location = (0.0, 0.5 * tt, 0.0)
                pb.keyframe_insert("location", frame=f)
    return arm, "synthetic"


def _percentile(values, q):
    return float(np.percentile(np.asarray(values), q))


def setup(bones=65, frames=300):
    """A fresh scene with the rig, its generator, one hand target and live mode on."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    shared = os.path.isdir(os.path.join(_shared_dir(), "motions"))
    arm, rig = iclone_rig(bones, frames) if shared else synthetic_rig(bones, frames)
    t0 = time.perf_counter()
    build.build_generator(arm)
    info = {"rig": rig, "bones": len(arm.data.bones), "frames": frames,
            "build_seconds": round(time.perf_counter() - t0, 2)}
    skeleton = armature_io.skeleton_from_armature(arm)
    hand = next((n for n in skeleton.names if "hand" in n.lower()), skeleton.names[-1])
    empty = targets.add_target(arm, hand, frame=arm.mdna.clip_frame_start + frames // 2)
    live.set_live(arm, True)
    info["target_joint"] = hand
    return arm, empty, info


def drag(arm, empty, drags=60, radius=0.1, warmup=3):
    """Move the empty ``drags`` times; per drag the ms from the move to the keys written."""
    start = np.array(empty.location)
    totals, stages = [], {"targets": [], "generate": [], "keys": []}
    for i in range(drags + warmup):  # the first few warm caches; not counted
        angle = 2 * np.pi * i / 12
        empty.location = start + radius * np.array([np.cos(angle), np.sin(angle), 0.3 * np.sin(2 * angle)])
        began = time.perf_counter()
        bpy.context.view_layer.update()  # the depsgraph handler sees the moved empty
        done = live.flush()
        elapsed = time.perf_counter() - began
        if arm.name not in done:
            raise RuntimeError(f"the drag did not regenerate: {arm.mdna.status or 'the handler did not fire'}")
        if i >= warmup:
            totals.append(elapsed * 1000)
            for k in stages:
                stages[k].append(done[arm.name].timings[k] * 1000)
    return {"drags": drags, "median_ms": round(_percentile(totals, 50), 2),
            "p95_ms": round(_percentile(totals, 95), 2), "max_ms": round(max(totals), 2),
            "stage_median_ms": {k: round(_percentile(v, 50), 2) for k, v in stages.items()}}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bones", type=int, default=65)
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--drags", type=int, default=60)
    p.add_argument("--profile", action="store_true", help="print a cProfile of the drags")
    p.add_argument("--sort", default="tottime", help="profile order (tottime, cumulative)")
    args = p.parse_args(argv)
    arm, empty, result = setup(args.bones, args.frames)
    if args.profile:
        import cProfile
        import pstats
        prof = cProfile.Profile()
        result.update(prof.runcall(drag, arm, empty, args.drags))
        pstats.Stats(prof).sort_stats(args.sort).print_stats(30)
    else:
        result.update(drag(arm, empty, args.drags))
    print(json.dumps(result, indent=1))
    worker_client.shutdown_shared()
    return 0


if __name__ == "__main__":
    sys.exit(main())
