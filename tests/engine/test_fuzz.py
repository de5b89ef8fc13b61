"""Randomly damaged inputs (bounded count, seeded): a BVH, TARGETS.json structures and
.mdna bytes either load or raise ValueError (FormatError, BvhError are ValueErrors) with a
message; never another exception, and the input file is left as it was."""
import hashlib
import json
import os
import zipfile

import numpy as np
import pytest

from motiondna.engine.io import fileformat
from motiondna.engine.io.bvh import read_bvh
from motiondna.engine.motion.targets import parse_targets

from conftest import CLIP

ROUNDS = 120


def mutate_text(rng, text):
    lines = text.split("\n")
    for _ in range(rng.integers(1, 4)):
        i = int(rng.integers(len(lines)))
        kind = rng.integers(5)
        if kind == 0:
            del lines[i]
        elif kind == 1:
            lines[i] = lines[i][: int(rng.integers(len(lines[i]) + 1))]
        elif kind == 2:
            toks = lines[i].split()
            if toks:
                toks[int(rng.integers(len(toks)))] = str(rng.choice(["nan", "1e309", "-", "{", "}", "x", "1e-300", "0"]))
                lines[i] = " ".join(toks)
        elif kind == 3:
            lines.insert(i, lines[int(rng.integers(len(lines)))])
        else:
            lines = lines[:i]
    return "\n".join(lines)


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


def random_json(rng, depth=0):
    kind = rng.integers(8 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return bool(rng.integers(2))
    if kind == 2:
        return float(rng.choice([0.0, -1.0, 1e23, 60.7, float("nan"), 3.0]))
    if kind == 3:
        return int(rng.integers(-5, 200))
    if kind == 4:
        return str(rng.choice(["RightWrist", "Hips", "60", "", "heavy"]))
    if kind == 5:
        return [random_json(rng, depth + 1) for _ in range(rng.integers(0, 4))]
    keys = ["joint", "frame", "frames", "position", "positions", "weight", "targets"]
    return {str(rng.choice(keys)): random_json(rng, depth + 1) for _ in range(rng.integers(0, 5))}


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
    raw = open(generator_path, "rb").read()
    with zipfile.ZipFile(generator_path) as z:
        header = json.loads(z.read("header.json"))
        members = {n: z.read(n) for n in z.namelist()}
    path = tmp_path / "damaged.mdna"
    for i in range(ROUNDS):
        if i % 3 == 0:  # bytes: flips and truncation
            data = bytearray(raw)
            for _ in range(rng.integers(1, 20)):
                data[int(rng.integers(len(data)))] = int(rng.integers(256))
            path.write_bytes(bytes(data[: int(rng.integers(len(data) // 2, len(data) + 1))]))
        else:  # a valid zip whose header is changed at random
            h = json.loads(json.dumps(header))
            section = h["meta"] if rng.integers(2) else h
            key = str(rng.choice(list(section)))
            section[key] = random_json(rng)
            with zipfile.ZipFile(path, "w") as z:
                for name, blob in members.items():
                    z.writestr(name, json.dumps(h) if name == "header.json" else blob)
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
