"""SMPL / SMPL-H / SMPL-X motion (AMASS-style .npz) in and out of Blender.

``import_amass`` builds an armature with the SMPL kinematic tree (one bone per joint,
head at the joint's rest location, Z up, facing -Y) and keys the clip through
``armature_io.write_action``; with the user's own body-model file the joint locations are
exact for the clip's betas and a skinned mesh can be added (linear blend skinning by the
model's weights; the model's pose-corrective blend shapes are not reproduced). Without a
model file the documented default skeleton of ``engine.smpl`` is used. ``export_amass``
writes an armature's action back to AMASS arrays. Numbers stay in metres; the object's own
transform is not part of the arrays (armature space, like the rest of the add-on).
"""
import os

import bpy
import numpy as np

from ...engine.io import smpl
from . import armature_io

INFO_KEY = "mdna_smpl"
MIN_BONE = 0.01   # metres: leaf bones and bones onto a coincident child get this length


def _bone_tails(skel, heads):
    """A tail per joint: toward its only/first child, else along its parent's direction."""
    tails = np.empty_like(heads)
    for j in range(skel.num_joints):
        kids = skel.children(j)
        if kids:
            d = heads[kids[0]] - heads[j]
        elif skel.parents[j] >= 0:
            d = (heads[j] - heads[skel.parents[j]]) * 0.5
        else:
            d = np.array([0.0, 0.0, 0.1])
        if np.linalg.norm(d) < MIN_BONE:
            d = np.array([0.0, 0.0, MIN_BONE])
        tails[j] = heads[j] + d
    return tails


def build_armature(skel, name="SMPL"):
    """A new armature object (linked to the scene) with one bone per skeleton joint."""
    arm = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, arm)
    bpy.context.scene.collection.objects.link(obj)
    heads = skel.rest_positions()
    tails = _bone_tails(skel, heads)
    view_layer = bpy.context.view_layer
    previous = view_layer.objects.active
    view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        bones = []
        for j, joint in enumerate(skel.names):
            eb = arm.edit_bones.new(joint)
            eb.head, eb.tail, eb.roll = heads[j], tails[j], 0.0
            if skel.parents[j] >= 0:
                eb.parent = bones[skel.parents[j]]
            bones.append(eb)
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
        view_layer.objects.active = previous if previous is not None else obj
    for pb in obj.pose.bones:
        pb.rotation_mode = "QUATERNION"
    return obj


def add_skinned_mesh(obj, model, betas, model_type, names):
    """The body mesh for ``betas`` (Z up like the armature), parented to ``obj`` with an
    armature modifier and one vertex group per joint from the model's skinning weights."""
    if "f" not in model or "weights" not in model:
        raise ValueError("the body-model file has no faces ('f') or skinning weights ('weights'); "
                         "import without a mesh or use the complete model file")
    verts = smpl.shaped_vertices(model, betas) @ smpl.Y_UP_TO_Z_UP.T
    faces = np.asarray(model["f"], dtype=np.int64)
    mesh = bpy.data.meshes.new(f"{obj.name}_body")
    mesh.from_pydata(verts.tolist(), [], faces.tolist())
    mesh.validate()
    body = bpy.data.objects.new(f"{obj.name}_body", mesh)
    bpy.context.scene.collection.objects.link(body)
    body.parent = obj
    weights = np.asarray(model["weights"], dtype=np.float64)[:, :smpl.NUM_JOINTS[model_type]]
    for j, joint in enumerate(names):
        group = body.vertex_groups.new(name=joint)
        for v in np.flatnonzero(weights[:, j] > 1e-6):
            group.add([int(v)], float(weights[v, j]), "REPLACE")
    mod = body.modifiers.new("Armature", "ARMATURE")
    mod.object = obj
    return body


def _set_scene_rate(scene, fps, frames):
    rate = max(1, int(round(fps)))
    scene.render.fps, scene.render.fps_base = rate, rate / fps
    scene.frame_start, scene.frame_end = 1, frames


def import_amass(path, model_path=None, up="Z", with_mesh=None, body_only=False, name=None,
                 update_scene=True):
    """Import an AMASS-style .npz clip as an animated armature (returned).

    ``model_path``: the user's SMPL/SMPL-H/SMPL-X body-model .npz: exact joints for the
    clip's betas and, unless ``with_mesh`` is False, a skinned mesh. None: the documented
    default skeleton (engine/io/smpl.py), no mesh. ``up``: 'Z' for AMASS clips, 'Y' for clips
    in the SMPL model frame. ``update_scene``: set the scene's frame rate and range."""
    model = smpl.load_model(model_path) if model_path is not None else None
    if with_mesh and model is None:
        raise ValueError("a skinned mesh needs your body-model file: pass model_path")
    motion = smpl.read_amass(path, model=model, up=up, body_only=body_only)
    obj = build_armature(motion.skeleton, name or motion.name)
    try:
        action = armature_io.write_action(obj, motion, name=motion.name, frame_start=1)
        del action[armature_io.GENERATED_KEY]   # an imported source clip, not a MotionDNA result
        if model is not None and with_mesh is not False and "f" in model and "weights" in model:
            add_skinned_mesh(obj, model, motion.meta["betas"], motion.meta["model_type"], motion.skeleton.names)
    except BaseException:
        for child in list(obj.children):
            bpy.data.objects.remove(child)
        bpy.data.objects.remove(obj)
        raise
    if update_scene:
        _set_scene_rate(bpy.context.scene, motion.fps, motion.num_frames)
    obj[INFO_KEY] = {"path": os.fspath(path), "up": up, "model_type": motion.meta["model_type"],
                     "betas": [float(b) for b in motion.meta["betas"]], "gender": motion.meta["gender"],
                     "joints_source": motion.meta["joints_source"]}
    return obj


def smpl_info(obj):
    if INFO_KEY not in obj:
        return {}
    raw = obj[INFO_KEY]
    info = {k: raw[k] for k in raw.keys()}
    if "betas" in info:
        info["betas"] = [float(b) for b in info["betas"]]
    return info


def export_amass(path, obj, action=None, up=None, betas=None, gender=None):
    """Write an armature with SMPL joint names (e.g. from ``import_amass``) as an AMASS-style
    .npz: its action (default the active one) read through ``armature_io.read_motion``.
    ``up``/``betas``/``gender`` default to what the import recorded. Returns the arrays."""
    info = smpl_info(obj)
    motion = armature_io.read_motion(obj, action=action)
    return smpl.write_amass(path, motion, up=up or info.get("up", "Z"),
                            betas=betas if betas is not None else info.get("betas"),
                            gender=gender or info.get("gender"))
