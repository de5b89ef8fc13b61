"""Add-on preferences: which Python runs the engine worker. Builds need numpy only, so
the default is Blender's own Python; the preference names another one (a studio's
shared interpreter, a newer numpy)."""
import sys

import bpy
from bpy.props import StringProperty

from .. import EXTENSION_PACKAGE

ROOT_PACKAGE = EXTENSION_PACKAGE  # the registration name


class MDNA_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = ROOT_PACKAGE

    engine_python: StringProperty(
        name="Engine Python", subtype='FILE_PATH',
        description="Python interpreter (with numpy) that runs the build worker. "
                    "Empty: Blender's own Python")

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "engine_python")
        if self.engine_python:
            layout.label(text=f"Using: {bpy.path.abspath(self.engine_python)}", icon='CONSOLE')
        else:
            layout.label(text=f"Using Blender's own Python: {sys.executable}", icon='CHECKMARK')
        layout.operator("mdna.check_engine", icon='CONSOLE')


def preferences():
    addon = bpy.context.preferences.addons.get(ROOT_PACKAGE)
    return addon.preferences if addon else None


def configured_python():
    """The interpreter the user chose, or None (the client decides: $MOTIONDNA_ENGINE_PYTHON,
    else this Python)."""
    prefs = preferences()
    if prefs and prefs.engine_python:
        return bpy.path.abspath(prefs.engine_python)
    return None


CLASSES = (MDNA_AP_preferences,)
