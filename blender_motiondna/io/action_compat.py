"""The one place that knows how actions store F-curves in each Blender version.

Blender 4.4 introduced slotted actions (F-curves live in a channelbag per slot, inside a
layer's keyframe strip) and 5.0 removed the legacy ``Action.fcurves``. 4.2/4.3 only have
``Action.fcurves``. Everything else in the add-on goes through these functions.
"""
import bpy
from bpy_extras import anim_utils

SLOTTED = bpy.app.version >= (4, 4, 0)
# 5.0 added group_name to ActionChannelbagFCurves.new and anim_utils'
# action_ensure_channelbag_for_slot; 4.4/4.5 need the longer way round.
GROUP_IN_NEW = bpy.app.version >= (5, 0, 0)
# 5.0: channelbag.fcurves.new_from_fcurve copies a curve with its keys (fast bulk writes).
CAN_COPY_FCURVE = SLOTTED and "new_from_fcurve" in getattr(
    getattr(bpy.types, "ActionChannelbagFCurves", None), "bl_rna", bpy.types.ID.bl_rna).functions


def _object_slot(action, obj, create):
    """The action's slot for ``obj``: the one the object uses, else one named after it,
    else the first object slot; a new one when ``create`` and none fits."""
    adt = obj.animation_data
    if adt is not None and adt.action == action and adt.action_slot is not None:
        return adt.action_slot
    slots = [s for s in action.slots if s.target_id_type in ("OBJECT", "UNSPECIFIED")]
    for s in slots:
        if s.name_display == obj.name:
            return s
    if slots:
        return slots[0]
    return action.slots.new("OBJECT", obj.name) if create else None


def new_fcurves_container(action, obj):
    """Where new F-curves for ``obj`` go: the slot's channelbag (4.4+) or the action."""
    if SLOTTED:
        return _ensure_channelbag(action, _object_slot(action, obj, create=True))
    return action


def _ensure_channelbag(action, slot):
    ensure = getattr(anim_utils, "action_ensure_channelbag_for_slot", None)
    if ensure is not None:
        return ensure(action, slot)
    layer = action.layers[0] if len(action.layers) else action.layers.new("Layer")
    strip = layer.strips[0] if len(layer.strips) else layer.strips.new(type="KEYFRAME")
    return strip.channelbag(slot, ensure=True)


def _get_channelbag(action, slot):
    get = getattr(anim_utils, "action_get_channelbag_for_slot", None)
    if get is not None:
        return get(action, slot)
    for layer in action.layers:
        for strip in layer.strips:
            bag = strip.channelbag(slot)
            if bag is not None:
                return bag
    return None


def container_new_fcurve(container, data_path, index, group):
    """A new F-curve in a container from ``new_fcurves_container``, grouped by ``group``."""
    if not SLOTTED:
        return container.fcurves.new(data_path, index=index, action_group=group)
    if GROUP_IN_NEW:
        return container.fcurves.new(data_path, index=index, group_name=group)
    fc = container.fcurves.new(data_path, index=index)
    fc.group = container.groups.get(group) or container.groups.new(group)
    return fc


def container_copy_fcurve(container, source, data_path, group):
    """A copy of F-curve ``source`` (keys, interpolation, array index) under ``data_path``
    in a channelbag, grouped by ``group`` (needs CAN_COPY_FCURVE)."""
    fc = container.fcurves.new_from_fcurve(source, data_path=data_path)
    fc.group = container.groups.get(group) or container.groups.new(group)
    return fc


def clear_fcurves(action, obj):
    """Remove every F-curve (and group) of ``action`` that animates ``obj``."""
    container = new_fcurves_container(action, obj)
    container.fcurves.clear()
    for group in list(container.groups):
        container.groups.remove(group)


def action_fcurves(action, obj):
    """The F-curves of ``action`` that animate ``obj`` (a list; empty when none)."""
    if SLOTTED:
        slot = _object_slot(action, obj, create=False)
        bag = _get_channelbag(action, slot) if slot is not None else None
        return list(bag.fcurves) if bag is not None else []
    return list(action.fcurves)


def action_slot(action, obj):
    """The slot ``obj`` would use (None before 4.4 or when the action has none)."""
    return _object_slot(action, obj, create=False) if SLOTTED else None


def assign_action(obj, action, slot=None):
    """Make ``action`` the object's active action (with its slot for this object, 4.4+)."""
    adt = obj.animation_data or obj.animation_data_create()
    adt.action = action
    if SLOTTED and action is not None:
        slot = slot or _object_slot(action, obj, create=False)
        if slot is not None and adt.action_slot != slot:
            adt.action_slot = slot


def active_action_state(obj):
    """(action, slot) currently assigned, for restoring with ``restore_action_state``."""
    adt = obj.animation_data
    if adt is None:
        return None
    return adt.action, (adt.action_slot if SLOTTED else None)


def restore_action_state(obj, state):
    if state is None:
        if obj.animation_data is not None:
            obj.animation_data_clear()
        return
    action, slot = state
    adt = obj.animation_data or obj.animation_data_create()
    if adt.action != action:
        adt.action = action
    if SLOTTED and action is not None and slot is not None and adt.action_slot != slot:
        adt.action_slot = slot


def push_nla_strip(obj, action, frame_start, name=None):
    """A new NLA track on ``obj`` holding ``action`` as one strip starting at ``frame_start``."""
    adt = obj.animation_data or obj.animation_data_create()
    track = adt.nla_tracks.new()
    track.name = name or action.name
    strip = track.strips.new(name or action.name, int(frame_start), action)
    if SLOTTED:
        slot = _object_slot(action, obj, create=False)
        if slot is not None and strip.action_slot != slot:
            strip.action_slot = slot
    return strip
