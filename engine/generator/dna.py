"""Motion DNA: an explicit, inspectable summary of one clip, kept in the generator file
(``meta["dna_info"]``) and shown to the user.

- speed: mean / 95th-percentile root ground speed (m/s, span-scaled);
- rhythm: dominant period (s) of the summed joint speeds (autocorrelation peak), 0 if none;
- style: mean root-relative pose and per-joint amplitude (m): how far each joint roams;
- effectors: the main end effectors (hands, feet, head by name; the tips of the other long
  limbs, whatever their names) and the contacts (the joints the clip stands on).

numpy only.
"""
import numpy as np

from ..motion import metrics
from ..motion.metrics import metres_per_unit

MAX_EFFECTORS = 12


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


def effector_joints(skeleton, translations=None, max_joints=MAX_EFFECTORS):
    """The joints a target is most often put on (``metrics.edit_effectors``): a human
    rig's hands, feet and head by name, and the tip of every other long limb (legs, claws,
    tails), whatever the rig's names; at most ``max_joints``. Any other joint can be a
    target too."""
    return [int(j) for j in metrics.edit_effectors(skeleton, translations).values()][:max_joints]


def contact_joints(motion):
    """The joints the clip stands on (``metrics.contact_feet``: the named feet and any limb
    low and slow in the clip); [] for a clip that never touches the ground."""
    trk = metrics.track(motion)
    return [int(j) for j in metrics.contact_feet(motion.skeleton, trk.positions, motion.fps)]
