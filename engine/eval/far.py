"""docs/evaluation.md far targets: offsets of 50, 100 and 150 cm at T uniform in
[0.3 L, 0.7 L], on the root (the pelvis), hands, feet and head; horizontal for the root
and the feet, any direction for hands and head (a target that would lie below the
ground is mirrored above it).

Per edit: target error, local style distance (T +- 1 s), jitter ratio, foot skate,
**lift** (the mean over the frames within +-1 s of T of how much higher the lower foot
is than in the source, cm) and the offset closed (the share of the offset the output
closes; the generator's own output before refinement, column 'generator_unrefined',
gives its "closed before refinement"). Clips whose root travels at least 1 m from where
it starts are summarised apart from the clips that stay in place.
"""
import time
import zlib

import numpy as np

from ..motion.targets import Target
from . import goals as goals_mod
from . import scoring

OFFSETS_CM = (50, 100, 150)
WINDOW = (0.3, 0.7)
REPEATS = 2
TRAVEL_M = 1.0
PARTS = ("root", "hand", "foot", "head")
HORIZONTAL_PARTS = ("root", "foot")

GOALS = [
    goals_mod.Goal("root target error <= 5 cm at every offset (mean)", "root_target_error_cm_worst_offset", "<=", 5.0),
    goals_mod.Goal("root edits: foot skate <= source + 0.01", "root_foot_skate_delta", "<=", 0.01, fmt="{:+.3f}"),
    goals_mod.Goal("closed before refinement >= 70 %", "offset_closed_share", ">=", 0.7, fmt="{:.0%}",
                   of=lambda m: "generator_unrefined" if m == "generator" else None),
]


# ---------------------------------------------------------------------------------------
# edits

def targeted_joints(ref):
    """[(part, effector key, joint)]: the pelvis as 'root', then hands, feet and head."""
    out = [("root", "root", scoring.pelvis(ref))]
    for part in PARTS[1:]:
        out += [(part, key, j) for key, j in scoring.effector_joints(ref, part).items()]
    return out


def direction(rng, horizontal, up_axis):
    """A uniformly random unit vector, in the horizontal plane when ``horizontal``."""
    while True:
        v = rng.normal(size=3)
        if horizontal:
            v[up_axis] = 0.0
        n = np.linalg.norm(v)
        if n > 1e-6:
            return v / n


def make_edits(ref, seed, repeats=REPEATS, offsets_cm=OFFSETS_CM):
    """``repeats`` seeded edits per targeted joint and offset."""
    rng = np.random.default_rng([int(seed), zlib.crc32(ref.motion.name.encode()), 20])
    L, up = ref.motion.num_frames, ref.track.up_axis
    edits = []
    for part, key, j in targeted_joints(ref):
        for r_cm in offsets_cm:
            for _ in range(int(repeats)):
                t = int(np.clip(round(rng.uniform(*WINDOW) * (L - 1)), 0, L - 1))
                offset = direction(rng, part in HORIZONTAL_PARTS, up) * r_cm / 100.0
                goal = ref.track.positions[t, j] + offset
                if goal[up] < ref.ground:  # mirrored above the ground
                    goal[up] = ref.track.positions[t, j, up] - offset[up]
                edits.append({"index": len(edits), "part": part, "effector": key, "joint": int(j), "frame": t,
                              "r_cm": int(r_cm), "target_m": goal.tolist(),
                              "targets": [Target(j, [t], ref.to_units(goal)[None])]})
    return edits


# ---------------------------------------------------------------------------------------
# scores

def score_edit(ref, motion, edit):
    """docs/evaluation.md far-target scores of one output."""
    base = {"index": edit["index"], "part": edit["part"], "r_cm": edit["r_cm"]}
    trk = ref.track_of(motion)
    if not np.all(np.isfinite(trk.positions)):
        return dict(base, finite=False)
    j, t, goal = edit["joint"], edit["frame"], np.asarray(edit["target_m"])
    return dict(base, finite=True,
                target_error_cm=scoring.distance_cm(trk, j, t, goal),
                offset_cm=scoring.distance_cm(ref.track, j, t, goal),
                local_style_distance_cm=scoring.local_style_cm(ref, trk, t),
                lift_cm=scoring.lift_cm(ref, trk, t),
                jitter_ratio=ref.jitter_ratio(trk),
                foot_skate_delta=ref.skate_delta(trk))


def summarise_rows(rows):
    """One method's summary over edit rows: over all of them, the root's apart, per offset."""
    ok = [r for r in rows if r.get("finite")]
    root = [r for r in ok if r["part"] == "root"]
    out = _figures(ok)
    out.update(edits=len(rows), finite_share=scoring.mean([float(bool(r.get("finite"))) for r in rows]),
               seconds_per_edit=scoring.median([r.get("seconds") for r in rows]))
    for part in PARTS:
        out[f"{part}_target_error_cm_mean"] = scoring.mean([r["target_error_cm"] for r in ok if r["part"] == part])
    for r_cm in OFFSETS_CM:
        out[f"target_error_cm_mean_{r_cm}"] = scoring.mean([r["target_error_cm"] for r in ok if r["r_cm"] == r_cm])
        out[f"root_target_error_cm_mean_{r_cm}"] = scoring.mean([r["target_error_cm"] for r in root if r["r_cm"] == r_cm])
    per_offset = [out[f"root_target_error_cm_mean_{r}"] for r in OFFSETS_CM]
    out["root_target_error_cm_worst_offset"] = max((v for v in per_offset if np.isfinite(v)), default=float("nan"))
    out["root_foot_skate_delta"] = scoring.mean([r["foot_skate_delta"] for r in root])
    return out


def _figures(ok):
    errors = [r["target_error_cm"] for r in ok]
    return {"target_error_cm_mean": scoring.mean(errors), "target_error_cm_p95": scoring.p95(errors),
            "offset_closed_share": scoring.offset_closed_share([r["offset_cm"] for r in ok], errors),
            "local_style_distance_cm": scoring.mean([r["local_style_distance_cm"] for r in ok]),
            "lift_cm": scoring.mean([r["lift_cm"] for r in ok]),
            "jitter_ratio": scoring.mean([r["jitter_ratio"] for r in ok]),
            "foot_skate_delta": scoring.mean([r["foot_skate_delta"] for r in ok])}


def run(ref, built, seed, quick=False):
    """The far-target protocol on one clip: {"travel_m", "travelling", "edits", "methods"}."""
    edits = make_edits(ref, seed, repeats=1 if quick else REPEATS)
    travel = scoring.travel_m(ref)
    out = {"travel_m": travel, "travelling": bool(travel >= TRAVEL_M),
           "edits": [{k: v for k, v in e.items() if k != "targets"} for e in edits], "methods": {}}
    for name, fn in scoring.offline_methods(built).items():
        rows = []
        for e in edits:
            t0 = time.perf_counter()
            motion = fn(e["targets"])
            took = time.perf_counter() - t0
            rows.append(dict(score_edit(ref, motion, e), seconds=took))
        out["methods"][name] = {"per_edit": rows, "summary": summarise_rows(rows)}
    return out


# ---------------------------------------------------------------------------------------
# across clips and the report

GROUPS = (("all clips", lambda r: True), ("travelling clips (root >= 1 m)", lambda r: r["travelling"]),
          ("in-place clips", lambda r: not r["travelling"]))


def summarise(clips):
    """Per group of clips (all, travelling, in place): pooled summaries, goals, share of clips meeting each."""
    results = [c["far"] for c in clips if "far" in c]
    if not results:
        return {}
    out = {}
    for label, keep in GROUPS:
        group = [r for r in results if keep(r)]
        if not group or (out and len(group) == len(results)):  # a group that is every clip is "all clips"
            continue
        names = sorted({m for r in group for m in r["methods"]}, key=scoring.column_order)
        pooled = {m: summarise_rows([row for r in group if m in r["methods"] for row in r["methods"][m]["per_edit"]])
                  for m in names}
        per_clip = [{m: r["methods"][m]["summary"] for m in r["methods"]} for r in group]
        out[label] = {"clips": len(group), "methods": pooled, "goals": goals_mod.judge_all(GOALS, pooled),
                      "clip_shares": goals_mod.share_of_clips(GOALS, per_clip)}
    return out


ROWS = ([("edits", "edits", "{:d}"),
         ("target error mean (cm)", "target_error_cm_mean", "{:.2f}"),
         ("target error p95 (cm)", "target_error_cm_p95", "{:.2f}")]
        + [(f"target error at {r} cm (cm)", f"target_error_cm_mean_{r}", "{:.2f}") for r in OFFSETS_CM]
        + [(f"{p} target error (cm)", f"{p}_target_error_cm_mean", "{:.2f}") for p in PARTS]
        + [(f"root target error at {r} cm (cm)", f"root_target_error_cm_mean_{r}", "{:.2f}") for r in OFFSETS_CM]
        + [("offset closed", "offset_closed_share", "{:.0%}"),
           ("local style, T +- 1 s (cm)", "local_style_distance_cm", "{:.2f}"),
           ("lift (cm)", "lift_cm", "{:.2f}"),
           ("jitter ratio", "jitter_ratio", "{:.3f}"),
           ("foot skate (gen - source)", "foot_skate_delta", "{:+.3f}"),
           ("root edits: foot skate (gen - source)", "root_foot_skate_delta", "{:+.3f}"),
           ("seconds per edit (median)", "seconds_per_edit", "{:.3f}")])


def to_markdown(summary, clips, table):
    """The report's far-target section; ``table(title, columns, rows, get)`` writes a table."""
    if not summary:
        return []
    lines = ["## Far targets across clips", "",
             "Offsets of 50/100/150 cm at T in [0.3 L, 0.7 L] on the pelvis ('root'), hands, feet and head. "
             "'generator_unrefined' is the generator before refinement: its offset closed is the generator's "
             "closed before refinement.", ""]
    travel = ", ".join(f"{c['name']} {c['far']['travel_m']:.1f} m" for c in clips if "far" in c)
    lines += [f"Root travel in the source: {travel}.", ""]
    for label, s in summary.items():
        names = list(s["methods"])
        lines += [f"### Far targets, {label} ({s['clips']})", ""]
        lines += table("metric", names, ROWS, lambda m, k, s=s: s["methods"][m].get(k)) + [""]
        lines += goals_mod.tables(GOALS, s, names, table)
    lines += ["### Far targets per clip", ""]
    names = list(summary["all clips"]["methods"])
    got = {c["name"]: c["far"]["methods"] for c in clips if "far" in c}
    for label, key, fmt in [("target error mean (cm)", "target_error_cm_mean", "{:.2f}"),
                            ("root target error (cm)", "root_target_error_cm_mean", "{:.2f}"),
                            ("lift (cm)", "lift_cm", "{:.2f}"), ("local style (cm)", "local_style_distance_cm", "{:.2f}")]:
        rows = [(name, name, fmt) for name in got]
        lines += table(label, names, rows, lambda m, k, key=key: got[k].get(m, {}).get("summary", {}).get(key)) + [""]
    return lines
