"""engine/motion/metrics.py, engine/eval/ikwarp.py and engine/eval/benchmark.py on cases with known answers."""
import json
import os

import numpy as np
import pytest

from motiondna.engine.eval import benchmark, ikwarp
from motiondna.engine.io.bvh import read_bvh
from motiondna.engine.motion import metrics, quat
from motiondna.engine.motion.skeleton import Motion, Skeleton
from motiondna.engine.motion.targets import Target

from conftest import MOTIONS, needs_shared

CMU_MB = os.path.join(MOTIONS, "cmu_mb", "01_01_playground_jumps_f1-2401.bvh")
JACKS = os.path.join(MOTIONS, "cmu_3dsmax", "jumping_jacks.bvh")


def biped():
    """A Z-up stick figure in metres. Longest path: foot to hand = 1.0 + 0.5 + 0.7 = 2.2."""
    names = ["Hips", "LeftUpLeg", "LeftLeg", "LeftFoot", "RightUpLeg", "RightLeg", "RightFoot",
             "Spine", "Head", "LeftArm", "LeftHand", "RightArm", "RightHand"]
    parents = [-1, 0, 1, 2, 0, 4, 5, 0, 7, 7, 9, 7, 11]
    offsets = [[0, 0, 0], [0.1, 0, 0], [0, 0, -0.45], [0, 0, -0.45], [-0.1, 0, 0], [0, 0, -0.45], [0, 0, -0.45],
               [0, 0, 0.5], [0, 0, 0.2], [0.2, 0, 0], [0.5, 0, 0], [-0.2, 0, 0], [-0.5, 0, 0]]
    return Skeleton(names, parents, quat.identity((13,)), offsets, 2)


def still(skel, frames=60, fps=30.0, height=0.9):
    rot = quat.identity((frames, skel.num_joints))
    trans = np.broadcast_to(skel.rest_translations, (frames, skel.num_joints, 3)).copy()
    trans[:, 0, 2] = height
    return Motion(skel, rot, trans, fps, "still")


def sliding(skel, speed, frames=60, fps=30.0, height=0.9):
    m = still(skel, frames, fps, height)
    m.translations[:, 0, 0] = speed * np.arange(frames) / fps
    return m


def test_units_scale_span_to_170cm():
    skel = biped()
    assert skel.span() == pytest.approx(2.2)
    assert metrics.metres_per_unit(skel) == pytest.approx(1.70 / 2.2)


def test_side_and_roles_from_names():
    for name, side in [("LeftFoot", "left"), ("lFoot", "left"), ("Foot_L", "left"), ("CC_Base_L_Foot", "left"),
                       ("lhand", "left"), ("LHipJoint", "left"), ("RightToeBase", "right"), ("rShldr", "right"),
                       ("Toes_R", "right"), ("CC_Base_R_Hand", "right"), ("Hips", None), ("lowerback", None),
                       ("joint_Root", None), ("Head", None)]:
        assert metrics.joint_side(name) == side, name
    skel = biped()
    assert {k: skel.names[j] for k, j in metrics.end_effectors(skel).items()} == {
        "left_hand": "LeftHand", "right_hand": "RightHand", "left_foot": "LeftFoot", "right_foot": "RightFoot", "head": "Head"}
    assert [skel.names[j] for j in metrics.foot_joints(skel)] == ["LeftFoot", "RightFoot"]


def test_body_joints_leave_out_fingers_and_helper_roots():
    skel = biped()
    assert metrics.body_joints(skel) == list(range(13))
    helper = Skeleton(["joint_Root"] + skel.names + ["LeftHandThumb1", "LeftHandEnd"],
                      [-1] + [p + 1 for p in skel.parents] + [11, 11],
                      quat.identity((16,)), [[0, 0, 0]] + list(skel.rest_translations) + [[0.05, 0, 0]] * 2, 2)
    assert [helper.names[j] for j in metrics.body_joints(helper)] == skel.names


def test_effector_fallback_uses_leaves_by_position():
    skel = biped()
    anon = Skeleton([f"j{i}" for i in range(13)], skel.parents, skel.rest_rotations, skel.rest_translations, 2)
    found = metrics.end_effectors(anon)
    assert found["head"] == 8 and {found["left_foot"], found["right_foot"]} == {3, 6}
    assert {found["left_hand"], found["right_hand"]} == {10, 12}


def test_heading_is_the_yaw_even_when_tilted():
    skel = biped()
    yaw = quat.from_axis_angle(np.array([0, 0, 1.0]), np.array(0.7))
    tilt = quat.from_axis_angle(np.array([1.0, 0, 0]), np.array(0.3))
    world = quat.identity((skel.num_joints,))
    world[0] = quat.mul(yaw, tilt)
    h = metrics.heading_quaternion(skel, world)
    angle = 2 * np.arctan2(h[3], h[0])
    assert angle == pytest.approx(0.7, abs=0.05)
    world[0] = yaw
    np.testing.assert_allclose(metrics.heading_quaternion(skel, world), yaw, atol=1e-12)


def test_static_pose_has_zero_jitter_and_zero_skate():
    skel = biped()
    ref = metrics.Reference(still(skel))
    assert ref.jitter == 0.0
    assert ref.skate == 0.0
    # Feet stand at the bottom: ground = their height (0.9 - 0.9 units) in metres.
    assert ref.ground == pytest.approx(0.0, abs=1e-9)


def test_sliding_foot_at_known_speed_is_skating():
    skel = biped()
    scale = metrics.metres_per_unit(skel)
    ref = metrics.Reference(still(skel))
    fast = ref.track_of(sliding(skel, 1.0 / scale))   # 1 m/s after span scaling
    slow = ref.track_of(sliding(skel, 0.3 / scale))   # 0.3 m/s
    lifted = ref.track_of(sliding(skel, 1.0 / scale, height=0.9 + 0.1 / scale))  # 10 cm up: no contact
    assert metrics.foot_skate(fast, ref.feet, ref.ground) == pytest.approx(1.0)
    assert metrics.foot_skate(slow, ref.feet, ref.ground) == 0.0
    assert metrics.foot_skate(lifted, ref.feet, ref.ground) == 0.0
    # Constant velocity: no acceleration, so no jitter either.
    assert metrics.jitter(fast) == pytest.approx(0.0, abs=1e-9)


def test_skate_needs_two_low_frames_and_sustained_speed():
    skel = biped()
    scale = metrics.metres_per_unit(skel)
    ref = metrics.Reference(still(skel, frames=90))
    m = still(skel, frames=90)
    m.translations[45, 0, 0] = 0.2 / scale  # a one-frame 20 cm spike: fast instantly, not over 0.25 s
    assert metrics.foot_skate(ref.track_of(m), ref.feet, ref.ground) == 0.0
    m = still(skel, frames=90)
    m.translations[30:60, 0, 0] = np.arange(30) * (2.0 / scale) / 30  # 2 m/s for 1 s
    share = metrics.foot_skate(ref.track_of(m), ref.feet, ref.ground)
    assert 25 / 89 <= share <= 31 / 89


def test_jitter_of_known_acceleration():
    skel = biped()
    scale = metrics.metres_per_unit(skel)
    m = still(skel, frames=40)
    t = np.arange(40) / m.fps
    m.translations[:, 0, 0] = 0.5 * 3.0 * t ** 2 / scale  # every joint accelerates at 3 m/s^2
    assert metrics.jitter(metrics.track(m)) == pytest.approx(3.0, rel=1e-6)


def test_replay_has_zero_style_distance_and_target_error_r():
    skel = biped()
    m = sliding(skel, 0.5)
    m.rotations[:, 9] = quat.from_axis_angle(np.array([0, 1.0, 0]), np.linspace(0, 1, m.num_frames))
    ref = metrics.Reference(m)
    rng = np.random.default_rng(0)
    for r_cm in (0, 10, 20, 30):
        d = rng.normal(size=3)
        d /= np.linalg.norm(d)
        pos = ref.track.positions[30, 10] + d * r_cm / 100
        out = ref.edit_metrics(m, [Target(10, [30], ref.to_units(pos)[None])])
        assert out["target_errors_cm"][0] == pytest.approx(r_cm, abs=1e-9)
        assert out["style_distance_cm"] == 0.0
        assert out["reconstruction_cm"] == 0.0
        assert out["foot_skate_delta"] == 0.0
        assert out["jitter_ratio"] == pytest.approx(1.0)


def test_style_distance_sees_a_pose_change_and_ignores_place_and_facing():
    skel = biped()
    m = sliding(skel, 0.5)
    ref = metrics.Reference(m)
    turned = m.copy()
    yaw = quat.from_axis_angle(np.array([0, 0, 1.0]), np.array(1.2))
    turned.rotations[:, 0] = yaw
    turned.translations[:, 0] = quat.mul_vec(yaw, m.translations[:, 0]) + np.array([3.0, -2.0, 0])
    assert ref.style_distance_cm(ref.track_of(turned)) == pytest.approx(0.0, abs=1e-6)
    raised = m.copy()
    raised.rotations[:, 9] = quat.from_axis_angle(np.array([0, 1.0, 0]), np.array(-1.0))  # left arm up
    assert ref.style_distance_cm(ref.track_of(raised)) > 5.0


def test_coverage_and_stability_of_a_looped_clip():
    skel = biped()
    m = still(skel, frames=90)
    m.rotations[:, 9] = quat.from_axis_angle(np.array([0, 1.0, 0]), np.sin(np.arange(90) / 90 * 2 * np.pi))
    ref = metrics.Reference(m)
    looped = benchmark.loop_motion(m, 450)
    assert looped.num_frames == 450
    long = ref.long_run_metrics(looped)
    assert long["coverage"] == 1.0 and long["stable"]
    frozen = still(skel, frames=450)
    assert ref.long_run_metrics(frozen)["coverage"] < 0.5
    assert not metrics.is_stable([1.0] * 10 + [2.0] * 10)
    assert metrics.is_stable([1.0] * 10 + [1.5] * 10)
    assert not metrics.is_stable([np.nan, 1.0])


def test_loop_motion_continues_where_the_previous_copy_ended():
    skel = biped()
    m = sliding(skel, 0.5, frames=30)
    looped = benchmark.loop_motion(m, 90)
    x = looped.translations[:, 0, 0]
    np.testing.assert_allclose(np.diff(x), 0.5 / 30, rtol=1e-9)  # constant speed across the seams


def test_ikwarp_reaches_target_and_leaves_far_frames_alone():
    skel = biped()
    m = still(skel, frames=90)
    m.rotations[:, 9] = quat.from_axis_angle(np.array([0, 1.0, 0]), np.array(0.6))
    m.rotations[:, 10] = quat.from_axis_angle(np.array([0, 1.0, 0]), np.array(0.5))
    pos = m.positions()
    goal = pos[45, 10] + np.array([-0.05, 0.05, 0.05])
    out = ikwarp.ik_warp(m, [Target(10, [45], goal[None])])
    got = out.positions()
    assert np.linalg.norm(got[45, 10] - goal) < 1e-3 * skel.span()
    np.testing.assert_array_equal(out.rotations[:30], m.rotations[:30])   # 0.5 s = 15 frames at 30 fps
    np.testing.assert_array_equal(out.rotations[61:], m.rotations[61:])
    path = np.linalg.norm(got[:, 10] - pos[:, 10], axis=-1)
    assert np.all(np.diff(path[30:46]) >= -1e-12) and np.all(np.diff(path[45:61]) <= 1e-12)


def test_ikwarp_follows_a_moving_target():
    skel = biped()
    m = still(skel, frames=60)
    m.rotations[:, 9] = quat.from_axis_angle(np.array([0, 1.0, 0]), np.array(0.6))
    m.rotations[:, 10] = quat.from_axis_angle(np.array([0, 1.0, 0]), np.array(0.5))
    hand = m.positions()[:, 10]
    frames = np.arange(20, 40)
    goal = hand[frames] + np.outer(np.linspace(0, 0.1, 20), [0, 1.0, 0])
    out = ikwarp.ik_warp(m, [Target(10, frames, goal)])
    assert np.abs(out.positions()[frames, 10] - goal).max() < 1e-3 * skel.span()


@needs_shared
def test_cmu_scale_follows_the_span_definition():
    # docs/evaluation.md says "a CMU clip (about 0.056 m per unit)"; its own span definition (the
    # longest rest path, toe to toe on CMU rigs) gives 1.70 / 39.1 = 0.0434 m/unit for
    # this clip. The metrics follow the definition; both CMU exports agree.
    mb = metrics.metres_per_unit(read_bvh(CMU_MB).to_motion().skeleton)
    mx = metrics.metres_per_unit(read_bvh(JACKS).to_motion().skeleton)
    assert 0.04 < mb < 0.06 and 0.04 < mx < 0.06
    assert mb == pytest.approx(mx, rel=0.05)


@needs_shared
def test_ikwarp_reaches_a_modest_target_on_a_real_clip():
    m = read_bvh(CMU_MB).to_motion()
    ref = metrics.Reference(m)
    j = ref.effectors["right_hand"]
    frame = 1000
    p = ref.track.positions[frame]
    shoulder = p[m.skeleton.index("RightArm")]
    toward = (shoulder - p[j]) / np.linalg.norm(shoulder - p[j])  # toward the shoulder: always reachable
    goal = p[j] + 0.10 * toward
    target = Target(j, [frame], ref.to_units(goal)[None])
    out = ref.edit_metrics(ikwarp.ik_warp(m, [target]), [target])
    assert out["target_errors_cm"][0] < 1.0
    assert out["jitter_ratio"] < 1.2


@needs_shared
def test_edits_follow_the_protocol():
    m = read_bvh(JACKS).to_motion()
    ref = metrics.Reference(m)
    edits = benchmark.make_edits(ref, 24, seed=0)
    again = benchmark.make_edits(ref, 24, seed=0)
    assert [e["targets_m"] for e in edits] == [e["targets_m"] for e in again]
    assert sorted(e["r_cm"] for e in edits) == sorted([0, 10, 20, 30] * 6)
    L = m.num_frames
    for e in edits:
        assert 0.2 * (L - 1) - 1 <= e["frame"] <= 0.8 * (L - 1) + 1
        assert 1 <= len(e["targets"]) <= 2
        replay = ref.edit_metrics(m, e["targets"])
        for key, err in zip(e["effectors"], replay["target_errors_cm"]):
            if key.endswith("foot"):
                assert err <= e["r_cm"] + 1e-9  # lifted off the ground, never further
            else:
                assert err == pytest.approx(e["r_cm"], abs=1e-9)


@needs_shared
def test_benchmark_quick_writes_json_and_markdown(tmp_path):
    assert benchmark.main(["--quick", "--no-shared", "--clips", JACKS, "--methods", "replay,ikwarp",
                           "--protocols", "edits,variations", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "benchmark.json").read_text())
    (clip,) = report["clips"]
    assert set(clip["methods"]) == {"replay", "ikwarp"}
    replay, warp = clip["methods"]["replay"]["summary"], clip["methods"]["ikwarp"]["summary"]
    assert replay["style_distance_cm"] == 0.0 and replay["reconstruction_cm"] == 0.0
    assert warp["target_error_cm_mean"] < replay["target_error_cm_mean"]
    assert report["machine"]["cores"] >= 1 and report["machine"]["cpu"]
    md = (tmp_path / "benchmark.md").read_text()
    assert "| target error mean (cm) |" in md and "ikwarp" in md
