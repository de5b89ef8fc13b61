"""engine/motion/targets.py: TARGETS.json parsing names the target, the joint and the field."""
import pytest

from motiondna.engine.motion.skeleton import Skeleton
from motiondna.engine.motion.targets import parse_targets

SKELETON = Skeleton(["Hips", "Hand"], [-1, 0], [[1, 0, 0, 0]] * 2, [[0, 0, 1], [0.5, 0, 0]])


def parse(target):
    return parse_targets({"targets": [target]}, SKELETON, 10)


def test_a_weight_is_kept_exactly():
    (t,) = parse({"joint": "Hand", "frame": 3, "position": [0, 0, 1], "weight": 0.25})
    assert t.weight == 0.25 and t.joint == 1 and list(t.frames) == [3]


@pytest.mark.parametrize("weight", [None, [1], "heavy", -1, 2, True])
def test_a_bad_weight_names_the_target_and_joint(weight):
    with pytest.raises(ValueError, match=r"target #0 \(Hand\): a target weight is a number from 0 to 1"):
        parse({"joint": "Hand", "frame": 3, "position": [0, 0, 1], "weight": weight})


@pytest.mark.parametrize("frame", ["60", 6.7, True, 1e23, None, [3]])
def test_a_frame_is_a_whole_number(frame):
    with pytest.raises(ValueError, match=r"target #0 \(Hand\): frames are whole numbers"):
        parse({"joint": "Hand", "frame": frame, "position": [0, 0, 1]})


def test_whole_floats_are_frames_and_mismatched_lists_are_named():
    (t,) = parse({"joint": "Hand", "frame": 6.0, "position": [0, 0, 1]})
    assert list(t.frames) == [6]
    with pytest.raises(ValueError, match=r"target #0 \(Hand\): has 2 frames but 1 positions"):
        parse({"joint": "Hand", "frames": [1, 2], "positions": [[0, 0, 1]]})
    with pytest.raises(ValueError, match=r"target #0: no joint named 7"):
        parse({"joint": 7, "frame": 1, "position": [0, 0, 1]})
