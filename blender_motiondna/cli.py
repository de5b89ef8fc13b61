"""The MotionDNA command line: ``python -m blender_motiondna ...`` with the bpy module, and
``blender --command motiondna ...`` in a real Blender (registered on add-on load).

Exit codes: 0 done, 1 bad input (file, clip, targets), 2 bad arguments, 3 engine failure
(worker could not start, crashed, or training failed), 130 cancelled."""
import argparse
import contextlib
import json
import os
import sys
import time

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_ENGINE, EXIT_CANCELLED = 0, 1, 2, 3, 130


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


def _parser():
    p = argparse.ArgumentParser(prog="motiondna", description="Build and run per-clip motion generators.")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build a generator from a BVH clip",
                       description="Import CLIP with Blender's BVH importer and build a generator (.mdna).")
    b.add_argument("--clip", required=True, help="input BVH clip")
    b.add_argument("--out", required=True, help="generator file to write (.mdna)")
    b.add_argument("--steps", type=int, default=0, help="training steps (0: engine default)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--python", help="interpreter with torch for the engine worker (default: this one)")
    b.add_argument("--json", action="store_true", help="print the result as JSON")

    g = sub.add_parser("generate", help="regenerate a clip under joint targets",
                       description="Regenerate CLIP's full length under TARGETS and write a BVH with the "
                                   "input's joints, hierarchy, axes, units and frame rate.")
    g.add_argument("--generator", required=True, help="generator file (.mdna)")
    g.add_argument("--clip", required=True, help="the BVH clip the generator was built from (or one with the same skeleton)")
    g.add_argument("--targets", help='TARGETS.json: {"targets": [{"joint", "frame", "position"}, ...]}; '
                                     "positions in the input file's coordinates; omit for none")
    g.add_argument("--out", required=True, help="output BVH")
    g.add_argument("--json", action="store_true", help="print the result as JSON")

    d = sub.add_parser("demo", help="the whole product on the bundled clip (writes out/demo.*)")
    d.add_argument("--clip", help="BVH clip (default: the bundled CMU jumping jacks)")
    d.add_argument("--out-dir", default="out", help="where demo.blend, demo.bvh and demo.png go")
    d.add_argument("--python", help="interpreter with torch for the engine worker")
    return p


@contextlib.contextmanager
def _stdout_to_stderr():
    """Send everything written to stdout (Python and C level) to stderr meanwhile."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _ensure_registered():
    """Under ``python -m`` nothing has registered the add-on's properties yet; inside Blender
    (``blender --command``) the enabled extension already has."""
    import bpy
    if not hasattr(bpy.types.Object, "mdna"):
        import importlib
        importlib.import_module(__package__.rpartition(".")[0]).register()


def reset_scene():
    """An empty scene, so a batch command starts from the same state every time."""
    import bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)


def _load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None


def cmd_build(args):
    from . import bvh_io, build, store
    reset_scene()
    armature, _, _ = bvh_io.import_bvh(args.clip)
    settings = {"seed": args.seed}
    if args.steps:
        settings["steps"] = args.steps
    bar = ProgressBar("training")
    started = time.perf_counter()
    try:
        info = build.build_generator(armature, settings=settings, on_progress=bar, python=args.python)
    finally:
        bar.close()
    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    store.save_bytes(armature, args.out)
    info.update(out=os.path.abspath(args.out), size_bytes=os.path.getsize(args.out),
                wall_seconds=round(time.perf_counter() - started, 3))
    return info, (f"built {args.out} ({info['size_bytes'] / 1024:.0f} KB) in {info['wall_seconds']:.1f} s "
                  f"(training {info.get('train_seconds', float('nan')):.2f} s)")


def cmd_generate(args):
    from ..engine import targets as engine_targets
    from ..engine.runtime import Generator
    from ..engine import generator_file
    from . import armature_io, bvh_io
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
    bvh_io.export_bvh(args.out, motion, template, mapping)
    from .bake import target_errors
    from ..engine.metrics import metres_per_unit
    units_per_cm = 0.01 / metres_per_unit(source.skeleton, source.translations)  # EVAL.md scaling
    errors_cm = [e / units_per_cm for e in target_errors(motion, targets)]
    info = {"out": os.path.abspath(args.out), "frames": motion.num_frames, "targets": len(targets),
            "target_errors_cm": [round(e, 3) for e in errors_cm], "generate_seconds": round(seconds, 4)}
    msg = f"wrote {args.out}: {motion.num_frames} frames, {len(targets)} target(s)"
    if errors_cm:
        msg += f", max target error {max(errors_cm):.2f} cm (span-scaled)"
    return info, msg


def cmd_demo(args):
    from . import demo
    return demo.run(clip=args.clip, out_dir=args.out_dir, python=args.python)


COMMANDS = {"build": cmd_build, "generate": cmd_generate, "demo": cmd_demo}


def main(argv=None):
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: --help (0) or bad arguments (2)
        return int(e.code or 0)
    from ..engine.fileformat import FormatError
    from . import worker_client
    _ensure_registered()
    try:
        with _stdout_to_stderr():  # importers and Blender print chatter; stdout is for results
            info, message = COMMANDS[args.command](args)
    except worker_client.Cancelled:
        print("motiondna: cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    except (worker_client.WorkerError, worker_client.WorkerDied, worker_client.EngineUnavailable) as e:
        print(f"motiondna: engine failed: {e}", file=sys.stderr)
        return EXIT_ENGINE
    except (ValueError, KeyError, FormatError, FileNotFoundError, OSError) as e:
        print(f"motiondna: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    if getattr(args, "json", False):
        print(json.dumps(info, indent=1))
    else:
        print(message)
    return EXIT_OK


def _blender_command(argv):
    return main(argv)


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
