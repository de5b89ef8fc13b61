"""``import motiondna`` in this repository with the bpy module (scripts run from the
repository root): loads the repository as the extension package ``motiondna`` in place of
this file and registers it, as enabling the extension does in Blender. Then
``from motiondna import api`` is the same line in both places. Not part of the extension
zip (blender_manifest.toml excludes it)."""
from blender_motiondna.bootstrap import load_extension_package

_package = load_extension_package()  # takes this module's place in sys.modules
if not _package.is_registered():
    _package.register()
