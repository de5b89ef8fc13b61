"""Retargeting measured between the shared rigs and back (docs/library.md).

    python -m engine.eval.retarget_benchmark [--out out/retarget] [--frames 600]

Every clip of ../shared/motions (and the bundled jumping jacks) goes onto the rest skeleton
of every other rig there and onto data/library/rigs/mixamo_style.bvh (A-pose, Mixamo names),
then back onto its own rig. Per pair:

- effector direction error (degrees): the angle between the source's and the result's
  direction from the pelvis to each hand, foot and head, and from each limb's root
  (upper arm, thigh) to its hand or foot, the source's converted to the target's axes;
- foot skate (docs/evaluation.md, share of frames) of the result minus the source's;
- round trip (cm, at 1.70 m span): the source's joints against the clip sent to the
  other rig and back, over the mapped joints, root-relative;
- the lowest foot's height above the floor against the source's, scaled (cm).

Writes retarget.json, retarget.md and retarget.png (source grey, result blue) under --out.
"""
import argparse
import glob
import json
import os

import numpy as np

from ..library import clips, mapping, retarget
from ..motion import metrics

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "motions")
MIXAMO_STYLE = os.path.join(ROOT, "data", "library", "rigs", "mixamo_style.bvh")
BUNDLED = os.path.join(ROOT, "data", "jumping_jacks.bvh")
EFFECTORS = ("l_hand", "r_hand", "l_foot", "r_foot", "head")
LIMB_ROOTS = {"l_hand": "l_upper_arm", "r_hand": "r_upper_arm", "l_foot": "l_thigh", "r_foot": "r_thigh"}


def _unit(v):
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _angles(a, b):
    return np.degrees(np.arccos(np.clip(np.sum(_unit(a) * _unit(b), axis=-1), -1.0, 1.0)))


def direction_errors(source, result, axes):
    """Angles (degrees, all frames) between the source's and the result's directions, the
    source's in the target's axes: "limb": upper arm -> hand, thigh -> foot, neck -> head;
    "body": pelvis -> each hand, foot and head (these also move with the rigs' proportions:
    a hand hanging by the hip points sideways from the pelvis on broad shoulders)."""
    sp, tp = mapping.body_parts(source.skeleton), mapping.body_parts(result.skeleton)
    spos, tpos = source.positions(), result.positions()
    out = {"limb": [], "body": []}
    for e in EFFECTORS:
        for kind, base in (("limb", LIMB_ROOTS.get(e, "neck")), ("body", "pelvis")):
            if not all(p in sp and p in tp for p in (e, base)):
                continue
            ds = (spos[:, sp[e]] - spos[:, sp[base]]) @ axes.T
            dt = tpos[:, tp[e]] - tpos[:, tp[base]]
            out[kind].append(_angles(ds, dt))
    return {k: np.concatenate(v) for k, v in out.items()}


def skate(motion):
    trk = metrics.track(motion)
    feet = metrics.foot_joints(motion.skeleton, trk.positions)
    return metrics.foot_skate(trk, feet, metrics.ground_height(trk, feet))


def round_trip_cm(source, back, pairs):
    """Mean distance of the mapped joints, pelvis-relative (a rig whose rest stands the
    actor elsewhere, as Bandai Namco's, starts the round trip somewhere else)."""
    scale = metrics.metres_per_unit(source.skeleton, source.translations) * 100.0
    a, b = source.positions(), back.positions()
    js = [j for j, _ in pairs]
    pelvis = mapping.body_parts(source.skeleton)["pelvis"]
    ra = a[:, js] - a[:, [pelvis]]
    rb = b[:, js] - b[:, [pelvis]]
    return float(np.linalg.norm(ra - rb, axis=-1).mean() * scale)


def floor_error_cm(source, result, res):
    """Mean |lowest-foot height above the floor|, result vs source scaled, in cm at 1.70 m."""
    sp, tp = mapping.body_parts(source.skeleton), mapping.body_parts(result.skeleton)
    s_feet = [sp[p] for p in ("l_foot", "r_foot", "l_toe", "r_toe") if p in sp]
    t_feet = [tp[p] for p in ("l_foot", "r_foot", "l_toe", "r_toe") if p in tp]
    s_up = np.eye(3)[source.skeleton.up_axis]
    s_h = (source.positions()[:, s_feet] @ (res.axes.T @ np.eye(3)[result.skeleton.up_axis])).min(axis=1)
    t_h = result.positions()[:, t_feet][..., result.skeleton.up_axis].min(axis=1)
    del s_up
    s_h = (s_h - np.percentile(s_h, 5)) * res.scale
    t_h = t_h - np.percentile(t_h, 5)
    cm = metrics.metres_per_unit(result.skeleton, result.translations) * 100.0
    return float(np.abs(s_h - t_h).mean() * cm)


def clips_to_measure(frames):
    shared = sorted(glob.glob(os.path.join(SHARED, "*", "*.bvh")))
    # the bundled clip is the shared cmu_3dsmax/jumping_jacks.bvh: measured once
    paths = shared if any(os.path.basename(p) == os.path.basename(BUNDLED) for p in shared) else [BUNDLED] + shared
    out = []
    for p in paths:
        m = clips.read_clip(p)
        if m.num_frames > frames:
            m = m.slice(0, frames)
        out.append((os.path.relpath(p, os.path.dirname(ROOT)), m))
    return out


def standing_pose(motion):
    """The clip's first pose (hips at the origin) when its rest pose does not stand, else None."""
    parts = mapping.body_parts(motion.skeleton)
    rest = retarget.clip_offsets_skeleton(motion).rest_positions()
    up = np.eye(3)[motion.skeleton.up_axis]
    hips = rest[parts["r_thigh"]] - rest[parts["l_thigh"]]
    head = rest[parts["head"]] - rest[parts["pelvis"]]
    stands = np.linalg.norm(hips - np.dot(hips, up) * up) > 0.5 * np.linalg.norm(hips) and np.dot(head, up) > 0
    return None if stands else motion.rotations[0]


def rigs_to_measure(clip_list):
    seen, out = set(), []
    for name, m in clip_list:
        key = tuple(m.skeleton.names)
        if key not in seen:
            seen.add(key)
            out.append((name.split("/")[-2] if name.count("/") > 1 else "cmu_3dsmax", retarget.clip_offsets_skeleton(m),
                        standing_pose(m)))
    out.append(("mixamo_style", clips.read_clip(MIXAMO_STYLE).skeleton, None))
    return out


def measure(frames=600):
    clip_list = clips_to_measure(frames)
    rows = []
    for name, source in clip_list:
        for rig_name, rig, pose in rigs_to_measure(clip_list):
            if tuple(rig.names) == tuple(source.skeleton.names):
                continue
            res = retarget.retarget(source, rig, target_pose=pose)
            back = retarget.retarget(res.motion, retarget.clip_offsets_skeleton(source), target_pose=standing_pose(source))
            pairs = mapping.check_mapping(back.mapping, res.motion.skeleton, source.skeleton)
            pairs = [(k, j) for j, k in pairs]
            ang = direction_errors(source, res.motion, res.axes)
            rows.append({"clip": name, "rig": rig_name, "mapped": len(res.mapping),
                         "direction_mean_deg": round(float(ang["limb"].mean()), 2),
                         "direction_p95_deg": round(float(np.percentile(ang["limb"], 95)), 2),
                         "body_direction_mean_deg": round(float(ang["body"].mean()), 2),
                         "skate_source": round(skate(source), 3), "skate_result": round(skate(res.motion), 3),
                         "round_trip_cm": round(round_trip_cm(source, back.motion, pairs), 2),
                         "floor_cm": round(floor_error_cm(source, res.motion, res), 2)})
    return rows


def summary(rows):
    ang = np.array([r["direction_mean_deg"] for r in rows])
    p95 = np.array([r["direction_p95_deg"] for r in rows])
    skate_d = np.array([r["skate_result"] - r["skate_source"] for r in rows])
    trip = np.array([r["round_trip_cm"] for r in rows])
    floor = np.array([r["floor_cm"] for r in rows])
    body = np.array([r["body_direction_mean_deg"] for r in rows])
    return {"pairs": len(rows), "direction_mean_deg": round(float(ang.mean()), 2),
            "direction_mean_deg_max": round(float(ang.max()), 2),
            "body_direction_mean_deg": round(float(body.mean()), 2),
            "direction_p95_deg_median": round(float(np.median(p95)), 2),
            "skate_minus_source_mean": round(float(skate_d.mean()), 4),
            "skate_minus_source_max": round(float(skate_d.max()), 4),
            "round_trip_cm_mean": round(float(trip.mean()), 2), "round_trip_cm_max": round(float(trip.max()), 2),
            "floor_cm_mean": round(float(floor.mean()), 2)}


def markdown(rows, summ):
    lines = ["| clip | rig | bones | limb direction mean / p95 (deg) | pelvis -> effector (deg) | skate source -> result "
             "| round trip (cm) | floor (cm) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {os.path.basename(r['clip'])} | {r['rig']} | {r['mapped']} | {r['direction_mean_deg']} / "
                     f"{r['direction_p95_deg']} | {r['body_direction_mean_deg']} | {r['skate_source']} -> "
                     f"{r['skate_result']} | {r['round_trip_cm']} | "
                     f"{r['floor_cm']} |")
    lines.append("")
    lines.append("Summary: " + json.dumps(summ))
    return "\n".join(lines) + "\n"


def picture(path, pairs_to_draw):
    """Source (grey) and result (blue) side by side at a few frames, each in its own units."""
    import matplotlib  # lazy: only this picture needs it (as engine/eval/preview.py)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axs = plt.subplots(len(pairs_to_draw), 1, figsize=(14, 3.0 * len(pairs_to_draw)))
    for ax, (title, source, result, axes) in zip(np.atleast_1d(axs), pairs_to_draw):
        for shift, motion, colour, conv in ((0.0, source, "0.5", axes), (1.0, result, "tab:blue", np.eye(3))):
            skel = motion.skeleton
            scale = metrics.metres_per_unit(skel, motion.translations)
            pos = motion.positions() * scale @ conv.T
            up = result.skeleton.up_axis          # the source is drawn in the result's axes too
            side = 0 if up != 0 else 1
            floor = np.percentile(pos[..., up], 1)
            for n, f in enumerate(np.linspace(0, motion.num_frames - 1, 5).astype(int)):
                x = pos[f, :, side] - pos[f, skel.root, side] + n * 1.0 + shift * 5.5
                y = pos[f, :, up] - floor
                for j, parent in enumerate(skel.parents):
                    if parent >= 0:
                        ax.plot([x[parent], x[j]], [y[parent], y[j]], color=colour, lw=1.5)
        ax.set_title(title)
        ax.set_aspect("equal")
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "retarget"))
    ap.add_argument("--frames", type=int, default=600, help="clips are cut to this many frames")
    args = ap.parse_args(argv)
    if not os.path.isdir(SHARED):
        print(f"{SHARED} is absent: measuring on the bundled clip only")
    rows = measure(args.frames)
    summ = summary(rows)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "retarget.json"), "w", encoding="utf-8") as f:
        json.dump({"summary": summ, "rows": rows}, f, indent=1)
    md = markdown(rows, summ)
    with open(os.path.join(args.out, "retarget.md"), "w", encoding="utf-8") as f:
        f.write(md)
    print(md)
    rig = clips.read_clip(MIXAMO_STYLE).skeleton
    draw = []
    for clip in (BUNDLED, os.path.join(SHARED, "cmu_iclone_cc", "002_05_punch_strike.bvh")):
        if os.path.isfile(clip):
            src = clips.read_clip(clip)
            src = src.slice(0, min(src.num_frames, 300))
            res = retarget.retarget(src, rig)
            draw.append((f"{os.path.basename(clip)} -> mixamo_style (grey: source, blue: result)", src, res.motion, res.axes))
    picture(os.path.join(args.out, "retarget.png"), draw)


if __name__ == "__main__":
    main()
