"""engine/refine/refinement.py: whole-body target refinement (exact, planted feet stay, smooth)."""
import os

import numpy as np
import pytest

from motiondna.engine.io.bvh import read_bvh
from motiondna.engine.motion import contacts, metrics, quat
from motiondna.engine.motion.skeleton import Motion, Skeleton
from motiondna.engine.motion.targets import Target
from motiondna.engine.refine import refinement as refine

from conftest import MOTIONS, needs_shared


def shared_clip(name):
    for d, _, files in os.walk(MOTIONS):
        for f in files:
            if f == name:
                return read_bvh(os.path.join(d, f)).to_motion()
    pytest.skip(f"{name} is not in ../shared/motions")


def standing_clip(frames=90, fps=30.0):
    """A Z-up humanoid standing in place (feet planted), swinging its arms, bobbing a little."""
    names = ["Hips", "Spine", "Chest", "Neck", "Head",
             "LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand",
             "RightShoulder", "RightArm", "RightForeArm", "RightHand",
             "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToe", "RightUpLeg", "RightLeg", "RightFoot", "RightToe"]
    parents = [-1, 0, 1, 2, 3, 2, 5, 6, 7, 2, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19]
    offs = [[0, 0, 0.95], [0, 0, 0.15], [0, 0, 0.2], [0, 0, 0.2], [0, 0, 0.12],
            [0.08, 0, 0.15], [0.12, 0, 0], [0.28, 0, 0], [0.25, 0, 0],
            [-0.08, 0, 0.15], [-0.12, 0, 0], [-0.28, 0, 0], [-0.25, 0, 0],
            [0.1, 0, 0], [0, 0, -0.45], [0, 0, -0.45], [0, -0.12, -0.04],
            [-0.1, 0, 0], [0, 0, -0.45], [0, 0, -0.45], [0, -0.12, -0.04]]
    sk = Skeleton(names, parents, quat.identity((len(names),)), offs, up_axis=2)
    ph = 2 * np.pi * np.arange(frames) / fps
    rots = quat.identity((frames, len(names)))
    bend = 0.25 + 0.05 * np.sin(2 * ph)  # knees bent a little: the bob comes from them
    swing = {6: ([0, 1, 0], 0.5 * np.sin(ph)), 7: ([0, 0, 1], 0.5 + 0.2 * np.sin(ph + 1)),
             10: ([0, 1, 0], -0.5 * np.sin(ph)), 11: ([0, 0, 1], -0.5 - 0.2 * np.sin(ph + 1)),
             13: ([1, 0, 0], -bend), 14: ([1, 0, 0], 2 * bend), 15: ([1, 0, 0], -bend),
             17: ([1, 0, 0], -bend), 18: ([1, 0, 0], 2 * bend), 19: ([1, 0, 0], -bend)}
    for j, (axis, ang) in swing.items():
        rots[:, j] = quat.from_axis_angle(np.array(axis, float), ang)
    trans = np.broadcast_to(np.asarray(offs, float), (frames, len(names), 3)).copy()
    trans[:, 0, 2] = 0.04 + 0.9 * np.cos(bend)  # hips exactly above the planted feet
    return Motion(sk, rots, trans, fps, "standing")


def errors_cm(motion, out, targets):
    scale = metrics.metres_per_unit(motion.skeleton, motion.translations)
    pos = out.positions()
    return np.concatenate([100 * scale * np.linalg.norm(pos[t.frames, t.joint] - t.positions, axis=-1) for t in targets])


def jitter_ratio(motion, out):
    ref = metrics.Reference(motion)
    return ref.jitter_ratio(ref.track_of(out))


def offset(motion, cm, direction):
    scale = metrics.metres_per_unit(motion.skeleton, motion.translations)
    d = np.asarray(direction, float)
    return d / np.linalg.norm(d) * cm / 100 / scale


def planted_slide_cm(motion, out, joints):
    """Largest horizontal displacement (cm, span-scaled) of feet over frames where the
    input has them in contact."""
    sk = motion.skeleton
    scale = metrics.metres_per_unit(sk, motion.translations)
    mask = contacts.contact_mask(motion, joints, sk.span(motion.translations))
    d = out.positions()[:, joints] - motion.positions()[:, joints]
    d[..., sk.up_axis] = 0.0
    return 100 * scale * float(np.linalg.norm(d, axis=-1)[mask].max()), int(mask.sum())


# ---------------------------------------------------------------------------------------
# synthetic

def test_reachable_target_is_hit_on_synthetic_clip():
    m = standing_clip()
    hand = m.skeleton.index("RightHand")
    goal = m.positions()[40, hand] + offset(m, 15, [0.3, -1, 0.5])
    out = refine.refine_targets(m, [Target(hand, [40], goal[None])])
    assert errors_cm(m, out, [Target(hand, [40], goal[None])]).max() < 1.0


def test_planted_feet_stay_when_the_body_moves_for_a_hand():
    m = standing_clip()
    sk = m.skeleton
    hand = sk.index("RightHand")
    pos = m.positions()
    shoulder = pos[45, sk.index("RightArm")]
    # Beyond the straight arm's reach, forward and down: the body must lean and crouch.
    reach = 0.28 + 0.25
    goal = shoulder + np.array([0.0, -1.0, -0.4]) / np.linalg.norm([0, -1, -0.4]) * (reach + 0.15)
    tg = Target(hand, [45], goal[None])
    out = refine.refine_targets(m, [tg])
    assert errors_cm(m, out, [tg]).max() < 1.0
    root_move = np.linalg.norm(out.translations[45, 0] - m.translations[45, 0])
    assert root_move > 0.03, "the pelvis should have moved to let the hand reach"
    feet = [sk.index("LeftToe"), sk.index("RightToe"), sk.index("LeftFoot"), sk.index("RightFoot")]
    slide, frames = planted_slide_cm(m, out, feet)
    assert frames > 100
    assert slide < 0.5


def test_a_head_target_the_neck_can_reach_leaves_the_spine_and_pelvis_alone():
    # A head has no elbow: its chain is always "straight", which must not count as a
    # locked limb that needs the body to lean.
    m = standing_clip()
    sk = m.skeleton
    head, neck, spine = sk.index("Head"), sk.index("Neck"), sk.index("Spine")
    nodded = m.copy()
    nodded.rotations[40, neck] = quat.mul(nodded.rotations[40, neck], quat.from_axis_angle(np.array([1.0, 0, 0]), 0.35))
    tg = Target(head, [40], nodded.positions()[40, head][None])
    out = refine.refine_targets(m, [tg])
    assert errors_cm(m, out, [tg]).max() < 1.0
    assert np.allclose(out.rotations[:, spine], m.rotations[:, spine], atol=1e-9)
    assert np.allclose(out.translations[:, 0], m.translations[:, 0], atol=1e-9)


def test_two_effectors_at_one_frame_are_both_hit():
    m = standing_clip()
    sk = m.skeleton
    lh, rh = sk.index("LeftHand"), sk.index("RightHand")
    pos = m.positions()
    tgs = [Target(lh, [30], (pos[30, lh] + offset(m, 20, [0, -1, 1]))[None]),
           Target(rh, [30], (pos[30, rh] + offset(m, 20, [0, -1, -0.5]))[None])]
    out = refine.refine_targets(m, tgs)
    assert errors_cm(m, out, tgs).max() < 1.0


def test_unreachable_targets_give_finite_motion_and_get_closer():
    m = standing_clip()
    sk = m.skeleton
    foot, head = sk.index("LeftFoot"), sk.index("Head")
    pos = m.positions()
    tgs = [Target(foot, [30], (pos[30, foot] + np.array([0, 0, -0.6]))[None]),     # far below the ground
           Target(head, [50], (pos[50, head] + np.array([0.9, 0.0, 0.5]))[None])]   # far beyond any lean
    out = refine.refine_targets(m, tgs)
    assert np.isfinite(out.rotations).all() and np.isfinite(out.translations).all()
    before, after = errors_cm(m, m, tgs), errors_cm(m, out, tgs)
    assert np.all(after < before)
    # No explosion: no joint leaves the neighbourhood of the input by more than the span.
    assert np.abs(out.positions() - pos).max() < sk.span(m.translations)


def test_moving_target_is_followed_smoothly():
    m = standing_clip(frames=150)
    hand = m.skeleton.index("LeftHand")
    pos = m.positions()
    t = np.arange(150) / m.fps
    path = pos[:, hand] + offset(m, 10, [1, 0, 0]) * np.sin(2 * np.pi * t / 4)[:, None] + offset(m, 8, [0, 1, 0])
    tg = Target(hand, np.arange(150), path)
    out = refine.refine_targets(m, [tg])
    assert errors_cm(m, out, [tg]).mean() < 1.0
    assert jitter_ratio(m, out) < 1.2


def test_a_fast_waving_moving_target_does_not_shake_the_body():
    """A hand target that waves (3 Hz) around a point beyond the arm's reach: the body
    leans toward the slow part, the limb follows the wave; the head does not wave."""
    m = standing_clip(frames=150)
    sk = m.skeleton
    hand, head = sk.index("LeftHand"), sk.index("Head")
    pos = m.positions()
    t = np.arange(150) / m.fps
    wave = offset(m, 8, [0, 1, 0]) * np.sin(2 * np.pi * 3 * t)[:, None]
    path = pos[:, hand] + offset(m, 30, [1, 0, 0]) + wave
    tg = Target(hand, np.arange(150), path)
    out = refine.refine_targets(m, [tg])

    def acc(p):
        return np.linalg.norm(p[2:] - 2 * p[1:-1] + p[:-2], axis=-1).mean()
    assert errors_cm(m, out, [tg]).mean() < 3.0   # beyond reach and waving: the body lags a little
    assert acc(out.positions()[:, head]) < 2.0 * acc(pos[:, head]) + 0.05 * acc(path)


def test_window_is_in_seconds():
    """The same edit on a 30 fps clip and its 120 fps version changes the same time span."""
    slow, fast = standing_clip(60, 30.0), standing_clip(240, 120.0)
    spans = []
    for m, f in ((slow, 30), (fast, 120)):
        hand = m.skeleton.index("RightHand")
        goal = m.positions()[f, hand] + offset(m, 10, [0, -1, 0])
        out = refine.refine_targets(m, [Target(hand, [f], goal[None])], window_s=0.5)
        moved = np.flatnonzero(np.abs(out.positions() - m.positions()).max(axis=(1, 2)) > 1e-6)
        spans.append((moved.max() - moved.min()) / m.fps)
    assert abs(spans[0] - spans[1]) < 0.1


# ---------------------------------------------------------------------------------------
# shared clips

@needs_shared
def test_reachable_targets_hit_on_a_shared_clip_and_feet_stay():
    m = shared_clip("jumping_jacks.bvh")
    ref = metrics.Reference(m)
    pos = m.positions()
    hand = ref.effectors["right_hand"]
    # The demo edit: 25 cm above the source at mid-clip, arms already up.
    t = m.num_frames // 2
    tgs = [Target(hand, [t], (pos[t, hand] + offset(m, 25, np.eye(3)[m.skeleton.up_axis]))[None])]
    out = refine.refine_targets(m, tgs)
    assert errors_cm(m, out, tgs).max() < 1.0
    assert ref.skate_delta(ref.track_of(out)) <= 0.01
    # The spine stays within a natural bend: no joint above the arm turns more than 45 degrees.
    spine = [j for j in m.skeleton.chain(m.skeleton.parents[hand]) if "Collar" not in m.skeleton.names[j]][3:]
    turn = np.linalg.norm(quat.to_scaled_axis(quat.inv_mul(m.rotations[:, spine], out.rotations[:, spine])), axis=-1)
    assert np.degrees(turn.max()) < 45


@needs_shared
def test_edit_on_a_120_fps_clip_stays_smooth():
    m = shared_clip("wave_hello_f380-839.bvh")
    ref = metrics.Reference(m)
    pos = m.positions()
    hand = ref.effectors["left_hand"]
    t = int(0.5 * m.num_frames)
    tgs = [Target(hand, [t], (pos[t, hand] + offset(m, 20, [1, 1, 1]))[None])]
    out = refine.refine_targets(m, tgs)
    assert errors_cm(m, out, tgs).max() < 1.0
    assert jitter_ratio(m, out) <= 1.2


def test_every_joint_of_the_bundled_rig_can_be_a_target():
    """Joints on zero-length bones (CMU's lowerback, LHipJoint, RHipJoint) once made the
    body solve singular; every joint now reaches a 5 cm offset or comes close."""
    from conftest import CLIP
    m = read_bvh(CLIP).to_motion()
    pos = m.positions()
    worst = {}
    for j, name in enumerate(m.skeleton.names):
        tg = Target(j, [60], (pos[60, j] + offset(m, 5, [0.2, 1.0, 0.4]))[None])
        out = refine.refine_targets(m, [tg])
        assert np.isfinite(out.rotations).all() and np.isfinite(out.translations).all(), name
        worst[name] = float(errors_cm(m, out, [tg]).max())
    for name in ("lowerback", "LHipJoint", "RHipJoint"):
        assert worst[name] < 1.0, (name, worst[name])
    assert np.median(list(worst.values())) < 0.5, worst


def test_a_target_weight_trades_reach_for_the_clip():
    """Weight w moves the joint w of the way from where the motion puts it; a softer
    edit changes the clip less (measured: the mean joint displacement around the key)."""
    m = standing_clip()
    hand = m.skeleton.index("RightHand")
    here = m.positions()[40, hand]
    goal = here + offset(m, 16, [0.3, -1, 0.5])
    change = {}
    for w in (1.0, 0.5, 0.25):
        out = refine.refine_targets(m, [Target(hand, [40], goal[None], w)])
        reached = out.positions()[40, hand]
        expected = here + w * (goal - here)
        assert errors_cm(m, out, [Target(hand, [40], expected[None])]).max() < 1.0, w
        change[w] = float(np.linalg.norm(out.positions() - m.positions(), axis=-1).mean())
        assert np.linalg.norm(reached - goal) == pytest.approx((1 - w) * np.linalg.norm(goal - here), abs=0.01 * np.linalg.norm(goal - here) + 1e-3)
    assert change[0.25] < change[0.5] < change[1.0]
    untouched = refine.refine_targets(m, [Target(hand, [40], goal[None], 0.0)])
    np.testing.assert_array_equal(untouched.rotations, m.rotations)


@pytest.mark.parametrize("weight", [-1, 1.5, float("nan"), None, True, "heavy", [1]])
def test_a_target_weight_outside_0_to_1_is_refused(weight):
    with pytest.raises(ValueError, match="weight is a number from 0 to 1"):
        Target(0, [1], [[0.0, 0.0, 0.0]], weight)


@pytest.mark.parametrize("direction,cm", [([0, 0, 1], 100), ([1, 0, 0], 200), ([0, 0, 1], 600)])
def test_an_unreachable_target_never_lifts_the_body_off_its_ground(direction, cm):
    """The pelvis rises only as high as the clip ever puts it and shifts only a lean's
    worth; the hand then stops short and the miss is what gets reported."""
    m = standing_clip()
    sk = m.skeleton
    hand = sk.index("RightHand")
    goal = m.positions()[40, hand] + offset(m, cm, direction)
    out = refine.refine_targets(m, [Target(hand, [40], goal[None])])
    span = sk.span(m.translations)
    root = m.translations[:, 0]
    assert out.translations[:, 0, 2].max() <= root[:, 2].max() + refine.ROOT_RISE_MARGIN * span + 1e-9
    shift = np.linalg.norm((out.translations[:, 0] - root)[:, :2], axis=-1).max()
    assert shift <= refine.ROOT_SHIFT_SHARE * span + 1e-9
    assert np.isfinite(out.rotations).all()
    assert errors_cm(m, out, [Target(hand, [40], goal[None])]).max() > 0.2 * cm  # unreached, and measured so
