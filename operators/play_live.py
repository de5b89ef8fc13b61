"""Play Live (the stream poses the armature as the timeline plays) and Record (the
played frames become a new action)."""
import bpy

from ..blender_motiondna.scene import live, play_live
from .common import active_armature, poll_armature, report_exception

BACKGROUND_HINT = ("Play Live follows the timeline as Blender's interface plays it; in --background run "
                   "api.play_live(armature, schedule, frames) instead (docs/blender.md, 'Play Live')")


def _seed(arm):
    return None if arm.mdna.play_seed < 0 else int(arm.mdna.play_seed)


def _timeline_playing(context):
    screen = getattr(context, "screen", None)
    return screen is not None and screen.is_animation_playing


def _play_timeline(context, on):
    """Start or stop the timeline in the interface (nothing to do in --background)."""
    if bpy.app.background or getattr(context, "screen", None) is None or _timeline_playing(context) == on:
        return
    if on:
        bpy.ops.screen.animation_play()
    else:
        bpy.ops.screen.animation_cancel(restore_frame=False)


def _start(op, context, arm):
    """Start a session; {'CANCELLED'} with the reason when it cannot, else None."""
    try:
        play_live.start(arm, context.scene, seed=_seed(arm))
    except ValueError as err:
        return report_exception(op, err)
    arm.mdna.status = ""
    _play_timeline(context, True)
    return None


def _report_take(op, arm, action):
    if action is None:
        op.report({'WARNING'}, "Nothing was recorded: no frame played while recording")
    else:
        frames = int(round(action.frame_range[1] - action.frame_range[0])) + 1
        op.report({'INFO'}, f"Recorded {frames} frames into '{action.name}' ('{arm.name}' plays it; the source is kept)")


class MDNA_OT_play_live(bpy.types.Operator):
    """Stream the armature's motion as the timeline plays, steered by its target empties as they move (on/off)"""
    bl_idname = "mdna.play_live"
    bl_label = "Play Live"
    bl_options = {'REGISTER', 'UNDO'}   # stopping bakes a recording still running: one undo step

    @classmethod
    def poll(cls, context):
        return poll_armature(cls, context, need_generator=True)

    def execute(self, context):
        arm = active_armature(context)
        if play_live.is_playing(arm):
            recording = play_live.is_recording(arm)
            try:
                action = play_live.stop(arm)
            except ValueError as err:
                return report_exception(self, err)
            _play_timeline(context, False)
            if arm.mdna.live:
                live.mark_dirty(arm)  # drags made while playing regenerate now
            if recording:
                _report_take(self, arm, action)
            self.report({'INFO'}, f"Play Live off for '{arm.name}'")
            return {'FINISHED'}
        if bpy.app.background:
            self.report({'WARNING'}, BACKGROUND_HINT)
            return {'CANCELLED'}
        failed = _start(self, context, arm)
        if failed:
            return failed
        self.report({'INFO'}, f"Play Live on for '{arm.name}': move its target empties while it plays")
        return {'FINISHED'}


class MDNA_OT_record_live(bpy.types.Operator):
    """Keep every frame Play Live plays; press again to bake them into a new action (the source is kept)"""
    bl_idname = "mdna.record_live"
    bl_label = "Record Live"
    bl_options = {'REGISTER', 'UNDO'}   # the bake is one undo step

    @classmethod
    def poll(cls, context):
        return poll_armature(cls, context, need_generator=True)

    def execute(self, context):
        arm = active_armature(context)
        if play_live.is_recording(arm):
            try:
                action = play_live.stop_recording(arm)
            except ValueError as err:
                return report_exception(self, err)
            _report_take(self, arm, action)
            return {'FINISHED' if action is not None else 'CANCELLED'}
        if not play_live.is_playing(arm):
            if bpy.app.background:
                self.report({'WARNING'}, BACKGROUND_HINT)
                return {'CANCELLED'}
            failed = _start(self, context, arm)
            if failed:
                return failed
        play_live.start_recording(arm)
        self.report({'INFO'}, f"Recording '{arm.name}': press Record Live again to bake the take")
        return {'FINISHED'}


CLASSES = (MDNA_OT_play_live, MDNA_OT_record_live)
