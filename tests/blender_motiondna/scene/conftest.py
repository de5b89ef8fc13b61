"""Fixtures of the scene tests: one generator built and exported through the operators."""
import pytest

from conftest import CLIP


@pytest.fixture(scope="module")
def generator_file(addon, tmp_path_factory):
    """One generator built through the operators, exported through the operators."""
    import bpy

    from motiondna.blender_motiondna.io import bvh_io
    bpy.ops.wm.read_factory_settings(use_empty=True)
    arm, _, _ = bvh_io.import_bvh(CLIP)
    bpy.context.view_layer.objects.active = arm
    assert bpy.ops.mdna.build_generator() == {'FINISHED'}
    path = str(tmp_path_factory.mktemp("gen") / "jacks.mdna")
    assert bpy.ops.mdna.export_generator(filepath=path) == {'FINISHED'}
    return path
