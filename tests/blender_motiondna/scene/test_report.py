"""The quality report's MBench part (blender_motiondna/scene/report.py) without a generator:
the pairs it stores and the lines the panel shows. The whole report, read from baked
actions, is tested through the operators in test_addon.py."""
import json

import pytest
from synthetic import synthetic_clip

from motiondna.engine.eval import mbench
from motiondna.engine.motion import metrics


def test_mbench_pairs_judge_the_result_on_the_source_ground_and_survive_json():
    from motiondna.blender_motiondna.scene import report
    source = synthetic_clip()
    sunk = source.copy()
    sunk.translations[:, 0, 2] -= 0.05 / metrics.metres_per_unit(source.skeleton, source.translations)
    pairs = json.loads(json.dumps(report.mbench_pairs(sunk, source)))
    assert list(pairs) == list(mbench.NAMES)
    assert pairs["ground_penetration"][0] > pairs["ground_penetration"][1] + 0.03  # 5 cm under the source's ground
    assert pairs["jitter_degree"] == pytest.approx([mbench.motion_quality(source)["jitter_degree"]] * 2)


def test_mbench_lines_show_each_measure_beside_the_source_with_its_unit():
    from motiondna.blender_motiondna.scene import report
    base = {"result": "walk_result", "source": "walk", "frames": 90, "targets": 0, "finite": True,
            "reconstruction_cm": 0.0, "foot_skate_delta": 0.0, "jitter_ratio": 1.0, "style_distance_cm": 0.0}
    pairs = {"jitter_degree": [0.0053, 0.0051], "ground_penetration": [0.012, 0.0], "foot_sliding": [0.0025, 0.002],
             "foot_floating": [0.04, float("nan")], "dynamic_degree": [0.0339, 0.034]}
    old = report.lines(base)
    text = report.lines(dict(base, mbench=pairs))
    assert text[:len(old)] == old and len(text) == len(old) + 6  # a heading and five measures
    assert text[len(old):] == ["MBench motion quality (30 fps frames), result vs source:",
                               "Jitter degree: 5.3 mm/frame² (source 5.1)",
                               "Ground penetration: 12.0 mm (source 0.0)",
                               "Foot sliding: 2.5 mm/frame (source 2.0)",
                               "Foot floating: 4.0 % of frames (source n/a)",
                               "Dynamic degree: 33.9 mm/frame (source 34.0)"]
