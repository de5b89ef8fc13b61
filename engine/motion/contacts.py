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


def legs_and_contacts(skeleton, positions, fps, span):
    """The legs a clip stands on: (legs, contacts), aligned. ``contacts`` are the joints
    whose height decides contact (``metrics.contact_feet``: the named feet, the lowest
    foot/toe joint per side, plus the joints of other limbs that are low and slow in the
    clip, whatever their names); a contact's leg is the named foot effector it lies below
    (an ankle above its toe) or else the contact joint itself (a crab's leg tip, an
    elephant's front foot). ``positions`` (F, J, 3) in skeleton units."""
    contacts = metrics.contact_feet(skeleton, np.asarray(positions) * (metrics.SPAN_METRES / span), fps)
    named = [j for k, j in metrics.named_effectors(skeleton).items() if k.endswith("foot")]
    legs = []
    for c in contacts:
        above = [f for f in named if f == c or f in skeleton.chain(c)]
        legs.append(above[0] if above else c)
    return legs, contacts


def contact_mask(motion, feet, span, positions=None, named=None):
    """(T, n) bool: docs/evaluation.md contact (low in this frame and the next) and slow.
    Low is below the feet's ground + 5 cm; a foot not in ``named`` (default: all are) is
    measured from its own ground where that is higher (``metrics.foot_grounds``)."""
    sk = motion.skeleton
    positions = motion.positions() if positions is None else positions
    pos = positions[:, feet] * (metrics.SPAN_METRES / span)
    up = sk.up_axis
    heights = pos[..., up]
    ground = float(np.percentile(heights, 5))
    if named is not None:
        own = np.percentile(heights, 5, axis=0)
        ground = np.array([ground if f in named else max(ground, float(h)) for f, h in zip(feet, own)])
    low = heights < ground + metrics.CONTACT_MARGIN
    low = low & np.concatenate([low[1:], low[-1:]], axis=0)
    vel = np.diff(pos, axis=0, prepend=pos[:1])
    vel[..., up] = 0.0
    speed = np.linalg.norm(uniform_filter1d(vel, size=max(1, int(round(0.1 * motion.fps))), axis=0), axis=-1) * motion.fps
    return low & (speed < LOCK_SPEED)


def contact_weights(motion, feet, span, positions=None, named=None):
    """(n,) arrays (T,) of lock weights in 0..1 per foot (``named`` as in ``contact_mask``)."""
    mask = contact_mask(motion, feet, span, positions, named)
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
