"""``generate --seed/--seeds/--frames/--loop`` and ``bake --seeds`` as a user runs them."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import CLIP, ROOT

pytestmark = pytest.mark.slow  # CLI subprocesses


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "blender_motiondna", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def generator_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("var") / "jj.mdna"
    done = run_cli("build", "--clip", CLIP, "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


def test_seeds_write_one_variation_each(generator_path, tmp_path):
    from motiondna.engine.io.bvh import read_bvh
    out = tmp_path / "take.bvh"
    done = run_cli("generate", "--generator", str(generator_path), "--clip", CLIP, "--out", str(out),
                   "--seeds", "0-2", "--frames", "300", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    info = json.loads(done.stdout)
    files = [tmp_path / f"take_s{s}.bvh" for s in range(3)]
    assert [o["out"] for o in info["outputs"]] == [str(f) for f in files] and [o["seed"] for o in info["outputs"]] == [0, 1, 2]
    clips = [read_bvh(str(f)) for f in files]
    source = read_bvh(CLIP)
    assert all(c.num_frames == 300 and c.names == source.names and c.frame_time == source.frame_time for c in clips)
    assert not np.allclose(clips[0].frames, clips[1].frames)


def test_one_seed_with_a_pattern_a_loop_and_a_start(generator_path, tmp_path):
    from motiondna.engine.io.bvh import read_bvh
    pattern = str(tmp_path / "loop_{seed}.bvh")
    done = run_cli("generate", "--generator", str(generator_path), "--clip", CLIP, "--out", pattern,
                   "--seed", "7", "--frames", "240", "--loop", "--start", "10", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["out"] == str(tmp_path / "loop_7.bvh")
    assert read_bvh(str(tmp_path / "loop_7.bvh")).num_frames == 240


@pytest.mark.parametrize("args, message", [
    (("--seed", "1", "--seeds", "0-1"), "give --seed or --seeds, not both"),
    (("--seed", "-1"), "--seed must be 0 or more"),
    (("--loop",), "--loop makes a variation"),
    (("--seed", "1", "--start", "5000"), "start must be a source frame"),
    (("--seed", "1", "--frames", "300000"), "--frames must be at most 200000"),
])
def test_bad_variation_requests_exit_1_with_one_line(generator_path, tmp_path, args, message):
    out = tmp_path / "x.bvh"
    done = run_cli("generate", "--generator", str(generator_path), "--clip", CLIP, "--out", str(out), *args)
    assert done.returncode == 1, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


@pytest.mark.parametrize("seeds", ["5-2", "a-b", "0-5000"])
def test_bad_seed_lists_are_usage_errors(generator_path, tmp_path, seeds):
    done = run_cli("generate", "--generator", str(generator_path), "--clip", CLIP, "--out", str(tmp_path / "x.bvh"),
                   "--seeds", seeds)
    assert done.returncode == 2 and "--seeds" in done.stderr


def test_bake_frames_without_seeds_is_a_usage_error(tmp_path):
    done = run_cli("bake", str(tmp_path / "a.blend"), "--out", str(tmp_path / "b.blend"), "--frames", "10")
    assert done.returncode == 2 and "give --seeds too" in done.stderr
    assert not os.path.exists(tmp_path / "b.blend")
