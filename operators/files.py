"""Save a generator (.mdna) and import one onto a compatible armature; import a clip."""
import os

import bpy
from bpy.props import StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ..blender_motiondna.io import armature_io, formats
from ..blender_motiondna.scene import store
from ..engine.generator.runtime import Generator
from ..engine.io import generator_file
from .common import USER_ERRORS, active_armature, poll_armature, report_exception


class MDNA_OT_export_generator(bpy.types.Operator, ExportHelper):
    """Save the armature's generator as a .mdna file (to share it, or to load it onto another scene's rig)"""
    bl_idname = "mdna.export_generator"
    bl_label = "Export Generator"
    filename_ext = ".mdna"

    filter_glob: StringProperty(default="*.mdna", options={'HIDDEN'})

    @classmethod
    def poll(cls, context):
        return poll_armature(cls, context, need_generator=True)

    def execute(self, context):
        arm = active_armature(context)
        if not self.filepath:
            self.report({'ERROR'}, "Give a file path to export to")
            return {'CANCELLED'}
        path = bpy.path.ensure_ext(bpy.path.abspath(self.filepath), ".mdna")
        try:
            store.save_bytes(arm, path)
        except USER_ERRORS as err:
            return report_exception(self, err)
        self.report({'INFO'}, f"Saved {path}")
        return {'FINISHED'}


class MDNA_OT_import_motion(bpy.types.Operator, ImportHelper):
    """Import a clip to build from: BVH, FBX, glTF or an AMASS/SMPL .npz, as an armature with its action"""
    bl_idname = "mdna.import_motion"
    bl_label = "Import Motion"
    bl_options = {'REGISTER', 'UNDO'}

    filter_glob: StringProperty(default="*" + ";*".join(formats.EXTENSIONS), options={'HIDDEN'})

    def execute(self, context):
        try:
            arm = formats.import_motion_file(bpy.path.abspath(self.filepath))
        except USER_ERRORS as err:
            return report_exception(self, err)
        for obj in context.view_layer.objects:
            obj.select_set(obj == arm)
        context.view_layer.objects.active = arm
        self.report({'INFO'}, f"Imported '{arm.name}' ({len(arm.pose.bones)} bones)")
        return {'FINISHED'}


class MDNA_OT_import_generator(bpy.types.Operator, ImportHelper):
    """Load a .mdna generator onto the active armature (its joints must match)"""
    bl_idname = "mdna.import_generator"
    bl_label = "Import Generator"
    bl_options = {'REGISTER', 'UNDO'}
    filename_ext = ".mdna"

    filter_glob: StringProperty(default="*.mdna", options={'HIDDEN'})

    @classmethod
    def poll(cls, context):
        return poll_armature(cls, context)

    def execute(self, context):
        arm = active_armature(context)
        path = bpy.path.abspath(self.filepath)
        try:
            if not os.path.isfile(path):
                raise ValueError(f"no generator file at '{path}'")
            generator = Generator.load(path)  # FormatError (a ValueError) names what is wrong
            generator_file.check_compatible(generator.meta, armature_io.skeleton_from_armature(arm))
            scene = context.scene
            generator_file.check_fps(generator.meta, scene.render.fps / scene.render.fps_base, f"scene '{scene.name}'")
            store.store_generator(arm, path, {"imported_from": os.path.basename(path)})
        except USER_ERRORS as err:
            return report_exception(self, err)
        s = arm.mdna
        s.clip_frame_start = context.scene.frame_start
        s.result_action = None  # a result of the previous generator is not this one's to rewrite
        current = arm.animation_data.action if arm.animation_data else None
        if s.source_action is None and current is not None and not current.get(armature_io.GENERATED_KEY):
            s.source_action = current  # what results are named after and measured against
        s.live = False
        self.report({'INFO'}, f"Generator loaded onto '{arm.name}' ({generator.num_frames} frames from "
                              f"frame {s.clip_frame_start})")
        return {'FINISHED'}


CLASSES = (MDNA_OT_import_motion, MDNA_OT_export_generator, MDNA_OT_import_generator)
