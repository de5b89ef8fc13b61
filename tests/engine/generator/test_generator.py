"""Per-clip generator: build (determinism, progress, cancel, settings), file format checks,
the source replayed exactly, variations under a seed (loops, end poses, any length),
targets reached, clips too short to recombine."""
import dataclasses
import json
import os
import zipfile

import numpy as np
import pytest
from synthetic import synthetic_clip

from motiondna.engine.generator import build, graph, runtime
from motiondna.engine.io import fileformat, generator_file
from motiondna.engine.motion import quat
from motiondna.engine.motion.metrics import metres_per_unit
from motiondna.engine.motion.skeleton import Motion, Skeleton
from motiondna.engine.motion.targets import Target
from motiondna.engine.refine import refinement

from conftest import MOTIONS


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    clip = synthetic_clip()
    path = str(tmp_path_factory.mktemp("gen") / "synthetic.mdna")
    events = []
    info = build.build_generator(clip, path, progress=lambda f, msg="", **kw: events.append((f, msg, kw)))
    return clip, path, info, events


@pytest.fixture
def gen(built):
    return runtime.Generator.load(built[1])


def test_build_reports_progress_and_summary(built):
    clip, path, info, events = built
    assert {"path", "build_seconds", "total_seconds", "size_bytes", "smooth_jumps"} <= set(info)
    assert 0 < info["size_bytes"] <= 1_000_000 and info["size_bytes"] == os.path.getsize(path)
    assert info["smooth_jumps"] > 0 and info["build_seconds"] > 0
    fractions = [f for f, _, _ in events]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert all(msg for _, msg, _ in events)


def test_build_is_deterministic(built, tmp_path):
    clip, path, _, _ = built
    other = str(tmp_path / "again.mdna")
    build.build_generator(clip, other)
    (a, meta_a), (b, meta_b) = generator_file.load(path), generator_file.load(other)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert meta_a["graph"] == meta_b["graph"] and meta_a["dna_info"] == meta_b["dna_info"]


def test_cancel_raises_cancelled(tmp_path):
    calls = []

    def stop():
        calls.append(1)
        return len(calls) >= 2

    with pytest.raises(build.Cancelled):
        build.build_generator(synthetic_clip(), str(tmp_path / "x.mdna"), should_stop=stop)
    assert not os.path.exists(tmp_path / "x.mdna")


def test_unknown_setting_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown generator setting"):
        build.build_generator(synthetic_clip(), str(tmp_path / "x.mdna"), {"steps": 3})
    with pytest.raises(ValueError, match=r"unknown generator setting\(s\): steps \(known: candidates, half_life_s, "):
        build.resolve_settings({"steps": 3})
    assert not (tmp_path / "x.mdna").exists()


def test_settings_are_typed_checked_and_stored_as_a_dict(built, tmp_path):
    """A dict (as JSON gives it) becomes ``Settings`` of the declared types; the file keeps
    the resolved settings as a plain dict, and they take effect."""
    s = build.resolve_settings({"candidates": 6.0, "half_life_s": 1})
    assert isinstance(s, build.Settings) and s.candidates == 6 and isinstance(s.candidates, int)
    assert isinstance(s.half_life_s, float) and s.half_life_s == 1.0 and s.tolerance_s == build.Settings().tolerance_s
    assert build.resolve_settings(None) == build.Settings() and build.resolve_settings(s) is s
    assert set(build.SETTING_NAMES) == {"tolerance_s", "candidates", "half_life_s", "mean_stretch_s"}
    for bad, match in (({"candidates": "many"}, "settings.candidates must be int"),
                       ({"candidates": True}, "settings.candidates must be int"),
                       ({"candidates": 2.5}, "settings.candidates must be int"),
                       ({"half_life_s": -1}, "settings.half_life_s must be positive"),
                       ({"tolerance_s": 0}, "settings.tolerance_s must be positive"),
                       ({"mean_stretch_s": float("nan")}, "settings.mean_stretch_s must be positive")):
        with pytest.raises(ValueError, match=match):
            build.resolve_settings(bad)
    clip, path, _, _ = built
    assert generator_file.load(path)[1]["settings"] == dataclasses.asdict(build.Settings())
    other = str(tmp_path / "other.mdna")
    build.build_generator(clip, other, {"candidates": 3, "half_life_s": 0.2})
    arrays, meta = generator_file.load(other)
    assert arrays["jumps"].shape == (clip.num_frames, 3) and meta["settings"]["candidates"] == 3
    assert runtime.Generator.load(other).half_life_s == pytest.approx(0.2)


def test_round_trip_keeps_the_clip_the_graph_and_the_dna(built, gen):
    clip, path, info, _ = built
    g = gen
    assert g.num_frames == clip.num_frames and g.fps == clip.fps
    assert g.skeleton.names == clip.skeleton.names
    assert g.meta["source_hash"] == fileformat.motion_hash(clip)
    dna = g.meta["dna_info"]
    assert {"speed_mean", "speed_p95", "rhythm_period_s", "effectors", "moving_joints", "smooth_jumps"} <= set(dna)
    assert dna["smooth_jumps"] == info["smooth_jumps"] == int(np.sum(g.jump_costs <= g.tolerance))
    assert abs(dna["rhythm_period_s"] - 0.5) < 0.1  # arms and legs swing twice a second in speed
    assert dna["speed_mean"] == pytest.approx(0.8 * metres_per_unit(clip.skeleton, clip.translations), rel=0.05)
    assert g.jumps.shape == g.jump_costs.shape == (clip.num_frames, graph.CANDIDATES)
    assert np.all((g.jumps >= 1) & (g.jumps < clip.num_frames)) and g.tolerance > 0


def _rewrite(src, dst, edit_header=None, drop=None):
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


def test_corrupt_truncated_newer_older_and_foreign_files_are_refused(built, tmp_path):
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
    older = tmp_path / "older.mdna"  # a version-2 file: a DNA replay and a network, not the clip
    _rewrite(path, older, edit_header=lambda h: (h.update(format_version=2), h["meta"].update(format_version=2)))
    with pytest.raises(fileformat.FormatError, match="older than this add-on reads"):
        runtime.Generator.load(str(older))
    corrupt = tmp_path / "corrupt.mdna"
    _rewrite(path, corrupt, edit_header=lambda h: h["arrays"]["jumps"].update(sha256="0" * 64))
    with pytest.raises(fileformat.FormatError, match="corrupt"):
        runtime.Generator.load(str(corrupt))
    missing = tmp_path / "missing.mdna"
    _rewrite(path, missing, edit_header=lambda h: h["arrays"].pop("jump_costs"), drop="jump_costs.npy")
    with pytest.raises(fileformat.FormatError, match="missing jump_costs"):
        runtime.Generator.load(str(missing))
    clip = tmp_path / "clip.mdna"
    fileformat.save_motion(str(clip), synthetic_clip(10))
    with pytest.raises(fileformat.FormatError, match="expected a 'motiondna.generator'"):
        runtime.Generator.load(str(clip))


def test_jumps_outside_the_clip_are_refused(built, tmp_path):
    _, path, _, _ = built
    arrays, meta = generator_file.load(path)
    bad = str(tmp_path / "bad.mdna")
    jumps = arrays["jumps"].copy()
    jumps[3, 0] = len(jumps)
    generator_file.save(bad, dict(arrays, jumps=jumps), meta)
    with pytest.raises(fileformat.FormatError, match="motion graph jumps land outside the clip"):
        runtime.Generator.load(bad)


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


def test_without_targets_or_seed_the_source_plays_exactly(built, gen):
    clip, _, _, _ = built
    out = gen.generate()
    assert out.num_frames == clip.num_frames
    np.testing.assert_allclose(out.rotations, clip.rotations, atol=1e-6)
    assert _cm_error(out.positions(), clip.positions(), clip.skeleton).max() < 1e-3
    part = gen.generate(start=20, num_frames=30)     # a stretch of the clip is that stretch
    np.testing.assert_allclose(part.rotations, clip.rotations[20:50], atol=1e-6)


def test_a_seed_gives_a_smooth_variation_of_the_clip_s_own_material(built, gen):
    clip, _, _, _ = built
    n = 3 * clip.num_frames
    a, again, b = gen.generate(seed=1, num_frames=n), gen.generate(seed=1, num_frames=n), gen.generate(seed=2, num_frames=n)
    np.testing.assert_array_equal(a.rotations, again.rotations)            # a seed is a variation
    assert not np.allclose(a.rotations, b.rotations)                       # another seed, another one
    idx, jumps, _ = gen.timeline(n, seed=1)
    assert len(jumps) >= 2 and idx[0] == 0                                 # it recombines, from the first pose
    assert _cm_error(a.positions()[0], clip.positions()[0], clip.skeleton).max() < 1e-3
    # Jumps are blended: no frame-to-frame step much larger than the clip's own.
    rel = lambda m: m.positions() - m.positions()[:, :1]                    # noqa: E731
    step = _cm_error(rel(a)[1:], rel(a)[:-1], clip.skeleton).max()
    source_step = _cm_error(rel(clip)[1:], rel(clip)[:-1], clip.skeleton).max()
    assert step < 1.5 * source_step, (step, source_step)


def test_generate_reports_the_refinement_s_progress(built, gen):
    clip, _, _, _ = built
    pos = gen.generate(num_frames=60).positions()
    hand = clip.skeleton.index("LeftHand")
    targets = [Target(hand, [f], pos[f, hand][None] + 0.05) for f in (10, 30, 50)]
    seen = []
    gen.generate(targets=targets, num_frames=60, progress=seen.append)
    assert seen and seen == sorted(seen) and seen[-1] == 1.0 and 0.0 < seen[0] < 1.0
    assert len(seen) <= (refinement.PASSES + 1) * len(targets)  # once per group and pass


def test_long_run_is_finite_and_keeps_moving(built, gen):
    clip, _, _, _ = built
    out = gen.generate(num_frames=10 * clip.num_frames)       # no seed: the clip, then the walk of seed 0
    assert out.num_frames == 10 * clip.num_frames
    np.testing.assert_allclose(out.rotations[:clip.num_frames], clip.rotations, atol=1e-6)
    pos = out.positions()
    assert np.all(np.isfinite(pos))
    rel = pos - pos[:, :1]
    last = rel[-clip.num_frames:]
    assert last.std(axis=0).mean() > 0.3 * (rel[:clip.num_frames].std(axis=0).mean())  # not frozen


def _pose_turn(a, b):
    """Largest turn (radians) between two frames' local joint rotations, the root's left out."""
    return float(np.max(np.linalg.norm(quat.to_scaled_axis(quat.inv_mul(a[1:], b[1:])), axis=-1)))


def test_a_loop_flows_into_its_first_frame_and_an_end_pose_is_reached(built, gen):
    clip, _, _, _ = built
    n = 2 * clip.num_frames
    source_step = max(_pose_turn(clip.rotations[t], clip.rotations[t + 1]) for t in range(clip.num_frames - 1))
    loop = gen.generate(seed=4, num_frames=n, loop=True).rotations
    assert _pose_turn(loop[-1], loop[0]) < 1.5 * source_step     # the seam is a step like the clip's own
    end = gen.generate(seed=4, num_frames=n, end_frame=30).rotations
    assert _pose_turn(end[-1], clip.rotations[30]) < 1e-3
    with pytest.raises(ValueError, match="either loops or ends"):
        gen.generate(seed=4, loop=True, end_frame=30)


def test_bad_generate_arguments_are_refused(gen):
    for kwargs, match in ((dict(num_frames=0), "num_frames must be a whole number from 1 to 200000"),
                          (dict(seed=-1), "seed must be a whole number"),
                          (dict(seed=True), "seed must be a whole number"),
                          (dict(start=gen.num_frames), "start must be a source frame"),
                          (dict(seed=1, end_frame=1.5), "end_frame must be a source frame")):
        with pytest.raises(ValueError, match=match):
            gen.generate(**kwargs)
    with pytest.raises(ValueError, match="frames outside 0..89"):
        gen.generate([Target(8, [95], np.zeros(3))])
    with pytest.raises(ValueError, match="target joint index 99"):
        gen.generate([Target(99, [5], np.zeros(3))])


def test_targets_are_reached(built, gen):
    clip, _, _, _ = built
    src = clip.positions()
    rng = np.random.default_rng(3)
    cm = 100 * metres_per_unit(clip.skeleton)
    hands = [clip.skeleton.index("LeftHand"), clip.skeleton.index("RightHand")]
    for joint, frame in zip(hands, (30, 55)):
        d = rng.normal(size=3)
        goal = src[frame, joint] + d / np.linalg.norm(d) * 15 / cm
        for plan in (True, False):
            out = gen.generate([Target(joint, [frame], goal)], plan=plan)
            assert _cm_error(out.positions()[frame, joint], goal, clip.skeleton) < 1.0
            assert np.all(np.isfinite(out.rotations))
        # With the timeline left as it is, the edit leaves the source as it was outside
        # the target's window.
        np.testing.assert_allclose(out.rotations[frame + 30:], clip.rotations[frame + 30:], atol=1e-6)
    # A moving target (a frame range) is followed on every frame.
    j = hands[0]
    frames = np.arange(40, 50)
    path_ = src[frames, j] + np.array([0.0, 0.05, 0.05])
    out = gen.generate([Target(j, frames, path_)])
    assert _cm_error(out.positions()[frames, j], path_, clip.skeleton).max() < 1.0
    # Without refinement the targets change nothing: the motion is the source.
    np.testing.assert_allclose(gen.generate([Target(j, frames, path_)], refine=False).rotations, clip.rotations, atol=1e-6)


def test_targets_on_a_variation_are_reached(built, gen):
    clip, _, _, _ = built
    n = 3 * clip.num_frames
    j = clip.skeleton.index("RightHand")
    free = gen.generate(seed=5, num_frames=n).positions()
    frames = np.arange(100, 160)
    path_ = free[frames, j] + np.array([0.05, 0.0, 0.08])
    targets = [Target(j, frames, path_), Target(j, [200], free[200, j] + 0.1)]
    # The event at frame 200 steers the timeline from 2 s before it, under the moving
    # target (which the planner does not steer for): the refinement then follows a path
    # drawn on another timeline, to within 2 cm; on the free run's own timeline, 1 cm.
    for plan, tolerance_cm in ((False, 1.0), (True, 2.0)):
        pos = gen.generate(targets, seed=5, num_frames=n, plan=plan).positions()
        assert _cm_error(pos[frames, j], path_, clip.skeleton).max() < tolerance_cm
        assert _cm_error(pos[200, j], free[200, j] + 0.1, clip.skeleton) < 1.0


@pytest.mark.parametrize("frames", [build.MIN_CLIP_FRAMES, 8, 12])
def test_a_clip_too_short_to_recombine_still_plays_variations_and_long_runs(frames, tmp_path):
    """Short clips have few or no jumps (every landing is too close to play on from): a
    walk that reaches the last frame with none starts the clip over, blended."""
    clip = synthetic_clip(frames)
    path = str(tmp_path / "short.mdna")
    build.build_generator(clip, path)
    g = runtime.Generator.load(path)
    np.testing.assert_allclose(g.generate().rotations, clip.rotations, atol=1e-6)
    for kwargs in (dict(num_frames=5 * frames), dict(seed=1, num_frames=5 * frames),
                   dict(seed=2, num_frames=3 * frames, loop=True), dict(seed=3, num_frames=3 * frames, end_frame=1)):
        out = g.generate(**kwargs)
        assert out.num_frames == kwargs["num_frames"] and np.all(np.isfinite(out.positions()))
    j = clip.skeleton.index("LeftHand")
    goal = clip.positions()[frames - 1, j] + 0.03
    out = g.generate([Target(j, np.arange(frames), np.tile(goal, (frames, 1)))])
    assert np.all(np.isfinite(out.rotations))


def test_a_clip_below_the_minimum_is_refused(tmp_path):
    with pytest.raises(ValueError, match="needs at least 4"):
        build.build_generator(synthetic_clip(build.MIN_CLIP_FRAMES - 1), str(tmp_path / "x.mdna"))


@pytest.mark.skipif(not os.path.isdir(MOTIONS), reason="../shared/motions is absent")
def test_plays_a_shared_mocap_clip_exactly(tmp_path):
    from motiondna.engine.io.bvh import read_bvh
    clip = read_bvh(os.path.join(MOTIONS, "cmu_3dsmax", "jumping_jacks.bvh")).to_motion()
    path = str(tmp_path / "jj.mdna")
    build.build_generator(clip, path)
    g = runtime.Generator.load(path)
    err = _cm_error(g.generate().positions(), clip.positions(), clip.skeleton)
    assert err.max() < 0.01, err.max()
    assert g.meta["dna_info"]["smooth_jumps"] > 0


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


def test_a_moving_root_offset_is_not_measured_as_a_bone(built, tmp_path):
    """The graph's metres use the clip's body span: the 5-unit rest offset of a moving link
    does not make the body look 2-3 times longer (and every jump cheaper)."""
    clip, floating = floating_root_clip()
    body = clip.skeleton.span()
    assert floating.skeleton.span() > body + 4.0
    assert floating.skeleton.span(floating.translations) == pytest.approx(body)
    assert metres_per_unit(floating.skeleton, floating.translations) == pytest.approx(metres_per_unit(clip.skeleton))
    path = str(tmp_path / "floating.mdna")
    build.build_generator(floating, path)
    g = runtime.Generator.load(path)
    plain = runtime.Generator.load(built[1])
    # Not equal (the still Root makes the walk root-relative), but not 2-3 times apart either.
    assert g.layout.moving and 0.67 < g.tolerance / plain.tolerance < 1.5
    np.testing.assert_allclose(g.generate().positions(), floating.positions(), atol=1e-4)


def test_a_skeleton_without_length_is_refused_with_a_clear_message(tmp_path):
    """A single joint (e.g. a one-bone armature) has no span to measure metres by: the
    build says so instead of failing inside the graph."""
    one = Skeleton(["Hips"], [-1], quat.identity((1,)), [[0.0, 0.0, 1.0]], up_axis=2)
    F = 20
    trans = np.tile([[0.0, 0.0, 1.0]], (F, 1, 1)) + np.linspace(0, 1, F)[:, None, None] * [1.0, 0.0, 0.0]
    clip = Motion(one, quat.identity((F, 1)), trans, 30.0, "one joint")
    with pytest.raises(ValueError, match="at least two joints apart"):
        build.build_generator(clip, str(tmp_path / "one.mdna"))
    assert not (tmp_path / "one.mdna").exists()


def test_a_clip_over_the_frame_limit_is_refused_before_building(tmp_path):
    clip = synthetic_clip(frames=build.MAX_CLIP_FRAMES + 1)
    with pytest.raises(ValueError, match=f"the clip has {build.MAX_CLIP_FRAMES + 1} frames: a build takes "
                                         f"at most {build.MAX_CLIP_FRAMES}"):
        build.build_generator(clip, str(tmp_path / "long.mdna"))
    assert not (tmp_path / "long.mdna").exists()


def test_check_compatible_refuses_another_rest_pose_and_size():
    motion = synthetic_clip(10)
    meta = {"skeleton": motion.skeleton.to_dict()}
    sk = motion.skeleton
    assert generator_file.check_compatible(meta, sk) is None

    def variant(rest_rotations=None, rest_translations=None):
        return Skeleton(sk.names, sk.parents, sk.rest_rotations if rest_rotations is None else rest_rotations,
                        sk.rest_translations if rest_translations is None else rest_translations, sk.up_axis)

    moved_root = sk.rest_translations.copy()
    moved_root[0] += [5.0, 0.0, 0.0]  # where the rig stands does not matter
    assert generator_file.check_compatible(meta, variant(rest_translations=moved_root)) is None
    turned = sk.rest_rotations.copy()
    turned[3] = quat.mul(turned[3], quat.from_axis_angle([0, 0, 1], np.radians(30)))
    with pytest.raises(ValueError, match="bone .* rests turned 30 degrees"):
        generator_file.check_compatible(meta, variant(rest_rotations=turned))
    longer = sk.rest_translations.copy()
    longer[4] *= 1.5
    with pytest.raises(ValueError, match="rest pose differs"):
        generator_file.check_compatible(meta, variant(rest_translations=longer))
    with pytest.raises(ValueError, match="2 times the length"):
        generator_file.check_compatible(meta, variant(rest_translations=sk.rest_translations * 2.0))


@pytest.mark.parametrize("edit,match", [
    (lambda h: h.update(arrays=None), "'arrays' must be an object"),
    (lambda h: h["arrays"]["clip_rotations"].update(shape=[10 ** 6, 10 ** 6]), "would unpack to"),
    (lambda h: h["arrays"]["jumps"].update(dtype="object"), "only plain numeric arrays"),
    (lambda h: h["meta"].update(fps=0), "'fps' is 0"),
    (lambda h: h["meta"]["graph"].pop("tolerance"), "'graph.tolerance' is None"),
    (lambda h: h["meta"]["layout"].update(moving=[999]), "'layout.moving' is \\[999\\]"),
    (lambda h: h["meta"].update(num_frames="90"), "'num_frames' is '90'"),
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
    _, path, _, _ = built
    bomb = tmp_path / "bomb.mdna"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        header = json.loads(zin.read("header.json"))
        header["arrays"]["clip_rotations"]["shape"] = [1]
        zout.writestr("header.json", json.dumps(header))
        for item in zin.namelist():
            if item == "clip_rotations.npy":
                with zout.open(item, "w", force_zip64=True) as f:
                    chunk = bytes(2 ** 24)
                    for _ in range(64):  # 1 GiB of zeros, a few MB packed
                        f.write(chunk)
            elif item != "header.json":
                zout.writestr(item, zin.read(item))
    assert bomb.stat().st_size < 20 * 2 ** 20
    with pytest.raises(fileformat.FormatError, match="would unpack to"):
        runtime.Generator.load(str(bomb))


def test_a_creature_generator_edits_any_joint_and_plays_variations(tmp_path):
    from synthetic import creature_clip
    clip = creature_clip(legs=8, tail_bones=16, frames=150)
    sk = clip.skeleton
    path = str(tmp_path / "creature.mdna")
    build.build_generator(clip, path)
    g = runtime.Generator.load(path)
    assert len(g.meta["dna_info"]["contacts"]) == 8
    pos = clip.positions()
    targets = [Target(sk.index("seg15"), [52], pos[52, sk.index("seg15")][None] + [0.0, 0.1, 0.05]),
               Target(sk.index("limb3_tip"), [52], pos[52, sk.index("limb3_tip")][None] + [0.0, 0.06, 0.0])]
    out = g.generate(targets=targets)
    got = out.positions()
    for t in targets:
        assert np.linalg.norm(got[52, t.joint] - t.positions[0]) < 1e-3
    np.testing.assert_allclose(out.rotations[:10], clip.rotations[:10], atol=1e-6)  # the clip where nothing is asked
    for seed in (0, 1):
        var = g.generate(num_frames=3 * clip.num_frames, seed=seed)
        assert var.num_frames == 450 and np.isfinite(var.rotations).all() and np.isfinite(var.translations).all()
