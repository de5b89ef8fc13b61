"""Inference-time refinement: make generated motion hit joint targets exactly and naturally.

Called by ``runtime.Generator.generate`` after the timeline and decode. Per group of
targets that share their frames (two effectors at one frame are solved together):

1. whole-body reach at the key frames (``ik.solve_body``): the effector's limb moves
   most readily; the pelvis (root translation) and a capped, distributed spine bend
   join in when the limb cannot reach; planted feet are tasks too (they may lift a
   little, they may not slide), so the body rises, crouches or shifts around them;
2. the change (root translation, spine and target-limb rotations) is spread in time:
   linear between keys (smoothed when keys are dense, i.e. a moving target), and a
   raised-cosine fade over ``window_s`` seconds outside them (C1, same in seconds at
   any frame rate);
3. foot lock: legs whose feet are in contact in the input (docs/evaluation.md rule: low and slow,
   engine/contacts.py) are re-solved per frame with analytic two-bone IK to where the
   input had them, with a smooth release, so moving the body does not make feet skate.

A few passes fix interactions between groups and the lock; a last limb-only polish at
the key frames (blended) makes reachable targets exact.
"""
import numpy as np

from ..motion import contacts, metrics, quat
from ..motion.filters import gaussian_filter1d
from ..motion.skeleton import forward_kinematics
from ..motion.targets import Target
from . import floor, ik

PASSES = 3
BODY_ITERATIONS = 40
LIMB_WEIGHT = 1.0
SPINE_WEIGHT = 0.25          # per spine joint, relative to a limb joint
ROOT_WEIGHT = 0.15           # pelvis translation, per limb length
ROOT_TURN_WEIGHT = 0.1       # pelvis rotation
SPINE_CAP_MIN = np.radians(6.0)
SPINE_CAP_MAX = np.radians(20.0)
FOOT_VERTICAL_WEIGHT = 0.02  # a planted foot may lift (rise on the toes, jump higher)
DENSE_SMOOTH_S = 0.08        # time smoothing of per-frame corrections (moving targets)
BODY_DENSE_SMOOTH_S = 0.3    # the body's: it follows a moving target's slow drift, not a wave
POLISH_WINDOW_S = 0.25
BODY_KEY_RATE = 15.0         # body solves per second for a moving target
CAP_WIDENING = (1.0, 2.0)
LIMB_STRAIGHT = 0.97
STRAIGHT_MARGIN = 0.005      # of the reach: the clip's straightest, plus numerical slack
BODY_WINDOW_SCALE = 1.5     # the body's fade, relative to the limb's
REACH_TOLERANCE = 2e-3       # of the span (~3 mm)
MIN_SCALE_SHARE = 0.05  # of the body span: the smallest length unit the body solve works in
ROOT_RISE_MARGIN = 0.05  # of the span: past the clip's own highest and lowest pelvis (a rise on the toes)
ROOT_SHIFT_SHARE = 0.2   # of the span: how far a lean moves the pelvis along the ground
STEP_SHARE = 0.5         # of its travel: how high a planted foot carried along the ground steps
STEP_SMOOTH_S = 0.05     # s: the time smoothing of a step's travel
STEP_MAX_M = 0.07        # m (span-scaled): the highest such a step rises (it clears the 5 cm contact height)


def refine_targets(motion, targets, window_s=0.5, passes=PASSES, progress=None):
    """A new Motion whose targeted joints reach their targets (skeleton units). A target's
    ``weight`` says how far: 1 all the way, 0.5 half the way from where ``motion`` puts the
    joint (a softer edit that keeps more of the clip), 0 not at all. ``progress(fraction)``
    is called after each group of targets is solved (fraction 0-1 of the whole): the time
    grows with the number of target frames times the frames they move."""
    out = motion.copy()
    world = motion.world()  # one FK of the whole clip, shared by the set-up below
    targets = _weighted(targets, world[1])
    if not targets:
        return out
    rig = Rig(motion, world)  # contacts, caps and span come from the whole clip
    lock = rig.lock_plan(motion, targets, window_s, world)
    lo, hi = affected_range(targets, motion.num_frames, window_s, rig.fps)
    report = progress or (lambda fraction: None)
    if lo == 0 and hi == motion.num_frames:
        _refine(out, targets, rig, lock, passes, window_s, report)
        return out
    # Every correction fades to zero within the windows around the keys: refine only
    # those frames (a drag then costs the window, not the whole clip).
    part = out.slice(lo, hi)
    shifted = [Target(t.joint, t.frames - lo, t.positions, t.weight) for t in targets]
    part_lock = {leg: (w[lo:hi], p[lo:hi], r[lo:hi], hint, c[lo:hi]) for leg, (w, p, r, hint, c) in lock.items()}
    _refine(part, shifted, rig, part_lock, passes, window_s, report)
    out.rotations[lo:hi], out.translations[lo:hi] = part.rotations, part.translations
    return out


def _weighted(targets, positions):
    """Targets moved ``1 - weight`` of the way back to where ``positions`` put their joints;
    those of weight 0 dropped."""
    out = []
    for t in targets or ():
        if t.weight <= 0.0:
            continue
        if t.weight < 1.0:
            here = positions[t.frames, t.joint]
            t = Target(t.joint, t.frames, here + t.weight * (t.positions - here), 1.0)
        out.append(t)
    return out


def affected_range(targets, num_frames, window_s, fps):
    """Frames [lo, hi) that any correction can touch: the keys plus the widest fade
    (the body's), the foot lock's release and a safety frame or two."""
    reach = (BODY_WINDOW_SCALE * window_s + DENSE_SMOOTH_S * 3 + contacts.RELEASE_S) * fps + 2
    first = min(int(t.frames.min()) for t in targets)
    last = max(int(t.frames.max()) for t in targets)
    return max(0, int(first - reach)), min(num_frames, int(np.ceil(last + reach)) + 1)


def _refine(out, targets, rig, lock, passes, window_s, report):
    """The passes of the refinement on ``out`` (edited in place); ``report(fraction)``
    after each group: the passes count as ``passes`` steps per group (the early stop skips
    the rest), the polish as one."""
    rig.start_root = out.translations[:, rig.mover].copy()  # the pelvis's bounds hold over all passes
    groups = _groups(targets)
    steps = (passes + 1) * len(groups)
    for p in range(passes):
        for i, group in enumerate(groups):
            _body_layer(out, rig, group, window_s)
            rig.apply_lock(out, lock)
            report((p * len(groups) + i + 1) / steps)
        if _worst_error(out, targets) < 1e-3 * rig.span:
            break
    _step_over(out, rig, lock, targets)
    if rig.floor is not None:  # a reach that lowers the body must not sink a foot below the clip's floor
        floor.lift_above_floor(out, rig.contact_feet, rig.floor, np.ones(out.num_frames, dtype=bool))
    for i, group in enumerate(groups):
        _polish(out, rig, group)
        report((passes * len(groups) + i + 1) / steps)
    out.rotations = quat.normalize(out.rotations)


# ---------------------------------------------------------------------------------------
# the rig: which joints do what

class Rig:
    """Roles of a skeleton's joints for the refinement, and per-joint spine caps."""

    def __init__(self, motion, world=None):
        sk = motion.skeleton
        self.skeleton = sk
        self.fps = float(motion.fps)
        self.span = sk.span(motion.translations)
        pos = (world or motion.world())[1]
        self.root = metrics.body_root(sk)
        self.mover = body_mover(motion, self.root)
        self._set_legs(sk, pos)
        self.floor = floor.lowest_heights(pos, self.contact_feet, sk.up_axis) if self.contact_feet else None
        self.cap = _spine_caps(motion)
        heights = motion.translations[:, self.mover, sk.up_axis]
        margin = ROOT_RISE_MARGIN * self.span
        self.root_height = (float(heights.min()) - margin, float(heights.max()) + margin)
        self._positions = pos
        self._straightest = {}

    def _set_legs(self, sk, pos):
        """The legs the clip stands on (``contacts.legs_and_contacts``: named feet, and any
        limb low and slow in the clip), each with its chain and the two joints that bend it
        (``ik.two_bone_levers``: zero-length bones skipped); legs with fewer are not locked."""
        legs, feet = contacts.legs_and_contacts(sk, pos, self.fps, self.span)
        self.legs, self.contact_feet, self.leg_chains, self.leg_levers = [], [], {}, {}
        named = set(metrics.foot_joints(sk, pos))
        self.named_feet = []
        for leg, foot in zip(legs, feet):
            chain = ik.effector_chain(sk, leg)
            levers = ik.two_bone_levers(sk, leg, chain)
            if levers is None or leg in self.leg_chains:
                continue
            self.legs.append(leg)
            self.contact_feet.append(foot)
            self.leg_chains[leg], self.leg_levers[leg] = chain, levers
            if foot in named:
                self.named_feet.append(foot)

    def chain(self, joint):
        return ik.effector_chain(self.skeleton, joint)

    def spine(self, joint, chain):
        """Ancestors above ``joint``'s limb chain up to (not including) the body root:
        chest, spine... (child first, at most 6)."""
        sk = self.skeleton
        top = chain[-1] if chain else joint
        if sk.parents[top] < 0:
            return []
        above = set(sk.chain(self.root))
        return [j for j in sk.chain(int(sk.parents[top])) if j not in above][:6]

    def lock_joints_of(self, tasks):
        """Leg joints of planted (soft-task) feet."""
        out = set()
        for j, _, w in tasks:
            if not np.all(np.asarray(w) == 1.0):
                out.update(self.leg_chains.get(j, ()))
        return out

    def straightest(self, joint, chain):
        """How straight the clip itself ever holds ``joint``'s limb: the largest distance
        from the joint to its chain's second joint (shoulder, hip), over its reach."""
        if joint not in self._straightest:
            reach = self.limb_length(joint, chain[:2])
            d = np.linalg.norm(self._positions[:, joint] - self._positions[:, chain[1]], axis=-1)
            self._straightest[joint] = float(d.max() / max(reach, 1e-12))
        return self._straightest[joint]

    def limb_length(self, joint, chain):
        rest = self.skeleton.rest_translations
        path = self.skeleton.chain(joint)
        return float(sum(np.linalg.norm(rest[j]) for j in path[:path.index(chain[-1])])) if chain else self.span / 4

    def lock_plan(self, motion, targets, window_s, world=None):
        """Per leg: lock weight (T,: the contact weight, 0 around a target on that leg), the
        input ankle's world position and rotation, the knee's bend hint and the contact weight."""
        if not self.legs:  # a rig that never touches the ground: nothing to lock
            return {}
        wrot, wpos = world or motion.world()
        weights = contacts.contact_weights(motion, self.contact_feet, self.span, wpos, self.named_feet)
        plan = {}
        for leg, w in zip(self.legs, weights):
            free = np.zeros(motion.num_frames)
            for tg in targets:
                if tg.joint == leg or tg.joint in self.skeleton.descendants(leg):
                    free = np.maximum(free, _key_weights(tg.frames, motion.num_frames, window_s * self.fps))
            plan[leg] = (w * (1.0 - free), wpos[:, leg].copy(), wrot[:, leg].copy(),
                         _hinge_hint(motion, leg, self.leg_levers[leg], wpos, wrot), w)
        return plan

    def apply_lock(self, motion, plan):
        """Re-solve contact legs so their ankles (and feet) go back where the input had them."""
        sk = self.skeleton
        for leg, (w, pos_in, rot_in, hint, _) in plan.items():
            on = np.flatnonzero(w > 1e-4)
            if len(on) == 0:
                continue
            mid, top = self.leg_levers[leg]
            # The root-to-ankle path holds every joint read here (hip, the ankle and its
            # parent): its world pose alone, not the whole skeleton's, at every locked frame.
            path = sk.chain(leg)[::-1]
            r, t = motion.rotations[on], motion.translations[on]
            wrot, wpos = ik.path_world(sk, r, t, path)
            hint_w = quat.mul_vec(wrot[:, path.index(top)], hint)
            goal = wpos[:, -1] + w[on, None] * (pos_in[on] - wpos[:, -1])
            r = ik.two_bone(sk, r, t, leg, goal, mid, top, hint_axis=hint_w)
            # Restore the foot's world orientation (toes stay planted too).
            wrot2, _ = ik.path_world(sk, r, t, path)
            want = quat.slerp(wrot2[:, -1], _align(rot_in[on], wrot2[:, -1]), w[on])
            parent = wrot2[:, -2]  # the ankle's parent
            r[:, leg] = quat.mul(quat.inv(sk.rest_rotations[leg]), quat.mul(quat.inv(parent), want))
            motion.rotations[on] = r


def body_mover(motion, body_root):
    """The joint whose translation carries the body: the body root when the clip moves it
    (a Hips with position channels), else the skeleton's root (a creature's body hanging at
    a fixed offset below an animated root: its bone may be connected in Blender and could
    not move on its own). Above a body root only static single-child joints lie, so moving
    the skeleton's root moves the body alike."""
    sk = motion.skeleton
    t = motion.translations[:, body_root]
    if sk.parents[body_root] < 0 or float(np.ptp(t, axis=0).max()) > 1e-9 * max(sk.span(motion.translations), 1e-12):
        return body_root
    return sk.root


def _step_over(motion, rig, lock, targets):
    """A planted foot that a target carries along the ground steps instead of sliding: while
    it travels from where the input had it toward its target, it rises (``STEP_SHARE`` of
    the distance, at most ``STEP_MAX_M``), most at mid-way and not at all at either end,
    scaled by how planted the input had it; only where that travel is faster than the
    contact speed (``contacts.LOCK_SPEED``), so slow edits stay as they were. The leg is
    re-solved per frame with two-bone IK, the foot keeping its orientation."""
    sk = rig.skeleton
    up, metres = sk.up_axis, metrics.SPAN_METRES / rig.span
    for leg in {leg for tg in targets for leg in rig.legs if tg.joint == leg or tg.joint in sk.descendants(leg)}:
        _, pos_in, _, hint, planted = lock[leg]
        path = sk.chain(leg)[::-1]
        wrot, wpos = ik.path_world(sk, motion.rotations, motion.translations, path)
        travel = wpos[:, -1] - pos_in
        travel[:, up] = 0.0
        # Smoothed: the travel's frame-to-frame noise (a lock let go, a polish) must not shake the step.
        dist = gaussian_filter1d(np.linalg.norm(travel, axis=-1), STEP_SMOOTH_S * rig.fps, axis=0)
        speed = np.abs(np.gradient(dist)) * rig.fps * metres
        if len(dist) < 3 or speed.max() <= contacts.LOCK_SPEED:
            continue
        far = float(dist.max())
        progress = dist / max(far, 1e-12)
        lift = min(STEP_SHARE * far, STEP_MAX_M / metres) * 4.0 * progress * (1.0 - progress) * planted
        on = np.flatnonzero(lift > 1e-6 * rig.span)
        if not len(on):
            continue
        goal = wpos[on, -1].copy()
        goal[:, up] += lift[on]
        mid, top = rig.leg_levers[leg]
        r = motion.rotations[on]
        hint_w = quat.mul_vec(wrot[on, path.index(top)], hint)
        r = ik.two_bone(sk, r, motion.translations[on], leg, goal, mid, top, hint_axis=hint_w)
        wrot2, _ = ik.path_world(sk, r, motion.translations[on], path)
        r[:, leg] = quat.mul(quat.inv(sk.rest_rotations[leg]), quat.mul(quat.inv(wrot2[:, -2]), wrot[on, -1]))
        motion.rotations[on] = r


def _align(q, ref):
    return q * np.where(np.sum(q * ref, -1, keepdims=True) < 0, -1.0, 1.0)


def _hinge_hint(motion, leg, levers, wpos, wrot):
    """The knee's typical bend axis in the thigh's frame (for a nearly straight leg);
    ``levers`` the (knee, hip) pair."""
    mid, top = levers
    h, k, a = wpos[:, top], wpos[:, mid], wpos[:, leg]
    axis = np.cross(k - h, a - k)
    local = quat.inv_mul_vec(wrot[:, top], axis).sum(axis=0)
    n = np.linalg.norm(local)
    return local / n if n > 1e-12 else np.array([1.0, 0.0, 0.0])


def _spine_caps(motion):
    """Per joint cap (rad) on how far the refinement may turn it: a fixed minimum plus
    half of how far the clip itself turns that joint away from its mean, bounded."""
    step = max(1, motion.num_frames // 120)  # a range statistic: ~120 frames are plenty
    r = quat.unroll(motion.rotations[::step], axis=0)
    mean = quat.normalize(r.mean(axis=0))
    dev = np.linalg.norm(quat.to_scaled_axis(quat.inv_mul(mean[None], r)), axis=-1)
    spread = np.percentile(dev, 95, axis=0) if len(r) > 1 else np.zeros(r.shape[1])
    return np.clip(SPINE_CAP_MIN + 0.5 * spread, SPINE_CAP_MIN, SPINE_CAP_MAX)


# ---------------------------------------------------------------------------------------
# one group of targets: body solve at keys, spread in time

def _groups(targets):
    groups = {}
    for tg in targets:
        groups.setdefault(tuple(int(f) for f in tg.frames), []).append(tg)
    return list(groups.values())


def _body_layer(motion, rig, group, window_s):
    sk = rig.skeleton
    frames = np.asarray(group[0].frames, dtype=np.int64)
    frames, first = np.unique(frames, return_index=True)
    frames, first = _thin_dense_keys(frames, first, rig.fps)
    r0, t0 = motion.rotations[frames], motion.translations[frames]
    targeted = {tg.joint for tg in group}
    tasks, joints, weights, caps, hinges = [], [], [], [], []
    lengths = []
    spine_joints = set()
    for tg in group:
        tasks.append((tg.joint, tg.positions[first], np.ones(3)))
        if sk.parents[tg.joint] < 0:
            continue
        chain = rig.chain(tg.joint)
        lengths.append(rig.limb_length(tg.joint, chain))
        for i, j in enumerate(chain):
            if j not in joints:
                joints.append(j)
                weights.append(LIMB_WEIGHT if i < 2 else ik.OUTER_WEIGHT)
                caps.append(np.inf)
        if len(chain) >= 2:
            hinges.append((chain[0], chain[1]))
        for j in rig.spine(tg.joint, chain):
            spine_joints.add(j)
            if j not in joints:
                joints.append(j)
                weights.append(SPINE_WEIGHT)
                caps.append(rig.cap[j])
    # The pelvis may tilt and turn a little (a lean), as far as the clip turns it.
    joints.append(rig.root)
    weights.append(ROOT_TURN_WEIGHT)
    caps.append(rig.cap[rig.root])
    # Planted feet (not themselves targets) keep their place while the body moves.
    _, wpos0 = forward_kinematics(sk, r0, t0)
    lock_joints = []
    for leg in rig.legs:
        if leg in targeted or any(leg in sk.chain(j) for j in targeted):
            continue
        chain = rig.leg_chains[leg]
        tasks.append((leg, wpos0[:, leg], np.where(np.arange(3) == sk.up_axis, FOOT_VERTICAL_WEIGHT, 1.0)))
        for j in chain:
            if j not in joints:
                joints.append(j)
                weights.append(LIMB_WEIGHT if j in chain[:2] else ik.OUTER_WEIGHT)
                caps.append(np.inf)
                lock_joints.append(j)
        hinges.append(rig.leg_levers[leg])
    # The solver's length unit: the targeted limbs' length, at least a share of the body
    # (a joint on a zero-length bone, such as CMU's lowerback or hip joints, has no limb).
    scale = max(float(np.mean(lengths)) if lengths else rig.span / 4, MIN_SCALE_SHARE * rig.span)
    r1, t1 = _reach(sk, r0, t0, tasks, joints, weights, rig, caps, hinges, scale,
                    _root_bounds(rig, frames, rig.root in targeted))
    moved = [j for j in joints if j not in lock_joints]  # locked legs are re-solved per frame
    delta_rot = quat.to_scaled_axis(quat.inv_mul(r0[:, moved], r1[:, moved]))       # (K, n, 3)
    delta_root = t1[:, rig.mover] - t0[:, rig.mover]                                  # (K, 3)
    T = motion.num_frames
    width = window_s * rig.fps
    # The body (pelvis, spine) moves more mass: a longer fade keeps its acceleration low.
    body = np.array([j == rig.root or j in spine_joints for j in moved])
    full_rot = np.empty((T,) + delta_rot.shape[1:])
    full_rot[:, ~body] = _spread(delta_rot[:, ~body], frames, T, width, rig.fps)
    full_rot[:, body] = _spread(delta_rot[:, body], frames, T, BODY_WINDOW_SCALE * width, rig.fps, BODY_DENSE_SMOOTH_S)
    full_root = _spread(delta_root, frames, T, BODY_WINDOW_SCALE * width, rig.fps, BODY_DENSE_SMOOTH_S)
    motion.rotations[:, moved] = quat.mul(motion.rotations[:, moved], quat.from_scaled_axis(full_rot))
    motion.translations[:, rig.mover] += full_root
    # The fade carries a key's rise to frames where the clip already stood higher: bound
    # every frame, not only the keys.
    _bound_root_track(motion.translations, rig, rig.root in targeted)


def _thin_dense_keys(frames, first, fps):
    """A moving target keys every frame; its body correction is smooth in time anyway
    (DENSE_SMOOTH_S), so solve it at BODY_KEY_RATE keys per second and interpolate (the
    per-frame polish makes every frame exact)."""
    step = int(round(fps / BODY_KEY_RATE))
    if len(frames) < 3 or step < 2 or np.median(np.diff(frames)) > 1.5:
        return frames, first
    keep = np.unique(np.concatenate([np.arange(0, len(frames), step), [len(frames) - 1]]))
    return frames[keep], first[keep]


def _root_bounds(rig, frames, root_targeted):
    """The box the pelvis stays in at each key (K, 3) x 2: as high and as low as the clip
    ever puts it (or where the motion had it), and a lean's shift along the ground from
    where the motion had it, unless the pelvis itself is a target. Beyond it a target stays
    unreached and is reported."""
    up = rig.skeleton.up_axis
    here = rig.start_root[frames]
    shift = np.inf if root_targeted else ROOT_SHIFT_SHARE * rig.span
    lo, hi = here - shift, here + shift
    lo[:, up] = np.minimum(rig.root_height[0], here[:, up])
    hi[:, up] = np.maximum(rig.root_height[1], here[:, up])
    return lo, hi


def _bound_root_track(translations, rig, root_targeted):
    """``translations``' pelvis track (every frame) moved back into its bounds: the height
    range of ``_root_bounds`` and, unless the pelvis is a target, a lean's distance along
    the ground from where the motion had it."""
    up = rig.skeleton.up_axis
    root = translations[:, rig.mover]
    lo, hi = _root_bounds(rig, np.arange(len(root)), True)
    root[:, up] = np.clip(root[:, up], lo[:, up], hi[:, up])
    if not root_targeted:
        shift = root - rig.start_root
        shift[:, up] = 0.0
        dist = np.linalg.norm(shift, axis=-1, keepdims=True)
        limit = ROOT_SHIFT_SHARE * rig.span
        root -= shift * (1.0 - np.minimum(1.0, limit / np.maximum(dist, 1e-12)))


def _reach(sk, r0, t0, tasks, joints, weights, rig, caps, hinges, scale, root_bounds=None):
    """The body solve with the clip's own joint ranges as caps; where that cannot reach,
    again with the caps widened (a bigger lean rather than a missed target)."""
    caps = np.asarray(caps, dtype=np.float64)
    # Limb first: when the limbs alone reach (without locking straight), the body stays.
    limb = [i for i, j in enumerate(joints) if not np.isfinite(caps[i]) and j not in rig.lock_joints_of(tasks)]
    own = [t for t in tasks if np.all(np.asarray(t[2]) == 1.0)]
    if limb:
        r1, t1 = ik.solve_body(sk, r0, t0, own, [joints[i] for i in limb], [weights[i] for i in limb],
                               hinges=hinges, iterations=BODY_ITERATIONS, scale=scale)
        _, pos = forward_kinematics(sk, r1, t1)
        miss = max(float(np.linalg.norm(pos[:, j] - g, axis=-1).max()) for j, g, w in own)
        if miss < REACH_TOLERANCE * rig.span and _bent(sk, pos, own, rig):
            return r1, t1
    for widen in CAP_WIDENING:
        r1, t1 = ik.solve_body(sk, r0, t0, tasks, joints, weights, root=rig.mover, root_weight=ROOT_WEIGHT,
                               caps=np.minimum(caps * widen, np.maximum(caps, SPINE_CAP_MAX)), hinges=hinges,
                               iterations=BODY_ITERATIONS, scale=scale, root_bounds=root_bounds)
        _, pos = forward_kinematics(sk, r1, t1)
        miss = max(float(np.linalg.norm(pos[:, j] - g, axis=-1).max()) for j, g, w in tasks if np.all(np.asarray(w) == 1.0))
        if miss < REACH_TOLERANCE * rig.span:
            break
    return r1, t1


def _bent(sk, pos, tasks, rig):
    """True when no targeted limb is straighter than LIMB_STRAIGHT of its reach or than
    the clip itself ever holds it (arms overhead in a jumping jack are straight; a head
    on its neck is always 'straight', having no elbow)."""
    for j, _, _ in tasks:
        chain = rig.chain(j)
        if sk.parents[j] < 0 or len(chain) < 2:
            continue
        reach = rig.limb_length(j, chain[:2])
        limit = max(LIMB_STRAIGHT, rig.straightest(j, chain) + STRAIGHT_MARGIN)
        if float(np.linalg.norm(pos[:, j] - pos[:, chain[1]], axis=-1).max()) > limit * reach:
            return False
    return True


def _polish(motion, rig, group):
    """A last limb-only correction at the key frames, blended over a short window."""
    sk = rig.skeleton
    frames = np.asarray(group[0].frames, dtype=np.int64)
    frames, first = np.unique(frames, return_index=True)
    for tg in group:
        if sk.parents[tg.joint] < 0:
            _, pos = forward_kinematics(sk, motion.rotations[frames], motion.translations[frames])
            err = tg.positions[first] - pos[:, tg.joint]
            motion.translations[:, tg.joint] += _spread(err, frames, motion.num_frames, POLISH_WINDOW_S * rig.fps, rig.fps)
            continue
        chain = rig.chain(tg.joint)
        r0 = motion.rotations[frames]
        r1, _ = ik.solve_chain(sk, r0, motion.translations[frames], tg.joint, tg.positions[first], chain,
                               iterations=40, tolerance=1e-6)
        delta = quat.to_scaled_axis(quat.inv_mul(r0[:, chain], r1[:, chain]))
        full = _spread(delta, frames, motion.num_frames, POLISH_WINDOW_S * rig.fps, rig.fps)
        motion.rotations[:, chain] = quat.mul(motion.rotations[:, chain], quat.from_scaled_axis(full))


def _worst_error(motion, targets):
    worst = 0.0
    for tg in targets:
        _, pos = forward_kinematics(motion.skeleton, motion.rotations[tg.frames], motion.translations[tg.frames])
        worst = max(worst, float(np.linalg.norm(pos[:, tg.joint] - tg.positions, axis=-1).max()))
    return worst


# ---------------------------------------------------------------------------------------
# time

def fade(distance, width):
    """1 at distance 0, 0 from ``width`` on, a raised cosine between (C1 at both ends)."""
    x = np.clip(np.asarray(distance, dtype=np.float64) / max(width, 1e-9), 0.0, 1.0)
    return 0.5 * (1.0 + np.cos(np.pi * x))


def _key_weights(frames, T, width):
    t = np.arange(T)
    frames = np.unique(np.asarray(frames))
    outside = np.maximum(frames[0] - t, t - frames[-1]).clip(min=0)
    return fade(outside, width)


def _spread(values, frames, T, width, fps, smooth_s=DENSE_SMOOTH_S):
    """Per-frame values (T, ...) from values at key ``frames``: linear between keys
    (smoothed over ``smooth_s`` where keys are consecutive frames, so a per-frame IK
    carries no frame-to-frame noise, and the body only a moving target's slow drift),
    a raised-cosine fade over ``width`` frames before the first key and after the last."""
    flat = values.reshape(len(frames), -1)
    gap = np.median(np.diff(frames)) if len(frames) > 2 else np.inf
    if gap <= 1.5 * fps / BODY_KEY_RATE:  # keys on (nearly) every frame: a moving target
        flat = gaussian_filter1d(flat, smooth_s * fps / gap, axis=0)
    t = np.arange(T)
    out = np.empty((T, flat.shape[1]))
    for i in range(flat.shape[1]):
        out[:, i] = np.interp(t, frames, flat[:, i])
    return (out * _key_weights(frames, T, width)[:, None]).reshape((T,) + values.shape[1:])
