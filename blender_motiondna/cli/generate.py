"""``motiondna generate``: a clip regenerated under joint targets, written as BVH."""
import os
import time

from ...engine.generator.runtime import Generator
from ...engine.io import generator_file
from ...engine.motion import targets as engine_targets
from ...engine.motion.metrics import SPAN_METRES, metres_per_unit
from ..io import armature_io, bvh_io
from ..scene.bake import UNREACHED_FRACTION, target_errors
from .common import ProgressBar, load_json, need_file, output_file, reset_scene

PROGRESS_AFTER_S = 2.0  # a generate that ends sooner prints no progress


def add_parser(subparsers):
    g = subparsers.add_parser("generate", help="regenerate a clip under joint targets",
                       description="Regenerate CLIP's full length under TARGETS and write a BVH with the "
                                   "input's joints, hierarchy, axes, units and frame rate.")
    g.add_argument("--generator", required=True, help="generator file (.mdna)")
    g.add_argument("--clip", required=True, help="the BVH clip the generator was built from (or one with the same skeleton)")
    g.add_argument("--targets", help='TARGETS.json: {"targets": [{"joint", "frame", "position"}, ...]}; '
                                     "positions in the input file's coordinates; omit for none (docs/formats.md)")
    g.add_argument("--out", required=True, help="output BVH")
    g.add_argument("--json", action="store_true", help="print the result as JSON")
    return g


def run(args):
    out = output_file(args.out, clip=args.clip, generator=args.generator, targets=args.targets)
    need_file(args.clip, "clip")
    data = load_json(args.targets) if args.targets else {"targets": []}  # bad JSON: fail before importing
    generator = Generator.load(args.generator)
    reset_scene()
    armature, template, mapping = bvh_io.import_bvh(args.clip)
    skeleton = armature_io.skeleton_from_armature(armature)
    generator_file.check_compatible(generator.meta, skeleton)
    generator_file.check_fps(generator.meta, 1.0 / template.frame_time, os.path.basename(args.clip))
    source = armature_io.read_motion(armature)
    targets = engine_targets.parse_targets(data, generator.skeleton, source.num_frames,
                                           transform=lambda p: bvh_io.file_to_armature_points(mapping, p))
    started = time.perf_counter()
    bar = ProgressBar("refining", quiet_s=PROGRESS_AFTER_S)
    try:
        motion = generator.generate(targets=targets, num_frames=source.num_frames, progress=_events(bar, started))
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    bvh_io.export_bvh(out, motion, template, mapping)
    units_per_cm = 0.01 / metres_per_unit(source.skeleton, source.translations)  # docs/evaluation.md scaling
    errors_cm = [e / units_per_cm for e in target_errors(motion, targets)]
    limit_cm = UNREACHED_FRACTION * 100.0 * SPAN_METRES
    unreached = [{"joint": generator.skeleton.names[t.joint], "error_cm": round(e, 2)}
                 for t, e in zip(targets, errors_cm) if e > limit_cm and t.weight >= 1.0]
    info = {"out": out, "frames": motion.num_frames, "targets": len(targets),
            "target_errors_cm": [round(e, 3) for e in errors_cm], "unreached": unreached,
            "generate_seconds": round(seconds, 4)}
    msg = f"wrote {args.out}: {motion.num_frames} frames, {len(targets)} target(s)"
    if errors_cm:
        msg += f", max target error {max(errors_cm):.2f} cm (span-scaled)"
    for u in unreached:
        msg += f"\n  out of reach: {u['joint']} stayed {u['error_cm']:.0f} cm from its target"
    return info, msg


def _events(bar, started):
    """The refinement's ``progress(fraction)`` as the bar's events, with the time left."""
    def report(fraction):
        elapsed = time.perf_counter() - started
        bar({"fraction": fraction, "eta_s": elapsed / fraction * (1.0 - fraction) if fraction > 0 else None})
    return report
