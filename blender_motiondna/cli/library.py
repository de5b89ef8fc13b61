"""``motiondna library index``: build or update a motion library index (numpy; no Blender scene)."""
import os

from ...engine.library import index as library_index
from ..library import files as blender_files
from .common import UsageError


def add_parser(subparsers):
    lib = subparsers.add_parser(
        "library", help="motion library indexes (library index PATH... --out INDEX)",
        description="Motion libraries for search and from-text. 'library index PATH... --out INDEX.json' reads "
                    "every BVH (.bvh, .bvh.gz), AMASS .npz, FBX and glTF (these through Blender's importers) under "
                    "the paths, with their descriptions (descriptions.csv / .json sidecars, the CMU trial index, "
                    "else the file name) and motion features, and writes INDEX.json and INDEX.npy; an existing "
                    "index is updated, reading only the files that changed.")
    sub = lib.add_subparsers(dest="library_command", required=True, metavar="ACTION")
    i = sub.add_parser("index", help="index motion files", description="Index (or update the index of) motion files.")
    i.add_argument("paths", nargs="+", metavar="PATH", help="motion files or folders (searched recursively)")
    i.add_argument("--out", required=True, help="the index to write or update (.json; .npy beside it)")
    i.add_argument("--rebuild", action="store_true", help="read every file again, ignoring the existing index")
    i.add_argument("--json", action="store_true", help="print the counts as JSON")
    return lib


def run(args):
    if args.library_command != "index":
        raise UsageError(f"unknown library action {args.library_command}")
    out = args.out if args.out.endswith(".json") else args.out + ".json"
    previous = None
    if os.path.isfile(out) and not args.rebuild:
        previous = library_index.Index.load(out)
    index, stats = library_index.update_index(args.paths, previous, readers=blender_files.READERS)
    index.save(out)
    stats = dict(stats, index=os.path.abspath(out), entries=len(index),
                 skipped_files=[{"path": p, "reason": r} for p, r in index.skipped])
    text = (f"{out}: {len(index)} clips ({stats['read']} read, {stats['reused']} unchanged, "
            f"{stats['skipped']} skipped) in {stats['seconds']:.1f} s")
    for p, r in index.skipped:
        text += f"\n  skipped {p}: {r}"
    return stats, text
