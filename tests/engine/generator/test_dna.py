"""engine/generator/dna.py: the codes' low-pass, the loop points and the runtime timeline that uses them."""

import numpy as np
import pytest

from motiondna.engine.generator import dna, runtime, train
from motiondna.engine.io import generator_file
from motiondna.engine.io.bvh import read_bvh
from motiondna.engine.motion import features, metrics, quat
from motiondna.engine.motion.skeleton import Motion

from conftest import CLIP, HAVE_TORCH, NO_TORCH


def _upsampled(motion, k):
    """``motion`` at k times its frame rate (slerp between frames): a smooth 120 fps clip."""
    t = np.arange((motion.num_frames - 1) * k + 1) / k
    i = np.minimum(t.astype(int), motion.num_frames - 2)
    a = t - i
    rots = quat.normalize(quat.slerp(motion.rotations[i], motion.rotations[i + 1], a[:, None]))
    trans = motion.translations[i] * (1 - a[:, None, None]) + motion.translations[i + 1] * a[:, None, None]
    return Motion(motion.skeleton, rots, trans, motion.fps * k, motion.name)


def _replay_jitter_ratio(motion, sigma_s):
    """Jitter of the DNA's replay (codes low-passed over ``sigma_s``; None: the fitted
    low-pass) / the source's."""
    layout = features.Layout(motion.skeleton.num_joints, features.moving_joints(motion))
    enc = features.encode(motion, layout=layout)
    jt = motion.translations.mean(axis=0)
    fit = dna.fit_codes(motion, enc, layout, jt)
    if sigma_s is None:
        sigma_s = dna.fit_smoothing(fit, enc, layout, motion.skeleton, jt, motion.fps)
    pos = dna.replay_positions(fit, enc, layout, motion.skeleton, jt, motion.fps, sigma_s)
    return metrics.mean_acceleration(pos, motion.fps) / metrics.mean_acceleration(motion.positions(), motion.fps)


def test_the_codes_low_pass_makes_the_replay_as_smooth_as_the_source():
    clip = _upsampled(read_bvh(CLIP).to_motion(), 4)   # 120 fps: truncation shake is strongest
    raw = _replay_jitter_ratio(clip, 0.0)
    fitted = _replay_jitter_ratio(clip, None)
    assert raw > 1.2                                   # the truncated codes shake
    assert 0.9 < fitted < 1.1                          # the fitted low-pass removes the shake
    assert abs(np.log(fitted)) < abs(np.log(raw))


def _idle_then_cycle(fps=30, idle=90, cycles=4, period=30):
    """Codes of a clip that starts in an idle pose it never returns to, then cycles."""
    t = np.arange(cycles * period)
    cycle = np.stack([np.cos(2 * np.pi * t / period), np.sin(2 * np.pi * t / period)], 1) * 5.0
    ramp = np.linspace(0, 1, 15)[:, None]
    start = np.tile([[0.0, -6.0]], (idle - 15, 1))
    blend = (1 - ramp) * start[-1] + ramp * cycle[0]
    return np.concatenate([start, blend, cycle]).astype(np.float32), fps


def test_a_loop_that_skips_the_start_gets_an_earlier_restart_with_a_longer_blend():
    codes, fps = _idle_then_cycle()
    loop_to = dna.loop_target(codes, max(2, int(0.5 * fps)))
    assert loop_to > 75  # the seamless loop lands in the cycle, after the idle start
    restart, half_life = dna.restart_target(codes, fps, loop_to)
    assert restart < 15  # back to the idle start: all of the material recurs
    # The gap to the start is large, so the blend is slower than the standard 0.12 s one.
    assert 0.12 < half_life <= dna.RESTART_MAX_BLEND_S


def test_a_loop_near_the_start_needs_no_restart():
    t = np.arange(31)  # one cycle: the last frame is the first frame's pose again
    codes = np.stack([np.cos(2 * np.pi * t / 30), np.sin(2 * np.pi * t / 30)], 1).astype(np.float32)
    loop_to = dna.loop_target(codes, 15)
    assert loop_to == 1
    assert dna.restart_target(codes, 30, loop_to) == (loop_to, 0.0)


def test_a_loop_continues_the_last_frame_s_velocity_not_only_its_pose():
    # A swing whose last pose recurs on the way up and on the way down: one frame cannot
    # tell them apart (the nearest single pose is on the wrong way here); the lead-in can.
    t = np.arange(120)
    codes = np.stack([np.cos(2 * np.pi * t / 29.0), np.zeros(len(t))], 1)
    going = np.sign(codes[-1, 0] - codes[-2, 0])

    def continues(loop_to):
        return np.sign(codes[loop_to, 0] - codes[loop_to - 1, 0]) == going

    assert not continues(dna.loop_target(codes, 15, window=0))
    assert continues(dna.loop_target(codes, 15, window=10))


def test_a_loop_match_window_longer_than_the_clip_is_cut_to_it():
    codes = np.stack([np.linspace(0, 1, 6), np.zeros(6)], 1)
    assert 1 <= dna.loop_target(codes, 2, window=50) < 6


@pytest.fixture(scope="module")
def generator_path(tmp_path_factory):
    if not HAVE_TORCH:
        pytest.skip(NO_TORCH)
    from synthetic import synthetic_clip
    path = str(tmp_path_factory.mktemp("dna") / "g.mdna")
    train.build_generator(synthetic_clip(60), path, {"steps": 5})
    return path


@pytest.fixture
def generator(generator_path):
    return runtime.Generator.load(generator_path)


def test_timeline_alternates_the_loop_and_the_restart(generator):
    g = generator
    g.end_to = g.loop_to = 40
    g.restart_to, g.loop_from = 3, g.num_frames - 1
    idx, jumps = g.timeline(4 * g.num_frames)
    F = g.num_frames
    assert jumps[0] == F and idx[F] == 40                    # first end: the seamless loop
    second = F + (F - 40)
    assert jumps[1] == second and idx[second] == 3            # next end: the restart
    assert idx[jumps[2]] == 40                                # and so on
    assert np.all(np.diff(idx)[np.setdiff1d(np.arange(len(idx) - 1), np.array(jumps) - 1)] == 1)


def test_a_restart_blends_over_its_own_half_life(generator):
    g = generator
    g.end_to = g.loop_to = 40
    g.restart_to, g.loop_from = 3, g.num_frames - 1
    g.restart_decay = 0.5 ** (1 / (0.5 * g.fps))              # a half-life of 0.5 s
    idx, jumps = g.timeline(3 * g.num_frames)
    off = np.abs(g._offsets(idx, jumps, g.base[0])).sum(axis=1)
    after = lambda t, n: off[t + n] / max(off[t], 1e-12)      # noqa: E731
    n = int(0.25 * g.fps)
    assert after(jumps[1], n) > 0.6                           # restart: slow fade (0.5 s)
    assert after(jumps[0], n) < after(jumps[1], n)            # loop: the standard, faster one


def _cycles_then_wind_down(period=30, cycles=5, tail=25):
    """Pose points of a clip that cycles, then winds down to a pose it never took before
    (a gesture stopped midway): its last frame is no place to loop from."""
    t = np.arange(cycles * period)
    cycle = np.stack([np.cos(2 * np.pi * t / period), np.sin(2 * np.pi * t / period), 0 * t], 1) * 10.0
    ramp = np.linspace(0, 1, tail)[:, None]
    end = (1 - ramp) * cycle[-1] + ramp * np.array([0.0, 0.0, 30.0])
    return np.concatenate([cycle, end])


def _brute_seam_gap(points, e, j, window):
    P = points.shape[1] // 3
    d2 = lambda a, b: np.sum((points[a] - points[b]) ** 2) / P             # noqa: E731
    ks = [k for k in range(window + 1) if e - k >= 0 and j - 1 - k >= 0]
    return np.sqrt(d2(e, j - 1) + np.mean([d2(e - k, j - 1 - k) for k in ks]))


def test_seam_gaps_are_pose_plus_lead_in_distances():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(40, 6))
    exits = np.array([20, 31, 39])
    gaps = dna.seam_gaps(points, exits, window=5)
    assert np.isinf(gaps[:, 0]).all()                        # no frame before frame 0
    for r, e in enumerate(exits):
        for j in (1, 3, 10, 25, 39):
            assert gaps[r, j] == pytest.approx(_brute_seam_gap(points, e, j, 5))


def test_a_clip_whose_ending_is_no_place_to_loop_leaves_earlier():
    points = _cycles_then_wind_down()
    F = len(points)
    end_to = 1 + int(np.argmin(dna.seam_gaps(points, [F - 1], 10)[0, 1:F // 2]))
    loop_from, loop_to = dna.early_exit(points, end_to, 15, 10)
    assert loop_from < F - 25                                # leaves before the wind-down
    assert min((loop_from - loop_to + 1) % 30, -(loop_from - loop_to + 1) % 30) <= 1   # whole cycles
    gaps = dna.seam_gaps(points, [loop_from, F - 1], 10)
    assert gaps[0, loop_to] < gaps[1, end_to] / dna.EARLY_EXIT_GAIN
    # A clip that ends where a cycle ends keeps its last frame as the exit.
    cyclic = points[:150]
    end_to = 1 + int(np.argmin(dna.seam_gaps(cyclic, [149], 10)[0, 1:75]))
    assert dna.early_exit(cyclic, end_to, 15, 10) == (149, end_to)


def test_an_early_loop_plays_the_first_pass_whole_then_loops_its_stretch(generator_path):
    g = runtime.Generator.load(generator_path)
    F = g.num_frames
    g.end_to, g.loop_from, g.loop_to, g.restart_to = 20, 45, 30, 10
    idx, jumps = g.timeline(5 * F)
    assert jumps[0] == F and idx[F] == 20                    # the first pass ends at the last frame
    assert idx[jumps[1] - 1] == 45 and idx[jumps[1]] == 10   # later cycles leave at loop_from
    assert idx[jumps[2] - 1] == 45 and idx[jumps[2]] == 30
    assert idx[F:].max() == 45                               # the ending plays once
    # Old files (no loop_from / end_to): every cycle leaves at the last frame for loop_to.
    arrays, meta = generator_file.load(generator_path)
    meta["dna_info"] = dict(meta["dna_info"], loop_to=30, restart_to=30)
    for key in ("loop_from", "end_to"):
        meta["dna_info"].pop(key, None)
    old = runtime.Generator(arrays, meta)
    idx, jumps = old.timeline(3 * F)
    assert old.loop_from == F - 1 and old.end_to == 30
    assert all(idx[t - 1] == F - 1 and idx[t] == 30 for t in jumps)


def test_clips_beyond_the_search_limit_keep_the_last_frame_s_loop(monkeypatch):
    points = _cycles_then_wind_down()
    F = len(points)
    assert dna.early_exit(points, 5, 15, 10)[0] < F - 1
    monkeypatch.setattr(dna, "EARLY_EXIT_MAX_FRAMES", F - 1)   # the search is O(F^2) in memory
    assert dna.early_exit(points, 5, 15, 10) == (F - 1, 5)
