"""Armature <-> arrays: exactness against Blender's evaluated pose, round trips through
new actions, every rotation mode, transformed objects, and bad input."""
import math
import os

import bpy
import numpy as np
import pytest

from motiondna.blender_motiondna.io import action_compat as compat
from motiondna.blender_motiondna.io import armature_io as aio
from motiondna.engine.motion import quat
from motiondna.engine.motion.skeleton import Motion

from conftest import needs_shared, shared_clips

MODES = ["QUATERNION", "XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX", "AXIS_ANGLE"]
MAX_FRAMES = 200      # long clips: the first 200 frames keep the suite fast
FK_TOL = 1e-4         # x skeleton span
ROUND_TRIP_TOL = 1e-5  # radians, and x skeleton span


# ---------------------------------------------------------------------------------------
# helpers

def world_heads(obj, names, frames):
    """(F, J, 3) world positions of pose-bone heads straight from Blender's evaluated pose."""
    scene = bpy.context.scene
    pose_names = [pb.name for pb in obj.pose.bones]
    sel = [pose_names.index(n) for n in names]
    out = []
    for f in frames:
        scene.frame_set(int(f))
        ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
        buf = np.empty(len(pose_names) * 3, dtype=np.float32)
        ev.pose.bones.foreach_get("head", buf)
        out.append(aio.armature_to_world(obj, buf.reshape(-1, 3)[sel].astype(np.float64)))
    return np.array(out)


def assert_fk_matches_blender(obj, motion, step=1):
    idx = np.arange(0, motion.num_frames, step)
    frames = motion.meta["frame_start"] + idx
    expected = world_heads(obj, motion.skeleton.names, frames)
    got = aio.armature_to_world(obj, motion.positions()[idx])
    span = motion.skeleton.span()
    err = np.abs(expected - got).max()
    assert err <= FK_TOL * span, f"FK differs from Blender's pose by {err:.3g} (span {span:.3g})"


def rotation_angle(a, b):
    dot = np.clip(np.abs(np.sum(a * b, axis=-1)), 0.0, 1.0)
    return 2.0 * np.arctan2(np.sqrt(np.maximum(1.0 - dot * dot, 0.0)), dot)


def assert_same_motion(a, b):
    assert a.skeleton.names == b.skeleton.names
    assert a.num_frames == b.num_frames
    span = a.skeleton.span()
    ang = rotation_angle(a.rotations, b.rotations).max()
    dpos = np.abs(a.translations - b.translations).max()
    assert ang <= ROUND_TRIP_TOL, f"rotations differ by {ang:.3g} rad"
    assert dpos <= ROUND_TRIP_TOL * span, f"translations differ by {dpos:.3g} (span {span:.3g})"


def fcurve_snapshot(action, obj):
    out = {}
    for fc in compat.action_fcurves(action, obj):
        co = np.empty(len(fc.keyframe_points) * 2, dtype=np.float32)
        fc.keyframe_points.foreach_get("co", co)
        out[(fc.data_path, fc.array_index)] = co
    return out


def import_clip(path):
    bpy.ops.import_anim.bvh(filepath=path, update_scene_fps=True, update_scene_duration=True, rotate_mode="NATIVE")
    return bpy.context.view_layer.objects.active


def clip_range(obj):
    start, end = obj.animation_data.action.frame_range
    return int(start), int(min(end, start + MAX_FRAMES - 1))


# ---------------------------------------------------------------------------------------
# real clips

@needs_shared
@pytest.mark.parametrize("path", shared_clips(), ids=os.path.basename)
def test_clip_exact_and_round_trip(fresh_scene, path):
    obj = import_clip(path)
    source = obj.animation_data.action
    before = fcurve_snapshot(source, obj)
    frame_before = fresh_scene.frame_current

    motion = aio.read_motion(obj, frame_range=clip_range(obj))
    assert fresh_scene.frame_current == frame_before
    assert motion.meta == {"frame_start": clip_range(obj)[0], "action": source.name, "armature": obj.name}
    assert math.isclose(motion.fps, fresh_scene.render.fps / fresh_scene.render.fps_base)
    assert_fk_matches_blender(obj, motion, step=7)

    new = aio.write_action(obj, motion)
    assert new != source and new.name.startswith(source.name + ".mdna")
    assert obj.animation_data.action == new
    assert_same_motion(motion, aio.read_motion(obj))

    after = fcurve_snapshot(source, obj)
    assert before.keys() == after.keys()
    assert all(np.array_equal(before[k], after[k]) for k in before), "the source action changed"


# ---------------------------------------------------------------------------------------
# synthetic rigs: roll, a disconnected bone, two roots, a transformed and parented object

BONES = [  # name, head, tail, roll, parent, connected
    ("root", (0.0, 0.0, 0.0), (0.0, 0.2, 1.0), 0.3, None, False),
    ("spine", (0.0, 0.2, 1.0), (0.1, 0.3, 2.0), -0.7, "root", True),
    ("arm", (0.3, 0.2, 1.8), (1.2, 0.1, 1.7), 1.1, "spine", False),
    ("hand", (1.2, 0.1, 1.7), (1.6, -0.2, 1.5), 2.0, "arm", True),
    ("prop", (1.0, 1.0, 0.0), (1.0, 1.3, 0.5), -2.5, "hand", False),
    ("target", (2.0, -1.0, 0.0), (2.0, -1.0, 0.4), 0.8, None, False),
]
MOVING = {"root", "arm", "prop", "target"}   # bones given location keys


def build_rig(mode, frames=10, seed=0):
    scene = bpy.context.scene
    arm = bpy.data.armatures.new("Rig")
    obj = bpy.data.objects.new("Rig", arm)
    scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    for name, head, tail, roll, parent, connected in BONES:
        eb = arm.edit_bones.new(name)
        eb.head, eb.tail, eb.roll = head, tail, roll
        if parent:
            eb.parent = arm.edit_bones[parent]
            eb.use_connect = connected
    bpy.ops.object.mode_set(mode="OBJECT")
    arm.bones["prop"].use_local_location = False   # location in armature axes
    empty = bpy.data.objects.new("Parent", None)
    scene.collection.objects.link(empty)
    empty.location, empty.rotation_euler = (1.0, 2.0, 3.0), (0.1, 0.2, 0.3)
    obj.parent = empty
    obj.location, obj.rotation_euler, obj.scale = (0.5, -0.3, 0.2), (0.4, -0.2, 1.0), (1.2, 0.8, 1.5)

    rng = np.random.default_rng(seed)
    for pb in obj.pose.bones:
        pb.rotation_mode = mode
        for f in range(1, frames + 1):
            if mode == "QUATERNION":
                pb.rotation_quaternion = quat.normalize(rng.normal(size=4))
                pb.keyframe_insert("rotation_quaternion", frame=f)
            elif mode == "AXIS_ANGLE":
                axis = rng.normal(size=3)
                pb.rotation_axis_angle = [rng.uniform(-4, 4)] + list(axis / np.linalg.norm(axis))
                pb.keyframe_insert("rotation_axis_angle", frame=f)
            else:
                pb.rotation_euler = rng.uniform(-math.pi, math.pi, 3)
                pb.keyframe_insert("rotation_euler", frame=f)
            if pb.name in MOVING:
                pb.location = rng.uniform(-0.5, 0.5, 3)
                pb.keyframe_insert("location", frame=f)
    scene.frame_set(1)
    return obj


@pytest.mark.parametrize("mode", MODES)
def test_synthetic_rig_exact_and_round_trip(fresh_scene, mode):
    obj = build_rig(mode)
    source = obj.animation_data.action
    before = fcurve_snapshot(source, obj)

    motion = aio.read_motion(obj)
    assert motion.num_frames == 10 and motion.skeleton.names == [b[0] for b in BONES]
    assert motion.skeleton.parents.tolist() == [-1, 0, 1, 2, 3, -1]
    assert_fk_matches_blender(obj, motion)

    new = aio.write_action(obj, motion, select=False)
    assert_same_motion(motion, aio.read_motion(obj))
    assert all(np.array_equal(before[k], v) for k, v in fcurve_snapshot(source, obj).items())

    prop = {"QUATERNION": "rotation_quaternion", "AXIS_ANGLE": "rotation_axis_angle"}.get(mode, "rotation_euler")
    curves = compat.action_fcurves(new, obj)
    for fc in curves:
        bone = fc.data_path.split('"')[1]
        assert fc.group is not None and fc.group.name == bone
        assert fc.data_path.endswith((prop, "location"))
        kinds = {kp.interpolation for kp in fc.keyframe_points}
        assert kinds == {"LINEAR"}
        assert not any(kp.select_control_point for kp in fc.keyframe_points)
    located = {fc.data_path.split('"')[1] for fc in curves if fc.data_path.endswith("location")}
    assert located == MOVING


def test_quaternion_keys_keep_sign_continuity(fresh_scene):
    obj = build_rig("QUATERNION")
    motion = aio.read_motion(obj)
    flipped = motion.copy()
    flipped.rotations[1::2] *= -1     # same rotations, alternating signs
    new = aio.write_action(obj, flipped)
    q = np.stack([_curve_values(new, obj, 'pose.bones["spine"].rotation_quaternion', i) for i in range(4)], -1)
    assert np.all(np.sum(q[1:] * q[:-1], -1) > 0)


def _curve_values(action, obj, path, index):
    fc = next(f for f in compat.action_fcurves(action, obj) if f.data_path == path and f.array_index == index)
    co = np.empty(len(fc.keyframe_points) * 2, dtype=np.float32)
    fc.keyframe_points.foreach_get("co", co)
    return co[1::2].astype(np.float64)


def test_euler_keys_have_no_jumps(fresh_scene):
    obj = build_rig("XYZ", frames=4)
    # A steady spin about Z through +-180 degrees, then written back as Euler.
    motion = aio.read_motion(obj)
    f = np.linspace(0, 4 * math.pi, 60)
    spin = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), f)
    rot = np.repeat(motion.rotations[:1], 60, axis=0)
    rot[:, 0] = spin
    trans = np.repeat(motion.translations[:1], 60, axis=0)
    new = aio.write_action(obj, Motion(motion.skeleton, rot, trans, motion.fps, "spin", {"frame_start": 1}))
    z = _curve_values(new, obj, 'pose.bones["root"].rotation_euler', 2)
    assert np.abs(np.diff(z)).max() < 0.5
    assert_same_motion(Motion(motion.skeleton, rot, trans, motion.fps), aio.read_motion(obj))


def test_reads_evaluated_pose_with_constraints(fresh_scene):
    obj = build_rig("XYZ")
    con = obj.pose.bones["hand"].constraints.new("COPY_ROTATION")
    con.target, con.subtarget = obj, "target"
    motion = aio.read_motion(obj)
    assert_fk_matches_blender(obj, motion)
    obj.pose.bones["hand"].constraints.remove(con)
    plain = aio.read_motion(obj)
    assert rotation_angle(plain.rotations[:, 3], motion.rotations[:, 3]).max() > 0.1


def test_read_with_other_action_restores_state(fresh_scene):
    obj = build_rig("QUATERNION")
    first = obj.animation_data.action
    slot = obj.animation_data.action_slot if compat.SLOTTED else None
    other = aio.write_action(obj, aio.read_motion(obj).slice(2, 8), name="other", frame_start=5)
    compat.assign_action(obj, first, slot)
    fresh_scene.frame_set(3)
    motion = aio.read_motion(obj, action=other)
    assert obj.animation_data.action == first and fresh_scene.frame_current == 3
    if compat.SLOTTED:
        assert obj.animation_data.action_slot == slot
    assert motion.meta["action"] == "other" and motion.meta["frame_start"] == 5 and motion.num_frames == 6
    reference = aio.read_motion(obj).slice(2, 8)
    assert_same_motion(reference, motion)


def test_write_as_nla_keeps_active_action(fresh_scene):
    obj = build_rig("ZXY")
    source = obj.animation_data.action
    tracks = len(obj.animation_data.nla_tracks)
    new = aio.write_action(obj, aio.read_motion(obj), as_nla=True)
    assert obj.animation_data.action == source
    assert len(obj.animation_data.nla_tracks) == tracks + 1
    strip = obj.animation_data.nla_tracks[-1].strips[0]
    assert strip.action == new and strip.frame_start == 1


def test_deform_only_skips_control_bones(fresh_scene):
    obj = build_rig("XYZ")
    obj.data.bones["arm"].use_deform = False     # a bone between two deform bones
    motion = aio.read_motion(obj, deform_only=True)
    assert "arm" not in motion.skeleton.names
    assert motion.skeleton.parents[motion.skeleton.index("hand")] == motion.skeleton.index("spine")
    assert_fk_matches_blender(obj, motion)

    obj.data.bones["arm"].use_deform = True
    obj.data.bones["target"].use_deform = False  # a control bone nothing hangs from
    motion = aio.read_motion(obj, deform_only=True)
    new = aio.write_action(obj, motion)
    assert not any('"target"' in fc.data_path for fc in compat.action_fcurves(new, obj))
    assert_same_motion(motion, aio.read_motion(obj, deform_only=True))


def test_object_space_helpers_are_inverse(fresh_scene):
    obj = build_rig("XYZ")
    pts = np.random.default_rng(1).normal(size=(5, 3))
    np.testing.assert_allclose(aio.world_to_armature(obj, aio.armature_to_world(obj, pts)), pts, atol=1e-9)
    np.testing.assert_allclose(aio.armature_to_world(obj) @ aio.world_to_armature(obj), np.eye(4), atol=1e-9)


def test_skeleton_rest_matches_bones(fresh_scene):
    obj = build_rig("XYZ")
    skel = aio.skeleton_from_armature(obj)
    heads = np.array([obj.data.bones[n].head_local for n in skel.names])
    np.testing.assert_allclose(skel.rest_positions(), heads, atol=1e-6)
    assert skel.up_axis == 2


# ---------------------------------------------------------------------------------------
# bad input: a clear ValueError and nothing changed

def scene_state(obj=None):
    scene = bpy.context.scene
    state = (scene.frame_current, len(bpy.data.actions), tuple(sorted(a.name for a in bpy.data.actions)))
    if obj is not None and obj.animation_data is not None:
        state += (obj.animation_data.action,)
    return state


def expect_error(match, fn, *args, obj=None, **kw):
    before = scene_state(obj)
    with pytest.raises(ValueError, match=match):
        fn(*args, **kw)
    assert scene_state(obj) == before


def test_rejects_non_armature(fresh_scene):
    mesh = bpy.data.objects.new("Thing", bpy.data.meshes.new("Thing"))
    fresh_scene.collection.objects.link(mesh)
    expect_error("not an armature", aio.read_motion, mesh)
    expect_error("not an armature", aio.skeleton_from_armature, mesh)
    expect_error("no object", aio.read_motion, None)


def test_rejects_armature_without_bones(fresh_scene):
    obj = bpy.data.objects.new("Empty", bpy.data.armatures.new("Empty"))
    fresh_scene.collection.objects.link(obj)
    expect_error("no bones", aio.read_motion, obj)


def test_rejects_missing_animation(fresh_scene):
    obj = build_rig("XYZ", frames=3)
    obj.animation_data_clear()
    expect_error("no action", aio.read_motion, obj, obj=obj)
    obj.animation_data_create()
    expect_error("no action", aio.read_motion, obj, obj=obj)


def test_rejects_empty_action(fresh_scene):
    obj = build_rig("XYZ", frames=3)
    empty = bpy.data.actions.new("empty")
    expect_error("no keyframes", aio.read_motion, obj, action=empty, obj=obj)
    compat.assign_action(obj, empty)
    expect_error("no keyframes", aio.read_motion, obj, obj=obj)


def test_rejects_single_frame(fresh_scene):
    obj = build_rig("XYZ", frames=3)
    expect_error("at least 2 frames", aio.read_motion, obj, frame_range=(2, 2), obj=obj)
    expect_error("reversed", aio.read_motion, obj, frame_range=(3, 1), obj=obj)
    obj1 = build_rig("XYZ", frames=1)
    expect_error("at least 2 frames", aio.read_motion, obj1, obj=obj1)


def test_rejects_nan_pose_and_restores(fresh_scene):
    obj = build_rig("XYZ", frames=3)
    good = obj.animation_data.action
    bad = good.copy()
    fc = next(f for f in compat.action_fcurves(bad, obj) if f.data_path.endswith("location"))
    fc.keyframe_points[1].co = (2.0, float("nan"))
    fresh_scene.frame_set(1)
    expect_error(r"NaN or infinite values at frame\(s\) \[2\]", aio.read_motion, obj, action=bad, obj=obj)
    assert obj.animation_data.action == good


def test_write_rejects_foreign_motion(fresh_scene):
    obj = build_rig("XYZ", frames=3)
    motion = aio.read_motion(obj)
    motion.skeleton.names[1] = "tail"
    expect_error("no bone", aio.write_action, obj, motion, obj=obj)
    expect_error("expected a Motion", aio.write_action, obj, "clip", obj=obj)


def test_blender_4_4_code_path(fresh_scene, monkeypatch):
    """4.4/4.5 lack group_name in fcurves.new and anim_utils' channelbag helpers; their
    fallbacks also work on this Blender."""
    if not compat.SLOTTED:
        pytest.skip("slotted actions only")
    from bpy_extras import anim_utils
    monkeypatch.setattr(compat, "GROUP_IN_NEW", False)
    monkeypatch.setattr(compat, "CAN_COPY_FCURVE", False)
    monkeypatch.delattr(anim_utils, "action_ensure_channelbag_for_slot", raising=False)  # absent on 4.4/4.5
    monkeypatch.delattr(anim_utils, "action_get_channelbag_for_slot", raising=False)
    obj = build_rig("YZX")
    motion = aio.read_motion(obj)
    new = aio.write_action(obj, motion)
    assert {fc.group.name for fc in compat.action_fcurves(new, obj)} == {b[0] for b in BONES}
    assert_same_motion(motion, aio.read_motion(obj))


def test_new_action_names(fresh_scene):
    obj = build_rig("XYZ", frames=3)
    source = obj.animation_data.action.name
    first = aio.write_action(obj, aio.read_motion(obj))
    second = aio.write_action(obj, aio.read_motion(obj))   # reads first: still <source>.mdna.NNN
    named = aio.write_action(obj, aio.read_motion(obj), name="take 2")
    assert (first.name, second.name, named.name) == (f"{source}.mdna", f"{source}.mdna.001", "take 2")
    assert bpy.data.actions.get(source) is not None


def test_read_with_action_on_object_without_animation(fresh_scene):
    obj = build_rig("XYZ", frames=3)
    action = obj.animation_data.action
    obj.animation_data_clear()
    motion = aio.read_motion(obj, action=action)
    assert motion.num_frames == 3 and obj.animation_data is None


def test_rewrite_result_action_in_place(fresh_scene):
    obj = build_rig("ZYX")
    source = obj.animation_data.action
    motion = aio.read_motion(obj)
    result = aio.write_action(obj, motion)
    actions = len(bpy.data.actions)
    shorter = motion.slice(0, 6)
    again = aio.write_action(obj, shorter, action=result)
    assert again == result and len(bpy.data.actions) == actions
    assert_same_motion(shorter, aio.read_motion(obj))
    expect_error("refusing to overwrite", aio.write_action, obj, motion, action=source, obj=obj)


def test_rejects_action_made_for_another_rig(fresh_scene):
    obj = build_rig("XYZ", frames=3)
    foreign = bpy.data.actions.new("other rig")
    bag = compat.new_fcurves_container(foreign, obj)
    for bone in ("mixamorig:Hips", "mixamorig:Spine", 'odd "name"'):
        fc = bag.fcurves.new(f'pose.bones["{bpy.utils.escape_identifier(bone)}"].location', index=0)
        fc.keyframe_points.insert(1, 0.0)
        fc.keyframe_points.insert(3, 1.0)
    expect_error(r"does not fit armature 'Rig'.*'mixamorig:Hips', 'mixamorig:Spine', 'odd \"name\"'",
                 aio.read_motion, obj, action=foreign, obj=obj)
    object_only = bpy.data.actions.new("object only")
    fc = compat.new_fcurves_container(object_only, obj).fcurves.new("location", index=0)
    fc.keyframe_points.insert(1, 0.0)
    fc.keyframe_points.insert(3, 1.0)
    expect_error("it keys no bone", aio.read_motion, obj, action=object_only, obj=obj)


def test_warns_about_renamed_bones(fresh_scene):
    obj = build_rig("XYZ", frames=3)
    action = obj.animation_data.action
    obj.data.bones["arm"].name = "upper_arm"      # renames the bone; the F-curve paths keep "arm"
    for fc in compat.action_fcurves(action, obj):
        fc.data_path = fc.data_path.replace('"upper_arm"', '"arm"')
    with pytest.warns(aio.MotionIOWarning, match="lacks.*: arm;"):
        motion = aio.read_motion(obj)
    assert motion.meta["unmatched_bones"] == ["arm"] and "upper_arm" in motion.skeleton.names


def test_rig_only_read_matches_and_leaves_the_scene(fresh_scene):
    obj = build_rig("QUATERNION")
    fresh_scene.frame_set(4)
    scenes = len(bpy.data.scenes)
    plain = aio.read_motion(obj)
    fresh_scene.frame_set(4)
    rig_only = aio.read_motion(obj, rig_only=True)
    assert_same_motion(plain, rig_only)
    assert np.abs(plain.translations - rig_only.translations).max() == 0.0
    assert len(bpy.data.scenes) == scenes and fresh_scene.frame_current == 4
    assert list(obj.users_scene) == [fresh_scene]


def test_zero_offset_bone_round_trips(fresh_scene):
    """A bone whose head sits on its parent's head (a zero offset, as in many BVH rigs) and
    a zero-LENGTH bone (head == tail; Blender 5.0 keeps it with some rest orientation)."""
    arm = bpy.data.armatures.new("Z")
    obj = bpy.data.objects.new("Z", arm)
    fresh_scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    a = arm.edit_bones.new("a")
    a.head, a.tail = (0, 0, 0), (0, 0, 1)
    b = arm.edit_bones.new("b")
    b.head, b.tail, b.parent = (0, 0, 0), (1, 0, 0), a
    z = arm.edit_bones.new("zero")
    z.head, z.tail, z.parent = (1, 1, 1), (1, 1, 1), a
    bpy.ops.object.mode_set(mode="OBJECT")
    for f in (1, 5):
        for pb in obj.pose.bones:
            pb.rotation_mode = "XYZ"
            pb.rotation_euler = (0.3 * f, -0.1 * f, 0.2)
            pb.keyframe_insert("rotation_euler", frame=f)
    motion = aio.read_motion(obj)
    assert np.allclose(motion.skeleton.rest_translations[1], 0.0)
    aio.write_action(obj, motion)
    assert_same_motion(motion, aio.read_motion(obj))


def test_write_onto_a_rig_with_other_rest_frames(fresh_scene):
    """A motion whose joints have other rest axes than the armature's bones (identity rest
    frames, as from a BVH or SMPL file): each bone turns by the same world rotation."""
    obj = build_rig("QUATERNION")
    motion = aio.read_motion(obj)
    skel = motion.skeleton
    w_rot, w_pos = motion.world()
    rest_world = aio._rest_world_rotations(skel)
    plain = type(skel)(skel.names, skel.parents, quat.identity((skel.num_joints,)), skel.rest_positions(), 2)
    for j, p in enumerate(skel.parents):
        if p >= 0:
            plain.rest_translations[j] = skel.rest_positions()[j] - skel.rest_positions()[p]
    from motiondna.engine.motion.skeleton import local_from_world
    delta = quat.mul(w_rot, quat.inv(rest_world))          # world rotation from rest
    rot, trans = local_from_world(plain, delta, w_pos)
    aio.write_action(obj, Motion(plain, rot, trans, motion.fps, "plain", {"frame_start": 1}))
    assert_same_motion(motion, aio.read_motion(obj))


def test_in_place_rewrite_reuses_curves(fresh_scene):
    obj = build_rig("XYZ")
    motion = aio.read_motion(obj)
    result = aio.write_action(obj, motion)
    curves = {(fc.data_path, fc.array_index): fc.as_pointer() for fc in compat.action_fcurves(result, obj)}
    changed = motion.copy()
    changed.rotations = quat.mul(changed.rotations, quat.from_scaled_axis(np.array([0.0, 0.2, 0.0])))
    aio.write_action(obj, changed, action=result)
    again = {(fc.data_path, fc.array_index): fc.as_pointer() for fc in compat.action_fcurves(result, obj)}
    assert again == curves        # same F-curves, rewritten in place
    assert_same_motion(changed, aio.read_motion(obj))
    # Live drags skip the handle pass (LINEAR keys play without handles); settling the
    # handles once, as Apply does, brings them back to the new values.
    aio.settle_handles(result, obj)
    fc = compat.action_fcurves(result, obj)[0]
    kp = fc.keyframe_points[3]
    assert abs(kp.handle_left[1] - kp.co[1]) < 0.5
