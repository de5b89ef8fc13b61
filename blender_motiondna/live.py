"""Live regeneration: moving a target empty marks its armature dirty; a timer (or, in the
bpy module where timers never run, an explicit ``flush()``) regenerates and rewrites keys.

The handler only records names — regeneration writes keys, which would re-trigger the
depsgraph handler, so it happens outside it and a guard stops re-entry."""
import time

import bpy
from bpy.app.handlers import persistent

from . import bake

_dirty = set()       # armature names waiting for regeneration
_busy = False        # re-entrancy guard: our own key writes trigger depsgraph updates
_last_ms = []        # recent regeneration times, for the panel
TIMER_INTERVAL = 0.02


def mark_dirty(armature):
    _dirty.add(armature.name)
    if not bpy.app.background and not bpy.app.timers.is_registered(_timer):
        bpy.app.timers.register(_timer, first_interval=TIMER_INTERVAL)


@persistent
def on_depsgraph_update(scene, depsgraph):
    if _busy:
        return
    for update in depsgraph.updates:
        obj = update.id.original if isinstance(update.id, bpy.types.Object) else None
        if obj is None or obj.type != 'EMPTY' or not update.is_updated_transform:
            continue
        arm = obj.mdna_target.armature
        if arm is not None and arm.mdna.live and arm.mdna.generator_data:
            mark_dirty(arm)


def flush():
    """Regenerate every dirty armature now. Returns {armature name: GenerateResult}."""
    global _busy
    if _busy:
        return {}
    done = {}
    _busy = True
    try:
        while _dirty:
            arm = bpy.data.objects.get(_dirty.pop())
            if arm is None or not arm.mdna.live:
                continue
            start = time.perf_counter()
            try:
                done[arm.name] = bake.regenerate(arm, reuse_result=True)
                arm.mdna.status = ""
            except ValueError as err:  # e.g. the generator no longer fits: stop live mode, say why
                arm.mdna.live = False
                arm.mdna.status = f"Live stopped: {err}"
            _last_ms[:] = (_last_ms + [(time.perf_counter() - start) * 1000])[-20:]
    finally:
        _busy = False
    return done


def _timer():
    flush()
    return None  # one-shot; the next drag registers it again


def last_latency_ms():
    return sorted(_last_ms)[len(_last_ms) // 2] if _last_ms else None


def register():
    if on_depsgraph_update not in bpy.app.handlers.depsgraph_update_post:
        bpy.app.handlers.depsgraph_update_post.append(on_depsgraph_update)


def unregister():
    if on_depsgraph_update in bpy.app.handlers.depsgraph_update_post:
        bpy.app.handlers.depsgraph_update_post.remove(on_depsgraph_update)
    if bpy.app.timers.is_registered(_timer):
        bpy.app.timers.unregister(_timer)
    _dirty.clear()
