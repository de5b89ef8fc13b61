"""A small synthetic walking humanoid for tests that train or play a generator."""
import numpy as np

from motiondna.engine.motion import quat
from motiondna.engine.motion.skeleton import Motion, Skeleton


def synthetic_clip(frames=90, fps=30.0, varied=False):
    """A small Z-up humanoid swinging its arms and legs while walking and turning slowly.
    ``varied``: the swings grow and shrink over ~3.7 s, so that no two cycles are alike
    (a clip with material to recombine, not one cycle repeated)."""
    names = ["Hips", "Spine", "Chest", "Neck", "Head",
             "LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand",
             "RightShoulder", "RightArm", "RightForeArm", "RightHand",
             "LeftUpLeg", "LeftLeg", "LeftFoot", "RightUpLeg", "RightLeg", "RightFoot"]
    parents = [-1, 0, 1, 2, 3, 2, 5, 6, 7, 2, 9, 10, 11, 0, 13, 14, 0, 16, 17]
    offs = [[0, 0, 1.0], [0, 0, 0.15], [0, 0, 0.2], [0, 0, 0.2], [0, 0, 0.12],
            [0.08, 0, 0.15], [0.12, 0, 0], [0.28, 0, 0], [0.25, 0, 0],
            [-0.08, 0, 0.15], [-0.12, 0, 0], [-0.28, 0, 0], [-0.25, 0, 0],
            [0.1, 0, 0], [0, 0, -0.45], [0, 0, -0.45], [-0.1, 0, 0], [0, 0, -0.45], [0, 0, -0.45]]
    sk = Skeleton(names, parents, quat.identity((len(names),)), offs, up_axis=2)
    t = np.arange(frames) / fps
    ph = 2 * np.pi * t
    amp = 1.0 + (0.5 * np.sin(2 * np.pi * t / 3.7) if varied else 0.0)
    rots = quat.identity((frames, len(names)))
    swing = {6: ([0, 1, 0], 0.6 * amp * np.sin(ph)), 7: ([0, 0, 1], 0.4 + 0.3 * np.sin(ph + 1)),
             10: ([0, 1, 0], -0.6 * amp * np.sin(ph)), 11: ([0, 0, 1], -0.4 - 0.3 * np.sin(ph + 1)),
             13: ([1, 0, 0], 0.4 * np.sin(ph)), 14: ([1, 0, 0], 0.3 + 0.3 * np.sin(ph + 0.5)),
             16: ([1, 0, 0], -0.4 * np.sin(ph)), 17: ([1, 0, 0], 0.3 - 0.3 * np.sin(ph + 0.5)),
             1: ([0, 0, 1], 0.1 * np.sin(ph)), 0: ([0, 0, 1], 0.3 * t)}
    for j, (axis, ang) in swing.items():
        rots[:, j] = quat.from_axis_angle(np.array(axis, float), ang)
    trans = np.broadcast_to(np.asarray(offs, float), (frames, len(names), 3)).copy()
    trans[:, 0, 1] = 0.8 * t
    trans[:, 0, 2] = 1.0 + 0.03 * np.sin(2 * ph)
    return Motion(sk, rots, trans, fps, "synthetic")
