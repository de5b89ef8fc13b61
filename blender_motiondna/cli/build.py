"""``motiondna build``: generators from motion clips (BVH, FBX, glTF, AMASS), one or a batch in parallel workers."""
import json
import os
import time

from ...engine.generator import build as engine_build
from ..io import formats
from ..scene import build, store
from . import batch
from .batch import run_batch
from .common import ProgressBar, UsageError, batch_options, need_file, output_file, reset_scene


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
    b.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                   help=f"a generator setting (docs/engine.md; repeatable): {', '.join(engine_build.SETTING_NAMES)}")
    b.add_argument("--python", help="interpreter with numpy for the engine worker (default: this one)")
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
    """The ``--set KEY=VALUE`` overrides as a dict; a malformed one is a usage error (exit 2),
    an unknown name or a bad value the user's input to fix (ValueError: exit 1, one line)."""
    settings = {}
    for item in args.settings:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set takes KEY=VALUE, got '{item}'")
        try:
            value = json.loads(text)
        except ValueError:
            value = text  # resolve_settings says what a non-number is not
        settings[key.strip()] = value
    engine_build.resolve_settings(settings)
    return settings


def _build_one(args):
    out = output_file(args.out, clip=args.clip)
    need_file(args.clip, "clip")
    settings = _settings(args)
    reset_scene()
    armature = formats.import_motion_file(args.clip)
    bar = ProgressBar("building")
    started = time.perf_counter()
    try:
        info = build.build_generator(armature, settings=settings, on_progress=bar, python=args.python)
    finally:
        bar.close()
    store.save_bytes(armature, out)
    info.update(out=out, size_bytes=os.path.getsize(out),
                wall_seconds=round(time.perf_counter() - started, 3))
    return info, (f"built {args.out} ({info['size_bytes'] / 1024:.0f} KB, {info.get('smooth_jumps', '?')} smooth "
                  f"transitions) in {info['wall_seconds']:.1f} s")


def _build_batch(args):
    settings = _settings(args)
    items = batch.plan(batch.expand_inputs(args.clips, args.list, formats.EXTENSIONS), args.out_dir, ".mdna")
    batch.mark_finished(items, batch.valid_generator, args.force)
    jobs = args.jobs or batch.default_jobs()

    def describe(item):
        i = item.info
        return f"{i['size_bytes'] / 1024:.0f} KB, {i.get('smooth_jumps', '?')} smooth transitions" if "size_bytes" in i else ""
    return run_batch(items, jobs, "building",
                      lambda overall, j: batch.run_builds(items, j, args.python, settings, overall), describe)
