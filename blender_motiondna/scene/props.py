"""Data the add-on keeps in the .blend: per-armature generator state and per-empty targets.

Everything here is plain Blender properties, so a file saved with MotionDNA opens cleanly
without it (the properties are simply ignored) and keeps its generator when reopened."""
import bpy
from bpy.props import BoolProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

from . import live


def _is_armature(self, obj):
    return obj.type == 'ARMATURE'


def _target_changed(self, context):
    """Enabling, weighting or re-timing a target is an edit like moving it: live mode
    regenerates."""
    arm = self.armature
    if arm is not None and arm.mdna.live:
        live.mark_dirty(arm)


class MDNA_PG_target(bpy.types.PropertyGroup):
    """Set on an empty that is a joint target."""
    armature: PointerProperty(name="Armature", type=bpy.types.Object, poll=_is_armature,
                              description="Armature whose generator this target steers")
    joint: StringProperty(name="Joint", description="Bone that must reach this empty",
                          update=_target_changed)
    frame: IntProperty(name="Frame", update=_target_changed,
                       description="Scene frame at which the joint reaches the empty "
                       "(ignored for an animated empty: it is a moving target over its keyed range)")
    enabled: BoolProperty(name="Enabled", default=True, update=_target_changed)
    weight: FloatProperty(name="Weight", default=1.0, min=0.0, max=1.0, update=_target_changed,
                          description="How far the joint goes to the target: 1 all the way, 0.5 half the way "
                                      "from where the generated motion puts it (a softer edit), 0 not at all")
    residual_cm: FloatProperty(name="Miss", default=0.0, min=0.0, options={'SKIP_SAVE'},
                               description="How far the joint stayed from this target at the last generation "
                                           "(cm on a 1.70 m body); 0 when it reached it")


class MDNA_PG_armature(bpy.types.PropertyGroup):
    """Set on an armature that has (or will have) a generator."""
    source_action: PointerProperty(name="Source Action", type=bpy.types.Action,
                                   description="The clip the generator is built from; never modified "
                                   "(empty: the armature's current action)")
    use_frame_range: BoolProperty(name="Custom Range", default=False,
                                  description="Build from a frame range instead of the whole action")
    frame_start: IntProperty(name="Start", default=1)
    frame_end: IntProperty(name="End", default=250)
    generator_data: StringProperty(name="Generator", options={'HIDDEN'},
                                   description="The .mdna file, base64, so the .blend keeps it")
    generator_digest: StringProperty(name="Generator Digest", options={'HIDDEN'},
                                     description="SHA-256 of generator_data: finds the loaded runtime "
                                     "without re-reading the data on every live update")
    generator_info: StringProperty(name="Generator Info", options={'HIDDEN'})
    clip_frame_start: IntProperty(name="Clip Start", options={'HIDDEN'},
                                  description="Scene frame of the clip's frame 0")
    result_action: PointerProperty(name="Result", type=bpy.types.Action)
    previous_action: PointerProperty(name="Previous Action", type=bpy.types.Action,
                                     description="What the armature played before the result (for Revert)")
    live: BoolProperty(name="Live", default=False,
                       description="Regenerate whenever a target empty moves")
    report: StringProperty(name="Quality Report", options={'HIDDEN'},
                           description="The last quality report, JSON (see report.py)")
    status: StringProperty(name="Status", options={'HIDDEN'})
    progress: FloatProperty(name="Progress", min=0.0, max=1.0, subtype='FACTOR')
    variation_frames: IntProperty(name="Length", default=0, min=0, max=200_000,
                                  description="Frames per variation (0: the clip's length)")
    variation_seed: IntProperty(name="Seed", default=1, min=0,
                                description="First seed: each seed gives another variation")
    variation_count: IntProperty(name="Count", default=1, min=1, max=100,
                                 description="How many variations (seeds Seed, Seed + 1, ...), one new action each")
    play_seed: IntProperty(name="Seed", default=-1, min=-1,
                           description="What Play Live plays between targets: -1 the clip as it is (then its walk), "
                                       "0 and up the walk of that seed (a variation)")
    variation_loop: BoolProperty(name="Loop", default=False,
                                 description="The last frame flows into the first (a cycle for games)")


CLASSES = (MDNA_PG_target, MDNA_PG_armature)


def register_properties():
    bpy.types.Object.mdna_target = PointerProperty(type=MDNA_PG_target)
    bpy.types.Object.mdna = PointerProperty(type=MDNA_PG_armature)


def unregister_properties():
    del bpy.types.Object.mdna
    del bpy.types.Object.mdna_target
