"""Joint targets as empties: create, find, remove, and turn into engine targets.

An empty with ``mdna_target.armature`` set is a target for that armature's generator:
"this joint at this empty's position at this frame". An empty whose location is keyed is
a moving target over its keyed range (a ball to catch)."""
import bpy
import numpy as np

from ...engine.motion.targets import Target
from ..io import action_compat, armature_io

TARGET_COLLECTION = "MotionDNA Targets"


def _collection(scene):
    coll = bpy.data.collections.get(TARGET_COLLECTION)
    if coll is None:
        coll = bpy.data.collections.new(TARGET_COLLECTION)
    if coll.name not in scene.collection.children:
        scene.collection.children.link(coll)
    return coll


def bone_head_world(armature, joint, frame=None):
    """World position of a pose bone's head (at ``frame`` if given: evaluates the scene there)."""
    scene = bpy.context.scene
    if frame is not None and frame != scene.frame_current:
        keep = scene.frame_current
        scene.frame_set(frame)
        pos = armature.matrix_world @ armature.pose.bones[joint].head
        scene.frame_set(keep)
        return pos
    return armature.matrix_world @ armature.pose.bones[joint].head


def add_target(armature, joint, frame=None, location=None, scene=None):
    """Create an empty that asks ``joint`` to be at ``location`` (world) at scene ``frame``.

    Defaults: the current frame, and the joint's own position there (drag it from there)."""
    scene = scene or bpy.context.scene
    if armature is None or armature.type != 'ARMATURE':
        raise ValueError("targets belong to an armature: select one")
    if joint not in armature.pose.bones:
        raise ValueError(f"armature '{armature.name}' has no bone named '{joint}'")
    frame = scene.frame_current if frame is None else int(frame)
    if location is None:
        location = bone_head_world(armature, joint, frame)
    empty = bpy.data.objects.new(f"MDNA_{joint}_f{frame}", None)
    empty.empty_display_type = 'SPHERE'
    empty.empty_display_size = max(0.02, 0.03 * max(armature.dimensions))
    empty.location = location
    empty.show_in_front = True
    empty.mdna_target.armature = armature
    empty.mdna_target.joint = joint
    empty.mdna_target.frame = frame
    _collection(scene).objects.link(empty)
    return empty


def default_joint(armature, context=None):
    """The bone a new target is for: the active pose bone, else the armature's active bone."""
    pose_bone = getattr(context, "active_pose_bone", None) if context is not None else None
    if pose_bone is not None and pose_bone.id_data == armature:
        return pose_bone.name
    active = armature.data.bones.active
    return active.name if active is not None else ""


def target_empties(armature):
    return [o for o in bpy.data.objects
            if o.type == 'EMPTY' and o.mdna_target.armature == armature and o.mdna_target.joint]


def remove_target(empty):
    bpy.data.objects.remove(empty, do_unlink=True)


def clear_targets(armature):
    empties = target_empties(armature)
    for e in empties:
        remove_target(e)
    return len(empties)


def _animated_world_positions(empty):
    """Scene frames and world positions of a keyed empty, or None if it is not animated."""
    ad = empty.animation_data
    if ad is None or ad.action is None:
        return None
    curves = [c for c in action_compat.action_fcurves(ad.action, empty) if c.data_path == "location"]
    if not curves:
        return None
    keys = sorted({int(round(k.co[0])) for c in curves for k in c.keyframe_points})
    if len(keys) < 2:
        return None
    frames = np.arange(keys[0], keys[-1] + 1)
    loc = np.array(empty.location, dtype=float)[None].repeat(len(frames), 0)
    for c in curves:
        loc[:, c.array_index] = [c.evaluate(f) for f in frames]
    parent = np.array(empty.parent.matrix_world @ empty.matrix_parent_inverse) if empty.parent else np.eye(4)
    world = loc @ parent[:3, :3].T + parent[:3, 3]
    return frames, world


def collect_targets(armature, skeleton, clip_frame_start, num_frames):
    """Engine targets (skeleton space, clip frames) from the armature's enabled target empties.

    Returns (targets, skipped) where skipped lists (empty name, reason) for targets that
    cannot apply, so the caller can tell the user instead of silently ignoring them."""
    targets, skipped = [], []
    bpy.context.view_layer.update()  # new or just-moved empties: matrix_world is stale until evaluated
    for empty in target_empties(armature):
        t = empty.mdna_target
        if not t.enabled or t.weight <= 0.0:
            continue
        if t.joint not in skeleton.names:
            skipped.append((empty.name, f"the generator has no joint '{t.joint}'"))
            continue
        animated = _animated_world_positions(empty)
        if animated is None:
            frames = np.array([t.frame])
            world = np.array(empty.matrix_world.translation)[None]
        else:
            frames, world = animated
        if not np.all(np.isfinite(world)):
            skipped.append((empty.name, "its position is not a finite number (NaN or infinite); move it back"))
            continue
        clip_frames = frames - clip_frame_start
        inside = (clip_frames >= 0) & (clip_frames < num_frames)
        if not inside.any():
            skipped.append((empty.name, f"frame {int(frames[0])} is outside the generated range "
                            f"{clip_frame_start}..{clip_frame_start + num_frames - 1}"))
            continue
        points = armature_io.world_to_armature(armature, world[inside])
        targets.append(Target(skeleton.index(t.joint), clip_frames[inside], points, t.weight, empty.name))
    return targets, skipped
