"""Per-clip generator: build (determinism, progress, cancel), file format checks,
reconstruction, targets, long runs, ONNX parity. Few training steps keep it quick."""
import dataclasses
import os
import zipfile

import numpy as np
import pytest
from synthetic import synthetic_clip

from motiondna.engine.generator import runtime, train
from motiondna.engine.generator.dna import effector_joints
from motiondna.engine.io import fileformat, generator_file
from motiondna.engine.motion import quat
from motiondna.engine.motion.metrics import metres_per_unit
from motiondna.engine.motion.skeleton import Motion, Skeleton
from motiondna.engine.motion.targets import Target
from motiondna.engine.refine import refinement

from conftest import MOTIONS, needs_torch

pytestmark = needs_torch

FAST = {"steps": 150}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    clip = synthetic_clip()
    path = str(tmp_path_factory.mktemp("gen") / "synthetic.mdna")
    events = []
    info = train.build_generator(clip, path, FAST, progress=lambda f, msg="", **kw: events.append((f, msg, kw)))
    return clip, path, info, events


def test_build_reports_progress_and_summary(built):
    clip, path, info, events = built
    assert {"path", "train_seconds", "size_bytes", "steps", "final_loss", "device"} <= set(info)
    assert info["steps"] == FAST["steps"] and info["device"] == "cpu"
    assert 0 < info["size_bytes"] <= 1_000_000 and info["size_bytes"] == os.path.getsize(path)
    fractions = [f for f, _, _ in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    training = [kw for _, msg, kw in events if msg == "training"]
    assert training and {"step", "total", "loss", "eta_s"} <= set(training[-1])
    assert np.isfinite(info["final_loss"])


def test_build_is_deterministic_under_a_seed(built, tmp_path):
    clip, path, _, _ = built
    other = str(tmp_path / "again.mdna")
    train.build_generator(clip, other, FAST)
    a, _ = generator_file.load(path)
    b, _ = generator_file.load(other)
    for k in ("w1_dev", "w2", "w3", "codes"):
        np.testing.assert_array_equal(a[k], b[k])
    c = str(tmp_path / "seed1.mdna")
    train.build_generator(clip, c, dict(FAST, seed=1))
    assert not np.array_equal(generator_file.load(c)[0]["w2"], a["w2"])


def test_cancel_raises_cancelled(tmp_path):
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(train.Cancelled):
        train.build_generator(synthetic_clip(), str(tmp_path / "x.mdna"), FAST, should_stop=stop)
    assert not os.path.exists(tmp_path / "x.mdna")


def test_unknown_setting_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown generator setting"):
        train.build_generator(synthetic_clip(), str(tmp_path / "x.mdna"), {"stepz": 3})
    with pytest.raises(ValueError, match=r"unknown generator setting\(s\): stepz \(known: batch, "):
        train.resolve_settings({"stepz": 3})


def test_settings_are_typed_and_stored_as_a_dict(built):
    """A dict (as JSON gives it) becomes ``Settings`` of the declared types; the file keeps
    the resolved settings as a plain dict."""
    s = train.resolve_settings({"steps": 40.0, "lr": 1, "device": "cpu"})
    assert isinstance(s, train.Settings) and s.steps == 40 and isinstance(s.steps, int)
    assert isinstance(s.lr, float) and s.lr == 1.0 and s.seed == train.Settings().seed
    assert train.resolve_settings(None) == train.Settings() and train.resolve_settings(s) is s
    with pytest.raises(ValueError, match="settings.steps must be int"):
        train.resolve_settings({"steps": "many"})
    _, path, _, _ = built
    stored = generator_file.load(path)[1]["settings"]
    assert stored == dataclasses.asdict(train.resolve_settings(FAST))


def test_round_trip_keeps_dna_and_meta(built):
    clip, path, _, _ = built
    g = runtime.Generator.load(path)
    assert g.num_frames == clip.num_frames and g.fps == clip.fps
    assert g.skeleton.names == clip.skeleton.names
    assert g.meta["source_hash"] == fileformat.motion_hash(clip)
    assert {"codes", "trajectory", "phase", "mean_pose", "amplitude"} <= set(g.dna)
    info = g.meta["dna_info"]
    assert {"speed_mean", "rhythm_period_s", "loop_to", "effectors"} <= set(info)
    assert abs(info["rhythm_period_s"] - 0.5) < 0.1  # arms and legs swing twice a second in speed


def _rewrite(src, dst, edit_header=None, drop=None):
    import json
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.namelist():
            if item == drop:
                continue
            data = zin.read(item)
            if item == "header.json" and edit_header:
                h = json.loads(data)
                edit_header(h)
                data = json.dumps(h).encode()
            zout.writestr(item, data)


def test_corrupt_truncated_newer_and_foreign_files_are_refused(built, tmp_path):
    _, path, _, _ = built
    raw = open(path, "rb").read()
    trunc = tmp_path / "trunc.mdna"
    trunc.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(fileformat.FormatError, match="damaged or truncated"):
        runtime.Generator.load(str(trunc))
    newer = tmp_path / "newer.mdna"
    _rewrite(path, newer, edit_header=lambda h: h.update(format_version=99))
    with pytest.raises(fileformat.FormatError, match="newer"):
        runtime.Generator.load(str(newer))
    older = tmp_path / "older.mdna"
    _rewrite(path, older, edit_header=lambda h: (h.update(format_version=1), h["meta"].update(format_version=1)))
    with pytest.raises(fileformat.FormatError, match="older than this add-on reads"):
        runtime.Generator.load(str(older))
    corrupt = tmp_path / "corrupt.mdna"
    _rewrite(path, corrupt, edit_header=lambda h: h["arrays"]["w2"].update(sha256="0" * 64))
    with pytest.raises(fileformat.FormatError, match="corrupt"):
        runtime.Generator.load(str(corrupt))
    missing = tmp_path / "missing.mdna"
    _rewrite(path, missing, edit_header=lambda h: h["arrays"].pop("w3"), drop="w3.npy")
    with pytest.raises(fileformat.FormatError, match="missing w3"):
        runtime.Generator.load(str(missing))
    loops = tmp_path / "loops.mdna"
    _rewrite(path, loops, edit_header=lambda h: h["meta"]["dna_info"].update(loop_from=0, loop_to=5))
    with pytest.raises(fileformat.FormatError, match="loop frames outside the clip"):
        runtime.Generator.load(str(loops))
    clip = tmp_path / "clip.mdna"
    fileformat.save_motion(str(clip), synthetic_clip(10))
    with pytest.raises(fileformat.FormatError, match="expected a 'motiondna.generator'"):
        runtime.Generator.load(str(clip))


def test_check_compatible_names_the_missing_joint(built):
    clip, path, _, _ = built
    _, meta = generator_file.load(path)
    assert generator_file.check_compatible(meta, clip.skeleton) is None
    sk = clip.skeleton
    keep = [j for j, n in enumerate(sk.names) if n not in ("RightForeArm", "RightHand")]
    smaller = Skeleton([sk.names[j] for j in keep], [keep.index(sk.parents[j]) if sk.parents[j] >= 0 else -1 for j in keep],
                       sk.rest_rotations[keep], sk.rest_translations[keep], sk.up_axis)
    with pytest.raises(ValueError, match="missing joint 'RightForeArm'"):
        generator_file.check_compatible(meta, smaller)


def _cm_error(a, b, skeleton):
    return np.linalg.norm(a - b, axis=-1) * 100 * metres_per_unit(skeleton)


def test_generate_without_targets_reconstructs_the_clip(built):
    clip, path, _, _ = built
    g = runtime.Generator.load(path)
    out = g.generate()
    assert out.num_frames == clip.num_frames
    err = _cm_error(out.positions(), clip.positions(), clip.skeleton)
    assert err[0].max() < 0.05  # same first frame
    assert err.mean() < 3.0, err.mean()


def test_targets_are_reached_after_refinement(built):
    clip, path, _, _ = built
    g = runtime.Generator.load(path)
    src = clip.positions()
    rng = np.random.default_rng(3)
    cm = 100 * metres_per_unit(clip.skeleton)
    hands = [clip.skeleton.index("LeftHand"), clip.skeleton.index("RightHand")]
    for joint, frame in zip(hands, (30, 55)):
        d = rng.normal(size=3)
        goal = src[frame, joint] + d / np.linalg.norm(d) * 15 / cm
        out = g.generate([Target(joint, [frame], goal)])
        assert _cm_error(out.positions()[frame, joint], goal, clip.skeleton) < 1.0
        assert np.all(np.isfinite(out.rotations))
    # A moving target (a frame range) is followed on every frame.
    j = hands[0]
    frames = np.arange(40, 50)
    path_ = src[frames, j] + np.array([0.0, 0.05, 0.05])
    out = g.generate([Target(j, frames, path_)])
    assert _cm_error(out.positions()[frames, j], path_, clip.skeleton).max() < 1.0


def test_generate_reports_the_refinement_s_progress(built):
    clip, path, _, _ = built
    g = runtime.Generator.load(path)
    pos = g.generate(num_frames=60).positions()
    hand = g.slots[0]
    targets = [Target(hand, [f], pos[f, hand][None] + 0.05) for f in (10, 30, 50)]
    seen = []
    g.generate(targets=targets, num_frames=60, progress=seen.append)
    assert seen and seen == sorted(seen) and seen[-1] == 1.0 and 0.0 < seen[0] < 1.0
    assert len(seen) <= (refinement.PASSES + 1) * len(targets)  # once per group and pass


def test_target_rollout_moves_toward_target_before_refinement(built):
    clip, path, _, _ = built
    g = runtime.Generator.load(path)
    j, frame = clip.skeleton.index("LeftHand"), 45
    goal = clip.positions()[frame, j] + np.array([0.0, 0.0, 0.12])
    free = g.generate(refine=False).positions()[frame, j]
    guided = g.generate([Target(j, [frame], goal)], refine=False).positions()[frame, j]
    assert np.linalg.norm(guided - goal) < np.linalg.norm(free - goal)


def test_long_run_is_finite_and_keeps_moving(built):
    clip, path, _, _ = built
    g = runtime.Generator.load(path)
    out = g.generate(num_frames=10 * clip.num_frames)
    assert out.num_frames == 10 * clip.num_frames
    pos = out.positions()
    assert np.all(np.isfinite(pos))
    rel = pos - pos[:, :1]
    last = rel[-clip.num_frames:]
    assert last.std(axis=0).mean() > 0.3 * (rel[:clip.num_frames].std(axis=0).mean())  # not frozen


def test_effector_slots_are_hands_feet_head():
    sk = synthetic_clip(4).skeleton
    names = [sk.names[j] for j in effector_joints(sk)]
    assert names == ["LeftHand", "RightHand", "LeftFoot", "RightFoot", "Head"]


def test_onnx_export_matches_numpy_step(built, tmp_path):
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    from motiondna.engine.generator import export_onnx
    _, path, _, _ = built
    info = export_onnx.export(path, str(tmp_path / "g.onnx"))
    g = runtime.Generator.load(path)
    rng = np.random.default_rng(0)
    dev = rng.normal(size=(5, info["inputs"]["dev"][1])).astype(np.float32)
    cond = rng.normal(size=(5, info["inputs"]["cond"][1])).astype(np.float32)
    sess = ort.InferenceSession(info["path"], providers=["CPUExecutionProvider"])
    got = sess.run(None, {"dev": dev, "cond": cond})[0]
    np.testing.assert_allclose(got, g.step(dev, cond), atol=1e-4)
    # Far outside the trained range the step is bounded, in ONNX as in numpy.
    big = 100.0 * g.dev_limit * np.sign(dev)
    got = sess.run(None, {"dev": big, "cond": cond})[0]
    np.testing.assert_allclose(got, g.step(big, cond), atol=1e-4)
    assert np.all(np.abs(got) <= g.dev_limit + 1e-6)


def test_the_rollout_never_leaves_the_deviation_range_it_was_trained_on(built):
    clip, path, _, _ = built
    g = runtime.Generator.load(path)
    assert np.all(np.isfinite(g.dev_limit)) and np.all(g.dev_limit > 0)
    g.decay = np.float32(1.3)  # a network whose rollout amplifies itself
    j = clip.skeleton.index("RightHand")
    n = 3 * clip.num_frames
    target = [Target(j, np.arange(n), np.tile(clip.positions()[0, j] + 0.3, (n, 1)))]
    bounded = [g._rollout_free(g.timeline(n)[0]), g.generate(target, num_frames=n, refine=False)]
    assert np.all(np.abs(bounded[0]) <= g.dev_limit + 1e-6)
    assert np.all(np.isfinite(bounded[1].positions()))
    limit = g.dev_limit
    g.dev_limit = np.full_like(limit, np.inf)  # without the bound the same rollout runs away
    assert not np.all(np.abs(g._rollout_free(g.timeline(n)[0])) <= 10 * limit)  # (to overflow: NaN)


@pytest.mark.skipif(not os.path.isdir(MOTIONS), reason="../shared/motions is absent")
def test_reconstructs_a_shared_mocap_clip(tmp_path):
    from motiondna.engine.io.bvh import read_bvh
    clip = read_bvh(os.path.join(MOTIONS, "cmu_3dsmax", "jumping_jacks.bvh")).to_motion()
    path = str(tmp_path / "jj.mdna")
    train.build_generator(clip, path, {"steps": 300})
    out = runtime.Generator.load(path).generate()
    err = _cm_error(out.positions(), clip.positions(), clip.skeleton)
    assert err.mean() < 3.0, err.mean()


def _network_reach(path, count=12):
    """Mean share of an in-range offset (half the slot's clamp, random directions) that the
    network alone, without refinement, closes in the slot's state channels at the target
    frame."""
    g = runtime.Generator.load(path)
    idx, jumps = g.timeline(g.num_frames)
    base = g.base[idx] + g._offsets(idx, jumps, g.dna["first_state"])
    theta0, ground0 = g.dna["first_heading"][0], g.dna["first_ground"]
    world = g.slot_world(base, theta0, ground0)[1]
    free = g._rollout_free(idx)
    rng = np.random.default_rng(1)
    shares = []
    for _ in range(count):
        s, frame = int(rng.integers(len(g.slots))), int(rng.integers(25, 65))
        direction = rng.normal(size=3)
        offset = 0.5 * g.slot_clamp[s, 0] * direction / np.linalg.norm(direction)
        plan = g._slot_plan([Target(g.slots[s], [frame], (world[frame, s] + offset)[None])], g.num_frames)
        moved = g._rollout_targets(idx, base, plan, theta0, ground0)[frame] - free[frame]
        shares.append(moved @ g.dev_state[:, g.slot_cols[3 * s:3 * s + 3]] @ offset / (offset @ offset))
    return float(np.mean(shares))


def test_the_target_feature_unit_decides_whether_the_network_reaches(built, tmp_path):
    """Target features in 0.1-span units are too small for the network to learn to use in
    a short training; in a finer unit, with the effector loss weighted up, the network
    alone closes much of an in-range offset (docs/engine.md, Known limits: that reach
    costs style distance, so it is not the default)."""
    clip, default_path, _, _ = built
    fine = str(tmp_path / "fine.mdna")
    train.build_generator(clip, fine, {**FAST, "target_unit": 0.005, "effector_weight": 400.0})
    assert runtime.Generator.load(fine).target_unit == pytest.approx(0.005 * clip.skeleton.span())
    assert _network_reach(fine) > _network_reach(default_path) + 0.2


def test_target_unit_must_be_positive():
    with pytest.raises(ValueError, match="target_unit"):
        train.resolve_settings({"target_unit": 0.0})


def test_a_stored_pull_gain_is_ignored(built, tmp_path):
    """Older version-2 files hold a ``pull_gain`` array; new builds write none and the
    runtime does not read it, so a file with a non-zero one plays exactly the same."""
    clip, path, _, _ = built
    arrays, meta = generator_file.load(path)
    assert "pull_gain" not in arrays
    other = str(tmp_path / "gain.mdna")
    gain = np.ones((3 * len(meta["network"]["slots"]), arrays["dev_basis"].shape[0]), np.float32)
    generator_file.save(other, dict(arrays, pull_gain=gain), meta)
    j = clip.skeleton.index("LeftHand")
    goal = clip.positions()[40, j] + np.array([0.0, 0.1, 0.1])
    a, b = (runtime.Generator.load(p).generate([Target(j, [40], goal)], refine=False) for p in (path, other))
    np.testing.assert_array_equal(a.rotations, b.rotations)


def test_far_moving_target_keeps_the_network_near_the_clip(built):
    """A target far out of reach on every frame: the network's offsets are clamped, so the
    long rollout stays finite and the body stays close to the clip (before refinement)."""
    clip, path, _, _ = built
    g = runtime.Generator.load(path)
    n = 4 * clip.num_frames
    j = clip.skeleton.index("RightHand")
    far = np.tile(clip.positions()[0, j] + np.array([5.0, 5.0, 5.0]), (n, 1))
    out = g.generate([Target(j, np.arange(n), far)], num_frames=n, refine=False)
    free = g.generate(num_frames=n, refine=False)
    assert np.all(np.isfinite(out.rotations))
    rel = lambda m: m.positions() - m.positions()[:, :1]  # noqa: E731
    gap = _cm_error(rel(out), rel(free), clip.skeleton)
    reach = 100 * metres_per_unit(clip.skeleton) * g.target_clamp
    assert gap.max() < 1.5 * reach, (gap.max(), reach)


def test_a_slot_is_asked_at_most_the_offset_it_was_trained_on(built):
    """Requests beyond a slot's clamp (a percentile of the offsets trained on there) make
    the same rollout as one at the clamp: far out of its training the network's response
    was a large, unclip-like move of the whole body; a shorter request is passed as is."""
    clip, path, _, _ = built
    g = runtime.Generator.load(path)
    j, frame = clip.skeleton.index("LeftHand"), 45
    clamp = float(g.slot_clamp[g.slots.index(j), 0])
    assert 0.0 < clamp < g.target_clamp
    # Offsets from where the rollout's DNA frame puts the hand (what the request measures).
    idx, jumps = g.timeline(g.num_frames)
    base = g.base[idx] + g._offsets(idx, jumps, g.dna["first_state"])
    at = g.slot_world(base, g.dna["first_heading"][0], g.dna["first_ground"])[1][frame, g.slots.index(j)]
    direction = np.array([0.0, 0.6, 0.8])

    def rollout(length):
        return g.generate([Target(j, [frame], at + length * direction)], refine=False).rotations

    np.testing.assert_allclose(rollout(2.0 * clamp), rollout(4.0 * clamp), atol=1e-6)
    assert not np.allclose(rollout(0.5 * clamp), rollout(2.0 * clamp), atol=1e-6)


def floating_root_clip():
    """``synthetic_clip`` under a still ``Root`` joint whose child ``Hips`` carries the
    motion in its local translation and rests 5 units away (as Bandai Namco's
    ``joint_Root -> Hips`` rests wherever the actor stood): that link is not a bone."""
    clip = synthetic_clip()
    sk = clip.skeleton
    names = ["Root"] + list(sk.names)
    parents = [-1] + [0 if p < 0 else p + 1 for p in sk.parents]
    rest_t = np.concatenate([[[0.0, 0.0, 0.0]], sk.rest_translations])
    rest_t[1] = [0.0, 5.0, 1.0]
    rest_r = np.concatenate([quat.identity((1,)), sk.rest_rotations])
    floating = Skeleton(names, parents, rest_r, rest_t, up_axis=sk.up_axis)
    F = clip.num_frames
    rots = np.concatenate([quat.identity((F, 1)), clip.rotations], axis=1)
    trans = np.concatenate([np.zeros((F, 1, 3)), clip.translations], axis=1)
    return clip, Motion(floating, rots, trans, clip.fps, "floating")


def test_a_moving_root_offset_is_not_measured_as_a_bone(tmp_path):
    """The DNA's centimetres and the network's target unit use the clip's body span: the
    5-unit rest offset of a moving link does not make the body look 2-3 times longer."""
    clip, floating = floating_root_clip()
    body = clip.skeleton.span()
    assert floating.skeleton.span() > body + 4.0
    assert floating.skeleton.span(floating.translations) == pytest.approx(body)
    assert metres_per_unit(floating.skeleton, floating.translations) == pytest.approx(metres_per_unit(clip.skeleton))
    path = str(tmp_path / "floating.mdna")
    train.build_generator(floating, path, {"steps": 20})
    g = runtime.Generator.load(path)
    assert g.target_unit == pytest.approx(0.1 * body)
    # The code error the DNA reports (which decides how many codes it keeps) is in body
    # centimetres: the same as measured here from the rebuilt poses.
    from motiondna.engine.generator import dna as dna_mod
    from motiondna.engine.motion import features
    layout = features.Layout(floating.skeleton.num_joints, features.moving_joints(floating))
    enc = features.encode(floating, layout=layout)
    jt = floating.translations.mean(axis=0)
    fit = dna_mod.fit_codes(floating, enc, layout, jt, max_codes=4)
    states = dna_mod.decode_codes(fit["codes"], fit["basis"], fit["mean"], fit["scale"])
    states[:, dna_mod.trajectory_columns(layout)] = enc.states[:, dna_mod.trajectory_columns(layout)]
    rebuilt = features.decode_states(states, layout, floating.skeleton, enc.headings[0], enc.ground[0], jt, 1.0)
    err = _cm_error(rebuilt.positions(), enc.positions, clip.skeleton).mean()
    assert err > 0.01 and fit["code_error_cm"] == pytest.approx(err, rel=1e-6)


def test_a_skeleton_without_length_is_refused_with_a_clear_message(tmp_path):
    """A single joint (e.g. a one-bone armature) has no span to measure centimetres by:
    the build says so instead of failing inside the DNA's SVD."""
    one = Skeleton(["Hips"], [-1], quat.identity((1,)), [[0.0, 0.0, 1.0]], up_axis=2)
    F = 20
    trans = np.tile([[0.0, 0.0, 1.0]], (F, 1, 1)) + np.linspace(0, 1, F)[:, None, None] * [1.0, 0.0, 0.0]
    clip = Motion(one, quat.identity((F, 1)), trans, 30.0, "one joint")
    with pytest.raises(ValueError, match="at least two joints apart"):
        train.build_generator(clip, str(tmp_path / "one.mdna"), {"steps": 5})
    assert not (tmp_path / "one.mdna").exists()


def test_a_clip_over_the_frame_limit_is_refused_before_training(tmp_path):
    clip = synthetic_clip(frames=train.MAX_CLIP_FRAMES + 1)
    with pytest.raises(ValueError, match=f"the clip has {train.MAX_CLIP_FRAMES + 1} frames: a build learns "
                                         f"from at most {train.MAX_CLIP_FRAMES}"):
        train.build_generator(clip, str(tmp_path / "long.mdna"), {"steps": 5})
    assert not (tmp_path / "long.mdna").exists()


def test_check_compatible_refuses_another_rest_pose_and_size():
    from motiondna.engine.io import generator_file as gf
    motion = synthetic_clip(10)
    meta = {"skeleton": motion.skeleton.to_dict()}
    sk = motion.skeleton
    assert gf.check_compatible(meta, sk) is None

    def variant(rest_rotations=None, rest_translations=None):
        return Skeleton(sk.names, sk.parents, sk.rest_rotations if rest_rotations is None else rest_rotations,
                        sk.rest_translations if rest_translations is None else rest_translations, sk.up_axis)

    moved_root = sk.rest_translations.copy()
    moved_root[0] += [5.0, 0.0, 0.0]  # where the rig stands does not matter
    assert gf.check_compatible(meta, variant(rest_translations=moved_root)) is None
    turned = sk.rest_rotations.copy()
    turned[3] = quat.mul(turned[3], quat.from_axis_angle([0, 0, 1], np.radians(30)))
    with pytest.raises(ValueError, match="bone .* rests turned 30 degrees"):
        gf.check_compatible(meta, variant(rest_rotations=turned))
    longer = sk.rest_translations.copy()
    longer[4] *= 1.5
    with pytest.raises(ValueError, match="rest pose differs"):
        gf.check_compatible(meta, variant(rest_translations=longer))
    with pytest.raises(ValueError, match="2 times the length"):
        gf.check_compatible(meta, variant(rest_translations=sk.rest_translations * 2.0))


@pytest.mark.parametrize("edit,match", [
    (lambda h: h.update(arrays=None), "'arrays' must be an object"),
    (lambda h: h["arrays"]["w2"].update(shape=[10 ** 6, 10 ** 6]), "would unpack to"),
    (lambda h: h["arrays"]["w2"].update(dtype="object"), "only plain numeric arrays"),
    (lambda h: h["meta"].update(fps=0), "'fps' is 0"),
    (lambda h: h["meta"]["network"].pop("decay"), "'network.decay' is None"),
    (lambda h: h["meta"]["network"].update(slots=[999]), "'network.slots' is \\[999\\]"),
    (lambda h: h["meta"].update(num_frames="125"), "'num_frames' is '125'"),
])
def test_crafted_files_are_refused_naming_the_field(built, tmp_path, edit, match):
    _, path, _, _ = built
    crafted = tmp_path / "crafted.mdna"
    _rewrite(path, crafted, edit_header=edit)
    with pytest.raises(fileformat.FormatError, match=match):
        runtime.Generator.load(str(crafted))


def test_a_decompression_bomb_is_refused_before_it_unpacks(built, tmp_path):
    """An array that packs small but declares or holds gigabytes is refused from the zip's
    directory, without decompressing it (the test would take minutes and gigabytes otherwise)."""
    import json
    _, path, _, _ = built
    bomb = tmp_path / "bomb.mdna"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        header = json.loads(zin.read("header.json"))
        header["arrays"]["w2"]["shape"] = [1]
        zout.writestr("header.json", json.dumps(header))
        for item in zin.namelist():
            if item == "w2.npy":
                with zout.open(item, "w", force_zip64=True) as f:
                    chunk = bytes(2 ** 24)
                    for _ in range(64):  # 1 GiB of zeros, a few MB packed
                        f.write(chunk)
            elif item != "header.json":
                zout.writestr(item, zin.read(item))
    assert bomb.stat().st_size < 20 * 2 ** 20
    with pytest.raises(fileformat.FormatError, match="would unpack to"):
        runtime.Generator.load(str(bomb))
