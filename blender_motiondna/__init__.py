"""Blender-side core of MotionDNA: bpy, mathutils and numpy only (what stock Blender ships).

- ``io``: armature <-> motion arrays, action writing for every supported Blender, BVH,
  FBX/glTF and SMPL import;
- ``scene``: the add-on's properties and preferences, targets, the stored generator,
  building, baking, live regeneration and the quality report;
- ``cli``: the command line (one module per command), batches and the demo;
- ``api``: the public Python API; ``worker_client``: the engine worker's client;
  ``bootstrap``: loading this repository as the extension package outside Blender.

Modules here import the engine relatively (``from ..engine import ...``): they live
inside the extension package. ``python -m blender_motiondna`` loads that package first
(see ``__main__``)."""
import os

EXTENSION_PACKAGE = __package__.rpartition(".")[0]  # "bl_ext.<repo>.motiondna" in Blender
EXTENSION_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
