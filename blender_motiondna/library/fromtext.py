"""Text -> generator on an armature: search the motion library (or ask a text-to-motion
backend), retarget the motion onto the armature as a NEW action, build its generator.

The library is the bundled starter library (data/library/starter.json, 47 CMU clips) plus
the CMU trial index (trials named but not shipped), unless saved index files are given.
Blender actions in the open file are searchable too (``action_entries``): each is described
by its asset description when marked as an asset, else by its name.
"""
import glob
import os
import re

import bpy

from ...engine.library import backends, clips, retarget, rigs
from ...engine.library import fromtext as engine_fromtext
from ...engine.library import index as library_index
from ...engine.library import mapping as bone_mapping
from ...engine.library import search as library_search
from ..io import armature_io
from ..scene import build

FROM_TEXT_KEY = "mdna_from_text"      # on actions this module wrote: the clip they came from
PREVIEW_KEY = "mdna_text_preview"     # on the one preview action, replaced by the next preview
_BONE_PATH = re.compile(r'pose\.bones\["([^"]+)"\]')
_cache = {}


def library(paths=None, with_trials=True):
    """The searchable index: saved ``paths`` or the starter library, plus CMU trials. Cached
    until an index file changes."""
    key = (tuple((p, os.path.getmtime(p) if os.path.exists(p) else 0) for p in paths or ()), with_trials)
    if key not in _cache:
        _cache[key] = engine_fromtext.load_library(list(paths or ()), with_trials)
    return _cache[key]


def action_entries():
    """Index entries (no embeddings) for the actions in the open file that animate bones."""
    return [e for e in (_action_entry(a) for a in bpy.data.actions if not a.get(PREVIEW_KEY) and a.library is None)
            if e]


def asset_library_entries():
    """Index entries for the actions marked as assets in the .blend files of the asset
    libraries in the preferences (kind "asset": ``blend`` and ``action`` say which)."""
    out = []
    for library_path in [lib.path for lib in bpy.context.preferences.filepaths.asset_libraries]:
        for blend in sorted(glob.glob(os.path.join(bpy.path.abspath(library_path), "**", "*.blend"), recursive=True)):
            out.extend(_asset_actions(blend))
    return out


def _asset_actions(blend):
    """Entries of one .blend's action assets, read by linking them for a moment."""
    before = set(bpy.data.libraries)
    with bpy.data.libraries.load(blend, link=True, assets_only=True) as (src, dst):
        dst.actions = list(src.actions)
    out = []
    try:
        for action in dst.actions:
            if action is None:
                continue
            entry = _action_entry(action)
            if entry:
                entry.update(id=f"asset:{blend}:{action.name}", kind="asset", blend=blend)
                out.append(entry)
    finally:
        for lib in [x for x in bpy.data.libraries if x not in before]:
            bpy.data.batch_remove([a for a in bpy.data.actions if a.library == lib] + [lib])
    return out


def _action_entry(action):
    bones = sorted({m.group(1) for fc in _fcurves(action) for m in [_BONE_PATH.match(fc.data_path)] if m})
    if not bones:
        return None
    asset = getattr(action, "asset_data", None)
    description = (asset.description if asset is not None and asset.description else "") or \
        library_index.description_from_name(action.name)
    start, end = action.frame_range
    fps = bpy.context.scene.render.fps / bpy.context.scene.render.fps_base
    return {"id": "action:" + action.name, "kind": "action", "path": None, "action": action.name,
            "description": description, "description_source": "asset" if asset is not None else "action name",
            "rig": rigs.detect_rig(bones), "joints": len(bones), "frames": int(end - start + 1),
            "fps": fps, "duration": (end - start + 1) / fps, "text_key": library_index.text_key(description)}


def _fcurves(action):
    curves = getattr(action, "fcurves", None)
    if curves is not None:
        return list(curves)
    out = []  # Blender 5: layered actions keep their curves in channel bags
    for layer in getattr(action, "layers", []):
        for strip in layer.strips:
            for bag in getattr(strip, "channelbags", []):
                out.extend(bag.fcurves)
    return out


def searchable(paths=None, with_trials=True, include_actions=True):
    idx = library(paths, with_trials)
    if include_actions:
        entries = action_entries() + asset_library_entries()
        if entries:
            extra, _ = library_index.with_embeddings(entries)
            idx = extra.merged(idx)
    return idx


def search(prompt, top=10, filters=None, paths=None, include_actions=True):
    """Ranked results as dicts: description, duration, rig, score, kind, path, action, trial, fetch."""
    results = library_search.Searcher(searchable(paths, include_actions=include_actions)).search(prompt, top, filters)
    return [dict(r.entry, score=r.score, text_score=r.text_score, word_score=r.word_score, rank=r.rank)
            for r in results]


def motion_of(entry):
    """The Motion of a search result with a file (an action result: read from the open file)."""
    if entry.get("kind") == "trial":
        raise ValueError(f"CMU trial {entry['trial']} is not in the library: fetch it from {entry['fetch']} "
                         "and index the folder (motiondna library index)")
    if entry.get("kind") == "action":
        return action_motion(bpy.data.actions[entry["action"]])
    if entry.get("kind") == "asset":
        return asset_motion(entry["blend"], entry["action"])
    return clips.read_clip(entry["path"])


def asset_motion(blend, action_name):
    """An action asset of another .blend as a Motion: appended with that file's armatures for
    a moment, read on the one that has its bones, then removed again."""
    before = {"objects": set(bpy.data.objects), "actions": set(bpy.data.actions),
              "armatures": set(bpy.data.armatures), "meshes": set(bpy.data.meshes)}
    try:
        with bpy.data.libraries.load(blend, link=False) as (src, dst):
            if action_name not in src.actions:
                raise ValueError(f"{blend} no longer has the action '{action_name}' (index the library again)")
            dst.actions = [action_name]
            dst.objects = list(src.objects)
        action = next(a for a in dst.actions if a is not None)
        return action_motion(action, [o for o in dst.objects if o is not None and o.type == 'ARMATURE'])
    finally:
        for kind, old in before.items():
            collection = getattr(bpy.data, kind)
            for block in [b for b in collection if b not in old]:
                collection.remove(block)


def action_motion(action, armatures=None):
    """An action of this file as a Motion, read on an armature of the file that has all the
    bones it animates (the one it is assigned to first)."""
    bones = {m.group(1) for fc in _fcurves(action) for m in [_BONE_PATH.match(fc.data_path)] if m}
    candidates = bpy.data.objects if armatures is None else armatures
    armatures = [o for o in candidates if o.type == 'ARMATURE' and bones <= {b.name for b in o.data.bones}]
    armatures.sort(key=lambda o: not (o.animation_data and o.animation_data.action == action))
    if not armatures:
        raise ValueError(f"no armature in this file has the bones action '{action.name}' animates; "
                         "its rig is needed to put it on another one")
    motion = armature_io.read_motion(armatures[0], action, rig_only=True)
    motion.name = action.name
    return motion


def retarget_onto(armature, motion, mapping=None, name=None, source=""):
    """Put ``motion`` on ``armature`` as a new action (assigned); returns (action, RetargetResult)."""
    skel = armature_io.skeleton_from_armature(armature)
    if mapping is None:
        mapping = bone_mapping.map_bones(motion.skeleton, skel)
    result = retarget.retarget(motion, skel, mapping=mapping)
    result.motion.name = name or motion.name
    action = armature_io.write_action(armature, result.motion, name=name or f"{motion.name}.fromtext", frame_start=1)
    action[FROM_TEXT_KEY] = source or motion.name
    return action, result


def preview(armature, entry, mapping=None):
    """The result on the armature as the preview action (the previous preview is removed)."""
    for old in [a for a in bpy.data.actions if a.get(PREVIEW_KEY) and a.get("mdna_armature") == armature.name]:
        bpy.data.actions.remove(old)
    action, result = retarget_onto(armature, motion_of(entry), mapping, name=f"{_short(entry)}.preview",
                                   source=entry.get("path") or "")
    action[PREVIEW_KEY] = True
    action["mdna_armature"] = armature.name
    return action, result


def automatic_mapping(armature, entry):
    """{armature bone: clip bone} that Preview and Build would use for ``entry``."""
    return bone_mapping.map_bones(motion_of(entry).skeleton, armature_io.skeleton_from_armature(armature))


def mapping_file(path):
    """The mapping saved at ``path`` (a blend-relative path is resolved), or None when unset."""
    if not path:
        return None
    return bone_mapping.load_mapping(bpy.path.abspath(path))


def _short(entry):
    words = re.sub(r"[^A-Za-z0-9]+", "_", entry.get("description") or "clip").strip("_")
    return words[:40] or "clip"


def prepare_from_text(armature, prompt, backend=None, seed=0, mapping=None, entry=None, paths=None):
    """The retargeted action a text build starts from (not yet built); returns (action, report)."""
    if entry is None:
        backend = backend or backends.LibraryBackend(library(paths, with_trials=False))
        answer = backend.generate(prompt, None, seed)
        motion = backends.answer_to_motion(answer)
        entry = answer.get("entry") or {"path": answer.get("path"), "description": prompt}
    else:
        motion = motion_of(entry)
    action, result = retarget_onto(armature, motion, mapping, name=f"{_short(entry)}.fromtext",
                                   source=entry.get("path") or entry.get("description") or "")
    armature.mdna.source_action = action
    report = {"prompt": prompt, "source": entry.get("path"), "description": entry.get("description"),
              "action": action.name, "frames": result.motion.num_frames, "scale": result.scale,
              "mapped_bones": len(result.mapping), "mapping": result.mapping}
    return action, report


def generator_from_text(armature, prompt, backend=None, seed=0, mapping=None, entry=None, paths=None, on_progress=None):
    """Search (or ask ``backend``), retarget onto ``armature``, build; returns the report with the build info."""
    action, report = prepare_from_text(armature, prompt, backend, seed, mapping, entry, paths)
    info = build.build_generator(armature, action, on_progress=on_progress)
    report["build"] = info
    return report
