"""Joint targets: add one at the selected pose bone, remove, clear."""
import bpy
from bpy.props import StringProperty

from ..blender_motiondna.scene import live, targets
from .common import active_armature, poll_armature, report_exception


class MDNA_OT_add_target(bpy.types.Operator):
    """Add a target empty at the active bone's joint for the current frame; move it to edit the motion"""
    bl_idname = "mdna.add_target"
    bl_label = "Add Joint Target"
    bl_options = {'REGISTER', 'UNDO'}

    joint: StringProperty(name="Joint", description="Bone name (default: the active bone)")

    @classmethod
    def poll(cls, context):
        if not poll_armature(cls, context):
            return False
        if context.mode not in {'OBJECT', 'POSE'}:
            cls.poll_message_set("Switch to Object or Pose Mode to add targets")
            return False
        return True

    def execute(self, context):
        arm = active_armature(context)
        joint = self.joint or targets.default_joint(arm, context)
        if not joint:
            self.report({'ERROR'}, "Select a bone (or give a joint name) to target")
            return {'CANCELLED'}
        try:
            empty = targets.add_target(arm, joint, frame=context.scene.frame_current)
        except ValueError as err:
            return report_exception(self, err)
        if context.mode == 'OBJECT':  # ready to grab: G moves the new target at once
            for obj in context.selected_objects:
                obj.select_set(False)
            empty.select_set(True)
            context.view_layer.objects.active = empty
        self.report({'INFO'}, f"Target '{empty.name}': move it, then Generate (or turn Live on)")
        return {'FINISHED'}


def _selected_targets(context):
    return [o for o in (context.selected_objects or []) if o.type == 'EMPTY' and o.mdna_target.armature]


def _listed_target(context):
    """The target highlighted in the panel's list (an index into bpy.data.objects)."""
    index = getattr(context.scene, "mdna_target_index", -1)
    objects = bpy.data.objects
    if 0 <= index < len(objects) and objects[index].type == 'EMPTY' and objects[index].mdna_target.armature:
        return objects[index]
    return None


class MDNA_OT_remove_target(bpy.types.Operator):
    """Remove the selected target empties (or the one highlighted in the list)"""
    bl_idname = "mdna.remove_target"
    bl_label = "Remove Target"
    bl_options = {'REGISTER', 'UNDO'}

    name: StringProperty(name="Target", description="Empty to remove (default: selected targets)")

    @classmethod
    def poll(cls, context):
        if not _selected_targets(context) and _listed_target(context) is None:
            cls.poll_message_set("Select a target empty (or highlight one in the list)")
            return False
        return True

    def execute(self, context):
        if self.name:
            obj = bpy.data.objects.get(self.name)
            empties = [obj] if obj is not None and obj.mdna_target.armature else []
        else:
            empties = _selected_targets(context) or [e for e in [_listed_target(context)] if e]
        if not empties:
            self.report({'WARNING'}, f"No target named '{self.name}'" if self.name else "No target to remove")
            return {'CANCELLED'}
        live_arms = {e.mdna_target.armature for e in empties if e.mdna_target.armature.mdna.live}
        for e in empties:
            targets.remove_target(e)
        _regenerate_live(live_arms)
        self.report({'INFO'}, f"Removed {len(empties)} target(s)")
        return {'FINISHED'}


class MDNA_OT_clear_targets(bpy.types.Operator):
    """Remove every target of the active armature"""
    bl_idname = "mdna.clear_targets"
    bl_label = "Clear Targets"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context):
        if not poll_armature(cls, context):
            return False
        if not targets.target_empties(active_armature(context)):
            cls.poll_message_set("This armature has no targets")
            return False
        return True

    def execute(self, context):
        arm = active_armature(context)
        try:
            n = targets.clear_targets(arm)
        except ValueError as err:
            return report_exception(self, err)
        if arm.mdna.live:
            _regenerate_live({arm})
        self.report({'INFO'}, f"Removed {n} target(s)")
        return {'FINISHED'}


def _regenerate_live(armatures):
    """A removed target is an edit too: live armatures regenerate without it."""
    for arm in armatures:
        live.mark_dirty(arm)
    if armatures:
        live.flush()


CLASSES = (MDNA_OT_add_target, MDNA_OT_remove_target, MDNA_OT_clear_targets)
