"""The MotionDNA command line: ``python -m blender_motiondna ...`` with the bpy module, and
``blender --command motiondna ...`` in a real Blender 4.2+ (registered on add-on load).

Commands: build, generate, bake, bench, export, info, demo (``--help`` on each; docs/cli.md).
Results go to stdout (text, or JSON with ``--json``); progress, warnings and Blender's
own chatter go to stderr.

Exit codes: 0 done, 1 bad input (file, clip, targets), 2 bad arguments, 3 engine failure
(worker could not start, crashed, or training failed), 130 cancelled. A batch exits 0
when every item is done or skipped, else with the most serious item's code
(130 > 3 > 1)."""
import argparse
import json
import os
import subprocess
import sys
import time

from ...engine.eval import benchmark
from .. import EXTENSION_PACKAGE
from ..bootstrap import stdout_to_stderr

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_ENGINE, EXIT_CANCELLED = 0, 1, 2, 3, 130
BENCH_METHODS = benchmark.ALL_METHODS


class ProgressBar:
    """A one-line progress bar on stderr (only when it is a terminal, else a line per 10 %)."""

    def __init__(self, label, stream=sys.stderr):
        self.label, self.stream, self.last = label, stream, -1

    def __call__(self, event):
        fraction = float(event.get("fraction", 0.0))
        eta = event.get("eta_s")
        tail = f" {eta:4.1f} s left" if eta is not None else ""
        if self.stream.isatty():
            filled = int(30 * fraction)
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {fraction * 100:5.1f}%{tail}")
            self.stream.flush()
        elif int(fraction * 10) > self.last:
            self.last = int(fraction * 10)
            self.stream.write(f"{self.label}: {fraction * 100:.0f}%{tail}\n")

    def close(self):
        if self.stream.isatty():
            self.stream.write("\n")


class UsageError(Exception):
    """Arguments that parse but do not make sense together (exit 2)."""


# -- arguments ----------------------------------------------------------------------------

def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _batch_options(p, what):
    p.add_argument("--list", metavar="FILE", help="a file with one input path or glob a line (# comments)")
    p.add_argument("--jobs", "-j", type=_positive_int, default=None,
                   help="parallel worker processes (default: one per core)")
    p.add_argument("--force", action="store_true", help=f"redo {what} whose output already exists")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _parser():
    p = argparse.ArgumentParser(
        prog="motiondna", description="Build and run per-clip motion generators.",
        epilog="Exit codes: 0 done, 1 bad input, 2 bad arguments, 3 engine failure, 130 cancelled. "
               "'motiondna COMMAND --help' for each command.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser(
        "build", help="build generators from BVH clips (one, or a batch in parallel)",
        description="Import each clip with Blender's BVH importer and build its generator (.mdna) in the "
                    "engine worker. One clip: --clip CLIP --out FILE. A batch: CLIPS (paths or globs) "
                    "and/or --list FILE with --out-dir DIR; clips build in parallel, finished outputs "
                    "are skipped (--force redoes them), a summary table ends the run.")
    b.add_argument("clips", nargs="*", metavar="CLIP", help="BVH clips or globs (batch)")
    b.add_argument("--clip", help="one input BVH clip")
    b.add_argument("--out", help="generator file to write for --clip (.mdna)")
    b.add_argument("--out-dir", help="batch: where <clip name>.mdna files go")
    b.add_argument("--steps", type=_positive_int, default=None, help="training steps (default: the engine's)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--threads", type=_positive_int, default=None,
                   help="torch threads per worker (default: cores / jobs in a batch, the engine's otherwise)")
    b.add_argument("--python", help="interpreter with torch for the engine worker (default: this one)")
    _batch_options(b, "clips")

    g = sub.add_parser("generate", help="regenerate a clip under joint targets",
                       description="Regenerate CLIP's full length under TARGETS and write a BVH with the "
                                   "input's joints, hierarchy, axes, units and frame rate.")
    g.add_argument("--generator", required=True, help="generator file (.mdna)")
    g.add_argument("--clip", required=True, help="the BVH clip the generator was built from (or one with the same skeleton)")
    g.add_argument("--targets", help='TARGETS.json: {"targets": [{"joint", "frame", "position"}, ...]}; '
                                     "positions in the input file's coordinates; omit for none (docs/formats.md)")
    g.add_argument("--out", required=True, help="output BVH")
    g.add_argument("--json", action="store_true", help="print the result as JSON")

    k = sub.add_parser(
        "bake", help="regenerate the armatures in .blend files from their target empties",
        description="Open each .blend, regenerate every armature that has a generator (or those named "
                    "with --armature) from its target empties into its result action '<source>.mdna', "
                    "and save to --out (one file), --out-dir (a batch) or over the input (--in-place). "
                    "Several files bake in parallel child processes.")
    k.add_argument("blends", nargs="*", metavar="BLEND", help=".blend files or globs")
    where = k.add_mutually_exclusive_group()
    where.add_argument("--out", help="the baked .blend (one input)")
    where.add_argument("--out-dir", help="where the baked files go (same names)")
    where.add_argument("--in-place", action="store_true", help="save over each input (Blender keeps a .blend1)")
    k.add_argument("--armature", action="append", metavar="NAME", help="only this armature (repeat for more)")
    k.add_argument("--nla", action="store_true", help="bake to an NLA strip instead of the active action")
    _batch_options(k, "files")

    n = sub.add_parser(
        "bench", help="run the benchmark (engine/eval/benchmark.py: EVAL.md edits, long runs, speed)",
        description="The project's benchmark, in the engine interpreter (python -m engine.eval.benchmark, same "
                    "options). Clips: every BVH under ../shared/motions plus --clips. Writes "
                    "OUT/benchmark.json and OUT/benchmark.md.")
    benchmark.add_arguments(n)
    n.add_argument("--python", help="interpreter with torch for the benchmark (default: this one)")
    n.add_argument("--json", action="store_true", help="print the summary as JSON")

    e = sub.add_parser("export", help="export a generator's network to ONNX",
                       description="Write the per-frame network of a .mdna generator as ONNX (opset 17) through "
                                   "the engine worker; the DNA and decoding stay in the .mdna (docs/engine.md).")
    e.add_argument("--generator", required=True, help="generator file (.mdna)")
    e.add_argument("--out", required=True, help="ONNX file to write (.onnx)")
    e.add_argument("--python", help="interpreter with torch for the engine worker (default: this one)")
    e.add_argument("--json", action="store_true", help="print the result as JSON")

    i = sub.add_parser("info", help="what a .mdna generator holds (no torch needed)",
                       description="Print each generator's metadata: skeleton, fps, frames, DNA summary, network, "
                                   "build info, size, format version and source hash.")
    i.add_argument("generators", nargs="+", metavar="GENERATOR", help=".mdna files")
    i.add_argument("--joints", action="store_true", help="list every joint name")
    i.add_argument("--json", action="store_true", help="print the metadata as JSON")

    d = sub.add_parser("demo", help="the whole product on the bundled clip (writes out/demo.*)")
    d.add_argument("--clip", help="BVH clip (default: the bundled CMU jumping jacks)")
    d.add_argument("--out-dir", default="out", help="where demo.blend, demo.bvh and demo.png go")
    d.add_argument("--python", help="interpreter with torch for the engine worker")
    for name, sp in sub.choices.items():
        sp.set_defaults(_parser=sp)
    return p


# -- plumbing -----------------------------------------------------------------------------

def _ensure_registered():
    """Under ``python -m`` nothing has registered the add-on's properties yet; inside Blender
    (``blender --command``) the enabled extension already has."""
    import bpy
    if not hasattr(bpy.types.Object, "mdna"):
        import importlib
        importlib.import_module(EXTENSION_PACKAGE).register()


def reset_scene():
    """An empty scene, so a batch command starts from the same state every time. Loads the
    factory startup file but keeps the preferences (and so the enabled extensions)."""
    import bpy
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True, load_ui=False)


def _load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None


def _need_file(path, what):
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such {what}")
    return path


# -- build --------------------------------------------------------------------------------

def cmd_build(args):
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
        settings["threads"] = args.threads
    return settings


def _build_one(args):
    from ..io import bvh_io
    from ..scene import build, store
    _need_file(args.clip, "clip")
    reset_scene()
    armature, _, _ = bvh_io.import_bvh(args.clip)
    bar = ProgressBar("training")
    started = time.perf_counter()
    try:
        info = build.build_generator(armature, settings=_settings(args), on_progress=bar, python=args.python)
    finally:
        bar.close()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    store.save_bytes(armature, args.out)
    info.update(out=os.path.abspath(args.out), size_bytes=os.path.getsize(args.out),
                wall_seconds=round(time.perf_counter() - started, 3))
    return info, (f"built {args.out} ({info['size_bytes'] / 1024:.0f} KB) in {info['wall_seconds']:.1f} s "
                  f"(training {info.get('train_seconds', float('nan')):.2f} s)")


def _build_batch(args):
    from . import batch
    items = batch.plan(batch.expand_inputs(args.clips, args.list, (".bvh",)), args.out_dir, ".mdna")
    batch.mark_finished(items, batch.valid_generator, args.force)
    jobs = args.jobs or batch.default_jobs()
    settings = _settings(args)

    def describe(item):
        i = item.info
        return f"{i['size_bytes'] / 1024:.0f} KB, {i.get('num_codes', '?')} codes" if "size_bytes" in i else ""
    return _run_batch(items, jobs, "building",
                      lambda overall, j: batch.run_builds(items, j, args.python, settings, overall), describe)


def _run_batch(items, jobs, label, run, describe):
    """Run a batch, then the summary: (info, table) for main; the exit code rides in info."""
    from . import batch
    jobs = max(1, min(jobs, sum(1 for i in items if i.status == batch.PENDING) or 1))
    bar = ProgressBar(label)
    overall = batch.Overall(items, bar)
    started = time.perf_counter()
    cancelled = False
    try:
        run(overall, jobs)
    except KeyboardInterrupt:
        cancelled = True
    finally:
        bar.close()
    wall = time.perf_counter() - started
    info = {"items": [i.to_dict() for i in items], "summary": batch.summary(items, wall, jobs)}
    code = EXIT_CANCELLED if cancelled else batch.exit_code(items)
    return _WithExit(info, code), batch.table(items, wall, jobs, describe)


class _WithExit(dict):
    """A result dict that also carries the exit code (a batch may partly fail)."""

    def __init__(self, info, code):
        super().__init__(info)
        self.exit_code = code


# -- generate -----------------------------------------------------------------------------

def cmd_generate(args):
    from ...engine.io import generator_file
    from ...engine.motion import targets as engine_targets
    from ...engine.motion.metrics import metres_per_unit
    from ...engine.generator.runtime import Generator
    from ..io import armature_io, bvh_io
    from ..scene.bake import target_errors
    _need_file(args.clip, "clip")
    data = _load_json(args.targets) if args.targets else {"targets": []}  # bad JSON: fail before importing
    generator = Generator.load(args.generator)
    reset_scene()
    armature, template, mapping = bvh_io.import_bvh(args.clip)
    skeleton = armature_io.skeleton_from_armature(armature)
    generator_file.check_compatible(generator.meta, skeleton)
    source = armature_io.read_motion(armature)
    targets = engine_targets.parse_targets(data, generator.skeleton, source.num_frames,
                                           transform=lambda p: bvh_io.file_to_armature_points(mapping, p))
    started = time.perf_counter()
    motion = generator.generate(targets=targets, num_frames=source.num_frames)
    seconds = time.perf_counter() - started
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    bvh_io.export_bvh(args.out, motion, template, mapping)
    units_per_cm = 0.01 / metres_per_unit(source.skeleton, source.translations)  # EVAL.md scaling
    errors_cm = [e / units_per_cm for e in target_errors(motion, targets)]
    info = {"out": os.path.abspath(args.out), "frames": motion.num_frames, "targets": len(targets),
            "target_errors_cm": [round(e, 3) for e in errors_cm], "generate_seconds": round(seconds, 4)}
    msg = f"wrote {args.out}: {motion.num_frames} frames, {len(targets)} target(s)"
    if errors_cm:
        msg += f", max target error {max(errors_cm):.2f} cm (span-scaled)"
    return info, msg


# -- bake ---------------------------------------------------------------------------------

def cmd_bake(args):
    from .. import api
    from . import batch
    if not (args.out or args.out_dir or args.in_place):
        raise UsageError("say where the results go: --out FILE (one input), --out-dir DIR or --in-place")
    inputs = batch.expand_inputs(args.blends, args.list, (".blend",))
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
        batch.mark_finished(items, batch.valid_blend, args.force)
    jobs = args.jobs or batch.default_jobs()

    def bake_here(item):
        return api.bake_blend(item.input, out=None if args.in_place else item.output, in_place=args.in_place,
                              armatures=args.armature, as_nla=args.nla)

    def child_argv(item):
        argv = ["bake", item.input, "--jobs", "1", "--force", "--json"]
        argv += ["--in-place"] if args.in_place else ["--out", item.output]
        for name in args.armature or []:
            argv += ["--armature", name]
        return argv + (["--nla"] if args.nla else [])

    def run(overall, j):
        if j == 1:
            batch.run_in_process(items, bake_here, overall)
        else:  # a child per file: a crash on one file fails that file, not the batch
            batch.run_children(items, j, child_argv, overall)

    def describe(item):
        arms = item.info.get("armatures", [])
        return ", ".join(f"{a['name']}: {a['targets']} target(s)" + (f", {len(a['skipped'])} skipped" if a["skipped"] else "")
                         for a in arms)
    return _run_batch(items, jobs, "baking", run, describe)


# -- bench, export, info ------------------------------------------------------------------

def cmd_bench(args):
    from ..scene import prefs
    from .. import worker_client
    methods = None
    if args.methods is not None:
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
        unknown = [m for m in methods if m not in BENCH_METHODS]
        if unknown or not methods:
            raise UsageError(f"--methods: unknown {', '.join(unknown) or 'empty list'}; choose from {', '.join(BENCH_METHODS)}")
    if args.generator_settings:
        try:
            json.loads(args.generator_settings)
        except json.JSONDecodeError as e:
            raise UsageError(f"--generator-settings is not valid JSON ({e})") from None
    clips = [os.path.abspath(_need_file(c, "clip")) for c in args.clips]
    out = os.path.abspath(args.out)
    python = worker_client.find_engine_python(args.python or prefs.configured_python())
    argv = [python, "-m", "engine.eval.benchmark", "--out", out, "--edits", str(args.edits), "--seed", str(args.seed)]
    if clips:
        argv += ["--clips", *clips]
    if args.quick:
        argv.append("--quick")
    if methods:
        argv += ["--methods", ",".join(methods)]
    if args.no_shared:
        argv.append("--no-shared")
    if args.generator_settings:
        argv += ["--generator-settings", args.generator_settings]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=worker_client.ROOT, env=_engine_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail = []
    try:
        for line in proc.stdout:  # the benchmark's progress lines, as they come
            sys.stderr.write(line)
            tail = (tail + [line.rstrip()])[-8:]
        code = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        raise
    if code != 0:
        raise BenchFailed("the benchmark failed: " + " | ".join(t for t in tail if t))
    report_path = os.path.join(out, "benchmark.json")
    if not os.path.isfile(report_path):  # no clips: the benchmark says so and writes nothing
        raise ValueError("the benchmark ran no clips (../shared/motions is absent and no --clips given)")
    with open(report_path) as f:
        report = json.load(f)
    info = {"out": out, "json": report_path, "markdown": os.path.join(out, "benchmark.md"),
            "wall_seconds": round(time.perf_counter() - started, 3), "notes": report.get("notes", []),
            "summary": report.get("summary", {})}
    return info, _bench_text(info)


class BenchFailed(RuntimeError):
    pass


def _engine_env():
    from .. import worker_client
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (worker_client.ROOT, env.get("PYTHONPATH")) if p)
    return env


def _bench_text(info):
    lines = [f"benchmark: {info['json']} and {info['markdown']} ({info['wall_seconds']:.1f} s)"]
    for method, s in info["summary"].items():
        if isinstance(s, dict):
            err, skate = s.get("target_error_cm_mean"), s.get("foot_skate_delta")
            lines.append(f"  {method:10s} target error {_fmt(err)} cm, foot skate delta {_fmt(skate)}")
    return "\n".join(lines)


def _fmt(x):
    return f"{x:.2f}" if isinstance(x, (int, float)) else "n/a"


def cmd_export(args):
    from .. import api
    _need_file(args.generator, "generator file")
    if not args.out.lower().endswith(".onnx"):
        raise UsageError(f"--out should be an .onnx file, got '{args.out}'")
    started = time.perf_counter()
    info = dict(api.export_onnx(args.generator, args.out, python=args.python))
    info["wall_seconds"] = round(time.perf_counter() - started, 3)
    return info, (f"wrote {args.out} ({info['size_bytes'] / 1024:.0f} KB, opset {info['opset']}, "
                  f"inputs dev {info['inputs']['dev']}, cond {info['inputs']['cond']})")


def cmd_info(args):
    from .. import api
    infos = [api.generator_file_info(_need_file(p, "generator file")) for p in args.generators]
    if not args.joints:
        for i in infos:
            i["skeleton"] = {k: v for k, v in i["skeleton"].items() if k != "names"}
    text = "\n\n".join(_info_text(i, args.joints) for i in infos)
    return (infos[0] if len(infos) == 1 else infos), text


def _info_text(i, joints):
    s, d, n, b = i["skeleton"], i["dna"], i["network"], i["build"]
    lines = [
        f"{i['path']}",
        f"  format       motiondna.generator v{i['format_version']}, {i['size_bytes'] / 1024:.0f} KB",
        f"  source       {i['source_name']}  sha256 {i['source_hash'][:16]}…",
        f"  clip         {i['frames']} frames at {i['fps']:.3f} fps ({i['duration_s']:.2f} s)",
        f"  skeleton     {s['joints']} joints, root {s['root']}, up {s['up_axis']}",
        f"  DNA          {d['num_codes']} codes (rebuilds joints within {_fmt(d['code_error_cm'])} cm"
        + (f", low-pass {1000 * d['code_smooth_s']:.0f} ms" if d.get("code_smooth_s") is not None else "") + "), "
        f"speed {_fmt(d['speed_mean_m_s'])} m/s (p95 {_fmt(d['speed_p95_m_s'])}), "
        f"rhythm {_fmt(d['rhythm_period_s'])} s, loops to frame {d['loop_to']}"
        + (f" from frame {d['loop_from']}" if d.get("loop_from") not in (None, i["frames"] - 1) else "")
        + (f" (every other cycle to {d['restart_to']})" if d.get("restart_to") != d["loop_to"] else ""),
        f"  effectors    {', '.join(d['effectors'])}",
        f"  network      {n['parameters']} parameters, hidden {n['hidden']}, {n['deviation_dims']} deviation dims, "
        f"target slots {', '.join(n['target_slots'])}",
        f"  build        {b.get('steps')} steps in {_fmt(b.get('train_seconds'))} s on {b.get('device')}, "
        f"torch {b.get('torch')}, python {b.get('python')}, {b.get('created')}",
    ]
    if joints:
        lines.append(f"  joints       {', '.join(s['names'])}")
    return "\n".join(lines)


def cmd_demo(args):
    from . import demo
    return demo.run(clip=args.clip, out_dir=args.out_dir, python=args.python)


COMMANDS = {"build": cmd_build, "generate": cmd_generate, "bake": cmd_bake, "bench": cmd_bench,
            "export": cmd_export, "info": cmd_info, "demo": cmd_demo}


# -- entry points -------------------------------------------------------------------------

def main(argv=None):
    """Run the CLI on ``argv`` (default: sys.argv[1:]); returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: --help (0) or bad arguments (2)
        return int(e.code or 0)
    from ...engine.io.fileformat import FormatError
    from .. import worker_client
    _ensure_registered()
    try:
        with stdout_to_stderr():  # importers and Blender print chatter; stdout is for results
            info, message = COMMANDS[args.command](args)
    except UsageError as e:
        args._parser.print_usage(sys.stderr)
        print(f"motiondna {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (worker_client.Cancelled, KeyboardInterrupt):
        print("motiondna: cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    except (worker_client.WorkerError, worker_client.WorkerDied, worker_client.EngineUnavailable,
            BenchFailed, TimeoutError) as e:
        print(f"motiondna: engine failed: {e}", file=sys.stderr)
        return EXIT_ENGINE
    except (ValueError, KeyError, FormatError, OSError) as e:
        print(f"motiondna: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    if getattr(args, "json", False):
        print(json.dumps(info, indent=1))
    else:
        print(message)
    sys.stdout.flush()
    return getattr(info, "exit_code", EXIT_OK)


def _blender_command(argv):
    """``blender --command motiondna ARGS``: Blender passes the arguments after the id."""
    return main(list(argv))


def register_command():
    """``blender --command motiondna ...`` (Blender 4.2+)."""
    global _cli_handle
    import bpy
    if hasattr(bpy.utils, "register_cli_command"):
        _cli_handle = bpy.utils.register_cli_command("motiondna", _blender_command)


def unregister_command():
    global _cli_handle
    import bpy
    if _cli_handle is not None and hasattr(bpy.utils, "unregister_cli_command"):
        bpy.utils.unregister_cli_command(_cli_handle)
    _cli_handle = None


_cli_handle = None
