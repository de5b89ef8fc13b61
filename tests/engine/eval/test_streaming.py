"""engine/eval/streaming.py: EVAL.md's streaming catch and punch, on a synthetic clip and a real one."""
import os

import numpy as np
import pytest
from synthetic import synthetic_clip

from motiondna.engine.eval import benchmark, streaming
from motiondna.engine.motion import metrics, quat

from conftest import MOTIONS, needs_shared

BYE = os.path.join(MOTIONS, "bandai_namco", "dataset-1_bye_active_001.bvh")


@pytest.fixture(scope="module")
def ref():
    return metrics.Reference(synthetic_clip(180, varied=True))


def test_catches_end_within_reach_on_a_ballistic_path_revealed_in_time(ref):
    fps, up = ref.motion.fps, ref.track.up_axis
    lo, hi = streaming.reach_box(ref)
    throws = streaming.make_catches(ref, 20, seed=0)
    assert len(throws) == 20
    for t in throws:
        lead = (t.contact - t.reveal) / fps
        assert 0.5 - 0.5 / fps <= lead <= 1.0 + 0.5 / fps and t.reveal >= 0 and t.contact < ref.motion.num_frames
        local = quat.inv_mul_vec(ref.track.heading[t.contact], t.point_m - ref.track.positions[t.contact, ref.track.root])
        assert np.all(local >= lo - 1e-9) and np.all(local <= hi + 1e-9)   # in the body's frame at contact
        assert np.allclose(t.path_m[-1], t.point_m) and len(t.path_m) == t.contact - t.launch + 1
        acc = np.diff(t.path_m, 2, axis=0) * fps ** 2
        assert np.allclose(acc[:, up], -streaming.GRAVITY) and np.allclose(np.delete(acc, up, axis=1), 0.0, atol=1e-6)
        hands = streaming.hands(ref)
        nearest = min(hands.values(), key=lambda j: np.linalg.norm(ref.track.positions[t.contact, j] - t.point_m))
        assert t.joint == nearest


def test_punches_are_at_chest_height_in_front_of_the_chest(ref):
    chest, left, right = streaming.chest_and_sides(ref)
    names = ref.skeleton.names
    assert (names[chest], names[left], names[right]) == ("Chest", "LeftShoulder", "RightShoulder")
    up, span = ref.track.up_axis, metrics.SPAN_METRES
    for t in streaming.make_punches(ref, 20, seed=0):
        lead = (t.contact - t.reveal) / ref.motion.fps
        assert 0.4 - 0.02 <= lead <= 0.8 + 0.02
        at = ref.track.positions[t.contact, chest]
        assert t.point_m[up] == pytest.approx(at[up])
        forward, side = streaming.forward_at(ref, t.contact, left, right)
        ahead = np.dot(t.point_m - at, forward)
        assert 0.3 * span - 1e-9 <= ahead <= 0.6 * span + 1e-9
        assert abs(np.dot(t.point_m - at, side)) <= 0.1 * span + 1e-9


class RecordingSession:
    """A session that plays the source and records when it was told what."""

    def __init__(self, motion):
        self.inner = streaming.RefinedSourceStream(motion)
        self.told = []

    @property
    def frame(self):
        return self.inner.frame

    def set_targets(self, targets):
        self.told.append((self.inner.frame, list(targets)))

    def step(self):
        return self.inner.step()

    def motion(self):
        return self.inner.motion()


def test_a_session_hears_of_the_target_at_its_reveal_step_and_not_before(ref):
    t = streaming.make_catches(ref, 1, seed=3)[0]
    start, steps = streaming.session_span(ref, t)
    session = RecordingSession(ref.motion)
    motion = streaming.play_session(session, ref, t, start, steps, streaming.RevealedTarget)
    assert motion.num_frames == steps
    ((when, (target,)),) = session.told
    assert when == t.reveal - start and target.frame == t.contact - start and target.joint == t.joint
    assert np.allclose(np.asarray(target.position) * ref.scale, t.point_m)


def test_the_causal_baseline_keeps_the_steps_before_the_reveal_and_reaches_the_target(ref):
    t = streaming.make_catches(ref, 5, seed=1)[2]
    start, steps = streaming.session_span(ref, t)
    session = streaming.RefinedSourceStream(ref.motion, start)
    motion = streaming.play_session(session, ref, t, start, steps, streaming.RevealedTarget)
    before = t.reveal - start
    assert np.array_equal(motion.rotations[:before], ref.motion.rotations[start:t.reveal])
    row = streaming.score_throw(ref, motion, t, start)
    replay = streaming.score_throw(ref, ref.motion, t, 0)
    assert row["distance_cm"] < 3.0 < replay["distance_cm"] and row["start_offset_cm"] == 0.0
    assert replay["local_style_distance_cm"] == 0.0


def test_the_protocol_runs_the_columns_it_has_and_judges_the_goals(ref):
    built = {"replay": benchmark.Replay(ref.motion), "refined_source": benchmark.RefinedSource(ref.motion)}
    result = streaming.run(ref, built, "punch", seed=0, count=4)
    assert set(result["methods"]) == {"replay", "refined_source", "refined_stream"}
    assert len(result["throws"]) == 4 and "stream_rate" not in result
    summary = streaming.summarise([{"name": "synthetic", "punch": result}], "punch")
    within = summary["goals"]["within 3 cm >= 90 % of throws"]
    assert within["replay"]["met"] is False
    assert summary["methods"]["refined_source"]["distance_cm_mean"] < summary["methods"]["replay"]["distance_cm_mean"]
    md = "\n".join(streaming.to_markdown(summary, [{"name": "synthetic", "punch": result}], "punch", benchmark._table))
    assert "## Streaming punch across clips (1 clips)" in md


def test_the_generator_column_appears_with_a_stream_api(ref, monkeypatch):
    class FakeStreamTarget:
        def __init__(self, joint, position, frame):
            self.joint, self.position, self.frame = joint, position, frame

    class FakeGenerator:
        def stream(self, seed=None, start=0, batch=None):
            return streaming.RefinedSourceStream(ref.motion, start)

    class Built:
        generator = FakeGenerator()

    monkeypatch.setattr(streaming, "stream_target_type", lambda: FakeStreamTarget)
    cols = streaming.columns(ref, {"replay": benchmark.Replay(ref.motion), "generator": Built()})
    assert "generator_stream" in cols
    t = streaming.make_catches(ref, 1, seed=0)[0]
    motion, start = cols["generator_stream"](t)
    assert streaming.score_throw(ref, motion, t, start)["distance_cm"] < 3.0


@needs_shared
def test_catches_on_a_real_clip():
    ref = metrics.Reference(benchmark.load_clip(BYE))
    built = {"replay": benchmark.Replay(ref.motion), "refined_source": benchmark.RefinedSource(ref.motion)}
    result = streaming.run(ref, built, "catch", seed=0, count=5)
    for name in ("refined_source", "refined_stream"):
        s = result["methods"][name]["summary"]
        assert s["finite_share"] == 1.0 and s["distance_cm_mean"] < result["methods"]["replay"]["summary"]["distance_cm_mean"]
