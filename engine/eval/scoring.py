"""Scores shared by the retiming, far-target and streaming protocols (docs/evaluation.md),
computed from world joint positions against a ``metrics.Reference``.

Effector lookup for these protocols lives here (``effector_joints``, ``pelvis``), on
``Reference.effectors``, so that a rig-independent effector finder changes one place.
"""
import numpy as np

from ..motion import metrics, quat


def effector_joints(ref, part):
    """{effector key: joint} of the reference's effectors whose key names ``part``
    ('hand', 'foot', 'head'), in key order."""
    return {k: j for k, j in sorted(ref.effectors.items()) if part in k}


def pelvis(ref):
    """The root of docs/evaluation.md's far targets: the pelvis (the body root below static helper roots)."""
    return metrics.body_root(ref.skeleton)


def local_style_cm(ref, trk, frame, seconds=1.0):
    """docs/evaluation.md local style distance around ``frame`` (cm): the style distance
    over the 30 fps windows that overlap [T - seconds, T + seconds]. The same figure as
    ``Reference.local_style_distance_cm``, matching only those windows."""
    points = metrics.style_points(trk)
    size = metrics.STYLE_WINDOW
    keep = metrics.local_windows(max(len(points) - size + 1, 0), frame, trk.fps, seconds)
    if len(keep) == 0:
        return float("nan")
    lo, hi = int(keep[0]), int(keep[-1])
    near = metrics.windows(points[lo:hi + size], size)
    d = metrics.nearest_rms(near, ref.style_windows, size * points.shape[1])
    return float(100.0 * np.mean(d))


def distance_cm(trk, joint, frame, point):
    """|p_joint(frame) - point| in cm; ``point`` in metres."""
    return float(100.0 * np.linalg.norm(trk.positions[frame, joint] - point))


def root_relative(trk, joint):
    """(F, 3) the joint's position relative to the body root, in the root's heading frame (m)."""
    rel = trk.positions[:, joint] - trk.positions[:, trk.root]
    return quat.mul_vec(quat.inv(trk.heading), rel)


def frames_within(num_frames, frame, fps, seconds):
    """The frames of [frame - seconds, frame + seconds] inside the clip."""
    half = int(round(seconds * fps))
    return np.arange(max(0, frame - half), min(num_frames, frame + half + 1))


def lift_cm(ref, trk, frame, seconds=1.0):
    """docs/evaluation.md lift: the mean over the frames within +-``seconds`` of ``frame`` of
    how much higher the lower foot is than the source's lower foot (cm)."""
    if not ref.feet:
        return float("nan")
    frames = frames_within(min(trk.num_frames, ref.track.num_frames), frame, trk.fps, seconds)
    low = trk.heights(ref.feet)[frames].min(axis=1)
    source_low = ref.track.heights(ref.feet)[frames].min(axis=1)
    return float(100.0 * np.mean(low - source_low))


def offset_closed_share(offsets_cm, residuals_cm):
    """The share of the offsets that the outputs close, pooled: sum(offset - residual) / sum(offset)
    (1: every target met; 0: no closer than the replayed source; below 0: farther)."""
    total = float(np.sum(offsets_cm))
    return float(np.sum(np.asarray(offsets_cm) - np.asarray(residuals_cm)) / total) if total > 0 else float("nan")


def travel_m(ref):
    """How far the body root gets from where it starts, horizontally, over the source (m)."""
    p = ref.track.positions[:, ref.track.root].copy()
    p[:, ref.track.up_axis] = 0.0
    return float(np.linalg.norm(p - p[0], axis=-1).max())


def mean(values):
    """Mean of the finite values, NaN when there are none."""
    values = [float(v) for v in values if v is not None and np.isfinite(float(v))]
    return float(np.mean(values)) if values else float("nan")


def median(values):
    """Median of the finite values, NaN when there are none."""
    values = [float(v) for v in values if v is not None and np.isfinite(float(v))]
    return float(np.median(values)) if values else float("nan")


def p95(values):
    values = [float(v) for v in values if v is not None and np.isfinite(float(v))]
    return float(np.percentile(values, 95)) if values else float("nan")


def offline_methods(built):
    """{column: fn(targets) -> Motion} for the offline protocols, from the benchmark's
    built methods (each with ``edit(targets)``); the generator adds its own output
    before refinement as the column 'generator_unrefined'."""
    out = {name: method.edit for name, method in built.items()}
    if "generator" in built:
        gen = built["generator"].generator
        out["generator_unrefined"] = lambda targets: gen.generate(targets=targets, refine=False)
    return out


COLUMN_ORDER = ("replay", "timewarp", "ikwarp", "refined_source", "refined_stream", "generator", "generator_unrefined",
                "generator_stream")


def column_order(name):
    """Sort key: the baselines first, then the generator's columns, then anything else by name."""
    return (COLUMN_ORDER.index(name) if name in COLUMN_ORDER else len(COLUMN_ORDER), name)
