"""MotionDNA engine: numpy only, never bpy (it runs in Blender's Python and in the worker).

- ``motion``: quaternions, skeletons and motions, features, filters, targets, foot
  contacts, the measures the benchmark and the quality report use;
- ``io``: BVH and AMASS/SMPL motion files, the safe array container and the ``.mdna``
  generator file;
- ``generator``: the build (the exact clip, its motion graph and DNA summary), the
  graph's jumps and their blending, and the runtime that generates;
- ``refine``: inverse kinematics and the whole-body target refinement;
- ``worker``: the build worker process and its framed protocol;
- ``eval``: the benchmark, its IK-warp baseline, GenMM side by side and the preview
  picture (torch and matplotlib only there, imported lazily)."""
