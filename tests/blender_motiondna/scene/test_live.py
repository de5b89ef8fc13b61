"""Live regeneration in the bpy module (no timers): the depsgraph handler marks the
armature dirty when a target empty moves, ``live.flush()`` regenerates and rewrites the
result action's keys in place; re-entrancy, failures, and undo around Apply."""

import numpy as np
import pytest

from conftest import CLIP


@pytest.fixture
def live_rig(addon, fresh_scene, generator_file):
    """An armature with a generator, a RightWrist target at frame 60, live mode on."""
    import bpy

    from motiondna.blender_motiondna.io import bvh_io
    arm, _, _ = bvh_io.import_bvh(CLIP)
    bpy.context.view_layer.objects.active = arm
    assert bpy.ops.mdna.import_generator(filepath=generator_file) == {'FINISHED'}
    bpy.context.scene.frame_set(60)
    assert bpy.ops.mdna.add_target(joint="RightWrist") == {'FINISHED'}
    empty = bpy.context.view_layer.objects.active
    assert bpy.ops.mdna.live_toggle() == {'FINISHED'}
    assert arm.mdna.live and arm.mdna.result_action is not None
    return arm, empty


def wrist(arm, frame=60):
    import bpy
    bpy.context.scene.frame_set(frame)
    return np.array(arm.matrix_world @ arm.pose.bones["RightWrist"].head)


def drag(empty, offset):
    import bpy
    empty.location = empty.location + type(empty.location)(offset)
    bpy.context.view_layer.update()  # what the UI's depsgraph evaluation does after a move


def test_moving_a_target_marks_dirty_and_flush_rewrites_the_keys(live_rig):
    import bpy

    from motiondna.blender_motiondna.scene import live
    arm, empty = live_rig
    result = arm.mdna.result_action
    actions_before = len(bpy.data.actions)
    unit = arm.dimensions.z / 1.7
    drag(empty, (0, 0.2 * unit, 0.2 * unit))
    assert live.is_dirty(arm)
    done = live.flush()
    assert arm.name in done and not live.is_dirty(arm)
    assert arm.animation_data.action == result and len(bpy.data.actions) == actions_before  # rewritten in place
    assert np.linalg.norm(wrist(arm) - np.array(empty.matrix_world.translation)) < 3 * unit / 100
    drag(empty, (0.15 * unit, 0, 0))
    live.flush()
    assert np.linalg.norm(wrist(arm) - np.array(empty.matrix_world.translation)) < 3 * unit / 100
    assert live.last_latency_ms() is not None


def test_moving_an_unrelated_object_or_with_live_off_does_nothing(live_rig):
    import bpy

    from motiondna.blender_motiondna.scene import live
    arm, empty = live_rig
    other = bpy.data.objects.new("Other", None)
    bpy.context.scene.collection.objects.link(other)
    drag(other, (1, 0, 0))
    assert not live.is_dirty(arm)
    assert bpy.ops.mdna.live_toggle() == {'FINISHED'} and not arm.mdna.live
    drag(empty, (0, 0, 0.1))
    assert not live.is_dirty(arm) and live.flush() == {}


def test_changing_a_target_setting_marks_dirty(live_rig):
    from motiondna.blender_motiondna.scene import live
    arm, empty = live_rig
    empty.mdna_target.enabled = False
    assert live.is_dirty(arm)
    assert live.flush()[arm.name].targets == []


def test_flush_is_not_reentrant(live_rig, monkeypatch):
    from motiondna.blender_motiondna.scene import bake, live
    arm, empty = live_rig
    inner = []
    real = bake.regenerate

    def regenerate_and_flush_again(*args, **kwargs):
        live.mark_dirty(arm)         # our own key writes look like an update...
        inner.append(live.flush())   # ...but a nested flush must do nothing
        return real(*args, **kwargs)

    monkeypatch.setattr(bake, "regenerate", regenerate_and_flush_again)
    live.mark_dirty(arm)
    done = live.flush()
    assert inner[0] == {} and arm.name in done
    assert live.is_dirty(arm)  # marked during the flush: left for the next one, no endless loop


def test_a_failing_regeneration_stops_live_mode_and_says_why(live_rig):
    from motiondna.blender_motiondna.scene import live, store
    arm, empty = live_rig
    store._cache.clear()
    arm.mdna.generator_digest = ""
    arm.mdna.generator_data = "QUJDRA=="
    drag(empty, (0, 0, 0.1))
    assert live.flush() == {}
    assert not arm.mdna.live and arm.mdna.status.startswith("Live stopped:")


def test_removing_a_target_regenerates_without_it(live_rig):
    import bpy
    arm, empty = live_rig
    unit = arm.dimensions.z / 1.7
    drag(empty, (0, 0, 0.3 * unit))
    from motiondna.blender_motiondna.scene import live
    live.flush()
    moved = wrist(arm)
    assert bpy.ops.mdna.remove_target(name=empty.name) == {'FINISHED'}
    assert np.linalg.norm(wrist(arm) - moved) > 0.1 * unit  # back near the source pose


def test_undo_around_apply(live_rig):
    """Background Blender pushes no undo steps for operators by itself (the UNDO flag is
    honoured by the UI's operator loop only), but ed.undo_push / ed.undo work. So this
    pushes the step the UI would push for Apply and checks what undoing it restores."""
    import bpy

    from motiondna.blender_motiondna.scene import live
    arm, empty = live_rig
    name, unit = arm.name, arm.dimensions.z / 1.7
    drag(empty, (0, 0, 0.2 * unit))
    live.flush()
    result_name = arm.mdna.result_action.name
    bpy.ops.ed.undo_push(message="before Apply")
    assert bpy.ops.mdna.apply() == {'FINISHED'}
    bpy.ops.ed.undo_push(message="Apply Result")  # the one step Apply makes in the UI
    arm = bpy.data.objects[name]
    assert arm.mdna.result_action is None and not arm.mdna.live
    assert bpy.data.actions[result_name].use_fake_user

    bpy.ops.ed.undo()
    arm = bpy.data.objects[name]  # undo replaces the data: fetch it again
    assert arm.mdna.result_action is not None and arm.mdna.result_action.name == result_name
    assert arm.mdna.live and not bpy.data.actions[result_name].use_fake_user
    assert arm.mdna.generator_data  # the generator survives undo
    assert live.is_dirty(arm)  # undo_post: keys are regenerated for the restored targets
    assert name in live.flush()

    bpy.ops.ed.redo()
    arm = bpy.data.objects[name]
    assert arm.mdna.result_action is None and arm.animation_data.action.name == result_name
