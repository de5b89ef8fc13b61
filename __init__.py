"""MotionDNA: turn one animated armature clip into a tiny, real-time motion generator.

Registration only. The code lives in ``blender_motiondna`` (Blender-side core),
``operators``, ``panels`` and ``engine`` (no bpy)."""
import bpy
from bpy.props import IntProperty

from . import operators, panels
from .blender_motiondna import build, cli, live, prefs, props, worker_client

CLASSES = props.CLASSES + prefs.CLASSES + operators.CLASSES + panels.CLASSES


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    props.register_properties()
    bpy.types.Scene.mdna_target_index = IntProperty(options={'HIDDEN', 'SKIP_SAVE'})
    live.register()
    build.register()
    cli.register_command()


def unregister():
    build.unregister()  # cancels running builds
    worker_client.shutdown_shared()  # no worker outlives the add-on
    cli.unregister_command()
    live.unregister()
    del bpy.types.Scene.mdna_target_index
    props.unregister_properties()
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
