"""The IK-warp baseline of docs/evaluation.md: the classical animator's fix for a joint target.

For each target (in order, each on the result of the previous one): solve IK on the
effector's chain (``ik.effector_chain``) at the target frame(s) so the joint reaches
its position, take the change of every chain joint's local rotation as a delta
(new = old * delta), and add that delta back as an additive layer whose weight rises
smoothly from 0 to 1 over the 0.5 s before the target and falls back over the 0.5 s
after it (cosine window). A moving target (several frames) is solved at every one of
its frames; between them the deltas are slerped, outside them the end deltas fade out
over the same 0.5 s.
"""
import numpy as np

from ..motion import quat
from ..refine import ik

BLEND_SECONDS = 0.5
IK_ITERATIONS = 60


def ik_warp(motion, targets, blend_seconds=BLEND_SECONDS, iterations=IK_ITERATIONS):
    """A new Motion with every target applied as an additive IK layer (docs/evaluation.md IK warp)."""
    out = motion.copy()
    for target in targets:
        _apply_layer(out, target, blend_seconds, iterations)
    return out


def _apply_layer(motion, target, blend_seconds, iterations):
    skel = motion.skeleton
    chain = ik.effector_chain(skel, target.joint)
    if not chain:
        return
    frames = np.clip(target.frames, 0, motion.num_frames - 1)
    frames, first = np.unique(frames, return_index=True)
    before = motion.rotations[frames]
    solved, _ = ik.solve_chain(skel, before, motion.translations[frames], target.joint,
                               target.positions[first], chain, iterations=iterations)
    keys = quat.inv_mul(before[:, chain], solved[:, chain])          # (K, C, 4)
    deltas, weights = layer_curve(frames, keys, motion.num_frames, blend_seconds * motion.fps)
    layer = quat.slerp(quat.identity(deltas.shape[:-1]), deltas, weights[:, None])
    motion.rotations[:, chain] = quat.normalize(quat.mul(motion.rotations[:, chain], layer))


def layer_curve(frames, keys, num_frames, blend_frames):
    """Per frame delta (F, C, 4) and weight (F,): keyed deltas slerped between keys,
    the nearest end key outside them, weighted by a cosine fade over ``blend_frames``."""
    t = np.arange(num_frames, dtype=np.float64)
    keys = quat.unroll(keys, axis=0)
    i1 = np.clip(np.searchsorted(frames, t, side="right"), 1, max(len(frames) - 1, 1))
    i0 = i1 - 1
    if len(frames) == 1:
        deltas = np.broadcast_to(keys[0], (num_frames,) + keys.shape[1:]).copy()
    else:
        span = np.maximum(frames[i1] - frames[i0], 1)
        a = np.clip((t - frames[i0]) / span, 0.0, 1.0)
        deltas = quat.slerp(keys[i0], keys[i1], a[:, None])
    outside = np.maximum(frames[0] - t, t - frames[-1]).clip(min=0.0)
    return deltas, fade(outside, blend_frames)


def fade(distance, width):
    """1 at distance 0, 0 from ``width`` on, a cosine (smooth at both ends) between."""
    if width <= 0:
        return (distance <= 0).astype(np.float64)
    x = np.clip(np.asarray(distance, dtype=np.float64) / width, 0.0, 1.0)
    return 0.5 * (1.0 + np.cos(np.pi * x))
