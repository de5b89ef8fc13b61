"""Randomly damaged inputs (bounded count, seeded): a BVH, TARGETS.json structures and
.mdna bytes either load or raise ValueError (FormatError, BvhError are ValueErrors) with a
message; never another exception, and the input file is left as it was."""
import hashlib
import json
import os

import numpy as np
import pytest
from fuzzing import damage_generator, mutate_text, random_json

from motiondna.engine.io import fileformat
from motiondna.engine.io.bvh import read_bvh
from motiondna.engine.motion.targets import parse_targets

from conftest import CLIP

ROUNDS = 120


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_damaged_bvh_files_load_or_say_why(tmp_path):
    rng = np.random.default_rng(0)
    text = open(CLIP).read()
    path = tmp_path / "damaged.bvh"
    for _ in range(ROUNDS):
        path.write_text(mutate_text(rng, text))
        before = digest(path)
        try:
            read_bvh(str(path)).to_motion().validate()
        except ValueError as e:
            assert str(e)
        assert digest(path) == before


def test_random_targets_json_parses_or_says_why():
    rng = np.random.default_rng(1)
    skeleton = read_bvh(CLIP).to_motion().skeleton
    good = {"joint": "RightWrist", "frame": 60, "position": [0.0, 1.0, 2.0]}
    for _ in range(ROUNDS * 4):
        target = dict(good)
        for _ in range(rng.integers(1, 3)):
            target[str(rng.choice(list(good) + ["frames", "positions", "weight"]))] = random_json(rng)
        data = [{"targets": [target]}, {"targets": random_json(rng)}, random_json(rng)][int(rng.integers(3))]
        try:
            parse_targets(json.loads(json.dumps(data)), skeleton, 125)
        except ValueError as e:
            assert str(e)


@pytest.fixture(scope="module")
def generator_path(tmp_path_factory):
    from motiondna.engine.generator import build
    path = str(tmp_path_factory.mktemp("fuzz") / "g.mdna")
    build.build_generator(read_bvh(CLIP).to_motion(), path)
    return path


def test_damaged_generator_files_load_or_say_why(generator_path, tmp_path):
    from motiondna.engine.generator.runtime import Generator
    rng = np.random.default_rng(2)
    path = tmp_path / "damaged.mdna"
    for i in range(ROUNDS):
        damage_generator(rng, generator_path, path, in_bytes=i % 3 == 0)
        before = digest(path)
        try:
            g = Generator.load(str(path))
            g.generate(num_frames=20)
            g.generate(num_frames=3 * g.num_frames, seed=i)
        except fileformat.FormatError as e:
            assert str(e)
        except ValueError as e:  # a check after loading (the targets, the frames)
            assert str(e)
        assert digest(path) == before
    assert not [p for p in os.listdir(tmp_path) if p != "damaged.mdna"]
