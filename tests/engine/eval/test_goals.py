"""engine/eval/goals.py and engine/eval/scoring.py: goals judged on summaries, shared scores."""
import math

import numpy as np
from synthetic import synthetic_clip

from motiondna.engine.eval import goals, scoring
from motiondna.engine.motion import metrics


def test_a_goal_is_met_or_missed_by_how_much():
    g = goals.Goal("error <= 1 cm", "error", "<=", 1.0)
    assert g.judge("a", {"a": {"error": 0.5}}) == {"value": 0.5, "bound": 1.0, "met": True, "miss": 0.0}
    missed = g.judge("a", {"a": {"error": 3.4}})
    assert missed["met"] is False and math.isclose(missed["miss"], 2.4)
    assert goals.verdict_text(missed, "{:.2f}") == "3.40: missed by 2.40"
    assert g.judge("b", {"a": {"error": 0.5}}) is None
    assert g.judge("a", {"a": {"error": float("nan")}})["met"] is None


def test_a_goal_can_be_relative_to_another_column_and_read_from_one():
    g = goals.Goal("style <= 0.8 x warp's", "style", "<=", lambda s: 0.8 * s["warp"]["style"])
    s = {"warp": {"style": 2.0}, "gen": {"style": 1.5}, "gen_raw": {"closed": 0.8}}
    assert g.judge("gen", s)["met"] is True and g.judge("warp", s)["met"] is False
    closed = goals.Goal("closed >= 70 %", "closed", ">=", 0.7, of=lambda m: "gen_raw" if m == "gen" else None)
    assert closed.judge("gen", s)["value"] == 0.8 and closed.judge("warp", s) is None


def test_share_of_clips_counts_the_clips_meeting_a_goal():
    g = goals.Goal("error <= 1 cm", "error", "<=", 1.0)
    clips = [{"a": {"error": 0.5}, "b": {"error": 2}}, {"a": {"error": 1.5}, "b": {"error": 3}},
             {"a": {"error": 0.2}}]
    assert goals.share_of_clips([g], clips)["error <= 1 cm"] == {"a": 2 / 3, "b": 0.0}


def test_local_style_matches_the_references_own_local_style():
    clip = synthetic_clip(240, varied=True)
    ref = metrics.Reference(clip)
    edited = clip.copy()
    edited.rotations[100:130, 7] = edited.rotations[100:130, 8]  # a forearm held differently
    trk = ref.track_of(edited)
    for frame in (0, 115, 239):
        assert math.isclose(scoring.local_style_cm(ref, trk, frame), ref.local_style_distance_cm(trk, [frame]),
                            rel_tol=1e-9)
    assert scoring.local_style_cm(ref, trk, 115) > 0.0 and scoring.local_style_cm(ref, ref.track, 115) == 0.0


def test_lift_is_how_much_higher_the_lower_foot_is():
    clip = synthetic_clip(120)
    ref = metrics.Reference(clip)
    raised = clip.copy()
    raised.translations[:, 0, 2] += 0.05 / ref.scale                  # the whole body 5 cm up
    assert math.isclose(scoring.lift_cm(ref, ref.track_of(raised), 60), 5.0, rel_tol=1e-9)
    assert scoring.lift_cm(ref, ref.track, 60) == 0.0


def test_offset_closed_is_pooled_over_the_edits():
    assert scoring.offset_closed_share([10, 30], [0, 30]) == 0.25
    assert scoring.offset_closed_share([10, 10], [20, 0]) == 0.0
    assert math.isnan(scoring.offset_closed_share([], []))


def test_travel_is_how_far_the_root_gets_from_its_start():
    walking = metrics.Reference(synthetic_clip(150))                  # 0.8 units/s, 149 frame steps at 30 fps
    assert math.isclose(scoring.travel_m(walking), 0.8 * 149 / 30 * walking.scale, rel_tol=1e-9)
    standing = synthetic_clip(150)
    standing.translations[:, 0, :2] = 0.0
    assert scoring.travel_m(metrics.Reference(standing)) == 0.0


def test_effectors_and_pelvis_come_from_the_reference():
    ref = metrics.Reference(synthetic_clip(60))
    names = ref.skeleton.names
    assert {names[j] for j in scoring.effector_joints(ref, "hand").values()} == {"LeftHand", "RightHand"}
    assert {names[j] for j in scoring.effector_joints(ref, "foot").values()} == {"LeftFoot", "RightFoot"}
    assert names[scoring.pelvis(ref)] == "Hips"
    assert np.allclose(scoring.root_relative(ref.track, 0), 0.0)
