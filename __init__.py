"""MotionDNA: turn one animated armature clip into a tiny, real-time motion generator.

Registration only. The code lives in ``blender_motiondna`` (Blender-side core),
``operators``, ``panels`` and ``engine`` (no bpy).

Scripts reach the public API as ``from motiondna import api`` whatever extension
repository this was installed into: while the extension is enabled, ``motiondna`` names
this package (unless another module already took the name)."""
import sys

import bpy
from bpy.props import IntProperty

from . import operators, panels
from .blender_motiondna import api, cli, worker_client
from .blender_motiondna.library import props as library_props
from .blender_motiondna.scene import build, live, play_live, prefs, props

__all__ = ["api", "register", "unregister", "is_registered"]

CLASSES = props.CLASSES + library_props.CLASSES + prefs.CLASSES + operators.CLASSES + panels.CLASSES
SCRIPT_NAME = "motiondna"

_registered = False


def register():
    global _registered
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    props.register_properties()
    library_props.register_properties()
    bpy.types.Scene.mdna_target_index = IntProperty(options={'HIDDEN', 'SKIP_SAVE'})
    live.register()
    play_live.register()
    build.register()
    cli.register_command()
    sys.modules.setdefault(SCRIPT_NAME, sys.modules[__name__])
    _registered = True


def unregister():
    global _registered
    if sys.modules.get(SCRIPT_NAME) is sys.modules[__name__] and __name__ != SCRIPT_NAME:
        del sys.modules[SCRIPT_NAME]
    build.unregister()  # cancels running builds
    worker_client.shutdown_shared()  # no worker outlives the add-on
    cli.unregister_command()
    play_live.unregister()
    live.unregister()
    del bpy.types.Scene.mdna_target_index
    library_props.unregister_properties()
    props.unregister_properties()
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
    _registered = False


def is_registered():
    """Whether the add-on's classes and properties are registered in this Blender."""
    return _registered
