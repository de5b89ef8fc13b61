"""The streaming runtime: steps, targets revealed as it goes, batches, bad input."""
import numpy as np
import pytest
from synthetic import synthetic_clip

from motiondna.engine.generator.build import build_generator
from motiondna.engine.generator.runtime import Generator
from motiondna.engine.generator.stream import StreamTarget
from motiondna.engine.motion import features, quat


def test_without_a_seed_the_stream_plays_the_clip(varied):
    clip, g = varied
    s = g.stream()
    out = s.steps(clip.num_frames)
    np.testing.assert_allclose(out.rotations, clip.rotations, atol=1e-9)
    np.testing.assert_allclose(out.positions(), clip.positions(), atol=1e-6)
    assert s.frame == clip.num_frames
    longer = s.steps(200)  # past the clip's end the walk goes on, finite and continuous
    assert np.all(np.isfinite(longer.rotations))


def test_a_seeded_stream_is_reproducible_and_seeds_differ(varied):
    _, g = varied
    a, b, c = (g.stream(seed=s).steps(600).positions() for s in (3, 3, 4))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0.1


def test_a_target_never_changes_the_frames_already_stepped(varied):
    clip, g = varied
    hand = clip.skeleton.index("RightHand")
    free = g.stream(seed=1).steps(80)
    s = g.stream(seed=1)
    s.steps(23)
    s.set_targets([StreamTarget(hand, free.positions()[50, hand] + 0.3, 50)])
    out = s.steps(57)
    before = s.motion()
    np.testing.assert_array_equal(before.rotations[:23], free.rotations[:23])
    assert out.num_frames == 57
    assert np.abs(before.positions()[23:] - free.positions()[23:]).max() > 0.01


def _placed(g, joint, moment, frame):
    """Where the clip has ``joint`` around its root at ``moment``, placed around the root
    (and turned to its heading) at ``frame`` of the clip: a place the body can reach then."""
    rel = g.enc.states[moment, g.layout.pos_index(joint)]
    root = g.enc.positions[frame, g.skeleton.root]
    return root + quat.mul_vec(features.heading_quat(g.enc.headings[frame], g.skeleton.up_axis), rel)


def test_a_target_revealed_ahead_is_met(varied):
    """A catch: where the hand is asked to be is where the clip's hand goes at some other
    moment (so the body can reach it), placed around the root where the clip stands."""
    clip, g = varied
    hand = clip.skeleton.index("LeftHand")
    rng = np.random.default_rng(0)
    for _ in range(5):
        reveal = int(rng.integers(10, 60))
        frame = reveal + int(rng.uniform(0.5, 1.0) * clip.fps)
        other = int(rng.integers(0, clip.num_frames))
        goal = _placed(g, hand, other, frame)
        s = g.stream()
        s.steps(reveal)
        s.set_targets([StreamTarget(hand, goal, frame)])
        pos = s.steps(frame - reveal + 10).positions()
        assert np.linalg.norm(pos[frame - reveal, hand] - goal) < 0.03


def test_now_and_on_holds_the_joint_there(tmp_path):
    clip = synthetic_clip(240, varied=True)
    clip.translations[:, 0, :2] = 0.0      # in place: a held hand stays within the arm's reach
    build_generator(clip, str(tmp_path / "still.mdna"))
    g = Generator.load(str(tmp_path / "still.mdna"))
    hand = clip.skeleton.index("RightHand")
    s = g.stream(seed=2)
    s.steps(30)
    goal = clip.positions()[30, hand] + np.array([0.0, 0.05, 0.05])
    s.set_targets([StreamTarget(hand, goal)])
    pos = s.steps(60).positions()[int(0.5 * clip.fps):, hand]
    assert np.linalg.norm(pos - goal, axis=1).max() < 0.03


def test_a_batch_steps_every_character(varied):
    clip, g = varied
    b = g.stream(seed=0, batch=3)
    poses = [b.step() for _ in range(200)]
    assert poses[0].rotations.shape == (3, clip.skeleton.num_joints, 4)
    assert poses[0].translations.shape == (3, clip.skeleton.num_joints, 3)
    last = poses[-1].rotations
    assert np.abs(last[0] - last[1]).max() > 1e-3 or np.abs(last[1] - last[2]).max() > 1e-3
    b.set_targets([[StreamTarget(8, np.zeros(3) + 0.5, 260)], None, []])
    assert b.frame == 200


@pytest.mark.parametrize("target, message", [
    (lambda s: StreamTarget(99, np.zeros(3), 50), "not in the skeleton"),
    (lambda s: StreamTarget(3, np.zeros(3), s.frame - 1), "in the past"),
])
def test_bad_stream_targets_say_what_is_wrong(varied, target, message):
    _, g = varied
    s = g.stream()
    s.steps(10)
    with pytest.raises(ValueError, match=message):
        s.set_targets([target(s)])


def test_bad_stream_requests_say_what_is_wrong(varied):
    _, g = varied
    with pytest.raises(ValueError, match="NaN"):
        StreamTarget(1, [np.nan, 0, 0], 3)
    with pytest.raises(ValueError, match="whole step"):
        StreamTarget(1, [0, 0, 0], 2.5)
    with pytest.raises(ValueError, match="seed"):
        g.stream(seed=-1)
    with pytest.raises(ValueError, match="start"):
        g.stream(start=10_000)
    with pytest.raises(ValueError, match="batch"):
        g.stream(batch=0)
    with pytest.raises(ValueError, match="no frames"):
        g.stream().motion()


def _max_acceleration(positions):
    return np.linalg.norm(np.diff(positions, 2, axis=0), axis=-1).max(axis=1)


def test_a_new_target_moves_no_joint_with_a_jump(varied):
    """When a second target replaces a first halfway through its reach, the first one's
    correction dies out from its value and speed: the motion's acceleration there stays
    within what the first reach alone needs (a correction dropped at once makes it 1.6
    times as large)."""
    clip, g = varied
    hand = clip.skeleton.index("LeftHand")
    sessions = []
    for second in (False, True):
        s = g.stream()
        s.steps(40)
        s.set_targets([StreamTarget(hand, _placed(g, hand, 160, 70), 70)])     # another moment's hand: a reach
        s.steps(20)
        if second:
            s.set_targets([StreamTarget(hand, _placed(g, hand, 100, 80), 80)])
        s.steps(60)
        sessions.append(s.motion().positions())
    one, two = (_max_acceleration(p) for p in sessions)
    assert two[57:62].max() < 1.2 * one[35:60].max()
    assert np.linalg.norm(sessions[1][80, hand] - _placed(g, hand, 100, 80)) < 0.03


LEFT_HAND = 8  # of the synthetic humanoid


def _hand(g, pose):
    from motiondna.engine.motion.skeleton import forward_kinematics
    _, pos = forward_kinematics(g.skeleton, pose.rotations[None], pose.translations[None])
    return pos[0, LEFT_HAND]


def test_a_held_target_given_again_every_frame_keeps_its_fade(varied):
    """A "now and on" target that follows a moving object is set again on every step:
    it is the same target moved, so the IK fades in once and the hand keeps up with it
    (a fade started again on each step would leave the hand almost where the clip has it)."""
    clip, g = varied
    path = clip.positions()[:, LEFT_HAND]   # without targets the stream plays the clip
    s = g.stream()
    s.step()
    misses = []
    for k in range(1, 41):
        goal = path[k] + np.array([-0.1, 0.0, 0.05]) + 0.002 * k * np.array([1.0, 0.0, 0.0])
        s.set_targets([StreamTarget(LEFT_HAND, goal, None)])
        misses.append(np.linalg.norm(_hand(g, s.step()) - goal))
    assert misses[0] > 0.05                  # it fades in: not there at once
    assert max(misses[-20:]) < 0.01          # then it follows, within 1 cm


def test_a_held_target_that_jumps_glides_there(varied):
    clip, g = varied
    path = clip.positions()[:, LEFT_HAND]
    s = g.stream()
    for k in range(30):
        s.set_targets([StreamTarget(LEFT_HAND, path[k] + np.array([-0.1, 0.0, 0.05]), None)])
        s.step()
    far = path[30] + np.array([-0.1, 0.0, 0.3])     # 25 cm from where it was
    s.set_targets([StreamTarget(LEFT_HAND, far, None)])
    moved = [_hand(g, s.step()) for _ in range(20)]
    assert np.linalg.norm(moved[0] - (path[29] + np.array([-0.1, 0.0, 0.05]))) < 0.03   # no jump at once
    assert np.linalg.norm(np.diff(moved, axis=0), axis=1).max() < 0.06                  # a glide, not a snap
    assert np.linalg.norm(moved[-1] - far) < 0.02                                       # there after 0.4 s


def test_moving_a_held_target_keeps_the_timeline(varied):
    """Only held targets changed: nothing is rendered again and the plan stands."""
    clip, g = varied
    s = g.stream(seed=2)
    s.set_targets([StreamTarget(LEFT_HAND, [0.3, 0.5, 1.4], None)])
    for _ in range(5):
        s.step()
    renders = []
    render = g.playback.render
    g.playback.render = lambda *a, **k: (renders.append(1), render(*a, **k))[1]
    try:
        s.set_targets([StreamTarget(LEFT_HAND, [0.31, 0.5, 1.4], None)])
        s.step()
        assert renders == []
        s.set_targets([StreamTarget(LEFT_HAND, [0.31, 0.5, 1.4], None), StreamTarget(LEFT_HAND, [0.3, 0.6, 1.3], 40)])
        s.step()
        assert renders                     # a target with a frame plans again
    finally:
        g.playback.render = render
