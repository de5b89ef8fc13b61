"""The planner: which moment of the clip plays when, and how fast, for targets."""
import numpy as np
import pytest

from motiondna.engine.generator import stream as stream_module
from motiondna.engine.generator.planner import PlanTarget
from motiondna.engine.generator.stream import StreamTarget
from motiondna.engine.motion.targets import Target


def _extreme(clip, joint, lo, hi):
    rel = clip.positions()[:, joint] - clip.positions()[:, clip.skeleton.root]
    ext = np.linalg.norm(rel - np.median(rel, axis=0), axis=1)
    return lo + int(np.argmax(ext[lo:hi]))


@pytest.mark.parametrize("shift_s", [-0.4, 0.4])
def test_a_retimed_extreme_is_met_by_the_timeline_not_by_a_dragged_limb(varied, shift_s):
    clip, g = varied
    hand = clip.skeleton.index("RightHand")
    t0 = _extreme(clip, hand, 80, 160)
    t = int(round(t0 + shift_s * clip.fps))
    goal = clip.positions()[t0, hand]
    target = Target(hand, [t], goal[None])
    offset = np.linalg.norm(clip.positions()[t, hand] - goal)
    assert offset > 0.15  # the clip's hand is elsewhere at the asked frame
    planned = g.generate([target], refine=False).positions()[t, hand]
    assert np.linalg.norm(planned - goal) < 0.3 * offset
    unplanned = g.generate([target], refine=False, plan=False).positions()[t, hand]
    assert np.linalg.norm(unplanned - goal) == pytest.approx(offset, rel=1e-6)


def test_a_far_root_target_is_reached_by_the_clips_own_steps(varied):
    clip, g = varied
    root = clip.skeleton.root
    t = 150
    goal = clip.positions()[t, root] + np.array([0.0, 1.0, 0.0])   # 1 m further along the walk
    raw = g.generate([Target(root, [t], goal[None])], refine=False).positions()[t, root]
    assert np.linalg.norm((raw - goal)[:2]) < 0.3


def test_a_plans_prediction_is_where_the_joint_goes(varied, monkeypatch):
    clip, g = varied
    monkeypatch.setattr(stream_module, "DECIDE_SECONDS", 1e9)   # one decision, then play it out
    hand = clip.skeleton.index("LeftHand")
    goal = clip.positions()[60, hand] + np.array([0.2, 0.1, 0.0])
    s = g.stream(ik=False)
    s.step()
    s.set_targets([StreamTarget(hand, goal, 100)])
    for _ in range(100):
        s.step()
    plan = s._plan
    reached = np.linalg.norm(s.motion().positions()[100, hand] - goal)
    replayed = np.linalg.norm(clip.positions()[100, hand] - goal)
    assert plan is not None and reached < 0.8 * replayed
    # The prediction leaves out only the second-order turn of the spring's heading drift.
    assert abs(plan.residual_m - reached) < 0.25 * replayed


def test_nothing_pending_means_no_plan(varied):
    _, g = varied
    cur = g.playback.start(0, 5.0)
    assert g.planner.decide(cur, []) is None
    assert g.planner.decide(cur, [PlanTarget(0, -1, np.zeros(3))]) is None


def test_a_target_the_clip_already_meets_changes_nothing(varied):
    clip, g = varied
    hand = clip.skeleton.index("LeftHand")
    target = Target(hand, [120], clip.positions()[120, hand][None])
    out = g.generate([target], refine=False)
    np.testing.assert_allclose(out.rotations, clip.rotations, atol=1e-9)
