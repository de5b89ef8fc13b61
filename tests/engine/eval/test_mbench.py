"""engine/eval/mbench.py: MBench's motion quality on cases with known answers, and against
ViMoGen's own code when a checkout of it is named by $MBENCH_REFERENCE."""
import json
import os
import sys
import types

import numpy as np
import pytest
from synthetic import synthetic_clip

from motiondna.engine.eval import mbench
from motiondna.engine.io.bvh import read_bvh
from motiondna.engine.motion import metrics, quat
from motiondna.engine.motion.skeleton import Motion, Skeleton

from conftest import ROOT

STEP = 0.02  # m per frame: faster than MBench's contact step (0.01)
JACKS = os.path.join(ROOT, "data", "jumping_jacks.bvh")  # the bundled CMU clip


def still_clip(frames=60, fps=30.0):
    """The synthetic humanoid standing in its rest pose, both feet on its ground."""
    m = synthetic_clip(frames, fps)
    m.rotations[:] = quat.identity(m.rotations.shape[:-1])
    m.translations[:] = m.skeleton.rest_translations
    return m


def moved(motion, metres_per_frame=(0.0, 0.0, 0.0), offset=(0.0, 0.0, 0.0)):
    """``motion`` with its root shifted by ``offset`` and moved at ``metres_per_frame`` of a 30 fps frame (Z up)."""
    out = motion.copy()
    scale = metrics.metres_per_unit(motion.skeleton, motion.translations)
    seconds = np.arange(motion.num_frames) / motion.fps
    out.translations[:, 0] += (np.asarray(offset) + np.outer(seconds * 30.0, metres_per_frame)) / scale
    return out


def scaled(motion, factor):
    sk = motion.skeleton
    skel = Skeleton(sk.names, sk.parents, sk.rest_rotations, sk.rest_translations * factor, sk.up_axis)
    return Motion(skel, motion.rotations, motion.translations * factor, motion.fps, motion.name)


def positions(root, left, right):
    """(F, 3, 3) positions of a root and two feet (Z up): joint 0 root, 1 left, 2 right."""
    return np.stack([root, left, right], axis=1)


def line(frames, start, step):
    return np.asarray(start, float) + np.outer(np.arange(frames), step)


# -- known answers -------------------------------------------------------------------------

def test_a_still_pose_scores_zero():
    q = mbench.motion_quality(still_clip())
    assert q == {"jitter_degree": 0.0, "ground_penetration": 0.0, "foot_sliding": 0.0,
                 "foot_floating": 0.0, "dynamic_degree": 0.0}


def test_penetration_is_the_depth_below_the_source_ground():
    source = still_clip()
    sunk = moved(source, offset=(0, 0, -0.04))
    assert mbench.compare(sunk, source)["ground_penetration"] == pytest.approx((0.04, 0.0), abs=1e-9)
    assert mbench.motion_quality(sunk)["ground_penetration"] == 0.0  # on its own ground it stands
    assert mbench.motion_quality(moved(source, offset=(0, 0, -0.003)), source)["ground_penetration"] == 0.0


def test_a_body_dragged_along_the_ground_slides_at_its_speed():
    source = still_clip()
    for fps in (30.0, 120.0):
        dragged = moved(still_clip(4 * 60 if fps == 120 else 60, fps), (0.005, 0.003, 0.0))
        q = mbench.motion_quality(dragged, source)
        assert q["foot_sliding"] == pytest.approx(np.hypot(0.005, 0.003), rel=1e-9)
        assert q["dynamic_degree"] == pytest.approx(np.hypot(0.005, 0.003), rel=1e-9)  # the root-relative part is 0
        assert q["jitter_degree"] == pytest.approx(0.0, abs=1e-12)
        assert q["foot_floating"] == 1.0  # every frame: planted feet carried along with the body


def test_planted_feet_under_a_moving_body_do_not_float():
    n = 40
    root = line(n, [0, 0, 0.9], [STEP, 0, 0])
    p = positions(root, np.tile([0.3, 0.1, 0.0], (n, 1)), np.tile([0.5, -0.1, 0.0], (n, 1)))
    q = mbench.scores(p, 0, [1, 2], 0.0)
    assert q["foot_floating"] == 0.0 and q["foot_sliding"] == 0.0 and q["ground_penetration"] == 0.0


def test_feet_gliding_in_the_air_with_the_body_float():
    n = 40
    root = line(n, [0, 0, 0.9], [STEP, 0, 0])
    p = positions(root, root + [0, 0.1, -0.8], root + [0, -0.1, -0.8])  # 10 cm up, moving with the root
    assert mbench.scores(p, 0, [1, 2], 0.0)["foot_floating"] == 1.0


def test_an_airborne_foot_that_swings_floats_and_one_on_a_straight_path_does_not():
    n = 30
    root = np.tile([0, 0, 0.9], (n, 1))  # a still root: only the whole-body airborne check judges
    straight = line(n, [0, 0.1, 0.1], [STEP, 0, 0])
    swinging = straight + np.outer((np.arange(n) % 4 < 2) * 2 - 1, [0, 0.03, 0])
    right = line(n, [0, -0.1, 0.1], [STEP, 0, 0])
    assert mbench.scores(positions(root, straight, right), 0, [1, 2], 0.0)["foot_floating"] == 0.0
    assert mbench.scores(positions(root, swinging, right), 0, [1, 2], 0.0)["foot_floating"] == 1.0


def test_jitter_and_dynamic_degree_are_mean_differences_global_plus_local():
    n = 20
    root = line(n, [0, 0, 0.9], [STEP, 0, 0])
    shake = np.outer((-1.0) ** np.arange(n), [0, 0.01, 0])  # a joint shaking 1 cm about the moving root
    p = np.stack([root, root + [0.2, 0, 0] + shake], axis=1)
    q = mbench.scores(p, 0, [], 0.0)
    # global: root 0 and the joint 0.04 m/frame^2 over two joints; local: 0 and 0.04 again
    assert q["jitter_degree"] == pytest.approx(0.02 + 0.02)
    assert q["dynamic_degree"] == pytest.approx((STEP + np.hypot(STEP, 0.02)) / 2 + 0.02 / 2)
    assert np.isnan(q["foot_sliding"])  # no feet, no foot measures


def test_peaks_are_counted_as_scipy_finds_them():
    find_peaks = pytest.importorskip("scipy.signal").find_peaks
    rng = np.random.default_rng(0)
    for _ in range(200):
        x = rng.integers(0, 4, size=rng.integers(0, 12)).astype(float)  # small integers: many plateaus
        assert mbench.count_peaks(x) == len(find_peaks(x)[0]), x


# -- invariances ---------------------------------------------------------------------------

def test_values_do_not_depend_on_the_frame_rate():
    at30 = mbench.motion_quality(synthetic_clip(90, 30.0))
    at120 = mbench.motion_quality(synthetic_clip(360, 120.0))
    for name in mbench.NAMES:
        assert at120[name] == pytest.approx(at30[name], rel=1e-6, abs=1e-9), name


def test_values_do_not_depend_on_the_units():
    clip = synthetic_clip()
    metres, centimetres = mbench.motion_quality(clip), mbench.motion_quality(scaled(clip, 100.0))
    for name in mbench.NAMES:
        assert centimetres[name] == pytest.approx(metres[name], rel=1e-9, abs=1e-12), name


def test_compare_gives_the_generated_and_the_source_value_per_measure():
    source = synthetic_clip()
    generated = moved(source, (0.002, 0, 0))
    pairs = mbench.compare(generated, source)
    assert list(pairs) == list(mbench.NAMES)
    assert {k: v[0] for k, v in pairs.items()} == mbench.motion_quality(generated, source)
    assert {k: v[1] for k, v in pairs.items()} == mbench.motion_quality(source)
    with pytest.raises(ValueError, match="does not match"):
        mbench.compare(source, read_bvh(JACKS).to_motion())


# -- against ViMoGen's code ----------------------------------------------------------------

REFERENCE = os.environ.get("MBENCH_REFERENCE")  # a checkout of SMPLCap/ViMoGen
DIMENSIONS = {"jitter_degree": "Jitter_Degree", "ground_penetration": "Ground_Penetration",
              "foot_sliding": "Foot_Sliding", "foot_floating": "Foot_Floating", "dynamic_degree": "Dynamic_Degree"}


@pytest.fixture(scope="module")
def reference():
    if not REFERENCE or not os.path.isfile(os.path.join(REFERENCE, "mbench", "motion_quality.py")):
        pytest.skip("set MBENCH_REFERENCE to a checkout of SMPLCap/ViMoGen to compare with its code")
    pytest.importorskip("torch")
    pytest.importorskip("scipy")
    if "tqdm" not in sys.modules:
        try:
            import tqdm  # noqa: F401  (its progress bars only)
        except ImportError:
            sys.modules["tqdm"] = types.SimpleNamespace(tqdm=lambda items, *a, **k: items)
    sys.path.insert(0, REFERENCE)
    from mbench import motion_quality
    return motion_quality


def reference_values(module, joints, folder):
    """ViMoGen's five values of (F, 22, 3) joints (Z up, floor 0, feet 10 and 11)."""
    path = os.path.join(folder, "motion.npy")
    np.save(path, joints.astype(np.float32))
    info = os.path.join(folder, "info.json")
    with open(info, "w") as f:
        json.dump([{"dimension": d, "evaluation_file": path, "prompt": ""} for d in DIMENSIONS.values()], f)
    return {name: getattr(module, "compute_" + d.lower())(info, "cpu")["per_motion"][0]["value"]
            for name, d in DIMENSIONS.items()}


def smpl_like(motion):
    """(F30, 22, 3) of ``motion`` in MBench's layout: root 0, feet 10 and 11, Z up, floor 0."""
    base = mbench.footing(motion)
    p = mbench.positions_at_30fps(motion, base.scale)
    others = [j for j in base.joints if j not in base.feet and j != base.root]
    others = (others * 22)[:19]  # 22 joints, as SMPL has: repeat some when the rig has fewer
    x = p[:, [base.root] + others[:9] + list(base.feet) + others[9:]]
    x[..., base.up_axis] -= base.ground
    up = base.up_axis
    return x[..., [(up + 1) % 3, (up + 2) % 3, up]].astype(np.float32)  # a rotation that puts up on Z


def test_against_vimogen(reference, tmp_path):
    walk = synthetic_clip()
    jacks = read_bvh(JACKS).to_motion()
    cases = [smpl_like(walk), smpl_like(jacks)]
    cases += [c + np.float32([0, 0, lift]) for c in cases[:1] for lift in (-0.02, 0.05)]
    airborne = np.tile(cases[0][:1], (30, 1, 1)) + np.float32([0, 0, 0.2])  # a still body in the air
    airborne[:, [10, 11]] += line(30, [0, 0, 0], [STEP, 0, 0])[:, None].astype(np.float32)  # feet drifting
    airborne[:, 10] += np.outer((np.arange(30) % 4 < 2) * 2 - 1, [0, 0.03, 0]).astype(np.float32)  # one swinging
    cases.append(airborne)
    for joints in cases:
        want = reference_values(reference, joints, str(tmp_path))
        got = mbench.scores(joints.astype(np.float64), 0, [10, 11], 0.0, 2)
        for name in mbench.NAMES:
            assert got[name] == pytest.approx(want[name], rel=1e-4, abs=1e-7), name
