"""Joint targets: add one at the selected pose bone, remove, clear."""
import bpy
from bpy.props import StringProperty

from ..blender_motiondna import targets
from .common import active_armature, poll_armature, report_exception


class MDNA_OT_add_target(bpy.types.Operator):
    """Add a target empty at the active pose bone's joint for the current frame; move it to edit the motion"""
    bl_idname = "mdna.add_target"
    bl_label = "Add Joint Target"
    bl_options = {'REGISTER', 'UNDO'}

    joint: StringProperty(name="Joint", description="Bone name (default: the active pose bone)")

    @classmethod
    def poll(cls, context):
        return poll_armature(cls, context)

    def execute(self, context):
        arm = active_armature(context)
        joint = self.joint or (context.active_pose_bone.name if context.active_pose_bone else "")
        if not joint:
            self.report({'ERROR'}, "Select a pose bone (or give a joint name) to target")
            return {'CANCELLED'}
        try:
            empty = targets.add_target(arm, joint, frame=context.scene.frame_current)
        except ValueError as err:
            return report_exception(self, err)
        self.report({'INFO'}, f"Target '{empty.name}': move it, then Generate")
        return {'FINISHED'}


class MDNA_OT_remove_target(bpy.types.Operator):
    """Remove the selected target empties"""
    bl_idname = "mdna.remove_target"
    bl_label = "Remove Target"
    bl_options = {'REGISTER', 'UNDO'}

    name: StringProperty(name="Target", description="Empty to remove (default: selected targets)")

    @classmethod
    def poll(cls, context):
        if not any(o.mdna_target.armature for o in context.selected_objects or []) and not bpy.data.objects:
            cls.poll_message_set("Select a target empty")
            return False
        return True

    def execute(self, context):
        if self.name:
            empties = [bpy.data.objects[self.name]] if self.name in bpy.data.objects else []
        else:
            empties = [o for o in context.selected_objects if o.type == 'EMPTY' and o.mdna_target.armature]
        if not empties:
            self.report({'WARNING'}, "No target to remove")
            return {'CANCELLED'}
        for e in empties:
            targets.remove_target(e)
        self.report({'INFO'}, f"Removed {len(empties)} target(s)")
        return {'FINISHED'}


class MDNA_OT_clear_targets(bpy.types.Operator):
    """Remove every target of the active armature"""
    bl_idname = "mdna.clear_targets"
    bl_label = "Clear Targets"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context):
        return poll_armature(cls, context)

    def execute(self, context):
        try:
            n = targets.clear_targets(active_armature(context))
        except ValueError as err:
            return report_exception(self, err)
        self.report({'INFO'}, f"Removed {n} target(s)")
        return {'FINISHED'}


CLASSES = (MDNA_OT_add_target, MDNA_OT_remove_target, MDNA_OT_clear_targets)
