import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.abspath(os.path.join(ROOT, "..", "shared"))
MOTIONS = os.path.join(SHARED, "motions")
sys.path.insert(0, ROOT)

from blender_motiondna.bootstrap import load_extension_package, set_exit_code  # noqa: E402

load_extension_package()  # the extension as package ``motiondna`` (bpy side + engine)


def pytest_sessionfinish(session, exitstatus):
    set_exit_code(exitstatus)  # the bpy module of 4.2 ends the process before finalization


def shared_clips():
    """All BVH clips in ../shared/motions (empty when ../shared is absent)."""
    if not os.path.isdir(MOTIONS):
        return []
    out = []
    for d, _, files in os.walk(MOTIONS):
        out += [os.path.join(d, f) for f in files if f.lower().endswith(".bvh")]
    return sorted(out)


# The Python that runs the engine worker: this one (in the Blender version matrix, that
# Blender's packages: bpy and numpy), or the one named by MOTIONDNA_ENGINE_PYTHON.
ENGINE_PYTHON = os.environ.get("MOTIONDNA_ENGINE_PYTHON") or sys.executable

CLIP = os.path.join(ROOT, "data", "jumping_jacks.bvh")  # the bundled CMU clip

needs_shared = pytest.mark.skipif(not os.path.isdir(MOTIONS), reason="../shared/motions is absent")


@pytest.fixture
def fresh_scene():
    import bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)
    yield bpy.context.scene


@pytest.fixture(scope="module")
def addon():
    """The extension registered (properties, operators, handlers) for a test module."""
    import motiondna
    motiondna.register()
    yield motiondna
    motiondna.unregister()
