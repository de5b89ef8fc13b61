"""FBX and glTF files in a library index: read through Blender's importers, one at a time.

Each file is imported into the current file, its motion read in armature space (Z up,
Blender units) and the imported objects, actions and armatures removed again; the entry's
features are measured on that motion like any other clip's."""
import bpy

from ..io import armature_io, formats

BLENDER_SUFFIXES = (".fbx", ".glb", ".gltf")


def read_with_blender(path):
    """The motion of an FBX / glTF file, leaving the open file as it was."""
    before = {"objects": set(bpy.data.objects), "actions": set(bpy.data.actions),
              "armatures": set(bpy.data.armatures), "meshes": set(bpy.data.meshes)}
    try:
        arm = formats.import_motion_file(path)
        return armature_io.read_motion(arm, rig_only=True)
    finally:
        for kind, old in before.items():
            collection = getattr(bpy.data, kind)
            for block in [b for b in collection if b not in old]:
                collection.remove(block)


READERS = {suffix: read_with_blender for suffix in BLENDER_SUFFIXES}
