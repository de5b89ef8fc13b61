"""Load the repository root as the extension package when running outside Blender's
extension system (``python -m blender_motiondna``, tests, the demo).

Inside Blender the root is ``bl_ext.<repo>.motiondna``; here it becomes ``motiondna``,
so relative imports (``from ..engine import quat``) work the same in both places."""
import importlib.util
import os
import sys

PACKAGE = "motiondna"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_extension_package(name=PACKAGE):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(ROOT, "__init__.py"), submodule_search_locations=[ROOT])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
