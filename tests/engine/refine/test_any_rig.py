"""The refinement on rigs without human names or shape: a many-legged creature (legs and a
16-bone tail branching at the root body, zero-length tip joints) and a single hanging
chain with a zero-length bone that never touches the ground."""
import numpy as np
import pytest
from synthetic import creature_clip, tentacle_clip

from motiondna.engine.motion import metrics
from motiondna.engine.motion.targets import Target
from motiondna.engine.refine import ik
from motiondna.engine.refine import refinement as refine


def _offset_target(clip, joint, frame, offset):
    pos = clip.positions()
    return Target(joint, [frame], (pos[frame, joint] + np.asarray(offset, float))[None])


def _error(out, target):
    return float(np.linalg.norm(out.positions()[target.frames, target.joint] - target.positions, axis=-1).max())


def test_rig_locks_every_leg_the_creature_stands_on():
    clip = creature_clip(legs=8)
    rig = refine.Rig(clip)
    assert len(rig.legs) == 8 and rig.floor is not None
    sk = clip.skeleton
    for leg in rig.legs:
        mid, top = rig.leg_levers[leg]
        assert np.linalg.norm(sk.rest_translations[leg]) > 0 and np.linalg.norm(sk.rest_translations[mid]) > 0
        assert top in sk.chain(mid)


@pytest.mark.parametrize("joint, offset", [("limb0_tip", [0.08, 0.05, 0.0]), ("limb3_tip", [0.0, 0.1, 0.06]),
                                            ("seg15", [0.0, 0.12, 0.1]), ("seg7", [0.05, 0.05, 0.0]),
                                            ("limb5_1", [0.0, 0.05, 0.0])])
def test_a_target_on_any_joint_of_a_creature_is_reached_and_the_other_legs_stay(joint, offset):
    clip = creature_clip(legs=8)
    sk = clip.skeleton
    frame = 52  # the even legs stand, the odd legs swing
    target = _offset_target(clip, sk.index(joint), frame, offset)
    out = refine.refine_targets(clip, [target])
    assert np.all(np.isfinite(out.rotations))
    assert _error(out, target) < 1e-3
    rig = refine.Rig(clip)
    before, after = clip.positions(), out.positions()
    targeted_limb = set(sk.chain(sk.index(joint)))
    for leg, foot in zip(rig.legs, rig.contact_feet):
        if leg in targeted_limb or any(j in targeted_limb for j in sk.chain(leg)[:-2]):
            continue
        if int(sk.names[foot][4]) % 2 == 0:  # a stance foot does not slide while the body reaches
            assert np.linalg.norm(after[frame, foot] - before[frame, foot]) < 1e-3


def test_a_far_target_on_a_creature_is_approached_and_its_residual_reported():
    clip = creature_clip(legs=6)
    sk = clip.skeleton
    target = _offset_target(clip, sk.index("limb2_tip"), 50, [3.0, 0.0, 0.0])  # beyond any lean
    out = refine.refine_targets(clip, [target])
    assert np.all(np.isfinite(out.rotations)) and np.all(np.isfinite(out.translations))
    before = float(np.linalg.norm(clip.positions()[50, target.joint] - target.positions[0]))
    assert _error(out, target) < before - 0.2  # closer, and what is left is measurable


def test_a_long_chain_with_a_zero_length_bone_and_no_ground_reaches_its_targets():
    clip = tentacle_clip(bones=18)
    sk = clip.skeleton
    rig = refine.Rig(clip)
    assert rig.legs == [] and rig.floor is None
    tip = sk.index("t17")
    assert len(ik.effector_chain(sk, tip)) == 17   # the whole chain up to the anchor (the root)
    after_zero = sk.index(f"t{18 // 2 + 1}")       # the joint below the zero-length bone
    for joint, offset in ((tip, [0.0, 0.3, 0.2]), (after_zero, [0.0, 0.1, 0.05])):
        target = _offset_target(clip, joint, 45, offset)
        out = refine.refine_targets(clip, [target])
        assert np.all(np.isfinite(out.rotations))
        assert _error(out, target) < 1e-3
        untouched = refine.affected_range([target], clip.num_frames, 0.5, clip.fps)
        np.testing.assert_array_equal(out.rotations[:untouched[0]], clip.rotations[:untouched[0]])


def test_two_bone_levers_pass_over_zero_length_bones():
    clip = creature_clip(legs=4)
    sk = clip.skeleton
    tip = sk.index("limb0_tip")  # sits on limb0_3: its own bone has no length
    chain = ik.effector_chain(sk, tip)
    assert chain[0] == sk.index("limb0_2")  # the first joint whose turn moves the tip
    assert ik.two_bone_levers(sk, tip, chain) == (sk.index("limb0_2"), sk.index("limb0_1"))
    assert ik.two_bone_levers(sk, tip, chain[:1]) is None


def test_a_planted_foot_carried_along_the_ground_steps_instead_of_sliding():
    clip = creature_clip(legs=8, frames=150)
    sk = clip.skeleton
    rig = refine.Rig(clip)
    leg = sk.index("limb2_3")  # stands at frame 52 (the even legs' stance)
    assert leg in rig.legs
    scale = metrics.metres_per_unit(sk, clip.translations)
    sideways = np.zeros(3)
    sideways[[0, 2]] = 0.3 / scale / np.sqrt(2)  # 30 cm along the ground, span-scaled
    target = _offset_target(clip, leg, 52, sideways)
    out = refine.refine_targets(clip, [target])
    assert _error(out, target) < 1e-3
    ref = metrics.Reference(clip)
    feet = [rig.contact_feet[rig.legs.index(leg)]]
    grounds = ref.foot_grounds[[ref.feet.index(feet[0])]]
    skate = metrics.foot_skate(ref.track_of(out), feet, grounds)
    # Without the step the same foot slides: the travel is faster than a planted foot may move.
    plain = refine._step_over
    try:
        refine._step_over = lambda *args: None
        slid = refine.refine_targets(clip, [target])
    finally:
        refine._step_over = plain
    slid_skate = metrics.foot_skate(ref.track_of(slid), feet, grounds)
    assert skate < 0.75 * slid_skate  # halved here: the stance is short, the final approach fast
    up = sk.up_axis
    stance = slice(46, 59)  # the input foot stands here while the target carries it
    assert np.all(clip.positions()[stance, leg, up] < 1e-6)
    assert out.positions()[stance, leg, up].max() > 0.04 / scale
