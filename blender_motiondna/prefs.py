"""Add-on preferences: which Python runs the engine worker (it needs torch)."""
import os
import subprocess
import sys

import bpy
from bpy.props import StringProperty

ROOT_PACKAGE = __package__.rpartition(".")[0]  # the extension package (registration name)


class MDNA_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = ROOT_PACKAGE

    engine_python: StringProperty(
        name="Engine Python", subtype='FILE_PATH',
        description="Python interpreter with torch that runs the training worker. "
                    "Empty: Blender's own Python if it has torch, else the engine set up below")

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "engine_python")
        row = layout.row()
        row.operator("mdna.setup_engine", icon='CONSOLE')
        venv = engine_venv_python()
        row.label(text=f"Engine: {venv}" if os.path.exists(venv) else "No engine set up yet")


def preferences():
    addon = bpy.context.preferences.addons.get(ROOT_PACKAGE)
    return addon.preferences if addon else None


def engine_dir():
    """Per-user folder for the engine's virtual environment (outside the add-on files)."""
    try:
        return bpy.utils.extension_path_user(ROOT_PACKAGE, path="engine", create=True)
    except (ValueError, AttributeError):  # not loaded as an extension (python -m, tests)
        return os.path.join(bpy.utils.user_resource('SCRIPTS'), "motiondna_engine")


def engine_venv_python():
    sub = "Scripts/python.exe" if sys.platform == "win32" else "bin/python"
    return os.path.join(engine_dir(), "venv", sub)


def configured_python():
    """The interpreter the user chose, the set-up engine, or None (let the client decide)."""
    prefs = preferences()
    if prefs and prefs.engine_python:
        return bpy.path.abspath(prefs.engine_python)
    venv = engine_venv_python()
    return venv if os.path.exists(venv) else None


def setup_engine_commands(base_python):
    """Commands that create the engine venv with pinned torch (run by mdna.setup_engine)."""
    venv = os.path.dirname(os.path.dirname(engine_venv_python()))
    req = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "requirements-worker.txt")
    return [[base_python, "-m", "venv", venv],
            [engine_venv_python(), "-m", "pip", "install", "-r", req]]


def run_setup(base_python=None):
    base = base_python or sys.executable
    for cmd in setup_engine_commands(base):
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"engine set-up failed: {' '.join(cmd[:3])}...\n{done.stderr[-2000:]}")
    return engine_venv_python()


CLASSES = (MDNA_AP_preferences,)
