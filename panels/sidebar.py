"""The "MotionDNA" tab in the 3D View sidebar (N panel)."""
import bpy

from ..blender_motiondna import live, store
from ..operators.common import active_armature


class MDNA_UL_targets(bpy.types.UIList):
    bl_idname = "MDNA_UL_targets"

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index):
        t = item.mdna_target
        row = layout.row(align=True)
        row.prop(t, "enabled", text="")
        row.label(text=t.joint, icon='EMPTY_AXIS')
        moving = item.animation_data is not None and item.animation_data.action is not None
        row.label(text="moving" if moving else f"f {t.frame}")
        row.prop(t, "weight", text="")

    def filter_items(self, context, data, propname):
        arm = active_armature(context)
        objects = getattr(data, propname)
        flags = [self.bitflag_filter_item if (o.type == 'EMPTY' and arm is not None and o.mdna_target.armature == arm)
                 else 0 for o in objects]
        return flags, []


class MDNA_PT_main(bpy.types.Panel):
    bl_idname = "MDNA_PT_main"
    bl_label = "MotionDNA"
    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = "MotionDNA"

    def draw(self, context):
        layout = self.layout
        arm = active_armature(context)
        if arm is None:
            layout.label(text="Select an armature with an action", icon='INFO')
            return
        s = arm.mdna
        box = layout.box()
        box.label(text=arm.name, icon='ARMATURE_DATA')
        action = s.source_action or (arm.animation_data.action if arm.animation_data else None)
        box.label(text=f"Clip: {action.name if action else 'none'}", icon='ACTION')
        row = box.row(align=True)
        row.prop(s, "use_frame_range")
        sub = row.row(align=True)
        sub.active = s.use_frame_range
        sub.prop(s, "frame_start")
        sub.prop(s, "frame_end")
        if s.status and s.progress > 0:
            box.progress(factor=s.progress, type='BAR', text=s.status)
            box.operator("mdna.cancel_build", icon='CANCEL')
        else:
            box.operator("mdna.build_generator", icon='SHADERFX')
            if s.status:
                box.label(text=s.status, icon='ERROR')

        if store.has_generator(arm):
            info = store.generator_info(arm)
            col = layout.box().column(align=True)
            col.label(text="Generator", icon='CHECKMARK')
            col.label(text=f"{info.get('frames', '?')} frames, {info.get('joints', '?')} joints, "
                           f"{info.get('size_bytes', 0) / 1024:.0f} KB")
            if "build_seconds" in info:
                col.label(text=f"Built in {info['build_seconds']:.1f} s")
            for line in info.get("dna_summary", [])[:4]:
                col.label(text=line)

        layout.label(text="Targets")
        layout.template_list("MDNA_UL_targets", "", bpy.data, "objects", context.scene, "mdna_target_index", rows=3)
        row = layout.row(align=True)
        row.operator("mdna.add_target", icon='ADD')
        row.operator("mdna.remove_target", icon='REMOVE', text="Remove")
        row.operator("mdna.clear_targets", icon='X', text="Clear")

        col = layout.column(align=True)
        row = col.row(align=True)
        row.operator("mdna.generate", icon='PLAY')
        row.operator("mdna.live_toggle", icon='REC', text="Live", depress=s.live)
        row = col.row(align=True)
        row.operator("mdna.apply", icon='CHECKMARK')
        row.operator("mdna.revert", icon='LOOP_BACK')
        ms = live.last_latency_ms()
        if s.live and ms is not None:
            col.label(text=f"Live: {ms:.0f} ms per update")
        row = layout.row(align=True)
        row.operator("mdna.export_generator", icon='EXPORT')
        row.operator("mdna.import_generator", icon='IMPORT')
        if s.report:
            layout.label(text="Last quality report", icon='TEXT')
            for line in s.report.splitlines()[:8]:
                layout.label(text=line)


CLASSES = (MDNA_UL_targets, MDNA_PT_main)
