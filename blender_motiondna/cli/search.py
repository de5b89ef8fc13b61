"""``motiondna search``: motion library entries for a text prompt (numpy; no Blender scene)."""
from ...engine.library import fromtext
from ...engine.library import search as library_search
from .common import need_file


def add_parser(subparsers):
    s = subparsers.add_parser(
        "search", help="find library motions for a text prompt",
        description="Rank the motion library for PROMPT by a text embedding (WordLlama, offline) and BM25 on its "
                    "words. The library is the bundled starter library (47 CMU clips) and the CMU trial index "
                    "(2,435 trials: those not shipped are listed with where to fetch them), or the index files "
                    "given with --library (motiondna library index).")
    s.add_argument("prompt", metavar="PROMPT", help='what the motion is, e.g. "a boxer throws punches"')
    s.add_argument("--library", action="append", default=[], metavar="INDEX",
                   help="a library index (.json) to search instead of the starter library (repeatable)")
    s.add_argument("--top", type=int, default=10, help="how many results (default 10)")
    s.add_argument("--min-duration", type=float, metavar="S", help="drop clips shorter than S seconds")
    s.add_argument("--max-duration", type=float, metavar="S", help="drop clips longer than S seconds")
    s.add_argument("--rig", action="append", default=[], metavar="PRESET",
                   help="keep only clips on this rig (cmu, cmu_3dsmax, mixamo, smpl, rigify, rigify_metarig, unreal, "
                        "cc_iclone, lafan1, unknown; repeatable)")
    s.add_argument("--min-travel", type=float, metavar="M", help="keep clips that travel at least M metres")
    s.add_argument("--max-travel", type=float, metavar="M", help="keep clips that travel at most M metres")
    s.add_argument("--files-only", action="store_true", help="leave out CMU trials that are not in the library")
    s.add_argument("--json", action="store_true", help="print the results as JSON")
    return s


def run(args):
    paths = [need_file(p if p.endswith(".json") else p + ".json", "library index") for p in args.library]
    index = fromtext.load_library(paths, with_trials=not args.files_only)
    filters = library_search.Filters(args.min_duration, args.max_duration, tuple(args.rig), args.min_travel,
                                     args.max_travel, args.files_only)
    results = library_search.Searcher(index).search(args.prompt, top=args.top, filters=filters)
    rows = [dict(r.entry, score=round(r.score, 4), rank=r.rank) for r in results]
    return {"prompt": args.prompt, "results": rows}, _table(rows)


def _table(rows):
    if not rows:
        return "no results"
    lines = [f"{'#':>2}  {'score':>5}  {'dur s':>5}  {'rig':10s}  {'where':28s}  description"]
    for r in rows:
        where = r["path"] if r.get("kind") == "file" else f"CMU {r.get('trial')} (fetch)"
        where = where if len(where) <= 28 else "…" + where[-27:]
        dur = f"{r['duration']:5.1f}" if r.get("duration") else "    ?"
        lines.append(f"{r['rank']:>2}  {r['score']:5.2f}  {dur}  {r.get('rig', ''):10s}  {where:28s}  {r['description']}")
    return "\n".join(lines)
