"""FBX / glTF / BVH / .npz in through formats.import_motion_file: a BVH-imported rig is
exported with Blender's own FBX and glTF exporters and imported back; the world joint
positions must match the original on every frame.

Tolerances (x skeleton span): FBX 1e-4, glTF 1e-4. Both formats store float32 values and
the exporters re-sample the pose per frame (FBX: bone matrices converted to its own bone
axes and back; glTF: per-frame TRS samples), so round-off of order 1e-6 x span is expected;
1e-4 leaves room without hiding a wrong axis, scale or frame (those cost >= 1e-2)."""
import bpy
import numpy as np
import pytest

from motiondna.blender_motiondna.io import armature_io as aio
from motiondna.blender_motiondna.io import formats

FRAMES = 12
TOL = 1e-4


def write_bvh(path, seed=0):
    """A small Y-up BVH (root motion + 4 joints) with random smooth channels."""
    rng = np.random.default_rng(seed)
    t = np.arange(FRAMES)[:, None] / FRAMES
    channels = 6 + 3 * 4
    values = 40 * np.sin(2 * np.pi * (t * rng.uniform(0.5, 1.5, channels) + rng.uniform(0, 1, channels)))
    values[:, :3] = [0, 90, 0] + 10 * values[:, :3] / 40
    text = """HIERARCHY
ROOT Hips
{
  OFFSET 0 90 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine
  {
    OFFSET 0 20 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT Head
    {
      OFFSET 0 25 5
      CHANNELS 3 Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 0 15 0
      }
    }
  }
  JOINT LeftLeg
  {
    OFFSET 10 -5 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT LeftFoot
    {
      OFFSET 0 -40 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 0 -40 10
      }
    }
  }
}
MOTION
"""
    text += f"Frames: {FRAMES}\nFrame Time: 0.0333333\n"
    text += "\n".join(" ".join(f"{v:.4f}" for v in row) for row in values) + "\n"
    path.write_text(text)
    return path


def world_positions(obj):
    motion = aio.read_motion(obj)
    return motion.skeleton, aio.armature_to_world(obj, motion.positions().reshape(-1, 3)).reshape(
        motion.num_frames, -1, 3)


def compare(original, imported, tol):
    skel_a, pos_a = world_positions(original)
    skel_b, pos_b = world_positions(imported)
    assert pos_a.shape[0] == pos_b.shape[0] == FRAMES
    names = [n for n in skel_a.names if n in skel_b.names]
    assert names == skel_a.names, f"bones lost: {set(skel_a.names) - set(names)}"
    idx = [skel_b.names.index(n) for n in names]
    err = np.abs(pos_a - pos_b[:, idx]).max()
    span = skel_a.span()
    assert err <= tol * span, f"joint positions differ by {err:.3g} (span {span:.3g})"
    return err / span


def export_only(obj, op, path, **kwargs):
    bpy.ops.object.select_all(action="DESELECT")
    obj.select_set(True)
    bpy.context.view_layer.objects.active = obj
    op(filepath=str(path), use_selection=True, **kwargs)


@pytest.fixture
def bvh_rig(fresh_scene, tmp_path):
    obj = formats.import_motion_file(write_bvh(tmp_path / "clip.bvh"))
    fresh_scene.frame_start, fresh_scene.frame_end = 1, FRAMES
    return obj


def test_bvh_through_dispatcher_keeps_the_file(bvh_rig):
    assert bvh_rig.type == "ARMATURE" and len(bvh_rig.data.bones) == 5
    assert aio.read_motion(bvh_rig).num_frames == FRAMES


def test_fbx_round_trip(bvh_rig, tmp_path):
    export_only(bvh_rig, bpy.ops.export_scene.fbx, tmp_path / "clip.fbx", bake_anim=True,
                bake_anim_simplify_factor=0.0, add_leaf_bones=False, bake_anim_use_all_actions=False,
                bake_anim_use_nla_strips=False)
    imported = formats.import_motion_file(tmp_path / "clip.fbx")
    assert imported != bvh_rig and imported.type == "ARMATURE"
    compare(bvh_rig, imported, TOL)


@pytest.mark.parametrize("ext", [".glb", ".gltf"])
def test_gltf_round_trip(bvh_rig, tmp_path, ext):
    export_only(bvh_rig, bpy.ops.export_scene.gltf, tmp_path / f"clip{ext}",
                export_format="GLB" if ext == ".glb" else "GLTF_SEPARATE", export_animations=True,
                export_force_sampling=True, export_optimize_animation_size=False, export_anim_slide_to_zero=False)
    imported = formats.import_motion_file(tmp_path / f"clip{ext}")
    compare(bvh_rig, imported, TOL)


def test_axis_and_scale_options(bvh_rig, tmp_path):
    export_only(bvh_rig, bpy.ops.export_scene.gltf, tmp_path / "clip.glb", export_format="GLB",
                export_force_sampling=True, export_optimize_animation_size=False)
    _, base = world_positions(formats.import_motion_file(tmp_path / "clip.glb"))
    turned = formats.import_motion_file(tmp_path / "clip.glb", axis_forward="Y", axis_up="Z", scale=2.0)
    _, pos = world_positions(turned)
    flip = np.diag([-1.0, -1.0, 1.0])    # forward -Y -> +Y: half a turn about Z
    np.testing.assert_allclose(pos, 2.0 * base @ flip.T, atol=1e-5)
    export_only(bvh_rig, bpy.ops.export_scene.fbx, tmp_path / "clip.fbx", bake_anim_simplify_factor=0.0,
                add_leaf_bones=False)
    _, fbx_base = world_positions(formats.import_motion_file(tmp_path / "clip.fbx"))
    _, fbx_half = world_positions(formats.import_motion_file(tmp_path / "clip.fbx", scale=0.5))
    np.testing.assert_allclose(fbx_half, 0.5 * fbx_base, atol=1e-4)


def test_bad_files_and_options(fresh_scene, tmp_path):
    objects = len(bpy.data.objects)
    with pytest.raises(ValueError, match="unsupported motion file type '.obj'"):
        formats.import_motion_file(tmp_path / "x.obj")
    with pytest.raises(ValueError, match="not found"):
        formats.import_motion_file(tmp_path / "missing.fbx")
    (tmp_path / "junk.fbx").write_bytes(b"not an fbx at all")
    with pytest.raises(ValueError, match="junk.fbx"):
        formats.import_motion_file(tmp_path / "junk.fbx")
    write_bvh(tmp_path / "clip.bvh")
    with pytest.raises(ValueError, match="unknown option"):
        formats.import_motion_file(tmp_path / "clip.bvh", axis_up="Z")
    (tmp_path / "clip.glb").write_bytes(b"glTF")
    with pytest.raises(ValueError, match="axes must be"):
        formats.import_motion_file(tmp_path / "clip.glb", axis_up="up")
    with pytest.raises(ValueError, match="scale must be"):
        formats.import_motion_file(tmp_path / "clip.glb", scale=-1)
    np.savez(tmp_path / "clip.npz", poses=np.zeros((3, 72)))
    with pytest.raises(ValueError, match="lacks trans"):
        formats.import_motion_file(tmp_path / "clip.npz")
    assert len(bpy.data.objects) == objects
