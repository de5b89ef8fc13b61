"""Text -> generator without Blender: prompt -> backend motion -> the user's rig -> .mdna.

``generator_from_text(prompt, rig_path, out_path)`` asks a backend (the starter library
search by default) for a motion, retargets it onto the rig of ``rig_path`` (a BVH whose
skeleton is the user's rig), builds the generator and, with ``bvh_out``, writes the
retargeted clip in the rig file's own conventions. The Blender side (api.generator_from_text)
does the same with an armature.
"""
import os
import time

from ..generator.build import build_generator
from ..io import bvh
from . import backends, clips, retarget
from . import index as library_index

STARTER_INDEX = os.path.join(library_index.DATA_DIR, "starter.json")


def starter_index(with_trials=False):
    idx = library_index.Index.load(STARTER_INDEX)
    return library_index.with_trials(idx) if with_trials else idx


def load_library(paths=None, with_trials=False):
    """The starter library, or the saved index files (.json) in ``paths`` merged."""
    if not paths:
        return starter_index(with_trials)
    merged = None
    for p in paths:
        idx = library_index.Index.load(p)
        merged = idx if merged is None else merged.merged(idx)
    return library_index.with_trials(merged) if with_trials else merged


def source_motion(prompt, backend=None, duration=None, seed=0):
    """(Motion, answer) for the prompt from ``backend`` (default: the starter library)."""
    backend = backend or backends.LibraryBackend(starter_index())
    answer = backend.generate(prompt, duration, seed)
    return backends.answer_to_motion(answer), answer


def generator_from_text(prompt, rig_path, out_path, backend=None, duration=None, seed=0, mapping=None,
                        bvh_out=None, settings=None, progress=None, should_stop=None):
    """Build a generator for ``prompt`` on the rig of ``rig_path``; returns a report dict."""
    t0 = time.perf_counter()
    if progress:
        progress(0.0, "finding a motion")
    motion, answer = source_motion(prompt, backend, duration, seed)
    rig_file = clips.read_bvh_file(rig_path)
    rig_motion = rig_file.to_motion()
    if progress:
        progress(0.3, "retargeting")
    result = retarget.retarget(motion, rig_motion.skeleton, mapping=mapping)
    if bvh_out:
        template = rig_file
        template.frame_time = 1.0 / result.motion.fps
        bvh.write_bvh(bvh_out, template, result.motion)
    if progress:
        progress(0.5, "building the generator")
    info = build_generator(result.motion, out_path, settings=settings, should_stop=should_stop,
                           progress=(lambda f, m="": progress(0.5 + 0.5 * f, m)) if progress else None)
    entry = answer.get("entry") or {}
    return {"prompt": prompt, "source": entry.get("path") or answer.get("path") or answer["format"],
            "description": entry.get("description"), "score": answer.get("score"),
            "frames": result.motion.num_frames, "fps": result.motion.fps, "scale": result.scale,
            "mapped_bones": len(result.mapping), "generator": info["path"], "size_bytes": info["size_bytes"],
            "seconds": round(time.perf_counter() - t0, 3), "bvh": bvh_out}
