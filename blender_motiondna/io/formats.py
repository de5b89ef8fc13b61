"""Motion files in through Blender's own importers, one entry point by extension.

    import_motion_file(path, **options) -> the imported armature object

- ``.bvh``: ``bvh_io.import_bvh`` (options: up_axis, scale).
- ``.fbx``: ``bpy.ops.import_scene.fbx`` (options: axis_forward, axis_up, scale,
  automatic_bone_orientation, ignore_leaf_bones).
- ``.glb`` / ``.gltf``: ``bpy.ops.import_scene.gltf``. glTF is +Y up by specification and
  the importer always converts to Blender's +Z up, so it has no axis option; ``scale``,
  ``axis_forward`` and ``axis_up`` are applied to the imported object's transform instead
  (the arrays read by ``armature_io`` are in armature space and do not change).
- ``.npz``: ``smpl_io.import_amass`` (options: model_path, up, with_mesh, body_only).

Every importer must create exactly the armature that carries the animation; when a file
holds several armatures the one with an action (most keyed bones) is returned. Nothing
is left behind when the import fails.
"""
import os

import bpy
import numpy as np

from ...engine.io import bvh as engine_bvh
from . import action_compat as compat
from . import armature_io, bvh_io, smpl_io

EXTENSIONS = (".bvh", ".fbx", ".glb", ".gltf", ".npz")
AXES = ("X", "Y", "Z", "-X", "-Y", "-Z")


def _check_path(path):
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in EXTENSIONS:
        raise ValueError(f"{os.path.basename(path)}: unsupported motion file type '{ext or '(none)'}'; "
                         f"use one of {', '.join(EXTENSIONS)}")
    if not os.path.isfile(path):
        raise ValueError(f"motion file not found: {path}")
    return path, ext


def _check_axes(forward, up):
    if forward not in AXES or up not in AXES:
        raise ValueError(f"axes must be one of {', '.join(AXES)}, got forward={forward!r}, up={up!r}")
    if forward.strip("-") == up.strip("-"):
        raise ValueError(f"forward ({forward}) and up ({up}) must be different axes")


def _check_scale(scale):
    if not (isinstance(scale, (int, float)) and np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")


def _keyed_bones(obj):
    action = obj.animation_data.action if obj.animation_data else None
    if action is None:
        return 0
    return len(armature_io._animated_bones(compat.action_fcurves(action, obj)))


def _run_importer(path, op, **kwargs):
    """Run an import operator; return the armature it made (the most animated one)."""
    before = set(bpy.data.objects)
    try:
        result = op(filepath=path, **kwargs)
    except RuntimeError as exc:   # the operators report bad files as RuntimeError
        _remove(set(bpy.data.objects) - before)
        raise ValueError(f"{os.path.basename(path)}: Blender could not import it ({str(exc).strip()})") from None
    created = set(bpy.data.objects) - before
    arms = [o for o in created if o.type == "ARMATURE"]
    if "FINISHED" not in result or not arms:
        _remove(created)
        raise ValueError(f"{os.path.basename(path)} holds no armature; MotionDNA needs an animated skeleton")
    return max(arms, key=_keyed_bones)


def _remove(objects):
    for o in objects:
        bpy.data.objects.remove(o)


def import_fbx(path, axis_forward="-Z", axis_up="Y", scale=1.0, automatic_bone_orientation=False,
               ignore_leaf_bones=False):
    """An FBX through Blender's importer (its own axis/scale conventions: the defaults are
    the importer's, -Z forward and Y up, unit scale with the file's unit settings applied)."""
    path, _ = _check_path(path)
    _check_axes(axis_forward, axis_up)
    _check_scale(scale)
    return _run_importer(path, bpy.ops.import_scene.fbx, axis_forward=axis_forward, axis_up=axis_up,
                         global_scale=float(scale), use_anim=True,
                         automatic_bone_orientation=automatic_bone_orientation,
                         ignore_leaf_bones=ignore_leaf_bones)


def import_gltf(path, axis_forward="-Y", axis_up="Z", scale=1.0):
    """A glTF/GLB through Blender's importer (+Y up in the file -> +Z up, always); the
    axes and scale given here are then applied to the object's transform."""
    path, _ = _check_path(path)
    _check_axes(axis_forward, axis_up)
    _check_scale(scale)
    obj = _run_importer(path, bpy.ops.import_scene.gltf)
    if (axis_forward, axis_up) != ("-Y", "Z") or scale != 1.0:
        c = engine_bvh.axis_conversion("-Y", "Z", axis_forward, axis_up)
        m = np.eye(4)
        m[:3, :3] = scale * c
        obj.matrix_world = [list(r) for r in m @ np.array(obj.matrix_world)]
    return obj


OPTIONS = {".bvh": {"up_axis", "scale"},
           ".fbx": {"axis_forward", "axis_up", "scale", "automatic_bone_orientation", "ignore_leaf_bones"},
           ".glb": {"axis_forward", "axis_up", "scale"}, ".gltf": {"axis_forward", "axis_up", "scale"},
           ".npz": {"model_path", "up", "with_mesh", "body_only", "name", "update_scene"}}


def import_motion_file(path, **options):
    """Import a motion file by its extension (see the module docstring for the options);
    returns the armature object."""
    path, ext = _check_path(path)
    unknown = set(options) - OPTIONS[ext]
    if unknown:
        raise ValueError(f"unknown option(s) for {ext} files: {', '.join(sorted(unknown))}; "
                         f"allowed: {', '.join(sorted(OPTIONS[ext]))}")
    if ext == ".bvh":
        return bvh_io.import_bvh(path, **options)[0]
    if ext == ".fbx":
        return import_fbx(path, **options)
    if ext in (".glb", ".gltf"):
        return import_gltf(path, **options)
    return smpl_io.import_amass(path, **options)
