"""Foot contacts of a motion (docs/evaluation.md rule) as smooth per-frame lock weights.

A foot is in contact when it is low (below the clip's ground + 5 cm, span-scaled, in
this frame and the next) and slow (horizontal speed under ``LOCK_SPEED``). The lock
weight is 1 in contact and falls off with a raised cosine over ``RELEASE_S`` seconds
around it, so a locked foot is let go (and caught) smoothly.
"""
import numpy as np

from . import metrics
from .filters import distance_to_true, uniform_filter1d

LOCK_SPEED = 0.5     # m/s (docs/evaluation.md skate speed): slower feet are planted
RELEASE_S = 0.12     # seconds of smooth release around a contact


def contact_joints(skeleton, positions, legs):
    """Per leg effector (ankle), the joint whose height decides contact: the lowest
    foot/toe joint of that side (docs/evaluation.md 'Feet'), else the ankle itself."""
    feet = metrics.foot_joints(skeleton, positions)
    out = []
    for leg in legs:
        below = [f for f in feet if f == leg or leg in skeleton.chain(f)]
        out.append(below[0] if below else leg)
    return out


def contact_mask(motion, feet, span, positions=None):
    """(T, n) bool: docs/evaluation.md contact (low in this frame and the next) and slow."""
    sk = motion.skeleton
    positions = motion.positions() if positions is None else positions
    pos = positions[:, feet] * (metrics.SPAN_METRES / span)
    up = sk.up_axis
    heights = pos[..., up]
    ground = float(np.percentile(heights, 5))
    low = heights < ground + metrics.CONTACT_MARGIN
    low = low & np.concatenate([low[1:], low[-1:]], axis=0)
    vel = np.diff(pos, axis=0, prepend=pos[:1])
    vel[..., up] = 0.0
    speed = np.linalg.norm(uniform_filter1d(vel, size=max(1, int(round(0.1 * motion.fps))), axis=0), axis=-1) * motion.fps
    return low & (speed < LOCK_SPEED)


def contact_weights(motion, feet, span, positions=None):
    """(n,) arrays (T,) of lock weights in 0..1 per foot."""
    mask = contact_mask(motion, feet, span, positions)
    width = max(RELEASE_S * motion.fps, 1.0)
    out = []
    for i in range(mask.shape[1]):
        m = mask[:, i]
        if not m.any():
            out.append(np.zeros(len(m)))
            continue
        d = distance_to_true(m)
        out.append(0.5 * (1.0 + np.cos(np.pi * np.clip(d / width, 0.0, 1.0))))
    return out
