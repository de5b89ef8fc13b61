"""The add-on driven through bpy.ops in background mode, as a batch script would."""
import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CLIP = os.path.join(ROOT, "data", "jumping_jacks.bvh")


@pytest.fixture(scope="module")
def addon():
    import motiondna
    motiondna.register()
    yield motiondna
    motiondna.unregister()


@pytest.fixture
def armature(addon, fresh_scene):
    from motiondna.blender_motiondna import bvh_io
    obj, _, _ = bvh_io.import_bvh(CLIP)
    return obj


def fcurve_values(action, obj):
    from motiondna.blender_motiondna import action_compat
    out = {}
    for c in action_compat.action_fcurves(action, obj):
        vals = np.zeros(len(c.keyframe_points) * 2)
        c.keyframe_points.foreach_get("co", vals)
        out[(c.data_path, c.array_index)] = vals
    return out


def test_build_add_target_generate_through_operators(armature):
    import bpy
    source_action = armature.animation_data.action
    before = fcurve_values(source_action, armature)
    bpy.context.view_layer.objects.active = armature
    assert bpy.ops.mdna.build_generator(steps=200) == {'FINISHED'}
    assert armature.mdna.generator_data

    bpy.context.scene.frame_set(armature.mdna.clip_frame_start + 60)
    assert bpy.ops.mdna.add_target(joint="RightWrist") == {'FINISHED'}
    empty = [o for o in bpy.data.objects if o.type == 'EMPTY'][0]
    assert empty.mdna_target.joint == "RightWrist" and empty.mdna_target.frame == bpy.context.scene.frame_current
    empty.location.z += 0.25 * armature.dimensions.z / 1.7
    bpy.context.view_layer.objects.active = armature
    assert bpy.ops.mdna.generate() == {'FINISHED'}

    result = armature.animation_data.action
    assert result is not source_action and result.name.startswith(source_action.name + ".mdna")
    after = fcurve_values(source_action, armature)
    assert before.keys() == after.keys() and all(np.array_equal(before[k], after[k]) for k in before)

    bpy.context.view_layer.update()
    bpy.context.scene.frame_set(empty.mdna_target.frame)
    head = armature.matrix_world @ armature.pose.bones["RightWrist"].head
    cm = armature.dimensions.z / 170.0
    assert (head - empty.matrix_world.translation).length < 3 * cm

    assert bpy.ops.mdna.revert() == {'FINISHED'}
    assert armature.animation_data.action == source_action


def test_polls_explain_themselves(addon, fresh_scene):
    import bpy
    assert not bpy.ops.mdna.build_generator.poll()
    with pytest.raises(RuntimeError, match="Select an armature"):
        bpy.ops.mdna.build_generator()


def test_generate_without_generator_is_refused(armature):
    import bpy
    bpy.context.view_layer.objects.active = armature
    with pytest.raises(RuntimeError, match="no generator yet"):
        bpy.ops.mdna.generate()
