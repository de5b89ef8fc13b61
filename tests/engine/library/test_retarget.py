"""Bone mapping and retargeting: presets, structure, rest alignment, scale, feet."""
import glob
import os

import numpy as np
import pytest

from motiondna.engine.eval.retarget_benchmark import direction_errors, skate
from motiondna.engine.library import clips, mapping, retarget, rigs

from conftest import CLIP, MOTIONS, ROOT, needs_shared

MIXAMO_STYLE = os.path.join(ROOT, "data", "library", "rigs", "mixamo_style.bvh")


@pytest.fixture(scope="module")
def source():
    return clips.read_clip(CLIP)


@pytest.fixture(scope="module")
def mixamo():
    return clips.read_clip(MIXAMO_STYLE).skeleton


def test_presets_detect_the_rigs(source, mixamo):
    assert rigs.detect_rig(source.skeleton.names) == "cmu_3dsmax"
    assert rigs.detect_rig(mixamo.names) == "mixamo"
    assert rigs.detect_rig(["a", "b", "c"]) == "unknown"
    for name, preset in rigs.PRESETS.items():
        assert set(preset) == set(rigs.BODY_PARTS), name
        assert rigs.detect_rig(list(preset.values())) == name


def test_map_bones_pairs_every_body_part(source, mixamo):
    m = mapping.map_bones(source.skeleton, mixamo)
    assert len(m) == 22
    assert m["mixamorig:LeftArm"] == "LeftShoulder"       # CMU 3ds Max's "shoulder" is the upper arm
    assert m["mixamorig:LeftShoulder"] == "LeftCollar"
    assert m["mixamorig:RightUpLeg"] == "RightHip"


def test_structure_finds_the_parts_of_a_rig_without_preset(source):
    parts = mapping.structural_parts(source.skeleton)
    names = {p: source.skeleton.names[j] for p, j in parts.items()}
    assert names["l_hand"] == "LeftWrist" and names["l_forearm"] == "LeftElbow" and names["l_upper_arm"] == "LeftShoulder"
    assert names["pelvis"] == "Hips" and names["r_foot"] == "RightAnkle" and names["head"] == "Head"


def test_similar_names_and_mapping_files(tmp_path, source):
    m = mapping.similar_names(["Hips", "LeftUpLeg", "Spine"], ["mixamorig:Hips", "mixamorig:LeftUpLeg", "tail"])
    assert m == {"mixamorig:Hips": "Hips", "mixamorig:LeftUpLeg": "LeftUpLeg"}
    mapping.save_mapping(tmp_path / "m.json", m, "cmu", "mixamo")
    assert mapping.load_mapping(tmp_path / "m.json") == m
    with pytest.raises(ValueError, match="not in the rig"):
        mapping.check_mapping({"nope": "Hips"}, source.skeleton, source.skeleton)


def test_retarget_onto_an_a_pose_rig_keeps_limb_directions_and_feet(source, mixamo):
    res = retarget.retarget(source, mixamo)
    out = res.motion
    assert out.skeleton is mixamo and out.num_frames == source.num_frames and out.fps == source.fps
    ang = direction_errors(source, out, res.axes)["limb"]
    assert ang.mean() < 4.0 and np.percentile(ang, 95) < 12.0
    # scale by leg length: CMU units (~5.6 cm) to this rig's centimetres
    assert 4.0 < res.scale < 9.0
    # feet on the ground: the lowest foot point stays at the rig's floor where the source's does
    feet = [mixamo.index(n) for n in ("mixamorig:LeftToeBase", "mixamorig:RightToeBase",
                                      "mixamorig:LeftFoot", "mixamorig:RightFoot")]
    low = out.positions()[:, feet, 1].min(axis=1)
    floor = mixamo.rest_positions()[feet, 1].min()
    assert np.percentile(np.abs(low - floor), 50) < 1.0      # cm
    assert skate(out) <= skate(source) + 0.02


def test_rest_alignment_turns_the_a_pose_onto_the_source_pose(source, mixamo):
    """With no rotation on the source (its rest pose: this CMU file's arms hang straight
    down), the A-pose rig's arms point where the source's do, not 45 degrees off."""
    still = source.copy()
    still.rotations[:] = [1.0, 0.0, 0.0, 0.0]
    res = retarget.retarget(still.slice(0, 2), mixamo)
    p, q = res.motion.positions()[0], still.positions()[0]
    for t_top, t_end, s_top, s_end in (("LeftArm", "LeftHand", "LeftShoulder", "LeftWrist"),
                                       ("RightUpLeg", "RightFoot", "RightHip", "RightAnkle")):
        got = p[mixamo.index("mixamorig:" + t_end)] - p[mixamo.index("mixamorig:" + t_top)]
        want = res.axes @ (q[source.skeleton.index(s_end)] - q[source.skeleton.index(s_top)])
        cos = got @ want / np.linalg.norm(got) / np.linalg.norm(want)
        assert cos > np.cos(np.radians(2.0))
    rest = mixamo.rest_positions()
    a_pose = rest[mixamo.index("mixamorig:LeftHand")] - rest[mixamo.index("mixamorig:LeftArm")]
    assert abs(a_pose[1]) < 0.8 * np.linalg.norm(a_pose)     # the rig's own rest is not hanging


def test_root_motion_is_kept_and_scaled(mixamo):
    walk = os.path.join(ROOT, "data", "library", "starter", "07_01.bvh.gz")
    src = clips.read_clip(walk)
    res = retarget.retarget(src, mixamo)
    sp, tp = mapping.body_parts(src.skeleton), mapping.body_parts(mixamo)
    s = src.positions()[:, sp["pelvis"]]
    t = res.motion.positions()[:, tp["pelvis"]]
    s_travel = np.linalg.norm((s[-1] - s[0])[[0, 2]]) * res.scale
    t_travel = np.linalg.norm((t[-1] - t[0])[[0, 2]])
    assert s_travel > 50 and t_travel == pytest.approx(s_travel, rel=0.01)


@needs_shared
@pytest.mark.parametrize("clip", sorted(glob.glob(os.path.join(MOTIONS, "*", "*.bvh"))))
def test_round_trip_through_the_mixamo_style_rig(clip, mixamo):
    src = clips.read_clip(clip).slice(0, 200)
    there = retarget.retarget(src, mixamo)
    back = retarget.retarget(there.motion, retarget.clip_offsets_skeleton(src),
                             target_pose=None if "bandai" not in clip else src.rotations[0])
    ang = direction_errors(src, there.motion, there.axes)["limb"]
    assert ang.mean() < 6.0
    pel = mapping.body_parts(src.skeleton)["pelvis"]
    js = [src.skeleton.index(n) for n in back.mapping]
    a, b = src.positions(), back.motion.positions()
    err = np.linalg.norm((a[:, js] - a[:, [pel]]) - (b[:, js] - b[:, [pel]]), axis=-1).mean()
    span = src.skeleton.span(src.translations)
    assert err / span < 0.05                                  # under 8.5 cm at 1.70 m


@pytest.mark.parametrize("preset", ["rigify_metarig", "unreal", "lafan1", "smpl", "cc_iclone"])
def test_every_preset_rig_takes_the_clip(source, mixamo, preset):
    """The Mixamo-style rig renamed to each preset's bone names is detected and retargeted
    onto as well as under its own names."""
    to_part = {bone: part for part, bone in rigs.PRESETS["mixamo"].items()}
    names = [rigs.PRESETS[preset][to_part[n]] for n in mixamo.names]
    renamed = type(mixamo)(names, mixamo.parents, mixamo.rest_rotations, mixamo.rest_translations, mixamo.up_axis)
    assert rigs.detect_rig(renamed.names) == preset
    res = retarget.retarget(source, renamed)
    assert len(res.mapping) == 22
    ang = direction_errors(source, res.motion, res.axes)["limb"]
    assert ang.mean() < 4.0
