"""The metrics of /shared/docs/evaluation.md, computed from world joint positions.

Everything is measured in metres after scaling the skeleton so that its span
(``Skeleton.span``) is 1.70 m, in the skeleton's own up axis, with 0-based frames and
rates per second. A ``Track`` holds what the metrics read from a clip: scaled world
positions (F, J, 3), the body root's heading (F, 4) and the frame rate; anyone can
build one from positions they trust (``Track(positions, heading, fps, up_axis)``).

``Reference`` prepares a source clip once (feet, ground, style windows, the source's
own foot skate and jitter) and scores outputs against it:
``edit_metrics`` for the edit benchmark, ``long_run_metrics`` for the long run.
"""
import re
from dataclasses import dataclass

import numpy as np

from . import limbs, quat
from .filters import uniform_filter1d

SPAN_METRES = 1.70
CONTACT_MARGIN = 0.05        # m above the ground
SKATE_SPEED = 0.5            # m/s
SKATE_AVERAGE_SECONDS = 0.25
STYLE_FPS = 30.0
STYLE_WINDOW = 15            # frames at STYLE_FPS (0.5 s)
STYLE_DISPLACEMENT_SECONDS = 0.1
COVERAGE_WINDOW = 30         # frames at STYLE_FPS (1 s)
COVERAGE_RADIUS = 0.05       # m, RMS window distance
STABLE_RATIO = 1.5
STABLE_FLOOR = 0.01          # m: a first tenth closer than this counts as this (see is_stable)


def metres_per_unit(skeleton, translations=None):
    """Scale that makes the skeleton's span 1.70 m (docs/evaluation.md 'Units').

    Pass the clip's ``translations`` so moving offsets (root motion) are not bones."""
    span = skeleton.span(translations)
    if not span > 0:
        raise ValueError("the skeleton has no length (a single joint, or all rest offsets zero); "
                         "a clip needs at least two joints apart to be measured in metres")
    return SPAN_METRES / span


# ---------------------------------------------------------------------------------------
# joint roles from names

_TOKEN = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_BODY_WORDS = {"hand", "foot", "toe", "toes", "ankle", "wrist", "arm", "forearm", "leg", "knee",
               "elbow", "hip", "shoulder", "shldr", "collar", "clavicle", "thigh", "shin", "calf",
               "eye", "heel", "fingers", "thumb", "buttock", "upleg", "upperarm", "ear"}
_FINGERS = re.compile(r"thumb|index|middle|mid|ring|pinky|finger|end|share|twist|site|top", re.I)


def name_tokens(name):
    """'CC_Base_L_Foot' -> ['cc', 'base', 'l', 'foot']; 'lFoot' -> ['l', 'foot']."""
    return [t.lower() for t in _TOKEN.findall(name)]


def joint_side(name):
    """'left', 'right' or None from a joint name (LeftFoot, lFoot, Foot_L, CC_Base_L_Foot, lhand)."""
    for t in name_tokens(name):
        if t in ("left", "l"):
            return "left"
        if t in ("right", "r"):
            return "right"
        if len(t) > 3 and t[0] in "lr" and t[1:] in _BODY_WORDS:  # CMU 3ds-Max 'lhand'
            return "left" if t[0] == "l" else "right"
    return None


def _depths(skeleton):
    return np.array([len(skeleton.chain(j)) for j in range(skeleton.num_joints)])


def _named(skeleton, pattern, side, exclude=_FINGERS):
    return [j for j, n in enumerate(skeleton.names)
            if re.search(pattern, n, re.I) and not exclude.search(n) and joint_side(n) == side]


def foot_joints(skeleton, positions=None):
    """Per side, the lowest joint whose name contains foot/toe/ankle (docs/evaluation.md 'Feet').

    Lowest = lowest median height over ``positions`` (F, J, 3) when given, else in the
    rest pose; clip heights are preferred because some rigs' rest poses are not standing
    (Bandai Namco's rest offsets all lie along X). Returns [left, right] (found ones only).
    """
    heights = _median_heights(skeleton, positions)
    feet = []
    for side in ("left", "right"):
        hits = [j for j, n in enumerate(skeleton.names)
                if re.search("foot|toe|ankle", n, re.I) and joint_side(n) == side]
        if hits:
            feet.append(int(min(hits, key=lambda j: (heights[j], j))))
    return feet


def contact_feet(skeleton, positions, fps):
    """The feet of docs/evaluation.md on any rig: the named feet (``foot_joints``) plus the
    joints that stand on the ground in the clip on the other limbs (``limbs.ground_contacts``:
    low and slow on a fifth of the frames or more), named first. A quadruped's front feet
    named 'Hand', a crab's eight leg tips and an unnamed rig's legs are feet; a clip that
    never touches the ground has none. ``positions`` (F, J, 3) in metres (span-scaled)."""
    named = foot_joints(skeleton, positions)
    found = limbs.ground_contacts(skeleton, positions, fps)
    return named + [j for j in found if not any(limbs.same_limb(skeleton, j, f) for f in named)]


def _median_heights(skeleton, positions):
    if positions is None:
        return skeleton.rest_positions()[:, skeleton.up_axis]
    return np.median(np.asarray(positions)[..., skeleton.up_axis], axis=0)


def end_effectors(skeleton, positions=None):
    """The edit effectors {'left_hand', 'right_hand', 'left_foot', 'right_foot', 'head'}.

    By name (per side and part, the matching joint closest to the root: LeftHand not
    LeftHandEnd, LeftWrist not lhand, CC_Base_L_Foot not its toes); parts not found by
    name fall back to leaf joints by position (head: highest; feet: lowest; hands: the
    remaining leaves farthest from the root).
    """
    found = named_effectors(skeleton)
    if len(found) < len(_PARTS):
        _fallback_effectors(skeleton, positions, found)
    return found


_PARTS = [("left_hand", "hand|wrist", "left"), ("right_hand", "hand|wrist", "right"),
          ("left_foot", "foot|ankle", "left"), ("right_foot", "foot|ankle", "right"),
          ("head", "head", None)]


def named_effectors(skeleton):
    """The human effectors found by name alone ({'left_hand': joint, ...}, any of the five)."""
    depth = _depths(skeleton)
    found = {}
    for key, pattern, side in _PARTS:
        hits = _named(skeleton, pattern, side)
        if hits:
            found[key] = int(min(hits, key=lambda j: (depth[j], j)))
    return found


def edit_effectors(skeleton, translations=None):
    """The joints the edit benchmark targets, on any rig: the human effectors its names
    give (``named_effectors``: hands, feet, head), plus the tip of every other long limb
    (``limbs.limb_tips``: legs, claws, tails, trunks, tentacles), keyed by joint name. A
    human rig gets its five (fingers and toes lie on the hands' and feet's limbs); a
    creature without human names gets its limb tips; a quadruped named like a human gets
    its four feet and head and its tail and trunk too."""
    found = named_effectors(skeleton)
    named = list(found.values())
    for tip in limbs.limb_tips(skeleton, skeleton.span(translations)):
        if not any(limbs.same_limb(skeleton, tip, j) for j in named):
            found[skeleton.names[tip]] = tip
            named.append(tip)
    return found


def _fallback_effectors(skeleton, positions, found):
    pos = skeleton.rest_positions()[None] if positions is None else np.asarray(positions)
    mean = pos.mean(axis=0)
    up = skeleton.up_axis
    root = skeleton.root
    used = set(found.values())
    leaves = [j for j in range(skeleton.num_joints) if not skeleton.children(j) and j != root and j not in used]
    if "head" not in found and leaves:
        found["head"] = max(leaves, key=lambda j: mean[j, up])
        leaves.remove(found["head"])
    by_height = sorted(leaves, key=lambda j: mean[j, up])
    for key in ("left_foot", "right_foot"):
        if key not in found and by_height:
            found[key] = by_height.pop(0)
    by_reach = sorted(by_height, key=lambda j: -np.linalg.norm(mean[j] - mean[root]))
    for key in ("left_hand", "right_hand"):
        if key not in found and by_reach:
            found[key] = by_reach.pop(0)


# ---------------------------------------------------------------------------------------
# heading and tracks

def body_root(skeleton):
    """The root of the body: below the main root, skipping single-child helper roots
    (Bandai Namco's static 'joint_Root' above 'Hips')."""
    j = skeleton.root
    while len(skeleton.children(j)) == 1:
        j = skeleton.children(j)[0]
    return j


def body_joints(skeleton):
    """The body root and every joint below it, less fingers, end sites and twist or share
    helpers (by name): about the joints a body model such as SMPL's 22 has, so that a rig
    with fingers is not weighted towards its hands when joints are averaged."""
    root = body_root(skeleton)
    below = [root] + sorted(skeleton.descendants(root))
    return [j for j in below if j == root or not _FINGERS.search(skeleton.names[j])]


def rest_world_rotations(skeleton):
    rot = np.empty((skeleton.num_joints, 4))
    for j, p in enumerate(skeleton.parents):
        rot[j] = skeleton.rest_rotations[j] if p < 0 else quat.mul(rot[p], skeleton.rest_rotations[j])
    return rot


def heading_quaternion(skeleton, world_rotations, joint=None):
    """The body root's heading (..., 4): the rotation about ``skeleton.up_axis`` closest to
    the root's rest-relative world rotation Q = R_world * R_rest_world^-1.

    Closest in the quaternion sense = the twist of Q's swing-twist decomposition: keep
    Q's w and its up-axis component, renormalise. ``world_rotations`` (..., J, 4) as
    ``forward_kinematics`` returns; ``joint`` defaults to ``body_root``.
    """
    j = body_root(skeleton) if joint is None else int(joint)
    rest = rest_world_rotations(skeleton)[j]
    q = quat.mul(np.asarray(world_rotations)[..., j, :], quat.inv(rest))
    up = skeleton.up_axis
    twist = np.zeros_like(q)
    twist[..., 0] = q[..., 0]
    twist[..., 1 + up] = q[..., 1 + up]
    norm = np.linalg.norm(twist, axis=-1, keepdims=True)
    # Root upside down (norm ~ 0): no defined heading; use identity instead of NaN.
    twist = np.where(norm > 1e-9, twist / np.maximum(norm, 1e-12), quat.identity(q.shape[:-1]))
    return twist * np.where(twist[..., :1] < 0, -1.0, 1.0)


@dataclass
class Track:
    """What the metrics read from a clip: world positions in metres and the root heading."""
    positions: np.ndarray   # (F, J, 3) metres, skeleton space
    heading: np.ndarray     # (F, 4) body-root heading about the up axis
    fps: float
    up_axis: int
    root: int               # body root joint
    posed: tuple = None     # joints whose root-relative positions are style points (default: all but the root)

    @property
    def num_frames(self):
        return self.positions.shape[0]

    def heights(self, joints):
        return self.positions[:, joints, self.up_axis]


def track(motion, scale=None):
    """A Motion's Track; ``scale`` metres per skeleton unit (default ``metres_per_unit``)."""
    skel = motion.skeleton
    scale = metres_per_unit(skel, motion.translations) if scale is None else scale
    wrot, wpos = motion.world()
    root = body_root(skel)
    above = set(skel.chain(root))  # the root and static helper roots above it carry no pose
    posed = tuple(j for j in range(skel.num_joints) if j not in above)
    return Track(wpos * scale, heading_quaternion(skel, wrot), motion.fps, skel.up_axis, root, posed)


def _horizontal(v, up_axis):
    v = np.array(v, dtype=np.float64, copy=True)
    v[..., up_axis] = 0.0
    return v


# ---------------------------------------------------------------------------------------
# per-clip measures

def ground_height(source, feet):
    """docs/evaluation.md: the 5th percentile of all foot heights in the source clip (m)."""
    if not feet:
        return float(np.percentile(source.positions[..., source.up_axis], 5))
    return float(np.percentile(source.heights(feet), 5))


def foot_grounds(source, feet, ground, named=()):
    """Per foot, the ground its contact is measured from (m): ``ground`` for the named feet
    (docs/evaluation.md), and for a foot found by its contacts the higher of ``ground`` and
    its own 5th-percentile height (an elephant's front foot joint sits above its sole)."""
    if not feet:
        return np.zeros(0)
    own = np.percentile(source.heights(feet), 5, axis=0)
    return np.array([ground if f in named else max(ground, float(h)) for f, h in zip(feet, own)])


def foot_skate(trk, feet, ground):
    """Share of frames where some foot skates (docs/evaluation.md): in contact (height below
    ground + 5 cm in this frame and the next) while its horizontal speed exceeds 0.5 m/s
    both over this frame step and averaged over 0.25 s (the speed of the mean velocity
    over a centred 0.25 s window). ``ground``: one height (m), or one per foot."""
    if not feet or trk.num_frames < 2:
        return 0.0
    low = trk.heights(feet) < np.asarray(ground) + CONTACT_MARGIN
    contact = low[:-1] & low[1:]
    velocity = _horizontal(np.diff(trk.positions[:, feet], axis=0), trk.up_axis) * trk.fps
    speed = np.linalg.norm(velocity, axis=-1)
    size = max(1, int(round(SKATE_AVERAGE_SECONDS * trk.fps)))
    # Average the velocity (not its magnitude): mocap noise that goes back and forth
    # is fast instantly but does not carry the foot anywhere over 0.25 s.
    average = np.linalg.norm(uniform_filter1d(velocity, size=size, axis=0), axis=-1)
    skating = contact & (speed > SKATE_SPEED) & (average > SKATE_SPEED)
    return float(skating.any(axis=1).mean())


def jitter(trk):
    """Mean over joints and frames of |second time-derivative of position| (m/s^2)."""
    return mean_acceleration(trk.positions, trk.fps)


def mean_acceleration(positions, fps):
    """Mean over joints and frames of |second time-derivative| of ``positions`` (F, J, 3)."""
    p = positions
    if len(p) < 3:
        return float("nan")
    acc = (p[2:] - 2.0 * p[1:-1] + p[:-2]) * fps ** 2
    return float(np.linalg.norm(acc, axis=-1).mean())


def style_points(trk):
    """(F30, P, 3) docs/evaluation.md style points at 30 fps: joint positions relative to the body
    root in its heading frame (every joint below the root), the root's horizontal
    displacement over 0.1 s in the heading frame, and its height."""
    p, up = trk.positions, trk.up_axis
    root = trk.root
    inv_heading = quat.inv(trk.heading)[:, None, :]
    joints = list(trk.posed) if trk.posed is not None else [j for j in range(p.shape[1]) if j != root]
    rel = quat.mul_vec(inv_heading, p[:, joints] - p[:, root:root + 1])
    k = max(1, int(round(STYLE_DISPLACEMENT_SECONDS * trk.fps)))
    start = np.clip(np.arange(len(p)), 0, max(len(p) - 1 - k, 0))
    stop = np.minimum(start + k, len(p) - 1)
    disp = _horizontal(p[stop, root] - p[start, root], up)
    disp = quat.mul_vec(inv_heading[:, 0], disp)
    height = np.zeros((len(p), 3))
    height[:, up] = p[:, root, up]
    points = np.concatenate([rel, disp[:, None], height[:, None]], axis=1)
    return resample(points, trk.fps, STYLE_FPS)


def resample(x, fps, new_fps):
    """Linear resampling along axis 0 from ``fps`` to ``new_fps`` (same start time)."""
    n = len(x)
    if n < 2 or abs(fps - new_fps) < 1e-6 * new_fps:
        return np.asarray(x, dtype=np.float64)
    t = np.arange(0.0, (n - 1) / fps + 1e-9, 1.0 / new_fps) * fps
    i0 = np.minimum(np.floor(t).astype(int), n - 2)
    a = (t - i0).reshape((-1,) + (1,) * (x.ndim - 1))
    return x[i0] * (1.0 - a) + x[i0 + 1] * a


def windows(points, size):
    """All windows of ``size`` consecutive frames, flattened: (W, size * P * 3)."""
    if len(points) < size:
        return np.zeros((0, size * points[0].size if len(points) else 0))
    flat = points.reshape(len(points), -1)
    view = np.lib.stride_tricks.sliding_window_view(flat, size, axis=0)  # (W, D, size)
    return np.ascontiguousarray(np.swapaxes(view, 1, 2)).reshape(len(view), -1)


def nearest_rms(queries, pool, points_per_window, chunk=512):
    """For every query window, the RMS point distance (m) to its nearest pool window.

    Brute force by chunked matrix products (windows have thousands of dimensions, where
    a k-d tree degenerates); the winner's distance is recomputed exactly so identical
    windows give exactly 0.
    """
    if len(queries) == 0 or len(pool) == 0:
        return np.full(len(queries), np.nan)
    pool_sq = np.einsum("ij,ij->i", pool, pool)
    out = np.empty(len(queries))
    for s in range(0, len(queries), chunk):
        q = queries[s:s + chunk]
        d2 = np.einsum("ij,ij->i", q, q)[:, None] + pool_sq[None] - 2.0 * q @ pool.T
        best = np.argmin(d2, axis=1)
        exact = np.sum((q - pool[best]) ** 2, axis=1)
        out[s:s + chunk] = np.sqrt(exact / points_per_window)
    return out


def nearest_index(queries, pool, chunk=512):
    """For every query window, the index of its nearest pool window."""
    pool_sq = np.einsum("ij,ij->i", pool, pool)
    out = np.empty(len(queries), dtype=np.int64)
    for s in range(0, len(queries), chunk):
        q = queries[s:s + chunk]
        out[s:s + chunk] = np.argmin(pool_sq[None] - 2.0 * q @ pool.T, axis=1)
    return out


def verbatim_runs(nearest):
    """Lengths (windows) of the runs whose nearest source window advances 0-2 per frame."""
    if len(nearest) == 0:
        return np.zeros(0, dtype=np.int64)
    step = np.diff(nearest)
    breaks = np.flatnonzero((step < 0) | (step > 2)) + 1
    edges = np.concatenate([[0], breaks, [len(nearest)]])
    return np.diff(edges)


def local_windows(num_windows, frame, fps, seconds=1.0, size=STYLE_WINDOW):
    """Indices of the STYLE_FPS windows that overlap [T - seconds, T + seconds] (T a frame at ``fps``)."""
    centre = frame / fps * STYLE_FPS
    lo, hi = centre - seconds * STYLE_FPS, centre + seconds * STYLE_FPS
    w = np.arange(num_windows)
    return w[(w + size - 1 >= lo) & (w <= hi)]


def _rms_points(size, points):
    return size * points.shape[1]


# ---------------------------------------------------------------------------------------
# reference clip and scores

class Reference:
    """A source clip prepared for scoring outputs against it (docs/evaluation.md)."""

    def __init__(self, motion, scale=None):
        self.motion = motion
        self.skeleton = motion.skeleton
        self.scale = metres_per_unit(self.skeleton, motion.translations) if scale is None else float(scale)
        self.track = self.track_of(motion)
        self.feet = contact_feet(self.skeleton, self.track.positions, motion.fps)
        self.ground = ground_height(self.track, self.feet)
        self.foot_grounds = foot_grounds(self.track, self.feet, self.ground, foot_joints(self.skeleton, self.track.positions))
        self.effectors = edit_effectors(self.skeleton, motion.translations)
        self.skate = foot_skate(self.track, self.feet, self.foot_grounds)
        self.jitter = jitter(self.track)
        self.points = style_points(self.track)
        self.style_windows = windows(self.points, STYLE_WINDOW)
        self.coverage_windows = windows(self.points, COVERAGE_WINDOW)

    def track_of(self, motion):
        if motion.skeleton.num_joints != self.skeleton.num_joints:
            raise ValueError("the output's skeleton does not match the source clip's")
        return track(motion, self.scale)

    def to_units(self, metres):
        return np.asarray(metres) / self.scale

    # -- individual scores ---------------------------------------------------------------
    def target_errors_cm(self, trk, targets):
        """|p_j(T) - p*| in cm for every (target, frame) pair, targets in skeleton units."""
        errors = []
        for t in targets:
            frames = np.clip(t.frames, 0, trk.num_frames - 1)
            got = trk.positions[frames, t.joint]
            errors.extend(100.0 * np.linalg.norm(got - t.positions * self.scale, axis=-1))
        return errors

    def reconstruction_cm(self, trk):
        n = min(trk.num_frames, self.track.num_frames)
        diff = trk.positions[:n] - self.track.positions[:n]
        return float(100.0 * np.linalg.norm(diff, axis=-1).mean())

    def skate_delta(self, trk):
        return foot_skate(trk, self.feet, self.foot_grounds) - self.skate

    def jitter_ratio(self, trk):
        return jitter(trk) / self.jitter if self.jitter > 0 else float("nan")

    def style_window_distances(self, trk, points=None):
        points = style_points(trk) if points is None else points
        gen = windows(points, STYLE_WINDOW)
        return nearest_rms(gen, self.style_windows, _rms_points(STYLE_WINDOW, points))

    def style_distance_cm(self, trk):
        return float(100.0 * np.mean(self.style_window_distances(trk)))

    def local_style_distance_cm(self, trk, frames, seconds=1.0):
        """Style distance over the windows overlapping +-``seconds`` around any of ``frames``."""
        d = self.style_window_distances(trk)
        keep = np.unique(np.concatenate([local_windows(len(d), f, trk.fps, seconds) for f in frames]))
        return float(100.0 * np.mean(d[keep])) if len(keep) else float("nan")

    def replayed_stretch_seconds(self, trk, points=None):
        """docs/evaluation.md replayed stretch: the mean length (s) of the runs where the nearest
        source window of each generated window advances 0-2 frames per frame."""
        points = style_points(trk) if points is None else points
        gen = windows(points, STYLE_WINDOW)
        if len(gen) == 0:
            return float("nan")
        return float(np.mean(verbatim_runs(nearest_index(gen, self.style_windows)))) / STYLE_FPS

    def coverage(self, trk, points=None):
        """Share of 1 s source windows with a generated window within RMS 5 cm."""
        points = style_points(trk) if points is None else points
        gen = windows(points, COVERAGE_WINDOW)
        if len(gen) == 0 or len(self.coverage_windows) == 0:
            return float("nan")
        d = nearest_rms(self.coverage_windows, gen, _rms_points(COVERAGE_WINDOW, points))
        return float(np.mean(d <= COVERAGE_RADIUS))

    # -- protocols -----------------------------------------------------------------------
    def edit_metrics(self, motion, targets):
        """docs/evaluation.md edit metrics of an output ``motion`` under ``targets`` (skeleton units)."""
        trk = self.track_of(motion)
        if not np.all(np.isfinite(trk.positions)):
            return {"finite": False}
        return {"finite": True,
                "target_errors_cm": self.target_errors_cm(trk, targets),
                "reconstruction_cm": self.reconstruction_cm(trk),
                "foot_skate_delta": self.skate_delta(trk),
                "jitter_ratio": self.jitter_ratio(trk),
                "style_distance_cm": self.style_distance_cm(trk)}

    def long_run_metrics(self, motion, targets=()):
        """docs/evaluation.md long-run metrics: stable, coverage, style distance, foot skate, jitter."""
        trk = self.track_of(motion)
        if not np.all(np.isfinite(trk.positions)):
            return {"stable": False, "finite": False}
        points = style_points(trk)
        d = self.style_window_distances(trk, points)
        out = {"finite": True,
               "stable": is_stable(d),
               "style_first_tenth_cm": 100.0 * first_last_tenth(d)[0],
               "style_last_tenth_cm": 100.0 * first_last_tenth(d)[1],
               "coverage": self.coverage(trk, points),
               "style_distance_cm": float(100.0 * np.mean(d)),
               "foot_skate_delta": self.skate_delta(trk),
               "jitter_ratio": self.jitter_ratio(trk)}
        if targets:
            out["target_errors_cm"] = self.target_errors_cm(trk, targets)
        return out


def inter_variation_cm(point_sets, skip_seconds=1.0):
    """docs/evaluation.md inter-variation distance: the mean over pairs of runs of the per-frame
    RMS distance between their style points after the first ``skip_seconds``, cm."""
    skip = int(round(skip_seconds * STYLE_FPS))
    n = min(len(p) for p in point_sets)
    pairs = [(a, b) for i, a in enumerate(point_sets) for b in point_sets[i + 1:]]
    if n <= skip or not pairs:
        return float("nan")
    d = [np.sqrt(np.mean(np.sum((a[skip:n] - b[skip:n]) ** 2, axis=-1), axis=-1)).mean() for a, b in pairs]
    return float(100.0 * np.mean(d))


def is_stable(window_distances, ratio=STABLE_RATIO):
    """docs/evaluation.md 'stable': style distance over the last 10 % of the windows is at most
    1.5 x that over the first 10 % (and everything finite). A first tenth that replays
    the source exactly scores 0 cm, which no later transition could match, so it counts
    as ``STABLE_FLOOR`` (the style distance goal): a run stays stable while it keeps
    within 1.5 x of that."""
    d = np.asarray(window_distances, dtype=np.float64)
    if len(d) == 0 or not np.all(np.isfinite(d)):
        return False
    first, last = first_last_tenth(d)
    return bool(last <= ratio * max(first, STABLE_FLOOR) + 1e-12)


def first_last_tenth(window_distances):
    """Mean window distance over the first and over the last 10 % of the windows."""
    d = np.asarray(window_distances, dtype=np.float64)
    n = max(1, int(round(0.1 * len(d))))
    return float(d[:n].mean()), float(d[-n:].mean())
