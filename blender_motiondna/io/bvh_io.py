"""BVH in and out of Blender, keeping the file's own conventions.

``import_bvh`` parses the file with the engine first (clear errors), picks the importer's
axes from the file's up axis so the character stands up in Blender, runs Blender's own
importer and records on the armature (``obj["mdna_bvh"]``) how file coordinates map to
armature space: p_armature = scale * C @ p_file. ``export_bvh`` writes a motion back with
the input's axes, units, frame time, joint names, hierarchy and channel orders.
"""
import os

import addon_utils
import bpy
import numpy as np

from ...engine.io import bvh as engine_bvh
from ...engine.motion.skeleton import Motion
from . import armature_io

INFO_KEY = "mdna_bvh"
MIN_FPS, MAX_FPS = 0.01, 1000.0


def _ensure_importer():
    if not hasattr(bpy.ops.import_anim, "bvh"):
        addon_utils.enable("io_anim_bvh", default_set=True)


def import_bvh(path, up_axis=None, scale=1.0):
    """Import a BVH file as an animated armature. Returns (armature object, BvhFile, info);
    info = {"axis_matrix" (3x3 file -> armature), "scale", "up_axis", "axis_forward",
    "axis_up", "frame_start", "path"} and is also stored on the object."""
    path = os.fspath(path)
    bvh_file = engine_bvh.read_bvh(path)
    if bvh_file.num_frames < 1:
        raise ValueError(f"{os.path.basename(path)}: the file holds no frames")
    fps = 1.0 / bvh_file.frame_time
    if not MIN_FPS <= fps <= MAX_FPS:  # Blender's scene frame rate is a whole number up to 32767
        raise ValueError(f"{os.path.basename(path)}: its Frame Time {bvh_file.frame_time:g} s is {fps:.3g} frames "
                         f"per second; Blender plays {MIN_FPS:g} to {MAX_FPS:g}")
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale}")
    if up_axis is None:
        up_axis = bvh_file.to_motion().skeleton.up_axis
    forward, up = engine_bvh.import_axes(up_axis)
    _ensure_importer()
    before = set(bpy.data.objects)
    result = bpy.ops.import_anim.bvh(
        filepath=path, axis_forward=forward, axis_up=up, global_scale=float(scale),
        update_scene_fps=True, update_scene_duration=True, rotate_mode="NATIVE", frame_start=1)
    created = [o for o in bpy.data.objects if o not in before and o.type == "ARMATURE"]
    if "FINISHED" not in result or not created:
        raise ValueError(f"{os.path.basename(path)}: Blender's BVH importer failed")
    obj = created[0]
    info = {"path": path, "axis_forward": forward, "axis_up": up, "up_axis": int(up_axis),
            "axis_matrix": engine_bvh.axis_conversion(forward, up), "scale": float(scale), "frame_start": 1}
    store_info(obj, info)
    return obj, bvh_file, info


def store_info(obj, info):
    stored = dict(info)
    stored["axis_matrix"] = [float(x) for x in np.asarray(info["axis_matrix"]).reshape(9)]
    obj[INFO_KEY] = stored


def bvh_info(obj):
    """The file <-> armature mapping recorded by ``import_bvh`` (axis_matrix as 3x3 array)."""
    if INFO_KEY not in obj:
        raise ValueError(f"'{obj.name}' was not imported from a BVH file by MotionDNA (no '{INFO_KEY}' record)")
    raw = obj[INFO_KEY]
    info = {k: raw[k] for k in raw.keys()}
    info["axis_matrix"] = np.array(list(info["axis_matrix"]), dtype=np.float64).reshape(3, 3)
    info["scale"] = float(info["scale"])
    return info


def file_to_armature_points(info, points):
    """Points (..., 3) in file coordinates and units -> armature space."""
    c = np.asarray(info["axis_matrix"], dtype=np.float64).reshape(3, 3)
    return float(info["scale"]) * (np.asarray(points, dtype=np.float64) @ c.T)


def armature_to_file_points(info, points):
    """Inverse of ``file_to_armature_points``."""
    c = np.asarray(info["axis_matrix"], dtype=np.float64).reshape(3, 3)
    return (np.asarray(points, dtype=np.float64) @ c) / float(info["scale"])


def export_bvh(path, obj, action_or_motion=None, template=None, info=None):
    """Write a motion as a BVH with the template's hierarchy, names, offsets, channel
    orders, axes, units and frame time. Returns the file-space Motion written.

    ``export_bvh(path, obj, action_or_motion, template, info)``: an Action of ``obj``, a
    Motion in its armature space, or None for the active action; template and info default
    to the file ``obj`` was imported from. ``export_bvh(path, motion, template, info)``:
    a Motion in armature space, no object needed."""
    if isinstance(obj, Motion):
        obj, action_or_motion, template, info = None, obj, action_or_motion, template
    if info is None:
        if obj is None:
            raise ValueError("export_bvh needs the import info (or the imported armature) to know the file's axes")
        info = bvh_info(obj)
    if template is None:
        template = engine_bvh.read_bvh(info["path"])
    if isinstance(action_or_motion, Motion):
        motion = action_or_motion
    elif obj is not None and (action_or_motion is None or isinstance(action_or_motion, bpy.types.Action)):
        motion = armature_io.read_motion(obj, action=action_or_motion)
    else:
        raise ValueError(f"expected an Action or a Motion, got {type(action_or_motion).__name__}")
    file_motion = engine_bvh.motion_to_file_space(motion, template.skeleton(), info["axis_matrix"], info["scale"])
    engine_bvh.write_bvh(os.fspath(path), template, file_motion)
    return file_motion
