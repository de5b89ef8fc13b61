"""Play Live in the bpy module: ``scene.frame_set`` runs the frame_change_post handler as
playback does, the session steps its stream and poses the bones; moved, keyed and
animated empties steer the next frames; Record bakes the played frames into a new action;
the operators in --background."""
import numpy as np
import pytest

from conftest import CLIP


@pytest.fixture
def rig(addon, fresh_scene, generator_file):
    """The clip's armature with the module's generator, at frame 1, nothing playing."""
    import bpy

    from motiondna.blender_motiondna.io import bvh_io
    from motiondna.blender_motiondna.scene import play_live
    arm, _, _ = bvh_io.import_bvh(CLIP)
    bpy.context.view_layer.objects.active = arm
    assert bpy.ops.mdna.import_generator(filepath=generator_file) == {'FINISHED'}
    bpy.context.scene.frame_set(1)
    yield arm
    play_live.stop_all()


def unit(arm):
    return arm.dimensions.z / 1.7   # world units per metre of a 1.7 m body


def wrist(arm):
    return np.array(arm.matrix_world @ arm.pose.bones["RightWrist"].head)


def play(arm, frames):
    """Scene frames played one by one (what the timeline does); the wrist at each."""
    import bpy
    out = []
    for f in frames:
        bpy.context.scene.frame_set(f)
        out.append(wrist(arm))
    return np.array(out)


def source_wrists(arm, frames):
    """The wrist as the source action poses it (no session); back at frame 1 after."""
    import bpy
    out = play(arm, frames)
    bpy.context.scene.frame_set(1)
    return out


def add_empty(arm, location, joint="RightWrist"):
    from motiondna.blender_motiondna.scene import targets
    return targets.add_target(arm, joint, location=tuple(location))


def test_the_handler_steps_the_stream_and_poses_the_bones(rig):
    """With a seed the stream plays a variation, not the action the armature has: what
    the bones show is the stream's pose, frame for frame."""
    from motiondna.blender_motiondna.scene import play_live
    source = source_wrists(rig, range(1, 101))
    session = play_live.start(rig, seed=3)
    played = play(rig, range(1, 101))
    assert session.stream.frame == 100 and session.first_frame == 1 and session.last_frame == 100
    assert len(session.timings) == 101   # frame 1 when it started, again by frame_set(1), then 2-100
    motion = session.stream.motion()
    expected = play_live_world(rig, motion, "RightWrist")
    assert np.abs(played - expected).max() < 1e-3 * unit(rig)
    assert np.linalg.norm(played - source, axis=1).max() > 0.05 * unit(rig)   # a variation: not the source


def play_live_world(arm, motion, joint):
    from motiondna.blender_motiondna.io import armature_io
    positions = motion.positions()[:, motion.skeleton.index(joint)]
    return armature_io.armature_to_world(arm, positions)


def test_without_targets_and_seed_it_plays_the_clip(rig):
    from motiondna.blender_motiondna.scene import play_live
    source = source_wrists(rig, range(1, 31))
    play_live.start(rig)
    assert np.abs(play(rig, range(1, 31)) - source).max() < 1e-3 * unit(rig)


def test_a_jump_back_or_far_ahead_restarts_the_session(rig):
    import bpy

    from motiondna.blender_motiondna.scene import play_live
    session = play_live.start(rig)
    play(rig, range(1, 21))
    bpy.context.scene.frame_set(5)
    assert session.first_frame == 5 and session.stream.frame == 1
    bpy.context.scene.frame_set(8)   # dropped frames: steps through them
    assert session.first_frame == 5 and session.stream.frame == 4
    bpy.context.scene.frame_set(8 + play_live.MAX_CATCH_UP + 1)
    assert session.first_frame == 8 + play_live.MAX_CATCH_UP + 1 and session.stream.frame == 1


def test_a_moved_empty_changes_the_next_frames_only(rig, monkeypatch):
    """The empty holds the wrist "now and on"; moving it at frame 15 leaves frames 1-15 as
    a run without the move plays them and takes the wrist to the new place over the next
    frames. Targets are given to the stream only when they change."""
    import bpy

    from motiondna.blender_motiondna.scene import play_live
    from motiondna.engine.generator.stream import Stream
    calls = []
    original = Stream.set_targets
    monkeypatch.setattr(Stream, "set_targets", lambda self, targets: (calls.append(len(targets)),
                                                                      original(self, targets))[1])
    u = unit(rig)
    source = source_wrists(rig, range(1, 61))
    empty = add_empty(rig, source[0] + np.array([0.0, 0.0, 0.1 * u]))
    play_live.start(rig)
    kept = play(rig, range(1, 61))                 # the empty never moves
    assert calls == [1]                            # set once: it did not change
    before = play(rig, range(1, 16))               # back to frame 1: a new session
    moved_to = source[30] + np.array([0.1 * u, 0.0, 0.25 * u])
    empty.location = moved_to
    bpy.context.view_layer.update()
    after = play(rig, range(16, 61))
    assert calls == [1, 1, 1]                      # the restart, then the move
    assert np.abs(before - kept[:15]).max() < 1e-3 * u
    assert np.linalg.norm(after[0] - kept[15]) < 0.04 * u               # the next frame starts from there
    assert np.linalg.norm(after - kept[15:], axis=1).max() > 0.1 * u    # ... and goes elsewhere
    assert np.linalg.norm(after[-1] - moved_to) < 0.03 * u              # to the moved empty


def test_an_empty_keyed_at_one_frame_is_a_target_at_that_frame(rig):
    from motiondna.blender_motiondna.scene import play_live
    u = unit(rig)
    source = source_wrists(rig, range(1, 51))
    goal = source[39] + np.array([0.0, 0.0, 0.25 * u])
    empty = add_empty(rig, goal)
    empty.keyframe_insert("location", frame=40)
    assert play_live.single_key_frame(empty) == 40
    play_live.start(rig)
    played = play(rig, range(1, 51))
    assert np.linalg.norm(played[39] - goal) < 0.03 * u            # there at its frame
    assert np.linalg.norm(played[0] - source[0]) < 0.01 * u        # the clip long before it


def test_an_animated_empty_is_followed_at_each_frame(rig):
    """A ball keyed at two frames: each frame the wrist goes where the ball is then."""
    import bpy

    from motiondna.blender_motiondna.scene import play_live
    u = unit(rig)
    source = source_wrists(rig, range(1, 61))
    empty = add_empty(rig, source[0] + np.array([0.0, -0.05 * u, 0.1 * u]))
    empty.keyframe_insert("location", frame=1)
    empty.location = source[59] + np.array([0.0, -0.05 * u, 0.1 * u])
    empty.keyframe_insert("location", frame=60)
    assert play_live.single_key_frame(empty) is None
    play_live.start(rig)
    misses = []
    for f in range(1, 61):
        bpy.context.scene.frame_set(f)
        misses.append(np.linalg.norm(wrist(rig) - np.array(empty.matrix_world.translation)))
    assert max(misses[20:]) < 0.03 * u


def test_record_bakes_the_played_frames_into_a_new_action(rig):
    import bpy

    from motiondna.blender_motiondna.io import action_compat
    from motiondna.blender_motiondna.scene import play_live
    source = rig.animation_data.action
    keys_before = [np.array([k.co[:] for k in fc.keyframe_points]) for fc in action_compat.action_fcurves(source, rig)]
    add_empty(rig, source_wrists(rig, [1])[0] + np.array([0.0, 0.0, 0.2 * unit(rig)]))
    play_live.start(rig, seed=2)
    play_live.start_recording(rig)
    played = play(rig, range(1, 41))
    take = play_live.stop_recording(rig)
    assert take.name == f"{source.name}.live" and tuple(take.frame_range) == (1.0, 40.0)
    assert rig.animation_data.action == take and take.use_fake_user
    play_live.stop(rig)
    assert np.abs(play(rig, range(1, 41)) - played).max() < 2e-3 * unit(rig)   # the take plays what was played
    keys_after = [np.array([k.co[:] for k in fc.keyframe_points]) for fc in action_compat.action_fcurves(source, rig)]
    assert len(keys_after) == len(keys_before) and all(np.array_equal(a, b) for a, b in zip(keys_before, keys_after))
    play_live.start(rig)
    play_live.start_recording(rig)
    play(rig, range(1, 6))
    assert play_live.stop(rig).name == f"{source.name}.live.001"   # stopping bakes a running take, numbered
    assert bpy.data.actions.get(source.name) is source


def test_a_recording_with_no_played_frame_bakes_nothing(rig):
    import bpy

    from motiondna.blender_motiondna.scene import play_live
    actions = len(bpy.data.actions)
    play_live.start(rig)
    play_live.start_recording(rig)
    play_live.session(rig).recording.clear()
    assert play_live.stop_recording(rig) is None and len(bpy.data.actions) == actions


def test_live_regeneration_waits_while_playing_live(rig):
    import bpy

    from motiondna.blender_motiondna.scene import live, play_live
    empty = add_empty(rig, source_wrists(rig, [30])[0])
    empty.mdna_target.frame = 30
    live.set_live(rig, True)
    result = rig.mdna.result_action
    play_live.start(rig)
    empty.location.z += 0.1 * unit(rig)
    bpy.context.view_layer.update()
    assert live.flush() == {} and live.is_dirty(rig)     # no regeneration while the stream poses it
    play(rig, range(1, 5))
    play_live.stop(rig)
    assert rig.name in live.flush() and rig.mdna.result_action == result


def test_operators_in_background(rig):
    import bpy

    from motiondna.blender_motiondna.scene import play_live
    assert bpy.ops.mdna.play_live() == {'CANCELLED'}           # needs the UI's timeline: the API instead
    assert bpy.ops.mdna.record_live() == {'CANCELLED'} and not play_live.is_playing(rig)
    play_live.start(rig)                                       # as a script would
    assert bpy.ops.mdna.record_live() == {'FINISHED'} and play_live.is_recording(rig)
    play(rig, range(2, 12))
    assert bpy.ops.mdna.record_live() == {'FINISHED'} and not play_live.is_recording(rig)
    assert rig.animation_data.action.name.endswith(".live")
    assert tuple(rig.animation_data.action.frame_range) == (1.0, 11.0)
    assert bpy.ops.mdna.play_live() == {'FINISHED'} and not play_live.is_playing(rig)


def test_bad_input_is_refused_with_a_reason(rig):
    import bpy

    from motiondna.blender_motiondna.scene import play_live
    other = bpy.data.objects.new("NoGenerator", bpy.data.armatures.new("NoGenerator"))
    bpy.context.scene.collection.objects.link(other)
    with pytest.raises(ValueError, match="no generator yet: build one first"):
        play_live.start(other)
    bpy.context.scene.render.fps = 24
    with pytest.raises(ValueError, match="fps"):
        play_live.start(rig)
    with pytest.raises(ValueError, match="not playing live"):
        play_live.start_recording(rig)


def test_a_failing_session_ends_and_says_why(rig):
    import bpy

    from motiondna.blender_motiondna.scene import play_live
    session = play_live.start(rig)

    def broken(*_):
        raise ValueError("the stream broke")
    session.play_frame = broken
    bpy.context.scene.frame_set(2)
    assert not play_live.is_playing(rig) and rig.mdna.status == "Play Live stopped: the stream broke"


def test_an_empty_of_another_armature_does_not_steer(rig):
    from motiondna.blender_motiondna.io import bvh_io
    from motiondna.blender_motiondna.scene import play_live
    source = source_wrists(rig, range(1, 31))
    other, _, _ = bvh_io.import_bvh(CLIP)
    add_empty(other, source[10] + np.array([0.0, 0.0, 0.3 * unit(rig)]))
    play_live.start(rig)
    assert np.abs(play(rig, range(1, 31)) - source).max() < 1e-3 * unit(rig)
    assert not play_live.is_playing(other)


def test_undoing_the_recorded_take(rig):
    """The step the UI pushes for Record's bake (background Blender pushes none by
    itself, see test_live.py): undoing it removes the take, the armature plays its
    action again, and the session plays on."""
    import bpy

    from motiondna.blender_motiondna.scene import play_live
    name, source = rig.name, rig.animation_data.action.name
    play_live.start(rig)
    play_live.start_recording(rig)
    play(rig, range(2, 20))
    bpy.ops.ed.undo_push(message="before Record Live")
    assert bpy.ops.mdna.record_live() == {'FINISHED'}
    bpy.ops.ed.undo_push(message="Record Live")
    assert bpy.data.actions.get(f"{source}.live") is not None
    bpy.ops.ed.undo()
    arm = bpy.data.objects[name]   # undo replaces the data: fetch it again
    assert bpy.data.actions.get(f"{source}.live") is None and arm.animation_data.action.name == source
    assert play_live.is_playing(arm)
    bpy.context.scene.frame_set(20)
    assert play_live.session(arm).last_frame == 20
