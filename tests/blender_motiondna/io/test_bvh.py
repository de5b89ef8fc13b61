"""BVH: parser/writer round trips, conventions, malformed files, axis conversion against
Blender's own helper, and import -> read -> export through Blender keeping the file's
conventions."""
import itertools
import math
import os

import bpy
import numpy as np
import pytest
from bpy_extras.io_utils import axis_conversion as bpy_axis_conversion

from motiondna.blender_motiondna.io import armature_io as aio
from motiondna.blender_motiondna.io import bvh_io
from motiondna.engine.io import bvh
from motiondna.engine.motion import quat
from motiondna.engine.motion.skeleton import Motion, Skeleton

from conftest import needs_shared, shared_clips

POS_TOL = 1e-4   # x skeleton span


def span_error(a, b, skeleton):
    return np.abs(a - b).max() / skeleton.span()


def assert_same_layout(a, b):
    assert a.names == b.names
    assert a.parents.tolist() == b.parents.tolist()
    assert a.channels == b.channels
    np.testing.assert_allclose(a.offsets, b.offsets, atol=1e-6)
    assert [j for j, _ in a.end_sites] == [j for j, _ in b.end_sites]
    assert a.frame_time == pytest.approx(b.frame_time, rel=1e-6)
    assert a.num_frames == b.num_frames


# ---------------------------------------------------------------------------------------
# engine: parse, conventions, write

def small_bvh(orders=("ZXY", "XYZ", "YZX"), frames=None, root_channels=6):
    """A 3-joint chain text; ``frames`` (F, C) or a zero frame."""
    rot = lambda o: " ".join(f"{a}rotation" for a in o)  # noqa: E731
    chans = [6 if root_channels == 6 else 3, 3, 3]
    frames = np.zeros((1, sum(chans))) if frames is None else frames
    body = "\n".join(" ".join(f"{v:.6f}" for v in row) for row in frames)
    root = f"CHANNELS 6 Xposition Yposition Zposition {rot(orders[0])}" if root_channels == 6 else f"CHANNELS 3 {rot(orders[0])}"
    return f"""HIERARCHY
ROOT Hips
{{
  OFFSET 0 0 0
  {root}
  JOINT Spine
  {{
    OFFSET 0 1.5 0.25
    CHANNELS 3 {rot(orders[1])}
    JOINT Head
    {{
      OFFSET 0.1 2 0
      CHANNELS 3 {rot(orders[2])}
      End Site
      {{
        OFFSET 0 1 0
      }}
    }}
  }}
}}
MOTION
Frames: {len(frames)}
Frame Time: 0.04
{body}
"""


def elemental(axis, deg):
    return quat.from_axis_angle(np.eye(3)["XYZ".index(axis)], np.radians(deg))


def test_rotation_channels_are_intrinsic_in_file_order(tmp_path):
    rng = np.random.default_rng(0)
    orders = ("ZXY", "XYZ", "YZX")
    frames = rng.uniform(-180, 180, (5, 12))
    path = tmp_path / "small.bvh"
    path.write_text(small_bvh(orders, frames))
    motion = bvh.read_bvh(path).to_motion()
    starts = [3, 6, 9]
    for j, (o, s) in enumerate(zip(orders, starts)):
        expected = quat.mul(quat.mul(elemental(o[0], frames[:, s]), elemental(o[1], frames[:, s + 1])),
                            elemental(o[2], frames[:, s + 2]))
        dot = np.abs(np.sum(expected * motion.rotations[:, j], -1))
        assert np.all(dot > 1 - 1e-12)
    np.testing.assert_allclose(motion.translations[:, 0], frames[:, :3])          # root: channels
    np.testing.assert_allclose(motion.translations[:, 1], np.tile([0, 1.5, 0.25], (5, 1)))  # others: offsets
    assert motion.fps == pytest.approx(25.0)


def test_write_unwraps_euler_angles(tmp_path):
    # A steady spin about Y: the file's channels wrap at +-180, the output must not jump.
    deg = np.linspace(0, 720, 50)
    frames = np.zeros((50, 12))
    frames[:, 4] = (deg + 180) % 360 - 180
    src = tmp_path / "spin.bvh"
    src.write_text(small_bvh(("ZYX", "XYZ", "XYZ"), frames))
    template = bvh.read_bvh(src)
    out = tmp_path / "out.bvh"
    bvh.write_bvh(out, template, template.to_motion())
    written = bvh.read_bvh(out)
    assert np.abs(np.diff(written.frames[:, 3:], axis=0)).max() < 20
    np.testing.assert_allclose(written.frames[0], template.frames[0], atol=1e-6)
    pos = written.to_motion().positions()
    assert span_error(pos, template.to_motion().positions(), template.skeleton()) < 1e-7


PARTIAL = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Arm
  {
    OFFSET 1 0 0
    CHANNELS 1 Zrotation
    End Site
    {
      OFFSET 1 0 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.04
1 2 3 10 20 30 45
1 2 3 10 20 30 50
"""


def test_joints_without_full_rotation_channels(tmp_path):
    path = tmp_path / "partial.bvh"
    path.write_text(PARTIAL)
    f = bvh.read_bvh(path)
    assert f.channels[1] == ["Zrotation"]
    motion = f.to_motion()
    assert np.abs(np.sum(motion.rotations[:, 1] * elemental("Z", np.array([45.0, 50.0])), -1)).min() > 1 - 1e-12
    out = tmp_path / "partial_out.bvh"
    bvh.write_bvh(out, f, motion)
    np.testing.assert_allclose(bvh.read_bvh(out).frames, f.frames, atol=1e-6)


MALFORMED = {
    "not_bvh": ("HELLO\n", "must start with HIERARCHY"),
    "no_brace": ("HIERARCHY\nROOT Hips\nOFFSET 0 0 0\n", "expected '{'"),
    "bad_offset": ("HIERARCHY\nROOT Hips\n{\nOFFSET 0 zero 0\n", "OFFSET values must be numbers"),
    "channel_count": ("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 3 Xrotation Yrotation\n", "says 3 channels but lists 2"),
    "unknown_channel": ("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 1 Wrotation\n", "unknown channel"),
    "unclosed": ("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 1 Xrotation\nMOTION\nFrames: 1\nFrame Time: 0.1\n0\n", "missing '}'"),
    "truncated_hierarchy": ("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\n", "ends inside the HIERARCHY"),
    "no_frame_time": ("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 1 Xrotation\n}\nMOTION\nFrames: 1\n0\n", "expected 'Frame Time:'"),
    "zero_frame_time": ("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 1 Xrotation\n}\nMOTION\nFrames: 1\nFrame Time: 0\n0\n", "must be positive"),
    "short_row": ("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 2 Xrotation Yrotation\n}\nMOTION\nFrames: 1\nFrame Time: 0.1\n0\n",
                  "has 1 values"),
    "truncated_frames": ("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 1 Xrotation\n}\nMOTION\nFrames: 3\nFrame Time: 0.1\n0\n1\n",
                         "declares 3 frames but the file holds 2"),
    "not_a_number": ("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 1 Xrotation\n}\nMOTION\nFrames: 1\nFrame Time: 0.1\nabc\n", "not a number"),
    "nan_value": ("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 1 Xrotation\n}\nMOTION\nFrames: 1\nFrame Time: 0.1\nnan\n", "NaN"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_files_are_refused_clearly(tmp_path, case):
    text, message = MALFORMED[case]
    path = tmp_path / f"{case}.bvh"
    path.write_text(text)
    with pytest.raises(bvh.BvhError, match=message) as err:
        bvh.read_bvh(path)
    assert f"{case}.bvh" in str(err.value)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(ValueError, match="cannot read"):
        bvh.read_bvh(tmp_path / "nope.bvh")


@needs_shared
@pytest.mark.parametrize("path", shared_clips(), ids=os.path.basename)
def test_engine_round_trip(tmp_path, path):
    src = bvh.read_bvh(path)
    motion = src.to_motion()
    # INDEX.tsv: the FAIR clip is Z-up in its file, all others Y-up.
    assert motion.skeleton.up_axis == (2 if "fair_" in path else 1)
    out = tmp_path / "out.bvh"
    bvh.write_bvh(out, src, motion)
    back = bvh.read_bvh(out)
    assert_same_layout(src, back)
    assert span_error(back.to_motion().positions(), motion.positions(), motion.skeleton) <= POS_TOL
    rot_cols = [s + i for s, ch in zip(src.channel_starts(), src.channels) for i, c in enumerate(ch) if "rotation" in c]
    assert np.abs(np.diff(back.frames[:, rot_cols], axis=0)).max() < 180, "Euler angles jump"


# ---------------------------------------------------------------------------------------
# spaces

AXES = ["X", "Y", "Z", "-X", "-Y", "-Z"]


def test_axis_conversion_matches_blender():
    for f, u in itertools.product(AXES, AXES):
        if f[-1] == u[-1]:
            with pytest.raises(ValueError, match="different axes"):
                bvh.axis_conversion(f, u)
            continue
        expected = np.array(bpy_axis_conversion(from_forward=f, from_up=u))
        np.testing.assert_allclose(bvh.axis_conversion(f, u), expected, atol=1e-12, err_msg=f"{f} {u}")
    for up in (0, 1, 2):
        c = bvh.axis_conversion(*bvh.import_axes(up))
        assert np.allclose(c[:, up], [0, 0, 1]), "the file's up axis must become Blender's Z"


def random_skeleton(rng, n=6):
    parents = [-1] + [int(rng.integers(0, j)) for j in range(1, n)]
    return Skeleton([f"j{j}" for j in range(n)], parents, quat.normalize(rng.normal(size=(n, 4))),
                    rng.normal(size=(n, 3)))


def test_file_space_conversion_round_trip():
    rng = np.random.default_rng(3)
    blender = random_skeleton(rng)
    c = bvh.axis_conversion("-Z", "Y")
    # The file skeleton: identity rests, offsets = the Blender rest in file axes and units.
    scale = 0.01
    rest_file = quat.inv_mul_vec(quat.from_matrix(c), blender.rest_positions()) / scale
    offsets = rest_file - np.where(blender.parents[:, None] >= 0, rest_file[np.maximum(blender.parents, 0)], 0)
    file_skel = Skeleton(blender.names, blender.parents, quat.identity((6,)), offsets, 1)
    motion = Motion(blender, quat.normalize(rng.normal(size=(4, 6, 4))),
                    np.broadcast_to(blender.rest_translations, (4, 6, 3)) + 0.1 * rng.normal(size=(4, 6, 3)), 30)
    in_file = bvh.motion_to_file_space(motion, file_skel, c, scale)
    np.testing.assert_allclose(in_file.positions() * scale, quat.inv_mul_vec(quat.from_matrix(c), motion.positions()),
                               atol=1e-9)
    back = bvh.motion_from_file_space(in_file, blender, c, scale)
    np.testing.assert_allclose(back.positions(), motion.positions(), atol=1e-9)
    assert np.all(np.abs(np.sum(back.rotations * motion.rotations, -1)) > 1 - 1e-9)
    rest = Motion(blender, quat.identity((1, 6)), blender.rest_translations[None], 30)
    np.testing.assert_allclose(bvh.motion_to_file_space(rest, file_skel, c, scale).rotations,
                               quat.identity((1, 6)), atol=1e-9)


# ---------------------------------------------------------------------------------------
# through Blender

@needs_shared
@pytest.mark.parametrize("path", shared_clips(), ids=os.path.basename)
def test_blender_import_export_keeps_file_conventions(fresh_scene, tmp_path, path):
    obj, src, info = bvh_io.import_bvh(path)
    assert bvh_io.bvh_info(obj)["axis_up"] == info["axis_up"]
    # The recorded mapping is the importer's: file rest positions land on the bone heads.
    heads = np.array([obj.data.bones[n].head_local for n in src.names])
    rest = src.skeleton().rest_positions()
    assert span_error(bvh_io.file_to_armature_points(info, rest), heads, src.skeleton()) <= POS_TOL
    np.testing.assert_allclose(bvh_io.armature_to_file_points(info, heads), rest,
                               atol=POS_TOL * src.skeleton().span())
    motion = aio.read_motion(obj)
    assert motion.num_frames == src.num_frames
    # The character stands up in Blender: the head is above the hips (armature Z).
    pos = motion.positions()
    names = motion.skeleton.names
    head = next(i for i, n in enumerate(names) if "head" in n.lower() and "end" not in n.lower())
    assert np.median(pos[:, head, 2] - pos[:, motion.skeleton.root, 2]) > 0.1 * motion.skeleton.span()

    out = tmp_path / "out.bvh"
    bvh_io.export_bvh(out, obj, motion, src, info)
    back = bvh.read_bvh(out)
    assert_same_layout(src, back)
    reference = src.to_motion()
    assert span_error(back.to_motion().positions(), reference.positions(), reference.skeleton) <= POS_TOL


def test_import_refuses_malformed_file(fresh_scene, tmp_path):
    path = tmp_path / "broken.bvh"
    path.write_text(MALFORMED["truncated_frames"][0])
    objects = len(bpy.data.objects)
    with pytest.raises(ValueError, match="declares 3 frames"):
        bvh_io.import_bvh(str(path))
    assert len(bpy.data.objects) == objects


def test_blender_round_trip_with_scale_and_edit(fresh_scene, tmp_path):
    rng = np.random.default_rng(5)
    frames = np.concatenate([rng.uniform(-5, 5, (8, 3)), rng.uniform(-170, 170, (8, 9))], 1)
    src_path = tmp_path / "small.bvh"
    src_path.write_text(small_bvh(frames=frames))
    obj, src, info = bvh_io.import_bvh(str(src_path), up_axis=1, scale=0.5)
    assert info["scale"] == 0.5 and info["axis_up"] == "Y"
    motion = aio.read_motion(obj)
    # An edit in Blender space: turn the spine 30 degrees about armature Z on every frame.
    edited = motion.copy()
    spine = motion.skeleton.index("Spine")
    w_rot, w_pos = motion.world()
    turn = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), math.radians(30))
    w_rot[:, spine] = quat.mul(turn, w_rot[:, spine])
    pivot = w_pos[:, spine]
    w_pos[:, 2] = pivot + quat.mul_vec(turn, w_pos[:, 2] - pivot)
    w_rot[:, 2] = quat.mul(turn, w_rot[:, 2])
    from motiondna.engine.motion.skeleton import local_from_world
    edited.rotations, edited.translations = local_from_world(motion.skeleton, w_rot, w_pos)
    out = tmp_path / "edited.bvh"
    bvh_io.export_bvh(out, obj, edited, src, info)
    back = bvh.read_bvh(out).to_motion()
    expected = bvh_io.armature_to_file_points(info, edited.positions())
    assert span_error(back.positions(), expected, back.skeleton) <= POS_TOL


def test_export_without_armature(fresh_scene, tmp_path):
    rng = np.random.default_rng(2)
    frames = np.concatenate([rng.uniform(-5, 5, (4, 3)), rng.uniform(-90, 90, (4, 9))], 1)
    src_path = tmp_path / "small.bvh"
    src_path.write_text(small_bvh(frames=frames))
    obj, src, info = bvh_io.import_bvh(str(src_path), up_axis=1)
    motion = aio.read_motion(obj)
    out = tmp_path / "out.bvh"
    bvh_io.export_bvh(out, motion, src, info)          # the form the CLI uses
    back = bvh.read_bvh(out).to_motion()
    assert span_error(back.positions(), src.to_motion().positions(), back.skeleton) <= POS_TOL
    with pytest.raises(ValueError, match="needs the import info"):
        bvh_io.export_bvh(out, motion, src)


def test_a_joint_name_used_twice_is_refused_by_name(tmp_path):
    text = ("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 3 Xrotation Yrotation Zrotation\n"
            "JOINT LeftHip\n{\nOFFSET 1 0 0\nCHANNELS 3 Xrotation Yrotation Zrotation\nEnd Site\n{\nOFFSET 0 -1 0\n}\n}\n"
            "JOINT LeftHip\n{\nOFFSET -1 0 0\nCHANNELS 3 Xrotation Yrotation Zrotation\nEnd Site\n{\nOFFSET 0 -1 0\n}\n}\n"
            "}\nMOTION\nFrames: 1\nFrame Time: 0.1\n" + " ".join(["0"] * 9) + "\n")
    path = tmp_path / "twice.bvh"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"twice.bvh, line 15: joint name 'LeftHip' is used twice"):
        bvh.read_bvh(str(path))
