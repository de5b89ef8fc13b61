"""engine/motion/limbs.py: limb tips and ground contacts from the tree and the motion, no names."""
import numpy as np
from synthetic import creature_clip, synthetic_clip, tentacle_clip

from motiondna.engine.io.bvh import guess_up_axis
from motiondna.engine.motion import limbs, metrics, quat


def _names(skeleton, joints):
    return [skeleton.names[j] for j in joints]


def test_creature_limbs_branch_at_the_root_body():
    clip = creature_clip(legs=8, tail_bones=16)
    sk = clip.skeleton
    assert limbs.is_branching(sk, sk.index("body"))
    tips = limbs.limb_tips(sk, sk.span(clip.translations))
    assert set(_names(sk, tips)) == {f"limb{k}_tip" for k in range(8)} | {"seg15"}
    tail = limbs.limb(sk, sk.index("seg15"))
    assert len(tail) == 16 and sk.parents[tail[-1]] == sk.index("body")


def test_creature_stands_on_every_leg_and_not_on_its_tail():
    clip = creature_clip(legs=6)
    sk = clip.skeleton
    trk = metrics.track(clip)
    found = limbs.ground_contacts(sk, trk.positions, clip.fps)
    # One contact per leg (its lowest joint: the zero-length tip's parent sits on the tip).
    assert len(found) == 6
    assert all(sk.names[j].startswith("limb") for j in found)
    assert len({sk.names[j].split("_")[0] for j in found}) == 6
    assert metrics.contact_feet(sk, trk.positions, clip.fps) == found  # no names: the contacts are the feet


def test_a_chain_held_in_the_air_has_no_contacts():
    clip = tentacle_clip(bones=18)
    sk = clip.skeleton
    trk = metrics.track(clip)
    assert limbs.ground_contacts(sk, trk.positions, clip.fps) == []
    assert metrics.contact_feet(sk, trk.positions, clip.fps) == []
    assert len(limbs.limb(sk, sk.index("t17"))) == 18


def test_a_limb_that_only_hangs_still_is_no_contact():
    """A slow joint far above the ground is not standing: low and slow, both."""
    clip = creature_clip(legs=4)
    trk = metrics.track(clip)
    pos = trk.positions.copy()
    pos[..., clip.skeleton.up_axis] += 0.5  # lift the whole clip: still a floor at its lowest
    assert len(limbs.ground_contacts(clip.skeleton, pos, clip.fps)) == 4
    legs_only = pos.copy()
    tips = [clip.skeleton.index(f"limb{k}_tip") for k in range(4)]
    seg = clip.skeleton.index("seg0")
    share = limbs.contact_share(legs_only[:, [seg] + tips], clip.skeleton.up_axis, legs_only[..., 1].min(), clip.fps)
    assert share[0] == 0.0 and np.all(share[1:] > 0.2)


def test_human_feet_are_still_found_by_name():
    clip = synthetic_clip()
    sk = clip.skeleton
    trk = metrics.track(clip)
    assert _names(sk, metrics.contact_feet(sk, trk.positions, clip.fps)) == ["LeftFoot", "RightFoot"]
    assert list(metrics.edit_effectors(sk)) == ["left_hand", "right_hand", "left_foot", "right_foot", "head"]


def test_up_axis_from_the_floor_on_a_rig_without_a_head():
    clip = creature_clip()
    pos = clip.positions()
    assert guess_up_axis(clip.skeleton, pos) == 1
    # The same creature turned so that Z is up: the floor rule follows it.
    turn = quat.from_axis_angle(np.array([1.0, 0, 0]), np.array(np.pi / 2))
    assert guess_up_axis(clip.skeleton, quat.mul_vec(turn, pos)) == 2
