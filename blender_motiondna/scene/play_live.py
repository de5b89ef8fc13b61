"""Play Live: the armature's motion streamed one frame at a time while the timeline plays,
steered by its target empties as they are (engine/generator/stream.py).

A ``Session`` per armature holds a Stream. On every new scene frame the persistent
``frame_change_post`` handler reads the armature's target empties, gives the stream new
targets only when they changed, steps it once per frame (several after dropped frames)
and poses the bones (their channels, not keys) with ``armature_io.PoseWriter``. What the
empties mean while playing:

- an empty keyed at one frame: the joint there at that frame (a Stream target ahead);
- an empty with keys at several frames (a ball): its position at this frame, "now and on";
- an empty with no keys, or moved away from its single key: its position, "now and on".

Step k of a session is scene frame ``first_frame + k``; the session starts at the clip's
frame under that scene frame. A jump backwards, a jump forward of more than
``MAX_CATCH_UP`` frames or a scrub starts the session again there. While recording, every
played frame is kept (a frame played again replaces the earlier one); ``stop_recording``
bakes them into a NEW action ``<source>.live`` (numbered when taken), the source action
untouched. ``play`` runs the same session as a function over a target schedule (the
API's ``play_live``; background scripts and tests). Timers do not run in the bpy module,
but ``frame_change_post`` does: ``scene.frame_set`` drives a session there too."""
import time
import traceback

import bpy
import numpy as np
from bpy.app.handlers import persistent

from ...engine.generator.stream import StreamTarget
from ...engine.io import generator_file
from ...engine.motion.skeleton import Motion
from ..io import action_compat, armature_io
from . import app_handlers, store
from . import targets as target_io

MAX_CATCH_UP = 10          # a forward jump of up to this many frames steps through them (dropped frames)
RECORD_SUFFIX = ".live"
TIMINGS_KEPT = 600         # per-frame handler times kept per session (ms), for the panel and the benchmark

_sessions = {}             # armature name -> Session
_busy = False              # re-entrancy guard: posing the bones must not start another frame


class Session:
    """One armature's stream, what it was last told, and the frames recorded."""

    def __init__(self, armature, scene, seed=None):
        self.armature_name = armature.name
        self.generator = store.get_generator(armature)
        generator_file.check_fps(self.generator.meta, scene.render.fps / scene.render.fps_base, f"scene '{scene.name}'")
        self.skeleton = self.generator.skeleton
        self.writer = armature_io.PoseWriter(armature, self.skeleton)
        self.seed = seed
        self.clip_frame_start = int(armature.mdna.clip_frame_start)
        self.stream = None
        self.first_frame = self.last_frame = None
        self.target_key = None
        self.recording = None      # {scene frame: (rotations, translations)} while recording
        self.last_pose = None
        self.digest = armature.mdna.generator_digest
        self.skipped = {}          # empty name -> why it does not steer the stream
        self.timings = []          # ms per handled frame: targets + steps + pose

    # ------------------------------------------------------------ timeline

    def restart(self, frame):
        """A new stream whose step 0 is scene ``frame`` (the clip's frame there)."""
        source = (int(frame) - self.clip_frame_start) % self.generator.num_frames
        self.stream = self.generator.stream(seed=self.seed, start=source)
        self.first_frame, self.last_frame = int(frame), int(frame) - 1
        self.target_key = None

    def needs_restart(self, frame):
        """Whether scene ``frame`` does not follow on from the frames played."""
        return self.stream is None or not 0 <= frame - self.last_frame <= MAX_CATCH_UP

    def play_frame(self, frame, targets, key):
        """Step on to scene ``frame`` under ``targets`` (StreamTargets; set only when
        ``key`` differs from the last one); returns that frame's Pose (None when the
        session is already there)."""
        if self.needs_restart(frame):
            self.restart(frame)
        if frame == self.last_frame:
            return None
        if key != self.target_key:
            self.stream.set_targets([tg for tg in targets if tg.frame is None or tg.frame >= self.stream.frame])
            self.target_key = key
        pose = None
        for f in range(self.last_frame + 1, frame + 1):
            pose = self.stream.step()
            if self.recording is not None:
                self.recording[f] = (pose.rotations, pose.translations)
        self.last_frame, self.last_pose = frame, pose
        return pose

    def step_of(self, frame):
        """The session's step that plays scene ``frame``."""
        return int(frame) - self.first_frame

    # ------------------------------------------------------------ targets

    def empty_targets(self, armature):
        """StreamTargets from the armature's target empties as they are now (this frame's
        evaluation), and the key that says whether they changed."""
        names = self.skeleton.names
        inverse = np.array(armature.matrix_world.inverted())  # (mathutils: numpy's inv costs ms under load)
        targets, key = [], []
        for empty in target_io.target_empties(armature):
            t = empty.mdna_target
            if not t.enabled or t.weight <= 0.0:
                continue
            if t.joint not in names:
                self.skipped[empty.name] = f"the generator has no joint '{t.joint}'"
                continue
            world = np.array(empty.matrix_world.translation, dtype=np.float64)
            if not np.all(np.isfinite(world)):
                self.skipped[empty.name] = "its position is not a finite number (NaN or infinite)"
                continue
            self.skipped.pop(empty.name, None)
            keyed = single_key_frame(empty)
            step = self.step_of(keyed) if keyed is not None else None
            position = world @ inverse[:3, :3].T + inverse[:3, 3]
            targets.append(StreamTarget(names.index(t.joint), position, step))
            key.append((t.joint, tuple(np.round(position, 6)), step))
        return targets, tuple(key)

    # ------------------------------------------------------------ recording

    def recorded_motion(self, recording):
        """Recorded frames {scene frame: (rotations, translations)} as (first frame,
        Motion); a frame skipped in between holds the one before it."""
        frames = sorted(recording)
        held = recording[frames[0]]
        rots, trans = [], []
        for f in range(frames[0], frames[-1] + 1):
            held = recording.get(f, held)
            rots.append(held[0])
            trans.append(held[1])
        return frames[0], Motion(self.skeleton, np.stack(rots), np.stack(trans), self.generator.fps, "live")


def single_key_frame(empty):
    """The scene frame of an empty keyed at one frame that still sits at its key; None
    for an unkeyed empty, one keyed at several frames (a moving target) and one moved
    away from its key."""
    ad = empty.animation_data
    if ad is None or ad.action is None:
        return None
    frame = None
    for fc in action_compat.action_fcurves(ad.action, empty):
        keys = fc.keyframe_points
        if fc.data_path != "location" or not len(keys):
            continue
        first, last = keys[0].co, keys[-1].co   # keys are sorted by frame: two looks per curve
        f = int(round(first[0]))
        if int(round(last[0])) != f or (frame is not None and f != frame):
            return None
        if abs(empty.location[fc.array_index] - first[1]) > 1e-5:
            return None   # moved away from its key
        frame = f
    return frame


# ------------------------------------------------------------ sessions

def session(armature):
    """The armature's Session, or None when it is not playing live."""
    return _sessions.get(armature.name) if armature is not None else None


def is_playing(armature):
    """Whether the armature plays live."""
    return session(armature) is not None


def is_recording(armature):
    """Whether the armature plays live and keeps the frames it plays."""
    s = session(armature)
    return s is not None and s.recording is not None


def start(armature, scene=None, seed=None):
    """Start Play Live on ``armature`` (ValueError when it cannot: no generator, another
    frame rate); the current frame is played at once. Returns the Session."""
    scene = scene or bpy.context.scene
    if armature is None or armature.type != 'ARMATURE':
        raise ValueError("Play Live plays an armature: select one")
    s = Session(armature, scene, seed)
    _sessions[armature.name] = s
    bpy.context.view_layer.update()  # a new or moved empty's matrix_world is stale until evaluated
    update(armature, scene.frame_current)
    return s


def stop(armature):
    """End Play Live on ``armature``; a recording still running is baked first. Returns
    the recorded action (None when nothing was recorded)."""
    s = session(armature)
    if s is None:
        return None
    action = stop_recording(armature) if s.recording is not None else None
    del _sessions[armature.name]
    return action


def start_recording(armature):
    """Keep every frame played from now on."""
    s = session(armature)
    if s is None:
        raise ValueError(f"'{armature.name}' is not playing live: start Play Live first")
    s.recording = {}
    if s.last_pose is not None:   # the frame on screen is the take's first
        s.recording[s.last_frame] = (s.last_pose.rotations, s.last_pose.translations)


def stop_recording(armature):
    """Bake the recorded frames into a new action ``<source>.live`` (numbered when the
    name is taken) that the armature plays; the source action is untouched. Returns it
    (None when no frame was recorded)."""
    s = session(armature)
    if s is None or s.recording is None:
        raise ValueError(f"'{armature.name}' is not recording")
    recording, s.recording = s.recording, None
    if not recording:
        return None
    first, motion = s.recorded_motion(recording)
    return bake_take(armature, motion, first)


def bake_take(armature, motion, frame_start):
    """A NEW action ``<source>.live`` holding ``motion`` from scene ``frame_start``, kept
    with a fake user and played by the armature (Revert goes back to what it played)."""
    settings = armature.mdna
    playing = armature.animation_data.action if armature.animation_data else None
    if playing is not None and not (playing.get(armature_io.GENERATED_KEY) and settings.previous_action):
        settings.previous_action = playing
    for kept in (settings.source_action, settings.previous_action):
        if kept is not None and not kept.use_fake_user and not kept.get(armature_io.GENERATED_KEY):
            kept.use_fake_user = True   # nothing else uses it once the take plays
    named = settings.source_action or settings.previous_action
    source = named.name if named is not None and not named.get(armature_io.GENERATED_KEY) else armature.name
    action = armature_io.write_action(armature, motion, name=f"{source}{RECORD_SUFFIX}", frame_start=frame_start)
    action.use_fake_user = True
    return action


def stop_all():
    """End every session (nothing is baked)."""
    _sessions.clear()


# ------------------------------------------------------------ per frame

def update(armature, frame):
    """Play scene ``frame`` on ``armature``'s session from its target empties and pose
    the bones; returns the Pose (None when it is not playing live)."""
    global _busy
    s = session(armature)
    if s is None or _busy:
        return None
    _busy = True
    began = time.perf_counter()
    try:
        frame = int(frame)
        if s.needs_restart(frame):
            s.restart(frame)
        if frame == s.last_frame:
            pose = s.last_pose   # the same frame again: the action posed the bones anew, pose them back
        else:
            targets, key = s.empty_targets(armature)
            pose = s.play_frame(frame, targets, key)
        s.writer.write(armature, pose.rotations, pose.translations)
        s.timings[:] = (s.timings + [(time.perf_counter() - began) * 1000])[-TIMINGS_KEPT:]
        return pose
    finally:
        _busy = False


@persistent
def on_frame_change(scene, depsgraph=None):
    """Every armature playing live plays the new frame."""
    for name, s in list(_sessions.items()):
        arm = bpy.data.objects.get(name)
        # (the digest, not the generator data: reading a long string costs time every frame)
        if arm is None or arm.type != 'ARMATURE' or arm.mdna.generator_digest != s.digest:
            _sessions.pop(name, None)   # deleted, renamed or given another generator: the session ends
            continue
        try:
            update(arm, scene.frame_current)
        except Exception as err:  # a handler must not fail on every frame: end the session, say why
            if not isinstance(err, ValueError):
                traceback.print_exc()
            _sessions.pop(name, None)
            arm.mdna.status = f"Play Live stopped: {err}"


@persistent
def on_load(*_args):
    """Sessions belong to the file they were started in."""
    stop_all()


def last_frame_ms(armature):
    """Median of the recent per-frame times (ms), or None."""
    s = session(armature)
    if s is None or not s.timings:
        return None
    return float(np.median(s.timings[-60:]))


# ------------------------------------------------------------ as a function

def play(armature, schedule, frames, seed=None, start=0, record=True):
    """Play ``frames`` frames of a session from the clip's frame ``start`` under a target
    schedule {step: [StreamTarget, ...]} (each list replaces the targets from its step on;
    a StreamTarget's ``frame`` is a step). Step k is scene frame clip start + ``start``
    + k. Returns the recorded action (``record``) or the played Motion."""
    s = Session(armature, bpy.context.scene, seed)
    first = s.clip_frame_start + int(start)
    s.restart(first)
    targets, key = [], ()
    for k in range(int(frames)):
        if k in schedule:
            targets, key = list(schedule[k]), (k,)
        s.play_frame(first + k, targets, key)
    motion = s.stream.motion()
    return bake_take(armature, motion, first) if record else motion


_HANDLERS = (("frame_change_post", on_frame_change), ("load_pre", on_load))


def register():
    app_handlers.add(_HANDLERS)


def unregister():
    app_handlers.remove(_HANDLERS)
    stop_all()
