"""Scene properties of the "New Generator from Text" section: the prompt and the results."""
import bpy
from bpy.props import BoolProperty, CollectionProperty, FloatProperty, IntProperty, PointerProperty, StringProperty


class MDNA_PG_text_result(bpy.types.PropertyGroup):
    description: StringProperty(name="Description")
    duration: FloatProperty(name="Duration", unit='TIME_ABSOLUTE')
    rig: StringProperty(name="Rig")
    score: FloatProperty(name="Score")
    kind: StringProperty(name="Kind", description="file, action (this file), asset (an asset library's action) "
                         "or trial (a CMU trial to fetch)")
    path: StringProperty(name="Path", subtype='FILE_PATH')
    action: StringProperty(name="Action")
    blend: StringProperty(name="Blend File", subtype='FILE_PATH', description="The asset library file of an action asset")
    trial: StringProperty(name="Trial")
    fetch: StringProperty(name="Fetch", description="Where to download a CMU trial that is not in the library")


class MDNA_PG_text(bpy.types.PropertyGroup):
    prompt: StringProperty(name="Prompt", description="What the motion should be, e.g. 'a boxer throws punches'")
    results: CollectionProperty(type=MDNA_PG_text_result)
    result_index: IntProperty(name="Result", default=0, min=0)
    seed: IntProperty(name="Seed", default=0, min=0, description="Picks among the best matches when no result is chosen")
    max_duration: FloatProperty(name="Max Duration", default=0.0, min=0.0, unit='TIME_ABSOLUTE',
                                description="Drop clips longer than this (0: any length)")
    mapping_path: StringProperty(name="Bone Mapping", subtype='FILE_PATH',
                                 description="A bone mapping file (JSON {armature bone: clip bone}) used by Preview "
                                 "and Build; Save Mapping writes the automatic one here to edit")
    include_trials: BoolProperty(name="CMU Trials", default=True,
                                 description="Also list CMU trials that are not in the library (to fetch)")


CLASSES = (MDNA_PG_text_result, MDNA_PG_text)


def register_properties():
    bpy.types.Scene.mdna_text = PointerProperty(type=MDNA_PG_text)


def unregister_properties():
    del bpy.types.Scene.mdna_text


def store_results(settings, results):
    settings.results.clear()
    for r in results:
        item = settings.results.add()
        item.description = r.get("description") or ""
        item.duration = float(r.get("duration") or 0.0)
        item.rig = r.get("rig") or ""
        item.score = float(r.get("score") or 0.0)
        item.kind = r.get("kind") or ""
        item.path = r.get("path") or ""
        item.action = r.get("action") or ""
        item.blend = r.get("blend") or ""
        item.trial = r.get("trial") or ""
        item.fetch = r.get("fetch") or ""
    settings.result_index = 0


def picked_entry(settings):
    """The chosen result as a search entry dict, or None."""
    if not settings.results or not (0 <= settings.result_index < len(settings.results)):
        return None
    item = settings.results[settings.result_index]
    return {"description": item.description, "duration": item.duration, "rig": item.rig, "kind": item.kind,
            "path": item.path or None, "action": item.action or None, "blend": item.blend or None, "trial": item.trial or None,
            "fetch": item.fetch or None}
