"""Public Python API for technical artists: the same functions the operators and the CLI
use, callable in the UI and in ``--background``.

Example (in Blender, with MotionDNA enabled)::

    import bpy
    from bl_ext.user_default.motiondna.blender_motiondna import api
    arm = bpy.data.objects["Armature"]
    api.build_generator(arm)                       # trains in the worker, embeds the result
    api.add_target(arm, "RightHand", frame=40, location=(0.3, 0.1, 1.6))
    action = api.generate(arm)                     # new action "<source>.mdna"; source untouched
    api.save_generator(arm, "/tmp/walk.mdna")
"""
from . import bake, build, store, targets as _targets


def build_generator(armature, action=None, frame_range=None, seed=0, steps=None, on_progress=None, python=None):
    """Learn a generator from ``armature``'s action (or ``action``) and store it in the armature.

    Runs synchronously in the engine worker (a separate Python with torch). ``frame_range``
    is (first, last) scene frames. Returns the build info (seconds, size, ...)."""
    settings = {"seed": seed}
    if steps:
        settings["steps"] = steps
    return build.build_generator(armature, action, frame_range, settings, on_progress, python)


def add_target(armature, joint, frame=None, location=None):
    """Add a target empty: ``joint`` should be at ``location`` (world) at scene ``frame``.

    Keyframe the empty's location to make it a moving target. Returns the empty."""
    return _targets.add_target(armature, joint, frame, location)


def list_targets(armature):
    """The armature's target empties."""
    return _targets.target_empties(armature)


def remove_target(empty):
    _targets.remove_target(empty)


def clear_targets(armature):
    """Remove all of the armature's targets; returns how many there were."""
    return _targets.clear_targets(armature)


def generate(armature, as_nla=False):
    """Regenerate under the targets into a new action (or NLA strip); returns the action."""
    return bake.regenerate(armature, as_nla=as_nla, reuse_result=False).action


def save_generator(armature, path):
    """Write the armature's generator to a .mdna file."""
    return store.save_bytes(armature, path)


def load_generator(armature, path):
    """Put the generator in ``path`` onto ``armature`` (joints must match); returns its runtime."""
    from ..engine import generator_file
    from ..engine.runtime import Generator
    from . import armature_io
    generator = Generator.load(path)
    generator_file.check_compatible(generator.meta, armature_io.skeleton_from_armature(armature))
    store.store_generator(armature, path)
    return generator


def generator(armature):
    """The armature's generator as a torch-free runtime object (``.generate(targets=...)``)."""
    return store.get_generator(armature)
