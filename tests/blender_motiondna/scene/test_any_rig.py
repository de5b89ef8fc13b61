"""A rig with no human names or shape through the add-on (bpy, background): a synthetic
eight-legged creature with a 16-bone tail, imported from BVH; targets on any bone, the
quality report and the generator's summary list what the rig offers, variations play."""
import json

import numpy as np
import pytest
from action_keys import fcurve_values
from synthetic import creature_clip, write_clip_bvh


@pytest.fixture
def creature(addon, fresh_scene, tmp_path):
    import bpy

    from motiondna.blender_motiondna.io import bvh_io
    path = write_clip_bvh(creature_clip(legs=8, tail_bones=16, frames=150), str(tmp_path / "creature.bvh"))
    obj, _, _ = bvh_io.import_bvh(path)
    bpy.context.view_layer.objects.active = obj
    return obj


def _head(arm, joint, frame):
    import bpy
    bpy.context.scene.frame_set(frame)
    return np.array(arm.matrix_world @ arm.pose.bones[joint].head)


@pytest.mark.parametrize("joint", ["limb3_3", "seg15", "seg6"])
def test_a_target_on_any_bone_of_a_creature_is_reached_and_reported(creature, joint):
    import bpy
    source = creature.animation_data.action
    before = fcurve_values(source, creature)
    assert bpy.ops.mdna.build_generator() == {'FINISHED'}
    summary = json.loads(creature.mdna.generator_info)["dna_summary"]
    assert any(line.startswith("effectors: ") and "limb" in line for line in summary)
    assert any(line.startswith("contacts: limb") for line in summary)
    frame = creature.mdna.clip_frame_start + 52
    bpy.context.scene.frame_set(frame)
    assert bpy.ops.mdna.add_target(joint=joint) == {'FINISHED'}
    empty = [o for o in bpy.data.objects if o.type == 'EMPTY'][0]
    size = max(creature.dimensions)
    empty.location.z += 0.05 * size
    empty.location.x += 0.03 * size
    assert bpy.ops.mdna.generate() == {'FINISHED'}
    bpy.context.view_layer.update()
    assert np.linalg.norm(_head(creature, joint, frame) - np.array(empty.matrix_world.translation)) < 0.01 * size
    assert bpy.ops.mdna.quality_report() == {'FINISHED'}
    report = json.loads(creature.mdna.report)
    assert report["targets"] == 1 and max(report["target_errors_cm"]) < 1.0
    assert "seg15" in report["effectors"] and len(report["contacts"]) == 8
    after = fcurve_values(source, creature)
    assert all(np.array_equal(before[k], after[k]) for k in before)  # the source is untouched


def test_variations_play_on_a_creature(creature):
    import bpy
    assert bpy.ops.mdna.build_generator() == {'FINISHED'}
    s = creature.mdna
    s.variation_frames, s.variation_seed, s.variation_count = 400, 1, 1
    assert bpy.ops.mdna.generate_variations() == {'FINISHED'}
    made = bpy.data.actions.get(f"{creature.animation_data.action.name}")
    assert made is not None and made.name.endswith(".var1")
