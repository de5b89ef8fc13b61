"""Reading an action's keys back in tests (source actions must stay as they were)."""
import numpy as np


def fcurve_values(action, obj):
    """{(data_path, index): flat (frame, value) pairs} of every curve of ``action`` on ``obj``."""
    from motiondna.blender_motiondna.io import action_compat
    out = {}
    for c in action_compat.action_fcurves(action, obj):
        vals = np.zeros(len(c.keyframe_points) * 2)
        c.keyframe_points.foreach_get("co", vals)
        out[(c.data_path, c.array_index)] = vals
    return out
