"""Live regeneration: moving a target empty marks its armature dirty; a timer (or, in the
bpy module where timers never run, an explicit ``flush()``) regenerates and rewrites keys.

The handler only records names — regeneration writes keys, which would re-trigger the
depsgraph handler, so it happens outside it and a guard stops re-entry. Live updates push
no undo steps of their own (a drag is one 'Move' step; Apply is one step); after an undo
or redo every live armature is regenerated so its keys match the restored targets.

An armature playing live (play_live.py) is not regenerated while it plays: the stream
poses it, and a drag then waits (dirty) until Play Live stops."""
import gc
import time
import traceback

import bpy
from bpy.app.handlers import persistent

from . import app_handlers, bake, play_live

_dirty = set()       # armature names waiting for regeneration
_busy = False        # re-entrancy guard: our own key writes trigger depsgraph updates
_last_ms = []        # recent regeneration times, for the panel
TIMER_INTERVAL = 0.02


def _timers_run():
    """Timers never fire in background mode / the bpy module: callers flush() there."""
    return not bpy.app.background


def mark_dirty(armature):
    _dirty.add(armature.name)
    if _timers_run() and not bpy.app.timers.is_registered(_timer):
        bpy.app.timers.register(_timer, first_interval=TIMER_INTERVAL)


def is_dirty(armature):
    return armature.name in _dirty


def _target_armature(update):
    obj = update.id
    if not isinstance(obj, bpy.types.Object) or not update.is_updated_transform:
        return None
    obj = obj.original
    if obj.type != 'EMPTY':
        return None
    arm = obj.mdna_target.armature
    return arm if arm is not None and arm.mdna.live and arm.mdna.generator_data else None


@persistent
def on_depsgraph_update(scene, depsgraph):
    if _busy:
        return
    for update in depsgraph.updates:
        arm = _target_armature(update)
        if arm is not None:
            mark_dirty(arm)


@persistent
def on_undo_redo(*_args):
    """Undo restores the targets and the result keys of the last undo step, which may
    predate the last live update: regenerate so they agree again."""
    for obj in bpy.data.objects:
        if obj.type == 'ARMATURE' and obj.mdna.live and obj.mdna.generator_data:
            mark_dirty(obj)


def _regenerate(arm):
    # A drag allocates many short-lived arrays; a full cyclic-GC pass landing inside one
    # is a visible hitch. Reference counting frees them anyway: collect after the drag.
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        result = bake.regenerate(arm, reuse_result=True)
        arm.mdna.status = ""
        return result
    except ValueError as err:  # e.g. the generator no longer fits: stop live mode, say why
        arm.mdna.live = False
        arm.mdna.status = f"Live stopped: {err}"
    except Exception as err:  # a timer must not die silently mid-drag
        traceback.print_exc()
        arm.mdna.live = False
        arm.mdna.status = f"Live stopped by an internal error: {err}"
    finally:
        if gc_was_on:
            gc.enable()
    return None


def flush():
    """Regenerate every dirty armature now. Returns {armature name: GenerateResult}.

    The synchronous path (bpy module, scripts, tests); the UI's timer calls it too."""
    global _busy
    if _busy:
        return {}
    done = {}
    _busy = True
    # A snapshot: whatever is marked dirty during these regenerations (a property callback,
    # a nested update) waits for the next flush instead of looping forever here.
    names = list(_dirty)
    _dirty.clear()
    try:
        for name in names:
            arm = bpy.data.objects.get(name)
            if arm is None or arm.type != 'ARMATURE' or not arm.mdna.live:
                continue
            if play_live.is_playing(arm):
                _dirty.add(name)  # regenerated once Play Live stops
                continue
            start = time.perf_counter()
            result = _regenerate(arm)
            if result is not None:
                done[arm.name] = result
            _last_ms[:] = (_last_ms + [(time.perf_counter() - start) * 1000])[-20:]
    finally:
        _busy = False
    return done


def _timer():
    flush()
    return None  # one-shot; the next drag registers it again


def last_latency_ms():
    return sorted(_last_ms)[len(_last_ms) // 2] if _last_ms else None


def set_live(armature, on):
    """Turn live regeneration on (regenerating at once) or off. Returns the result of the
    first regeneration when turned on (None if it failed: see armature.mdna.status)."""
    armature.mdna.live = bool(on)
    if not on:
        _dirty.discard(armature.name)
        return None
    _dirty.add(armature.name)
    return flush().get(armature.name)


_HANDLERS = (("depsgraph_update_post", on_depsgraph_update), ("undo_post", on_undo_redo),
             ("redo_post", on_undo_redo))


def register():
    app_handlers.add(_HANDLERS)


def unregister():
    app_handlers.remove(_HANDLERS)
    if bpy.app.timers.is_registered(_timer):
        bpy.app.timers.unregister(_timer)
    _dirty.clear()
