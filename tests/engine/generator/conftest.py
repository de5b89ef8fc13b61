"""Shared fixtures of the generator tests."""
import pytest
from synthetic import synthetic_clip

from motiondna.engine.generator.build import build_generator
from motiondna.engine.generator.runtime import Generator


@pytest.fixture(scope="module")
def varied(tmp_path_factory):
    """(clip, Generator) of the synthetic walk whose swings grow and shrink: material to
    recombine. One per test module."""
    clip = synthetic_clip(240, varied=True)
    path = str(tmp_path_factory.mktemp("varied") / "g.mdna")
    build_generator(clip, path)
    return clip, Generator.load(path)
