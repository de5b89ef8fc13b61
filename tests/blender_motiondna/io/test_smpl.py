"""SMPL-family motion: kinematic trees, the default skeleton, exact joints and poses
against smplx on a tiny synthetic SMPL-format body model (real models are licensed and
absent here), AMASS .npz in and out, and bad files. Engine side (no bpy) plus the Blender
armature built from it."""
import bpy
import numpy as np
import pytest

from motiondna.blender_motiondna.io import armature_io as aio
from motiondna.blender_motiondna.io import smpl_io
from motiondna.engine.io import smpl
from motiondna.engine.motion import quat

SMPL_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]


def synthetic_model(path, joints=24, vertices=60, betas=10, seed=0):
    """An SMPL-format body model with random geometry (same keys/shapes as the real one)."""
    rng = np.random.default_rng(seed)
    reg = rng.uniform(0, 1, (joints, vertices)) * (rng.uniform(0, 1, (joints, vertices)) > 0.7)
    reg[:, 0] += 1e-3
    kintree = np.array([[2 ** 32 - 1] + SMPL_PARENTS[1:], list(range(joints))], dtype=np.uint32)
    weights = rng.uniform(0, 1, (vertices, joints))
    arrays = {"v_template": rng.normal(0, 0.5, (vertices, 3)),
              "shapedirs": rng.normal(0, 0.02, (vertices, 3, betas)),
              "posedirs": rng.normal(0, 0.01, (vertices, 3, 9 * (joints - 1))),
              "J_regressor": reg / reg.sum(1, keepdims=True),
              "weights": weights / weights.sum(1, keepdims=True),
              "kintree_table": kintree,
              "f": rng.integers(0, vertices, (40, 3)).astype(np.uint32)}
    np.savez(path, **arrays)
    return arrays


def amass_clip(path, frames=12, width=72, betas=10, seed=1, fps=60.0, **extra):
    rng = np.random.default_rng(seed)
    arrays = {"poses": rng.normal(0, 0.4, (frames, width)), "trans": rng.normal(0, 0.3, (frames, 3)),
              "betas": rng.normal(0, 1.0, betas), "mocap_framerate": np.array(fps), "gender": np.array("female")}
    arrays.update(extra)
    np.savez(path, **arrays)
    return arrays


def smplx_joints(model_arrays, clip):
    """Joints (F, 24, 3) in the model/clip frame computed by smplx itself."""
    import smplx
    import torch
    from smplx.utils import Struct
    tiny = {"nose": 0, "reye": 1, "leye": 2, "rear": 3, "lear": 4}   # extra joints must exist in 60 vertices
    model = smplx.SMPL("unused", data_struct=Struct(**model_arrays), num_betas=len(clip["betas"]),
                       dtype=torch.float64, vertex_ids=tiny, use_feet_keypoints=False, use_hands=False)
    p = torch.tensor(clip["poses"], dtype=torch.float64)
    out = model(betas=torch.tensor(clip["betas"][None], dtype=torch.float64).expand(len(p), -1),
                global_orient=p[:, :3], body_pose=p[:, 3:72], transl=torch.tensor(clip["trans"], dtype=torch.float64))
    return out.joints[:, :24].detach().numpy()


def test_kinematic_trees():
    pytest.importorskip("smplx")
    from smplx.joint_names import JOINT_NAMES, SMPLH_JOINT_NAMES
    assert {t: len(smpl.joint_names(t)) for t in smpl.MODEL_TYPES} == {"smpl": 24, "smplh": 52, "smplx": 55, "body": 22}
    assert smpl.joint_parents("smpl").tolist() == SMPL_PARENTS
    assert smpl.joint_names("smplx") == JOINT_NAMES[:55]
    assert smpl.joint_names("smplh") == SMPLH_JOINT_NAMES[:52]
    for t in smpl.MODEL_TYPES:
        parents = smpl.joint_parents(t)
        assert all(p < j for j, p in enumerate(parents))
    px = smpl.joint_parents("smplx")
    names = smpl.joint_names("smplx")
    assert names[px[names.index("left_index1")]] == "left_wrist"
    assert names[px[names.index("right_thumb3")]] == "right_thumb2"
    assert names[px[names.index("jaw")]] == "head"


def test_default_skeleton_is_a_standing_symmetric_body():
    joints = smpl.default_joints("smpl")
    names = smpl.joint_names("smpl")
    height = joints[names.index("head"), 1] - joints[names.index("left_foot"), 1]
    assert 1.2 < height < 1.8                      # metres, Y up
    for j, n in enumerate(names):                  # left/right mirror within 2.5 cm
        if n.startswith("left_"):
            k = names.index("right_" + n[5:])
            assert np.abs(joints[j] * [-1, 1, 1] - joints[k]).max() < 0.025, n
    skel = smpl.skeleton("smpl", joints)
    rest = skel.rest_positions()
    assert rest[names.index("head"), 2] > rest[0, 2] > rest[names.index("left_ankle"), 2]   # Z up in the engine
    with pytest.raises(ValueError, match="no default skeleton"):
        smpl.default_joints("smplx")


def test_joints_and_poses_match_smplx_exactly(tmp_path):
    pytest.importorskip("smplx")
    model = synthetic_model(tmp_path / "SMPL_TEST.npz")
    clip = amass_clip(tmp_path / "clip.npz")
    expected = smplx_joints(model, clip)                 # model frame (Y up)
    loaded = smpl.load_model(tmp_path / "SMPL_TEST.npz")
    np.testing.assert_allclose(smpl.joints_from_model(loaded, clip["betas"]),
                               smplx_joints(model, {**clip, "poses": np.zeros_like(clip["poses"]),
                                                    "trans": np.zeros_like(clip["trans"])})[0], atol=1e-6)   # smplx keeps model arrays in float32
    motion = smpl.read_amass(tmp_path / "clip.npz", model=loaded, up="Y")
    assert motion.skeleton.names == smpl.joint_names("smpl") and motion.fps == 60.0
    np.testing.assert_allclose(motion.positions(), expected @ smpl.Y_UP_TO_Z_UP.T, atol=1e-6)   # smplx keeps model arrays in float32
    z_up = smpl.read_amass(tmp_path / "clip.npz", model=loaded, up="Z")   # AMASS: data already Z up
    np.testing.assert_allclose(z_up.positions(), expected, atol=1e-6)   # smplx keeps model arrays in float32


@pytest.mark.parametrize("up", ["Z", "Y"])
def test_amass_round_trip(tmp_path, up):
    clip = amass_clip(tmp_path / "clip.npz", frames=20)
    motion = smpl.read_amass(tmp_path / "clip.npz", up=up)
    assert motion.meta["joints_source"] == "default" and motion.num_frames == 20
    out = smpl.write_amass(tmp_path / "out.npz", motion, up=up)
    back = smpl.read_amass_arrays(tmp_path / "out.npz")
    assert back["fps"] == 60.0 and back["gender"] == "female" and back["poses"].shape == (20, 72)
    np.testing.assert_allclose(back["betas"], clip["betas"])
    np.testing.assert_allclose(back["trans"], clip["trans"], atol=1e-6)   # smplx keeps model arrays in float32
    q_in = quat.from_scaled_axis(clip["poses"].reshape(20, 24, 3))
    q_out = quat.from_scaled_axis(out["poses"].reshape(20, 24, 3))
    assert np.abs(np.abs(np.sum(q_in * q_out, -1)) - 1).max() < 1e-9


def test_smplh_without_model_keeps_the_body(tmp_path):
    amass_clip(tmp_path / "h.npz", width=156, betas=16)
    with pytest.warns(UserWarning, match="30 hand/face joints"):
        motion = smpl.read_amass(tmp_path / "h.npz")
    assert motion.skeleton.num_joints == 22 and len(motion.meta["dropped_joints"]) == 30


@pytest.mark.parametrize("case, match", [
    ({"drop": "trans"}, "lacks trans"),
    ({"drop": "mocap_framerate"}, "lacks mocap_framerate"),
    ({"poses": np.zeros((5, 70))}, "poses has shape"),
    ({"trans": np.zeros((4, 3))}, "trans has shape"),
    ({"poses": np.full((12, 72), np.nan)}, "NaN or infinite"),
    ({"mocap_framerate": np.array(0.0)}, "not a positive"),
    ({"gender": np.array([{"a": 1}], dtype=object)}, "no pickle"),
])
def test_bad_amass_files_are_refused(tmp_path, case, match):
    arrays = amass_clip(tmp_path / "x.npz")
    drop = case.pop("drop", None)
    arrays.update(case)
    arrays.pop(drop, None)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=match):
        smpl.read_amass(tmp_path / "bad.npz")


def test_bad_model_files_are_refused(tmp_path):
    with pytest.raises(ValueError, match="no pickle"):
        smpl.load_model(tmp_path / "SMPL_NEUTRAL.pkl")
    np.savez(tmp_path / "m.npz", v_template=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="missing shapedirs, J_regressor"):
        smpl.load_model(tmp_path / "m.npz")
    model = synthetic_model(tmp_path / "SMPL_TEST.npz")
    amass_clip(tmp_path / "x.npz", width=165)
    with pytest.raises(ValueError, match="SMPLX .* body model is SMPL"):
        smpl.read_amass(tmp_path / "x.npz", model=smpl.load_model(tmp_path / "SMPL_TEST.npz"))
    assert model["J_regressor"].shape == (24, 60)


# ---------------------------------------------------------------------------------------
# Blender side

def test_import_amass_into_blender_is_exact(fresh_scene, tmp_path):
    synthetic_model(tmp_path / "SMPL_TEST.npz", vertices=80)
    clip = amass_clip(tmp_path / "clip.npz", frames=15, fps=30.0)
    obj = smpl_io.import_amass(tmp_path / "clip.npz", model_path=tmp_path / "SMPL_TEST.npz", with_mesh=True)
    assert obj.type == "ARMATURE" and len(obj.data.bones) == 24
    assert fresh_scene.render.fps == 30 and tuple(obj.animation_data.action.frame_range) == (1.0, 15.0)
    engine_motion = smpl.read_amass(tmp_path / "clip.npz", model=smpl.load_model(tmp_path / "SMPL_TEST.npz"))
    read = aio.read_motion(obj)
    order = [read.skeleton.names.index(n) for n in engine_motion.skeleton.names]
    np.testing.assert_allclose(read.positions()[:, order], engine_motion.positions(), atol=2e-5)   # float32 keys
    mesh = next(c for c in obj.children if c.type == "MESH")
    assert len(mesh.data.vertices) == 80 and len(mesh.vertex_groups) == 24
    assert mesh.modifiers[0].type == "ARMATURE" and mesh.modifiers[0].object == obj
    # and out again: the armature's action back to the clip's arrays
    out = smpl_io.export_amass(tmp_path / "out.npz", obj)
    np.testing.assert_allclose(out["trans"], clip["trans"], atol=2e-5)
    q_in = quat.from_scaled_axis(clip["poses"].reshape(15, 24, 3))
    q_out = quat.from_scaled_axis(out["poses"].reshape(15, 24, 3))
    assert np.abs(np.abs(np.sum(q_in * q_out, -1)) - 1).max() < 1e-6
    assert bpy.data.objects.get(obj.name) is obj
