"""The "New Generator from Text" section of the MotionDNA tab: prompt, results, preview, build."""
import bpy

from ..blender_motiondna.scene import build
from ..operators.common import active_armature


class MDNA_UL_text_results(bpy.types.UIList):
    """Search results: description, duration, rig, score (CMU trials to fetch marked)."""
    bl_idname = "MDNA_UL_text_results"

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index):
        row = layout.row(align=True)
        row.label(text=item.description, icon='URL' if item.kind == "trial" else 'ACTION')
        row.label(text=f"{item.duration:.1f} s" if item.duration else "?")
        row.label(text=item.rig)
        row.label(text=f"{item.score:.2f}")


class MDNA_PT_from_text(bpy.types.Panel):
    bl_idname = "MDNA_PT_from_text"
    bl_label = "New Generator from Text"
    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = "MotionDNA"
    bl_parent_id = "MDNA_PT_main"
    bl_options = {'DEFAULT_CLOSED'}

    @classmethod
    def poll(cls, context):
        return active_armature(context) is not None

    def draw(self, context):
        layout = self.layout
        settings = context.scene.mdna_text
        arm = active_armature(context)
        row = layout.row(align=True)
        row.prop(settings, "prompt", text="")
        row.operator("mdna.text_search", text="", icon='VIEWZOOM')
        row = layout.row(align=True)
        row.prop(settings, "max_duration")
        row.prop(settings, "include_trials", toggle=True)
        layout.template_list("MDNA_UL_text_results", "", settings, "results", settings, "result_index", rows=4)
        if settings.results and 0 <= settings.result_index < len(settings.results):
            item = settings.results[settings.result_index]
            if item.kind == "trial":
                layout.label(text=f"CMU {item.trial}: not in the library; fetch {item.fetch}", icon='INFO')
        job = build.running_job(arm)
        if job is not None:
            layout.progress(factor=job.fraction, type='BAR', text=arm.mdna.status or "Building...")
            layout.operator("mdna.cancel_build", icon='CANCEL')
            return
        row = layout.row(align=True)
        row.prop(settings, "mapping_path", text="")
        row.operator("mdna.text_save_mapping", text="", icon='FILE_TICK')
        row = layout.row(align=True)
        row.operator("mdna.text_preview", icon='PLAY')
        row.prop(settings, "seed")
        layout.operator("mdna.text_build", icon='SHADERFX')


CLASSES = (MDNA_UL_text_results, MDNA_PT_from_text)
