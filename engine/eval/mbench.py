"""MBench's motion quality (the ViMoGen paper; SMPLCap/ViMoGen ``mbench/motion_quality.py``)
on any rig, as docs/evaluation.md 'Motion quality (MBench)' states it.

Re-implemented from the published definitions with MBench's thresholds; everything is
read from world joint positions in metres after the span scaling (``metrics.track``),
resampled to 30 fps, so every "per frame" below is a 1/30 s step and the thresholds
mean what they mean in MBench's metres:

- **jitter degree** (m/frame²): mean over joints and frames of |p[f+2] - 2 p[f+1] + p[f]|,
  plus the same of the positions relative to the root;
- **ground penetration** (m): over all foot samples deeper than 5 mm below the ground,
  their mean depth (0 when none is);
- **foot sliding** (m/frame): per foot, its mean horizontal step over the frames in
  contact (a step under 0.01 m, or a height under 0.02 m above the ground); the mean of
  the feet;
- **foot floating** (share of frames): frames where the planted feet move with the
  wrong speed against the root (foot step > 0.12 mm and its root-relative step under
  0.6 x, or over 1.75 x, the root's step; the root moving at least 1 mm/frame), plus,
  per foot and over the number of feet, the airborne frames whose root-relative step is
  under 0.4 x the root's (in airborne runs of at least 4 frames where the root moves on
  at least half the frames), plus whole airborne runs (every foot off, at least 4
  frames) in which the left foot's direction from its take-off point swings back and
  forth (more than 2 peaks of its angle to the landing direction);
- **dynamic degree** (m/frame): mean over joints and frames of |p[f+1] - p[f]|, plus the
  same of the positions relative to the root.

Where MBench reads SMPL's 22 joints, this module maps them to roles found on any rig:

- MBench's feet (SMPL joints 10 and 11, the toe bases) are ``metrics.contact_feet`` of
  the source clip: the lowest foot/toe/ankle joint per side, plus the joints of other
  limbs that stand on the ground in the clip (a quadruped's front feet, a crab's legs);
  with one foot found the foot measures use that one, with none they are NaN;
- MBench's floor (height 0, Z up) is ``metrics.ground_height`` of the source clip (its
  5th percentile of foot heights), in the clip's own up axis; horizontal is the plane
  across that axis;
- MBench's root (joint 0, the pelvis) is ``metrics.body_root``;
- MBench's joints (all 22, the root included) are ``metrics.body_joints``: the body
  root and the joints below it, less fingers, end sites and twist helpers;
- MBench divides its airborne-glide count by 2 (its two feet); here by the number of
  feet found. Its whole-body airborne runs are the runs where every found foot is off.

A generated motion is judged on its source's footing (scale, feet and ground): a body
that sinks into the source's floor shows it, even where its own lowest 5 % would not.
MBench counts per frame at its models' own rate; the 30 fps here makes clips at any
rate comparable with each other, and with MBench's figures only for 30 fps motions.
"""
from dataclasses import dataclass

import numpy as np

from ..motion import metrics

FPS = 30.0
NAMES = ("jitter_degree", "ground_penetration", "foot_sliding", "foot_floating", "dynamic_degree")
UNITS = {"jitter_degree": "m/frame²", "ground_penetration": "m", "foot_sliding": "m/frame",
         "foot_floating": "share of frames", "dynamic_degree": "m/frame"}

PENETRATION_TOLERANCE = 0.005   # m below the ground
CONTACT_STEP = 0.01             # m per frame: a slower foot is in contact
CONTACT_HEIGHT = 0.02           # m above the ground: a lower foot is in contact
ROOT_STILL = 0.001              # m per frame: a slower root is standing still
FOOT_MOVING = 1.2e-4            # m per frame: a faster foot (or root) moves
CARRIED_RATE = 0.6              # planted foot's root-relative step / root step below this: carried along
FLUNG_RATE = 1.75               # ... above this: thrown about
GLIDING_RATE = 0.4              # airborne foot's ratio below this: it glides with the body
MIN_RUN = 4                     # frames: shorter airborne runs are not judged
WOBBLE_PEAKS = 2                # more peaks than this in an airborne run: it wobbles
RATIO_EPSILON = 1e-6            # m per frame, MBench's guard against a still root


@dataclass(frozen=True)
class Footing:
    """What the measures take from the source clip: its scale, feet and ground."""
    scale: float        # metres per skeleton unit (span 1.70 m)
    num_joints: int
    feet: tuple         # foot joints, named left and right first (metrics.contact_feet)
    ground: float       # m, the source's ground height (metrics.ground_height)
    root: int           # metrics.body_root
    joints: tuple       # metrics.body_joints
    up_axis: int


def footing(source):
    """The source clip's ``Footing`` (docs/evaluation.md 'Units and frames')."""
    skeleton = source.skeleton
    scale = metrics.metres_per_unit(skeleton, source.translations)
    trk = metrics.track(source, scale)
    feet = tuple(metrics.contact_feet(skeleton, trk.positions, source.fps))
    return Footing(scale, skeleton.num_joints, feet, metrics.ground_height(trk, list(feet)), trk.root,
                   tuple(metrics.body_joints(skeleton)), skeleton.up_axis)


def positions_at_30fps(motion, scale):
    """(F30, J, 3) world joint positions of ``motion`` in metres (``scale`` metres per unit), at 30 fps."""
    trk = metrics.track(motion, scale)
    return metrics.resample(trk.positions, trk.fps, FPS)


def motion_quality(motion, source=None):
    """{name: value} of the five MBench measures of ``motion``, on the footing of ``source``
    (default: ``motion`` itself), in the units of ``UNITS``."""
    base = footing(motion if source is None else source)
    return quality_on(motion, base)


def compare(generated, source):
    """{name: (generated value, source value)}: ``generated`` and ``source`` measured alike,
    both on the source's footing. For the benchmark and the Blender quality report."""
    base = footing(source)
    ours, theirs = quality_on(generated, base), quality_on(source, base)
    return {name: (ours[name], theirs[name]) for name in NAMES}


def quality_on(motion, base):
    """``motion_quality`` of ``motion`` on a prepared ``Footing``."""
    if motion.skeleton.num_joints != base.num_joints:
        raise ValueError("the motion's skeleton does not match the source clip's")
    positions = positions_at_30fps(motion, base.scale)
    return scores(positions, base.root, base.feet, base.ground, base.up_axis, base.joints)


def scores(positions, root, feet, ground, up_axis=2, joints=None):
    """The five measures of 30 fps world positions (F, J, 3) in metres.

    ``root``: the pelvis joint; ``feet``: foot joints, left first; ``ground``: the floor
    height (m) along ``up_axis``; ``joints``: those averaged over (default: all).
    MBench's own input is ``scores(smpl_joints, 0, [10, 11], 0.0, 2)``."""
    p = np.asarray(positions, dtype=np.float64)
    joints = list(range(p.shape[1])) if joints is None else list(joints)
    out = {"jitter_degree": jitter_degree(p, root, joints), "dynamic_degree": dynamic_degree(p, root, joints)}
    out.update(foot_scores(p, root, list(feet), ground, up_axis))
    return {name: out[name] for name in NAMES}


def jitter_degree(positions, root, joints):
    """Mean |second difference| of the joints, global plus root-relative (m/frame²)."""
    return _global_plus_local(positions, root, joints, order=2)


def dynamic_degree(positions, root, joints):
    """Mean |first difference| of the joints, global plus root-relative (m/frame)."""
    return _global_plus_local(positions, root, joints, order=1)


def _global_plus_local(positions, root, joints, order):
    if len(positions) <= order:
        return float("nan")
    world = positions[:, joints]
    local = world - positions[:, root:root + 1]
    return _mean_difference(world, order) + _mean_difference(local, order)


def _mean_difference(x, order):
    return float(np.linalg.norm(np.diff(x, n=order, axis=0), axis=-1).mean())


def foot_scores(positions, root, feet, ground, up_axis):
    """Ground penetration, foot sliding and foot floating; NaN without feet or frames to step."""
    if not feet or len(positions) < 2:
        return {"ground_penetration": float("nan"), "foot_sliding": float("nan"), "foot_floating": float("nan")}
    foot = positions[:, feet]
    heights = foot[..., up_axis] - ground
    contact = foot_contact(foot, heights)
    return {"ground_penetration": ground_penetration(heights),
            "foot_sliding": foot_sliding(foot, contact, up_axis),
            "foot_floating": foot_floating(foot, positions[:, root], contact)}


def steps(x):
    """Per-frame steps along axis 0, the last one repeated so every frame has one (MBench's
    padding: the last frame moves as the one before it)."""
    d = np.diff(x, axis=0)
    return np.concatenate([d, d[-1:]], axis=0)


def foot_contact(foot, heights):
    """(F, K) contact: the foot's step is under 1 cm or it is under 2 cm above the ground."""
    return (np.linalg.norm(steps(foot), axis=-1) < CONTACT_STEP) | (heights < CONTACT_HEIGHT)


def ground_penetration(heights):
    """Mean depth of the foot samples more than 5 mm below the ground (m); 0 when none is."""
    below = heights[heights < -PENETRATION_TOLERANCE]
    return float(-below.mean()) if below.size else 0.0


def foot_sliding(foot, contact, up_axis):
    """Mean over the feet of each foot's mean horizontal step while in contact (m/frame);
    a foot never in contact slides 0, as in MBench."""
    horizontal = np.linalg.norm(np.delete(steps(foot), up_axis, axis=-1), axis=-1)
    frames = contact.sum(axis=0)
    per_foot = np.where(frames > 0, (horizontal * contact).sum(axis=0) / np.maximum(frames, 1), 0.0)
    return float(per_foot.mean())


def foot_floating(foot, root, contact):
    """MBench's foot floating: the share of frames judged floating (see the module docstring)."""
    root_step = np.linalg.norm(steps(root), axis=-1)
    foot_step = np.linalg.norm(steps(foot), axis=-1)
    relative_step = np.linalg.norm(steps(foot - root[:, None]), axis=-1)
    # The ratio of a foot's motion relative to the body to the body's own motion: about 1
    # for a planted foot (the body moves over it), about 0 for a foot carried along.
    rate = relative_step / (root_step[:, None] + RATIO_EPSILON)
    floating = (misplanted_frames(contact, rate, foot_step, root_step)
                + gliding_airborne_frames(contact, rate, root_step >= ROOT_STILL)
                + wobbling_airborne_frames(foot[:, 0], contact))
    return float(floating / len(root))


def misplanted_frames(contact, rate, foot_step, root_step):
    """Frames where the root moves and every foot in contact moves in the world at a
    root-relative rate under 0.6 (carried along) or over 1.75 (flung about)."""
    off_rate = (rate < CARRIED_RATE) | ((rate > FLUNG_RATE) & (root_step[:, None] > FOOT_MOVING))
    wrong = off_rate & (foot_step > FOOT_MOVING)
    judged = (root_step >= ROOT_STILL) & contact.any(axis=1)
    return int(np.sum(judged & (wrong | ~contact).all(axis=1)))


def gliding_airborne_frames(contact, rate, moving):
    """Airborne frames at a root-relative rate under 0.4, counted in each foot's airborne
    runs of at least 4 frames where the root moves on at least half the frames; the sum
    over the feet divided by their number."""
    total = 0
    for k in range(contact.shape[1]):
        for start, end in true_runs(~contact[:, k]):
            if end - start + 1 < MIN_RUN or np.mean(~moving[start:end + 1]) > 0.5:
                continue
            total += int(np.sum(rate[start:end + 1, k] < GLIDING_RATE))
    return total / contact.shape[1]


def wobbling_airborne_frames(foot, contact):
    """The frames of whole-body airborne runs (no foot in contact, at least 4 frames) in
    which ``foot`` (F, 3) swings: its angle, seen from its take-off point, to its landing
    point has more than 2 peaks."""
    total = 0
    for start, end in true_runs(~contact.any(axis=1)):
        if end - start + 1 < MIN_RUN:
            continue
        angles = angles_between(foot[start + 1:end + 1] - foot[start], foot[end] - foot[start])
        if count_peaks(angles) > WOBBLE_PEAKS:
            total += end - start + 1
    return total


def angles_between(vectors, direction):
    """Angles (radians) between each of ``vectors`` (N, 3) and ``direction`` (3,), each
    normalised with MBench's 1e-6 guard (a zero vector makes 90 degrees)."""
    a = vectors / (np.linalg.norm(vectors, axis=-1, keepdims=True) + RATIO_EPSILON)
    b = direction / (np.linalg.norm(direction) + RATIO_EPSILON)
    return np.arccos(np.clip(a @ b, -1.0, 1.0))


def count_peaks(x):
    """Local maxima of a 1-D sequence as ``scipy.signal.find_peaks`` finds them without
    options: higher than the sample before and the first lower sample after (a flat top
    counts once; the ends never count)."""
    x = np.asarray(x)
    count, i, last = 0, 1, len(x) - 1
    while i < last:
        if x[i - 1] < x[i]:
            ahead = i + 1
            while ahead < last and x[ahead] == x[i]:
                ahead += 1
            if x[ahead] < x[i]:
                count += 1
                i = ahead
        i += 1
    return count


def true_runs(mask):
    """(start, end) of every run of True in a 1-D boolean array, both ends included."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], np.asarray(mask, dtype=np.int8), [0]])))
    return [(int(s), int(e) - 1) for s, e in zip(edges[::2], edges[1::2])]
