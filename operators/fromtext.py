"""New Generator from Text: search the motion library, preview a result on the armature,
retarget it and build its generator (progress and Esc as for Build Generator)."""
import bpy
from bpy.props import BoolProperty

from ..blender_motiondna.library import fromtext, props
from ..blender_motiondna.scene import build
from ..engine.library import mapping as bone_mapping
from ..engine.library.search import Filters
from .build import MDNA_OT_build_generator
from .common import USER_ERRORS, active_armature, poll_armature, report_exception


def _filters(settings):
    return Filters(max_duration=settings.max_duration or None, files_only=not settings.include_trials)


class MDNA_OT_text_search(bpy.types.Operator):
    """Search the motion library for the prompt (text embedding and exact words)"""
    bl_idname = "mdna.text_search"
    bl_label = "Search Motions"

    def execute(self, context):
        settings = context.scene.mdna_text
        try:
            results = fromtext.search(settings.prompt, top=10, filters=_filters(settings))
        except USER_ERRORS as err:
            return report_exception(self, err)
        props.store_results(settings, results)
        self.report({'INFO'}, f"{len(results)} result(s) for '{settings.prompt}'")
        return {'FINISHED'}


class MDNA_OT_text_preview(bpy.types.Operator):
    """Put the chosen result on the armature as a preview action (replaced by the next preview)"""
    bl_idname = "mdna.text_preview"
    bl_label = "Preview"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context):
        if not poll_armature(cls, context):
            return False
        if props.picked_entry(context.scene.mdna_text) is None:
            cls.poll_message_set("Search first and pick a result")
            return False
        return True

    def execute(self, context):
        arm = active_armature(context)
        try:
            settings = context.scene.mdna_text
            action, result = fromtext.preview(arm, props.picked_entry(settings), fromtext.mapping_file(settings.mapping_path))
        except USER_ERRORS as err:
            return report_exception(self, err)
        context.scene.frame_start, context.scene.frame_end = 1, result.motion.num_frames
        self.report({'INFO'}, f"Preview '{action.name}': {len(result.mapping)} bones mapped")
        return {'FINISHED'}


class MDNA_OT_text_build(bpy.types.Operator):
    """Retarget the chosen result (or the best match for the prompt) onto the armature as a new action and build its generator"""
    bl_idname = "mdna.text_build"
    bl_label = "Build from Text"
    bl_options = {'REGISTER', 'UNDO'}

    wait: BoolProperty(name="Wait", default=True, options={'SKIP_SAVE'},
                       description="Scripts: wait for the build (off: start it and return)")
    _timer = None
    _job = None
    # The build's job handling as Build Generator's (progress, Esc, background wait). Shared
    # as functions, not by subclassing: Blender breaks a registered operator whose class
    # another registered operator subclasses.
    execute = MDNA_OT_build_generator.execute
    invoke = MDNA_OT_build_generator.invoke
    modal = MDNA_OT_build_generator.modal
    _finish = MDNA_OT_build_generator._finish
    cancel = MDNA_OT_build_generator.cancel

    @classmethod
    def poll(cls, context):
        if not poll_armature(cls, context, need_idle=True):
            return False
        settings = context.scene.mdna_text
        if props.picked_entry(settings) is None and not settings.prompt.strip():
            cls.poll_message_set("Type a prompt (and search to pick a result)")
            return False
        return True

    def _start(self, arm):
        settings = bpy.context.scene.mdna_text
        entry = props.picked_entry(settings)
        action, _ = fromtext.prepare_from_text(arm, settings.prompt, seed=settings.seed, entry=entry,
                                               mapping=fromtext.mapping_file(settings.mapping_path))
        self._job = build.start_build(arm, action)


class MDNA_OT_text_save_mapping(bpy.types.Operator):
    """Write the automatic bone mapping of the chosen result onto the armature to the Bone Mapping file, to edit and reuse"""
    bl_idname = "mdna.text_save_mapping"
    bl_label = "Save Mapping"

    @classmethod
    def poll(cls, context):
        settings = context.scene.mdna_text
        if not poll_armature(cls, context):
            return False
        if props.picked_entry(settings) is None or not settings.mapping_path:
            cls.poll_message_set("Pick a result and set the Bone Mapping file")
            return False
        return True

    def execute(self, context):
        settings = context.scene.mdna_text
        arm = active_armature(context)
        try:
            entry = props.picked_entry(settings)
            mapping = fromtext.automatic_mapping(arm, entry)
            path = bpy.path.abspath(settings.mapping_path)
            bone_mapping.save_mapping(path, mapping, entry.get("rig") or "", arm.name)
        except USER_ERRORS as err:
            return report_exception(self, err)
        self.report({'INFO'}, f"{len(mapping)} bones mapped, written to {path}")
        return {'FINISHED'}


CLASSES = (MDNA_OT_text_search, MDNA_OT_text_preview, MDNA_OT_text_build, MDNA_OT_text_save_mapping)
