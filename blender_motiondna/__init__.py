"""Blender-side core of MotionDNA: armature <-> motion arrays, action writing, targets,
baking, the worker client, the public API and the CLI. Never imports torch.

Modules here import the engine relatively (``from ..engine import ...``): they live
inside the extension package. ``python -m blender_motiondna`` loads that package first
(see ``__main__``)."""
