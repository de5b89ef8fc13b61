"""engine/refine/ik.py: DLS chain IK and classic chain selection (synthetic arm + the shared rigs)."""
import os

import numpy as np
import pytest

from motiondna.engine.io.bvh import read_bvh
from motiondna.engine.motion import quat
from motiondna.engine.motion.metrics import end_effectors
from motiondna.engine.motion.skeleton import Skeleton, forward_kinematics
from motiondna.engine.refine import ik

from conftest import MOTIONS, needs_shared

# Same definitions as conftest (imported by path there; this file runs on its own too).


def shared_clips():
    if not os.path.isdir(MOTIONS):
        return []
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(MOTIONS) for f in fs if f.lower().endswith(".bvh"))


def arm_skeleton():
    """Chest with two 3-bone arms and a neck: root, chest, (clavicle, upper, fore, hand) x2, neck, head."""
    names = ["root", "chest", "l_clav", "l_upper", "l_fore", "l_hand", "r_clav", "r_upper", "r_fore", "r_hand", "neck", "head"]
    parents = [-1, 0, 1, 2, 3, 4, 1, 6, 7, 8, 1, 10]
    offsets = [[0, 0, 1], [0, 0, 0.3], [0.05, 0, 0.2], [0.15, 0, 0], [0.3, 0, 0], [0.25, 0, 0],
               [-0.05, 0, 0.2], [-0.15, 0, 0], [-0.3, 0, 0], [-0.25, 0, 0], [0, 0, 0.25], [0, 0, 0.1]]
    return Skeleton(names, parents, quat.identity((12,)), offsets, 2)


def bent_pose(skel, rng, amount=0.4):
    rot = quat.from_scaled_axis(rng.normal(scale=amount, size=(skel.num_joints, 3)))
    return rot, skel.rest_translations.copy()


def test_reaches_reachable_targets_on_synthetic_arm():
    skel = arm_skeleton()
    rng = np.random.default_rng(0)
    hand = skel.index("l_hand")
    chain = ik.effector_chain(skel, hand)
    assert [skel.names[c] for c in chain] == ["l_fore", "l_upper", "l_clav"]
    for _ in range(20):
        rot, trans = bent_pose(skel, rng)
        # A target made by moving the chain itself is reachable by construction.
        moved = rot.copy()
        moved[chain] = quat.mul(rot[chain], quat.from_scaled_axis(rng.normal(scale=0.3, size=(len(chain), 3))))
        target = forward_kinematics(skel, moved, trans)[1][hand]
        new_rot, new_trans = ik.solve_chain(skel, rot, trans, hand, target, chain)
        got = forward_kinematics(skel, new_rot, new_trans)[1][hand]
        assert np.linalg.norm(got - target) < 1e-3 * skel.span()
        untouched = [j for j in range(skel.num_joints) if j not in chain]
        np.testing.assert_array_equal(new_rot[untouched], rot[untouched])
        np.testing.assert_array_equal(new_trans, trans)


def test_unreachable_target_stretches_toward_it_without_nan():
    skel = arm_skeleton()
    rng = np.random.default_rng(1)
    hand, top = skel.index("l_hand"), skel.index("l_upper")
    rot, trans = bent_pose(skel, rng, 0.3)
    far = np.array([5.0, 2.0, 3.0])
    chain = ik.effector_chain(skel, hand, length=2)  # forearm + upper arm: reach 0.55
    new_rot, new_trans = ik.solve_chain(skel, rot, trans, hand, far, chain, iterations=60)
    assert np.all(np.isfinite(new_rot))
    pos = forward_kinematics(skel, new_rot, new_trans)[1]
    before = forward_kinematics(skel, rot, trans)[1]
    assert np.linalg.norm(pos[hand] - far) < np.linalg.norm(before[hand] - far)
    # Nearly straight and pointing at the target.
    assert np.linalg.norm(pos[hand] - pos[top]) > 0.98 * 0.55
    direction = (pos[hand] - pos[top]) / np.linalg.norm(pos[hand] - pos[top])
    to_target = (far - pos[top]) / np.linalg.norm(far - pos[top])
    assert direction @ to_target > 0.99


def test_batched_solve_and_move_root():
    skel = arm_skeleton()
    rng = np.random.default_rng(2)
    hand = skel.index("r_hand")
    chain = ik.effector_chain(skel, hand)
    rots = np.stack([bent_pose(skel, rng, 0.3)[0] for _ in range(8)])
    trans = np.broadcast_to(skel.rest_translations, (8, skel.num_joints, 3)).copy()
    start = ik.effector_position(skel, rots, trans, hand)
    target = start + np.array([0.0, 0.0, 2.0])  # out of the arm's reach: needs the root
    new_rot, new_trans = ik.solve_chain(skel, rots, trans, hand, target, chain, move_root=True, iterations=40)
    got = ik.effector_position(skel, new_rot, new_trans, hand)
    assert np.abs(got - target).max() < 1e-3 * skel.span()
    assert np.all(new_trans[:, 0, 2] > trans[:, 0, 2])


def test_bad_chain_is_refused():
    skel = arm_skeleton()
    with pytest.raises(ValueError, match="not an ancestor"):
        ik.solve_chain(skel, quat.identity((12,)), skel.rest_translations, skel.index("l_hand"),
                       np.zeros(3), [skel.index("r_fore")])


EXPECTED_CHAINS = {
    "cmu_mb/01_01_playground_jumps_f1-2401.bvh": {"LeftHand": ["LeftForeArm", "LeftArm", "LeftShoulder"],
                                                  "RightFoot": ["RightLeg", "RightUpLeg", "RHipJoint"],
                                                  "Head": ["Neck1", "Neck"]},
    "cmu_3dsmax/131_03_start_hop_stop.bvh": {"lhand": ["LeftElbow", "LeftShoulder", "LeftCollar"],
                                             "LeftWrist": ["LeftElbow", "LeftShoulder", "LeftCollar"],
                                             "RightAnkle": ["RightKnee", "RightHip", "RHipJoint"]},
    "cmu_daz/08_01_walk_trimmed.bvh": {"rHand": ["rForeArm", "rShldr", "rCollar"], "lFoot": ["lShin", "lThigh", "lButtock"]},
    "cmu_iclone_cc/002_05_punch_strike.bvh": {"CC_Base_L_Hand": ["CC_Base_L_Forearm", "CC_Base_L_Upperarm", "CC_Base_L_Clavicle"],
                                              "CC_Base_R_Foot": ["CC_Base_R_Calf", "CC_Base_R_Thigh"]},
    "bandai_namco/dataset-1_kick_normal_001.bvh": {"Hand_R": ["LowerArm_R", "UpperArm_R", "Shoulder_R"],
                                                  "Foot_L": ["LowerLeg_L", "UpperLeg_L"]},
    "fair_animated_drawings/wave_hello_f380-839.bvh": {"RightHand": ["RightForeArm", "RightArm", "RightShoulder"],
                                                       "LeftFoot": ["LeftLeg", "LeftUpLeg"]},
}


@needs_shared
@pytest.mark.parametrize("clip", sorted(EXPECTED_CHAINS))
def test_chain_selection_on_shared_rigs(clip):
    skel = read_bvh(os.path.join(MOTIONS, clip)).to_motion().skeleton
    for effector, expected in EXPECTED_CHAINS[clip].items():
        chain = ik.effector_chain(skel, skel.index(effector))
        assert [skel.names[c] for c in chain] == expected, effector


@needs_shared
@pytest.mark.parametrize("path", shared_clips(), ids=os.path.basename)
def test_reaches_reachable_targets_on_shared_rigs(path):
    motion = read_bvh(path).to_motion()
    skel = motion.skeleton
    rng = np.random.default_rng(3)
    frames = np.linspace(0, motion.num_frames - 1, 12).astype(int)
    rot, trans = motion.rotations[frames], motion.translations[frames]
    ends = sorted(end_effectors(skel, motion.positions()).values())
    assert len(ends) == 5
    for j in ends:
        chain = ik.effector_chain(skel, j)
        moved = rot.copy()
        moved[:, chain] = quat.mul(rot[:, chain], quat.from_scaled_axis(rng.normal(scale=0.2, size=(len(frames), len(chain), 3))))
        target = ik.effector_position(skel, moved, trans, j)
        new_rot, new_trans = ik.solve_chain(skel, rot, trans, j, target, chain)
        err = np.linalg.norm(ik.effector_position(skel, new_rot, new_trans, j) - target, axis=-1)
        assert err.max() < 1e-3 * skel.span(), skel.names[j]


def test_two_bone_reaches_exactly_and_straightens_toward_far_targets():
    skel = arm_skeleton()
    rng = np.random.default_rng(3)
    hand, fore, upper = skel.index("l_hand"), skel.index("l_fore"), skel.index("l_upper")
    rot, trans = bent_pose(skel, rng, 0.3)
    rots = np.repeat(rot[None], 50, axis=0)
    transs = np.repeat(trans[None], 50, axis=0)
    shoulder = forward_kinematics(skel, rot, trans)[1][upper]
    dirs = rng.normal(size=(50, 3))
    dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
    goal = shoulder + dirs * rng.uniform(0.1, 0.5, size=(50, 1))       # within the 0.55 reach
    out = ik.two_bone(skel, rots, transs, hand, goal, fore, upper)
    got = forward_kinematics(skel, out, transs)[1][:, hand]
    assert np.abs(got - goal).max() < 1e-9
    far = shoulder + dirs * 2.0
    out = ik.two_bone(skel, rots, transs, hand, far, fore, upper)
    got = forward_kinematics(skel, out, transs)[1][:, hand]
    assert np.isfinite(got).all()
    assert np.abs(np.linalg.norm(got - shoulder, axis=-1) - 0.55).max() < 1e-4   # straight, pointing at it
    assert np.abs(out[:, [0, 1, 6, 7, 8, 9]] - rots[:, [0, 1, 6, 7, 8, 9]]).max() == 0.0   # only the limb moved


def test_solve_body_moves_the_root_when_the_limb_cannot_reach_and_respects_caps():
    skel = arm_skeleton()
    rot, trans = quat.identity((skel.num_joints,)), skel.rest_translations.copy()
    hand, chest = skel.index("l_hand"), skel.index("chest")
    pos = forward_kinematics(skel, rot, trans)[1]
    goal = pos[hand] + np.array([0.3, 0.0, 0.0])    # the arm is already straight along +x
    chain = ik.effector_chain(skel, hand)
    joints = chain + [chest]
    cap = np.radians(5.0)
    r, t = ik.solve_body(skel, rot, trans, [(hand, goal, np.ones(3))], joints, [1, 1, 0.3, 0.3],
                         root=0, root_weight=0.5, caps=[np.inf] * len(chain) + [cap], iterations=60)
    got = forward_kinematics(skel, r, t)[1][hand]
    assert np.linalg.norm(got - goal) < 1e-3
    assert t[0, 0] > 0.1                              # the body moved toward the target
    turn = np.linalg.norm(quat.to_scaled_axis(quat.inv_mul(rot[chest], r[chest])))
    assert turn <= cap + 1e-9
