"""Regenerating an armature's motion under its targets and baking it to keys.

The result always goes to a new action (or NLA strip) named after the source; the source
action is never touched. Live regeneration rewrites the same result action in place so a
drag does not pile up actions."""
import time

import numpy as np

from . import action_compat, armature_io, store, targets as target_io


class GenerateResult:
    def __init__(self, action, motion, targets, skipped, seconds, errors):
        self.action = action
        self.motion = motion
        self.targets = targets
        self.skipped = skipped          # [(empty name, reason)]
        self.seconds = seconds          # generation + baking
        self.errors = errors            # per target: max distance to the target, armature units

    def summary(self, armature):
        scale = world_scale(armature)
        parts = [f"{len(self.targets)} target(s)"]
        if self.errors:
            parts.append(f"max error {max(self.errors) * scale * 100:.1f} cm" if scale_is_metric(armature)
                         else f"max error {max(self.errors) * scale:.4f} units")
        parts.append(f"{self.seconds * 1000:.0f} ms")
        return ", ".join(parts)


def scale_is_metric(armature):
    import bpy
    return bpy.context.scene.unit_settings.system in {'METRIC', 'NONE'}


def world_scale(armature):
    """Mean scale of the armature object: armature units to world units."""
    return float(np.mean(armature.matrix_world.to_scale()))


def target_errors(motion, targets):
    """Largest distance between each target and its joint over the target's frames."""
    if not targets:
        return []
    positions = motion.positions()
    return [float(np.max(np.linalg.norm(positions[t.frames, t.joint] - t.positions, axis=-1))) for t in targets]


def regenerate(armature, as_nla=False, reuse_result=True, num_frames=None):
    """Regenerate with the armature's generator and targets; bake to the result action."""
    started = time.perf_counter()
    generator = store.get_generator(armature)
    settings = armature.mdna
    n = num_frames or generator.num_frames
    targets, skipped = target_io.collect_targets(armature, generator.skeleton, settings.clip_frame_start, n)
    motion = generator.generate(targets=targets, num_frames=n)
    reuse = settings.result_action if (reuse_result and not as_nla) else None
    if not as_nla and armature.animation_data and armature.animation_data.action is not settings.result_action:
        settings.previous_action = armature.animation_data.action
    source = settings.source_action.name if settings.source_action else armature.name
    action = armature_io.write_action(armature, motion, name=f"{source}.mdna",
                                      frame_start=settings.clip_frame_start, as_nla=as_nla, action=reuse)
    if not as_nla:
        settings.result_action = action
    return GenerateResult(action, motion, targets, skipped, time.perf_counter() - started,
                          target_errors(motion, targets))


def revert(armature):
    """Play the action the armature had before the result (the result action is kept)."""
    settings = armature.mdna
    previous = settings.previous_action or settings.source_action
    if previous is None:
        raise ValueError("nothing to revert to")
    action_compat.assign_action(armature, previous)
    return previous


def apply(armature):
    """Keep the result as the armature's action; the previous action stays in the file."""
    settings = armature.mdna
    if settings.result_action is None:
        raise ValueError("no generated result to apply: generate first")
    action_compat.assign_action(armature, settings.result_action)
    settings.result_action.use_fake_user = True
    settings.previous_action = None
    return settings.result_action

