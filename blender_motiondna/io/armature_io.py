"""Armature <-> engine arrays: the skeleton from bone rest matrices, the motion from the
EVALUATED pose (constraints, drivers, NLA included), and new actions from a motion.

Arrays are in armature space (the object's own transform is separate: see
``armature_to_world`` / ``world_to_armature``). Bone scale is ignored (normalised away).
Reading uses the evaluated pose-bone matrices, so every rotation mode, connected or not,
reads the same way; writing keys each bone in its own rotation mode.
"""
import re
import warnings

import bpy
import numpy as np

from ...engine.io.bvh import continuous_euler
from ...engine.motion import quat
from ...engine.motion.skeleton import Motion, Skeleton, forward_kinematics, local_from_world
from . import action_compat as compat

EULER_MODES = ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX")
LINEAR = bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items["LINEAR"].value
LOCATION_TOLERANCE = 2e-6  # x skeleton span: below this a bone's location counts as "at rest"


class MotionIOWarning(UserWarning):
    """Input that can be read but not completely (e.g. an action keying bones the rig lacks)."""


# ---------------------------------------------------------------------------------------
# checks and small helpers

def _check_armature(obj):
    if obj is None:
        raise ValueError("no object given; select an armature")
    if getattr(obj, "type", None) != "ARMATURE":
        raise ValueError(f"'{obj.name}' is a {obj.type.lower()}, not an armature; select the armature")
    if len(obj.data.bones) == 0:
        raise ValueError(f"armature '{obj.name}' has no bones")


def _matrices(collection, prop, n):
    """(n, 4, 4) float64 from a bone collection's 4x4 property (foreach_get is column-major)."""
    buf = np.empty(n * 16, dtype=np.float32)
    collection.foreach_get(prop, buf)
    return buf.reshape(n, 4, 4).transpose(0, 2, 1).astype(np.float64)


def _rotation(m):
    """Quaternions for the 3x3 part of (..., 4, 4) matrices with any scale removed."""
    r = m[..., :3, :3]
    return quat.from_matrix(r / np.maximum(np.linalg.norm(r, axis=-2, keepdims=True), 1e-12))


def _parent_first(names, parent_names):
    """Indices ordering ``names`` so every parent comes first (stable where already so)."""
    pos = {n: i for i, n in enumerate(names)}
    if all(p is None or pos[p] < i for i, p in enumerate(parent_names)):
        return list(range(len(names)))

    def depth(i):
        d, p = 0, parent_names[i]
        while p is not None:
            d, p = d + 1, parent_names[pos[p]]
        return d
    return sorted(range(len(names)), key=depth)


def _bone_tree(obj, keep):
    """Names (parent-first) and parent indices of the bones in ``keep`` (None: all); a
    bone's parent is its nearest kept ancestor."""
    bones = obj.data.bones
    names = [b.name for b in bones if keep is None or b.name in keep]
    kept = set(names)

    def kept_parent(b):
        p = b.parent
        while p is not None and p.name not in kept:
            p = p.parent
        return p.name if p is not None else None

    parent_names = [kept_parent(bones[n]) for n in names]
    order = _parent_first(names, parent_names)
    names = [names[i] for i in order]
    parent_names = [parent_names[i] for i in order]
    pos = {n: i for i, n in enumerate(names)}
    parents = np.array([pos[p] if p is not None else -1 for p in parent_names], dtype=np.int64)
    return names, parents


def _skeleton(obj, keep=None):
    names, parents = _bone_tree(obj, keep)
    all_names = [b.name for b in obj.data.bones]
    rest = _matrices(obj.data.bones, "matrix_local", len(all_names))[[all_names.index(n) for n in names]]
    rot = _rotation(rest)
    head = rest[:, :3, 3]
    rest_rot = rot.copy()
    rest_trans = head.copy()
    child = parents >= 0
    rest_rot[child] = quat.inv_mul(rot[parents[child]], rot[child])
    rest_trans[child] = quat.inv_mul_vec(rot[parents[child]], head[child] - head[parents[child]])
    return Skeleton(names, parents, quat.normalize(rest_rot), rest_trans, up_axis=2)


def skeleton_from_armature(obj, deform_only=False):
    """The armature's skeleton: bone names parent-first, rest frames from bone.matrix_local
    (A_parent^-1 A_j; a root's in armature space), rest scale normalised away, Z up."""
    _check_armature(obj)
    keep = {b.name for b in obj.data.bones if b.use_deform} if deform_only else None
    if deform_only and not keep:
        raise ValueError(f"armature '{obj.name}' has no deform bones")
    return _skeleton(obj, keep)


def armature_to_world(obj, points=None):
    """The object's 4x4 world matrix, or ``points`` (N, 3) in armature space mapped to world."""
    m = np.array(obj.matrix_world, dtype=np.float64)
    if points is None:
        return m
    p = np.asarray(points, dtype=np.float64)
    return p @ m[:3, :3].T + m[:3, 3]


def world_to_armature(obj, points=None):
    """The inverse world matrix, or world ``points`` (N, 3) mapped into armature space."""
    m = np.linalg.inv(np.array(obj.matrix_world, dtype=np.float64))
    if points is None:
        return m
    p = np.asarray(points, dtype=np.float64)
    return p @ m[:3, :3].T + m[:3, 3]


# ---------------------------------------------------------------------------------------
# reading

def frame_range_of(obj, action, frame_range=None):
    """(first, last) scene frames that ``read_motion`` reads: ``frame_range`` checked, or
    the action's range; ValueError for a reversed, one-frame or out-of-action range."""
    if frame_range is None:
        if action is None:
            raise ValueError(f"armature '{obj.name}' has no action; assign one or pass a frame range")
        start, end = action.frame_range
        frame_range = (int(round(start)), int(round(end)))
    try:
        first, last = (int(frame_range[0]), int(frame_range[1]))
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"frame range must be (first, last) frame numbers, got {frame_range!r}") from None
    if last < first:
        raise ValueError(f"frame range {first}-{last} is reversed; the first frame must come first")
    if last - first + 1 < 2:
        raise ValueError(f"frame range {first}-{last} holds 1 frame; a generator needs at least 2 frames")
    if action is not None:
        keyed = tuple(int(round(f)) for f in action.frame_range)
        if first < keyed[0] or last > keyed[1]:
            raise ValueError(f"frame range {first}-{last} reaches outside the action '{action.name}' (keyed "
                             f"{keyed[0]}-{keyed[1]}): outside it the pose is held, not animated")
    return first, last


BONE_PATH = re.compile(r'^pose\.bones\["((?:[^"\\]|\\.)*)"\]')


def _animated_bones(fcurves):
    """Bone names that F-curves animate (their 'pose.bones["..."]' data paths), in order."""
    out = {}
    for fc in fcurves:
        m = BONE_PATH.match(fc.data_path)
        if m:
            out[re.sub(r"\\(.)", r"\1", m.group(1))] = True   # undo escape_identifier
    return list(out)


def _check_action(obj, action):
    """Refuse an action with no keys or made for another rig; warn when only some of its
    bone paths match (a renamed or missing bone animates nothing)."""
    if not isinstance(action, bpy.types.Action):
        raise ValueError(f"expected an action, got {type(action).__name__}")
    fcurves = [fc for fc in compat.action_fcurves(action, obj) if len(fc.keyframe_points)]
    if not fcurves:
        raise ValueError(f"action '{action.name}' has no keyframes for '{obj.name}'; key the armature first")
    animated = _animated_bones(fcurves)
    bones = obj.data.bones
    unmatched = [n for n in animated if bones.get(n) is None]
    if len(unmatched) == len(animated):
        listed = ", ".join(f"'{n}'" for n in unmatched[:5]) + (" ..." if len(unmatched) > 5 else "")
        what = f"its bone channels ({listed}) name no bone" if unmatched else "it keys no bone"
        raise ValueError(f"action '{action.name}' does not fit armature '{obj.name}': {what} of the armature; "
                         "pick the action made for this rig (or rename the bones to match)")
    if unmatched:
        warnings.warn(f"action '{action.name}' keys {len(unmatched)} bone(s) that armature '{obj.name}' lacks "
                      f"(renamed or deleted?): {', '.join(unmatched[:8])}" + (" ..." if len(unmatched) > 8 else "")
                      + "; those channels are ignored", MotionIOWarning, stacklevel=3)
    return unmatched


def _local_from_world(skel, world_rot, world_pos):
    """``skeleton.local_from_world`` for all joints at once (one numpy call per step instead
    of a Python loop over joints: the read path runs it on every frame of a clip)."""
    parents = skel.parents
    child = parents >= 0
    p = np.where(child, parents, 0)
    parent_rot = np.where(child[:, None], world_rot[:, p], quat.identity((1, len(parents))))
    rest = quat.mul(parent_rot, np.broadcast_to(skel.rest_rotations, world_rot.shape))
    rots = quat.inv_mul(rest, world_rot)
    offset = np.where(child[:, None], world_pos - world_pos[:, p], world_pos)
    trans = np.where(child[:, None], quat.inv_mul_vec(parent_rot, offset), world_pos)
    return quat.normalize(rots), trans


class _RigOnlyScene:
    """A temporary scene holding only ``obj`` (linked, not copied): frame changes then
    evaluate the rig and what it depends on (constraint targets, driver sources) but not
    the rest of the user's scene. Removed again on exit."""

    def __init__(self, obj, fps_from):
        self.obj, self.fps_from, self.scene = obj, fps_from, None

    def __enter__(self):
        self.scene = bpy.data.scenes.new("mdna_read")
        self.scene.render.fps, self.scene.render.fps_base = self.fps_from.render.fps, self.fps_from.render.fps_base
        self.scene.collection.objects.link(self.obj)
        return self.scene

    def __exit__(self, *exc):
        bpy.data.scenes.remove(self.scene)


def _sample_pose(obj, scene, frames, n):
    """Evaluated pose-bone matrices (F, n*16) float32, column-major per bone."""
    buf = np.empty((len(frames), n * 16), dtype=np.float32)
    depsgraph = None
    for i, f in enumerate(frames):
        scene.frame_set(int(f))
        if depsgraph is None:   # a new scene's depsgraph exists once it was evaluated
            depsgraph = scene.view_layers[0].depsgraph if scene != bpy.context.scene \
                else bpy.context.evaluated_depsgraph_get()
        obj.evaluated_get(depsgraph).pose.bones.foreach_get("matrix", buf[i])
    return buf


def read_motion(obj, action=None, frame_range=None, deform_only=False, rig_only=False):
    """The evaluated pose of ``obj`` per frame as a Motion in armature space.

    ``action``: evaluated temporarily in place of the active one (restored afterwards).
    ``frame_range``: (first, last) scene frames, inclusive; default the action's range.
    ``rig_only``: evaluate in a temporary scene holding only the armature (and what it
    depends on), so other objects of a heavy scene cost no time; the user's scene is not
    touched at all then (its current frame included).
    Warns (MotionIOWarning) when the action keys bones the armature lacks.
    """
    _check_armature(obj)
    adt = obj.animation_data
    if action is None:
        if adt is None or (adt.action is None and not (frame_range and len(adt.nla_tracks))):
            raise ValueError(f"armature '{obj.name}' has no action (no animation data); assign or pass an action")
        source = adt.action
    else:
        source = action
    unmatched = _check_action(obj, source) if source is not None else []
    first, last = frame_range_of(obj, source, frame_range)
    skeleton = skeleton_from_armature(obj, deform_only)

    user_scene = bpy.context.scene
    saved_frame = (user_scene.frame_current, user_scene.frame_subframe)
    saved_action = compat.active_action_state(obj)
    pose_names = [pb.name for pb in obj.pose.bones]
    sel = np.array([pose_names.index(n) for n in skeleton.names])
    frames = np.arange(first, last + 1)
    try:
        if action is not None:
            compat.assign_action(obj, action)
        if rig_only:
            with _RigOnlyScene(obj, user_scene) as scene:
                buf = _sample_pose(obj, scene, frames, len(pose_names))
        else:
            buf = _sample_pose(obj, user_scene, frames, len(pose_names))
    finally:
        if action is not None:
            compat.restore_action_state(obj, saved_action)
        if rig_only:
            obj.update_tag(refresh={"TIME"})   # the user's depsgraph re-evaluates it at its own frame
        else:
            user_scene.frame_set(saved_frame[0], subframe=saved_frame[1])

    mats = buf.reshape(len(frames), len(pose_names), 4, 4)[:, sel].transpose(0, 1, 3, 2).astype(np.float64)
    bad = ~np.isfinite(mats).all(axis=(1, 2, 3))
    if bad.any():
        raise ValueError(f"the evaluated pose of '{obj.name}' holds NaN or infinite values at frame(s) "
                         f"{frames[bad][:10].tolist()}; check the action's keys, drivers and constraints")
    rot, trans = _local_from_world(skeleton, _rotation(mats), mats[..., :3, 3])
    name = source.name if source is not None else obj.name
    meta = {"frame_start": int(first), "action": source.name if source is not None else None, "armature": obj.name}
    if unmatched:
        meta["unmatched_bones"] = list(unmatched)
    return Motion(skeleton, quat.unroll(rot), trans, user_scene.render.fps / user_scene.render.fps_base, name, meta)


# ---------------------------------------------------------------------------------------
# writing

def _on_armature_rest(motion, skel, mapping=None):
    """Rotations/translations of ``motion`` relative to the armature's own rest frames,
    in ``skel``'s joint order (converted through world space when the rests differ).
    ``mapping``: ``_rest_mapping``'s answer for these skeletons, when already known."""
    src = motion.skeleton
    idx, same = mapping or _rest_mapping(src, skel)
    if same:
        return motion.rotations[:, idx], motion.translations[:, idx]
    # Same pose, other rest frames: carry each joint's world DELTA from rest over
    # (G_dst = G_src W_src^-1 W_dst), not its world frame, so a bone whose rest axes
    # differ from the motion's joint frame still turns by the same rotation.
    w_rot, w_pos = forward_kinematics(src, motion.rotations, motion.translations)
    w_src, w_dst = _rest_world_rotations(src)[idx], _rest_world_rotations(skel)
    w_rot = quat.mul(quat.mul(w_rot[:, idx], quat.inv(w_src)), w_dst)
    return local_from_world(skel, w_rot, w_pos[:, idx])


def _rest_mapping(src, skel):
    """(indices of ``skel``'s joints in ``src``, whether both share their rest frames)."""
    idx = [src.names.index(n) for n in skel.names]
    same = bool(np.array_equal(src.parents[idx], np.where(skel.parents >= 0, np.array(idx)[skel.parents], -1))
                and np.all(np.abs(np.sum(src.rest_rotations[idx] * skel.rest_rotations, -1)) > 1 - 1e-9)
                and np.allclose(src.rest_translations[idx], skel.rest_translations,
                                atol=1e-6 * max(skel.span(), 1e-6)))
    return idx, same


def _rest_world_rotations(skel):
    rot = np.array(skel.rest_rotations, dtype=np.float64)
    for j, p in enumerate(skel.parents):
        if p >= 0:
            rot[j] = quat.mul(rot[p], skel.rest_rotations[j])
    return rot


def _quaternion_keys(q):
    q = quat.unroll(q)
    return q * np.where(q[:1, ..., :1] < 0, -1.0, 1.0)


def _euler_keys(q, mode):
    """Blender Euler mode 'XYZ' applies X first (R = Rz Ry Rx): intrinsic 'ZYX' reversed."""
    ang = continuous_euler(q, mode[::-1], ref=np.zeros(3))
    return ang[..., [mode[::-1].index(a) for a in "XYZ"]]


def _axis_angle_keys(q):
    q = _quaternion_keys(q)
    s = np.linalg.norm(q[..., 1:], axis=-1)
    angle = 2.0 * np.arctan2(s, q[..., 0])
    axis = q[..., 1:] / np.maximum(s, 1e-12)[..., None]
    # No rotation has no axis: keep the previous frame's (Blender's default is +Y).
    valid = s > 1e-9
    frame = np.arange(len(q)).reshape((-1,) + (1,) * (q.ndim - 2))
    last = np.maximum.accumulate(np.where(valid, frame, -1), axis=0)
    axis = np.where((last >= 0)[..., None], np.take_along_axis(axis, np.maximum(last, 0)[..., None], 0),
                    np.array([0.0, 1.0, 0.0]))
    return np.concatenate([angle[..., None], axis], -1)


def _rotation_keys(q, mode):
    """(property, values (F, J, K)) for rotations q (F, J, 4) of bones in one rotation mode."""
    if mode == "QUATERNION":
        return "rotation_quaternion", _quaternion_keys(q)
    if mode == "AXIS_ANGLE":
        return "rotation_axis_angle", _axis_angle_keys(q)
    if mode in EULER_MODES:
        return "rotation_euler", _euler_keys(q, mode)
    raise ValueError(f"unsupported rotation mode '{mode}'")


def _location_keys(obj, skel, trans):
    """Pose-bone locations (F, J, 3): the head's offset from rest, in the bone's rest frame;
    with 'Local Location' off Blender applies it in the parent's (posed) axes — armature
    axes for a root — which is where the engine's translations already live."""
    delta = trans - skel.rest_translations
    loc = quat.inv_mul_vec(skel.rest_rotations, delta)
    for j, n in enumerate(skel.names):
        if not obj.data.bones[n].use_local_location:
            loc[:, j] = delta[:, j]
    return loc


def _curves(obj, skel, rot, trans):
    """[(data path, index, bone, values (F,))] for every F-curve to write, bone by bone."""
    modes = [obj.pose.bones[n].rotation_mode for n in skel.names]
    rot_keys = {}
    for mode in set(modes):
        js = [j for j, m in enumerate(modes) if m == mode]
        prop, values = _rotation_keys(rot[:, js], mode)
        for k, j in enumerate(js):
            rot_keys[j] = (prop, values[:, k])
    loc = _location_keys(obj, skel, trans)
    extent = np.abs(loc).max(axis=0)  # (J, 3): reduce over time first (fast axis)
    moved = np.maximum(np.maximum(extent[:, 0], extent[:, 1]), extent[:, 2]) > LOCATION_TOLERANCE * max(skel.span(), 1e-6)
    out = []
    for j, bone in enumerate(skel.names):
        path = f'pose.bones["{bpy.utils.escape_identifier(bone)}"]'
        prop, values = rot_keys[j]
        out += [(f"{path}.{prop}", k, bone, values[:, k]) for k in range(values.shape[1])]
        if skel.parents[j] < 0 or moved[j]:
            out += [(f"{path}.location", k, bone, loc[:, j, k]) for k in range(3)]
    return out


def _key_rows(curves, frames):
    """(C, 2F) float32 (frame, value) pairs, one row per curve, as keyframe 'co' wants them."""
    co = np.empty((len(curves), 2 * len(frames)), dtype=np.float32)
    co[:, 0::2] = frames
    co[:, 1::2] = np.stack([c[3] for c in curves])
    return co


def _fill_keys(fc, row, n, select):
    kp = fc.keyframe_points
    kp.add(n)
    kp.foreach_set("co", row)
    kp.foreach_set("interpolation", np.full(n, LINEAR, dtype=np.int32))
    if not select:
        kp.foreach_set("select_control_point", np.zeros(n, dtype=bool))
    fc.update()


def _write_curves(container, curves, co, obj, select):
    """Bulk keys. Where Blender can copy an F-curve (5.0), every curve is copied from a
    template that already holds n linear keys and only 'co' is set: adding keys and
    setting their interpolation per curve is most of the cost of writing."""
    n = co.shape[1] // 2
    if not compat.CAN_COPY_FCURVE:
        for (path, index, group, _), row in zip(curves, co):
            _fill_keys(compat.container_new_fcurve(container, path, index, group), row, n, select)
        return
    scratch = bpy.data.actions.new("mdna_template")
    try:
        bag = compat.new_fcurves_container(scratch, obj)
        templates = {}
        for _, index, _, _ in curves:
            if index not in templates:
                templates[index] = bag.fcurves.new("mdna", index=index)
                _fill_keys(templates[index], co[0], n, select)
        for (path, index, group, _), row in zip(curves, co):
            fc = compat.container_copy_fcurve(container, templates[index], path, group)
            fc.keyframe_points.foreach_set("co", row)
            fc.update()   # handles follow the new values (they matter if a key turns Bezier)
    finally:
        bpy.data.actions.remove(scratch)


def _rewrite_in_place(container, curves, co):
    """Overwrite the keys of an earlier result when it has exactly these curves with the
    same number of keys (live regeneration): no F-curve or key is created. False when
    the layout differs."""
    existing = {(fc.data_path, fc.array_index): fc for fc in container.fcurves}
    n = co.shape[1] // 2
    if len(existing) != len(curves):
        return False
    fcs = [existing.get((path, index)) for path, index, _, _ in curves]
    if any(fc is None or len(fc.keyframe_points) != n for fc in fcs):
        return False
    for fc, row in zip(fcs, co):
        # Frames are unchanged and keys are LINEAR: playback ignores handles, so a drag
        # skips the re-sort/handle pass (fc.update, most of the cost); settle_handles()
        # recomputes them once the result is kept.
        fc.keyframe_points.foreach_set("co", row)
    return True


def settle_handles(action, obj):
    """Recompute handles of every curve (after live rewrites), so switching the kept
    result to Bezier interpolation later starts from correct handles."""
    for fc in compat.action_fcurves(action, obj):
        fc.update()


def _reset_pose(obj, names):
    """Rest values on the pose channels of the written bones and their ancestors, so
    channels the new action does not key (scale, a location at rest, a non-deform bone
    between two written ones) do not keep stale values from the old action."""
    todo = set()
    for n in names:
        bone = obj.data.bones[n]
        while bone is not None and bone.name not in todo:
            todo.add(bone.name)
            bone = bone.parent
    for n in todo:
        pb = obj.pose.bones[n]
        pb.location = (0.0, 0.0, 0.0)
        pb.rotation_quaternion = (1.0, 0.0, 0.0, 0.0)
        pb.rotation_euler = (0.0, 0.0, 0.0)
        pb.rotation_axis_angle = (0.0, 0.0, 1.0, 0.0)
        pb.scale = (1.0, 1.0, 1.0)


GENERATED_KEY = "mdna_generated"   # marks actions written here: the only ones ever rewritten


def write_action(obj, motion, name=None, frame_start=None, as_nla=False, select=True, action=None):
    """A NEW action ``<source>.mdna`` holding ``motion`` (linear keys, one per frame, in each
    bone's rotation mode; location keys where a bone leaves its rest position and always on
    a root). The source action is never touched. Assigned to ``obj`` (with its slot), or
    pushed as a strip on a new NLA track when ``as_nla``.

    ``action``: rewrite this earlier result in place instead (live regeneration keeps one
    result action); only actions written by this function are accepted. When its curves
    and key count match, only the key values are overwritten (fast path for dragging).
    """
    _check_armature(obj)
    if not isinstance(motion, Motion):
        raise ValueError(f"expected a Motion, got {type(motion).__name__}")
    motion.validate()
    if action is not None and not action.get(GENERATED_KEY):
        raise ValueError(f"refusing to overwrite action '{action.name}': it was not written by MotionDNA "
                         "(source actions are never modified)")
    bone_names = {b.name for b in obj.data.bones}
    missing = [n for n in motion.skeleton.names if n not in bone_names]
    if missing:
        raise ValueError(f"armature '{obj.name}' has no bone(s) {', '.join(missing[:8])} that the motion animates")
    skel = _skeleton(obj, set(motion.skeleton.names))
    rot, trans = _on_armature_rest(motion, skel)
    if frame_start is None:
        frame_start = motion.meta.get("frame_start", 1)
    frames = float(frame_start) + np.arange(motion.num_frames)
    curves = _curves(obj, skel, rot, trans)

    if action is None:
        source = motion.meta.get("action") or motion.name or obj.name
        source = re.sub(r"\.mdna(\.\d+)?$", "", source)   # regenerated again: walk.mdna.001, not walk.mdna.mdna
        action = bpy.data.actions.new(name or f"{source}.mdna")
        action[GENERATED_KEY] = True
        try:
            _write_curves(compat.new_fcurves_container(action, obj), curves, _key_rows(curves, frames), obj, select)
        except BaseException:
            bpy.data.actions.remove(action)
            raise
    else:
        container = compat.new_fcurves_container(action, obj)
        co = _key_rows(curves, frames)
        if _rewrite_in_place(container, curves, co):
            # Blender 4.2 keeps evaluating the old key values until the action itself is
            # tagged; the object tag re-evaluates the pose from them.
            action.update_tag()
            obj.update_tag(refresh={'TIME'})
        else:
            compat.clear_fcurves(action, obj)
            _write_curves(compat.new_fcurves_container(action, obj), curves, co, obj, select)
    _reset_pose(obj, skel.names)
    if as_nla:
        compat.push_nla_strip(obj, action, frames[0])
    else:
        compat.assign_action(obj, action)
    return action


# ---------------------------------------------------------------------------------------
# one pose at a time (Play Live)

_CHANNEL_WIDTHS = {"rotation_quaternion": 4, "rotation_euler": 3, "rotation_axis_angle": 4, "location": 3}


def _rotation_property(mode):
    """The pose-bone property a rotation mode reads."""
    return {"QUATERNION": "rotation_quaternion", "AXIS_ANGLE": "rotation_axis_angle"}.get(mode, "rotation_euler")


def _pose_rotation(q, mode):
    """One frame's channel values (J, K) for rotations q (J, 4) in a rotation mode: any
    Euler solution poses a bone the same (keys need continuity, a pose does not)."""
    if mode == "QUATERNION":
        return q
    if mode == "AXIS_ANGLE":
        return _axis_angle_keys(q[None])[0]
    return quat.to_euler(q, mode[::-1])[..., [mode[::-1].index(a) for a in "XYZ"]]


class PoseWriter:
    """Writes one frame of a motion of ``skeleton`` to ``obj``'s pose bones (their channels,
    not keys), a few bulk ``foreach_set`` calls per frame. Everything that does not change
    from frame to frame (bone order, rotation modes, rest frames) is worked out once here.

    Pose bones the skeleton does not drive keep the values they have (what the action
    posed there this frame); the driven bones' scale is set to 1 once. ``write`` takes the object each time (an
    undo replaces it with a new one of the same name and bones)."""

    def __init__(self, obj, skeleton):
        _check_armature(obj)
        missing = [n for n in skeleton.names if n not in obj.pose.bones]
        if missing:
            raise ValueError(f"armature '{obj.name}' has no bone(s) {', '.join(missing[:8])} that the motion animates")
        self.skeleton = skeleton
        self.rig = _skeleton(obj, set(skeleton.names))
        self.mapping = _rest_mapping(skeleton, self.rig)
        pose_names = [pb.name for pb in obj.pose.bones]
        self.rows = np.array([pose_names.index(n) for n in self.rig.names])
        modes = [obj.pose.bones[n].rotation_mode for n in self.rig.names]
        self.groups = [(mode, np.array([j for j, m in enumerate(modes) if m == mode])) for mode in sorted(set(modes))]
        self.local_location = np.array([obj.data.bones[n].use_local_location for n in self.rig.names])
        self.buffers = {}
        for prop in {_rotation_property(mode) for mode, _ in self.groups} | {"location"}:
            buf = np.empty(len(pose_names) * _CHANNEL_WIDTHS[prop], dtype=np.float32)
            obj.pose.bones.foreach_get(prop, buf)
            self.buffers[prop] = buf.reshape(len(pose_names), -1)
        scale = np.empty(len(pose_names) * 3, dtype=np.float32)
        obj.pose.bones.foreach_get("scale", scale)
        scale.reshape(-1, 3)[self.rows] = 1.0
        obj.pose.bones.foreach_set("scale", scale)

    def channels(self, rotations, translations):
        """{pose-bone property: (B, K) values for every pose bone} for one frame's local
        rotations (J, 4) and translations (J, 3) of ``skeleton``."""
        # (a one-frame Motion: its frame rate plays no part)
        motion = Motion(self.skeleton, np.asarray(rotations, float)[None], np.asarray(translations, float)[None], 30.0)
        rot, trans = _on_armature_rest(motion, self.rig, self.mapping)
        for mode, js in self.groups:
            self.buffers[_rotation_property(mode)][self.rows[js]] = _pose_rotation(rot[0, js], mode)
        delta = trans[0] - self.rig.rest_translations
        loc = quat.inv_mul_vec(self.rig.rest_rotations, delta)
        self.buffers["location"][self.rows] = np.where(self.local_location[:, None], loc, delta)
        return self.buffers

    def write(self, obj, rotations, translations):
        """Pose ``obj``'s bones for one frame and tag it for re-evaluation."""
        bones = obj.pose.bones
        for prop, values in self.buffers.items():   # the bones it does not drive, as they are
            bones.foreach_get(prop, values.ravel())
        for prop, values in self.channels(rotations, translations).items():
            bones.foreach_set(prop, values.ravel())
        obj.update_tag()
