"""engine/generator/dna.py: the clip's summary (speed, rhythm, effectors)."""
import numpy as np
from synthetic import synthetic_clip

from motiondna.engine.generator import dna, graph
from motiondna.engine.io.bvh import read_bvh
from motiondna.engine.motion.metrics import metres_per_unit

from conftest import CLIP


def test_rhythm_period_is_the_dominant_period_of_the_joint_speeds():
    fps = 30.0
    t = np.arange(120) / fps
    swing = np.stack([np.sin(2 * np.pi * t / 0.8), np.zeros_like(t), np.zeros_like(t)], axis=1)
    positions = np.stack([swing, -swing, np.zeros_like(swing)], axis=1)      # (F, 3 joints, 3)
    # Speed peaks twice per swing: the period of the summed speeds is half the swing's.
    assert abs(dna.rhythm_period(positions, fps) - 0.4) < 2 / fps
    assert dna.rhythm_period(np.zeros((120, 3, 3)), fps) == 0.0                # a still clip has none
    assert dna.rhythm_period(positions[:5], fps) == 0.0                        # too short to tell


def test_global_features_of_a_walk():
    clip = synthetic_clip()
    enc, layout = graph.encode_clip(clip)
    f = dna.global_features(clip, enc, layout)
    m = metres_per_unit(clip.skeleton, clip.translations)
    assert abs(f["speed_mean"] - 0.8 * m) < 0.05 * 0.8 * m and f["speed_p95"] >= f["speed_mean"]
    assert abs(f["rhythm_period_s"] - 0.5) < 0.1
    assert f["mean_pose"].shape == (clip.skeleton.num_joints, 3) and np.all(f["amplitude"] >= 0)


def test_effectors_are_hands_feet_head():
    sk = synthetic_clip(4).skeleton
    assert [sk.names[j] for j in dna.effector_joints(sk)] == ["LeftHand", "RightHand", "LeftFoot", "RightFoot", "Head"]
    cmu = read_bvh(CLIP).to_motion().skeleton
    assert [cmu.names[j] for j in dna.effector_joints(cmu)] == ["LeftWrist", "RightWrist", "LeftAnkle", "RightAnkle", "Head"]


def test_a_creature_summary_lists_its_limb_tips_and_the_legs_it_stands_on():
    from synthetic import creature_clip
    clip = creature_clip(legs=6, tail_bones=16)
    sk = clip.skeleton
    effectors = [sk.names[j] for j in dna.effector_joints(sk, clip.translations)]
    assert set(effectors) == {f"limb{k}_tip" for k in range(6)} | {"seg15"}
    contacts = [sk.names[j] for j in dna.contact_joints(clip)]
    assert len(contacts) == 6 and all(n.startswith("limb") for n in contacts)
