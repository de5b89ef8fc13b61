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


def creature_clip(legs=8, leg_bones=4, tail_bones=16, frames=120, fps=30.0):
    """A Y-up many-legged creature with no human joint names, animated procedurally: a body
    joint (branching at the root: every leg and the tail hang from it) carries ``legs`` legs
    of ``leg_bones`` bones, each ending in a zero-length tip joint (as exported 'end'
    joints are), and a tail of ``tail_bones`` bones held up off the ground. The legs step in
    two alternating groups: a stance leg stands still with its tip on the ground, a swing leg
    lifts; the tail waves and the body bobs and sways a little, in place."""
    names, parents, offs = ["root", "body"], [-1, 0], [[0, 0, 0], [0, 0.3, 0]]
    tips, tops = [], []
    for k in range(legs):
        angle = 2 * np.pi * (k + 0.5) / legs
        out = np.array([np.cos(angle), 0.0, np.sin(angle)])
        parent = 1
        rest = max(leg_bones - 3, 1)  # the lower segments, bent back in under the knee
        lower = list(-0.05 / rest * out + [0, -0.28 / rest, 0])
        segs = [0.12 * out, 0.16 * out + [0, 0.08, 0], 0.14 * out + [0, -0.1, 0]] + [lower] * (leg_bones - 3)
        for b, off in enumerate(segs[:leg_bones]):
            names.append(f"limb{k}_{b}")
            parents.append(parent)
            offs.append(list(off))
            if b == 0:
                tops.append(len(names) - 1)
            parent = len(names) - 1
        names.append(f"limb{k}_tip")   # zero-length: it sits on its parent
        parents.append(parent)
        offs.append([0, 0, 0])
        tips.append(len(names) - 1)
    parent = 1
    for b in range(tail_bones):
        names.append(f"seg{b}")
        parents.append(parent)
        offs.append([0, 0.01, -0.06] if b else [0, 0.05, -0.1])
        parent = len(names) - 1
    sk = Skeleton(names, parents, quat.identity((len(names),)), offs, up_axis=1)
    t = np.arange(frames) / fps
    ph = 2 * np.pi * t
    rots = quat.identity((frames, len(names)))
    for k, top in enumerate(tops):
        lift = np.clip(np.sin(ph + np.pi * (k % 2)), 0.0, None)  # half the legs swing at a time
        angle = np.arctan2(offs[top][2], offs[top][0])
        side = np.array([-np.sin(angle), 0.0, np.cos(angle)])    # the axis that lifts this leg
        rots[:, top] = quat.from_axis_angle(side, 0.5 * lift)
    tail = [j for j, n in enumerate(names) if n.startswith("seg")]
    for i, j in enumerate(tail):
        rots[:, j] = quat.from_axis_angle(np.array([0, 1.0, 0]), 0.08 * np.sin(ph - 0.4 * i))
    trans = np.broadcast_to(np.asarray(offs, float), (frames, len(names), 3)).copy()
    # The stance tips stand on the ground (y = 0): the body sits at the legs' reach.
    trans[:, 0, 1] = 0.0
    rots[:, 1] = quat.from_axis_angle(np.array([0, 1.0, 0]), 0.05 * np.sin(0.5 * ph))
    return Motion(sk, rots, trans, fps, "creature")


def tentacle_clip(bones=18, frames=90, fps=30.0):
    """A single chain of ``bones`` bones (a tentacle or a rope) hanging from a root high above
    the ground and waving: no joint ever touches the ground, no joint has a human name,
    and a zero-length bone sits in the middle of the chain."""
    names = ["anchor"] + [f"t{b}" for b in range(bones)]
    parents = [-1] + list(range(bones))
    offs = [[0, 0, 3.0]] + [[0, 0, -0.08]] * bones
    offs[bones // 2] = [0, 0, 0]
    sk = Skeleton(names, parents, quat.identity((len(names),)), offs, up_axis=2)
    ph = 2 * np.pi * np.arange(frames) / fps
    rots = quat.identity((frames, len(names)))
    for j in range(1, len(names)):
        rots[:, j] = quat.from_axis_angle(np.array([1.0, 0, 0]), 0.1 * np.sin(ph - 0.3 * j))
    trans = np.broadcast_to(np.asarray(offs, float), (frames, len(names), 3)).copy()
    return Motion(sk, rots, trans, fps, "tentacle")


def write_clip_bvh(motion, path):
    """``motion`` (identity rest rotations) as a BVH file at ``path``: every joint rotates,
    the root also translates; leaf joints get a short end site along their bone."""
    from motiondna.engine.io.bvh import BvhFile, write_bvh
    sk = motion.skeleton
    channels = [(["Xposition", "Yposition", "Zposition"] if p < 0 else []) + ["Zrotation", "Xrotation", "Yrotation"]
                for p in sk.parents]
    ends = [(j, 0.3 * np.asarray(sk.rest_translations[j]) if np.linalg.norm(sk.rest_translations[j]) > 0
             else np.array([0.0, 0.02, 0.0])) for j in range(sk.num_joints) if not sk.children(j)]
    width = sum(len(c) for c in channels)
    template = BvhFile(list(sk.names), np.asarray(sk.parents), np.asarray(sk.rest_translations, float), channels,
                       ends, 1.0 / motion.fps, np.zeros((0, width)), motion.name)
    write_bvh(path, template, motion)
    return path
