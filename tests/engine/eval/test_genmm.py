"""engine/eval/genmm.py: finding GenMM, putting back what its BVH writer loses, and (where
$MOTIONDNA_GENMM names a checkout) one real generation."""
import os
import stat

import numpy as np
import pytest

from motiondna.engine.eval import genmm
from motiondna.engine.io.bvh import BvhFile, read_bvh, write_bvh
from motiondna.engine.motion import quat
from motiondna.engine.motion.skeleton import Motion, Skeleton

from conftest import CLIP


def fake_checkout(path, python=True):
    path.mkdir(parents=True, exist_ok=True)
    (path / "GenMM.py").write_text("# stand-in\n")
    if python:
        exe = path / ".venv" / "bin" / "python"
        exe.parent.mkdir(parents=True)
        exe.write_text("#!/bin/sh\n")
        exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return path


def test_find_genmm_is_none_when_absent(monkeypatch, tmp_path):
    monkeypatch.delenv(genmm.ENV, raising=False)
    monkeypatch.delenv(genmm.ENV_PYTHON, raising=False)
    assert genmm.find_genmm() is None
    assert genmm.find_genmm(tmp_path / "nowhere") is None
    assert genmm.find_genmm(tmp_path) is None  # a folder without GenMM.py
    assert genmm.find_genmm(fake_checkout(tmp_path / "novenv", python=False)) is None
    monkeypatch.setenv(genmm.ENV, str(tmp_path / "nowhere"))
    assert genmm.find_genmm() is None
    with pytest.raises(genmm.GenMMError, match="MOTIONDNA_GENMM"):
        genmm.generate(None, CLIP, 10, 0, tmp_path)


def test_find_genmm_from_the_argument_or_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(genmm.ENV_PYTHON, raising=False)
    root = fake_checkout(tmp_path / "GenMM")
    found = genmm.find_genmm(root)
    assert found == genmm.GenMM(str(root), str(root / ".venv" / "bin" / "python"))
    monkeypatch.setenv(genmm.ENV, str(root))
    assert genmm.find_genmm() == found
    monkeypatch.setenv(genmm.ENV_PYTHON, str(root / "missing-python"))
    assert genmm.find_genmm() is None


def source_clip(frames=40, frame_time=1 / 60, static_root=False):
    """A tiny BVH (file space, Y up) with prefixed joint names and ZXY channels; with
    ``static_root`` a motionless first joint carries the body as the Bandai Namco rig does."""
    names = ["rig:Hips", "rig:Spine", "rig:Head", "rig:LeftLeg", "rig:LeftFoot"]
    parents = [-1, 0, 1, 0, 3]
    offsets = [[0, 90, 0], [0, 10, 0], [0, 30, 0], [10, 0, 0], [0, -45, 0]]
    channels = [["Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation"]] + \
        [["Zrotation", "Xrotation", "Yrotation"]] * 4
    if static_root:
        names, parents = ["rig:joint_Root"] + names, [-1] + [p + 1 for p in parents]
        offsets, channels = [[0, 0, 0]] + offsets, [channels[0]] + channels
    ends = [(len(names) - 3, np.array([0, 10, 0.0])), (len(names) - 1, np.array([0, 0, 8.0]))]
    t = np.arange(frames) * frame_time
    cols = []
    for j, ch in enumerate(channels):
        for k, c in enumerate(ch):
            if static_root and j == 0:
                cols.append(np.zeros(frames))
            elif c.endswith("position"):
                cols.append(np.asarray(offsets[j])[k] + 20 * np.sin(2 * t + k))
            else:
                cols.append(25 * np.sin(3 * t + j + k))
    frames_arr = np.stack(cols, axis=1)
    return BvhFile(names, np.array(parents), np.array(offsets, float), channels, ends, frame_time, frames_arr, "tiny")


def genmm_like(path, source, step=2):
    """What GenMM's writer makes of ``source`` at 1/``step`` of its rate: names stripped of
    their prefix, Xposition.. on the root, Xrotation Yrotation Zrotation everywhere,
    End Site offsets of 0, ``Frame Time: 1``."""
    motion = source.to_motion(1)
    stripped = [n.split(":", 1)[1] for n in source.names]
    channels = [["Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation"]] + \
        [["Xrotation", "Yrotation", "Zrotation"]] * (source.num_joints - 1)
    template = BvhFile(stripped, source.parents, source.offsets, channels,
                       [(j, np.zeros(3)) for j, _ in source.end_sites], 1.0, np.zeros((0, 3 + 3 * source.num_joints)))
    skel = Skeleton(stripped, source.parents, quat.identity((source.num_joints,)), source.offsets, 1)
    write_bvh(path, template, Motion(skel, motion.rotations[::step], motion.translations[::step], 1.0))
    return read_bvh(path)


def test_restore_puts_back_names_and_frame_time(tmp_path):
    source = source_clip()
    write_bvh(tmp_path / "tiny.bvh", source, source.to_motion(1))
    source = read_bvh(tmp_path / "tiny.bvh")
    generated = genmm_like(tmp_path / "syn.bvh", source)
    assert generated.frame_time == 1.0 and generated.names[0] == "Hips"

    restored = genmm.restore(generated, source, 2 * source.frame_time)
    want = source.to_motion()
    assert restored.skeleton.names == want.skeleton.names == source.names
    assert restored.skeleton.up_axis == want.skeleton.up_axis == 1
    assert restored.fps == pytest.approx(30.0) and restored.num_frames == 20
    np.testing.assert_allclose(restored.positions(), want.positions()[::2], atol=1e-4)

    # back at the source's rate: the even frames are GenMM's, the odd ones interpolated
    full = genmm.resample_motion(restored, want.fps, 39)
    assert full.fps == pytest.approx(want.fps) and full.num_frames == 39
    np.testing.assert_allclose(full.positions()[::2], want.positions()[:39:2], atol=1e-4)
    assert np.abs(full.positions()[1::2] - want.positions()[1:39:2]).max() < 1.0  # units: cm, a smooth clip


def test_restore_refuses_a_different_hierarchy(tmp_path):
    source = source_clip()
    generated = genmm_like(tmp_path / "syn.bvh", source)
    other = BvhFile(generated.names, np.array([-1, 0, 1, 0, 0]), generated.offsets, generated.channels,
                    generated.end_sites, 1.0, generated.frames)
    with pytest.raises(genmm.GenMMError, match="hierarchy"):
        genmm.restore(other, source, 1 / 30)
    fewer = BvhFile(generated.names[:4], generated.parents[:4], generated.offsets[:4], generated.channels[:4],
                    [], 1.0, generated.frames[:, :12])
    with pytest.raises(genmm.GenMMError, match="joints"):
        genmm.restore(fewer, source, 1 / 30)


def test_a_static_root_is_dropped_for_genmm_and_put_back(tmp_path):
    source = source_clip(static_root=True)
    assert genmm.static_root(source) == 0
    assert genmm.static_root(source_clip()) is None  # its root moves
    reduced = genmm.drop_root(source)
    assert reduced.names == source.names[1:] and reduced.parents.tolist() == [-1, 0, 1, 0, 3]
    write_bvh(tmp_path / "reduced.bvh", reduced, reduced.to_motion(1))
    generated = genmm_like(tmp_path / "syn.bvh", read_bvh(tmp_path / "reduced.bvh"), step=1)
    restored = genmm.restore(generated, source, source.frame_time, dropped=0)
    want = source.to_motion()
    assert restored.skeleton.names == source.names
    np.testing.assert_allclose(restored.positions(), want.positions(), atol=1e-4)


needs_genmm = pytest.mark.skipif(genmm.find_genmm() is None,
                                 reason="GenMM not found: set MOTIONDNA_GENMM (docs/benchmark.md, GenMM side by side)")


@pytest.mark.slow
@needs_genmm
def test_genmm_generates_on_a_real_clip(tmp_path):
    g = genmm.find_genmm()
    source = read_bvh(CLIP).to_motion()
    frames = 2 * source.num_frames
    motion, seconds = genmm.generate(g, CLIP, frames, 0, tmp_path)
    assert seconds > 0 and motion.num_frames == frames
    assert motion.skeleton.names == source.skeleton.names and motion.fps == pytest.approx(source.fps)
    assert motion.skeleton.up_axis == source.skeleton.up_axis
    assert motion.meta["genmm"]["cached"] is False and os.path.isfile(motion.meta["genmm"]["output"])
    # not frozen, not flying away: the hips keep within the source's height range (+-20 %)
    up = source.skeleton.up_axis
    hips_src, hips = source.positions()[:, 0, up], motion.positions()[:, 0, up]
    span = np.ptp(hips_src)
    assert np.ptp(motion.rotations, axis=0).max() > 0.05
    assert hips.min() > hips_src.min() - 0.2 * span - 1 and hips.max() < hips_src.max() + 0.2 * span + 1

    again, seconds_again = genmm.generate(g, CLIP, frames, 0, tmp_path)
    assert again.meta["genmm"]["cached"] is True and seconds_again == seconds
    np.testing.assert_array_equal(again.rotations, motion.rotations)
    other, _ = genmm.generate(g, CLIP, frames, 1, tmp_path)
    assert np.abs(other.rotations - motion.rotations).max() > 1e-3  # the seed matters
