"""Text-to-motion backends: the library default, a real local HTTP server, a command, a
Python entry point; joint positions fitted with rotations; text -> generator on a rig."""
import os
import sys
import threading

import numpy as np
import pytest

from motiondna.engine.generator.runtime import Generator
from motiondna.engine.io import smpl
from motiondna.engine.library import backends, clips, fromtext, joints_ik, mapping, retarget

from conftest import CLIP, ROOT

MIXAMO_STYLE = os.path.join(ROOT, "data", "library", "rigs", "mixamo_style.bvh")
sys.path.insert(0, os.path.join(ROOT, "tools"))
import t2m_server  # noqa: E402  (the server users put in front of their model)


def real_joints(fps=20.0):
    """The bundled jumping jacks as HumanML3D-style joints: on the SMPL body, at 20 fps."""
    src = clips.read_clip(CLIP)
    body = joints_ik.body_skeleton(np.repeat(smpl.default_joints("body")[None], 2, 0))
    on_body = retarget.retarget(src, body).motion
    step = int(round(src.fps / fps)) or 1
    return on_body.positions()[::max(step, 1)] if fps < src.fps else on_body.positions()


REQUESTS = []


def model(prompt, duration, seed):
    """The stand-in model behind tools/t2m_server.py: real joints for every prompt."""
    REQUESTS.append({"prompt": prompt, "duration": duration, "seed": seed})
    if prompt == "fail":
        raise RuntimeError("model crashed")
    if prompt == "odd":
        return {"format": "gif"}
    return real_joints()


@pytest.fixture(scope="module")
def server():
    httpd = t2m_server.make_server(model, port=0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/generate"
    httpd.shutdown()
    httpd.server_close()


def test_joint_positions_become_rotations_that_reproduce_them():
    joints = real_joints()
    motion = joints_ik.motion_from_joints(joints)
    err = np.linalg.norm(motion.positions() - joints, axis=-1)
    assert err.max() < 1e-6                      # metres: a rigid body's joints are met exactly
    noisy = joints + np.random.default_rng(0).normal(0, 0.005, joints.shape)
    err = np.linalg.norm(joints_ik.motion_from_joints(noisy).positions() - noisy, axis=-1)
    assert np.median(err) < 0.02                 # 5 mm noise: the fit stays within 2 cm
    with pytest.raises(ValueError, match="22"):
        joints_ik.motion_from_joints(np.zeros((10, 24, 3)))


def test_http_backend_against_a_real_server(server):
    answer = backends.HttpBackend(server).generate("a person does jumping jacks", duration=4.0, seed=3)
    assert REQUESTS[-1] == {"prompt": "a person does jumping jacks", "duration": 4.0, "seed": 3}
    motion = backends.answer_to_motion(answer)
    assert motion.skeleton.names == joints_ik.NAMES and motion.fps == 20
    rig = clips.read_clip(MIXAMO_STYLE).skeleton
    on_rig = retarget.retarget(motion, rig)
    assert len(on_rig.mapping) == 22               # the SMPL preset maps every body part


def test_http_backend_errors_are_clear(server):
    with pytest.raises(backends.BackendError, match="500: RuntimeError: model crashed"):
        backends.HttpBackend(server).generate("fail")
    with pytest.raises(backends.BackendError, match="format 'gif'"):
        backends.HttpBackend(server).generate("odd")
    with pytest.raises(backends.BackendError, match="cannot reach"):
        backends.HttpBackend("http://127.0.0.1:9/none", timeout=2).generate("x")


def test_library_backend_seed_picks_among_the_best():
    lib = backends.LibraryBackend(fromtext.starter_index())
    first = lib.generate("walk", seed=0)
    assert first["format"] == "file" and "walk" in first["entry"]["description"]
    picks = {lib.generate("walk", seed=s)["path"] for s in range(5)}
    assert len(picks) == 5


def test_command_and_python_backends(tmp_path):
    np.save(tmp_path / "joints.npy", real_joints())
    script = tmp_path / "gen.py"
    script.write_text("import shutil, sys\nshutil.copy(sys.argv[1], sys.argv[2])\n")
    cmd = backends.CommandBackend(f"{sys.executable} {script} {tmp_path / 'joints.npy'} {{out}}")
    motion = backends.answer_to_motion(cmd.generate("anything", 3.0, 1))
    assert motion.num_frames == len(real_joints())
    (tmp_path / "t2m_stub.py").write_text(
        "def generate(prompt, duration, seed):\n    return {'format': 'file', 'path': %r}\n" % CLIP)
    sys.path.insert(0, str(tmp_path))
    try:
        answer = backends.PythonBackend("t2m_stub:generate").generate("x")
    finally:
        sys.path.remove(str(tmp_path))
    assert backends.answer_to_motion(answer).num_frames == 125


@pytest.mark.parametrize("prompt,trial", [("jumping jacks", "14_14"), ("a boxer throws punches", "02_05")])
def test_generator_from_text_on_a_mixamo_style_rig(tmp_path, prompt, trial):
    out = tmp_path / "gen.mdna"
    report = fromtext.generator_from_text(prompt, MIXAMO_STYLE, out, bvh_out=tmp_path / "clip.bvh")
    assert trial in report["source"] and report["mapped_bones"] == 22
    gen = Generator.load(str(out))
    assert gen.skeleton.names == clips.read_clip(MIXAMO_STYLE).skeleton.names
    variation = gen.generate(num_frames=90, seed=1)
    assert variation.num_frames == 90 and np.isfinite(variation.rotations).all()
    written = clips.read_clip(str(tmp_path / "clip.bvh"))
    assert written.num_frames == report["frames"]
    assert set(mapping.map_bones(written.skeleton, written.skeleton)) >= {"mixamorig:LeftHand"}


def test_smpl_and_bvh_answers():
    rng = np.random.default_rng(1)
    poses = rng.normal(0, 0.1, (30, 72))
    trans = np.cumsum(np.full((30, 3), 0.01), axis=0)
    motion = backends.answer_to_motion({"format": "smpl", "fps": 30, "poses": poses.tolist(), "trans": trans.tolist()})
    assert motion.num_frames == 30 and motion.fps == 30 and "left_wrist" in motion.skeleton.names
    res = retarget.retarget(motion, clips.read_clip(MIXAMO_STYLE).skeleton)
    assert len(res.mapping) == 22 and np.isfinite(res.motion.rotations).all()
    with open(CLIP, encoding="utf-8") as f:
        text = f.read()
    assert backends.answer_to_motion({"format": "bvh", "bvh": text}).num_frames == 125
    with pytest.raises(backends.BackendError, match="needs poses"):
        backends.answer_to_motion({"format": "smpl", "fps": 30})
