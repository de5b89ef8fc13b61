"""The engine's motion data model: a skeleton and a clip of local joint transforms.

Conventions (shared by the Blender side, the build, the runtime and the metrics):
- Quaternions are (w, x, y, z). Joints are ordered so a parent comes before its children.
- ``rest_rotations[j]``: joint j's rest frame relative to its parent's rest frame
  (for a root: relative to the armature/object space).
- ``Motion.rotations[f, j]``: joint j's pose rotation relative to its own rest frame
  (Blender's pose-bone rotation). World rotation: R_j = R_parent * rest_j * rot_j.
- ``Motion.translations[f, j]``: joint j's head in its parent's (posed) frame, or in
  armature space for a root. Usually constant except at the root (root motion).
- World space here means the skeleton's own space (Blender: armature space, Z up);
  ``Skeleton.up_axis`` names the vertical axis.
"""
from dataclasses import dataclass, field

import numpy as np

from . import quat


@dataclass
class Skeleton:
    names: list
    parents: np.ndarray            # (J,) int, -1 for a root
    rest_rotations: np.ndarray     # (J, 4)
    rest_translations: np.ndarray  # (J, 3) head offset in the parent's rest frame
    up_axis: int = 2               # 0 = X, 1 = Y, 2 = Z

    def __post_init__(self):
        self.names = [str(n) for n in self.names]
        self.parents = np.asarray(self.parents, dtype=np.int64)
        self.rest_rotations = np.asarray(self.rest_rotations, dtype=np.float64).reshape(-1, 4)
        self.rest_translations = np.asarray(self.rest_translations, dtype=np.float64).reshape(-1, 3)
        self.validate()

    @property
    def num_joints(self):
        return len(self.names)

    @property
    def root(self):
        """The main root: the root joint with the most descendants."""
        roots = np.flatnonzero(self.parents < 0)
        return int(max(roots, key=lambda r: len(self.descendants(r))))

    def validate(self):
        j = len(self.names)
        if j == 0:
            raise ValueError("skeleton has no joints")
        if len(set(self.names)) != j:
            dup = sorted({n for n in self.names if self.names.count(n) > 1})
            raise ValueError(f"skeleton has duplicate joint names: {', '.join(dup)}")
        if self.parents.shape != (j,) or self.rest_rotations.shape != (j, 4) or self.rest_translations.shape != (j, 3):
            raise ValueError("skeleton arrays do not match the number of joints")
        for i, p in enumerate(self.parents):
            if p >= i:
                raise ValueError(f"joint '{self.names[i]}' comes before its parent; joints must be ordered parent-first")
        if not (np.all(np.isfinite(self.rest_rotations)) and np.all(np.isfinite(self.rest_translations))):
            raise ValueError("skeleton rest pose holds NaN or infinite values")

    def index(self, name):
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no joint named '{name}' in the skeleton") from None

    def children(self, j):
        table = self.__dict__.get("_children")
        if table is None:  # built once: IK and refinement ask this thousands of times
            table = [[] for _ in range(self.num_joints)]
            for c, p in enumerate(self.parents):
                if p >= 0:
                    table[p].append(c)
            self.__dict__["_children"] = table
        return list(table[j])

    def descendants(self, j):
        out, stack = [], self.children(j)
        while stack:
            c = stack.pop()
            out.append(c)
            stack.extend(self.children(c))
        return out

    def chain(self, j, stop=None):
        """Joints from ``j`` up to (and including) ``stop`` or the root, child first."""
        out = []
        while j >= 0:
            out.append(int(j))
            if j == stop:
                break
            j = self.parents[j]
        return out

    def rest_positions(self):
        """World rest positions of every joint, (J, 3). Cached: a skeleton is not edited
        after construction (callers get a copy)."""
        cached = self.__dict__.get("_rest_positions")
        if cached is None:
            cached = self.__dict__["_rest_positions"] = self._compute_rest_positions()
        return cached.copy()

    def _compute_rest_positions(self):
        return self.rest_transforms()[1]

    def rest_transforms(self):
        """World rest orientations (J, 4) and positions (J, 3) of every joint."""
        rot = np.zeros((self.num_joints, 4))
        pos = np.zeros((self.num_joints, 3))
        for j, p in enumerate(self.parents):
            if p < 0:
                rot[j], pos[j] = self.rest_rotations[j], self.rest_translations[j]
            else:
                rot[j] = quat.mul(rot[p], self.rest_rotations[j])
                pos[j] = pos[p] + quat.mul_vec(rot[p], self.rest_translations[j])
        return rot, pos

    def span(self, translations=None):
        """Longest joint-to-joint path through the tree, summing rest bone lengths (docs/evaluation.md).

        With a clip's ``translations`` (F, J, 3), links whose offset moves during the clip
        are not bones but root motion (e.g. Bandai Namco's ``joint_Root`` -> ``Hips``, whose
        rest offset is wherever the actor stood): they count as length 0."""
        length = np.linalg.norm(self.rest_translations, axis=-1)
        length[self.parents < 0] = 0.0
        if translations is not None:
            length[floating_joints(self, translations)] = 0.0
        adj = {j: [] for j in range(self.num_joints)}
        for j, p in enumerate(self.parents):
            if p >= 0:
                adj[j].append((int(p), length[j]))
                adj[int(p)].append((j, length[j]))

        def farthest(src):
            dist = {src: 0.0}
            stack = [src]
            while stack:
                a = stack.pop()
                for b, w in adj[a]:
                    if b not in dist:
                        dist[b] = dist[a] + w
                        stack.append(b)
            far = max(dist, key=dist.get)
            return far, dist[far]

        a, _ = farthest(self.root)
        _, d = farthest(a)
        return float(d)

    def to_dict(self):
        return {"names": list(self.names), "parents": self.parents.tolist(),
                "rest_rotations": self.rest_rotations.tolist(),
                "rest_translations": self.rest_translations.tolist(), "up_axis": int(self.up_axis)}

    @classmethod
    def from_dict(cls, d):
        return cls(d["names"], d["parents"], d["rest_rotations"], d["rest_translations"], d.get("up_axis", 2))


@dataclass
class Motion:
    skeleton: Skeleton
    rotations: np.ndarray     # (F, J, 4)
    translations: np.ndarray  # (F, J, 3)
    fps: float
    name: str = "clip"
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.rotations = np.asarray(self.rotations, dtype=np.float64)
        self.translations = np.asarray(self.translations, dtype=np.float64)
        self.fps = float(self.fps)
        self.validate()

    @property
    def num_frames(self):
        return self.rotations.shape[0]

    def validate(self, min_frames=1):
        j = self.skeleton.num_joints
        if self.rotations.ndim != 3 or self.rotations.shape[1:] != (j, 4):
            raise ValueError(f"rotations must be (frames, {j}, 4), got {self.rotations.shape}")
        if self.translations.shape != self.rotations.shape[:2] + (3,):
            raise ValueError(f"translations must be (frames, {j}, 3), got {self.translations.shape}")
        if self.num_frames < min_frames:
            raise ValueError(f"the clip has {self.num_frames} frame(s); at least {min_frames} are needed")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"frame rate must be positive, got {self.fps}")
        bad = ~(np.isfinite(self.rotations).all(axis=(1, 2)) & np.isfinite(self.translations).all(axis=(1, 2)))
        if bad.any():
            frames = np.flatnonzero(bad)
            raise ValueError(f"the clip holds NaN or infinite values at frame(s) {frames[:10].tolist()}"
                             + (" ..." if len(frames) > 10 else ""))

    @property
    def root_positions(self):
        return self.translations[:, self.skeleton.root]

    def world(self):
        """World rotations (F, J, 4) and positions (F, J, 3) by forward kinematics."""
        return forward_kinematics(self.skeleton, self.rotations, self.translations)

    def positions(self):
        return self.world()[1]

    def slice(self, start, stop):
        return Motion(self.skeleton, self.rotations[start:stop], self.translations[start:stop], self.fps, self.name, dict(self.meta))

    def copy(self):
        return Motion(self.skeleton, self.rotations.copy(), self.translations.copy(), self.fps, self.name, dict(self.meta))


def floating_joints(skeleton, translations, tolerance=1e-3):
    """Non-root joints whose offset from their parent changes over the clip (root motion)."""
    spread = np.ptp(np.asarray(translations), axis=0).max(axis=-1)
    scale = max(float(np.linalg.norm(skeleton.rest_translations, axis=-1).sum()), 1e-9)
    return np.flatnonzero((spread > tolerance * scale) & (skeleton.parents >= 0))


def depth_levels(skeleton):
    """Joints grouped by depth in the tree: [(joints, their parents), ...], roots first.
    FK then costs one vectorised step per level instead of one per joint."""
    cached = skeleton.__dict__.get("_levels")
    if cached is None:
        depth = np.zeros(skeleton.num_joints, dtype=np.int64)
        for j, p in enumerate(skeleton.parents):
            depth[j] = 0 if p < 0 else depth[p] + 1
        cached = [(np.flatnonzero(depth == d), skeleton.parents[depth == d]) for d in range(depth.max() + 1)]
        skeleton.__dict__["_levels"] = cached
    return cached


def forward_kinematics(skeleton, rotations, translations, joints=None):
    """World rotations and positions for local rotations (..., J, 4) and translations (..., J, 3).
    ``joints``: only those (and their ancestors) are computed, the rest are NaN (a foot's
    path costs its chain, not the fingers)."""
    levels = depth_levels(skeleton)
    if joints is not None:
        needed = set()
        for j in joints:
            needed.update(skeleton.chain(int(j)))
        levels = [(js[np.isin(js, list(needed))], ps[np.isin(js, list(needed))]) for js, ps in levels]
    rotations = np.asarray(rotations, dtype=np.float64)
    shape = rotations.shape[:-1]
    fill = np.full if joints is not None else (lambda s, _: np.empty(s))
    world_rot, world_pos = fill(shape + (4,), np.nan), fill(shape + (3,), np.nan)
    for level, (js, parents) in enumerate(levels):
        if not len(js):
            continue
        local = quat.mul(skeleton.rest_rotations[js], rotations[..., js, :])
        if level == 0:
            world_rot[..., js, :] = local
            world_pos[..., js, :] = translations[..., js, :]
        else:
            parent_rot = world_rot[..., parents, :]
            world_rot[..., js, :] = quat.mul(parent_rot, local)
            world_pos[..., js, :] = world_pos[..., parents, :] + quat.mul_vec(parent_rot, translations[..., js, :])
    return world_rot, world_pos


def local_from_world(skeleton, world_rot, world_pos):
    """Inverse of ``forward_kinematics``: local rotations and translations from world ones."""
    rots = np.empty_like(world_rot)
    trans = np.empty_like(world_pos)
    for j, p in enumerate(skeleton.parents):
        if p < 0:
            parent_inv = quat.inv(skeleton.rest_rotations[j])
            rots[..., j, :] = quat.mul(parent_inv, world_rot[..., j, :])
            trans[..., j, :] = world_pos[..., j, :]
        else:
            rest = quat.mul(world_rot[..., p, :], skeleton.rest_rotations[j])
            rots[..., j, :] = quat.inv_mul(rest, world_rot[..., j, :])
            trans[..., j, :] = quat.inv_mul_vec(world_rot[..., p, :], world_pos[..., j, :] - world_pos[..., p, :])
    return quat.normalize(rots), trans
