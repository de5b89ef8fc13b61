"""Shared pieces of the operators: polls that explain themselves, and error reporting."""
import traceback

from ..blender_motiondna import worker_client
from ..blender_motiondna.scene import build

# What an operator reports as a plain one-line error (no traceback in the console).
USER_ERRORS = (ValueError, KeyError, OSError, TimeoutError, worker_client.WorkerError,
               worker_client.WorkerDied, worker_client.EngineUnavailable, worker_client.Cancelled)


def active_armature(context):
    obj = context.active_object
    if obj is not None and obj.type == 'EMPTY' and obj.mdna_target.armature is not None:
        return obj.mdna_target.armature
    return obj if obj is not None and obj.type == 'ARMATURE' else None


def poll_armature(cls, context, need_generator=False, need_action=False, need_idle=False):
    """Poll with a reason shown in the tooltip / F3 menu when it fails. ``need_idle``: no
    build may be running for the armature (one build per armature at a time)."""
    arm = active_armature(context)
    if arm is None:
        cls.poll_message_set("Select an armature (or one of its target empties)")
        return False
    if need_action and not (arm.mdna.source_action or (arm.animation_data and arm.animation_data.action)):
        cls.poll_message_set(f"'{arm.name}' has no action to build from")
        return False
    if need_generator and not arm.mdna.generator_data:
        cls.poll_message_set(f"'{arm.name}' has no generator yet: build one first")
        return False
    if need_idle and build.running_job(arm) is not None:
        cls.poll_message_set("A build is already running for this armature")
        return False
    return True


def report_exception(op, err):
    """A clear one-line report for the user; unexpected errors also print a traceback."""
    if not isinstance(err, USER_ERRORS + (RuntimeError,)):
        traceback.print_exc()
    message = str(err) or type(err).__name__
    if isinstance(err, worker_client.WorkerError):
        message = err.message  # the engine traceback goes to the console, not the report
        print(err)
    op.report({'ERROR'}, message)
    return {'CANCELLED'}


def redraw_ui(context):
    wm = context.window_manager
    for window in getattr(wm, "windows", []):
        for area in window.screen.areas:
            if area.type in {'VIEW_3D', 'PROPERTIES', 'PREFERENCES'}:
                area.tag_redraw()
