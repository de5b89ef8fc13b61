"""The add-on driven through bpy.ops in background mode, as a batch script would: build,
cancel, a worker killed mid-build, targets, generate, apply / revert, export / import,
the quality report, and every bad input."""
import json
import os
import signal
import time

import numpy as np
import pytest
from action_keys import fcurve_values

from conftest import CLIP


@pytest.fixture
def armature(addon, fresh_scene):
    import bpy

    from motiondna.blender_motiondna.io import bvh_io
    obj, _, _ = bvh_io.import_bvh(CLIP)
    bpy.context.view_layer.objects.active = obj
    return obj


@pytest.fixture
def with_generator(armature, generator_file):
    import bpy
    assert bpy.ops.mdna.import_generator(filepath=generator_file) == {'FINISHED'}
    return armature


def head_at(arm, joint, frame):
    import bpy
    bpy.context.scene.frame_set(frame)
    return arm.matrix_world @ arm.pose.bones[joint].head


def cm(arm):
    return arm.dimensions.z / 170.0


# -- the main path ------------------------------------------------------------------------

def test_build_add_target_generate_through_operators(armature):
    import bpy
    source_action = armature.animation_data.action
    before = fcurve_values(source_action, armature)
    assert bpy.ops.mdna.build_generator() == {'FINISHED'}
    assert armature.mdna.generator_data
    info = json.loads(armature.mdna.generator_info)
    assert info["build_seconds"] > 0 and info["joints"] == len(armature.data.bones) and info["dna_summary"]

    bpy.context.scene.frame_set(armature.mdna.clip_frame_start + 60)
    assert bpy.ops.mdna.add_target(joint="RightWrist") == {'FINISHED'}
    empty = [o for o in bpy.data.objects if o.type == 'EMPTY'][0]
    assert empty.name == f"MDNA_RightWrist_f{bpy.context.scene.frame_current}"
    assert empty.mdna_target.joint == "RightWrist" and empty.mdna_target.frame == bpy.context.scene.frame_current
    assert empty.mdna_target.armature == armature
    assert bpy.context.view_layer.objects.active == empty  # ready to grab
    empty.location.z += 0.25 * armature.dimensions.z / 1.7
    assert bpy.ops.mdna.generate() == {'FINISHED'}  # the active empty resolves to its armature

    result = armature.animation_data.action
    assert result is not source_action and result.name.startswith(source_action.name + ".mdna")
    after = fcurve_values(source_action, armature)
    assert before.keys() == after.keys() and all(np.array_equal(before[k], after[k]) for k in before)

    bpy.context.view_layer.update()
    head = head_at(armature, "RightWrist", empty.mdna_target.frame)
    assert (head - empty.matrix_world.translation).length < 3 * cm(armature)

    assert bpy.ops.mdna.revert() == {'FINISHED'}
    assert armature.animation_data.action == source_action


def test_generate_as_nla_strip(with_generator):
    import bpy
    arm = with_generator
    source = arm.animation_data.action
    assert bpy.ops.mdna.generate(as_nla=True) == {'FINISHED'}
    strips = [s for t in arm.animation_data.nla_tracks for s in t.strips]
    assert len(strips) == 1 and strips[0].action.name.startswith(source.name + ".mdna")
    assert arm.animation_data.action == source  # the active action is left alone


def test_apply_keeps_the_result_and_revert_goes_back(with_generator):
    import bpy
    arm = with_generator
    source = arm.animation_data.action
    assert not bpy.ops.mdna.apply.poll()  # nothing generated yet
    assert bpy.ops.mdna.generate() == {'FINISHED'}
    result = arm.mdna.result_action
    assert bpy.ops.mdna.apply() == {'FINISHED'}
    assert arm.animation_data.action == result and result.use_fake_user and arm.mdna.result_action is None
    assert bpy.ops.mdna.generate() == {'FINISHED'}  # a new result: the kept one is not overwritten
    assert arm.mdna.result_action not in (None, result)
    assert bpy.ops.mdna.revert() == {'FINISHED'}
    assert arm.animation_data.action == result  # what it played before the last Generate
    assert source.users >= 1


def test_targets_add_remove_clear(with_generator):
    import bpy

    from motiondna.blender_motiondna.scene import targets
    arm = with_generator
    bpy.context.scene.frame_set(20)
    for joint in ("LeftWrist", "RightAnkle", "Head"):
        bpy.context.view_layer.objects.active = arm
        assert bpy.ops.mdna.add_target(joint=joint) == {'FINISHED'}
    names = sorted(e.name for e in targets.target_empties(arm))
    assert names == ["MDNA_Head_f20", "MDNA_LeftWrist_f20", "MDNA_RightAnkle_f20"]
    assert bpy.ops.mdna.remove_target(name="MDNA_Head_f20") == {'FINISHED'}
    assert len(targets.target_empties(arm)) == 2
    bpy.context.view_layer.objects.active = arm
    assert bpy.ops.mdna.clear_targets() == {'FINISHED'}
    assert targets.target_empties(arm) == []
    assert not bpy.ops.mdna.clear_targets.poll()


def test_pose_mode_active_bone_is_the_default_joint(with_generator):
    import bpy
    arm = with_generator
    arm.data.bones.active = arm.data.bones["LeftAnkle"]
    bpy.ops.object.mode_set(mode='POSE')
    try:
        assert bpy.ops.mdna.add_target() == {'FINISHED'}
    finally:
        bpy.ops.object.mode_set(mode='OBJECT')
    assert [o.mdna_target.joint for o in bpy.data.objects if o.type == 'EMPTY'] == ["LeftAnkle"]


def test_moving_target_follows_an_animated_empty(with_generator):
    import bpy

    from motiondna.blender_motiondna.scene import bake
    arm = with_generator
    empty = bpy.data.objects[bpy.ops.mdna.add_target(joint="LeftWrist") and f"MDNA_LeftWrist_f{bpy.context.scene.frame_current}"]
    start = empty.location.copy()
    for frame, dz in ((30, 0.0), (50, 0.15 * arm.dimensions.z / 1.7)):
        empty.location = start + type(start)((0, 0, dz))
        empty.keyframe_insert("location", frame=frame)
    result = bake.regenerate(arm, reuse_result=False)
    assert len(result.targets) == 1 and list(result.targets[0].frames) == list(range(29, 50))
    for frame in (30, 40, 50):
        bpy.context.scene.frame_set(frame)
        want = empty.matrix_world.translation.copy()
        assert (head_at(arm, "LeftWrist", frame) - want).length < 4 * cm(arm)


def test_quality_report(with_generator):
    import bpy

    from motiondna.blender_motiondna.scene import report
    arm = with_generator
    assert not bpy.ops.mdna.quality_report.poll()  # nothing generated yet
    bpy.context.scene.frame_set(60)
    bpy.ops.mdna.add_target(joint="RightWrist")
    bpy.data.objects["MDNA_RightWrist_f60"].location.x += 0.1 * arm.dimensions.z / 1.7
    assert bpy.ops.mdna.generate() == {'FINISHED'}
    assert bpy.ops.mdna.quality_report() == {'FINISHED'}
    data = report.stored_report(arm)
    assert data["finite"] and data["targets"] == 1 and data["frames"] > 2
    assert len(data["target_errors_cm"]) == 1 and data["target_errors_cm"][0] < 3.0
    for key in ("reconstruction_cm", "foot_skate_delta", "jitter_ratio", "style_distance_cm"):
        assert np.isfinite(data[key]), key
    assert data["jitter_ratio"] > 0 and data["reconstruction_cm"] > 0  # the target moved the body
    assert list(data["mbench"]) == ["jitter_degree", "ground_penetration", "foot_sliding", "foot_floating",
                                    "dynamic_degree"]
    assert all(np.isfinite(pair).all() and len(pair) == 2 for pair in data["mbench"].values())
    text = report.lines(data)
    assert any(line.startswith("Target error: max") for line in text) and len(text) == 6 + 2 + 6
    assert "Effectors: LeftWrist, RightWrist, LeftAnkle, RightAnkle, Head" in text
    assert "Contacts (feet): LeftToe, RightToe" in text
    assert any(line.startswith("Jitter degree: ") and "(source " in line for line in text)


def test_export_writes_a_mdna_that_loads(with_generator, tmp_path):
    import bpy

    from motiondna.engine.generator.runtime import Generator
    path = str(tmp_path / "jacks")                      # the extension is added
    assert bpy.ops.mdna.export_generator(filepath=path) == {'FINISHED'}
    assert Generator.load(path + ".mdna").num_frames == 125


# -- builds: cancel, a dying worker -------------------------------------------------------

def pump_until(condition, timeout=120.0):
    from motiondna.blender_motiondna.scene import build
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the build"
        build.poll_jobs()
        time.sleep(0.05)


@pytest.fixture
def slow_builds(monkeypatch):
    """Builds that wait (cancellably) at their first progress report past the start, as a
    long clip's would: the bundled clip builds in a fraction of a second, too fast to
    cancel or kill midway on purpose. The shared worker restarts to see it, and after."""
    from motiondna.blender_motiondna import worker_client
    from motiondna.engine.worker import server
    worker_client.shutdown_shared()
    monkeypatch.setenv(server.TEST_BUILD_PAUSE_ENV, "60")
    yield monkeypatch
    worker_client.shutdown_shared()


def test_build_cancel_through_operators(armature, slow_builds):
    import bpy

    from motiondna.blender_motiondna.scene import build
    assert not bpy.ops.mdna.cancel_build.poll()
    assert bpy.ops.mdna.build_generator(wait=False) == {'FINISHED'}
    job = build.running_job(armature)
    assert job is not None and not bpy.ops.mdna.build_generator.poll()  # one build per armature
    pump_until(lambda: job.fraction > 0.0)
    assert armature.mdna.status and armature.mdna.progress > 0
    assert bpy.ops.mdna.cancel_build() == {'FINISHED'}
    pump_until(lambda: job.finished, timeout=30)
    assert job.state == "cancelled" and armature.mdna.status == "Build cancelled"
    assert not armature.mdna.generator_data and armature.mdna.progress == 0
    assert not os.path.exists(job.workdir)
    assert bpy.ops.mdna.build_generator.poll()


def test_killed_worker_mid_build_is_reported_and_the_next_build_works(armature, slow_builds):
    import bpy

    from motiondna.blender_motiondna.scene import build
    assert bpy.ops.mdna.build_generator(wait=False) == {'FINISHED'}
    job = build.running_job(armature)
    pump_until(lambda: job.request.progress is not None)
    old_pid = job.client.pid
    os.kill(old_pid, signal.SIGKILL)
    pump_until(lambda: job.finished, timeout=30)
    assert job.state == "error" and "stopped unexpectedly" in armature.mdna.status
    assert armature.mdna.status.startswith("Build failed") and not armature.mdna.generator_data
    from motiondna.engine.worker import server
    slow_builds.delenv(server.TEST_BUILD_PAUSE_ENV)
    assert bpy.ops.mdna.build_generator() == {'FINISHED'}  # a fresh worker
    assert armature.mdna.generator_data and job.client.pid != old_pid


def test_worker_dying_during_a_waiting_build_is_an_error(armature, slow_builds):
    import bpy

    from motiondna.blender_motiondna.scene import build

    killed = []

    def kill_on_first_progress(event):
        if not killed:
            killed.append(True)
            os.kill(build.running_job(armature).client.pid, signal.SIGKILL)

    real_start = build.start_build
    slow_builds.setattr(build, "start_build", lambda *a, **k: real_start(*a, **dict(k, on_event=kill_on_first_progress)))
    with pytest.raises(RuntimeError, match="stopped unexpectedly"):
        bpy.ops.mdna.build_generator()
    assert build.running_job(armature) is None and not armature.mdna.generator_data


# -- bad input ----------------------------------------------------------------------------

def test_polls_explain_themselves(addon, fresh_scene):
    import bpy
    assert not bpy.ops.mdna.build_generator.poll()
    with pytest.raises(RuntimeError, match="Select an armature"):
        bpy.ops.mdna.build_generator()
    with pytest.raises(RuntimeError, match="Select a target empty"):
        bpy.ops.mdna.remove_target()
    with pytest.raises(RuntimeError, match="No build is running"):
        bpy.ops.mdna.cancel_build()


def test_armature_without_action_is_refused(addon, fresh_scene):
    import bpy
    arm = bpy.data.objects.new("Bare", bpy.data.armatures.new("Bare"))
    bpy.context.scene.collection.objects.link(arm)
    bpy.context.view_layer.objects.active = arm
    with pytest.raises(RuntimeError, match="'Bare' has no action to build from"):
        bpy.ops.mdna.build_generator()


def test_generate_without_generator_is_refused(armature):
    import bpy
    with pytest.raises(RuntimeError, match="no generator yet"):
        bpy.ops.mdna.generate()
    with pytest.raises(RuntimeError, match="no generator yet"):
        bpy.ops.mdna.live_toggle()


def test_one_frame_clip_is_refused(armature):
    import bpy
    s = armature.mdna
    s.use_frame_range, s.frame_start, s.frame_end = True, 5, 5
    with pytest.raises(RuntimeError, match="1 frame"):
        bpy.ops.mdna.build_generator()
    s.frame_end = 3
    with pytest.raises(RuntimeError, match="reversed"):
        bpy.ops.mdna.build_generator()


def test_nan_keys_are_refused(armature):
    import bpy

    from motiondna.blender_motiondna.io import action_compat
    fc = [c for c in action_compat.action_fcurves(armature.animation_data.action, armature)
          if "rotation" in c.data_path][0]
    fc.keyframe_points[10].co.y = float("nan")
    with pytest.raises(RuntimeError, match="NaN"):
        bpy.ops.mdna.build_generator()
    assert not armature.mdna.generator_data


def test_missing_joint_is_refused_or_skipped(with_generator):
    import bpy

    from motiondna.blender_motiondna.scene import bake
    arm = with_generator
    with pytest.raises(RuntimeError, match="no bone named 'NoSuchBone'"):
        bpy.ops.mdna.add_target(joint="NoSuchBone")
    bpy.ops.mdna.add_target(joint="LeftWrist")
    empty = [o for o in bpy.data.objects if o.type == 'EMPTY'][0]
    empty.mdna_target.joint = "NoSuchBone"  # renamed by hand
    bpy.context.view_layer.objects.active = arm
    assert bpy.ops.mdna.generate() == {'FINISHED'}  # still generates, says what it ignored
    result = bake.regenerate(arm, reuse_result=False)
    assert result.targets == [] and result.skipped == [(empty.name, "the generator has no joint 'NoSuchBone'")]


def test_target_outside_the_clip_and_nan_target_are_skipped(with_generator):
    import bpy

    from motiondna.blender_motiondna.scene import bake
    arm = with_generator
    bpy.ops.mdna.add_target(joint="LeftWrist")
    empty = bpy.context.view_layer.objects.active
    empty.mdna_target.frame = 10_000
    result = bake.regenerate(arm, reuse_result=False)
    assert result.targets == [] and "outside the generated range" in result.skipped[0][1]
    empty.mdna_target.frame = 20
    empty.location.x = float("nan")
    result = bake.regenerate(arm, reuse_result=False)
    assert result.targets == [] and "not a finite number" in result.skipped[0][1]


def test_unreachable_target_is_reported(with_generator):
    """Wrists pulled three body heights apart at the same frame: no body reaches both."""
    import bpy

    from motiondna.blender_motiondna.scene import bake
    arm = with_generator
    bpy.context.scene.frame_set(40)
    for joint, dz in (("RightWrist", 1.5), ("LeftWrist", -1.5)):
        bpy.context.view_layer.objects.active = arm
        bpy.ops.mdna.add_target(joint=joint)
        bpy.context.view_layer.objects.active.location.z += dz * arm.dimensions.z
    bpy.context.view_layer.objects.active = arm
    assert bpy.ops.mdna.generate() == {'FINISHED'}
    result = bake.regenerate(arm, reuse_result=False)
    assert result.unreached and max(d for _, d in result.unreached) > 0.5 * arm.dimensions.z
    assert {j for j, _ in result.unreached} <= {"RightWrist", "LeftWrist"}
    assert np.all(np.isfinite(result.motion.rotations)) and np.all(np.isfinite(result.motion.translations))


def test_corrupt_generator_file_is_refused(armature, generator_file, tmp_path):
    import bpy
    garbage = tmp_path / "garbage.mdna"
    garbage.write_bytes(b"this is not a generator")
    with pytest.raises(RuntimeError):
        bpy.ops.mdna.import_generator(filepath=str(garbage))
    truncated = tmp_path / "truncated.mdna"
    truncated.write_bytes(open(generator_file, "rb").read()[:5000])
    with pytest.raises(RuntimeError):
        bpy.ops.mdna.import_generator(filepath=str(truncated))
    with pytest.raises(RuntimeError, match="no generator file"):
        bpy.ops.mdna.import_generator(filepath=str(tmp_path / "missing.mdna"))
    assert not armature.mdna.generator_data


def test_corrupt_generator_inside_the_file_is_reported(with_generator):
    import bpy

    from motiondna.blender_motiondna.scene import store
    arm = with_generator
    store._cache.clear()
    arm.mdna.generator_digest = ""
    arm.mdna.generator_data = "definitely%not%base64"
    with pytest.raises(RuntimeError, match="damaged"):
        bpy.ops.mdna.generate()
    arm.mdna.generator_data = "QUJDRA=="  # valid base64, not a generator
    with pytest.raises(RuntimeError, match="cannot be read"):
        bpy.ops.mdna.generate()


def test_incompatible_armature_is_refused(addon, fresh_scene, generator_file):
    import bpy
    data = bpy.data.armatures.new("Other")
    arm = bpy.data.objects.new("Other", data)
    bpy.context.scene.collection.objects.link(arm)
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode='EDIT')
    b = data.edit_bones.new("Root")
    b.tail = (0, 0, 1)
    bpy.ops.object.mode_set(mode='OBJECT')
    with pytest.raises(RuntimeError, match="does not fit this generator"):
        bpy.ops.mdna.import_generator(filepath=generator_file)


def test_data_changing_operators_are_undo_aware_and_found_by_f3(addon):
    import bpy
    undoable = ("build_generator", "add_target", "remove_target", "clear_targets", "generate", "apply",
                "revert", "import_generator")
    classes = {cls.bl_idname: cls for cls in addon.operators.CLASSES}
    for name in undoable:
        options = classes[f"mdna.{name}"].bl_options
        assert 'UNDO' in options and 'REGISTER' in options, name
    for name in ("cancel_build", "live_toggle", "quality_report", "export_generator", "check_engine"):
        assert getattr(bpy.ops.mdna, name).get_rna_type().name, name  # labelled: F3 lists it


def test_the_manifest_asks_for_no_network_access():
    """Builds need numpy only (Blender has it): nothing is downloaded, so no permission."""
    import tomllib
    with open(os.path.join(os.path.dirname(CLIP), "..", "blender_manifest.toml"), "rb") as f:
        manifest = tomllib.load(f)
    assert "network" not in manifest["permissions"]


def test_import_motion_operator_makes_the_clip_the_active_armature(addon, fresh_scene, tmp_path):
    import bpy
    assert bpy.ops.mdna.import_motion(filepath=CLIP) == {'FINISHED'}
    arm = bpy.context.view_layer.objects.active
    assert arm.type == 'ARMATURE' and arm.animation_data.action is not None
    (tmp_path / "notes.txt").write_text("not a clip")
    with pytest.raises(RuntimeError, match="unsupported motion file type '.txt'"):
        bpy.ops.mdna.import_motion(filepath=str(tmp_path / "notes.txt"))


class FakeLayout:
    """Stands in for a UI layout: records labels, and checks that every property and
    operator a panel draws exists (background Blender draws no panels by itself)."""

    def __init__(self, lines=None):
        self.lines = [] if lines is None else lines
        self.active = True

    def _child(self, *args, **kwargs):
        return FakeLayout(self.lines)

    row = column = box = split = _child

    def label(self, text="", **kwargs):
        self.lines.append(text)

    def prop(self, data, name, **kwargs):
        assert name in data.bl_rna.properties, f"{type(data).__name__} has no property '{name}'"

    def operator(self, idname, **kwargs):
        group, name = idname.split(".")
        assert hasattr(getattr(__import__("bpy").ops, group), name), idname

    def progress(self, **kwargs):
        pass

    def template_list(self, *args, **kwargs):
        pass


def test_the_panel_and_the_preferences_draw(with_generator):
    import types

    import bpy

    from motiondna.blender_motiondna.scene import prefs
    from motiondna.panels import sidebar
    bpy.context.view_layer.objects.active = with_generator
    layout = FakeLayout()
    sidebar.MDNA_PT_main.draw(types.SimpleNamespace(layout=layout), bpy.context)
    assert any("smooth transition" in line for line in layout.lines), layout.lines
    assert not any("codes" in line for line in layout.lines)
    for engine_python in ("", "/opt/python/bin/python3"):
        layout = FakeLayout()
        fake = types.SimpleNamespace(layout=layout, engine_python=engine_python, bl_rna=prefs.MDNA_AP_preferences.bl_rna)
        prefs.MDNA_AP_preferences.draw(fake, bpy.context)
        assert layout.lines and ("Blender's own Python" in layout.lines[0]) == (not engine_python)
