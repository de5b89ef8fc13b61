"""docs/evaluation.md retiming edits: the event happens when asked.

For each hand and foot, the two frames T0 in [0.25 L, 0.75 L] where its extension peaks
(the distance of its root-relative position from its median root-relative position, a
local maximum within +-0.3 s) are asked at T = T0 + d, d in {-0.4, -0.2, +0.2, +0.4} s,
at the joint's world position at T0 (p*). Per edit: target error, local style distance
(T +- 1 s), jitter ratio, foot skate, timing error (the seconds between T and the frame
within +-0.6 s where the joint comes closest to p*), the offset closed (the share of the
replayed source's distance to p* at T the output closes) and, for |d| = 0.4 s, **event
moved** (p* met within 2 cm at T, and the joint at least 10 cm from p* throughout
T0 +- 0.1 s: the clip's own event does not stay behind as a ghost).

Columns: the benchmark's methods (replay, IK warp, source + refinement, the generator),
the time warp (engine/eval/timewarp.py) and the generator's own output before
refinement ('generator_unrefined'), whose offset closed is the generator's "closed
before refinement".
"""
import time

import numpy as np

from ..motion.targets import Target
from . import goals as goals_mod
from . import scoring, timewarp

OFFSETS_S = (-0.4, -0.2, 0.2, 0.4)
QUICK_OFFSETS_S = (-0.4, 0.4)
PEAK_RANGE = (0.25, 0.75)
PEAK_RADIUS_S = 0.3
PEAKS_PER_JOINT = 2
TIMING_SEARCH_S = 0.6
MOVED_OFFSET_S = 0.4
MET_CM = 2.0
GHOST_CM = 10.0
GHOST_HALF_S = 0.1
PARTS = ("hand", "foot")

GOALS = [
    goals_mod.Goal("event moved >= 80 % of the +-0.4 s edits", "event_moved_share", ">=", 0.8, fmt="{:.0%}"),
    goals_mod.Goal("target error mean <= 1 cm", "target_error_cm_mean", "<=", 1.0),
    goals_mod.Goal("target error p95 <= 3 cm", "target_error_cm_p95", "<=", 3.0),
    goals_mod.Goal("local style <= 0.8 x the time warp's", "local_style_distance_cm", "<=",
                   lambda s: 0.8 * s["timewarp"]["local_style_distance_cm"] if "timewarp" in s else float("nan")),
    goals_mod.Goal("jitter ratio <= 1.1", "jitter_ratio", "<=", 1.1),
    goals_mod.Goal("foot skate <= source + 0.01", "foot_skate_delta", "<=", 0.01, fmt="{:+.3f}"),
    goals_mod.Goal("closed before refinement >= 70 %", "offset_closed_share", ">=", 0.7, fmt="{:.0%}",
                   of=lambda m: "generator_unrefined" if m == "generator" else None),
]


# ---------------------------------------------------------------------------------------
# edits

def extension(ref, joint):
    """(F,) the distance of the joint's root-relative position from its median (m)."""
    rel = scoring.root_relative(ref.track, joint)
    return np.linalg.norm(rel - np.median(rel, axis=0), axis=-1)


def extension_peaks(ext, fps, count=PEAKS_PER_JOINT, span=PEAK_RANGE, radius_s=PEAK_RADIUS_S):
    """The ``count`` highest local maxima of ``ext`` (each the largest within +-``radius_s``)
    in [span[0] L, span[1] L], in frame order."""
    F = len(ext)
    r = max(1, int(round(radius_s * fps)))
    padded = np.concatenate([np.full(r, -np.inf), ext, np.full(r, -np.inf)])
    local_max = np.lib.stride_tricks.sliding_window_view(padded, 2 * r + 1).max(axis=1)
    lo, hi = int(np.ceil(span[0] * (F - 1))), int(np.floor(span[1] * (F - 1)))
    candidates = [f for f in range(lo, hi + 1) if ext[f] >= local_max[f]]
    picked = []
    for f in sorted(candidates, key=lambda f: (-ext[f], f)):  # a plateau gives one peak
        if all(abs(f - g) > r for g in picked):
            picked.append(f)
        if len(picked) == count:
            break
    return sorted(picked)


def make_edits(ref, offsets_s=OFFSETS_S, peaks=PEAKS_PER_JOINT):
    """The retiming edits of a clip: every hand and foot, its extension peaks, every d."""
    motion, fps = ref.motion, ref.motion.fps
    edits = []
    for part in PARTS:
        for key, j in scoring.effector_joints(ref, part).items():
            for t0 in extension_peaks(extension(ref, j), fps, peaks):
                goal = ref.track.positions[t0, j]
                for d in offsets_s:
                    t = t0 + int(round(d * fps))
                    if not 0 <= t < motion.num_frames:
                        continue
                    edits.append({"index": len(edits), "effector": key, "joint": int(j), "t0": int(t0), "frame": int(t),
                                  "d_s": float(d), "target_m": goal.tolist(),
                                  "targets": [Target(j, [t], ref.to_units(goal)[None])]})
    return edits


# ---------------------------------------------------------------------------------------
# scores

def score_edit(ref, motion, edit):
    """docs/evaluation.md retiming scores of one output."""
    trk = ref.track_of(motion)
    if not np.all(np.isfinite(trk.positions)):
        return {"finite": False, "index": edit["index"], "d_s": edit["d_s"]}
    j, t, t0, goal = edit["joint"], edit["frame"], edit["t0"], np.asarray(edit["target_m"])
    error = scoring.distance_cm(trk, j, t, goal)
    search = scoring.frames_within(trk.num_frames, t, trk.fps, TIMING_SEARCH_S)
    closest = search[int(np.argmin(np.linalg.norm(trk.positions[search, j] - goal, axis=-1)))]
    ghost = scoring.frames_within(trk.num_frames, t0, trk.fps, GHOST_HALF_S)
    ghost_cm = float(100.0 * np.linalg.norm(trk.positions[ghost, j] - goal, axis=-1).min())
    moved = None
    if abs(abs(edit["d_s"]) - MOVED_OFFSET_S) < 1e-9:
        moved = bool(error <= MET_CM and ghost_cm >= GHOST_CM)
    return {"finite": True, "index": edit["index"], "d_s": edit["d_s"],
            "target_error_cm": error,
            "offset_cm": scoring.distance_cm(ref.track, j, t, goal),
            "timing_error_s": float(abs(closest - t) / trk.fps),
            "ghost_distance_cm": ghost_cm, "event_moved": moved,
            "local_style_distance_cm": scoring.local_style_cm(ref, trk, t),
            "jitter_ratio": ref.jitter_ratio(trk),
            "foot_skate_delta": ref.skate_delta(trk)}


def summarise_rows(rows):
    """One method's summary over its edit rows (of one clip or of every clip)."""
    ok = [r for r in rows if r.get("finite")]
    errors = [r["target_error_cm"] for r in ok]
    moved = [r["event_moved"] for r in ok if r["event_moved"] is not None]
    return {"edits": len(rows), "finite_share": scoring.mean([float(bool(r.get("finite"))) for r in rows]),
            "target_error_cm_mean": scoring.mean(errors), "target_error_cm_p95": scoring.p95(errors),
            "event_moved_share": scoring.mean([float(m) for m in moved]),
            "timing_error_s_mean": scoring.mean([r["timing_error_s"] for r in ok]),
            "offset_closed_share": scoring.offset_closed_share([r["offset_cm"] for r in ok], errors),
            "local_style_distance_cm": scoring.mean([r["local_style_distance_cm"] for r in ok]),
            "jitter_ratio": scoring.mean([r["jitter_ratio"] for r in ok]),
            "foot_skate_delta": scoring.mean([r["foot_skate_delta"] for r in ok]),
            "seconds_per_edit": scoring.median([r.get("seconds") for r in rows])}


def columns(ref, built):
    """{column: fn(edit) -> Motion}: the benchmark's methods, the time warp, the unrefined generator."""
    out = {name: (lambda e, fn=fn: fn(e["targets"])) for name, fn in scoring.offline_methods(built).items()}
    out["timewarp"] = lambda e: timewarp.time_warp(ref.motion, e["t0"], e["frame"])
    return out


def run(ref, built, quick=False):
    """The retiming protocol on one clip: {"edits": [...], "methods": {column: {"per_edit", "summary"}}}."""
    edits = make_edits(ref, QUICK_OFFSETS_S if quick else OFFSETS_S, 1 if quick else PEAKS_PER_JOINT)
    out = {"edits": [{k: v for k, v in e.items() if k != "targets"} for e in edits], "methods": {}}
    for name, fn in columns(ref, built).items():
        rows = []
        for e in edits:
            t0 = time.perf_counter()
            motion = fn(e)
            took = time.perf_counter() - t0
            rows.append(dict(score_edit(ref, motion, e), seconds=took))
        out["methods"][name] = {"per_edit": rows, "summary": summarise_rows(rows)}
    return out


# ---------------------------------------------------------------------------------------
# across clips and the report

def summarise(clips):
    """Pooled summaries over every clip's edits, each goal judged, and the share of clips meeting it."""
    results = [c["retiming"] for c in clips if "retiming" in c]
    if not results:
        return {}
    names = sorted({m for r in results for m in r["methods"]}, key=scoring.column_order)
    pooled = {m: summarise_rows([row for r in results if m in r["methods"] for row in r["methods"][m]["per_edit"]])
              for m in names}
    per_clip = [{m: r["methods"][m]["summary"] for m in r["methods"]} for r in results]
    return {"clips": len(results), "methods": pooled, "goals": goals_mod.judge_all(GOALS, pooled),
            "clip_shares": goals_mod.share_of_clips(GOALS, per_clip)}


ROWS = [("edits", "edits", "{:d}"),
        ("target error mean (cm)", "target_error_cm_mean", "{:.2f}"),
        ("target error p95 (cm)", "target_error_cm_p95", "{:.2f}"),
        ("event moved, |d| = 0.4 s", "event_moved_share", "{:.0%}"),
        ("timing error (s)", "timing_error_s_mean", "{:.3f}"),
        ("offset closed", "offset_closed_share", "{:.0%}"),
        ("local style, T +- 1 s (cm)", "local_style_distance_cm", "{:.2f}"),
        ("jitter ratio", "jitter_ratio", "{:.3f}"),
        ("foot skate (gen - source)", "foot_skate_delta", "{:+.3f}"),
        ("seconds per edit (median)", "seconds_per_edit", "{:.3f}")]


def to_markdown(summary, clips, table):
    """The report's retiming section; ``table(title, columns, rows, get)`` writes a table."""
    if not summary:
        return []
    names = list(summary["methods"])
    lines = [f"## Retiming edits across clips ({summary['clips']} clips)", "",
             "Hands and feet at their extension peaks T0, asked at T = T0 + d (d = +-0.2, +-0.4 s) at their "
             "position at T0. 'generator_unrefined' is the generator before refinement: its offset closed is "
             "the generator's closed before refinement.", ""]
    lines += table("metric", names, ROWS, lambda m, k: summary["methods"][m].get(k)) + [""]
    lines += goals_mod.tables(GOALS, summary, names, table)
    lines += ["### Retiming per clip", ""]
    per = [("target error mean (cm)", "target_error_cm_mean", "{:.2f}"), ("event moved", "event_moved_share", "{:.0%}"),
           ("local style (cm)", "local_style_distance_cm", "{:.2f}"), ("timing error (s)", "timing_error_s_mean", "{:.3f}")]
    got = {c["name"]: c["retiming"]["methods"] for c in clips if "retiming" in c}
    for label, key, fmt in per:
        rows = [(name, name, fmt) for name in got]
        lines += table(label, names, rows, lambda m, k, key=key: got[k].get(m, {}).get("summary", {}).get(key)) + [""]
    return lines
