"""Motion DNA: an explicit, inspectable summary of one clip, kept in the generator file
(``meta["dna_info"]``) and shown to the user.

- speed: mean / 95th-percentile root ground speed (m/s, span-scaled);
- rhythm: dominant period (s) of the summed joint speeds (autocorrelation peak), 0 if none;
- style: mean root-relative pose and per-joint amplitude (m): how far each joint roams;
- effectors: the main end effectors (hands, feet, head), found by name.

numpy only.
"""
import re

import numpy as np

from ..motion.metrics import metres_per_unit


def global_features(motion, enc, layout):
    """Speed, rhythm and style of the clip from its encoding (engine/motion/features.py)."""
    ms = metres_per_unit(motion.skeleton, motion.translations)
    fps = motion.fps
    speed = np.linalg.norm(enc.states[:, layout.vel], axis=-1) * ms * fps
    rel = enc.states[:, layout.pos].reshape(len(enc.states), -1, 3) * ms
    return {
        "speed_mean": float(speed.mean()), "speed_p95": float(np.percentile(speed, 95)),
        "rhythm_period_s": rhythm_period(enc.positions * ms, fps),
        "mean_pose": rel.mean(axis=0), "amplitude": np.linalg.norm(rel.std(axis=0), axis=-1),
    }


def rhythm_period(positions, fps):
    """Dominant period (s) from the autocorrelation of the summed joint speeds; 0 if none."""
    if len(positions) < 8:
        return 0.0
    speed = np.linalg.norm(np.diff(positions, axis=0), axis=-1).sum(axis=1)
    speed = speed - speed.mean()
    ac = np.correlate(speed, speed, mode="full")[len(speed) - 1:]
    if ac[0] <= 0:
        return 0.0
    ac = ac / ac[0]
    lo = max(2, int(0.2 * fps))
    peaks = [i for i in range(lo, len(ac) - 1) if ac[i] > ac[i - 1] and ac[i] >= ac[i + 1] and ac[i] > 0.2]
    return float(peaks[0] / fps) if peaks else 0.0


_SIDE_LEFT = re.compile(r"(left|^l[A-Z_]|_l$|_l_|^l_|\.l$|_L$|_L_)")
_SIDE_RIGHT = re.compile(r"(right|^r[A-Z_]|_r$|_r_|^r_|\.r$|_R$|_R_)")


def _side(name):
    if re.search("left", name, re.I) or _SIDE_LEFT.search(name):
        return "L"
    if re.search("right", name, re.I) or _SIDE_RIGHT.search(name):
        return "R"
    return ""


def effector_joints(skeleton, max_joints=5):
    """The main end effectors (hands, feet, head) by name: per side and part, the matching
    joint closest to the root (LeftHand, not LeftHandIndex1). Rigs with other names fall
    back to the leaves farthest from the root."""
    depth = np.array([len(skeleton.chain(j)) for j in range(skeleton.num_joints)])
    parts = [("L", r"hand|wrist"), ("R", r"hand|wrist"), ("L", r"foot|ankle"), ("R", r"foot|ankle"), ("", r"head")]
    out = []
    for side, pat in parts:
        hits = [j for j, n in enumerate(skeleton.names)
                if re.search(pat, n, re.I) and (_side(n) == side or (side == "" and True))
                and not re.search(r"end|top|site", n, re.I)]
        if hits:
            out.append(int(min(hits, key=lambda j: (depth[j], j))))
    out = list(dict.fromkeys(out))
    if len(out) < 3:
        rest = skeleton.rest_positions()
        root = skeleton.root
        leaves = [j for j in range(skeleton.num_joints) if not skeleton.children(j) and j != root]
        leaves.sort(key=lambda j: -np.linalg.norm(rest[j] - rest[root]))
        out = list(dict.fromkeys(out + leaves))
    return [j for j in out if j != skeleton.root][:max_joints]
