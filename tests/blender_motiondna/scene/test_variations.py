"""Variations in Blender: the Generate Variations operator (panel settings and its own),
api.generate_variation, bake --seeds; each a new kept action, the source untouched."""
import numpy as np
import pytest
from action_keys import fcurve_values

from conftest import CLIP


@pytest.fixture
def armature(addon, fresh_scene, generator_file):
    import bpy

    from motiondna.blender_motiondna.io import bvh_io
    obj, _, _ = bvh_io.import_bvh(CLIP)
    bpy.context.view_layer.objects.active = obj
    assert bpy.ops.mdna.import_generator(filepath=generator_file) == {'FINISHED'}
    return obj


def frame_count(action, obj):
    return max(len(v) // 2 for v in fcurve_values(action, obj).values())


def test_the_operator_makes_one_new_kept_action_per_seed_from_the_panel_settings(armature):
    import bpy
    source = armature.animation_data.action
    before = fcurve_values(source, armature)
    s = armature.mdna
    s.variation_frames, s.variation_seed, s.variation_count = 300, 4, 2
    assert bpy.ops.mdna.generate_variations() == {'FINISHED'}
    made = [bpy.data.actions.get(f"{source.name}.var{seed}") for seed in (4, 5)]
    assert all(a is not None and a.use_fake_user for a in made)
    assert all(frame_count(a, armature) == 300 for a in made)
    assert armature.animation_data.action == made[-1]
    a, b = (fcurve_values(x, armature) for x in made)
    assert any(not np.allclose(a[k], b[k]) for k in a)              # seeds differ
    after = fcurve_values(source, armature)
    assert all(np.array_equal(before[k], after[k]) for k in before)  # the source is untouched
    assert bpy.ops.mdna.revert() == {'FINISHED'}
    assert armature.animation_data.action == source


def test_operator_properties_override_the_panel_and_a_loop_closes(armature):
    import bpy
    armature.mdna.variation_count = 5
    assert bpy.ops.mdna.generate_variations(frames=200, seed=9, count=1, loop=True) == {'FINISHED'}
    action = armature.animation_data.action
    assert action.name.endswith(".var9") and frame_count(action, armature) == 200
    assert not any(a.name.endswith(".var10") for a in bpy.data.actions)


def test_api_generate_variation_and_the_generator_object(armature):
    from motiondna import api
    action = api.generate_variation(armature, frames=150, seed=2)
    assert action.name.endswith(".var2") and frame_count(action, armature) == 150
    motion = api.generator(armature).generate(num_frames=150, seed=2)
    again = api.generator(armature).generate(num_frames=150, seed=2)
    assert motion.num_frames == 150 and np.array_equal(motion.rotations, again.rotations)
    with pytest.raises(ValueError, match="seed"):
        api.generate_variation(armature, frames=150, seed=-3)
    with pytest.raises(ValueError, match="frames"):
        api.generate_variation(armature, frames=0 - 5)


def test_bake_blend_with_seeds_makes_a_variation_per_seed(armature, tmp_path):
    import bpy

    from motiondna import api
    shot = str(tmp_path / "shot.blend")
    bpy.ops.wm.save_as_mainfile(filepath=shot)
    info = api.bake_blend(shot, out=str(tmp_path / "baked.blend"), seeds=[0, 3], frames=100)
    names = [a["action"] for a in info["armatures"]]
    assert [a["seed"] for a in info["armatures"]] == [0, 3] and all(a["frames"] == 100 for a in info["armatures"])
    assert names[0].endswith(".var0") and names[1].endswith(".var3")
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "baked.blend"))
    assert all(bpy.data.actions.get(n) is not None for n in names)   # kept through the save
