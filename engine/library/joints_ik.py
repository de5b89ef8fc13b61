"""Joint positions -> rotations: HumanML3D-style (F, 22, 3) positions onto the SMPL body skeleton.

Text-to-motion models (MotionLCM, MoMask, MDM, T2M-GPT...) often output the 22 SMPL body
joint positions, Y up, metres, 20 fps, in SMPL's joint order. Retargeting needs rotations,
so ``motion_from_joints`` fits them: bone lengths are the clip's median ones, bone
directions come from SMPL's published zero-shape rest pose (engine/io/smpl.py), and per
frame each joint turns by the least rotation that points its bone at its child (the
pelvis and the upper spine use two directions: up the spine and across the hips or the
collars, which also fixes their twist). Limb twist is not in joint positions; it is the
least twist from the parent, as in HumanML3D's own inverse kinematics.
"""
import numpy as np

from ..io import smpl
from ..motion import quat
from ..motion.skeleton import Motion, Skeleton

NAMES = list(smpl.BODY_NAMES)
PARENTS = np.array(smpl.BODY_PARENTS)
PELVIS, L_HIP, R_HIP, SPINE1, SPINE3, NECK, L_COLLAR, R_COLLAR = 0, 1, 2, 3, 9, 12, 13, 14
AIM_CHILD = {1: 4, 2: 5, 3: 6, 4: 7, 5: 8, 6: 9, 7: 10, 8: 11, 12: 15, 13: 16, 14: 17, 16: 18, 17: 19, 18: 20,
             19: 21}
HUMANML3D_FPS = 20.0


def check_joints(joints):
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (22, 3):
        raise ValueError(f"joint positions must be (frames, 22, 3) in SMPL's body joint order, got {joints.shape}")
    if joints.shape[0] < 2:
        raise ValueError("joint positions hold fewer than 2 frames")
    if not np.all(np.isfinite(joints)):
        raise ValueError("joint positions hold NaN or infinite values")
    return joints


def body_skeleton(joints):
    """The SMPL body skeleton (Y up, metres, identity rest rotations) with the clip's
    median bone lengths along SMPL's rest directions."""
    rest = smpl.default_joints("body")
    offsets = rest - np.where(PARENTS[:, None] >= 0, rest[np.maximum(PARENTS, 0)], 0.0)
    lengths = np.median(np.linalg.norm(joints - joints[:, np.maximum(PARENTS, 0)], axis=-1), axis=0)
    norms = np.linalg.norm(offsets, axis=-1)
    scaled = offsets * (lengths / np.maximum(norms, 1e-12))[:, None]
    scaled[PELVIS] = rest[PELVIS]
    return Skeleton(NAMES, PARENTS, quat.identity((22,)), scaled, up_axis=1)


def _frame(up, across):
    """(..., 3, 3) orthonormal frames from an up and an across direction."""
    u = up / np.linalg.norm(up, axis=-1, keepdims=True)
    a = across - np.sum(across * u, axis=-1, keepdims=True) * u
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    return np.stack([a, u, np.cross(a, u)], axis=-1)


def _two_direction_rotation(rest_up, rest_across, up, across):
    """World rotations (F, 4) taking the rest (up, across) pair onto the observed ones."""
    target = _frame(up, across)
    rest = _frame(rest_up, rest_across)
    return quat.from_matrix(target @ np.swapaxes(rest, -1, -2))


def motion_from_joints(joints, fps=HUMANML3D_FPS, name="generated"):
    """A Motion on the SMPL body skeleton whose joints follow ``joints`` (F, 22, 3)."""
    joints = check_joints(joints)
    skel = body_skeleton(joints)
    frames = joints.shape[0]
    off = skel.rest_translations
    world = np.empty((frames, 22, 4))
    world[:, PELVIS] = _two_direction_rotation(
        off[SPINE1], off[L_HIP] - off[R_HIP], joints[:, SPINE1] - joints[:, PELVIS], joints[:, L_HIP] - joints[:, R_HIP])
    for j in range(1, 22):
        parent_rot = world[:, PARENTS[j]]
        if j == SPINE3:
            world[:, j] = _two_direction_rotation(
                off[NECK], off[L_COLLAR] - off[R_COLLAR], joints[:, NECK] - joints[:, j],
                joints[:, L_COLLAR] - joints[:, R_COLLAR])
        elif j in AIM_CHILD:
            c = AIM_CHILD[j]
            have = quat.mul_vec(parent_rot, np.broadcast_to(off[c], (frames, 3)))
            world[:, j] = quat.mul(quat.between(have, joints[:, c] - joints[:, j]), parent_rot)
        else:  # feet, head and wrists: no child joint to aim at
            world[:, j] = parent_rot
    local = np.empty_like(world)
    local[:, PELVIS] = world[:, PELVIS]
    local[:, 1:] = quat.inv_mul(world[:, PARENTS[1:]], world[:, 1:])
    translations = np.broadcast_to(off, (frames, 22, 3)).copy()
    translations[:, PELVIS] = joints[:, PELVIS]
    return Motion(skel, quat.unroll(quat.normalize(local)), translations, fps, name, {"source": "joint positions"})
