"""docs/evaluation.md variation measures: replayed stretch, inter-variation distance, local
style distance, and the variation protocol's scoring."""
import numpy as np
from synthetic import synthetic_clip

from motiondna.engine.eval import variations
from motiondna.engine.motion import metrics


def test_verbatim_runs_split_where_the_source_index_jumps():
    assert list(metrics.verbatim_runs(np.array([3, 4, 5, 7, 20, 21, 21, 5, 6]))) == [4, 3, 2]
    assert list(metrics.verbatim_runs(np.arange(10))) == [10]
    assert len(metrics.verbatim_runs(np.zeros(0, int))) == 0


def test_the_source_replayed_is_one_stretch_as_long_as_the_clip():
    clip = synthetic_clip(150, varied=True)
    ref = metrics.Reference(clip)
    seconds = ref.replayed_stretch_seconds(ref.track)
    windows = len(metrics.windows(ref.points, metrics.STYLE_WINDOW))
    assert seconds == windows / metrics.STYLE_FPS


def test_inter_variation_distance_is_zero_for_equal_runs_and_grows_with_their_difference():
    a = np.random.default_rng(0).normal(size=(90, 5, 3))
    assert metrics.inter_variation_cm([a, a.copy()]) == 0.0
    shifted = a + np.array([0.0, 0.0, 0.02])                      # 2 cm apart everywhere
    assert abs(metrics.inter_variation_cm([a, shifted]) - 2.0) < 1e-9
    assert np.isnan(metrics.inter_variation_cm([a[:20], a[:20]]))  # nothing after the first second


def test_local_windows_overlap_the_second_around_the_frame():
    w = metrics.local_windows(100, frame=120, fps=60.0)            # T = 2 s = window 60 at 30 fps
    assert w.min() == 60 - 30 - metrics.STYLE_WINDOW + 1 and w.max() == 90


def test_local_style_distance_sees_a_local_change_the_clip_mean_dilutes():
    clip = synthetic_clip(300, varied=True)
    ref = metrics.Reference(clip)
    edited = clip.copy()
    edited.rotations[140:160, 7] = [0.7071, 0.7071, 0.0, 0.0]      # a forearm turned for 2/3 s
    trk = ref.track_of(edited)
    assert ref.local_style_distance_cm(trk, [150]) > 3 * ref.style_distance_cm(trk) > 0


def test_score_maker_on_the_looped_source_replays_and_does_not_vary():
    clip = synthetic_clip(120, varied=True)
    ref = metrics.Reference(clip)
    from motiondna.engine.eval.benchmark import loop_motion
    out = variations.score_maker(ref, lambda n, seed: loop_motion(clip, n), factors=(3,), seeds=(0, 1))["3x"]
    assert out["inter_variation_cm"] == 0.0
    assert out["frames"] == 360 and out["finite_share"] == 1.0
    assert out["replayed_stretch_s"] > 1.0
    assert set(out["mbench"]) and all(len(v) == 2 for v in out["mbench"].values())
