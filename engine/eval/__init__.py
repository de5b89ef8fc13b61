"""Evaluation: the benchmark (``python -m engine.eval.benchmark``), its IK-warp baseline and
the preview picture (matplotlib)."""
