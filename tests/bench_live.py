"""Drag-to-keys latency of live regeneration (a benchmark, not a test: pytest does not
collect it). See blender_motiondna/latency.py; goal: p95 <= 50 ms, 65 bones x 300 frames.

    .venv/bin/python tests/bench_live.py [--bones 65] [--frames 300] [--drags 60] [--profile]
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from blender_motiondna.bootstrap import load_extension_package  # noqa: E402

if __name__ == "__main__":
    load_extension_package().register()
    from motiondna.blender_motiondna import latency

    sys.exit(latency.main())
