"""Per-frame state features of a clip, and their exact inverse.

The generator plays a sequence of states. One frame's state holds, in the root's
*heading frame* (the root's facing direction projected on the ground), so it does not
depend on where the character stands or which way it faces:

- ``rot``:  6D rotation of every joint (the root's world rotation relative to its heading;
  every other joint's local pose rotation),
- ``height``: root height above the ground plane (the skeleton's up axis),
- ``vel``:  root ground displacement since the previous frame (heading frame of that frame),
- ``turn``: heading change since the previous frame (radians),
- ``pos``:  joint positions relative to the root, in the heading frame. Redundant with the
  rotations, but it gives the motion graph its matching features without forward
  kinematics (as in Learned Motion Matching).

``decode_states`` turns a sequence of states back into a Motion: it integrates the root
(heading, then ground position) and converts the 6D rotations — all vectorised over frames.
"""
from dataclasses import dataclass

import numpy as np

from . import quat
from .skeleton import Motion


def ground_axes(up_axis):
    """The two ground axes (a, b) so that (a, b, up) is right-handed."""
    return {0: (1, 2), 1: (2, 0), 2: (0, 1)}[int(up_axis)]


def heading_quat(theta, up_axis):
    """Rotation by ``theta`` (radians) about the up axis, (..., 4)."""
    axis = np.zeros(3)
    axis[int(up_axis)] = 1.0
    return quat.from_axis_angle(axis, np.asarray(theta, dtype=float))


def rotate_ground(vec2, theta):
    """Rotate ground vectors (..., 2) by ``theta`` (..., ) in the ground plane."""
    c, s = np.cos(theta), np.sin(theta)
    return np.stack([c * vec2[..., 0] - s * vec2[..., 1], s * vec2[..., 0] + c * vec2[..., 1]], axis=-1)


@dataclass
class Layout:
    """Slices of the state vector for a skeleton of ``num_joints`` joints; ``moving``: the
    non-root joints whose translation changes over the clip (e.g. a Hips under a ground
    root), whose local translations are carried in the state too."""
    num_joints: int
    moving: tuple = ()

    def __post_init__(self):
        self.moving = tuple(int(j) for j in self.moving)

    @property
    def rot(self):
        return slice(0, 6 * self.num_joints)

    @property
    def height(self):
        return 6 * self.num_joints

    @property
    def vel(self):
        return slice(6 * self.num_joints + 1, 6 * self.num_joints + 3)

    @property
    def turn(self):
        return 6 * self.num_joints + 3

    @property
    def pos(self):
        return slice(6 * self.num_joints + 4, 9 * self.num_joints + 4)

    @property
    def trans(self):
        return slice(9 * self.num_joints + 4, 9 * self.num_joints + 4 + 3 * len(self.moving))

    @property
    def size(self):
        return 9 * self.num_joints + 4 + 3 * len(self.moving)

    def pos_index(self, joint):
        """Indices of joint's root-relative position in the state."""
        start = 6 * self.num_joints + 4 + 3 * int(joint)
        return np.arange(start, start + 3)


def forward_reference(skeleton, root_world_rot0):
    """A root-local axis that points along the ground in the first frame; its ground
    projection defines the heading in every frame (robust for any rig orientation)."""
    up = skeleton.up_axis
    a, _ = ground_axes(up)
    ground = np.zeros(3)
    ground[a] = 1.0
    return quat.inv_mul_vec(root_world_rot0, ground)


def headings(root_world_rot, forward_local, up_axis):
    """Heading angle (F,) of the root: angle of its forward axis projected on the ground."""
    a, b = ground_axes(up_axis)
    f = quat.mul_vec(root_world_rot, np.broadcast_to(forward_local, root_world_rot.shape[:-1] + (3,)))
    return np.unwrap(np.arctan2(f[..., b], f[..., a]))


def to_ground(v, up_axis):
    a, b = ground_axes(up_axis)
    return np.stack([v[..., a], v[..., b]], axis=-1)


def _from_ground(v2, height, up_axis):
    a, b = ground_axes(up_axis)
    out = np.zeros(v2.shape[:-1] + (3,))
    out[..., a], out[..., b], out[..., int(up_axis)] = v2[..., 0], v2[..., 1], height
    return out


@dataclass
class Encoding:
    states: np.ndarray         # (F, D)
    headings: np.ndarray       # (F,)
    ground: np.ndarray         # (F, 2) root ground position
    forward_local: np.ndarray  # (3,)
    positions: np.ndarray      # (F, J, 3) world joint positions (for targets, metrics)


def moving_joints(motion, tolerance=1e-6):
    """Non-root joints whose local translation varies over the clip (relative to span)."""
    sk = motion.skeleton
    spread = np.abs(motion.translations - motion.translations[:1]).max(axis=(0, 2))
    tol = tolerance * max(sk.span(), 1e-9)
    return tuple(int(j) for j in np.flatnonzero(spread > tol) if j != sk.root)


def encode(motion, forward_local=None, layout=None):
    """State vectors of every frame of ``motion`` (see the module docstring)."""
    sk = motion.skeleton
    up, root, J = sk.up_axis, sk.root, sk.num_joints
    world_rot, world_pos = motion.world()
    if forward_local is None:
        forward_local = forward_reference(sk, world_rot[0, root])
    theta = headings(world_rot[:, root], forward_local, up)
    hq = heading_quat(theta, up)
    lay = layout or Layout(J, moving_joints(motion))
    F = motion.num_frames
    s = np.zeros((F, lay.size))
    local = motion.rotations.copy()
    local[:, root] = quat.inv_mul(hq, world_rot[:, root])  # root: world rotation in its heading frame
    s[:, lay.rot] = quat.to_6d(local).reshape(F, -1)
    root_pos = world_pos[:, root]
    s[:, lay.height] = root_pos[:, up]
    ground = to_ground(root_pos, up)
    step = np.diff(ground, axis=0)
    vel = rotate_ground(step, -theta[:-1])
    turn = np.diff(theta)
    s[1:, lay.vel], s[1:, lay.turn] = vel, turn
    if F > 1:  # frame 0 has no past: reuse frame 1's motion so the series stays smooth
        s[0, lay.vel], s[0, lay.turn] = vel[0], turn[0]
    rel = quat.inv_mul_vec(hq[:, None], world_pos - root_pos[:, None])
    s[:, lay.pos] = rel.reshape(F, -1)
    if lay.moving:
        s[:, lay.trans] = motion.translations[:, list(lay.moving)].reshape(F, -1)
    return Encoding(s, theta, ground, forward_local, world_pos)


def integrate_root(states, layout, theta0, ground0):
    """Heading (F,) and ground position (F, 2) from the per-frame turn/velocity, starting
    at frame 0's (theta0, ground0); frame 0's own turn/velocity are ignored."""
    turn = states[:, layout.turn].copy()
    turn[0] = 0.0
    theta = theta0 + np.cumsum(turn)
    step = rotate_ground(states[1:, layout.vel], theta[:-1])
    ground = np.concatenate([np.asarray(ground0, float)[None], ground0 + np.cumsum(step, axis=0)], axis=0)
    return theta, ground


def decode_states(states, layout, skeleton, theta0, ground0, joint_translations, fps, name="generated",
                  known=None, root_path=None):
    """Motion from states (F, D): integrate the root, convert 6D rotations (vectorised).

    ``known``: (rotations (F, J, 4), cells (F, J) bool) pose rotations already known where
    ``cells`` is True (a replayed source joint): taken as they are there, for every joint
    but the root, instead of converting their 6D rotations back (exact, and most of the cost).
    ``root_path``: the root's heading (F,) and ground position (F, 2) when the caller has
    integrated them already (then ``theta0``/``ground0`` are not used)."""
    lay = layout
    F, J, up, root = len(states), skeleton.num_joints, skeleton.up_axis, skeleton.root
    theta, ground = root_path if root_path is not None else integrate_root(states, lay, theta0, ground0)
    six = states[:, lay.rot].reshape(F, J, 6)
    if known is None:
        rots = quat.from_6d(six)
    else:
        rots = np.array(known[0], dtype=np.float64, copy=True)
        todo = ~np.asarray(known[1], dtype=bool)
        rots[todo] = quat.from_6d(six[todo])
        rots[:, root] = quat.from_6d(six[:, root])
    world_root = quat.mul(heading_quat(theta, up), rots[:, root])
    rots[:, root] = quat.inv_mul(skeleton.rest_rotations[root], world_root)
    rots = quat.unroll(rots)
    trans = np.broadcast_to(joint_translations, (F, J, 3)).copy()
    if lay.moving:
        trans[:, list(lay.moving)] = states[:, lay.trans].reshape(F, len(lay.moving), 3)
    trans[:, root] = _from_ground(ground, states[:, lay.height], up)
    return Motion(skeleton, rots, trans, fps, name)


def root_world(states, layout, theta, ground, up_axis):
    """Root world position (F, 3) from integrated heading/ground and the state heights."""
    return _from_ground(ground, states[:, layout.height], up_axis)


def heading_frame_offsets(world_offsets, theta, up):
    """World offsets (..., 3) into the heading frame of angle theta (...)."""
    a, b = ground_axes(up)
    c, s_ = np.cos(-theta), np.sin(-theta)
    out = world_offsets.copy()
    out[..., a] = c * world_offsets[..., a] - s_ * world_offsets[..., b]
    out[..., b] = s_ * world_offsets[..., a] + c * world_offsets[..., b]
    return out
