"""Generate (bake to a new action or NLA strip), live regeneration, apply / revert."""
import bpy
from bpy.props import BoolProperty

from ..blender_motiondna import bake, live
from .common import active_armature, poll_armature, report_exception


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
        try:
            result = bake.regenerate(arm, as_nla=self.as_nla, reuse_result=False)
        except ValueError as err:
            return report_exception(self, err)
        for name, reason in result.skipped:
            self.report({'WARNING'}, f"Target '{name}' ignored: {reason}")
        self.report({'INFO'}, f"Generated '{result.action.name}': {result.summary(arm)}")
        return {'FINISHED'}


class MDNA_OT_live_toggle(bpy.types.Operator):
    """Regenerate whenever a target empty of this armature moves"""
    bl_idname = "mdna.live_toggle"
    bl_label = "Live Regenerate"

    @classmethod
    def poll(cls, context):
        return poll_armature(cls, context, need_generator=True)

    def execute(self, context):
        arm = active_armature(context)
        arm.mdna.live = not arm.mdna.live
        if arm.mdna.live:
            live.mark_dirty(arm)
            live.flush()  # show the current targets' result at once
        self.report({'INFO'}, f"Live regeneration {'on' if arm.mdna.live else 'off'} for '{arm.name}'")
        return {'FINISHED'}


class MDNA_OT_apply(bpy.types.Operator):
    """Keep the generated result as the armature's action"""
    bl_idname = "mdna.apply"
    bl_label = "Apply Result"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context):
        arm = active_armature(context)
        if arm is None or arm.mdna.result_action is None:
            cls.poll_message_set("Generate a result first")
            return False
        return True

    def execute(self, context):
        arm = active_armature(context)
        arm.mdna.live = False
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
        return poll_armature(cls, context)

    def execute(self, context):
        arm = active_armature(context)
        arm.mdna.live = False
        try:
            action = bake.revert(arm)
        except ValueError as err:
            return report_exception(self, err)
        self.report({'INFO'}, f"'{arm.name}' plays '{action.name}' again")
        return {'FINISHED'}


CLASSES = (MDNA_OT_generate, MDNA_OT_live_toggle, MDNA_OT_apply, MDNA_OT_revert)
