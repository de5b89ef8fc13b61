"""``motiondna bake``: .blend files regenerated from their target empties."""
import os

from .. import api
from ..io import blend_file
from . import batch
from .batch import run_batch
from .common import UsageError, batch_options, positive_int, seed_list


def add_parser(subparsers):
    k = subparsers.add_parser(
        "bake", help="regenerate the armatures in .blend files from their target empties",
        description="Open each .blend, regenerate every armature that has a generator (or those named "
                    "with --armature) from its target empties into its result action '<source>.mdna', "
                    "and save to --out (one file), --out-dir (a batch) or over the input (--in-place). "
                    "Several files bake in parallel child processes.")
    k.add_argument("blends", nargs="*", metavar="BLEND", help=".blend files or globs")
    where = k.add_mutually_exclusive_group()
    where.add_argument("--out", help="the baked .blend (one input)")
    where.add_argument("--out-dir", help="where the baked files go (same names)")
    where.add_argument("--in-place", action="store_true", help="save over each input (the first bake keeps the original as NAME.mdna-orig.blend)")
    k.add_argument("--armature", action="append", metavar="NAME", help="only this armature (repeat for more)")
    k.add_argument("--nla", action="store_true", help="bake to an NLA strip instead of the active action")
    k.add_argument("--seeds", type=seed_list, help="make one variation per seed instead (0-3, 1,4,9): new actions "
                                                   "'<source>.var<seed>', the targets apply too")
    k.add_argument("--frames", type=positive_int, help="frames per variation (default: the clip's length)")
    k.add_argument("--loop", action="store_true", help="variations whose last frame flows into the first")
    batch_options(k, "files")
    return k


def run(args):
    if (args.frames or args.loop) and args.seeds is None:
        raise UsageError("--frames and --loop shape variations: give --seeds too")
    if not (args.out or args.out_dir or args.in_place):
        raise UsageError("say where the results go: --out FILE (one input), --out-dir DIR or --in-place")
    inputs = batch.expand_inputs(args.blends, args.list, (".blend",))
    inputs = [p for p in inputs if not p.endswith(api.ORIGINAL_SUFFIX)]  # the kept originals are not shots
    if args.out:
        if len(inputs) != 1:
            raise UsageError(f"--out takes one input .blend, got {len(inputs)}; use --out-dir for several")
        items = [batch.Item(inputs[0], os.path.abspath(args.out))]
        if items[0].output == items[0].input:
            raise UsageError("--out is the input file: use --in-place to save over it")
    elif args.out_dir:
        items = batch.plan(inputs, args.out_dir, ".blend")
        clash = [i.input for i in items if i.input == i.output]
        if clash:
            raise UsageError(f"--out-dir would overwrite {clash[0]}: use --in-place for that")
    else:
        items = [batch.Item(p, p) for p in inputs]
    if not args.in_place:  # in place there is no separate output to recognise as finished
        batch.mark_finished(items, blend_file.looks_like_blend, args.force)
    jobs = args.jobs or batch.default_jobs()

    def bake_here(item):
        return api.bake_blend(item.input, out=None if args.in_place else item.output, in_place=args.in_place,
                              armatures=args.armature, as_nla=args.nla, seeds=args.seeds, frames=args.frames,
                              loop=args.loop)

    def child_argv(item):
        argv = ["bake", item.input, "--jobs", "1", "--force", "--json"]
        argv += ["--in-place"] if args.in_place else ["--out", item.output]
        for name in args.armature or []:
            argv += ["--armature", name]
        if args.seeds is not None:
            argv += ["--seeds", ",".join(str(s) for s in args.seeds)]
        argv += ["--frames", str(args.frames)] if args.frames else []
        argv += ["--loop"] if args.loop else []
        return argv + (["--nla"] if args.nla else [])

    def run(overall, j):
        if j == 1:
            batch.run_in_process(items, bake_here, overall)
        else:  # a child per file: a crash on one file fails that file, not the batch
            batch.run_children(items, j, child_argv, overall)

    def describe(item):
        arms = item.info.get("armatures", [])
        return ", ".join(f"{a['name']}" + (f" seed {a['seed']}" if a.get("seed") is not None else "")
                         + f": {a['targets']} target(s)" + (f", {len(a['skipped'])} skipped" if a["skipped"] else "")
                         for a in arms)
    return run_batch(items, jobs, "baking", run, describe)
