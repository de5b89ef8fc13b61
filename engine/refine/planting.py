"""Feet through blends: where a variation blends one stretch of the clip into another.

Blending two stances drifts the feet: a planted foot slides with a blend of two root
speeds, and a blend of two leg poses can push a foot into the ground. ``FootPlanter``
fixes both on the blended frames only (frames that replay the source stay exact):

- ``root_steps``: the root's ground steps on blended frames come from the feet the source
  had planted there (docs/evaluation.md contact rule: low and slow), so the body moves
  around them instead of sliding them; the change is smoothed over ``ROOT_SMOOTH_S``;
- ``lift_above_floor``: the body rises by however far its lowest contact foot sinks below
  the lowest the source ever puts that foot.

Measured (docs/decisions.md): a two-bone IK lock of the feet on top of these cost more
style distance than it saved foot sliding, so it is not applied.
"""
import numpy as np

from ..motion import contacts, features
from ..motion.filters import gaussian_filter1d
from ..motion.skeleton import forward_kinematics
from . import floor
from .refinement import Rig

ROOT_SMOOTH_S = 0.05   # seconds: how smoothly the root's foot-driven steps change


class FootPlanter:
    """The source's legs and contacts, prepared once per generator."""

    def __init__(self, source, forward_local):
        self.rig = Rig(source)
        self.forward_local = forward_local
        self.positions = source.positions()
        self.up = source.skeleton.up_axis
        self.contacts = (contacts.contact_mask(source, self.rig.contact_feet, self.rig.span, self.positions,
                                               self.rig.named_feet)
                         if self.rig.legs else None)

    def root_steps(self, motion, states, layout, idx, blended):
        """``states`` with the root's ground steps on blended frames taken from the planted
        feet: the root moves so that the feet the source had planted stay where they are
        (the mean over those feet), instead of drifting with a blend of two root speeds."""
        if self.contacts is None or not np.any(blended):
            return states
        planted = self.contacts[idx] & blended[:, None]                 # (T, legs)
        frames = np.flatnonzero(planted.any(axis=1))
        frames = frames[frames > 0]
        if not len(frames):
            return states
        root = motion.skeleton.root
        wrot, wpos = forward_kinematics(motion.skeleton, motion.rotations, motion.translations, self.rig.legs + [root])
        rel = wpos[:, self.rig.legs] - wpos[:, root:root + 1]            # (T, legs, 3) world-oriented
        step = rel[frames - 1] - rel[frames]                              # the root's step that keeps a foot still
        w = planted[frames].astype(float)[..., None]
        step = (step * w).sum(axis=1) / w.sum(axis=1)
        theta, _ = features.integrate_root(states, layout, 0.0, np.zeros(2))
        theta = theta + (features.headings(wrot[:1, root], self.forward_local, self.up)[0] - theta[0])
        ground = features.rotate_ground(features.to_ground(step, self.up), -theta[frames - 1])
        change = np.zeros((len(states), 2))
        change[frames] = ground - states[frames, layout.vel]
        # Smoothed: a foot's own frame-to-frame noise (and a switch between feet) would
        # shake the whole body.
        change = gaussian_filter1d(change, ROOT_SMOOTH_S * motion.fps, axis=0)
        out = states.copy()
        out[:, layout.vel] += change
        return out

    def lift_above_floor(self, motion, blended):
        """``motion`` (edited in place) raised, on blended frames, by however far its lowest
        contact foot sinks below the lowest the source ever puts that foot: a blend of two
        stances must not push a foot into the ground."""
        if self.contacts is None:
            return motion
        feet = self.rig.contact_feet
        return floor.lift_above_floor(motion, feet, floor.lowest_heights(self.positions, feet, self.up), blended)
