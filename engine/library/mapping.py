"""Bone mappings between two rigs: body part -> (source joint, target joint).

``body_parts(skeleton)`` finds the parts of one rig: from its preset when it is a known rig
(engine/library/rigs.py), else from its hierarchy and names — hands, feet and head by name
(``metrics.end_effectors``), then up each limb chain (hand <- forearm <- upper arm <-
clavicle), the pelvis as the joint where the legs and the spine meet, the chest where the
arms meet. ``map_bones`` pairs the parts both rigs have; a mapping is a plain
{target bone: source bone} dict that the user can edit, save and load (JSON).
"""
import json
import re
from difflib import SequenceMatcher

from ..io import atomic
from ..motion import metrics
from . import rigs

_HELPER = re.compile(r"twist|share|end|site|nub|roll|_ik|ik_|pole|helper|eye|jaw|tongue|teeth|breast|facial", re.I)


def body_parts(skeleton, preset=None):
    """{part: joint index} for the rig; ``preset``: a rigs.PRESETS name, "auto" or None
    (detect), or "structure" (ignore presets)."""
    names = skeleton.names
    if preset in (None, "auto"):
        preset = rigs.detect_rig(names)
    if preset in rigs.PRESETS:
        found = rigs.preset_parts(names, preset)
        if len(found) >= rigs.MIN_MATCHED_PARTS:
            return found
    return structural_parts(skeleton)


def _body_children(skeleton, j):
    return [c for c in skeleton.children(j) if not _HELPER.search(skeleton.names[c])]


def structural_parts(skeleton):
    """Body parts from the hierarchy, with hands, feet and head found by name."""
    eff = metrics.end_effectors(skeleton)
    parts = {}
    for side, s in (("left", "l"), ("right", "r")):
        hand, foot = eff.get(f"{side}_hand"), eff.get(f"{side}_foot")
        if hand is not None:
            chain = skeleton.chain(hand)[:4]  # hand, forearm, upper arm, clavicle
            for part, j in zip(("hand", "forearm", "upper_arm", "clavicle"), chain):
                parts[f"{s}_{part}"] = j
        if foot is not None:
            chain = skeleton.chain(foot)[:3]
            for part, j in zip(("foot", "shin", "thigh"), chain):
                parts[f"{s}_{part}"] = j
            toes = _body_children(skeleton, foot)
            if toes:
                parts[f"{s}_toe"] = toes[0]
    _spine_parts(skeleton, parts, eff.get("head"))
    return parts


def _common_ancestor(skeleton, a, b):
    up = set(skeleton.chain(a))
    for j in skeleton.chain(b):
        if j in up:
            return j
    return skeleton.root


def _spine_parts(skeleton, parts, head):
    if "l_thigh" in parts and "r_thigh" in parts:
        legs = _common_ancestor(skeleton, parts["l_thigh"], parts["r_thigh"])
        if head is not None:
            legs = _common_ancestor(skeleton, legs, head)  # CC: the hip holds the pelvis and the waist
        parts["pelvis"] = legs
    if "l_clavicle" in parts and "r_clavicle" in parts:
        # the clavicle may be CMU's upper arm when the rig has none: the chest is where the arms meet
        chest = _common_ancestor(skeleton, parts["l_upper_arm"], parts["r_upper_arm"])
        for s in ("l", "r"):
            if parts[f"{s}_clavicle"] == chest:
                del parts[f"{s}_clavicle"]
        parts["chest"] = chest
    if head is not None:
        parts["head"] = head
        neck = skeleton.parents[head]
        if neck >= 0 and neck != parts.get("chest"):
            parts["neck"] = int(neck)
    if "pelvis" in parts and "chest" in parts:
        between = [j for j in skeleton.chain(parts["chest"]) if j not in (parts["chest"],)]
        between = between[:between.index(parts["pelvis"])] if parts["pelvis"] in between else []
        between = between[::-1]  # pelvis side first
        for part, j in zip(("spine", "spine1"), between):
            parts[part] = j


def map_bones(source, target, source_preset=None, target_preset=None):
    """{target bone name: source bone name} for the body parts both rigs have."""
    src = body_parts(source, source_preset)
    tgt = body_parts(target, target_preset)
    return {target.names[tgt[p]]: source.names[src[p]] for p in rigs.BODY_PARTS if p in src and p in tgt}


def similar_names(source_names, target_names, threshold=0.8):
    """{target: source} by name similarity alone (case, separators and namespaces ignored):
    for rigs whose parts cannot be found, and for extra bones (fingers) of two rigs that
    share a naming scheme."""
    out = {}
    keys = {n: rigs.name_key(n) for n in source_names}
    for t in target_names:
        kt = rigs.name_key(t)
        best, score = None, threshold
        for s, ks in keys.items():
            r = 1.0 if ks == kt else SequenceMatcher(None, ks, kt).ratio()
            if r > score or (r == score and best is None):
                best, score = s, r
        if best is not None:
            out[t] = best
    return out


def check_mapping(mapping, source, target):
    """ValueError naming bones that are not in the rigs; returns the mapping as joint indices
    [(source joint, target joint)], target order."""
    bad_t = [t for t in mapping if t not in target.names]
    bad_s = [s for s in mapping.values() if s not in source.names]
    if bad_t or bad_s:
        msg = []
        if bad_t:
            msg.append(f"target bone(s) not in the rig: {', '.join(bad_t[:5])}")
        if bad_s:
            msg.append(f"source bone(s) not in the clip: {', '.join(bad_s[:5])}")
        raise ValueError("bone mapping: " + "; ".join(msg))
    pairs = sorted(((source.index(s), target.index(t)) for t, s in mapping.items()), key=lambda p: p[1])
    return pairs


def save_mapping(path, mapping, source_rig="", target_rig=""):
    doc = {"kind": "motiondna bone mapping", "source_rig": source_rig, "target_rig": target_rig,
           "bones": dict(mapping)}
    atomic.write_text(path, json.dumps(doc, indent=1))


def load_mapping(path):
    """{target: source} from a saved mapping (or a plain JSON object of bone names)."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    bones = doc.get("bones", doc) if isinstance(doc, dict) else None
    if not isinstance(bones, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in bones.items()):
        raise ValueError(f"{path}: a bone mapping is {{\"bones\": {{target bone: source bone}}}}")
    return bones
