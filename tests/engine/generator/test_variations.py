"""Variations: the motion graph, the walk, inertialization and Generator.generate(seed)."""
import numpy as np
import pytest

from motiondna.engine.generator import blend, graph
from motiondna.engine.motion import metrics
from motiondna.engine.motion.targets import Target


def test_graph_jumps_land_inside_the_clip_away_from_the_next_frame(varied):
    clip, gen = varied
    F, gap = clip.num_frames, int(round(graph.MIN_JUMP_SECONDS * clip.fps))
    landings = gen.jumps[np.isfinite(gen.jump_costs)]
    assert landings.min() >= 1 and landings.max() < F
    rows = np.repeat(np.arange(F)[:, None], gen.jumps.shape[1], axis=1)
    finite = np.isfinite(gen.jump_costs)
    assert np.all(np.abs(gen.jumps[finite] - (rows[finite] + 1)) >= gap)
    assert np.all(np.diff(gen.jump_costs, axis=1)[np.isfinite(np.diff(gen.jump_costs, axis=1))] >= 0)
    assert gen.tolerance > 0


def test_no_seed_is_the_source_exactly(varied):
    clip, gen = varied
    out = gen.generate()
    assert out.num_frames == clip.num_frames
    assert np.abs(out.positions() - clip.positions()).max() < 1e-5
    assert np.abs(out.rotations - clip.rotations).max() < 1e-6


def test_seeds_differ_and_repeat(varied):
    clip, gen = varied
    a, b, a2 = (gen.generate(num_frames=720, seed=s) for s in (0, 1, 0))
    assert a.num_frames == 720
    assert np.array_equal(a.rotations, a2.rotations)
    ref = metrics.Reference(clip)
    points = [metrics.style_points(ref.track_of(m)) for m in (a, b)]
    assert metrics.inter_variation_cm(points) > 1.0


def test_a_variation_recombines_and_covers_the_clip(varied):
    clip, gen = varied
    idx, jumps, costs = gen.timeline(10 * clip.num_frames, seed=3)
    assert len(jumps) > 10                                   # not the clip in loops
    assert np.all(np.isin(np.arange(clip.num_frames), idx))  # every frame played
    assert idx.max() < clip.num_frames
    ref = metrics.Reference(clip)
    out = gen.generate(num_frames=10 * clip.num_frames, seed=3)
    trk = ref.track_of(out)
    assert ref.replayed_stretch_seconds(trk) < clip.num_frames / clip.fps / 3
    assert ref.coverage(trk) >= 0.95
    assert ref.style_distance_cm(trk) < 1.0
    assert ref.jitter_ratio(trk) < 1.2


def test_jumps_are_continuous(varied):
    """At every jump the output keeps the pose and velocity it had: its step there is no
    bigger than the clip's own largest step."""
    clip, gen = varied
    out = gen.generate(num_frames=600, seed=2)
    p = out.positions()
    p = p - p[:, :1]  # root-relative: the body, not where it walks
    step = np.linalg.norm(np.diff(p, axis=0), axis=-1).max(axis=1)
    src = clip.positions() - clip.positions()[:, :1]
    own = np.linalg.norm(np.diff(src, axis=0), axis=-1).max(axis=1).max()
    accel = np.linalg.norm(np.diff(p, 2, axis=0), axis=-1).max()
    own_accel = np.linalg.norm(np.diff(src, 2, axis=0), axis=-1).max()
    assert step.max() <= 1.5 * own
    assert accel <= 2.0 * own_accel


def test_spring_offsets_keep_pose_and_velocity_then_die_out():
    a, b = blend.spring_curves(200, 5.0)
    assert a[0] == 1.0 and b[0] == 0.0 and abs(a[-1]) < 1e-6 and abs(b[-1]) < 1e-6
    t = np.arange(90, dtype=float)
    base = np.stack([np.sin(t / 5.0), np.cos(t / 7.0)], axis=1)           # a smooth motion
    idx = np.concatenate([np.arange(0, 20), np.arange(40, 90)])            # jump 19 -> 40
    out = base[idx] + blend.jump_offsets(base, idx, [20], 3.0)
    assert np.allclose(out[20] - out[19], base[19] - base[18])             # the old velocity goes on
    assert np.allclose(out[-1], base[idx[-1]], atol=1e-3)                  # then the new material plays
    kick = np.abs(base[19] + (base[19] - base[18]) - base[40]).max()
    accel = np.abs(np.diff(out, 2, axis=0)).max()
    assert accel < 0.05 + kick * blend.damping(3.0) ** 2                   # a spring's pull, no kink


def test_loop_last_frame_flows_into_the_first(varied):
    clip, gen = varied
    out = gen.generate(num_frames=300, seed=4, loop=True)
    r = out.rotations[:, 1:]                                  # the pose, wherever the body faces
    angle = lambda a, b: 2 * np.arccos(np.clip(np.abs(np.sum(a * b, axis=-1)), 0, 1)).max()
    steps = max(angle(r[t], r[t + 1]) for t in range(len(r) - 1))
    assert angle(r[-1], r[0]) <= 1.5 * steps


def test_end_frame_and_start(varied):
    clip, gen = varied
    out = gen.generate(num_frames=200, seed=5, end_frame=100)
    assert np.abs(out.rotations[-1, 1:] - clip.rotations[100, 1:]).max() < 0.02
    started = gen.generate(num_frames=50, start=30)
    assert np.abs(started.rotations[0] - clip.rotations[30]).max() < 1e-6


@pytest.mark.parametrize("kwargs, message", [
    ({"seed": -1}, "seed"), ({"seed": True}, "seed"), ({"seed": 2.5}, "seed"), ({"seed": "3"}, "seed"),
    ({"num_frames": 0}, "num_frames"),
    ({"start": 10_000}, "start"), ({"start": 2.5}, "start"),
    ({"seed": 1, "loop": True, "end_frame": 3}, "loops or ends"),
])
def test_bad_variation_requests_say_what_is_wrong(varied, kwargs, message):
    _, gen = varied
    with pytest.raises(ValueError, match=message):
        gen.generate(**kwargs)


def test_a_target_on_a_variation_is_reached(varied):
    clip, gen = varied
    hand = clip.skeleton.index("RightHand")
    free = gen.generate(num_frames=400, seed=6)
    goal = free.positions()[300, hand] + np.array([0.05, 0.0, 0.05])
    out = gen.generate(targets=[Target(hand, [300], goal[None])], num_frames=400, seed=6)
    assert np.linalg.norm(out.positions()[300, hand] - goal) < 0.01


def test_an_edit_leaves_frames_outside_its_window_exact(varied):
    clip, gen = varied
    hand = clip.skeleton.index("LeftHand")
    goal = clip.positions()[120, hand] + np.array([0.0, 0.1, 0.0])
    out = gen.generate(targets=[Target(hand, [120], goal[None])])
    changed = np.flatnonzero(np.abs(out.rotations - clip.rotations).max(axis=(1, 2)) > 1e-6)
    assert len(changed) and changed.min() > 40 and changed.max() < 200
