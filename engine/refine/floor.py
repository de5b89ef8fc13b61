"""The floor a refinement or a blend must not push a foot through."""
import numpy as np

from ..motion.filters import gaussian_filter1d
from ..motion.skeleton import forward_kinematics

LIFT_SMOOTH_S = 0.1    # seconds: how smoothly the body rises off the floor


def lowest_heights(positions, feet, up_axis):
    """Per foot, the lowest height ``positions`` (F, J, 3) ever put it at: its floor."""
    return positions[:, feet, up_axis].min(axis=0)


def lift_above_floor(motion, feet, floor, frames):
    """``motion`` (edited in place) raised, on ``frames`` (T,) bool, by however far its
    lowest foot sinks below that foot's ``floor``, smoothly and never less than needed."""
    if not np.any(frames):
        return motion
    up = motion.skeleton.up_axis
    heights = forward_kinematics(motion.skeleton, motion.rotations, motion.translations, feet)[1][:, feet, up]
    deficit = np.where(frames, np.max(np.asarray(floor)[None] - heights, axis=1), 0.0).clip(min=0.0)
    if not deficit.any():
        return motion
    reach = max(1, int(round(LIFT_SMOOTH_S * motion.fps)))
    held = np.lib.stride_tricks.sliding_window_view(np.pad(deficit, reach), 2 * reach + 1).max(axis=1)
    lift = np.maximum(gaussian_filter1d(held, reach / 2.0, axis=0), deficit)
    motion.translations[:, motion.skeleton.root, up] += lift
    return motion
