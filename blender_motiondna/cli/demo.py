"""``motiondna demo``: the main job on the bundled clip. Build a generator through the
worker, drag two joint targets away from the source pose, regenerate, bake to a new
action, and write out/demo.blend, out/demo.bvh and out/demo.png. Every number it prints
is measured."""
import os
import time

import bpy
import numpy as np

from ...engine.eval import preview
from ...engine.motion import metrics
from .. import EXTENSION_ROOT
from ..io import armature_io, bvh_io
from ..scene import bake, build, targets
from .common import reset_scene

DEFAULT_CLIP = os.path.join(EXTENSION_ROOT, "data", "jumping_jacks.bvh")


def add_parser(subparsers):
    d = subparsers.add_parser("demo", help="the whole product on the bundled clip (writes out/demo.*)")
    d.add_argument("--clip", help="BVH clip (default: the bundled CMU jumping jacks)")
    d.add_argument("--out-dir", default="out", help="where demo.blend, demo.bvh and demo.png go")
    d.add_argument("--python", help="interpreter with numpy for the engine worker (default: this one)")
    d.add_argument("--json", action="store_true", help="print the result as JSON")
    return d


def run(args):
    return run_demo(clip=args.clip, out_dir=args.out_dir, python=args.python)


def _edits(skeleton, motion, units_per_cm):
    """The demo's two edits: a hand 25 cm higher at mid-clip, a foot moved 20 cm at 30 %."""
    up = np.eye(3)[skeleton.up_axis]
    side = np.eye(3)[[a for a in range(3) if a != skeleton.up_axis][0]]
    positions = motion.positions()
    effectors = metrics.end_effectors(skeleton, positions)
    hand, foot = effectors["right_hand"], effectors["left_foot"]
    n = motion.num_frames
    t_hand, t_foot = n // 2, int(0.3 * n)
    return [(hand, t_hand, positions[t_hand, hand] + 25 * units_per_cm * up),
            (foot, t_foot, positions[t_foot, foot] + 20 * units_per_cm * side)]


def run_demo(clip=None, out_dir="out", python=None):
    clip = clip or DEFAULT_CLIP
    os.makedirs(out_dir, exist_ok=True)
    reset_scene()
    scene = bpy.context.scene
    source, template, mapping = bvh_io.import_bvh(clip)
    source.name = "Source"
    print(f"clip: {os.path.relpath(clip)} ({len(source.pose.bones)} joints)")

    started = time.perf_counter()
    info = build.build_generator(source, python=python,
                                 on_progress=lambda e: None)
    build_wall = time.perf_counter() - started
    print(f"generator built in {build_wall:.2f} s wall ({info.get('size_bytes', 0) / 1024:.0f} KB, "
          f"{info.get('smooth_jumps', '?')} smooth transitions)")

    # The result armature: a copy beside the source, carrying the same generator.
    result = source.copy()
    result.name = "Generated"
    scene.collection.objects.link(result)
    skeleton = armature_io.skeleton_from_armature(source)
    source_motion = armature_io.read_motion(source)
    result.location.x += 0.6 * skeleton.span(source_motion.translations) * float(np.mean(source.matrix_world.to_scale()))
    bpy.context.view_layer.update()

    units_per_cm = 0.01 / metrics.metres_per_unit(skeleton, source_motion.translations)  # docs/evaluation.md scaling
    frame0 = result.mdna.clip_frame_start
    for joint, frame, point in _edits(skeleton, source_motion, units_per_cm):
        world = armature_io.armature_to_world(result, point[None])[0]
        targets.add_target(result, skeleton.names[joint], frame=frame0 + frame, location=world)

    outcome = bake.regenerate(result)
    errors_cm = [e / units_per_cm for e in outcome.errors]
    print(f"regenerated {outcome.motion.num_frames} frames in {outcome.seconds * 1000:.0f} ms "
          f"into action '{outcome.action.name}' (source action '{source.animation_data.action.name}' untouched)")
    for t, err in zip(outcome.targets, errors_cm):
        print(f"  target {skeleton.names[t.joint]} @ frame {int(t.frames[0])}: error {err:.2f} cm")

    blend = os.path.abspath(os.path.join(out_dir, "demo.blend"))
    bvh = os.path.abspath(os.path.join(out_dir, "demo.bvh"))
    png = os.path.abspath(os.path.join(out_dir, "demo.png"))
    bvh_io.export_bvh(bvh, outcome.motion, template, mapping)
    frames = sorted({0} | {int(t.frames[0]) for t in outcome.targets} | {outcome.motion.num_frames - 1})
    try:
        preview.render_comparison(png, skeleton, source_motion.positions(), outcome.motion.positions(), frames,
                                  outcome.targets, title=f"MotionDNA demo: {os.path.basename(clip)} — grey source, "
                                  "blue generated, red stars targets", fps=source_motion.fps)
    except ImportError:  # stock Blender has no matplotlib: the rest of the demo still runs
        print(f"skipped {png}: the picture needs matplotlib, which this Python does not have")
        png = None
    scene.frame_set(frame0)
    bpy.ops.wm.save_as_mainfile(filepath=blend, check_existing=False)
    print("\n".join(f"wrote {p}" for p in (blend, bvh, png) if p))
    return ({"build_wall_seconds": round(build_wall, 3), "smooth_jumps": info.get("smooth_jumps"),
             "target_errors_cm": [round(e, 3) for e in errors_cm], "blend": blend, "bvh": bvh, "png": png},
            "demo done")
