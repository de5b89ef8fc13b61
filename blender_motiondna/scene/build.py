"""Building a generator from an armature's action through the engine worker.

A build is a ``BuildJob`` in a small registry (one per armature). The UI starts one and
lets a modal operator call ``poll_jobs()`` on a timer; scripts, ``--background`` and the
bpy module (no timers) either call ``build_generator`` (start + wait) or start a job and
call ``poll_jobs()`` / ``wait_job()`` themselves. A job that finishes stores the
generator in its armature; one that fails or is cancelled leaves the armature as it was
and says why in ``armature.mdna.status``."""
import atexit
import dataclasses
import json
import os
import shutil
import tempfile
import time

import bpy
from bpy.app.handlers import persistent

from ...engine.generator import build as engine_build
from ...engine.io import fileformat
from ...engine.motion import metrics
from .. import worker_client
from ..io import armature_io
from . import prefs, store

_jobs = {}  # armature name -> BuildJob still running


class BuildJob:
    """One build in flight: the worker request, its client and the files it works on."""

    def __init__(self, armature, motion, client, workdir, started):
        self.armature_name = armature.name
        self.motion = motion
        self.client = client
        self.request = None
        self.workdir = workdir
        self.started = started
        self.info = None      # the stored generator's info once done
        self.error = None     # why it failed (or was cancelled)
        self.state = "running"

    @property
    def out_path(self):
        return os.path.join(self.workdir, "generator.mdna")

    @property
    def finished(self):
        return self.state != "running"

    @property
    def fraction(self):
        return self.request.fraction if self.request is not None else 0.0

    def cleanup(self):
        shutil.rmtree(self.workdir, ignore_errors=True)


def read_clip(armature, action=None, frame_range=None):
    """The motion the generator is built from (clear ValueError on bad input)."""
    if armature is None or getattr(armature, "type", None) != 'ARMATURE':
        raise ValueError("select an armature to build a generator from")
    settings = armature.mdna
    action = action or settings.source_action or (armature.animation_data.action if armature.animation_data else None)
    if action is None:
        raise ValueError(f"armature '{armature.name}' has no action to build from; assign one first")
    if frame_range is None and settings.use_frame_range:
        frame_range = (settings.frame_start, settings.frame_end)
    first, last = armature_io.frame_range_of(armature, action, frame_range)
    engine_build.check_clip_length(last - first + 1)  # before sampling the pose of every frame
    motion = armature_io.read_motion(armature, action=action, frame_range=(first, last))
    engine_build.check_clip_length(motion.num_frames)
    metrics.metres_per_unit(motion.skeleton, motion.translations)  # ValueError for a rig with no length
    return motion, action


def _progress_text(event):
    text = event.get("message") or "Building"
    eta = event.get("eta_s")
    return f"{text} ({eta:.0f} s left)" if eta is not None else text


def _on_event(name, user_callback):
    """Per-event bookkeeping on the armature (progress bar, status), then the caller's hook."""
    def on_event(event):
        arm = bpy.data.objects.get(name)
        if arm is not None and event.get("event") == "progress":
            arm.mdna.progress = float(event.get("fraction", 0.0))
            arm.mdna.status = _progress_text(event)
        if user_callback is not None:
            user_callback(event)
    return on_event


def start_build(armature, action=None, frame_range=None, settings=None, on_event=None, python=None):
    """Start a build in the worker and return its job at once (it keeps running).
    ``settings``: None (the defaults), a dict of overrides or an engine ``Settings``."""
    if armature is not None and armature.name in _jobs:
        raise ValueError(f"a build is already running for '{armature.name}'; cancel it first")
    motion, action = read_clip(armature, action, frame_range)
    # Bad settings are the user's to fix: refused here, not in the worker (a dict or a Settings).
    settings = dataclasses.asdict(engine_build.resolve_settings(settings))
    client = worker_client.get_client(python or prefs.configured_python())
    workdir = tempfile.mkdtemp(prefix="mdna_build_")
    job = BuildJob(armature, motion, client, workdir, time.perf_counter())
    try:
        clip_path = os.path.join(workdir, "clip.npz")
        fileformat.save_motion(clip_path, motion)
        args = {"clip": clip_path, "out": job.out_path, "settings": settings}
        job.request = client.submit("build", args, on_event=_on_event(armature.name, on_event))
    except BaseException:
        job.cleanup()
        raise
    armature.mdna.source_action = action
    armature.mdna.status, armature.mdna.progress = "Starting engine...", 0.0
    _jobs[armature.name] = job
    return job


def finish_build(armature, job, result):
    """Store the finished generator in the armature; returns the info shown to the user."""
    info = dict(result or {})
    info["build_seconds"] = round(time.perf_counter() - job.started, 3)
    info["source_action"] = job.motion.meta.get("action", "")
    info["clip_frame_start"] = int(job.motion.meta.get("frame_start", 0))
    info.pop("path", None)
    store.store_generator(armature, job.out_path, info)
    armature.mdna.clip_frame_start = info["clip_frame_start"]
    job.cleanup()
    return info


def _conclude(job):
    """Move a job whose request ended to its final state (store, or record why not)."""
    if _jobs.get(job.armature_name) is job:
        del _jobs[job.armature_name]
    arm = bpy.data.objects.get(job.armature_name)
    req = job.request
    if arm is not None:
        arm.mdna.progress = 0.0
    if req.state == worker_client.DONE and arm is not None:
        try:
            job.info = finish_build(arm, job, req.result)
            job.state = "done"
            arm.mdna.status = ""
            return job
        except (ValueError, OSError) as err:  # a file the engine wrote but we cannot read
            job.error = f"the engine wrote an unusable generator: {err}"
    elif req.state == worker_client.DONE:
        job.error = f"armature '{job.armature_name}' was removed or renamed during the build"
    else:
        job.error = req.error or "the build failed"
    job.state = "cancelled" if req.state == worker_client.CANCELLED else "error"
    job.cleanup()
    if arm is not None:
        arm.mdna.status = ("Build cancelled" if job.state == "cancelled" else f"Build failed: {job.error}")[:1000]
    return job


def poll_jobs():
    """Dispatch worker events for every running build; conclude the ones that ended.
    Never blocks. Returns the jobs that finished in this call."""
    for client in {id(j.client): j.client for j in _jobs.values()}.values():
        client.pump()
    return [_conclude(job) for job in list(_jobs.values()) if job.request.finished]


def running_job(armature):
    return _jobs.get(armature.name) if armature is not None else None


def running_jobs():
    return list(_jobs.values())


def cancel_build(armature=None):
    """Ask the worker to stop the build of ``armature`` (all builds when None); the job
    turns 'cancelled' on a later ``poll_jobs``. Returns how many were asked."""
    jobs = list(_jobs.values()) if armature is None else [j for j in [running_job(armature)] if j]
    for job in jobs:
        job.client.cancel(job.request)
    return len(jobs)


def wait_job(job, timeout=None):
    """Pump until ``job`` ends; return its info or raise (WorkerError, WorkerDied,
    Cancelled, TimeoutError, ValueError)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while not job.request.finished:
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(f"the build did not finish within {timeout:g} s (it keeps running)")
        try:
            job.client.wait(job.request, timeout=0.2)
        except (TimeoutError, worker_client.WorkerError, worker_client.WorkerDied, worker_client.Cancelled):
            pass  # an ending is recorded on the request; _conclude turns it into the job's state
    if not job.finished:
        _conclude(job)
    if job.state == "done":
        return job.info
    raise job.request.exception or ValueError(job.error)


def build_generator(armature, action=None, frame_range=None, settings=None, on_progress=None,
                    python=None, timeout=None):
    """Synchronous build (background mode, the bpy module, scripts). Returns the info dict."""
    def on_event(event):
        if on_progress and event.get("event") == "progress":
            on_progress(event)

    job = start_build(armature, action, frame_range, settings, on_event, python)
    try:
        return wait_job(job, timeout)
    except KeyboardInterrupt:  # the caller stops: cancel, and leave no clip behind in the temp folder
        job.client.cancel(job.request)
        if _jobs.get(job.armature_name) is job:
            del _jobs[job.armature_name]
        job.cleanup()
        raise


def describe(info):
    return json.dumps(info, indent=1, sort_keys=True)


# -- file load: builds belong to the file they started in ---------------------------------

@persistent
def _on_load_pre(*_args):
    """Opening another file (or quitting): the running builds' armatures go away, so stop
    the builds and remove their files."""
    for job in list(_jobs.values()):
        job.client.cancel(job.request)
        job.cleanup()
    _jobs.clear()


@persistent
def _on_load_post(*_args):
    """A file saved mid-build still holds that build's progress text: clear it."""
    for obj in bpy.data.objects:
        if obj.type == 'ARMATURE' and (obj.mdna.status or obj.mdna.progress):
            obj.mdna.status, obj.mdna.progress = "", 0.0


def register():
    atexit.register(_on_load_pre)  # a process that ends mid-build leaves no temporary folder
    for handlers, fn in ((bpy.app.handlers.load_pre, _on_load_pre), (bpy.app.handlers.load_post, _on_load_post)):
        if fn not in handlers:
            handlers.append(fn)


def unregister():
    for handlers, fn in ((bpy.app.handlers.load_pre, _on_load_pre), (bpy.app.handlers.load_post, _on_load_post)):
        if fn in handlers:
            handlers.remove(fn)
    _on_load_pre()
    atexit.unregister(_on_load_pre)
