"""Library clips on disk: reading them (BVH, gzipped BVH, AMASS npz) and their motion features.

Numpy only. FBX, glTF and Blender actions are read on the Blender side
(blender_motiondna/library/), which hands their motion arrays to ``motion_features``.
"""
import gzip
import os
import tempfile

import numpy as np

from ..io import bvh, smpl
from ..motion import metrics
from . import rigs

CLIP_SUFFIXES = (".bvh", ".bvh.gz", ".npz")
MOVING_LIMB_SHARE = 0.6   # a limb is dominant when its effector moves at least this share of the busiest one's


def is_clip_file(path):
    return path.lower().endswith(CLIP_SUFFIXES)


def read_bvh_file(path):
    """A BvhFile from ``.bvh`` or ``.bvh.gz`` (the starter library ships gzipped BVH)."""
    if not path.lower().endswith(".gz"):
        return bvh.read_bvh(path)
    with gzip.open(path, "rb") as f:
        data = f.read()
    # read_bvh takes a path: the plain text goes to a temporary file named like the clip
    with tempfile.TemporaryDirectory() as tmp:
        plain = os.path.join(tmp, os.path.basename(path)[:-3])
        with open(plain, "wb") as f:
            f.write(data)
        parsed = bvh.read_bvh(plain)
    parsed.meta["path"] = path
    return parsed


def read_clip(path):
    """The clip's Motion in its own space and units (BVH: the file's axes; AMASS: Z up, metres)."""
    if path.lower().endswith(".npz"):
        return smpl.read_amass(path)
    return read_bvh_file(path).to_motion()


def motion_features(motion):
    """A clip's summary for the index: rig, joints, frames, duration, root speed (m/s),
    travel (m, start to end on the ground), path length (m) and its dominant limbs."""
    skel = motion.skeleton
    scale = metrics.metres_per_unit(skel, motion.translations)
    positions = motion.positions() * scale
    up = skel.up_axis
    ground = [a for a in range(3) if a != up]
    root = positions[:, skel.root][:, ground]
    steps = np.linalg.norm(np.diff(root, axis=0), axis=-1)
    duration = motion.num_frames / motion.fps
    return {
        "rig": rigs.detect_rig(skel.names),
        "joints": skel.num_joints,
        "frames": motion.num_frames,
        "fps": round(motion.fps, 3),
        "duration": round(duration, 3),
        "speed": round(float(steps.sum() / max(duration, 1e-9)), 3),
        "travel": round(float(np.linalg.norm(root[-1] - root[0])), 3),
        "path_length": round(float(steps.sum()), 3),
        "limbs": dominant_limbs(skel, positions, motion.fps),
    }


def dominant_limbs(skeleton, positions, fps):
    """Which of arms / legs / head move most, by their effectors' mean speed relative to
    the root: the busiest, and any within ``MOVING_LIMB_SHARE`` of it."""
    effectors = metrics.end_effectors(skeleton, positions)
    rel = positions - positions[:, skeleton.root:skeleton.root + 1]
    names = {"left_hand": "left arm", "right_hand": "right arm", "left_foot": "left leg",
             "right_foot": "right leg", "head": "head"}
    if len(positions) < 2:
        return []
    speed = {names[k]: float(np.linalg.norm(np.diff(rel[:, j], axis=0), axis=-1).mean() * fps)
             for k, j in effectors.items()}
    top = max(speed.values(), default=0.0)
    if top <= 1e-6:
        return []
    return sorted((k for k, v in speed.items() if v >= MOVING_LIMB_SHARE * top), key=lambda k: -speed[k])
