"""BVH files: read, write in the same conventions, and convert to/from Blender's space.

Numpy only (no bpy). A ``BvhFile`` keeps everything needed to write a file back in the
input's own conventions: joint names, hierarchy, offsets, channel lists and order, end
sites and frame time.

Conventions (the same as Blender's BVH importer, so the two agree exactly):
- Rotation channels are intrinsic Euler angles in degrees in file order: channels
  "Zrotation Xrotation Yrotation" mean R = Rz * Rx * Ry.
- Position channels REPLACE the joint's offset (root motion; Bandai Namco puts them on
  every joint). A missing component of a joint that has some position channels is 0.
- The motion of a file is expressed with identity rest rotations and the offsets as
  rest translations (``BvhFile.to_motion``).

Spaces: ``axis_matrix`` C maps file coordinates to armature coordinates and ``scale`` the
units, p_armature = scale * C @ p_file — what Blender's importer does with
``axis_conversion(axis_forward, axis_up)`` and ``global_scale``.
"""
import io
import os
from dataclasses import dataclass, field

import numpy as np

from ..motion import quat
from ..motion.skeleton import Motion, Skeleton, local_from_world
from . import atomic

AXES = quat.AXES
POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
ROTATION_CHANNELS = ("Xrotation", "Yrotation", "Zrotation")


class BvhError(ValueError):
    """A malformed BVH file (the message names the file and the line)."""


@dataclass
class BvhFile:
    names: list
    parents: np.ndarray          # (J,) int, -1 for roots, parent-first (file order)
    offsets: np.ndarray          # (J, 3) file units and axes
    channels: list               # per joint: channel names in file order, e.g. ["Zrotation", ...]
    end_sites: list              # [(joint index, (3,) offset)] in file order
    frame_time: float
    frames: np.ndarray           # (F, C) raw channel values (degrees / file units)
    name: str = "bvh"
    meta: dict = field(default_factory=dict)

    @property
    def num_frames(self):
        return self.frames.shape[0]

    @property
    def num_joints(self):
        return len(self.names)

    def channel_starts(self):
        """First column of every joint's channels in ``frames``."""
        counts = [len(c) for c in self.channels]
        return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int)

    def skeleton(self, up_axis=None):
        skel = Skeleton(self.names, self.parents, quat.identity((self.num_joints,)), self.offsets,
                        2 if up_axis is None else up_axis)
        return skel

    def to_motion(self, up_axis=None):
        """The file's motion with identity rest rotations and offsets as rest translations."""
        skel = self.skeleton(up_axis)
        rotations = np.empty((self.num_frames, self.num_joints, 4))
        translations = np.broadcast_to(self.offsets, (self.num_frames, self.num_joints, 3)).copy()
        for j, (start, chans) in enumerate(zip(self.channel_starts(), self.channels)):
            cols = self.frames[:, start:start + len(chans)]
            rotations[:, j] = _rotation_from_channels(chans, cols)
            pos = [i for i, c in enumerate(chans) if c in POSITION_CHANNELS]
            if pos:
                translations[:, j] = 0.0
                for i in pos:
                    translations[:, j, POSITION_CHANNELS.index(chans[i])] = cols[:, i]
        motion = Motion(skel, rotations, translations, 1.0 / self.frame_time, self.name, dict(self.meta))
        if up_axis is None:
            skel.up_axis = guess_up_axis(skel, motion.positions())
        return motion


def _rotation_from_channels(chans, cols):
    """Quaternions (F, 4) for a joint's rotation channels, intrinsic in file order."""
    axes = "".join(c[0].upper() for c in chans if c in ROTATION_CHANNELS)
    angles = np.radians(np.stack([cols[:, i] for i, c in enumerate(chans) if c in ROTATION_CHANNELS], -1)) \
        if axes else np.zeros((len(cols), 0))
    return quat.from_euler(angles, axes)  # 1-2 channels too: a product of axis rotations


# ---------------------------------------------------------------------------------------
# reading

def read_bvh(path):
    """Parse a BVH file. Raises BvhError with the file name and line for malformed input."""
    name = os.path.basename(str(path))
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as e:
        raise BvhError(f"{name}: cannot read the file ({e.strerror or e})") from None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    parser = _HierarchyParser(name, lines)
    parser.parse()
    frames, frame_time = _parse_motion(name, lines, parser.line, sum(len(c) for c in parser.channels))
    stem = os.path.splitext(name)[0]
    return BvhFile(parser.names, np.array(parser.parents, dtype=np.int64), np.array(parser.offsets, dtype=float).reshape(-1, 3),
                   parser.channels, parser.end_sites, frame_time, frames, stem, {"path": str(path)})


class _HierarchyParser:
    def __init__(self, name, lines):
        self.file, self.lines, self.line = name, lines, 0
        self.names, self.parents, self.offsets, self.channels, self.end_sites = [], [], [], [], []

    def fail(self, msg, line=None):
        line = self.line if line is None else line
        raise BvhError(f"{self.file}, line {line + 1}: {msg}")

    def next_tokens(self):
        """The next non-blank line's tokens (advances past it)."""
        while self.line < len(self.lines):
            toks = self.lines[self.line].split()
            self.line += 1
            if toks:
                return toks
        raise BvhError(f"{self.file}: the file ends inside the HIERARCHY section")

    def parse(self):
        toks = self.next_tokens()
        if toks[0].upper() != "HIERARCHY":
            self.fail("not a BVH file (it must start with HIERARCHY)", self.line - 1)
        stack = []   # joint index, or None for an end site
        while True:
            toks = self.next_tokens()
            key = toks[0].upper()
            if key in ("ROOT", "JOINT"):
                if key == "ROOT" and stack:
                    self.fail("ROOT inside another joint", self.line - 1)
                if key == "JOINT" and (not stack or stack[-1] is None):
                    self.fail("JOINT outside a joint", self.line - 1)
                self.begin_joint(toks, stack[-1] if stack else -1)
                stack.append(len(self.names) - 1)
            elif key == "END":
                if not stack or stack[-1] is None:
                    self.fail("End Site outside a joint", self.line - 1)
                self.expect_brace()
                self.end_sites.append((stack[-1], self.read_offset()))
                stack.append(None)
            elif key == "}":
                if not stack:
                    self.fail("unbalanced '}'", self.line - 1)
                stack.pop()
            elif key == "MOTION":
                if stack:
                    self.fail("MOTION before the hierarchy is closed (missing '}')", self.line - 1)
                if not self.names:
                    self.fail("the hierarchy has no joints", self.line - 1)
                return
            else:
                self.fail(f"unexpected '{toks[0]}' in the hierarchy", self.line - 1)

    def begin_joint(self, toks, parent):
        if len(toks) < 2:
            self.fail(f"{toks[0]} without a name", self.line - 1)
        # Like Blender's importer: spaces in names become '_'. A name used twice is refused:
        # Blender would rename the second (LeftHip.001) and the output would not match.
        name = "_".join(toks[1:])
        if name in self.names:
            self.fail(f"joint name '{name}' is used twice; every joint needs its own name (rename one in the file)",
                      self.line - 1)
        self.expect_brace()
        offset = self.read_offset()
        toks = self.next_tokens()
        if toks[0].upper() != "CHANNELS":
            self.fail(f"joint '{name}' needs a CHANNELS line after its OFFSET", self.line - 1)
        try:
            count = int(toks[1])
        except (IndexError, ValueError):
            self.fail("CHANNELS needs a channel count", self.line - 1)
        chans = toks[2:]
        if len(chans) != count:
            self.fail(f"CHANNELS says {count} channels but lists {len(chans)}", self.line - 1)
        norm = []
        for c in chans:
            match = [k for k in POSITION_CHANNELS + ROTATION_CHANNELS if k.lower() == c.lower()]
            if not match:
                self.fail(f"unknown channel '{c}' (expected Xposition..Zrotation)", self.line - 1)
            norm.append(match[0])
        if len(set(norm)) != len(norm):
            self.fail(f"joint '{name}' lists a channel twice", self.line - 1)
        self.names.append(name)
        self.parents.append(parent)
        self.offsets.append(offset)
        self.channels.append(norm)

    def expect_brace(self):
        toks = self.next_tokens()
        if toks[0] != "{":
            self.fail(f"expected '{{', found '{toks[0]}'", self.line - 1)

    def read_offset(self):
        toks = self.next_tokens()
        if toks[0].upper() != "OFFSET" or len(toks) != 4:
            self.fail("expected 'OFFSET x y z'", self.line - 1)
        try:
            off = np.array([float(t) for t in toks[1:]])
        except ValueError:
            self.fail("OFFSET values must be numbers", self.line - 1)
        if not np.all(np.isfinite(off)):
            self.fail("OFFSET holds NaN or infinite values", self.line - 1)
        return off


def _parse_motion(name, lines, line, num_channels):
    def header(i, label):
        while i < len(lines) and not lines[i].strip():
            i += 1
        if i >= len(lines):
            raise BvhError(f"{name}: the MOTION section lacks '{label}'")
        text = lines[i].strip()
        if not text.lower().startswith(label.lower()):
            raise BvhError(f"{name}, line {i + 1}: expected '{label}', found '{text[:40]}'")
        return i + 1, text[len(label):].strip()

    line, count = header(line, "Frames:")
    line, ftime = header(line, "Frame Time:")
    try:
        count, ftime = int(count), float(ftime)
    except ValueError:
        raise BvhError(f"{name}: the MOTION header needs an integer frame count and a numeric frame time") from None
    if not (np.isfinite(ftime) and ftime > 0):
        raise BvhError(f"{name}: frame time must be positive, got {ftime}")
    rows = []
    for i in range(line, len(lines)):
        toks = lines[i].split()
        if not toks:
            continue
        if len(toks) != num_channels:
            raise BvhError(f"{name}, line {i + 1}: frame {len(rows)} has {len(toks)} values, "
                           f"the hierarchy declares {num_channels} channels")
        rows.append(toks)
    if len(rows) != count:
        raise BvhError(f"{name}: the header declares {count} frames but the file holds {len(rows)}"
                       + (" (truncated?)" if len(rows) < count else ""))
    try:
        frames = np.array(rows, dtype=float).reshape(len(rows), num_channels)
    except ValueError:
        raise BvhError(f"{name}: the MOTION section holds a value that is not a number") from None
    if not np.all(np.isfinite(frames)):
        bad = np.flatnonzero(~np.isfinite(frames).all(axis=1))
        raise BvhError(f"{name}: NaN or infinite values at frame(s) {bad[:10].tolist()}")
    return frames, ftime


# ---------------------------------------------------------------------------------------
# up axis

def guess_up_axis(skeleton, positions=None):
    """Which axis (0 X, 1 Y, 2 Z) points up, sign ignored.

    From a clip's ``positions`` (F, J, 3), the floor first: the axis along which the clip's
    lowest joint stays at one height (the ground it stands on) while along every other axis
    the extreme joint wanders, when that is clear (``floor_axis``): any rig that stands,
    walks or crawls, whatever its shape or names. Otherwise, the axis of the largest extent
    between the main root and the head: the first joint whose name contains "head" (not an
    end/top helper), else the joint farthest from the root, averaged over the frames when
    ``positions`` are given (a clip's poses stand upright even where the file's rest pose
    does not: Bandai Namco's rest offsets all lie along X), else in the rest pose.
    """
    if positions is not None:
        floor = floor_axis(np.asarray(positions))
        if floor is not None:
            return floor
    pos = skeleton.rest_positions()[None] if positions is None else np.asarray(positions)
    root = skeleton.root
    heads = [j for j, n in enumerate(skeleton.names) if "head" in n.lower() and "end" not in n.lower()
             and "top" not in n.lower()]
    rel = pos - pos[:, root:root + 1]
    if heads:
        vec = rel[:, heads[0]].mean(axis=0)
    else:
        far = int(np.argmax(np.linalg.norm(rel, axis=-1).mean(axis=0)))
        vec = rel[:, far].mean(axis=0)
    return int(np.argmax(np.abs(vec)))


FLOOR_CLEAR_RATIO = 0.5  # the floor axis's wander at most this share of the next axis's


def floor_axis(positions):
    """The axis whose per-frame lowest joint (either direction) moves least over the clip,
    relative to the clip's extent, when it moves less than FLOOR_CLEAR_RATIO of the next
    axis's best: the ground a body stands on. None when no axis is that clear (a jumping
    jack's feet leave the floor as often as its hands swing: the head rule decides)."""
    if len(positions) < 2:
        return None
    extent = max(float(np.ptp(positions.reshape(-1, 3), axis=0).max()), 1e-12)
    wander = []
    for axis in range(3):
        values = positions[..., axis]
        wander.append(min(np.std(values.min(axis=1)), np.std(values.max(axis=1))) / extent)
    order = np.argsort(wander)
    best, second = wander[order[0]], wander[order[1]]
    return int(order[0]) if best <= FLOOR_CLEAR_RATIO * second else None


# ---------------------------------------------------------------------------------------
# writing

def write_bvh(path, template, motion):
    """Write ``motion`` (in the template's own space, identity rest rotations, as
    ``template.to_motion()`` makes) with the template's hierarchy, names, offsets,
    channel orders and frame time."""
    frames = motion_to_channels(template, motion)
    lines = ["HIERARCHY"]
    children = [[] for _ in template.names]
    roots = []
    for j, p in enumerate(template.parents):
        (children[p] if p >= 0 else roots).append(j)
    ends = {}
    for j, off in template.end_sites:
        ends.setdefault(j, []).append(off)

    def emit(j, depth):
        pad = "\t" * depth
        lines.append(f"{pad}{'ROOT' if template.parents[j] < 0 else 'JOINT'} {template.names[j]}")
        lines.append(pad + "{")
        lines.append(f"{pad}\tOFFSET {_fmt3(template.offsets[j])}")
        lines.append(f"{pad}\tCHANNELS {len(template.channels[j])}" + "".join(" " + c for c in template.channels[j]))
        for c in children[j]:
            emit(c, depth + 1)
        for off in ends.get(j, []):
            lines.extend([f"{pad}\tEnd Site", pad + "\t{", f"{pad}\t\tOFFSET {_fmt3(off)}", pad + "\t}"])
        lines.append(pad + "}")

    for r in roots:
        emit(r, 0)
    lines += ["MOTION", f"Frames: {len(frames)}", f"Frame Time: {template.frame_time:.7g}"]
    buf = io.StringIO()
    buf.write("\n".join(lines) + "\n")
    np.savetxt(buf, frames, fmt="%.6f", delimiter=" ")
    atomic.write_text(path, buf.getvalue())


def _fmt3(v):
    return " ".join("%.6f" % x for x in v)


def motion_to_channels(template, motion):
    """Channel values (F, C) in the template's layout; Euler angles continuous in time."""
    names = motion.skeleton.names
    missing = [n for n in template.names if n not in names]
    if missing:
        raise ValueError(f"the motion lacks joint(s) of the BVH template: {', '.join(missing[:8])}")
    idx = [names.index(n) for n in template.names]
    if not np.allclose(motion.skeleton.rest_rotations[idx], quat.identity((len(idx),)), atol=1e-6):
        raise ValueError("write_bvh needs the motion in the file's space (identity rest rotations); "
                         "convert it with motion_to_file_space first")
    out = np.zeros((motion.num_frames, template.frames.shape[1]))
    for j, (start, chans) in enumerate(zip(template.channel_starts(), template.channels)):
        src = idx[j]
        rot_cols = [i for i, c in enumerate(chans) if c in ROTATION_CHANNELS]
        if rot_cols:
            axes = "".join(chans[i][0] for i in rot_cols)
            ref = template.frames[0, start + np.array(rot_cols)] if template.num_frames else None
            deg = np.degrees(continuous_euler(motion.rotations[:, src], axes, None if ref is None else np.radians(ref)))
            for k, i in enumerate(rot_cols):
                out[:, start + i] = deg[:, k]
        for i, c in enumerate(chans):
            if c in POSITION_CHANNELS:
                out[:, start + i] = motion.translations[:, src, POSITION_CHANNELS.index(c)]
    return out


def continuous_euler(q, axes, ref=None):
    """Radians (F, ..., len(axes)) for rotations q (F, ..., 4), intrinsic in ``axes`` order
    (R = A1 A2 A3), with no 360-degree jumps and no switches between the two Euler
    solutions over time (axis 0). The first frame is placed nearest ``ref`` (radians, e.g.
    the template's first frame). 1-2 axes: the order is completed with the missing axes,
    which are dropped again (exact only for rotations about the listed axes)."""
    full = axes + "".join(a for a in AXES if a not in axes)  # 1-2 channels: complete the order
    if len(set(full)) != 3:
        raise ValueError(f"unsupported rotation channel order '{axes}'")
    e = quat.to_euler(q, full)
    if not len(e):
        return e[..., :len(axes)]
    # The other solution of the same rotation: (a + pi, pi - b, c + pi).
    alt = np.stack([e[..., 0] + np.pi, np.pi - e[..., 1], e[..., 2] + np.pi], -1)
    use_alt = np.zeros(e.shape[:-1], dtype=bool)
    if len(axes) == 3:
        # Switch solutions where the other one continues the previous frame better; the
        # distances are symmetric, so the switch pattern is the parity of the switch flags.
        same = _l1(_wrap(e[1:] - e[:-1]))
        cross = _l1(_wrap(alt[1:] - e[:-1]))
        use_alt[1:] = np.cumsum(cross < same, axis=0) % 2 == 1
        if ref is not None:
            ref = np.asarray(ref, dtype=float)
            start_alt = _l1(_wrap(alt[0] - ref)) < _l1(_wrap(e[0] - ref))
            use_alt ^= start_alt
    ang = np.where(use_alt[..., None], alt, e)
    # Unwrap in time: remove every 2*pi step between consecutive frames.
    ang[1:] -= 2 * np.pi * np.cumsum(np.round(np.diff(ang, axis=0) / (2 * np.pi)), axis=0)
    if ref is not None:
        ref = np.asarray(ref, dtype=float)
        ref = np.concatenate([ref, np.zeros(ref.shape[:-1] + (3 - ref.shape[-1],))], -1)
        ang -= 2 * np.pi * np.round((ang[0] - ref) / (2 * np.pi))
    return ang[..., :len(axes)]


def _l1(d):
    # Explicit sum over the 3 angles: numpy's reduction over a length-3 last axis is slow.
    return np.abs(d[..., 0]) + np.abs(d[..., 1]) + np.abs(d[..., 2])


def _wrap(d):
    return d - 2 * np.pi * np.round(d / (2 * np.pi))


# ---------------------------------------------------------------------------------------
# axes and spaces

_AXIS_VECTORS = {"X": (1, 0, 0), "Y": (0, 1, 0), "Z": (0, 0, 1),
                 "-X": (-1, 0, 0), "-Y": (0, -1, 0), "-Z": (0, 0, -1)}


def axis_conversion(from_forward="Y", from_up="Z", to_forward="Y", to_up="Z"):
    """3x3 rotation taking the (from_forward, from_up) frame onto (to_forward, to_up):
    the numpy twin of ``bpy_extras.io_utils.axis_conversion``."""
    for f, u in ((from_forward, from_up), (to_forward, to_up)):
        if f not in _AXIS_VECTORS or u not in _AXIS_VECTORS:
            raise ValueError(f"axes must be one of {', '.join(_AXIS_VECTORS)}, got '{f}', '{u}'")
        if f[-1] == u[-1]:
            raise ValueError(f"forward and up must be different axes, got '{f}' and '{u}'")

    def frame(f, u):
        f, u = np.array(_AXIS_VECTORS[f], float), np.array(_AXIS_VECTORS[u], float)
        return np.stack([f, u, np.cross(f, u)], -1)

    return frame(to_forward, to_up) @ frame(from_forward, from_up).T


# The importer options that stand a file with a given up axis upright in Blender (Z up).
IMPORT_AXES = {0: ("Y", "X"), 1: ("-Z", "Y"), 2: ("Y", "Z")}


def import_axes(up_axis):
    """(axis_forward, axis_up) for Blender's BVH importer for a file whose up axis is given."""
    if up_axis not in IMPORT_AXES:
        raise ValueError(f"up axis must be 0, 1 or 2, got {up_axis}")
    return IMPORT_AXES[up_axis]


def _rest_world_rotations(skeleton):
    rot = np.empty((skeleton.num_joints, 4))
    for j, p in enumerate(skeleton.parents):
        rot[j] = skeleton.rest_rotations[j] if p < 0 else quat.mul(rot[p], skeleton.rest_rotations[j])
    return rot


def _name_index(src_names, dst_names, what):
    missing = [n for n in dst_names if n not in src_names]
    if missing:
        raise ValueError(f"{what} lacks joint(s) {', '.join(missing[:8])}" + (" ..." if len(missing) > 8 else ""))
    return [src_names.index(n) for n in dst_names]


def _axis_quat(axis_matrix):
    c = np.asarray(axis_matrix, dtype=float)
    if c.shape != (3, 3) or not np.allclose(c @ c.T, np.eye(3), atol=1e-6) or np.linalg.det(c) < 0:
        raise ValueError("the axis matrix must be a 3x3 rotation")
    return quat.from_matrix(c)


def motion_to_file_space(motion_blender, template, axis_matrix, scale=1.0):
    """A motion read from the Blender armature (armature space, Blender bone rest frames)
    in the template BVH's convention (``template``: its Motion or Skeleton — identity rest
    rotations, file axes and units). Joints are matched by name; extra bones are ignored.

    The quantity both rigs share is each joint's world rotation relative to its rest,
    D_j = R_world_j * R_restworld_j^-1; between the spaces D_file = C^-1 D_blender C.
    Positions: p_file = C^-1 p_blender / scale.
    """
    skel_f = template.skeleton if isinstance(template, Motion) else template
    idx = _name_index(motion_blender.skeleton.names, skel_f.names, "the Blender motion")
    c = _axis_quat(axis_matrix)
    w_rot, w_pos = motion_blender.world()
    d = quat.mul(w_rot[:, idx], quat.inv(_rest_world_rotations(motion_blender.skeleton)[idx]))
    d_file = quat.mul(quat.mul(quat.inv(c), d), c)
    g = quat.mul(d_file, _rest_world_rotations(skel_f))
    p = quat.inv_mul_vec(c, w_pos[:, idx]) / scale
    rot, trans = local_from_world(skel_f, g, p)
    return Motion(skel_f, quat.unroll(rot), trans, motion_blender.fps, motion_blender.name, dict(motion_blender.meta))


def motion_from_file_space(motion_file, blender_skeleton, axis_matrix, scale=1.0):
    """Inverse of ``motion_to_file_space``: a file-space motion on the Blender skeleton."""
    idx = _name_index(motion_file.skeleton.names, blender_skeleton.names, "the BVH motion")
    c = _axis_quat(axis_matrix)
    w_rot, w_pos = motion_file.world()
    d = quat.mul(w_rot[:, idx], quat.inv(_rest_world_rotations(motion_file.skeleton)[idx]))
    d_b = quat.mul(quat.mul(c, d), quat.inv(c))
    g = quat.mul(d_b, _rest_world_rotations(blender_skeleton))
    p = quat.mul_vec(c, w_pos[:, idx]) * scale
    rot, trans = local_from_world(blender_skeleton, g, p)
    return Motion(blender_skeleton, quat.unroll(rot), trans, motion_file.fps, motion_file.name, dict(motion_file.meta))
