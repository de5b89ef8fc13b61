"""engine/eval/far.py: EVAL.md's far targets, on a synthetic clip and a real one."""
import os

import numpy as np
import pytest
from synthetic import synthetic_clip

from motiondna.engine.eval import benchmark, far
from motiondna.engine.motion import metrics

from conftest import MOTIONS, needs_shared

KICK = os.path.join(MOTIONS, "bandai_namco", "dataset-1_kick_normal_001.bvh")


@pytest.fixture(scope="module")
def ref():
    return metrics.Reference(synthetic_clip(150, varied=True))


def test_edits_cover_every_part_and_offset_horizontal_where_asked(ref):
    edits = far.make_edits(ref, seed=0)
    parts = [p for p, _, _ in far.targeted_joints(ref)]
    assert parts == ["root", "hand", "hand", "foot", "foot", "head"]
    assert len(edits) == len(parts) * 3 * far.REPEATS
    up, L = ref.track.up_axis, ref.motion.num_frames
    for e in edits:
        offset = np.asarray(e["target_m"]) - ref.track.positions[e["frame"], e["joint"]]
        assert np.linalg.norm(offset) == pytest.approx(e["r_cm"] / 100.0)
        assert 0.3 * (L - 1) - 1 <= e["frame"] <= 0.7 * (L - 1) + 1
        if e["part"] in ("root", "foot"):
            assert abs(offset[up]) < 1e-12
        else:
            assert e["target_m"][up] >= ref.ground or offset[up] > 0   # never below the ground by the offset
    assert [e["target_m"] for e in edits] == [e["target_m"] for e in far.make_edits(ref, seed=0)]
    assert any(a["target_m"] != b["target_m"] for a, b in zip(edits, far.make_edits(ref, seed=1)))


def test_replay_closes_nothing_and_lifts_nothing(ref):
    for e in far.make_edits(ref, seed=0, repeats=1):
        row = far.score_edit(ref, ref.motion, e)
        assert row["target_error_cm"] == pytest.approx(e["r_cm"]) and row["offset_cm"] == pytest.approx(e["r_cm"])
        assert row["lift_cm"] == 0.0 and row["local_style_distance_cm"] == 0.0 and row["foot_skate_delta"] == 0.0


def test_the_protocol_reports_travelling_clips_apart(ref):
    built = {"replay": benchmark.Replay(ref.motion), "refined_source": benchmark.RefinedSource(ref.motion)}
    result = far.run(ref, built, seed=0, quick=True)
    assert result["travelling"] is True                                 # the synthetic walk goes 3 m
    refined = result["methods"]["refined_source"]["summary"]
    assert refined["offset_closed_share"] > 0.3 and result["methods"]["replay"]["summary"]["offset_closed_share"] == 0.0
    still = dict(result, travelling=False)
    summary = far.summarise([{"name": "walk", "far": result}, {"name": "still", "far": still}])
    assert list(summary) == ["all clips", "travelling clips (root >= 1 m)", "in-place clips"]
    assert summary["all clips"]["clips"] == 2 and summary["in-place clips"]["clips"] == 1
    only_walk = far.summarise([{"name": "walk", "far": result}])
    assert list(only_walk) == ["all clips"]
    goal = summary["all clips"]["goals"]["root target error <= 5 cm at every offset (mean)"]
    assert goal["replay"]["value"] == pytest.approx(150.0) and goal["replay"]["met"] is False
    md = "\n".join(far.to_markdown(summary, [{"name": "walk", "far": result}, {"name": "still", "far": still}],
                                   benchmark._table))
    assert "### Far targets, in-place clips (1)" in md and "| lift (cm) |" in md


@needs_shared
def test_far_targets_on_a_real_clip():
    ref = metrics.Reference(benchmark.load_clip(KICK))
    built = {"replay": benchmark.Replay(ref.motion), "refined_source": benchmark.RefinedSource(ref.motion)}
    result = far.run(ref, built, seed=0, quick=True)
    assert len(result["edits"]) == 6 * 3
    refined = result["methods"]["refined_source"]["summary"]
    assert refined["finite_share"] == 1.0
    assert refined["target_error_cm_mean_50"] < refined["target_error_cm_mean_150"] < 150.0
