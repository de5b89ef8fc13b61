"""Playback of segments: exact replay, continuity through transitions, rates, chunking."""
import numpy as np
import pytest

from motiondna.engine.generator.playback import Transition
from motiondna.engine.motion.skeleton import forward_kinematics


def _positions(gen, rendered):
    return forward_kinematics(gen.skeleton, rendered.rotations, rendered.translations)[1]


def test_no_transition_replays_the_clip(varied):
    clip, g = varied
    cur = g.playback.start(0, 5.0)
    out = g.playback.render(cur, clip.num_frames)
    np.testing.assert_allclose(out.rotations, clip.rotations, atol=1e-9)
    np.testing.assert_allclose(_positions(g, out), clip.positions(), atol=1e-6)


def test_rendering_in_pieces_is_rendering_at_once(varied):
    _, g = varied
    plan = [Transition(40, 150.0, 1.0, 4.0), Transition(70, 20.5, 1.3, 3.0), Transition(71, 90.0, 0.8, 6.0)]
    whole = g.playback.render(g.playback.start(10, 5.0), 120, plan)
    cur = g.playback.start(10, 5.0)
    parts = [g.playback.render(cur, n, plan) for n in (7, 33, 30, 1, 49)]
    np.testing.assert_allclose(np.concatenate([p.rotations for p in parts]), whole.rotations, atol=1e-12)
    np.testing.assert_allclose(np.concatenate([p.translations for p in parts]), whole.translations, atol=1e-12)


def test_a_jump_keeps_pose_and_velocity_continuous(varied):
    clip, g = varied
    out = g.playback.render(g.playback.start(0, 5.0), 100, [Transition(50, 170.0, 1.0, 5.0)])
    pos = _positions(g, out)
    step = np.linalg.norm(np.diff(pos, axis=0), axis=-1).max(axis=1)           # per frame
    src_step = np.linalg.norm(np.diff(clip.positions(), axis=0), axis=-1).max(axis=1)
    # The cut itself would move a joint by the distance between the two poses.
    cut = np.linalg.norm(clip.positions()[170] - clip.positions()[50], axis=-1).max()
    assert cut > 5 * src_step.max()
    assert step.max() < 1.5 * src_step.max()
    accel = np.linalg.norm(np.diff(pos, 2, axis=0), axis=-1).max(axis=1)
    src_accel = np.linalg.norm(np.diff(clip.positions(), 2, axis=0), axis=-1).max(axis=1)
    assert accel.max() < 3 * src_accel.max()


def test_a_rate_plays_the_clip_faster_over_the_same_ground(varied):
    clip, g = varied
    out = g.playback.render(g.playback.start(0, 5.0), 60, [Transition(0, 0.0, 2.0, 5.0)])
    np.testing.assert_allclose(out.positions, 2.0 * np.arange(60))
    root = clip.skeleton.root
    # Once the change of speed has blended in (frame 40 on), twice the speed over the
    # same ground: 20 frames cover what the clip covers in 40.
    travelled = np.linalg.norm(out.translations[59, root] - out.translations[39, root])
    src = np.linalg.norm(clip.translations[118, root] - clip.translations[78, root])
    assert travelled == pytest.approx(src, rel=0.02)
    assert np.all(np.diff(out.theta[40:]) == pytest.approx(np.diff(g.enc.headings[80:120:2]), rel=0.02))
