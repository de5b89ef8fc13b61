"""``motiondna from-text``: a generator for a text prompt on a rig file or on an armature in a .blend."""
import os

import bpy

from ...engine.library import backends
from ...engine.library import fromtext as engine_fromtext
from ...engine.library import mapping as bone_mapping
from ..library import fromtext
from .common import ProgressBar, UsageError, need_file, output_file


def add_parser(subparsers):
    f = subparsers.add_parser(
        "from-text", help="find or generate a motion for a prompt, retarget it onto a rig, build its generator",
        description="Ask a backend for a motion for PROMPT (default: the best starter-library clip), retarget "
                    "it onto the rig and build its generator. On a rig file: --rig RIG.bvh --out GEN.mdna "
                    "(the engine in this process; --bvh-out writes the retargeted clip). On an armature: "
                    "--blend FILE --armature NAME (a new action <description>.fromtext, the generator built in "
                    "the engine worker and stored in the armature; --save OUT.blend keeps it, --out also exports "
                    "the .mdna).")
    f.add_argument("prompt", metavar="PROMPT", help='what the motion is, e.g. "jumping jacks"')
    f.add_argument("--rig", help="a BVH whose skeleton is the target rig (its motion is ignored)")
    f.add_argument("--blend", help="a .blend holding the target armature")
    f.add_argument("--armature", help="the armature object in --blend")
    f.add_argument("--out", help="the generator file to write (.mdna)")
    f.add_argument("--save", metavar="BLEND", help="with --blend: save the file with the new action and generator here")
    f.add_argument("--bvh-out", metavar="BVH", help="with --rig: also write the retargeted clip")
    f.add_argument("--library", action="append", default=[], metavar="INDEX",
                   help="library index files to search (default: the starter library)")
    f.add_argument("--seed", type=int, default=0, help="picks among the best matches (library) or seeds the model")
    f.add_argument("--duration", type=float, metavar="S", help="the length asked of a model backend (seconds)")
    f.add_argument("--mapping", metavar="JSON", help="a saved bone mapping {target bone: source bone} to use")
    f.add_argument("--backend-url", metavar="URL", help="a text-to-motion server (docs/library.md: POST prompt, "
                                                          "duration, seed; joints, SMPL or BVH back)")
    f.add_argument("--backend-command", metavar="TEMPLATE",
                   help="a command with {prompt} {duration} {seed} {out} that writes {out} (.npy joints)")
    f.add_argument("--backend-python", metavar="MODULE:FUNCTION", help="a Python entry point returning a motion")
    f.add_argument("--json", action="store_true", help="print the report as JSON")
    return f


def _backend(args):
    chosen = [x for x in (args.backend_url, args.backend_command, args.backend_python) if x]
    if len(chosen) > 1:
        raise UsageError("give one of --backend-url, --backend-command, --backend-python")
    if args.backend_url:
        return backends.HttpBackend(args.backend_url)
    if args.backend_command:
        return backends.CommandBackend(args.backend_command)
    if args.backend_python:
        return backends.PythonBackend(args.backend_python)
    paths = [need_file(p if p.endswith(".json") else p + ".json", "library index") for p in args.library]
    return backends.LibraryBackend(engine_fromtext.load_library(paths))


def run(args):
    if bool(args.rig) == bool(args.blend):
        raise UsageError("give --rig RIG.bvh --out GEN.mdna, or --blend FILE --armature NAME")
    mapping = bone_mapping.load_mapping(need_file(args.mapping, "bone mapping")) if args.mapping else None
    try:
        backend = _backend(args)
    except backends.BackendError as e:
        raise ValueError(str(e)) from None
    try:
        if args.rig:
            return _on_rig(args, backend, mapping)
        return _on_armature(args, backend, mapping)
    except backends.BackendError as e:
        raise ValueError(str(e)) from None


def _on_rig(args, backend, mapping):
    if not args.out:
        raise UsageError("--rig needs --out GEN.mdna")
    rig = need_file(args.rig, "rig file")
    out = output_file(args.out, rig=rig)
    bar = ProgressBar("from-text", quiet_s=0.5)
    try:
        report = engine_fromtext.generator_from_text(
            args.prompt, rig, out, backend=backend, duration=args.duration, seed=args.seed, mapping=mapping,
            bvh_out=args.bvh_out, progress=lambda f, m="": bar({"fraction": f}))
    finally:
        bar.close()
    return report, _text(report, report["generator"])


def _on_armature(args, backend, mapping):
    if not args.armature:
        raise UsageError("--blend needs --armature NAME")
    bpy.ops.wm.open_mainfile(filepath=need_file(args.blend, ".blend file"))
    arm = bpy.data.objects.get(args.armature)
    if arm is None or arm.type != 'ARMATURE':
        names = [o.name for o in bpy.data.objects if o.type == 'ARMATURE']
        raise ValueError(f"{args.blend} has no armature '{args.armature}' (armatures: {', '.join(names) or 'none'})")
    bar = ProgressBar("from-text", quiet_s=0.5)
    try:
        report = fromtext.generator_from_text(arm, args.prompt, backend=backend, seed=args.seed, mapping=mapping,
                                              on_progress=bar)
    finally:
        bar.close()
    report["armature"] = arm.name
    if args.out:
        from .. import api
        report["generator"] = api.save_generator(arm, output_file(args.out, blend=args.blend))
    if args.save:
        path = os.path.abspath(args.save)
        bpy.ops.wm.save_as_mainfile(filepath=path, check_existing=False, copy=True)
        report["saved"] = path
    report.pop("mapping", None)
    return report, _text(report, report.get("generator") or report.get("saved") or arm.name)


def _text(report, where):
    return (f"'{report['prompt']}': {report.get('description')} ({report['source']}), {report['frames']} frames, "
            f"{report['mapped_bones']} bones mapped, scale {report['scale']:.3f} -> {where}")
