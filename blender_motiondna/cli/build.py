"""``motiondna build``: generators from motion clips (BVH, FBX, glTF, AMASS), one or a batch in parallel workers."""
import os
import sys
import time

from ..io import formats
from ..scene import build, store
from . import batch
from .batch import run_batch
from .common import ProgressBar, UsageError, batch_options, need_file, output_file, positive_int, reset_scene


def add_parser(subparsers):
    b = subparsers.add_parser(
        "build", help="build generators from motion clips (one, or a batch in parallel)",
        description="Import each clip (BVH, FBX, glTF or AMASS .npz) with Blender's importers and build its generator (.mdna) in the "
                    "engine worker. One clip: --clip CLIP --out FILE. A batch: CLIPS (paths or globs) "
                    "and/or --list FILE with --out-dir DIR; clips build in parallel, finished outputs "
                    "are skipped (--force redoes them), a summary table ends the run.")
    b.add_argument("clips", nargs="*", metavar="CLIP", help="clips or globs (batch): .bvh, .fbx, .glb, .gltf, .npz")
    b.add_argument("--clip", help="one input clip (.bvh, .fbx, .glb, .gltf, .npz)")
    b.add_argument("--out", help="generator file to write for --clip (.mdna)")
    b.add_argument("--out-dir", help="batch: where <clip name>.mdna files go")
    b.add_argument("--steps", type=positive_int, default=None, help="training steps (default: the engine's)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--threads", type=positive_int, default=None,
                   help="torch threads per worker (default: cores / jobs in a batch, the engine's otherwise)")
    b.add_argument("--python", help="interpreter with torch for the engine worker (default: this one)")
    batch_options(b, "clips")
    return b


def run(args):
    single = args.clip is not None or args.out is not None
    if single:
        if args.clips or args.list or args.out_dir:
            raise UsageError("give either --clip CLIP --out FILE, or CLIPS/--list with --out-dir, not both")
        if not (args.clip and args.out):
            raise UsageError("--clip and --out go together")
        return _build_one(args)
    if not args.out_dir:
        raise UsageError("a batch needs --out-dir (or use --clip CLIP --out FILE for one clip)")
    return _build_batch(args)


def _settings(args):
    settings = {"seed": args.seed}
    if args.steps:
        settings["steps"] = args.steps
    if args.threads:
        cores = os.cpu_count() or 1
        if args.threads > cores:  # more threads than cores only slows every worker down
            print(f"motiondna build: --threads {args.threads} is more than this machine's {cores} cores; "
                  f"using {cores}", file=sys.stderr)
        settings["threads"] = min(args.threads, cores)
    return settings


def _build_one(args):
    out = output_file(args.out, clip=args.clip)
    need_file(args.clip, "clip")
    reset_scene()
    armature = formats.import_motion_file(args.clip)
    bar = ProgressBar("training")
    started = time.perf_counter()
    try:
        info = build.build_generator(armature, settings=_settings(args), on_progress=bar, python=args.python)
    finally:
        bar.close()
    store.save_bytes(armature, out)
    info.update(out=out, size_bytes=os.path.getsize(out),
                wall_seconds=round(time.perf_counter() - started, 3))
    return info, (f"built {args.out} ({info['size_bytes'] / 1024:.0f} KB) in {info['wall_seconds']:.1f} s "
                  f"(training {info.get('train_seconds', float('nan')):.2f} s)")


def _build_batch(args):
    items = batch.plan(batch.expand_inputs(args.clips, args.list, formats.EXTENSIONS), args.out_dir, ".mdna")
    batch.mark_finished(items, batch.valid_generator, args.force)
    jobs = args.jobs or batch.default_jobs()
    settings = _settings(args)

    def describe(item):
        i = item.info
        return f"{i['size_bytes'] / 1024:.0f} KB, {i.get('num_codes', '?')} codes" if "size_bytes" in i else ""
    return run_batch(items, jobs, "building",
                      lambda overall, j: batch.run_builds(items, j, args.python, settings, overall), describe)
