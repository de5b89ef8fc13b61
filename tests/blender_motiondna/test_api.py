"""The public Python API (blender_motiondna.api) in-process with the bpy module, as a
technical artist's script uses it: one small generator for the whole module."""
import dataclasses
import os

import numpy as np
import pytest

from conftest import CLIP


@pytest.fixture(scope="module")
def api():
    import bpy

    import motiondna
    from motiondna.blender_motiondna import api as api_module
    registered = not hasattr(bpy.types.Object, "mdna")
    if registered:
        motiondna.register()
    yield api_module
    if registered:
        motiondna.unregister()


@pytest.fixture(scope="module")
def built(api, tmp_path_factory):
    """An imported clip with a generator, saved to .mdna."""
    from motiondna.blender_motiondna.cli.common import reset_scene
    reset_scene()
    arm = api.import_bvh(CLIP)
    events = []
    info = api.build_generator(arm, on_progress=events.append)
    path = tmp_path_factory.mktemp("api") / "jj.mdna"
    api.save_generator(arm, path)
    return arm.name, info, events, str(path)


@pytest.fixture
def arm(api, built):
    """A fresh scene with the clip and the module's generator loaded onto it."""
    from motiondna.blender_motiondna.cli.common import reset_scene
    reset_scene()
    armature = api.import_bvh(CLIP)
    api.load_generator(armature, built[3])
    return armature


def test_build_reports_progress_and_stores_the_generator(api, built):
    _, info, events, path = built
    assert info["size_bytes"] == os.path.getsize(path) and info["smooth_jumps"] > 0 and info["build_seconds"] > 0
    fractions = [e["fraction"] for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    from motiondna.engine.generator import build
    assert api.generator_file_info(path)["settings"] == dataclasses.asdict(build.Settings())


def test_build_takes_graph_settings(api, arm):
    from motiondna.engine.generator import build
    info = api.build_generator(arm, settings={"candidates": 4, "half_life_s": 0.12})
    assert info["size_bytes"] > 0
    assert api.generator(arm).runtime.jumps.shape[1] == 4
    assert api.generator(arm).runtime.half_life_s == pytest.approx(0.12)
    api.build_generator(arm, settings=build.Settings(tolerance_s=0.1))      # a Settings works too
    assert api.generator(arm).runtime.meta["settings"]["tolerance_s"] == pytest.approx(0.1)


def test_targets_add_list_remove_clear(api, arm):
    assert api.has_generator(arm) and api.list_targets(arm) == []
    a = api.add_target(arm, "RightWrist", frame=40, location=(0.1, 0.2, 1.5))
    b = api.add_target(arm, "LeftAnkle", frame=20)                  # at the joint itself
    assert set(api.list_targets(arm)) == {a, b}
    assert (a.mdna_target.joint, a.mdna_target.frame) == ("RightWrist", 40)
    assert tuple(a.location) == pytest.approx((0.1, 0.2, 1.5))
    api.remove_target(a)
    assert api.list_targets(arm) == [b]
    assert api.clear_targets(arm) == 1 and api.list_targets(arm) == []
    with pytest.raises(ValueError, match="no bone named 'Tail'"):
        api.add_target(arm, "Tail")


def test_generate_makes_a_new_action_that_reaches_the_target(api, arm):
    import bpy
    source = arm.animation_data.action
    keys_before = _keys(source, arm)
    empty = api.add_target(arm, "RightWrist", frame=61)
    empty.location.z += 0.3
    action = api.generate(arm)
    assert action is not source and action.name == f"{source.name}.mdna"
    assert arm.animation_data.action is action
    assert np.array_equal(_keys(source, arm), keys_before)          # the source is never modified
    bpy.context.scene.frame_set(61)
    reach = (arm.matrix_world @ arm.pose.bones["RightWrist"].head - empty.matrix_world.translation).length
    assert reach < 0.01
    second = api.generate(arm)
    assert second is not action                                     # a new action each time ...
    assert api.generate(arm, new_action=False) is second            # ... unless asked to reuse
    assert api.revert(arm) is source and arm.animation_data.action is source
    assert api.apply_result(arm) is second and arm.animation_data.action is second


def test_load_generator_refuses_a_rig_that_does_not_fit(api, built):
    import bpy

    from motiondna.blender_motiondna.cli.common import reset_scene
    reset_scene()
    bpy.ops.object.armature_add()
    other = bpy.context.object
    with pytest.raises(ValueError, match="missing joint"):
        api.load_generator(other, built[3])
    assert not api.has_generator(other)


def test_generator_runtime_and_file_info(api, arm, built):
    gen = api.generator(arm)
    motion = gen.generate(num_frames=200)                           # longer than the clip
    assert motion.num_frames == 200 and np.isfinite(motion.rotations).all()
    np.testing.assert_allclose(motion.rotations[:125], gen.generate().rotations, atol=1e-6)   # the clip first
    info = api.generator_file_info(built[3])
    assert info["frames"] == gen.num_frames == 125 and info["skeleton"]["names"] == gen.joints
    assert "RightWrist" in info["dna"]["effectors"] and info["dna"]["speed_mean_m_s"] >= 0
    assert info["dna"]["contacts"] == ["LeftToe", "RightToe"]  # the joints the clip stands on
    assert info["graph"]["smooth_jumps"] > 0 and info["graph"]["tolerance_m"] > 0 and info["graph"]["half_life_s"] > 0
    assert info["build"]["build_seconds"] > 0 and "network" not in info


def test_bake_blend_saves_a_regenerated_copy(api, arm, tmp_path):
    import bpy
    api.add_target(arm, "LeftWrist", frame=30).location.x += 0.2
    shot = tmp_path / "shot.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(shot))
    result = api.bake_blend(shot, out=tmp_path / "baked.blend")
    (baked,) = result["armatures"]
    assert baked["targets"] == 1 and baked["max_error"] < 0.01 and baked["action"].endswith(".mdna")
    assert os.path.isfile(result["out"])
    with pytest.raises(ValueError, match="no such file"):
        api.bake_blend(tmp_path / "missing.blend", in_place=True)
    with pytest.raises(ValueError, match="say where"):
        api.bake_blend(shot)


def test_public_functions_are_documented(api):
    for name in api.__all__:
        doc = getattr(api, name).__doc__
        assert doc and len(doc.split()) >= 5, name


def _keys(action, obj):
    from motiondna.blender_motiondna.io import action_compat
    curves = action_compat.action_fcurves(action, obj)
    return np.array([k.co[1] for c in curves for k in c.keyframe_points])


def test_the_one_line_import_is_this_api(api):
    from motiondna import api as one_line
    assert one_line is api


def world_joint(arm, motion, joint, frame):
    """World position of ``joint`` in ``motion`` (armature space) at scene ``frame``."""
    m = np.array(arm.matrix_world)
    local = motion.positions()[frame - arm.mdna.clip_frame_start, motion.skeleton.index(joint)]
    return m[:3, :3] @ local + m[:3, 3]


def test_generator_targets_are_bone_names_world_positions_and_scene_frames(api, arm):
    gen = api.generator(arm)
    frame = gen.first_frame + 60
    free = gen.generate()
    goal = world_joint(arm, free, "RightWrist", frame) + np.array([0.0, 0.0, 0.2 * arm.dimensions.z / 1.7])
    moved = gen.generate(targets=[{"joint": "RightWrist", "frame": frame, "location": tuple(goal)}])
    assert np.linalg.norm(world_joint(arm, moved, "RightWrist", frame) - goal) < 0.01 * arm.dimensions.z
    empty = api.add_target(arm, "RightWrist", frame=frame, location=tuple(goal))
    from_empty = gen.generate(targets=[empty])  # a target empty says the same thing
    np.testing.assert_allclose(from_empty.rotations, moved.rotations, atol=1e-6)  # float32 matrices


@pytest.mark.parametrize("spec,match", [
    ({"joint": "Tail", "frame": 10, "location": (0, 0, 0)}, "no joint named 'Tail'"),
    ({"joint": "RightWrist", "frame": 100000, "location": (0, 0, 0)}, r"frame 100000 is outside the clip \(1\.\.125\)"),
    ({"joint": "RightWrist", "frame": 10, "location": (0, 0)}, "'frame' \\+ 'location'"),
    ({"joint": "RightWrist", "frame": 10.5, "location": (0, 0, 0)}, "frames are whole numbers of scene frames"),
    ((8, 10, (0, 0, 0)), "needs a 'joint'"),
])
def test_generator_targets_that_cannot_apply_are_refused(api, arm, spec, match):
    with pytest.raises(ValueError, match=match):
        api.generator(arm).generate(targets=[spec])


def test_a_disabled_addon_says_how_to_enable_it(api, arm):
    import motiondna
    motiondna.unregister()
    try:
        with pytest.raises(api.NotEnabled, match=r"not enabled.*addon_utils.enable\('motiondna'"):
            api.has_generator(arm)
    finally:
        motiondna.register()
    assert api.has_generator(arm)


def test_load_generator_refuses_the_same_joints_on_another_rest_pose(api, built, tmp_path):
    """The rig exported to FBX and imported again keeps its joint names but not its bone
    axes: the generator's rotations would pose it wrongly, so loading says so."""
    import bpy

    from motiondna.blender_motiondna.cli.common import reset_scene
    reset_scene()
    arm = api.import_bvh(CLIP)
    bpy.ops.object.select_all(action='DESELECT')
    arm.select_set(True)
    bpy.context.view_layer.objects.active = arm
    path = str(tmp_path / "rig.fbx")
    bpy.ops.export_scene.fbx(filepath=path, use_selection=True, add_leaf_bones=False, bake_anim=False)
    reset_scene()
    bpy.ops.import_scene.fbx(filepath=path)
    (again,) = [o for o in bpy.data.objects if o.type == 'ARMATURE']
    with pytest.raises(ValueError, match="does not fit this generator: (bone '.*' rests turned|its rest pose)"):
        api.load_generator(again, built[3])
    assert not api.has_generator(again)


def test_import_motion_reads_what_blender_reads(api, tmp_path):
    from motiondna.blender_motiondna.cli.common import reset_scene
    reset_scene()
    arm = api.import_motion(CLIP)
    assert arm.type == 'ARMATURE' and arm.animation_data.action is not None
    with pytest.raises(ValueError, match="unknown option"):
        api.import_motion(CLIP, axis_up="Z")  # a BVH takes up_axis and scale


def test_saving_a_damaged_stored_generator_keeps_the_existing_file(api, arm, tmp_path):
    import hashlib
    good = tmp_path / "keep.mdna"
    api.save_generator(arm, good)
    before = hashlib.sha256(good.read_bytes()).hexdigest()
    stored = arm.mdna.generator_data
    for damaged in ("not base64 !!", "QUJDRA=="):  # bad base64; base64 of bytes that are no generator
        arm.mdna.generator_data = damaged
        with pytest.raises(ValueError, match="damaged|cannot be read"):
            api.save_generator(arm, good)
        assert hashlib.sha256(good.read_bytes()).hexdigest() == before
    arm.mdna.generator_data = stored
    assert sorted(os.listdir(tmp_path)) == ["keep.mdna"]  # no temporary left behind


def test_a_frame_range_outside_the_action_is_refused(api, arm):
    with pytest.raises(ValueError, match="reaches outside the action"):
        api.build_generator(arm, frame_range=(1000, 2000))


@pytest.mark.parametrize("settings,match", [({"bogus": 1}, "unknown generator setting"),
                                            ({"steps": 300}, r"unknown generator setting\(s\): steps"),
                                            ({"half_life_s": -1}, "settings.half_life_s must be positive"),
                                            ({"tolerance_s": 0}, "settings.tolerance_s must be positive"),
                                            ({"candidates": "many"}, "settings.candidates must be int")])
def test_bad_build_settings_are_refused_before_the_worker_runs(api, arm, settings, match, monkeypatch):
    from motiondna.blender_motiondna import worker_client
    monkeypatch.setattr(worker_client, "get_client", lambda *a: pytest.fail("the worker was asked"))
    with pytest.raises(ValueError, match=match):
        api.build_generator(arm, settings=settings)


def test_load_generator_refuses_a_scene_at_another_frame_rate(api, built):
    import bpy

    from motiondna.blender_motiondna.cli.common import reset_scene
    reset_scene()
    arm = api.import_bvh(CLIP)
    bpy.context.scene.render.fps, bpy.context.scene.render.fps_base = 120, 1.0
    with pytest.raises(ValueError, match="built at 30 fps and scene .* runs at 120 fps: its motion would play 4x too fast"):
        api.load_generator(arm, built[3])
    assert not api.has_generator(arm)


def test_an_unreachable_target_is_marked_with_its_miss_and_the_body_stays_down(api, arm):
    """A wrist target 3 body heights up: the hips rise no higher than the clip ever has
    them, the miss is stored on the empty (the panel shows it) and cleared once reached."""
    import numpy as np
    height = arm.dimensions.z
    far = api.add_target(arm, "RightWrist", frame=61)
    far.location.z += 3 * height
    api.generate(arm)
    hips = arm.animation_data.action
    source = arm.mdna.source_action
    from motiondna.blender_motiondna.io import armature_io
    out, src = armature_io.read_motion(arm, action=hips), armature_io.read_motion(arm, action=source)
    root = out.skeleton.index("Hips")
    up = out.skeleton.up_axis
    span = out.skeleton.span(src.translations)
    from motiondna.engine.refine.refinement import ROOT_RISE_MARGIN
    assert out.translations[:, root, up].max() <= src.translations[:, root, up].max() + (ROOT_RISE_MARGIN + 0.001) * span
    assert far.mdna_target.residual_cm > 100
    far.location.z -= 3 * height - 0.1 * height / 1.7
    api.generate(arm, new_action=False)
    assert np.isfinite(far.mdna_target.residual_cm)
    assert far.mdna_target.residual_cm == 0.0


def _wrist_world(api, arm, frame):
    import bpy
    bpy.context.scene.frame_set(frame)
    return np.array(arm.matrix_world @ arm.pose.bones["RightWrist"].head)


def test_play_live_over_a_schedule_bakes_a_new_action(api, arm):
    """A schedule as a dict and as pairs: at step 10 a wrist target for step 40 (raised
    25 cm); at step 60 it is replaced by one held "now and on". The take is a new action
    from the clip's first frame, the source untouched."""
    from motiondna.blender_motiondna.io import action_compat
    source = arm.animation_data.action
    keys = [tuple(k.co) for fc in action_compat.action_fcurves(source, arm) for k in fc.keyframe_points]
    u = arm.dimensions.z / 1.7
    raised = _wrist_world(api, arm, 41) + np.array([0.0, 0.0, 0.25 * u])
    held = _wrist_world(api, arm, 61) + np.array([0.0, -0.15 * u, 0.0])
    schedule = {10: [("RightWrist", raised, 40)], 60: [("RightWrist", held, None)]}
    take = api.play_live(arm, schedule, frames=100)
    assert take.name == f"{source.name}.live" and tuple(take.frame_range) == (1.0, 100.0)
    assert arm.animation_data.action == take and bpy_action_count(source.name) == 1
    assert np.linalg.norm(_wrist_world(api, arm, 41) - raised) < 0.03 * u   # step 40 is scene frame 41
    assert np.linalg.norm(_wrist_world(api, arm, 100) - held) < 0.03 * u
    assert [tuple(k.co) for fc in action_compat.action_fcurves(source, arm) for k in fc.keyframe_points] == keys
    motion = api.play_live(arm, list(schedule.items()), frames=100, record=False)
    assert motion.num_frames == 100 and len([a for a in _actions() if a.name.startswith(source.name + ".live")]) == 1
    again = api.play_live(arm, [(0, [api.add_target(arm, "RightWrist", location=held)])], frames=30, start=20)
    assert again.name == f"{source.name}.live.001" and tuple(again.frame_range) == (21.0, 50.0)


def _actions():
    import bpy
    return list(bpy.data.actions)


def bpy_action_count(name):
    return sum(a.name == name for a in _actions())


@pytest.mark.parametrize("schedule, frames, match", [
    ({0: [("NoSuchBone", (0, 0, 0), None)]}, 10, "has no joint 'NoSuchBone'"),
    ({12: [("RightWrist", (0, 0, 0), None)]}, 10, "schedule step 12 is not a step 0..9"),
    ({5: [("RightWrist", (0, 0, 0), 3)]}, 10, "its frame is a step from 5 on"),
    ({0: [("RightWrist", (0, float("nan"), 0), None)]}, 10, "NaN or infinite"),
    ({0: [("RightWrist", (0, 0), None)]}, 10, r"the position is \(x, y, z\)"),
    ({0: ["RightWrist"]}, 10, "a target is"),
    ([(0,)], 10, r"a schedule entry is \(step, \[targets\]\)"),
    ({}, 0, "frames must be a whole number"),
])
def test_play_live_refuses_a_bad_schedule(api, arm, schedule, frames, match):
    actions = len(_actions())
    with pytest.raises(ValueError, match=match):
        api.play_live(arm, schedule, frames=frames)
    assert len(_actions()) == actions


def test_play_live_refuses_another_armatures_empty_and_a_rig_without_generator(api, arm):
    other = api.import_bvh(CLIP)
    empty = api.add_target(other, "RightWrist")
    with pytest.raises(ValueError, match=f"target empty '{empty.name}' belongs to armature '{other.name}', not to '{arm.name}'"):
        api.play_live(arm, {0: [empty]}, frames=10)
    with pytest.raises(ValueError, match=f"'{other.name}' has no generator yet: build one first"):
        api.play_live(other, {}, frames=10)
    with pytest.raises(ValueError, match="start must be a clip frame"):
        api.play_live(arm, {}, frames=10, start=10_000)
