"""Building a generator from an armature's action through the engine worker.

Split in steps so the UI can run them asynchronously (start, pump, finish) and the
background/bpy-module path can run them synchronously (``build_generator``)."""
import json
import os
import shutil
import tempfile
import time

from ..engine import fileformat
from . import armature_io, prefs, store, worker_client


class BuildJob:
    """One build in flight: the worker request and the files it works on."""

    def __init__(self, armature, motion, request, workdir, started):
        self.armature_name = armature.name
        self.motion = motion
        self.request = request
        self.workdir = workdir
        self.started = started

    @property
    def out_path(self):
        return os.path.join(self.workdir, "generator.mdna")

    def cleanup(self):
        shutil.rmtree(self.workdir, ignore_errors=True)


def read_clip(armature, action=None, frame_range=None):
    """The motion the generator learns from (clear ValueError on bad input)."""
    settings = armature.mdna
    action = action or settings.source_action or (armature.animation_data.action if armature.animation_data else None)
    if frame_range is None and settings.use_frame_range:
        frame_range = (settings.frame_start, settings.frame_end)
    motion = armature_io.read_motion(armature, action=action, frame_range=frame_range)
    if motion.num_frames < 2:
        raise ValueError("the clip has a single frame: a generator learns motion, it needs at least 2 frames")
    return motion, action


def start_build(armature, action=None, frame_range=None, settings=None, on_event=None, python=None):
    motion, action = read_clip(armature, action, frame_range)
    armature.mdna.source_action = action
    workdir = tempfile.mkdtemp(prefix="mdna_build_")
    clip_path = os.path.join(workdir, "clip.npz")
    fileformat.save_motion(clip_path, motion)
    client = worker_client.get_client(python or prefs.configured_python())
    args = {"clip": clip_path, "out": os.path.join(workdir, "generator.mdna"), "settings": settings or {}}
    request = client.submit("build", args, on_event=on_event)
    return BuildJob(armature, motion, request, workdir, time.perf_counter())


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


def build_generator(armature, action=None, frame_range=None, settings=None, on_progress=None,
                    python=None, timeout=None):
    """Synchronous build (background mode, the bpy module, scripts). Returns the info dict."""
    def on_event(event):
        if on_progress and event.get("event") == "progress":
            on_progress(event)

    job = start_build(armature, action, frame_range, settings, on_event, python)
    try:
        result = worker_client.get_client(python or prefs.configured_python()).wait(job.request, timeout=timeout)
        return finish_build(armature, job, result)
    finally:
        job.cleanup()


def describe(info):
    return json.dumps(info, indent=1, sort_keys=True)
