"""New Generator from Text through the panel's operators (in --background) and the API:
a starter-library clip found by a prompt, retargeted onto a Mixamo-style rig, built."""
import os

import numpy as np
import pytest

from conftest import ROOT

MIXAMO_STYLE = os.path.join(ROOT, "data", "library", "rigs", "mixamo_style.bvh")
pytestmark = pytest.mark.slow  # engine worker builds


@pytest.fixture
def rig(addon):
    import bpy

    from motiondna import api
    bpy.ops.wm.read_factory_settings(use_empty=True)
    arm = api.import_bvh(MIXAMO_STYLE)
    bpy.context.view_layer.objects.active = arm
    return arm


def test_panel_path_jumping_jacks(rig):
    import bpy

    from motiondna import api
    settings = bpy.context.scene.mdna_text
    settings.prompt = "jumping jacks"
    assert bpy.ops.mdna.text_search() == {'FINISHED'}
    top = settings.results[0]
    assert "jumping jacks" in top.description and top.kind == "file" and top.duration > 3
    assert bpy.ops.mdna.text_preview() == {'FINISHED'}
    preview = rig.animation_data.action
    assert preview.name.endswith(".preview")
    assert bpy.ops.mdna.text_preview() == {'FINISHED'}          # a second preview replaces the first
    assert len([a for a in bpy.data.actions if a.name.endswith(".preview")]) == 1
    assert bpy.ops.mdna.text_build() == {'FINISHED'}
    assert api.has_generator(rig)
    source = rig.mdna.source_action
    assert source.name.endswith(".fromtext") and source.get("mdna_from_text", "").endswith("14_14_jumping_jacks.bvh.gz")
    take = api.generate_variation(rig, frames=120, seed=2)
    assert take.name.endswith(".var2")
    motion = api.generator(rig).generate(num_frames=60, seed=1)
    assert motion.num_frames == 60 and np.isfinite(motion.rotations).all()


def test_trials_are_listed_but_not_built(rig):
    import bpy
    settings = bpy.context.scene.mdna_text
    settings.prompt = "synchronized jumping jacks with two subjects"
    bpy.ops.mdna.text_search()
    kinds = [r.kind for r in settings.results]
    assert "trial" in kinds
    settings.result_index = kinds.index("trial")
    with pytest.raises(RuntimeError, match="not in the library: fetch it from http://mocap.cs.cmu.edu"):
        bpy.ops.mdna.text_preview()


def test_api_boxer_on_the_mixamo_style_rig(rig):
    from motiondna import api
    results = api.search("a boxer throws punches", top=5, files_only=True)
    assert results[0]["trial"] == "02_05"
    report = api.generator_from_text(rig, "a boxer throws punches")
    assert report["description"] == "punch/strike" and report["mapped_bones"] == 22
    assert report["build"]["size_bytes"] > 0 and api.has_generator(rig)


def test_api_library_index(tmp_path, addon):
    import shutil

    from motiondna import api
    shutil.copy(os.path.join(ROOT, "data", "jumping_jacks.bvh"), tmp_path / "star_jumps.bvh")
    out = tmp_path / "lib.json"
    assert api.library_index([tmp_path], out)["read"] == 1
    assert api.library_index([tmp_path], out)["reused"] == 1
    assert api.search("star jumps", library=[out], top=1)[0]["description"] == "star jumps"


def test_saved_mapping_is_edited_and_used(rig, tmp_path):
    import json

    import bpy
    settings = bpy.context.scene.mdna_text
    settings.prompt = "jumping jacks"
    bpy.ops.mdna.text_search()
    settings.mapping_path = str(tmp_path / "map.json")
    assert bpy.ops.mdna.text_save_mapping() == {'FINISHED'}
    doc = json.loads((tmp_path / "map.json").read_text())
    assert doc["bones"]["mixamorig:LeftForeArm"] == "LeftElbow" and len(doc["bones"]) == 22
    del doc["bones"]["mixamorig:LeftForeArm"]                 # the user unmaps a bone
    (tmp_path / "map.json").write_text(json.dumps(doc))
    assert bpy.ops.mdna.text_preview() == {'FINISHED'}
    bone = rig.pose.bones["mixamorig:LeftForeArm"]
    for frame in (1, 30, 60):
        bpy.context.scene.frame_set(frame)
        assert bone.matrix_basis.to_quaternion().angle < 1e-5          # left at rest under its parent
    hand = rig.pose.bones["mixamorig:LeftArm"]
    assert hand.matrix_basis.to_quaternion().angle > 1e-3              # its parent still moves


def test_fbx_files_are_indexed_through_blender(tmp_path, addon):
    import bpy

    from motiondna import api
    bpy.ops.wm.read_factory_settings(use_empty=True)
    arm = api.import_bvh(os.path.join(ROOT, "data", "jumping_jacks.bvh"))
    bpy.ops.object.select_all(action='DESELECT')
    arm.select_set(True)
    bpy.ops.export_scene.fbx(filepath=str(tmp_path / "star_jumps.fbx"), use_selection=True, bake_anim=True)
    objects = len(bpy.data.objects)
    stats = api.library_index([tmp_path], tmp_path / "lib.json")
    assert stats["read"] == 1 and stats["skipped"] == 0
    assert len(bpy.data.objects) == objects                    # the import is removed again
    hit = api.search("star jumps", library=[tmp_path / "lib.json"], files_only=True, top=1)[0]
    assert hit["path"].endswith("star_jumps.fbx") and hit["rig"] == "cmu_3dsmax" and hit["frames"] >= 120


def test_an_action_of_the_file_is_found_and_put_on_another_rig(rig):
    import bpy

    from motiondna import api
    source = api.import_bvh(os.path.join(ROOT, "data", "jumping_jacks.bvh"))
    source.animation_data.action.name = "star_jumps_warmup"
    bpy.context.view_layer.objects.active = rig
    settings = bpy.context.scene.mdna_text
    settings.prompt = "star jumps warm up"
    bpy.ops.mdna.text_search()
    assert settings.results[0].kind == "action" and settings.results[0].action == "star_jumps_warmup"
    assert settings.results[0].rig == "cmu_3dsmax"
    assert bpy.ops.mdna.text_preview() == {'FINISHED'}
    assert rig.animation_data.action.name.endswith(".preview")
    assert source.animation_data.action.name == "star_jumps_warmup"      # the source rig keeps its action


def test_action_assets_of_an_asset_library_are_found_and_used(rig, tmp_path):
    import subprocess
    import sys

    import bpy
    library = tmp_path / "assets"
    library.mkdir()
    blend = library / "warmups.blend"
    script = (f"import bpy, sys; sys.path.insert(0, {ROOT!r})\n"
              "from blender_motiondna.bootstrap import load_extension_package; load_extension_package()\n"
              "from motiondna.blender_motiondna.io import bvh_io\n"
              "bpy.ops.wm.read_factory_settings(use_empty=True)\n"
              f"arm, _, _ = bvh_io.import_bvh({os.path.join(ROOT, 'data', 'jumping_jacks.bvh')!r})\n"
              "action = arm.animation_data.action\n"
              "action.name = 'take_07'\n"
              "action.asset_mark()\n"
              "action.asset_data.description = 'gymnastic star jumps to warm up'\n"
              f"bpy.ops.wm.save_as_mainfile(filepath={str(blend)!r})\n")
    made = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    libs = bpy.context.preferences.filepaths.asset_libraries
    lib = libs.new(name="warmups", directory=str(library)) if hasattr(libs, "new") else None
    if lib is None:
        bpy.ops.preferences.asset_library_add(directory=str(library))
        lib = libs[-1]
    try:
        settings = bpy.context.scene.mdna_text
        settings.prompt = "gymnastic warm up star jumps"
        bpy.ops.mdna.text_search()
        top = settings.results[0]
        assert top.kind == "asset" and top.action == "take_07" and top.blend == str(blend)
        objects = set(bpy.data.objects)
        assert bpy.ops.mdna.text_preview() == {'FINISHED'}
        assert set(bpy.data.objects) == objects                   # the asset's rig was read and removed
        assert rig.animation_data.action.name.endswith(".preview") and "take_07" not in bpy.data.actions
    finally:
        libs.remove(lib)


def test_the_armature_gets_the_pose_the_engine_gives_the_rig_file(rig):
    """The armature (Blender's rest frames, Z up) and the rig's BVH (identity rests, Y up)
    end up in the same pose: hand and foot heights above the pelvis agree per frame."""
    import bpy

    from motiondna import api
    from motiondna.blender_motiondna.io import armature_io
    from motiondna.engine.library import clips, fromtext, retarget
    report = api.generator_from_text(rig, "jumping jacks")
    on_armature = armature_io.read_motion(rig, bpy.data.actions[report["action"]])
    motion, _ = fromtext.source_motion("jumping jacks")
    on_file = retarget.retarget(motion, clips.read_clip(MIXAMO_STYLE).skeleton).motion
    a, b = on_armature.positions(), on_file.positions()
    for bone in ("mixamorig:LeftHand", "mixamorig:RightFoot", "mixamorig:Head"):
        ja, jb = on_armature.skeleton.index(bone), on_file.skeleton.index(bone)
        pa, pb = on_armature.skeleton.index("mixamorig:Hips"), on_file.skeleton.index("mixamorig:Hips")
        za = a[:, ja, 2] - a[:, pa, 2]                       # Blender: Z up
        yb = b[:, jb, 1] - b[:, pb, 1]                       # the BVH: Y up (same units: the importer's scale 1)
        assert np.abs(za - yb).max() < 0.5                    # cm
