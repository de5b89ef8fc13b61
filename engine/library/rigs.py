"""Rig presets: which bone of a known rig is which body part, and which preset a skeleton is.

A *body part* is one of ``BODY_PARTS`` (a 24-part humanoid: pelvis to toes). A preset maps
body parts to the bone names of one rig family; ``detect_rig`` names the preset that
matches most of a skeleton's joints, and ``map_bones`` (engine/library/retarget.py) builds
a source -> target bone mapping from the presets of both rigs or, for an unknown rig, from
name similarity.
"""
import re

BODY_PARTS = (
    "pelvis", "spine", "spine1", "chest", "neck", "head",
    "l_clavicle", "l_upper_arm", "l_forearm", "l_hand",
    "r_clavicle", "r_upper_arm", "r_forearm", "r_hand",
    "l_thigh", "l_shin", "l_foot", "l_toe",
    "r_thigh", "r_shin", "r_foot", "r_toe",
)
LIMB_CHAINS = {  # the parts whose tips are end effectors, root side first
    "l_arm": ("l_upper_arm", "l_forearm", "l_hand"),
    "r_arm": ("r_upper_arm", "r_forearm", "r_hand"),
    "l_leg": ("l_thigh", "l_shin", "l_foot"),
    "r_leg": ("r_thigh", "r_shin", "r_foot"),
}


def _sided(template, left, right):
    """{part: name} for the left and right parts of a template "{s}UpperArm"-style dict."""
    out = {}
    for part, name in template.items():
        out["l_" + part] = name.format(s=left)
        out["r_" + part] = name.format(s=right)
    return out


def _preset(center, sided, left, right):
    out = dict(center)
    out.update(_sided(sided, left, right))
    return out


PRESETS = {
    # CMU, MotionBuilder-friendly BVH (cgspeed / B. Hahne), also the CMU FBX conversions
    "cmu": _preset({"pelvis": "Hips", "spine": "LowerBack", "spine1": "Spine", "chest": "Spine1", "neck": "Neck",
                    "head": "Head"},
                   {"clavicle": "{s}Shoulder", "upper_arm": "{s}Arm", "forearm": "{s}ForeArm", "hand": "{s}Hand",
                    "thigh": "{s}UpLeg", "shin": "{s}Leg", "foot": "{s}Foot", "toe": "{s}ToeBase"}, "Left", "Right"),
    # CMU, 3ds-Max-friendly BVH (the bundled data/jumping_jacks.bvh)
    "cmu_3dsmax": _preset({"pelvis": "Hips", "spine": "lowerback", "spine1": "Chest", "chest": "Chest2",
                           "neck": "Neck", "head": "Head"},
                          {"clavicle": "{s}Collar", "upper_arm": "{s}Shoulder", "forearm": "{s}Elbow",
                           "hand": "{s}Wrist", "thigh": "{s}Hip", "shin": "{s}Knee", "foot": "{s}Ankle",
                           "toe": "{s}Toe"}, "Left", "Right"),
    "mixamo": _preset({"pelvis": "mixamorig:Hips", "spine": "mixamorig:Spine", "spine1": "mixamorig:Spine1",
                       "chest": "mixamorig:Spine2", "neck": "mixamorig:Neck", "head": "mixamorig:Head"},
                      {"clavicle": "mixamorig:{s}Shoulder", "upper_arm": "mixamorig:{s}Arm",
                       "forearm": "mixamorig:{s}ForeArm", "hand": "mixamorig:{s}Hand", "thigh": "mixamorig:{s}UpLeg",
                       "shin": "mixamorig:{s}Leg", "foot": "mixamorig:{s}Foot", "toe": "mixamorig:{s}ToeBase"},
                      "Left", "Right"),
    "smpl": _preset({"pelvis": "pelvis", "spine": "spine1", "spine1": "spine2", "chest": "spine3", "neck": "neck",
                     "head": "head"},
                    {"clavicle": "{s}_collar", "upper_arm": "{s}_shoulder", "forearm": "{s}_elbow",
                     "hand": "{s}_wrist", "thigh": "{s}_hip", "shin": "{s}_knee", "foot": "{s}_ankle",
                     "toe": "{s}_foot"}, "left", "right"),
    # Rigify's deform bones (generated rig); driving a Rigify rig means its DEF- or ORG- chain
    "rigify": _preset({"pelvis": "DEF-spine", "spine": "DEF-spine.001", "spine1": "DEF-spine.002",
                       "chest": "DEF-spine.003", "neck": "DEF-spine.004", "head": "DEF-spine.006"},
                      {"clavicle": "DEF-shoulder.{s}", "upper_arm": "DEF-upper_arm.{s}", "forearm": "DEF-forearm.{s}",
                       "hand": "DEF-hand.{s}", "thigh": "DEF-thigh.{s}", "shin": "DEF-shin.{s}", "foot": "DEF-foot.{s}",
                       "toe": "DEF-toe.{s}"}, "L", "R"),
    # Rigify's metarig (no constraints: keys on it play as they are)
    "rigify_metarig": _preset({"pelvis": "spine", "spine": "spine.001", "spine1": "spine.002", "chest": "spine.003",
                               "neck": "spine.004", "head": "spine.006"},
                              {"clavicle": "shoulder.{s}", "upper_arm": "upper_arm.{s}", "forearm": "forearm.{s}",
                               "hand": "hand.{s}", "thigh": "thigh.{s}", "shin": "shin.{s}", "foot": "foot.{s}",
                               "toe": "toe.{s}"}, "L", "R"),
    "unreal": _preset({"pelvis": "pelvis", "spine": "spine_01", "spine1": "spine_02", "chest": "spine_03",
                       "neck": "neck_01", "head": "head"},
                      {"clavicle": "clavicle_{s}", "upper_arm": "upperarm_{s}", "forearm": "lowerarm_{s}",
                       "hand": "hand_{s}", "thigh": "thigh_{s}", "shin": "calf_{s}", "foot": "foot_{s}",
                       "toe": "ball_{s}"}, "l", "r"),
    "cc_iclone": _preset({"pelvis": "CC_Base_Hip", "spine": "CC_Base_Waist", "spine1": "CC_Base_Spine01",
                          "chest": "CC_Base_Spine02", "neck": "CC_Base_NeckTwist01", "head": "CC_Base_Head"},
                         {"clavicle": "CC_Base_{s}_Clavicle", "upper_arm": "CC_Base_{s}_Upperarm",
                          "forearm": "CC_Base_{s}_Forearm", "hand": "CC_Base_{s}_Hand", "thigh": "CC_Base_{s}_Thigh",
                          "shin": "CC_Base_{s}_Calf", "foot": "CC_Base_{s}_Foot", "toe": "CC_Base_{s}_ToeBase"},
                         "L", "R"),
    "lafan1": _preset({"pelvis": "Hips", "spine": "Spine", "spine1": "Spine1", "chest": "Spine2", "neck": "Neck",
                       "head": "Head"},
                      {"clavicle": "{s}Shoulder", "upper_arm": "{s}Arm", "forearm": "{s}ForeArm", "hand": "{s}Hand",
                       "thigh": "{s}UpLeg", "shin": "{s}Leg", "foot": "{s}Foot", "toe": "{s}Toe"}, "Left", "Right"),
}
PRESET_TITLES = {"cmu": "CMU (MotionBuilder BVH)", "cmu_3dsmax": "CMU (3ds Max BVH)", "mixamo": "Mixamo",
                 "smpl": "SMPL / SMPL-H", "rigify": "Rigify (DEF bones)", "rigify_metarig": "Rigify metarig", "unreal": "Unreal mannequin",
                 "cc_iclone": "CC / iClone", "lafan1": "LAFAN1"}
MIN_MATCHED_PARTS = 14  # a preset names a rig when most of the 22 parts are found


def name_key(name):
    """Bone names compare without case, namespace ("mixamorig:") and separators."""
    return re.sub(r"[^a-z0-9]", "", name.lower().rsplit(":", 1)[-1])


def preset_parts(skeleton_names, preset):
    """{part: joint index} of the preset's parts present in the skeleton."""
    by_key = {name_key(n): i for i, n in enumerate(skeleton_names)}
    exact = {n: i for i, n in enumerate(skeleton_names)}
    out = {}
    for part, bone in PRESETS[preset].items():
        j = exact.get(bone, by_key.get(name_key(bone)))
        if j is not None:
            out[part] = j
    return out


def detect_rig(skeleton_names):
    """The preset matching most body parts (``MIN_MATCHED_PARTS`` at least), else "unknown".
    Ties go to the preset listed first, so CMU's MotionBuilder names win over LAFAN1's,
    with which they share all but the toes."""
    best, best_count = "unknown", MIN_MATCHED_PARTS - 1
    for name in PRESETS:
        count = len(preset_parts(skeleton_names, name))
        if count > best_count:
            best, best_count = name, count
    return best
