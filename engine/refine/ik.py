"""Inverse kinematics on one joint chain: damped least squares on rotation vectors.

``solve_chain`` moves one joint (the effector) onto a target by changing the local
rotations of a few of its ancestors (the chain), and optionally the root translation.
Everything is vectorised over leading batch dimensions, so a moving target (one
position per frame) is solved for all its frames in a single call.

Why damped least squares (DLS) rather than CCD or an analytic two-bone solver: it
handles 1-4 bone chains alike, it changes the pose as little as it can (good for an
additive IK layer), it degrades gracefully for unreachable targets (the limb stretches
toward the target, no NaN), and per-joint weights let the clavicle / hip-socket bones
help only when the two main bones cannot reach. The middle joint (elbow, knee) is
treated as a hinge about its current bend axis while the limb is visibly bent, so the
solver bends knees and elbows the way they bend instead of twisting them sideways.
"""
import numpy as np

from ..motion import limbs, quat
from ..motion.skeleton import forward_kinematics

# Chains longer than the two main limb bones (clavicle, CMU's LHipJoint, spine joints)
# get this weight: they still help with unreachable targets but do not dominate.
OUTER_WEIGHT = 0.3
# The middle joint becomes a hinge once the limb bends by more than this (radians).
HINGE_MIN_BEND = np.radians(8.0)


def effector_chain(skeleton, joint, length=None):
    """The classic IK chain for an end effector, from its parent upward (child first).

    Walks up from ``joint``'s parent and stops before the first *branching* joint: one
    with more than one child subtree of three or more joints (spine, chest, hips).
    Small side subtrees (twist bones, share bones, eyes) do not count, so rigs like
    Character Creator's (thigh and forearm with twist bones) still give full limbs.
    Hand: forearm, upper arm, clavicle/shoulder. Foot: shin, thigh (and a hip-socket
    bone like CMU's LHipJoint when the rig has one). A chain shorter than two joints
    (a head on a one-bone neck) continues through branching joints up to two joints.
    Never includes a root. ``length`` caps the number of joints.
    """
    chain = []
    j = _first_lever(skeleton, joint)
    while j >= 0 and skeleton.parents[j] >= 0:
        if _is_branching(skeleton, j) and len(chain) >= 2:
            break
        chain.append(j)
        if _is_branching(skeleton, j):
            break  # allowed only to reach two joints; go no higher
        j = int(skeleton.parents[j])
    if not chain and joint >= 0 and skeleton.parents[joint] >= 0:
        chain = [int(skeleton.parents[joint])]  # the parent is the root: rotate it
    if length is not None:
        chain = chain[:max(1, int(length))]
    return chain


def _first_lever(skeleton, joint):
    """The nearest ancestor whose rotation moves ``joint`` (skips zero-length bones
    like CMU 3ds-Max's 'lhand' sitting exactly on 'LeftWrist')."""
    rest = skeleton.rest_positions()
    eps = 1e-6 * max(float(np.ptp(rest, axis=0).max()), 1e-9)
    j = int(skeleton.parents[joint])
    while j >= 0 and skeleton.parents[j] >= 0 and np.linalg.norm(rest[j] - rest[joint]) < eps:
        j = int(skeleton.parents[j])
    return j


def two_bone_levers(skeleton, joint, chain):
    """(mid, top): the two joints of ``chain`` nearest ``joint`` that each turn a bone of
    length (the knee and the hip of an ankle; zero-length bones such as an end joint on
    its parent are passed over), or None when the chain has fewer than two."""
    rest = skeleton.rest_positions()
    eps = 1e-6 * max(float(np.ptp(rest, axis=0).max()), 1e-9)
    levers, below = [], int(joint)
    for j in chain:
        if np.linalg.norm(rest[j] - rest[below]) >= eps:
            levers.append(int(j))
            below = int(j)
            if len(levers) == 2:
                return tuple(levers)
    return None


def _is_branching(skeleton, j):
    # A branch is a child subtree of 3+ joints: twist/share/eye/breast bones are not.
    return limbs.is_branching(skeleton, j)


def default_weights(n):
    """Weights for an ``n``-joint chain: the two main bones 1, outer joints OUTER_WEIGHT."""
    return np.array([1.0 if i < 2 else OUTER_WEIGHT for i in range(n)])


def solve_chain(skeleton, rotations, translations, joint, target, chain, iterations=20,
                tolerance=1e-4, move_root=False, weights=None, damping=0.05):
    """Rotate ``chain`` joints so that ``joint``'s world position reaches ``target``.

    rotations (..., J, 4) local, translations (..., J, 3), target (..., 3) in skeleton
    space; any leading batch shape (e.g. one entry per frame). ``chain``: joint indices
    from the effector's parent upward (``effector_chain`` gives the usual one); only
    these rotations change, plus the root translation when ``move_root``. ``weights``:
    one per chain joint (larger moves more); default ``default_weights``.
    ``iterations``: at most this many DLS steps (more are needed for far targets).
    ``tolerance``: stop when the error is below ``tolerance`` x the limb length.
    ``damping``: DLS damping as a fraction of the limb length (stability near a
    straight limb or an unreachable target). Returns new (rotations, translations).
    """
    rotations = np.array(rotations, dtype=np.float64)
    translations = np.array(translations, dtype=np.float64)
    batch = rotations.shape[:-2]
    target = np.broadcast_to(np.asarray(target, dtype=np.float64), batch + (3,))
    path = skeleton.chain(int(joint))[::-1]  # root ... effector
    chain = [int(c) for c in chain]
    slots = _chain_slots(skeleton, path, chain, joint)
    w = default_weights(len(chain)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(chain),):
        raise ValueError(f"IK weights: expected {len(chain)} values (one per chain joint), got {w.shape}")
    limb = _limb_length(skeleton, path, slots)
    tol, lam, max_step = tolerance * limb, damping * limb, 0.4 * limb
    dof_w = np.repeat(w, 3) ** 2
    if move_root:
        dof_w = np.concatenate([dof_w, np.ones(3)])
    best = (rotations.copy(), translations.copy(), np.full(batch + (1,), np.inf))
    # The path above the chain never moves (unless the root does): its world frames once.
    top = min(slots)
    prefix = path_world(skeleton, rotations, translations, path[:top]) if top > 0 and not move_root else None
    for it in range(int(iterations) + 1):
        wrot, wpos = path_world(skeleton, rotations, translations, path, prefix)
        err = target - wpos[..., -1, :]
        dist = np.linalg.norm(err, axis=-1, keepdims=True)
        _keep_best(best, rotations, translations, dist)
        active = dist > tol
        if it == iterations or not active.any():
            break
        # Clamping the step keeps the linearisation honest for far targets.
        step = err * np.minimum(1.0, max_step / np.maximum(dist, 1e-12))
        jac = _jacobian(wpos, slots, move_root)
        jw = jac * dof_w
        a = jw @ np.swapaxes(jac, -1, -2) + (lam ** 2) * np.eye(3)
        x = np.linalg.solve(a, step[..., None])[..., 0]
        delta = np.einsum("...ij,...i->...j", jw, x) * active
        _apply(rotations, translations, wrot, path, chain, slots, delta, move_root)
    return best[0], best[1]


def _keep_best(best, rotations, translations, dist):
    """Unreachable targets can make DLS wander; return each entry's closest pose."""
    better = dist < best[2]
    best[0][...] = np.where(better[..., None], rotations, best[0])
    best[1][...] = np.where(better[..., None], translations, best[1])
    best[2][...] = np.minimum(dist, best[2])


def effector_position(skeleton, rotations, translations, joint):
    """World position (..., 3) of one joint, computing only its ancestors."""
    path = skeleton.chain(int(joint))[::-1]
    return path_world(skeleton, np.asarray(rotations, float), np.asarray(translations, float), path)[1][..., -1, :]


def _chain_slots(skeleton, path, chain, joint):
    if not chain:
        raise ValueError(f"IK chain for '{skeleton.names[joint]}' is empty; give at least one ancestor joint")
    slots = []
    for c in chain:
        if c not in path[:-1]:
            raise ValueError(f"IK chain joint '{skeleton.names[c]}' is not an ancestor of '{skeleton.names[joint]}'")
        slots.append(path.index(c))
    return slots


def _limb_length(skeleton, path, slots):
    top = min(slots)
    length = sum(np.linalg.norm(skeleton.rest_translations[j]) for j in path[top + 1:])
    return max(float(length), 1e-9)


def path_world(skeleton, rotations, translations, path, prefix=None):
    """World rotations and positions (..., len(path), 4/3) along a root-to-joint path: bit
    for bit what ``forward_kinematics`` gives those joints (the same operations), for the
    cost of the path alone. ``prefix``: this function's answer for the first joints of
    the path, already known (they are not computed again)."""
    shape = rotations.shape[:-2]
    wrot = np.empty(shape + (len(path), 4))
    wpos = np.empty(shape + (len(path), 3))
    known = 0
    if prefix is not None:
        known = prefix[0].shape[-2]
        wrot[..., :known, :], wpos[..., :known, :] = prefix
    for k, j in enumerate(path[known:], start=known):
        local = quat.mul(skeleton.rest_rotations[j], rotations[..., j, :])
        if k == 0:
            wrot[..., 0, :] = local
            wpos[..., 0, :] = translations[..., j, :]
        else:
            wrot[..., k, :] = quat.mul(wrot[..., k - 1, :], local)
            wpos[..., k, :] = wpos[..., k - 1, :] + quat.mul_vec(wrot[..., k - 1, :], translations[..., j, :])
    return wrot, wpos


def _skew(v):
    z = np.zeros(v.shape[:-1])
    x, y, w = v[..., 0], v[..., 1], v[..., 2]
    return np.stack([np.stack([z, -w, y], -1), np.stack([w, z, -x], -1), np.stack([-y, x, z], -1)], -2)


def _jacobian(wpos, slots, move_root):
    """d(effector)/d(world rotation vector) per chain joint: omega x r = -[r]x omega."""
    eff = wpos[..., -1, :]
    blocks = []
    for i, k in enumerate(slots):
        block = -_skew(eff - wpos[..., k, :])
        if i == 0 and len(slots) >= 2:
            block = block @ _hinge_projector(wpos, slots[0], slots[1])
        blocks.append(block)
    if move_root:
        blocks.append(np.broadcast_to(np.eye(3), eff.shape[:-1] + (3, 3)))
    return np.concatenate(blocks, axis=-1)


def _hinge_projector(wpos, mid, top):
    """Projector onto the middle joint's bend axis where the limb is bent, else identity."""
    upper = wpos[..., mid, :] - wpos[..., top, :]
    lower = wpos[..., -1, :] - wpos[..., mid, :]
    axis = np.cross(upper, lower)
    sin = np.linalg.norm(axis, axis=-1) / np.maximum(np.linalg.norm(upper, axis=-1) * np.linalg.norm(lower, axis=-1), 1e-12)
    axis = axis / np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), 1e-12)
    hinge = (sin > np.sin(HINGE_MIN_BEND))[..., None, None]
    return np.where(hinge, axis[..., :, None] * axis[..., None, :], np.eye(3))


def _apply(rotations, translations, wrot, path, chain, slots, delta, move_root):
    """World-axis rotation vectors -> local rotations: R_world * exp(local) = exp(world) * R_world."""
    for i, (j, k) in enumerate(zip(chain, slots)):
        local_axis = quat.inv_mul_vec(wrot[..., k, :], delta[..., 3 * i:3 * i + 3])
        rotations[..., j, :] = quat.normalize(quat.mul(rotations[..., j, :], quat.from_scaled_axis(local_axis)))
    if move_root:
        translations[..., path[0], :] += delta[..., -3:]


# ---------------------------------------------------------------------------------------
# whole body: several effectors, many joints, the root translation, capped joints

def solve_body(skeleton, rotations, translations, tasks, joints, weights, root=None, root_weight=0.0,
               caps=None, hinges=(), iterations=30, damping=0.05, scale=1.0, root_bounds=None):
    """Weighted damped least squares over many joints and effectors at once.

    ``tasks``: list of (effector joint, target (..., 3), axis weights (3,)) — a planted
    foot is a task with a small vertical weight (it may lift, it may not slide).
    ``joints``/``weights``: the rotating joints and how readily each moves (larger
    moves more; limbs ~1, spine ~0.3). ``root``: a joint whose translation may move
    (the pelvis), with ``root_weight``. ``caps``: per joint, the largest rotation (rad)
    away from the starting pose (a spine that bends only so far). ``hinges``: (mid,
    top) pairs whose mid joint bends about its current bend axis (knee, elbow).
    ``scale``: a length (the body's limb length) that makes weights unit-free.
    ``root_bounds``: (low, high), each broadcastable to (..., 3): the box the root's
    translation stays in (the body rises and shifts only as far as the clip allows).
    Returns new (rotations, translations), each entry's closest pose found.
    """
    if not float(scale) > 0.0:
        raise ValueError(f"solve_body needs a positive length scale, got {scale}")
    rotations = np.array(rotations, dtype=np.float64)
    translations = np.array(translations, dtype=np.float64)
    start = rotations.copy()
    joints = [int(j) for j in joints]
    batch = rotations.shape[:-2]
    effs = [int(t[0]) for t in tasks]
    goals = [np.broadcast_to(np.asarray(t[1], dtype=np.float64), batch + (3,)) for t in tasks]
    axis_w = np.concatenate([np.broadcast_to(np.asarray(t[2], dtype=np.float64), (3,)) for t in tasks])
    anc = [[skeleton.chain(e) for e in effs]]
    anc = [set(a) for a in anc[0]]
    dof_w = np.repeat(np.asarray(weights, dtype=np.float64), 3)
    if root is not None:
        dof_w = np.concatenate([dof_w, np.full(3, root_weight)])
    sqrt_w = np.sqrt(dof_w)
    lam = damping * scale
    max_step = 0.3 * scale
    best = (rotations.copy(), translations.copy(), np.full(batch + (1,), np.inf))
    caps = None if caps is None else np.asarray(caps, dtype=np.float64)
    prev = np.full(batch + (1,), np.inf)
    for it in range(int(iterations) + 1):
        wrot, wpos = _full_world(skeleton, rotations, translations)
        err = np.concatenate([g - wpos[..., e, :] for e, g in zip(effs, goals)], axis=-1)  # (..., 3n)
        werr = err * np.sqrt(axis_w)
        dist = np.linalg.norm(werr, axis=-1, keepdims=True)
        _keep_best(best, rotations, translations, dist)
        if it == iterations or not (dist > 1e-5 * scale).any():
            break
        # Unreachable entries plateau: stop once no entry improves any more.
        if it > 3 and not (prev - dist > np.maximum(1e-5 * scale, 0.01 * dist)).any():
            break
        prev = dist
        norm = np.linalg.norm(werr, axis=-1, keepdims=True)
        werr = werr * np.minimum(1.0, max_step / np.maximum(norm, 1e-12))
        jac = _body_jacobian(skeleton, wpos, effs, anc, joints, root, hinges)     # (..., 3n, D)
        a = jac * np.sqrt(axis_w)[:, None] * sqrt_w                                # weighted
        if root is not None:
            a[..., -3:] *= scale  # translation DOF in units of ``scale``
        aat = a @ np.swapaxes(a, -1, -2) + (lam ** 2) * np.eye(a.shape[-2])
        y = np.einsum("...ij,...i->...j", a, np.linalg.solve(aat, werr[..., None])[..., 0])
        delta = y * sqrt_w
        if root is not None:
            delta[..., -3:] *= scale
        for i, j in enumerate(joints):
            local_axis = quat.inv_mul_vec(wrot[..., j, :], delta[..., 3 * i:3 * i + 3])
            rotations[..., j, :] = quat.normalize(quat.mul(rotations[..., j, :], quat.from_scaled_axis(local_axis)))
        if caps is not None:
            _clamp_rotations(rotations, start, joints, caps)
        if root is not None:
            parent = skeleton.parents[root]
            move = delta[..., -3:]
            if parent >= 0:
                move = quat.inv_mul_vec(wrot[..., parent, :], move)
            translations[..., root, :] += move
            if root_bounds is not None:
                np.clip(translations[..., root, :], root_bounds[0], root_bounds[1], out=translations[..., root, :])
    return best[0], best[1]


def _full_world(skeleton, rotations, translations):
    return forward_kinematics(skeleton, rotations, translations)


def _body_jacobian(skeleton, wpos, effs, anc, joints, root, hinges):
    rows = []
    hinge_of = dict(hinges)
    for e, ancestors in zip(effs, anc):
        blocks = []
        for j in joints:
            if j in ancestors and j != e:
                block = -_skew(wpos[..., e, :] - wpos[..., j, :])
                if j in hinge_of:
                    block = block @ _hinge_axis_projector(wpos, j, hinge_of[j], e)
            else:
                block = np.zeros(wpos.shape[:-2] + (3, 3))
            blocks.append(block)
        if root is not None:
            blocks.append(np.broadcast_to(np.eye(3), wpos.shape[:-2] + (3, 3)))
        rows.append(np.concatenate(blocks, axis=-1))
    return np.concatenate(rows, axis=-2)


def _hinge_axis_projector(wpos, mid, top, eff):
    upper = wpos[..., mid, :] - wpos[..., top, :]
    lower = wpos[..., eff, :] - wpos[..., mid, :]
    axis = np.cross(upper, lower)
    sin = np.linalg.norm(axis, axis=-1) / np.maximum(np.linalg.norm(upper, axis=-1) * np.linalg.norm(lower, axis=-1), 1e-12)
    axis = axis / np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), 1e-12)
    hinge = (sin > np.sin(HINGE_MIN_BEND))[..., None, None]
    return np.where(hinge, axis[..., :, None] * axis[..., None, :], np.eye(3))


def _clamp_rotations(rotations, start, joints, caps):
    """Keep each joint within ``caps`` radians of its starting rotation."""
    for j, cap in zip(joints, caps):
        if not np.isfinite(cap):
            continue
        d = quat.to_scaled_axis(quat.inv_mul(start[..., j, :], rotations[..., j, :]))
        n = np.linalg.norm(d, axis=-1, keepdims=True)
        over = n > cap
        if over.any():
            d = np.where(over, d * (cap / np.maximum(n, 1e-12)), d)
            rotations[..., j, :] = quat.mul(start[..., j, :], quat.from_scaled_axis(d))


# ---------------------------------------------------------------------------------------
# two-bone analytic IK (a smooth function of the target: no per-frame iteration noise)

def two_bone(skeleton, rotations, translations, joint, target, mid, top, hint_axis=None):
    """Move ``joint`` (ankle/wrist) to ``target`` by bending ``mid`` (knee/elbow) about its
    bend axis and swinging ``top`` (hip/shoulder). ``hint_axis`` (..., 3) world bend axis
    used where the limb is nearly straight. Out of reach: the limb straightens toward it.
    Returns new rotations (translations unchanged)."""
    rotations = np.array(rotations, dtype=np.float64)
    target = np.broadcast_to(np.asarray(target, dtype=np.float64), rotations.shape[:-2] + (3,))
    path = skeleton.chain(int(joint))[::-1]
    k_top, k_mid = path.index(int(top)), path.index(int(mid))
    wrot, wpos = path_world(skeleton, rotations, np.asarray(translations, float), path)
    h, k, a = wpos[..., k_top, :], wpos[..., k_mid, :], wpos[..., -1, :]
    la = np.linalg.norm(k - h, axis=-1)
    lb = np.linalg.norm(a - k, axis=-1)
    d = np.clip(np.linalg.norm(target - h, axis=-1), np.abs(la - lb) + 1e-6 * (la + lb), (la + lb) * (1 - 1e-6))
    cur = np.clip((la ** 2 + lb ** 2 - np.sum((a - h) ** 2, -1)) / (2 * la * lb), -1, 1)
    want = np.clip((la ** 2 + lb ** 2 - d ** 2) / (2 * la * lb), -1, 1)
    axis = np.cross(k - h, a - k) / np.maximum(la * lb, 1e-12)[..., None]
    if hint_axis is not None:
        axis = axis + 0.1 * np.asarray(hint_axis, dtype=np.float64)
    axis = axis / np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), 1e-12)
    # Bend = pi - interior angle; rotating the lower bone about +axis increases the bend.
    bend = np.arccos(cur) - np.arccos(want)
    q_mid = quat.from_axis_angle(axis, bend)
    a2 = k + quat.mul_vec(q_mid, a - k)
    q_top = quat.between(a2 - h, target - h)
    rotations[..., mid, :] = _world_delta_to_local(rotations[..., mid, :], wrot[..., k_mid, :], q_mid)
    rotations[..., top, :] = _world_delta_to_local(rotations[..., top, :], wrot[..., k_top, :], q_top)
    return rotations


def _world_delta_to_local(local, world, q):
    """local' such that the joint's world rotation becomes q * world."""
    return quat.normalize(quat.mul(local, quat.mul(quat.inv(world), quat.mul(q, world))))
