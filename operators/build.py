"""Build a generator from the active armature's action (worker process, with progress),
cancel it, and check the engine interpreter."""
import bpy
from bpy.props import BoolProperty

from ..blender_motiondna import worker_client
from ..blender_motiondna.scene import build, prefs
from .common import USER_ERRORS, active_armature, poll_armature, redraw_ui, report_exception


class MDNA_OT_build_generator(bpy.types.Operator):
    """Build a motion generator from the armature's action (runs in a background process; Esc cancels)"""
    bl_idname = "mdna.build_generator"
    bl_label = "Build Generator"
    bl_options = {'REGISTER', 'UNDO'}

    wait: BoolProperty(name="Wait", default=True, options={'SKIP_SAVE'},
                       description="Scripts: wait for the build (off: start it and return; "
                       "blender_motiondna.build.poll_jobs() finishes it)")

    _timer = None
    _job = None

    @classmethod
    def poll(cls, context):
        return poll_armature(cls, context, need_action=True, need_idle=True)

    def _start(self, arm):
        self._job = build.start_build(arm)

    def execute(self, context):
        arm = active_armature(context)
        try:
            self._start(arm)
            if not self.wait:
                self.report({'INFO'}, f"Build started for '{arm.name}'")
                return {'FINISHED'}
            info = build.wait_job(self._job)
        except USER_ERRORS as err:
            return report_exception(self, err)
        self.report({'INFO'}, f"Generator built for '{arm.name}' in {info['build_seconds']:.1f} s")
        return {'FINISHED'}

    def invoke(self, context, event):
        if bpy.app.background or context.window is None:
            return self.execute(context)
        try:
            self._start(active_armature(context))
        except USER_ERRORS as err:
            return report_exception(self, err)
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        return {'RUNNING_MODAL'}

    def modal(self, context, event):
        job = self._job
        if event.type == 'ESC' and event.value == 'PRESS':
            build.cancel_build(bpy.data.objects.get(job.armature_name))
            return {'RUNNING_MODAL'}  # Esc is ours while building
        if event.type != 'TIMER':
            return {'PASS_THROUGH'}
        build.poll_jobs()
        arm = bpy.data.objects.get(job.armature_name)
        status = arm.mdna.status if arm is not None else ""
        context.workspace.status_text_set(f"MotionDNA: {status} ({job.fraction:.0%}) — Esc to cancel")
        redraw_ui(context)
        if not job.finished:
            return {'PASS_THROUGH'}
        return self._finish(context)

    def _finish(self, context):
        job = self._job
        context.window_manager.event_timer_remove(self._timer)
        context.workspace.status_text_set(None)
        redraw_ui(context)
        if job.state == "done":
            self.report({'INFO'}, f"Generator built for '{job.armature_name}' in {job.info['build_seconds']:.1f} s")
            return {'FINISHED'}
        if job.state == "cancelled":
            self.report({'WARNING'}, "Build cancelled; nothing changed")
        else:
            self.report({'ERROR'}, f"Build failed: {job.error}")
        return {'CANCELLED'}

    def cancel(self, context):  # Blender ends the modal (file load, window closed)
        if self._job is not None and not self._job.finished:
            self._job.client.cancel(self._job.request)
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)


class MDNA_OT_cancel_build(bpy.types.Operator):
    """Cancel the running generator build (of the active armature; of every armature if none)"""
    bl_idname = "mdna.cancel_build"
    bl_label = "Cancel Build"

    @classmethod
    def poll(cls, context):
        if not build.running_jobs():
            cls.poll_message_set("No build is running")
            return False
        return True

    def execute(self, context):
        arm = active_armature(context)
        n = build.cancel_build(arm if build.running_job(arm) else None)
        self.report({'INFO'}, f"Cancelling {n} build(s)")
        return {'FINISHED'}


class MDNA_OT_check_engine(bpy.types.Operator):
    """Start the engine worker and report its Python and numpy"""
    bl_idname = "mdna.check_engine"
    bl_label = "Check Engine"

    def execute(self, context):
        try:
            info = worker_client.get_client(prefs.configured_python()).call("ping", timeout=worker_client.STARTUP_TIMEOUT)
        except USER_ERRORS as err:
            return report_exception(self, err)
        self.report({'INFO'}, f"Engine: Python {info['python']} ({info['executable']}), numpy {info['numpy']}")
        return {'FINISHED'}


CLASSES = (MDNA_OT_build_generator, MDNA_OT_cancel_build, MDNA_OT_check_engine)
