"""The CLI as a user runs it: ``python -m blender_motiondna build|generate`` in a subprocess."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CLIP = os.path.join(ROOT, "data", "jumping_jacks.bvh")


def run_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "blender_motiondna", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def generator_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "jj.mdna"
    done = run_cli("build", "--clip", CLIP, "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["size_bytes"] == os.path.getsize(out) > 0
    return out


def test_generate_keeps_file_conventions_and_reaches_target(generator_path, tmp_path):
    from engine import bvh, metrics
    source = bvh.read_bvh(CLIP)
    motion = source.to_motion()
    positions = motion.positions()
    joint = "RightWrist"
    j = motion.skeleton.index(joint)
    frame = 60
    cm = 0.01 / metrics.metres_per_unit(motion.skeleton, motion.translations)  # EVAL.md scaling
    goal = positions[frame, j] + np.eye(3)[motion.skeleton.up_axis] * 25 * cm
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps({"targets": [{"joint": joint, "frame": frame, "position": goal.tolist()}]}))
    out = tmp_path / "out.bvh"
    done = run_cli("generate", "--generator", str(generator_path), "--clip", CLIP,
                   "--targets", str(targets), "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    result = bvh.read_bvh(str(out))
    assert result.names == source.names
    assert list(result.parents) == list(source.parents)
    assert len(result.frames) == len(source.frames)
    assert result.frame_time == pytest.approx(source.frame_time)
    generated = result.to_motion(up_axis=motion.skeleton.up_axis).positions()
    span = motion.skeleton.span()
    # Frame 0 is the input's frame 0; the target is reached in the file's own coordinates.
    assert np.abs(generated[0] - positions[0]).max() < 1e-3 * span
    assert np.linalg.norm(generated[frame, j] - goal) < 3 * cm


def test_generate_without_targets_reconstructs(generator_path, tmp_path):
    from engine import bvh, metrics
    out = tmp_path / "same.bvh"
    done = run_cli("generate", "--generator", str(generator_path), "--clip", CLIP, "--out", str(out))
    assert done.returncode == 0, done.stderr
    source = bvh.read_bvh(CLIP).to_motion()
    generated = bvh.read_bvh(str(out)).to_motion(up_axis=source.skeleton.up_axis)
    cm = 0.01 / metrics.metres_per_unit(source.skeleton, source.translations)
    err = np.linalg.norm(generated.positions() - source.positions(), axis=-1).mean() / cm
    assert err < 5.0, f"reconstruction {err:.2f} cm"


@pytest.mark.parametrize("case", ["missing_clip", "bad_json", "unknown_joint", "frame_outside", "corrupt_generator"])
def test_bad_input_exits_1_with_message(case, generator_path, tmp_path):
    targets = tmp_path / "t.json"
    gen = str(generator_path)
    clip = CLIP
    if case == "missing_clip":
        clip = str(tmp_path / "nope.bvh")
        targets.write_text('{"targets": []}')
    elif case == "bad_json":
        targets.write_text("{not json")
    elif case == "unknown_joint":
        targets.write_text('{"targets": [{"joint": "Tail", "frame": 3, "position": [0, 0, 0]}]}')
    elif case == "frame_outside":
        targets.write_text('{"targets": [{"joint": "Head", "frame": 9999, "position": [0, 0, 0]}]}')
    elif case == "corrupt_generator":
        data = open(gen, "rb").read()
        gen = str(tmp_path / "cut.mdna")
        open(gen, "wb").write(data[: len(data) // 2])
        targets.write_text('{"targets": []}')
    done = run_cli("generate", "--generator", gen, "--clip", clip, "--targets", str(targets), "--out", str(tmp_path / "o.bvh"))
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert done.stderr.strip().splitlines()[-1].startswith("motiondna: error:")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "o.bvh").exists()


def test_bad_arguments_exit_2():
    done = run_cli("build", "--clip")
    assert done.returncode == 2
    assert run_cli("--help").returncode == 0
