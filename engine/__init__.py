"""MotionDNA engine: never imports bpy; imports torch only where it trains or exports
(``generator/model``, ``generator/train``, ``generator/export_onnx``, ``worker``).

- ``motion``: quaternions, skeletons and motions, features, filters, targets, foot
  contacts, the measures the benchmark and the quality report use;
- ``io``: BVH and AMASS/SMPL motion files, the safe array container and the ``.mdna``
  generator file;
- ``generator``: the motion DNA, the per-clip network, its training, the torch-free
  runtime and the ONNX export;
- ``refine``: inverse kinematics and the whole-body target refinement;
- ``worker``: the training worker process and its framed protocol;
- ``eval``: the benchmark, its IK-warp baseline and the preview picture."""
