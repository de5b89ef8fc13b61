"""Joint targets: "this joint at this position at this frame", or along a range of frames.

Positions are in the skeleton's space (Blender: armature space). A target with several
frames is a moving target (a ball to catch). The Blender side turns empties into these;
the CLI turns TARGETS.json into these.
"""
from dataclasses import dataclass

import numpy as np


@dataclass
class Target:
    joint: int
    frames: np.ndarray      # (K,) int, 0-based clip frames, increasing
    positions: np.ndarray   # (K, 3)
    weight: float = 1.0
    label: str = ""         # what asked for it (a target empty's name), for reports

    def __post_init__(self):
        self.joint = int(self.joint)
        self.frames = np.atleast_1d(np.asarray(self.frames, dtype=np.int64))
        self.positions = np.asarray(self.positions, dtype=np.float64).reshape(-1, 3)
        if len(self.frames) != len(self.positions) or len(self.frames) == 0:
            raise ValueError("a target needs as many positions as frames (at least one)")
        if not np.all(np.isfinite(self.positions)):
            raise ValueError("a target position is NaN or infinite")
        if isinstance(self.weight, bool) or not isinstance(self.weight, (int, float, np.floating, np.integer)):
            raise ValueError(f"a target weight is a number from 0 to 1, not {self.weight!r}")
        self.weight = float(self.weight)
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"a target weight is a number from 0 to 1 (how far the joint goes), not {self.weight}")
        order = np.argsort(self.frames, kind="stable")
        self.frames, self.positions = self.frames[order], self.positions[order]

    def to_dict(self, skeleton=None):
        joint = skeleton.names[self.joint] if skeleton is not None else self.joint
        return {"joint": joint, "frames": self.frames.tolist(), "positions": self.positions.tolist(), "weight": self.weight}


MAX_FRAME = 10 ** 9  # far beyond any clip; larger numbers do not fit the frame arrays


def _is_frame_number(value):
    """A JSON frame is an integer, or a float holding one exactly: 60 or 60.0, not 60.7,
    "60" or true."""
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return value.is_integer() and abs(value) <= MAX_FRAME
    return isinstance(value, int) and abs(value) <= MAX_FRAME


def parse_targets(data, skeleton, num_frames, transform=None, first_frame=0, frames_named="clip frames (0-based)",
                  position="position"):
    """Targets from the TARGETS.json structure; ``transform`` maps (K,3) file positions to
    skeleton space. Frames are counted from ``first_frame`` (0 in a file, a scene frame in
    the Blender API) and come back as 0-based clip frames; ``position`` names the position
    keys (``location``/``locations`` in the Blender API, world space)."""
    if not isinstance(data, dict) or not isinstance(data.get("targets"), list):
        raise ValueError('targets must be a JSON object {"targets": [...]}')
    out = []
    for i, t in enumerate(data["targets"]):
        where = f"target #{i}"
        if not isinstance(t, dict) or "joint" not in t:
            raise ValueError(f"{where}: needs a 'joint'")
        if not isinstance(t["joint"], str) or t["joint"] not in skeleton.names:
            raise ValueError(f"{where}: no joint named {t['joint']!r} (joints: {', '.join(skeleton.names[:8])}, ...)")
        where = f"{where} ({t['joint']})"
        if "frame" in t:
            frames, pos = [t["frame"]], [t.get(position)]
        else:
            frames, pos = t.get("frames"), t.get(position + "s")
            if isinstance(frames, list) and isinstance(pos, list) and len(frames) != len(pos):
                raise ValueError(f"{where}: has {len(frames)} frames but {len(pos)} {position}s; give each frame one")
        if not isinstance(frames, list) or not all(_is_frame_number(f) for f in frames):
            raise ValueError(f"{where}: frames are whole numbers of {frames_named}, got "
                             f"{t.get('frame', t.get('frames'))!r}")
        try:
            frames = np.asarray(frames, dtype=np.int64).reshape(-1)
            pos = np.asarray(pos, dtype=np.float64).reshape(len(frames), 3)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: needs 'frame' + '{position}' [x, y, z] or 'frames' + '{position}s'") from None
        if len(frames) == 0:
            raise ValueError(f"{where}: has no frames")
        frames = frames - first_frame
        if frames.min() < 0 or frames.max() >= num_frames:
            bad = int(frames.max() if frames.max() >= num_frames else frames.min()) + first_frame
            raise ValueError(f"{where}: frame {bad} is outside the clip ({first_frame}..{first_frame + num_frames - 1})")
        if not np.all(np.isfinite(pos)):
            raise ValueError(f"{where}: {position} is NaN or infinite")
        if transform is not None:
            pos = transform(pos)
        try:
            out.append(Target(skeleton.index(t["joint"]), frames, pos, t.get("weight", 1.0)))
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
    return out
