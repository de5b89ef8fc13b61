"""Armatures and motion files in Blender: armature <-> motion arrays, action writing
(slotted and legacy actions), BVH, FBX/glTF and SMPL import and export."""
