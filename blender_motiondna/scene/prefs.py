"""Add-on preferences: which Python runs the engine worker (it needs torch), and the
"Set up engine" action that creates one in the extension's user folder."""
import os
import subprocess
import sys
import threading

import bpy
from bpy.props import StringProperty

from .. import EXTENSION_PACKAGE, EXTENSION_ROOT

ROOT_PACKAGE = EXTENSION_PACKAGE  # the registration name
REQUIREMENTS = os.path.join(EXTENSION_ROOT, "requirements-worker.txt")


class MDNA_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = ROOT_PACKAGE

    engine_python: StringProperty(
        name="Engine Python", subtype='FILE_PATH',
        description="Python interpreter with torch that runs the training worker. "
                    "Empty: the engine set up below if there is one, else Blender's own Python if it has torch")

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "engine_python")
        venv = engine_venv_python()
        col = layout.column(align=True)
        if self.engine_python:
            col.label(text=f"Using: {bpy.path.abspath(self.engine_python)}", icon='CONSOLE')
        elif os.path.exists(venv):
            col.label(text=f"Using the set-up engine: {venv}", icon='CHECKMARK')
        else:
            col.label(text="Using Blender's Python if it has torch; otherwise set up the engine", icon='INFO')
        row = layout.row(align=True)
        row.operator("mdna.setup_engine", icon='IMPORT')
        row.operator("mdna.check_engine", icon='CONSOLE')
        job = _setup
        if job is not None and (job.running or job.error):
            layout.label(text=job.message, icon='ERROR' if job.error else 'TIME')


def preferences():
    addon = bpy.context.preferences.addons.get(ROOT_PACKAGE)
    return addon.preferences if addon else None


def engine_dir():
    """Per-user folder for the engine's virtual environment (outside the add-on files, so
    updating the extension keeps it)."""
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


OFFLINE_MESSAGE = ("Set up Engine downloads PyTorch, and Blender's online access is off: allow it in "
                   "Preferences > System > Network (or start Blender with --online-mode), or set "
                   "Engine Python to an interpreter that already has torch")


def check_online_access():
    """Raise RuntimeError with what to do when Blender may not go online (an extension
    must honour ``bpy.app.online_access``, which is off by default in background mode)."""
    if not getattr(bpy.app, "online_access", True):
        raise RuntimeError(OFFLINE_MESSAGE)


def setup_engine_commands(base_python, requirements=REQUIREMENTS):
    """Commands that create the engine venv with pinned torch (run by mdna.setup_engine)."""
    venv = os.path.dirname(os.path.dirname(engine_venv_python()))
    return [[base_python, "-m", "venv", venv],
            [engine_venv_python(), "-m", "pip", "install", "--disable-pip-version-check", "-r", requirements]]


class SetupJob:
    """The set-up commands run one after the other on a thread; ``message`` follows them."""

    def __init__(self, commands):
        self.commands = commands
        self.message = "Starting..."
        self.error = None
        self.running = True

    def run(self):
        try:
            for cmd in self.commands:
                self.message = f"Running: {os.path.basename(cmd[0])} {' '.join(cmd[1:4])}..."
                done = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
                if done.returncode != 0:
                    tail = (done.stderr or done.stdout)[-2000:]
                    raise RuntimeError(f"engine set-up failed at '{' '.join(cmd[:4])}...':\n{tail}")
            self.message = f"Engine ready: {engine_venv_python()}"
        except (RuntimeError, OSError) as err:
            self.error = str(err)
            self.message = f"Engine set-up failed: {self.error.splitlines()[0]} (details in the console)"
            print(self.error)
        finally:
            self.running = False


_setup = None


def setup_running():
    return _setup is not None and _setup.running


def start_setup(base_python=None, requirements=REQUIREMENTS):
    """Start the set-up on a thread (the UI); returns the SetupJob."""
    global _setup
    if setup_running():
        return _setup
    check_online_access()
    _setup = SetupJob(setup_engine_commands(base_python or sys.executable, requirements))
    threading.Thread(target=_setup.run, name="mdna-engine-setup", daemon=True).start()
    return _setup


def run_setup(base_python=None, requirements=REQUIREMENTS):
    """Set the engine up synchronously (background mode, scripts); returns its Python."""
    global _setup
    check_online_access()
    _setup = SetupJob(setup_engine_commands(base_python or sys.executable, requirements))
    _setup.run()
    if _setup.error:
        raise RuntimeError(_setup.error)
    return engine_venv_python()


CLASSES = (MDNA_AP_preferences,)
