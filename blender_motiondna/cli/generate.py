"""``motiondna generate``: a clip regenerated under joint targets, or new variations of it,
written as BVH."""
import os
import time

from ...engine.generator.runtime import MAX_FRAMES, Generator
from ...engine.io import generator_file
from ...engine.motion import targets as engine_targets
from ...engine.motion.metrics import SPAN_METRES, metres_per_unit
from ..io import armature_io, bvh_io
from ..scene.bake import UNREACHED_FRACTION, target_errors
from .common import ProgressBar, load_json, need_file, output_file, positive_int, reset_scene, seed_list, seed_path

PROGRESS_AFTER_S = 2.0  # a generate that ends sooner prints no progress


def add_parser(subparsers):
    g = subparsers.add_parser("generate", help="regenerate a clip under joint targets, or make variations",
                       description="Regenerate CLIP under TARGETS, or with --seed/--seeds make new variations of "
                                   "any length (--frames) that recombine the clip's material, and write BVH files "
                                   "with the input's joints, hierarchy, axes, units and frame rate.")
    g.add_argument("--generator", required=True, help="generator file (.mdna)")
    g.add_argument("--clip", required=True, help="the BVH clip the generator was built from (or one with the same skeleton)")
    g.add_argument("--targets", help='TARGETS.json: {"targets": [{"joint", "frame", "position"}, ...]}; '
                                     "positions in the input file's coordinates; omit for none (docs/formats.md)")
    g.add_argument("--out", required=True, help="output BVH; with several seeds OUT gets _s<seed> before its "
                                                "extension, or write {seed} where the seed goes")
    g.add_argument("--frames", type=positive_int, help="frames to generate (default: the clip's length; at most 200000)")
    g.add_argument("--seed", type=int, help="make a variation with this seed (0 or more); without it, the clip itself")
    g.add_argument("--seeds", type=seed_list, help="one variation per seed: 0-9, 1,4,9 (one file each)")
    g.add_argument("--start", type=int, help="the clip frame (0-based) the output starts from (default 0)")
    g.add_argument("--loop", action="store_true", help="the last frame flows into the first (a cycle)")
    g.add_argument("--json", action="store_true", help="print the result as JSON")
    return g


def run(args):
    seeds = _seeds(args)
    outs = [seed_path(args.out, s, len(seeds)) if s is not None else args.out for s in seeds]
    outs = [output_file(o, clip=args.clip, generator=args.generator, targets=args.targets) for o in outs]
    if len(set(outs)) < len(outs):
        raise ValueError(f"--out {args.out} gives several seeds one file: put {{seed}} in it")
    need_file(args.clip, "clip")
    data = load_json(args.targets) if args.targets else {"targets": []}  # bad JSON: fail before importing
    generator = Generator.load(args.generator)
    reset_scene()
    armature, template, mapping = bvh_io.import_bvh(args.clip)
    skeleton = armature_io.skeleton_from_armature(armature)
    generator_file.check_compatible(generator.meta, skeleton)
    generator_file.check_fps(generator.meta, 1.0 / template.frame_time, os.path.basename(args.clip))
    source = armature_io.read_motion(armature)
    frames = args.frames or source.num_frames
    targets = engine_targets.parse_targets(data, generator.skeleton, frames,
                                           transform=lambda p: bvh_io.file_to_armature_points(mapping, p))
    units_per_cm = 0.01 / metres_per_unit(source.skeleton, source.translations)  # docs/evaluation.md scaling
    results = []
    for seed, out in zip(seeds, outs):
        started = time.perf_counter()
        bar = ProgressBar("refining", quiet_s=PROGRESS_AFTER_S)
        try:
            motion = generator.generate(targets=targets, num_frames=frames, seed=seed, start=args.start,
                                        loop=args.loop, progress=_events(bar, started))
        finally:
            bar.close()
        seconds = time.perf_counter() - started
        bvh_io.export_bvh(out, motion, template, mapping)
        results.append(_result(out, seed, motion, targets, generator, units_per_cm, seconds))
    info = results[0] if len(results) == 1 and args.seeds is None else {"outputs": results}
    return info, "\n".join(_message(r) for r in results)


def _seeds(args):
    if args.frames is not None and args.frames > MAX_FRAMES:
        raise ValueError(f"--frames must be at most {MAX_FRAMES} (about 1.9 hours at 30 fps), not {args.frames}")
    if args.seed is not None and args.seeds is not None:
        raise ValueError("give --seed or --seeds, not both")
    if args.seed is not None and args.seed < 0:
        raise ValueError(f"--seed must be 0 or more, not {args.seed}")
    if args.loop and args.seed is None and args.seeds is None:
        raise ValueError("--loop makes a variation: give --seed or --seeds too")
    return args.seeds if args.seeds is not None else [args.seed]


def _result(out, seed, motion, targets, generator, units_per_cm, seconds):
    errors_cm = [e / units_per_cm for e in target_errors(motion, targets)]
    limit_cm = UNREACHED_FRACTION * 100.0 * SPAN_METRES
    unreached = [{"joint": generator.skeleton.names[t.joint], "error_cm": round(e, 2)}
                 for t, e in zip(targets, errors_cm) if e > limit_cm and t.weight >= 1.0]
    return {"out": out, "seed": seed, "frames": motion.num_frames, "targets": len(targets),
            "target_errors_cm": [round(e, 3) for e in errors_cm], "unreached": unreached,
            "generate_seconds": round(seconds, 4)}


def _message(r):
    what = f"variation seed {r['seed']}, " if r["seed"] is not None else ""
    msg = f"wrote {r['out']}: {what}{r['frames']} frames, {r['targets']} target(s)"
    if r["target_errors_cm"]:
        msg += f", max target error {max(r['target_errors_cm']):.2f} cm (span-scaled)"
    for u in r["unreached"]:
        msg += f"\n  out of reach: {u['joint']} stayed {u['error_cm']:.0f} cm from its target"
    return msg


def _events(bar, started):
    """The refinement's ``progress(fraction)`` as the bar's events, with the time left."""
    def report(fraction):
        elapsed = time.perf_counter() - started
        bar({"fraction": fraction, "eta_s": elapsed / fraction * (1.0 - fraction) if fraction > 0 else None})
    return report
