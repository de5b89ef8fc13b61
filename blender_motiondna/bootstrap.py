"""Load the repository root as the extension package when running outside Blender's
extension system (``python -m blender_motiondna``, tests, the demo, scripts with the bpy
module).

Inside Blender the root is ``bl_ext.<repo>.motiondna``; here it becomes ``motiondna``,
so relative imports (``from ..engine import quat``) work the same in both places.

The bpy module (not Blender itself) crashes at interpreter exit on some versions: 4.5
while an add-on's classes are still registered, 4.2 whenever a registered property had a
Python callback (``update=``, ``poll=``), even once unregistered. So a process that loaded
the package here unregisters it at exit and, on 4.2, ends with ``os._exit`` once the exit
hooks have run, keeping the exit code: the one given to ``sys.exit``, 1 after an uncaught
exception, else 0."""
import atexit
import contextlib
import importlib.util
import os
import shutil
import sys

PACKAGE = "motiondna"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRASHES_AT_FINALIZE = (4, 3)  # bpy module versions below this one crash in finalization

_exit_code = None


def load_extension_package(name=PACKAGE):
    loaded = sys.modules.get(name)
    if loaded is not None and hasattr(loaded, "__path__"):  # not the repository's motiondna.py shim
        return loaded
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(ROOT, "__init__.py"), submodule_search_locations=[ROOT])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    _install_exit_guard(module)
    return module


@contextlib.contextmanager
def stdout_to_stderr():
    """Send everything written to stdout (Python and C level) to stderr meanwhile: the
    CLI's stdout holds only its result, and Blender prints to it (5.3 logs its colour
    configuration on import in a child of a process that imported bpy)."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _install_exit_guard(package):
    # Registered before anything the package registers at exit, so it runs after them.
    # bpy is imported here, not at the top: __main__ imports this module before it sends
    # stdout to stderr for Blender's start-up messages.
    import bpy
    if bpy.app.version < CRASHES_AT_FINALIZE:
        _record_exit_codes()
        atexit.register(_exit_without_finalizing)
    atexit.register(_remove_session_tempdir, bpy.app.tempdir)
    atexit.register(_unregister, package)


def _remove_session_tempdir(path):
    """Remove the bpy module's session folder (``bpy.app.tempdir``, ``blender_XXXXXX`` in
    the system's temporary folder): Blender removes it when the interpreter finalizes, and
    a process that ends through ``os._exit`` (``run_exit_hooks_and_exit``, the 4.2 guard)
    skips that, leaving one folder per run."""
    if os.path.basename(os.path.normpath(path)).startswith("blender_"):
        shutil.rmtree(path, ignore_errors=True)


def _unregister(package):
    if getattr(package, "is_registered", lambda: False)():
        package.unregister()


def _record_exit_codes():
    real_exit = sys.exit

    def exit_recording_code(code=None):
        global _exit_code
        _exit_code = code
        real_exit(code)

    sys.exit = exit_recording_code


def set_exit_code(code):
    """The exit code for a process that ends without calling ``sys.exit`` (a test runner
    that raises SystemExit itself): the 4.2 exit guard exits with it."""
    global _exit_code
    _exit_code = int(code)


def _exit_without_finalizing():
    code = _exit_code
    if code is None:
        code = 1 if getattr(sys, "last_value", None) is not None else 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_exit_hooks_and_exit(code):
    """End the process now with ``code``: the exit hooks run (workers shut down, the
    package unregisters), then ``os._exit``: no interpreter finalization, which is where
    the bpy module of Blender 4.2 crashes."""
    global _exit_code
    _exit_code = code
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
