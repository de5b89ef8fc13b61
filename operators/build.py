"""Build a generator from the active armature's action (worker process, with progress)."""
import bpy
from bpy.props import IntProperty

from ..blender_motiondna import build, prefs, worker_client
from .common import active_armature, poll_armature, redraw_ui, report_exception

_running = {}  # armature name -> BuildJob (one build per armature)


class MDNA_OT_build_generator(bpy.types.Operator):
    """Learn a motion generator from the armature's action (runs in a background process)"""
    bl_idname = "mdna.build_generator"
    bl_label = "Build Generator"
    bl_options = {'REGISTER', 'UNDO'}

    steps: IntProperty(name="Training Steps", default=0, min=0, description="0 = engine default")
    seed: IntProperty(name="Seed", default=-1, min=-1, description="-1 = the armature's seed setting")

    _timer = None
    _job = None

    @classmethod
    def poll(cls, context):
        if not poll_armature(cls, context, need_action=True):
            return False
        if active_armature(context).name in _running:
            cls.poll_message_set("A build is already running for this armature")
            return False
        return True

    def _settings(self, arm):
        steps = self.steps or arm.mdna.steps
        settings = {"seed": arm.mdna.seed if self.seed < 0 else self.seed}
        if steps:
            settings["steps"] = steps
        return settings

    def execute(self, context):
        arm = active_armature(context)
        try:
            info = build.build_generator(arm, settings=self._settings(arm))
        except (ValueError, worker_client.WorkerError, worker_client.WorkerDied,
                worker_client.EngineUnavailable, worker_client.Cancelled) as err:
            return report_exception(self, err)
        self.report({'INFO'}, f"Generator built for '{arm.name}' in {info['build_seconds']:.1f} s")
        return {'FINISHED'}

    def invoke(self, context, event):
        if context.window_manager is None or bpy.app.background:
            return self.execute(context)
        arm = active_armature(context)
        try:
            self._job = build.start_build(arm, settings=self._settings(arm), on_event=self._on_event(arm.name))
        except (ValueError, worker_client.WorkerError, worker_client.WorkerDied, worker_client.EngineUnavailable) as err:
            return report_exception(self, err)
        _running[arm.name] = self._job
        arm.mdna.status, arm.mdna.progress = "Starting engine...", 0.0
        self._timer = context.window_manager.event_timer_add(0.1, window=context.window)
        context.window_manager.modal_handler_add(self)
        return {'RUNNING_MODAL'}

    @staticmethod
    def _on_event(name):
        def on_event(event):
            arm = bpy.data.objects.get(name)
            if arm is not None and event.get("event") == "progress":
                arm.mdna.progress = float(event.get("fraction", 0.0))
                eta = event.get("eta_s")
                arm.mdna.status = event.get("message") or "Training"
                if eta is not None:
                    arm.mdna.status += f" ({eta:.0f} s left)"
        return on_event

    def modal(self, context, event):
        job = self._job
        arm = bpy.data.objects.get(job.armature_name)
        if event.type == 'ESC' and event.value == 'PRESS':
            worker_client.get_client().cancel(job.request)
        if event.type != 'TIMER':
            return {'PASS_THROUGH'}
        worker_client.get_client().pump()
        context.workspace.status_text_set(f"MotionDNA: {arm.mdna.status if arm else ''} — Esc to cancel")
        redraw_ui(context)
        if job.request.state in {'pending', 'running'}:
            return {'PASS_THROUGH'}
        return self._finish(context, arm)

    def _finish(self, context, arm):
        job = self._job
        context.window_manager.event_timer_remove(self._timer)
        context.workspace.status_text_set(None)
        _running.pop(job.armature_name, None)
        if arm is not None:
            arm.mdna.progress, arm.mdna.status = 0.0, ""
        if arm is None or job.request.state != 'done':
            job.cleanup()
            if job.request.state == 'cancelled':
                self.report({'WARNING'}, "Build cancelled; nothing changed")
            else:
                self.report({'ERROR'}, job.request.error or "the armature was deleted during the build")
            return {'CANCELLED'}
        info = build.finish_build(arm, job, job.request.result)
        self.report({'INFO'}, f"Generator built for '{arm.name}' in {info['build_seconds']:.1f} s")
        return {'FINISHED'}


class MDNA_OT_cancel_build(bpy.types.Operator):
    """Cancel the running generator build"""
    bl_idname = "mdna.cancel_build"
    bl_label = "Cancel Build"

    @classmethod
    def poll(cls, context):
        if not _running:
            cls.poll_message_set("No build is running")
            return False
        return True

    def execute(self, context):
        client = worker_client.get_client()
        for job in list(_running.values()):
            client.cancel(job.request)
        return {'FINISHED'}


class MDNA_OT_setup_engine(bpy.types.Operator):
    """Create a Python environment with torch for the engine worker (in the add-on's user folder)"""
    bl_idname = "mdna.setup_engine"
    bl_label = "Set up Engine"

    def execute(self, context):
        try:
            path = prefs.run_setup()
        except (RuntimeError, OSError) as err:
            return report_exception(self, err)
        self.report({'INFO'}, f"Engine ready: {path}")
        return {'FINISHED'}


CLASSES = (MDNA_OT_build_generator, MDNA_OT_cancel_build, MDNA_OT_setup_engine)
