"""engine/eval/timewarp.py: the retiming protocol's time-warp baseline."""
import numpy as np
from synthetic import synthetic_clip

from motiondna.engine.eval import timewarp


def test_the_warp_shows_t0_at_t_and_leaves_frames_a_second_away_alone():
    fps, t0, t = 30.0, 60, 72
    u = timewarp.warp_curve(150, fps, t0, t)
    assert u[t] == t0
    far = np.abs(np.arange(150) - t) >= fps
    assert np.array_equal(u[far], np.arange(150)[far])


def test_the_warp_never_plays_backwards_for_offsets_up_to_04_s():
    for d in (-0.4, -0.2, 0.2, 0.4):
        u = timewarp.warp_curve(300, 120.0, 150, 150 + int(d * 120))
        assert np.all(np.diff(u) > 0)


def test_time_warp_moves_the_pose_of_t0_to_t_exactly():
    clip = synthetic_clip(150, varied=True)
    out = timewarp.time_warp(clip, 60, 48)
    pos, src = out.positions(), clip.positions()
    assert np.allclose(pos[48], src[60], atol=1e-9)
    assert np.allclose(pos[:18], src[:18]) and np.allclose(pos[79:], src[79:])
    assert out.num_frames == clip.num_frames


def test_resample_halfway_slerps_between_neighbouring_frames():
    clip = synthetic_clip(10)
    half = timewarp.resample(clip, np.full(10, 2.5))
    a, b = clip.rotations[2], clip.rotations[3]
    # Halfway between two unit quaternions (same hemisphere) is their normalised sum.
    mid = (a + b) / np.linalg.norm(a + b, axis=-1, keepdims=True)
    assert np.allclose(np.abs(np.sum(half.rotations[0] * mid, axis=-1)), 1.0, atol=1e-9)
    assert np.allclose(half.translations[0], 0.5 * (clip.translations[2] + clip.translations[3]))
