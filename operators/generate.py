"""Generate (bake to a new action or NLA strip), live regeneration, apply / revert, and
the quality report."""
import bpy
from bpy.props import BoolProperty, IntProperty

from ..blender_motiondna.scene import bake, live, report
from .common import USER_ERRORS, active_armature, poll_armature, report_exception


def report_result(op, arm, result):
    for name, reason in result.skipped:
        op.report({'WARNING'}, f"Target '{name}' ignored: {reason}")
    cm = bake.cm_per_unit(result.motion)
    for joint, distance in result.unreached:
        op.report({'WARNING'}, f"Target on '{joint}' is out of reach: missed by {distance * cm:.0f} cm; "
                               "move it closer or lower its weight")


class MDNA_OT_generate(bpy.types.Operator):
    """Regenerate the clip under the targets and bake it to a new action (the source is kept)"""
    bl_idname = "mdna.generate"
    bl_label = "Generate"
    bl_options = {'REGISTER', 'UNDO'}

    as_nla: BoolProperty(name="As NLA Strip", default=False,
                         description="Add the result as an NLA strip instead of the active action")

    @classmethod
    def poll(cls, context):
        return poll_armature(cls, context, need_generator=True)

    def execute(self, context):
        arm = active_armature(context)
        wm = context.window_manager
        shown = not bpy.app.background  # many targets take a while: the cursor shows how far
        if shown:
            wm.progress_begin(0.0, 1.0)
        try:
            result = bake.regenerate(arm, as_nla=self.as_nla, reuse_result=False,
                                     progress=wm.progress_update if shown else None)
        except USER_ERRORS as err:
            return report_exception(self, err)
        finally:
            if shown:
                wm.progress_end()
        report_result(self, arm, result)
        self.report({'INFO'}, f"Generated '{result.action.name}': {result.summary(arm)}")
        return {'FINISHED'}


class MDNA_OT_generate_variations(bpy.types.Operator):
    """Make new motions in the clip's style that recombine its material, one new action per seed (the source is kept)"""
    bl_idname = "mdna.generate_variations"
    bl_label = "Generate Variations"
    bl_options = {'REGISTER', 'UNDO'}

    # Not given (the panel's button, F3): the armature's Variations settings apply.
    frames: IntProperty(name="Length", default=0, min=0, max=200_000,
                        description="Frames per variation (0: the clip's length)")
    seed: IntProperty(name="Seed", default=1, min=0, description="First seed")
    count: IntProperty(name="Count", default=1, min=1, max=100, description="How many variations")
    loop: BoolProperty(name="Loop", default=False, description="The last frame flows into the first")
    use_targets: BoolProperty(name="Use Targets", default=False,
                              description="The armature's joint targets apply to the variations too")
    as_nla: BoolProperty(name="As NLA Strips", default=False,
                         description="Add each variation as an NLA strip instead of playing it")

    @classmethod
    def poll(cls, context):
        return poll_armature(cls, context, need_generator=True)

    def execute(self, context):
        arm = active_armature(context)
        s, given = arm.mdna, self.properties.is_property_set
        frames = self.frames if given("frames") else s.variation_frames
        first = self.seed if given("seed") else s.variation_seed
        count = self.count if given("count") else s.variation_count
        loop = self.loop if given("loop") else s.variation_loop
        wm = context.window_manager
        show = not bpy.app.background
        if show:
            wm.progress_begin(0, count)
        made = []
        try:
            for n, seed in enumerate(range(first, first + count)):
                result = bake.make_variation(arm, frames=frames or None, seed=seed, loop=loop,
                                             use_targets=self.use_targets, as_nla=self.as_nla)
                report_result(self, arm, result)
                made.append(result.action.name)
                if show:
                    wm.progress_update(n + 1)
        except USER_ERRORS as err:
            return report_exception(self, err)
        finally:
            if show:
                wm.progress_end()
        self.report({'INFO'}, f"Made {len(made)} variation(s): {', '.join(made)}")
        return {'FINISHED'}


class MDNA_OT_live_toggle(bpy.types.Operator):
    """Regenerate whenever a target empty of this armature moves (on/off)"""
    bl_idname = "mdna.live_toggle"
    bl_label = "Live Regenerate"
    bl_options = {'REGISTER'}  # a mode switch; its key writes are covered by Apply's undo step

    @classmethod
    def poll(cls, context):
        return poll_armature(cls, context, need_generator=True)

    def execute(self, context):
        arm = active_armature(context)
        turning_on = not arm.mdna.live
        result = live.set_live(arm, turning_on)
        if turning_on and result is None:
            self.report({'ERROR'}, arm.mdna.status or "Live regeneration failed")
            return {'CANCELLED'}
        if result is not None:
            report_result(self, arm, result)
        self.report({'INFO'}, f"Live regeneration {'on' if turning_on else 'off'} for '{arm.name}'")
        return {'FINISHED'}


class MDNA_OT_apply(bpy.types.Operator):
    """Keep the generated result as the armature's action (one undo step)"""
    bl_idname = "mdna.apply"
    bl_label = "Apply Result"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context):
        arm = active_armature(context)
        if arm is None:
            cls.poll_message_set("Select an armature (or one of its target empties)")
            return False
        if arm.mdna.result_action is None:
            cls.poll_message_set("Generate a result first")
            return False
        return True

    def execute(self, context):
        arm = active_armature(context)
        if live.is_dirty(arm):
            live.flush()  # apply what the user sees after the last drag, not the one before
        action = bake.apply(arm)
        self.report({'INFO'}, f"'{arm.name}' now plays '{action.name}'")
        return {'FINISHED'}


class MDNA_OT_revert(bpy.types.Operator):
    """Go back to the action played before generating (the result stays in the file)"""
    bl_idname = "mdna.revert"
    bl_label = "Revert"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context):
        if not poll_armature(cls, context):
            return False
        s = active_armature(context).mdna
        if s.previous_action is None and s.source_action is None:
            cls.poll_message_set("Nothing to revert to")
            return False
        return True

    def execute(self, context):
        arm = active_armature(context)
        live.set_live(arm, False)
        try:
            action = bake.revert(arm)
        except ValueError as err:
            return report_exception(self, err)
        self.report({'INFO'}, f"'{arm.name}' plays '{action.name}' again")
        return {'FINISHED'}


class MDNA_OT_quality_report(bpy.types.Operator):
    """Measure the result against the source clip (docs/evaluation.md: target error, reconstruction, foot skate, jitter, style distance)"""
    bl_idname = "mdna.quality_report"
    bl_label = "Quality Report"
    bl_options = {'REGISTER'}

    @classmethod
    def poll(cls, context):
        if not poll_armature(cls, context, need_generator=True):
            return False
        arm = active_armature(context)
        if arm.mdna.result_action is None:
            action = arm.animation_data.action if arm.animation_data else None
            if action is None or not action.get("mdna_generated"):
                cls.poll_message_set("Generate a result first")
                return False
        return True

    def execute(self, context):
        arm = active_armature(context)
        try:
            data = report.quality_report(arm)
        except USER_ERRORS as err:
            return report_exception(self, err)
        for line in report.lines(data):
            self.report({'INFO'}, line)
        return {'FINISHED'}


CLASSES = (MDNA_OT_generate, MDNA_OT_generate_variations, MDNA_OT_live_toggle, MDNA_OT_apply, MDNA_OT_revert, MDNA_OT_quality_report)
