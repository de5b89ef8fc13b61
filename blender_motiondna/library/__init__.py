"""From text to a generator in Blender: library search, retargeting onto an armature,
the build (engine/library holds the numpy side)."""
