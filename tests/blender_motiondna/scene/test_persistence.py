"""The generator and the targets live in the .blend: save, reopen, share; a file saved
without the extension opens cleanly, and the extension finds its data again."""

import pytest

from conftest import CLIP


@pytest.fixture(scope="module")
def saved_file(addon, tmp_path_factory):
    """A .blend with a built generator, two targets (one moving) and a generated result."""
    import bpy

    from motiondna.blender_motiondna.io import bvh_io
    bpy.ops.wm.read_factory_settings(use_empty=True)
    arm, _, _ = bvh_io.import_bvh(CLIP)
    bpy.context.view_layer.objects.active = arm
    assert bpy.ops.mdna.build_generator() == {'FINISHED'}
    bpy.context.scene.frame_set(40)
    assert bpy.ops.mdna.add_target(joint="RightWrist") == {'FINISHED'}
    bpy.context.view_layer.objects.active.location.z += 0.1 * arm.dimensions.z / 1.7
    bpy.context.view_layer.objects.active = arm
    assert bpy.ops.mdna.add_target(joint="LeftAnkle") == {'FINISHED'}
    ankle = bpy.context.view_layer.objects.active
    ankle.mdna_target.weight = 0.5
    ankle.keyframe_insert("location", frame=30)
    ankle.location.y += 0.05
    ankle.keyframe_insert("location", frame=50)
    bpy.context.view_layer.objects.active = arm
    assert bpy.ops.mdna.generate() == {'FINISHED'}
    path = str(tmp_path_factory.mktemp("blend") / "scene.blend")
    expected = {"data": arm.mdna.generator_data, "info": arm.mdna.generator_info,
                "result": arm.mdna.result_action.name, "source": arm.mdna.source_action.name}
    bpy.ops.wm.save_as_mainfile(filepath=path)
    return path, expected


def open_file(path):
    import bpy

    from motiondna.blender_motiondna.scene import store
    store._cache.clear()  # as in a new Blender session
    bpy.ops.wm.open_mainfile(filepath=path)
    return bpy.data.objects["jumping_jacks"]


def test_reopened_file_keeps_generator_targets_and_results(saved_file):
    import bpy

    from motiondna.blender_motiondna.scene import bake, targets
    path, expected = saved_file
    arm = open_file(path)
    s = arm.mdna
    assert s.generator_data == expected["data"] and s.generator_info == expected["info"]
    assert s.result_action.name == expected["result"] and s.source_action.name == expected["source"]
    assert arm.animation_data.action == s.result_action
    found = {e.mdna_target.joint: e for e in targets.target_empties(arm)}
    assert set(found) == {"RightWrist", "LeftAnkle"}
    assert found["RightWrist"].mdna_target.frame == 40 and found["LeftAnkle"].mdna_target.weight == 0.5
    bpy.context.view_layer.objects.active = arm
    assert bpy.ops.mdna.generate() == {'FINISHED'}  # the stored generator loads and runs
    result = bake.regenerate(arm, reuse_result=False)
    assert sorted(len(t.frames) for t in result.targets) == [1, 21]  # the moving target kept its keys
    assert not result.skipped


def test_source_action_survives_saving_while_the_result_plays(saved_file):
    import bpy
    path, expected = saved_file
    open_file(path)
    assert expected["source"] in bpy.data.actions  # not dropped as an unused action


def test_file_opens_cleanly_without_the_extension_and_back(addon, saved_file, tmp_path):
    import bpy
    path, expected = saved_file
    addon.unregister()
    try:
        bpy.ops.wm.open_mainfile(filepath=path)  # no handler, no class, no error
        arm = bpy.data.objects["jumping_jacks"]
        assert not hasattr(arm, "mdna")  # Blender 5 keeps the data in the ID's property storage
        resaved = str(tmp_path / "resaved_without.blend")
        bpy.ops.wm.save_as_mainfile(filepath=resaved)
    finally:
        addon.register()
    arm = open_file(resaved)
    assert arm.mdna.generator_data == expected["data"]  # a round trip without the extension
    bpy.context.view_layer.objects.active = arm
    assert bpy.ops.mdna.generate() == {'FINISHED'}


def test_file_from_a_session_without_the_extension(addon, tmp_path):
    import bpy

    from motiondna.blender_motiondna.io import bvh_io
    addon.unregister()
    try:
        bpy.ops.wm.read_factory_settings(use_empty=True)
        bvh_io.import_bvh(CLIP)
        path = str(tmp_path / "plain.blend")
        bpy.ops.wm.save_as_mainfile(filepath=path)
    finally:
        addon.register()
    arm = open_file(path)
    assert arm.mdna.generator_data == "" and not arm.mdna.live
    bpy.context.view_layer.objects.active = arm
    assert bpy.ops.mdna.build_generator.poll()


def test_a_file_saved_mid_build_reopens_without_a_stale_progress_bar(addon, fresh_scene, tmp_path):
    import bpy

    from motiondna.blender_motiondna.io import bvh_io
    arm, _, _ = bvh_io.import_bvh(CLIP)
    arm.mdna.status, arm.mdna.progress = "Training step 40/600", 0.3
    path = str(tmp_path / "mid_build.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path)
    arm = open_file(path)
    assert arm.mdna.status == "" and arm.mdna.progress == 0.0
