"""Retargeting a clip onto another rig (numpy only).

Per mapped bone the target takes the source bone's world rotation relative to its rest
(converted from the source's axes to the target's), after a per-bone rest alignment that
turns the target's rest bone onto the source's rest bone direction: a T-pose clip drives an
A-pose rig without lifting its arms. Bones without a partner keep their rest pose relative
to their parent (twist and helper bones, extra spine joints).

The pelvis follows the source's path scaled by the ratio of leg lengths (root motion kept,
steps as long as the legs), at its height above the floor scaled the same way; then, per
frame, the body is lifted or lowered so that its lowest foot is exactly as high above the
target's floor as the source's lowest foot is above the source's (feet stay on the ground
where the source's do, neither sinking nor floating when the legs' proportions differ).
"""
from dataclasses import dataclass

import numpy as np

from ..motion import contacts, quat
from ..motion.skeleton import Motion, Skeleton, floating_joints, forward_kinematics
from ..refine.ik import two_bone
from . import mapping as bone_mapping

AXIS_VECTORS = np.eye(3)


@dataclass
class RigFrame:
    """A rig's body axes in its own space at rest: right (left hip -> right hip), up, forward."""
    right: np.ndarray
    up: np.ndarray
    forward: np.ndarray

    def matrix(self):
        return np.stack([self.right, self.up, self.forward], axis=1)


def rig_frame(skeleton, parts, positions=None):
    """The body axes from the hips and the skeleton's up axis; ``positions`` (J, 3) is a
    pose to measure on instead of the rest pose (rigs whose rest pose does not stand)."""
    pos = skeleton.rest_positions() if positions is None else positions
    up = AXIS_VECTORS[skeleton.up_axis].copy()
    head, pelvis = parts.get("head"), parts.get("pelvis")
    if head is not None and pelvis is not None and np.dot(pos[head] - pos[pelvis], up) < 0:
        up = -up
    right = pos[parts["r_thigh"]] - pos[parts["l_thigh"]]
    right = right - np.dot(right, up) * up
    n = np.linalg.norm(right)
    if n < 1e-9:
        raise ValueError("the rig's hips are not side by side; cannot find which way it faces")
    right /= n
    return RigFrame(right, up, np.cross(up, right))


def leg_length(skeleton, parts):
    """Thigh + shin + ankle height chain length at rest (mean of both legs), in the rig's units."""
    pos = skeleton.rest_positions()
    total = []
    for s in ("l", "r"):
        if all(f"{s}_{p}" in parts for p in ("thigh", "shin", "foot")):
            a, b, c = (pos[parts[f"{s}_{p}"]] for p in ("thigh", "shin", "foot"))
            total.append(np.linalg.norm(b - a) + np.linalg.norm(c - b))
    if not total:
        raise ValueError("the rig has no legs that could be found (thigh, shin and foot); map them by hand")
    return float(np.mean(total))


@dataclass
class RetargetResult:
    motion: Motion
    mapping: dict           # {target bone: source bone} used
    scale: float            # target units per source unit
    axes: np.ndarray        # (3, 3) source space -> target space rotation


def _alignment_child(part):
    """Which part a part's bone points to, for the rest alignment."""
    return {"pelvis": "chest", "spine": "chest", "spine1": "chest", "chest": "neck", "neck": "head",
            "l_clavicle": "l_upper_arm", "l_upper_arm": "l_forearm", "l_forearm": "l_hand",
            "r_clavicle": "r_upper_arm", "r_upper_arm": "r_forearm", "r_forearm": "r_hand",
            "l_thigh": "l_shin", "l_shin": "l_foot", "l_foot": "l_toe",
            "r_thigh": "r_shin", "r_shin": "r_foot", "r_foot": "r_toe"}.get(part)


def retarget(source_motion, target_skeleton, mapping=None, source_preset=None, target_preset=None,
             keep_feet=True, name=None, target_pose=None):
    """``source_motion`` on ``target_skeleton``: a Motion with the target's joints, in the
    target's space and units, the source's frame rate and length.

    ``target_pose`` (J, 4): local rotations of a standing pose of the target, for a rig
    whose rest pose does not stand (Bandai Namco's); the rest pose otherwise."""
    src_skel = source_motion.skeleton
    if mapping is None:
        mapping = bone_mapping.map_bones(src_skel, target_skeleton, source_preset, target_preset)
    pairs = bone_mapping.check_mapping(mapping, src_skel, target_skeleton)
    if not pairs:
        raise ValueError("no bones mapped between the clip and the rig")
    src_parts = bone_mapping.body_parts(src_skel, source_preset)
    tgt_parts = bone_mapping.body_parts(target_skeleton, target_preset)
    for need in ("pelvis", "l_thigh", "r_thigh", "l_foot", "r_foot"):
        if need not in src_parts or need not in tgt_parts:
            raise ValueError(f"cannot find the {need.replace('_', ' ')} in both rigs; map the bones by hand")

    src_world_rot, src_world_pos = source_motion.world()
    src_rest_rot, src_rest_pos = clip_offsets_skeleton(source_motion).rest_transforms()
    tgt_rest_rot, tgt_rest_pos = _reference_pose(target_skeleton, target_pose)
    src_frame = rig_frame(src_skel, src_parts, _standing_pose(src_skel, src_parts, src_world_pos))
    tgt_frame = rig_frame(target_skeleton, tgt_parts, tgt_rest_pos)
    axes = tgt_frame.matrix() @ src_frame.matrix().T          # source space -> target space
    scale = leg_length(target_skeleton, tgt_parts) / leg_length(src_skel, src_parts)

    world = _target_world_rotations(pairs, src_parts, tgt_parts, src_world_rot, src_world_pos, src_rest_rot,
                                    src_rest_pos, target_skeleton, tgt_rest_rot, tgt_rest_pos, axes,
                                    (src_frame, tgt_frame))
    rotations = _local_rotations(target_skeleton, world)
    translations = np.broadcast_to(target_skeleton.rest_translations, world.shape[:2] + (3,)).copy()
    pelvis_path = _pelvis_path(src_parts, tgt_parts, src_world_pos, tgt_rest_pos, axes, scale, src_frame, tgt_frame)
    _place_pelvis(target_skeleton, tgt_parts["pelvis"], rotations, translations, pelvis_path)
    if keep_feet:
        _keep_feet(target_skeleton, src_parts, tgt_parts, src_world_pos, tgt_rest_pos, rotations, translations,
                   scale, src_frame, tgt_frame)
        rotations = _plant_feet(source_motion, src_parts, tgt_parts, src_world_pos, target_skeleton, rotations,
                                translations, tgt_frame)
    out = Motion(target_skeleton, quat.unroll(rotations), translations, source_motion.fps,
                 name or source_motion.name, {"retargeted_from": source_motion.name})
    return RetargetResult(out, dict(mapping), scale, axes)


def _target_world_rotations(pairs, src_parts, tgt_parts, src_world_rot, src_world_pos, src_rest_rot, src_rest_pos,
                            target_skeleton, tgt_rest_rot, tgt_rest_pos, axes, frames_of_rigs):
    """(F, J, 4) target world rotations: mapped bones from the source's rest-relative world
    rotations (rest-aligned, then aimed along the source's bones), others at rest under
    their parents."""
    src_frame, tgt_frame = frames_of_rigs
    align = _rest_alignment(pairs, src_parts, tgt_parts, src_rest_pos, tgt_rest_pos, axes, tgt_frame, src_frame)
    bones = _aimed_bones(pairs, src_parts, tgt_parts)
    c = quat.from_matrix(axes)
    frames, nj = src_world_rot.shape[0], target_skeleton.num_joints
    world = np.empty((frames, nj, 4))
    mapped = {k: j for j, k in pairs}
    for k in range(nj):
        j = mapped.get(k)
        p = target_skeleton.parents[k]
        if j is None:  # keeps its rest pose relative to its parent
            parent_rot = world[:, p] if p >= 0 else quat.identity((frames,))
            world[:, k] = quat.mul(parent_rot, target_skeleton.rest_rotations[k])
            continue
        delta = quat.mul(src_world_rot[:, j], quat.inv(src_rest_rot[j]))        # source world, relative to rest
        delta = quat.mul(quat.mul(c, delta), quat.inv(c))                        # in target axes
        world[:, k] = quat.mul(quat.mul(delta, align[k]), tgt_rest_rot[k])
        if k in bones:
            world[:, k] = _aim(world[:, k], tgt_rest_rot[k], tgt_rest_pos, k, bones[k], src_world_pos, axes)
    return world


def _reference_pose(skeleton, pose):
    """World rotations and positions (J, 4), (J, 3) of the rest pose or of ``pose``."""
    if pose is None:
        return skeleton.rest_transforms()
    rot, pos = forward_kinematics(skeleton, np.asarray(pose)[None], skeleton.rest_translations[None])
    return rot[0], pos[0]


def clip_offsets_skeleton(motion):
    """The skeleton with the clip's own bone offsets as its rest offsets: files that animate
    every joint's position (Bandai Namco's BVH) hold rest offsets the clip never uses."""
    skel = motion.skeleton
    offsets = np.median(motion.translations, axis=0)
    offsets[skel.parents < 0] = skel.rest_translations[skel.parents < 0]
    moving = floating_joints(skel, motion.translations)
    offsets[moving] = skel.rest_translations[moving]
    return Skeleton(skel.names, skel.parents, skel.rest_rotations, offsets, skel.up_axis)


def _aimed_bones(pairs, src_parts, tgt_parts):
    """{target joint: (source joint, source child, target child)} for the bones that are aimed
    along the source's bone each frame: every mapped part with a mapped child part, but the
    pelvis (its frame is set by the rest alignment of up and right)."""
    src_part_of = {j: p for p, j in src_parts.items()}
    out = {}
    for j, k in pairs:
        part = src_part_of.get(j)
        child = _alignment_child(part) if part and part != "pelvis" else None
        if child and child in src_parts and child in tgt_parts and tgt_parts.get(part) == k:
            out[k] = (j, src_parts[child], tgt_parts[child])
    return out


def _aim(world_k, rest_rot_k, tgt_rest_pos, k, bone, src_world_pos, axes):
    """Swing ``world_k`` (F, 4) so the target bone k -> child points where the source's does.

    Where the source has joints between the two parts that the target lacks (CMU's
    lowerneck between the chest and the neck), the source's bone direction depends on
    those joints too; rotating by the part's own rotation alone would miss their share."""
    j, src_child, tgt_child = bone
    rest_dir = quat.inv_mul_vec(rest_rot_k, tgt_rest_pos[tgt_child] - tgt_rest_pos[k])   # in the bone's rest frame
    have = quat.mul_vec(world_k, np.broadcast_to(rest_dir, world_k.shape[:-1] + (3,)))
    want = (src_world_pos[:, src_child] - src_world_pos[:, j]) @ axes.T
    ok = np.linalg.norm(want, axis=-1) > 1e-9 * (1.0 + np.linalg.norm(have, axis=-1))
    swing = quat.between(have, np.where(ok[:, None], want, have))
    return quat.normalize(quat.mul(swing, world_k))


def _standing_pose(skeleton, parts, world_pos):
    """The source pose to read its body axes from: the rest pose, unless it does not stand
    (hips not side by side, head below the pelvis), then the clip's first frame."""
    rest = skeleton.rest_positions()
    up = AXIS_VECTORS[skeleton.up_axis]
    hips = rest[parts["r_thigh"]] - rest[parts["l_thigh"]]
    side = np.linalg.norm(hips - np.dot(hips, up) * up)
    span = np.linalg.norm(hips) + 1e-12
    if side / span > 0.5:
        return rest
    return world_pos[0]


def _rest_alignment(pairs, src_parts, tgt_parts, src_rest_pos, tgt_rest_pos, axes, tgt_frame, src_frame):
    """Per mapped target joint: the world rotation turning its rest bone onto the source's."""
    src_part_of = {j: p for p, j in src_parts.items()}
    tgt_joint_of = dict(tgt_parts)
    align = {}
    by_part = {}
    for j, k in pairs:
        part = src_part_of.get(j)
        child = _alignment_child(part) if part else None
        if part and child and child in src_parts and child in tgt_joint_of and tgt_joint_of.get(part) == k:
            d_src = axes @ (src_rest_pos[src_parts[child]] - src_rest_pos[j])
            d_tgt = tgt_rest_pos[tgt_joint_of[child]] - tgt_rest_pos[k]
            if part == "pelvis":
                align[k] = _frame_alignment(d_tgt, tgt_frame.right, d_src, axes @ src_frame.right)
            else:
                align[k] = quat.between(d_tgt, d_src)
            by_part[part] = align[k]
        else:
            align[k] = None
    inherit = {"l_hand": "l_forearm", "r_hand": "r_forearm", "l_toe": "l_foot", "r_toe": "r_foot", "head": "neck"}
    for j, k in pairs:
        if align[k] is None:
            part = src_part_of.get(j)
            align[k] = by_part.get(inherit.get(part), quat.identity())
    return align


def _frame_alignment(up_tgt, right_tgt, up_src, right_src):
    """The rotation taking the target's (up, right) pair onto the source's."""
    def basis(up, right):
        u = up / np.linalg.norm(up)
        r = right - np.dot(right, u) * u
        r /= np.linalg.norm(r)
        return np.stack([r, u, np.cross(r, u)], axis=1)
    return quat.from_matrix(basis(up_src, right_src) @ basis(up_tgt, right_tgt).T)


def _local_rotations(skeleton, world):
    local = np.empty_like(world)
    for k, p in enumerate(skeleton.parents):
        parent = world[:, p] if p >= 0 else quat.identity((world.shape[0],))
        local[:, k] = quat.inv_mul(quat.mul(parent, skeleton.rest_rotations[k]), world[:, k])
    return quat.normalize(local)


def _height(pos, frame):
    return pos @ frame.up


def _source_floor(src_world_pos, src_parts, src_frame):
    feet = [src_parts[p] for p in ("l_foot", "r_foot", "l_toe", "r_toe") if p in src_parts]
    return float(np.percentile(_height(src_world_pos[:, feet], src_frame), 5)), feet


def _target_floor(tgt_rest_pos, tgt_parts, tgt_frame):
    feet = [tgt_parts[p] for p in ("l_foot", "r_foot", "l_toe", "r_toe") if p in tgt_parts]
    return float(_height(tgt_rest_pos[feet], tgt_frame).min()), feet


def _pelvis_path(src_parts, tgt_parts, src_world_pos, tgt_rest_pos, axes, scale, src_frame, tgt_frame):
    """The target pelvis's world path (F, 3): the source's, scaled, starting where the rig stands."""
    src_pelvis = src_world_pos[:, src_parts["pelvis"]]
    g_src, _ = _source_floor(src_world_pos, src_parts, src_frame)
    g_tgt, _ = _target_floor(tgt_rest_pos, tgt_parts, tgt_frame)
    moved = (src_pelvis - src_pelvis[0]) @ axes.T * scale
    up = tgt_frame.up
    ground_move = moved - np.outer(moved @ up, up)
    start = tgt_rest_pos[tgt_parts["pelvis"]]
    start_ground = start - np.dot(start, up) * up
    height = g_tgt + scale * (_height(src_pelvis, src_frame) - g_src)
    return start_ground + ground_move + np.outer(height, up)


def _place_pelvis(skeleton, pelvis, rotations, translations, path):
    """Set the pelvis's translation so its world position follows ``path``."""
    parent = skeleton.parents[pelvis]
    if parent < 0:
        translations[:, pelvis] = path
        return
    world_rot, world_pos = forward_kinematics(skeleton, rotations, translations, joints=[parent])
    translations[:, pelvis] = quat.inv_mul_vec(world_rot[:, parent], path - world_pos[:, parent])


def _keep_feet(target_skeleton, src_parts, tgt_parts, src_world_pos, tgt_rest_pos, rotations, translations, scale,
               src_frame, tgt_frame):
    """Lift or lower the body per frame so its lowest foot is as high above the floor as the
    source's lowest foot, scaled."""
    g_src, src_feet = _source_floor(src_world_pos, src_parts, src_frame)
    g_tgt, tgt_feet = _target_floor(tgt_rest_pos, tgt_parts, tgt_frame)
    _, pos = forward_kinematics(target_skeleton, rotations, translations, joints=tgt_feet)
    want = g_tgt + scale * (_height(src_world_pos[:, src_feet], src_frame).min(axis=1) - g_src)
    have = _height(pos[:, tgt_feet], tgt_frame).min(axis=1)
    lift = np.outer(want - have, tgt_frame.up)
    pelvis = tgt_parts["pelvis"]
    parent = target_skeleton.parents[pelvis]
    if parent < 0:
        translations[:, pelvis] += lift
    else:
        world_rot, _ = forward_kinematics(target_skeleton, rotations, translations, joints=[parent])
        translations[:, pelvis] += quat.inv_mul_vec(world_rot[:, parent], lift)


def _plant_feet(source_motion, src_parts, tgt_parts, src_world_pos, target_skeleton, rotations, translations,
                tgt_frame):
    """Hold each target foot where it is while the source's foot is planted (low and slow,
    engine/motion/contacts.py), by two-bone IK of the leg, blending in and out with the
    contact weights; the foot keeps its world rotation. Different leg proportions would
    otherwise slide a planted foot by the difference of the strides."""
    src_skel = source_motion.skeleton
    legs = [(src_parts[f"{s}_foot"], tgt_parts[f"{s}_foot"], tgt_parts[f"{s}_shin"], tgt_parts[f"{s}_thigh"])
            for s in ("l", "r") if all(f"{s}_{p}" in tgt_parts for p in ("foot", "shin", "thigh"))
            and f"{s}_foot" in src_parts]
    if not legs:
        return rotations
    feet = contacts.contact_joints(src_skel, src_world_pos, [leg[0] for leg in legs])
    span = src_skel.span(source_motion.translations)
    weights = contacts.contact_weights(source_motion, feet, span, src_world_pos)
    mask = contacts.contact_mask(source_motion, feet, span, src_world_pos)
    up = tgt_frame.up
    for (_, ankle, knee, hip), w, m in zip(legs, weights, mask.T):
        if not m.any():
            continue
        world_rot, world_pos = forward_kinematics(target_skeleton, rotations, translations, joints=[ankle])
        current = world_pos[:, ankle]
        anchor = _run_anchors(current, m)
        ground_anchor = anchor - np.outer(anchor @ up, up)
        target = (current - np.outer(current @ up, up)) * (1.0 - w[:, None]) + ground_anchor * w[:, None] \
            + np.outer(current @ up, up)
        foot_world = world_rot[:, ankle].copy()
        active = w > 1e-6
        new = two_bone(target_skeleton, rotations[active], translations[active], ankle, target[active], knee, hip)
        rotations = rotations.copy()
        rotations[active] = new
        parent = target_skeleton.parents[ankle]
        prot, _ = forward_kinematics(target_skeleton, rotations[active], translations[active], joints=[parent])
        rest = quat.mul(prot[:, parent], target_skeleton.rest_rotations[ankle])
        rotations[active, ankle] = quat.normalize(quat.inv_mul(rest, foot_world[active]))
    return rotations


def _run_anchors(positions, mask):
    """Per frame, the mean position of the nearest contact run (F, 3)."""
    frames = len(mask)
    run_id = np.full(frames, -1)
    starts = np.flatnonzero(mask & ~np.concatenate([[False], mask[:-1]]))
    stops = np.flatnonzero(mask & ~np.concatenate([mask[1:], [False]])) + 1
    means = np.array([positions[a:b].mean(axis=0) for a, b in zip(starts, stops)])
    centres = (starts + stops - 1) / 2.0
    idx = np.arange(frames)
    inside = np.zeros(frames, dtype=bool)
    for r, (a, b) in enumerate(zip(starts, stops)):
        run_id[a:b] = r
        inside[a:b] = True
    nearest = np.abs(idx[:, None] - centres[None, :]).argmin(axis=1)
    run_id[~inside] = nearest[~inside]
    return means[run_id]
