"""The "MotionDNA" tab in the 3D View sidebar (N panel): source, build, generator,
targets, generate / live, Play Live and Record, variations, quality report."""
import bpy

from ..blender_motiondna.scene import build, live, play_live, report, store
from ..operators.common import active_armature


class MDNA_UL_targets(bpy.types.UIList):
    """Target empties of the active armature: enabled, joint, frame, position, weight."""
    bl_idname = "MDNA_UL_targets"

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index):
        t = item.mdna_target
        row = layout.row(align=True)
        row.prop(t, "enabled", text="")
        row.label(text=t.joint, icon='EMPTY_AXIS')
        moving = item.animation_data is not None and item.animation_data.action is not None
        row.label(text="moving" if moving else f"f{t.frame}")
        x, y, z = item.matrix_world.translation
        row.label(text=f"{x:.2f} {y:.2f} {z:.2f}")
        row.prop(t, "weight", text="", slider=True)
        if t.residual_cm > 0.0:
            row.label(text=f"misses {t.residual_cm:.0f} cm", icon='ERROR')

    def filter_items(self, context, data, propname):
        arm = active_armature(context)
        objects = getattr(data, propname)
        flags = [self.bitflag_filter_item if (arm is not None and o.type == 'EMPTY' and o.mdna_target.armature == arm)
                 else 0 for o in objects]
        return flags, []


def _draw_source(layout, arm):
    s = arm.mdna
    box = layout.box()
    box.label(text=arm.name, icon='ARMATURE_DATA')
    box.prop(s, "source_action", text="Clip")
    if s.source_action is None:
        action = arm.animation_data.action if arm.animation_data else None
        box.label(text=f"(the current action: {action.name if action else 'none'})")
    row = box.row(align=True)
    row.prop(s, "use_frame_range")
    sub = row.row(align=True)
    sub.active = s.use_frame_range
    sub.prop(s, "frame_start")
    sub.prop(s, "frame_end")
    job = build.running_job(arm)
    if job is not None:
        box.progress(factor=job.fraction, type='BAR', text=s.status or "Building...")
        box.operator("mdna.cancel_build", icon='CANCEL')
    else:
        box.operator("mdna.build_generator", icon='SHADERFX')
        if s.status:
            box.label(text=s.status, icon='ERROR')


def _draw_generator(layout, arm):
    info = store.generator_info(arm)
    col = layout.box().column(align=True)
    col.label(text="Generator", icon='CHECKMARK')
    col.label(text=f"{info.get('frames', '?')} frames, {info.get('joints', '?')} joints, "
                   f"{info.get('size_bytes', 0) / 1024:.0f} KB")
    if "build_seconds" in info:
        col.label(text=f"Built in {info['build_seconds']:.1f} s from '{info.get('source_action', '')}'")
    elif "imported_from" in info:
        col.label(text=f"Imported from {info['imported_from']}")
    for line in info.get("dna_summary", [])[:4]:
        col.label(text=line)


def _draw_targets(layout, context, arm):
    layout.label(text="Targets", icon='EMPTY_AXIS')
    layout.template_list("MDNA_UL_targets", "", bpy.data, "objects", context.scene, "mdna_target_index", rows=3)
    row = layout.row(align=True)
    row.operator("mdna.add_target", icon='ADD')
    row.operator("mdna.remove_target", icon='REMOVE', text="Remove")
    row.operator("mdna.clear_targets", icon='X', text="Clear")


def _draw_generate(layout, arm):
    s = arm.mdna
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
    if s.result_action is not None:
        col.label(text=f"Result: {s.result_action.name}", icon='ACTION')
    row = layout.row(align=True)
    row.operator("mdna.export_generator", icon='EXPORT')
    row.operator("mdna.import_generator", icon='IMPORT')


def _draw_play_live(layout, arm):
    """Play Live and Record, with what the session is doing."""
    box = layout.box()
    box.label(text="Live", icon='PLAY')
    playing, recording = play_live.is_playing(arm), play_live.is_recording(arm)
    row = box.row(align=True)
    row.operator("mdna.play_live", icon='PAUSE' if playing else 'PLAY', depress=playing)
    row.operator("mdna.record_live", icon='REC', text="Record", depress=recording)
    box.prop(arm.mdna, "play_seed")
    session = play_live.session(arm)
    if session is not None:
        ms = play_live.last_frame_ms(arm)
        if ms is not None:
            box.label(text=f"{ms:.1f} ms per frame")
        if recording:
            box.label(text=f"Recording: {len(session.recording)} frames", icon='REC')
        for name, why in list(session.skipped.items())[:3]:
            box.label(text=f"{name}: {why}", icon='ERROR')


def _draw_variations(layout, arm):
    s = arm.mdna
    box = layout.box()
    box.label(text="Variations", icon='MOD_ARRAY')
    row = box.row(align=True)
    row.prop(s, "variation_frames")
    row.prop(s, "variation_loop", toggle=True)
    row = box.row(align=True)
    row.prop(s, "variation_seed")
    row.prop(s, "variation_count")
    box.operator("mdna.generate_variations", icon='PLAY')


def _draw_report(layout, arm):
    box = layout.box()
    row = box.row()
    row.label(text="Quality", icon='TEXT')
    row.operator("mdna.quality_report", text="Measure", icon='VIEWZOOM')
    for line in report.lines(report.stored_report(arm)):
        box.label(text=line)


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
            layout.operator("mdna.import_motion", icon='IMPORT')
            return
        _draw_source(layout, arm)
        if store.has_generator(arm):
            _draw_generator(layout, arm)
        _draw_targets(layout, context, arm)
        _draw_generate(layout, arm)
        if store.has_generator(arm):
            _draw_play_live(layout, arm)
            _draw_variations(layout, arm)
            _draw_report(layout, arm)


CLASSES = (MDNA_UL_targets, MDNA_PT_main)
