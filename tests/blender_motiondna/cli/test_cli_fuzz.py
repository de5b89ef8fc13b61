"""The CLI on randomly damaged inputs (seeded, 18 runs): ``build``, ``generate`` and ``info``
on a damaged BVH, TARGETS.json or .mdna either succeed or exit 1 with one line saying why,
never a traceback; no input file changes, and no temporary file or build folder is left."""
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from fuzzing import damage_generator, mutate_text, random_json

from conftest import CLIP, ROOT

pytestmark = pytest.mark.slow  # CLI subprocesses and a worker


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture(scope="module")
def generator_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("fuzz") / "good.mdna"
    done = subprocess.run([sys.executable, "-m", "blender_motiondna", "build", "--clip", CLIP, "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def damaged_targets(rng):
    good = {"joint": "RightWrist", "frame": 60, "position": [10.0, 20.0, 5.0]}
    if rng.integers(2):  # the text damaged
        return mutate_text(rng, json.dumps({"targets": [good]}, indent=1))
    target = dict(good)
    target[str(rng.choice(list(good) + ["frames", "positions", "weight"]))] = random_json(rng)
    return json.dumps([{"targets": [target]}, {"targets": random_json(rng)}][int(rng.integers(2))])


def cases(rng, folder, generator):
    """(argv, the input files) for each run; inputs are written to ``folder``."""
    clip, targets, mdna, text = folder / "clip.bvh", folder / "targets.json", folder / "g.mdna", open(CLIP).read()
    out = ["--out", str(folder / "out.bvh")]
    for i in range(18):
        clip.write_text(text)
        targets.write_text('{"targets": []}')
        mdna.write_bytes(generator.read_bytes())
        kind = ("generate-clip", "generate-targets", "info", "generate-mdna", "build")[i % 5]
        if kind == "generate-clip" or kind == "build":
            clip.write_text(mutate_text(rng, text))
        elif kind == "generate-targets":
            targets.write_text(damaged_targets(rng))
        else:
            damage_generator(rng, generator, mdna, in_bytes=bool(rng.integers(2)))
        if kind == "info":
            yield ["info", str(mdna)], [mdna]
        elif kind == "build":
            yield ["build", "--clip", str(clip), "--out", str(folder / "out.mdna")], [clip]
        else:
            yield ["generate", "--generator", str(mdna), "--clip", str(clip), "--targets", str(targets)] + out, \
                [mdna, clip, targets]


def test_damaged_inputs_succeed_or_exit_1_with_a_message(generator_path, tmp_path):
    rng = np.random.default_rng(7)
    work, temp = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    temp.mkdir()
    env = dict(os.environ, TMPDIR=str(temp))
    codes = []
    for argv, inputs in cases(rng, work, generator_path):
        before = {p: digest(p) for p in inputs}
        done = subprocess.run([sys.executable, "-m", "blender_motiondna", *argv], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600)
        codes.append(done.returncode)
        assert done.returncode in (0, 1), (argv, done.stderr[-2000:])
        assert "Traceback" not in done.stderr, (argv, done.stderr[-2000:])
        if done.returncode == 1:
            assert done.stderr.rstrip().splitlines()[-1].startswith("motiondna: error: "), done.stderr[-2000:]
            assert not (work / "out.bvh").exists() and not (work / "out.mdna").exists(), argv
        assert {p: digest(p) for p in inputs} == before, argv
        left = [n for n in os.listdir(work) if n not in ("clip.bvh", "targets.json", "g.mdna", "out.bvh", "out.mdna")]
        left += [n for n in os.listdir(temp) if not n.startswith("torchinductor_")]  # torch's cache may stay
        assert not left, (argv, left)
        for name in ("out.bvh", "out.mdna"):
            if (work / name).exists():
                os.remove(work / name)
    assert codes.count(1) >= 9  # most damage is refused; what still reads is built or played
