"""engine/eval/retiming.py: EVAL.md's retiming edits, on a synthetic clip and a real one."""
import os

import numpy as np
import pytest
from synthetic import synthetic_clip

from motiondna.engine.eval import benchmark, retiming, timewarp
from motiondna.engine.motion import metrics

from conftest import MOTIONS, needs_shared

JACKS = os.path.join(MOTIONS, "cmu_3dsmax", "jumping_jacks.bvh")


@pytest.fixture(scope="module")
def ref():
    return metrics.Reference(synthetic_clip(240, varied=True))


def test_peaks_are_the_highest_local_maxima_in_the_middle_half():
    fps = 30.0
    t = np.arange(200)
    ext = np.exp(-0.5 * ((t - 40) / 3) ** 2) * 5 + np.exp(-0.5 * ((t - 80) / 3) ** 2) * 2 \
        + np.exp(-0.5 * ((t - 120) / 3) ** 2) * 3 + np.exp(-0.5 * ((t - 128) / 3) ** 2) * 1
    # 40 lies before 0.25 L; 128 is within 0.3 s of the higher 120, so not a peak of its own.
    assert retiming.extension_peaks(ext, fps) == [80, 120]
    assert retiming.extension_peaks(np.ones(200), fps, count=5) == [50, 60, 70, 80, 90, 100, 110, 120, 130, 140][:5]


def test_edits_ask_for_the_pose_of_t0_at_t0_plus_d(ref):
    edits = retiming.make_edits(ref)
    fps, L = ref.motion.fps, ref.motion.num_frames
    assert len(edits) == 4 * 2 * 4                                     # hands and feet, two peaks, four d
    assert {e["effector"] for e in edits} == {"left_hand", "right_hand", "left_foot", "right_foot"}
    for e in edits:
        assert 0.25 * (L - 1) <= e["t0"] <= 0.75 * (L - 1)
        assert e["frame"] - e["t0"] == round(e["d_s"] * fps)
        assert np.allclose(e["target_m"], ref.track.positions[e["t0"], e["joint"]])
        assert np.allclose(e["targets"][0].positions[0] * ref.scale, e["target_m"])
        assert list(e["targets"][0].frames) == [e["frame"]]


def test_replay_is_late_by_d_and_the_time_warp_on_time(ref):
    for e in retiming.make_edits(ref):
        replay = retiming.score_edit(ref, ref.motion, e)
        assert replay["timing_error_s"] == pytest.approx(abs(e["d_s"]), abs=0.5 / ref.motion.fps)
        assert replay["target_error_cm"] == pytest.approx(replay["offset_cm"])
        assert replay["event_moved"] is (False if abs(e["d_s"]) == 0.4 else None)  # the event stays at T0
        assert replay["ghost_distance_cm"] == 0.0 and replay["local_style_distance_cm"] == 0.0
        warped = retiming.score_edit(ref, timewarp.time_warp(ref.motion, e["t0"], e["frame"]), e)
        assert warped["target_error_cm"] < 1e-6 and warped["timing_error_s"] == 0.0


def test_event_moved_needs_the_target_met_and_no_ghost(ref):
    late = [e for e in retiming.make_edits(ref) if e["d_s"] == 0.4]
    # The pose of T0 held until T: the target is met, but the event is still at T0 too.
    e = late[0]
    held = ref.motion.copy()
    held.rotations[e["t0"]:e["frame"] + 1] = ref.motion.rotations[e["t0"]]
    held.translations[e["t0"]:e["frame"] + 1] = ref.motion.translations[e["t0"]]
    row = retiming.score_edit(ref, held, e)
    assert row["target_error_cm"] < 1e-6 and row["ghost_distance_cm"] == 0.0 and row["event_moved"] is False
    # Time-warped: the event leaves T0; where the joint is then 10 cm away or more, the event moved.
    rows = [retiming.score_edit(ref, timewarp.time_warp(ref.motion, e["t0"], e["frame"]), e) for e in late]
    assert any(r["event_moved"] for r in rows)
    assert all(r["event_moved"] is (r["ghost_distance_cm"] >= 10.0) for r in rows)


def test_the_protocol_runs_every_column_and_summarises_goals(ref):
    built = {"replay": benchmark.Replay(ref.motion), "refined_source": benchmark.RefinedSource(ref.motion)}
    result = retiming.run(ref, built, quick=True)
    assert set(result["methods"]) == {"replay", "refined_source", "timewarp"}
    replay = result["methods"]["replay"]["summary"]
    assert replay["offset_closed_share"] == 0.0 and replay["event_moved_share"] == 0.0
    refined = result["methods"]["refined_source"]["summary"]
    assert refined["target_error_cm_mean"] < replay["target_error_cm_mean"]
    summary = retiming.summarise([{"name": "synthetic", "retiming": result}])
    verdict = summary["goals"]["target error mean <= 1 cm"]
    assert verdict["timewarp"]["met"] is True and verdict["replay"]["met"] is False
    assert summary["goals"]["closed before refinement >= 70 %"]["refined_source"] is None
    md = "\n".join(retiming.to_markdown(summary, [{"name": "synthetic", "retiming": result}], benchmark._table))
    assert "## Retiming edits across clips" in md and "| event moved, |d| = 0.4 s |" in md


@needs_shared
def test_retiming_on_a_real_clip():
    ref = metrics.Reference(benchmark.load_clip(JACKS))
    built = {"replay": benchmark.Replay(ref.motion), "refined_source": benchmark.RefinedSource(ref.motion)}
    result = retiming.run(ref, built, quick=True)
    assert len(result["edits"]) == 4 * 2                               # one peak per hand and foot, d = +-0.4 s
    warp = result["methods"]["timewarp"]["summary"]
    assert warp["target_error_cm_mean"] < 1e-6 and warp["finite_share"] == 1.0
    assert result["methods"]["refined_source"]["summary"]["target_error_cm_mean"] < 2.0
