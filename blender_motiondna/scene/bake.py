"""Regenerating an armature's motion under its targets and baking it to keys.

The result always goes to a new action (or NLA strip) named after the source; the source
action is never touched. Live regeneration rewrites the same result action in place so a
drag does not pile up actions (``armature_io.write_action(action=...)`` overwrites the key
values in place when the curves fit, the usual case while dragging)."""
import numbers
import time

import bpy
import numpy as np

from ...engine.generator.runtime import MAX_FRAMES
from ...engine.motion.metrics import metres_per_unit
from ...engine.motion.skeleton import forward_kinematics
from ..io import action_compat, armature_io
from . import store
from . import targets as target_io

UNREACHED_FRACTION = 0.02  # of the skeleton span (~3.4 cm on a 1.7 m human): "missed"


class GenerateResult:
    def __init__(self, action, motion, targets, skipped, seconds, errors, timings=None):
        self.action = action
        self.motion = motion
        self.targets = targets
        self.skipped = skipped          # [(empty name, reason)]
        self.seconds = seconds          # collection + generation + baking
        self.errors = errors            # per target: max distance to the target, armature units
        self.timings = timings or {}    # seconds per stage: targets, generate, keys
        self.unreached = []             # [(joint name, distance in armature units)]
        # (report them with cm_per_unit(motion): docs/evaluation.md's body-normalised cm)

    def summary(self, armature=None):
        parts = [f"{len(self.targets)} target(s)"]
        if self.errors:
            parts.append(f"max error {max(self.errors) * cm_per_unit(self.motion):.1f} cm")
        parts.append(f"{self.seconds * 1000:.0f} ms")
        return ", ".join(parts)


def cm_per_unit(motion):
    """docs/evaluation.md's scale: centimetres on a body whose span is 1.70 m (rigs come in metres,
    centimetres or BVH inches; a scene unit setting says nothing about them). The motion's
    translations keep moving offsets (root motion) out of the span."""
    try:
        return 100.0 * metres_per_unit(motion.skeleton, motion.translations)
    except ValueError:
        return 100.0


def world_scale(armature):
    """Mean scale of the armature object: armature units to world units."""
    return float(np.mean(armature.matrix_world.to_scale()))


def target_errors(motion, targets):
    """Largest distance between each target and its joint over the target's frames.
    Forward kinematics only at the targeted frames (a live drag pays for a few, not 300)."""
    if not targets:
        return []
    frames = np.unique(np.concatenate([np.asarray(t.frames) for t in targets]))
    _, positions = forward_kinematics(motion.skeleton, motion.rotations[frames], motion.translations[frames])
    row = {int(f): i for i, f in enumerate(frames)}
    return [float(np.max(np.linalg.norm(positions[[row[int(f)] for f in t.frames], t.joint] - t.positions, axis=-1)))
            for t in targets]


def _unreached(motion, targets, errors):
    skeleton = motion.skeleton
    limit = UNREACHED_FRACTION * max(skeleton.span(motion.translations), 1e-9)
    # A target of weight below 1 stops short by choice: only full-weight ones can be missed.
    return [(skeleton.names[t.joint], e) for t, e in zip(targets, errors) if e > limit and t.weight >= 1.0]


def regenerate(armature, as_nla=False, reuse_result=True, num_frames=None, progress=None):
    """Regenerate with the armature's generator and targets; bake to the result action
    (``reuse_result``: rewrite the previous result in place, as live mode does).
    ``progress(fraction)``: the refinement's progress (``Generator.generate``)."""
    started = time.perf_counter()
    generator = store.get_generator(armature)
    settings = armature.mdna
    n = num_frames or generator.num_frames
    targets, skipped = target_io.collect_targets(armature, generator.skeleton, settings.clip_frame_start, n)
    t_targets = time.perf_counter()
    motion = generator.generate(targets=targets, num_frames=n, progress=progress)
    t_generate = time.perf_counter()
    reuse = settings.result_action if (reuse_result and not as_nla) else None
    if not as_nla and armature.animation_data and armature.animation_data.action is not settings.result_action:
        settings.previous_action = armature.animation_data.action
    _keep(settings.source_action, settings.previous_action)
    source = settings.source_action.name if settings.source_action else armature.name
    action = armature_io.write_action(armature, motion, name=f"{source}.mdna",
                                      frame_start=settings.clip_frame_start, as_nla=as_nla, action=reuse)
    if not as_nla:
        settings.result_action = action
    done = time.perf_counter()
    errors = target_errors(motion, targets)
    result = GenerateResult(action, motion, targets, skipped, done - started, errors,
                            {"targets": t_targets - started, "generate": t_generate - t_targets,
                             "keys": done - t_generate})
    result.unreached = _unreached(motion, targets, errors)
    _mark_residuals(targets, errors, result.unreached, cm_per_unit(motion))
    return result


def make_variation(armature, frames=None, seed=0, loop=False, use_targets=False, as_nla=False):
    """A new variation of the armature's clip into a NEW action ``<source>.var<seed>`` (kept
    with a fake user, so several variations survive saving) that the armature then plays
    (or an NLA strip with ``as_nla``); the source action is never modified. ``frames``:
    its length (default: the clip's); ``use_targets``: the armature's targets apply too."""
    started = time.perf_counter()
    generator = store.get_generator(armature)
    settings = armature.mdna
    n = frames or generator.num_frames
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not 1 <= n <= MAX_FRAMES:
        raise ValueError(f"a variation has 1 to {MAX_FRAMES} frames, not {frames!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"the seed must be a whole number of at least 0, not {seed!r}")
    targets, skipped = ([], [])
    if use_targets:
        targets, skipped = target_io.collect_targets(armature, generator.skeleton, settings.clip_frame_start, n)
    motion = generator.generate(targets=targets, num_frames=n, seed=seed, loop=loop)
    playing = armature.animation_data.action if armature.animation_data else None
    if not as_nla and playing is not None and not (playing.get(armature_io.GENERATED_KEY) and settings.previous_action):
        settings.previous_action = playing  # Revert goes back to it, past any earlier variation
    _keep(settings.source_action, settings.previous_action)
    source = settings.source_action.name if settings.source_action else armature.name
    action = armature_io.write_action(armature, motion, name=f"{source}.var{seed}",
                                      frame_start=settings.clip_frame_start, as_nla=as_nla)
    action.use_fake_user = True
    errors = target_errors(motion, targets)
    result = GenerateResult(action, motion, targets, skipped, time.perf_counter() - started, errors)
    result.unreached = _unreached(motion, targets, errors)
    return result


def _mark_residuals(targets, errors, unreached, cm):
    """Each target empty shows how far its joint stayed (0 when reached): the list in the
    panel marks it."""
    missed = {name for name, _ in unreached}
    for t, e in zip(targets, errors):
        empty = bpy.data.objects.get(t.label) if t.label else None
        if empty is not None:
            miss = e * cm if empty.mdna_target.joint in missed and t.weight >= 1.0 else 0.0
            if abs(empty.mdna_target.residual_cm - miss) > 1e-6:
                empty.mdna_target.residual_cm = miss


# -- apply / revert -----------------------------------------------------------------------

def _keep(*actions):
    """Once the armature plays the result, nothing uses the source (or the previous) action
    any more — our pointers to it do not count as users — and saving would drop it."""
    for action in actions:
        if action is not None and not action.use_fake_user and not action.get(armature_io.GENERATED_KEY):
            action.use_fake_user = True


def revert(armature):
    """Play the action the armature had before the result (the result action is kept)."""
    settings = armature.mdna
    previous = settings.previous_action or settings.source_action
    if previous is None:
        raise ValueError("nothing to revert to")
    action_compat.assign_action(armature, previous)
    return previous


def apply(armature):
    """Keep the result as the armature's action (saved even if unassigned later). It stops
    being the live result, so the next live session or Generate writes a new action
    instead of overwriting the kept one. The previous action stays in the file."""
    settings = armature.mdna
    action = settings.result_action
    if action is None:
        raise ValueError("no generated result to apply: generate first")
    settings.live = False
    armature_io.settle_handles(action, armature)  # live drags skipped the handle pass
    action_compat.assign_action(armature, action)
    action.use_fake_user = True
    settings.result_action = None
    settings.previous_action = None
    return action
