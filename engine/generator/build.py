"""Build a per-clip generator: the clip itself, its motion DNA summary and its motion graph.

The generator keeps the exact clip (what it replays where nothing is asked, so an edit
never loses the source) and the clip's motion graph (engine/generator/graph.py: where
the clip can go on from where), which variations walk. numpy only, O(F) memory in the
clip length; see docs/engine.md.
"""
import dataclasses
import os
import platform
import time

import numpy as np

from ..io import generator_file
from ..io.fileformat import motion_hash
from ..motion.metrics import metres_per_unit
from . import blend, dna, graph

MIN_CLIP_FRAMES = 4  # the shortest clip a generator recombines (the Blender side checks it too)
# The longest: the graph's search is O(F^2) time (O(F) memory); 50,000 frames (28 min at
# 30 fps) take about a minute on the 2-core machine (docs/engine.md).
MAX_CLIP_FRAMES = 50_000


def check_clip_length(num_frames):
    """ValueError, one line, unless a generator can be built on a clip of ``num_frames``."""
    if num_frames < MIN_CLIP_FRAMES:
        raise ValueError(f"the clip has {num_frames} frame(s): a generator recombines a clip's frames, it "
                         f"needs at least {MIN_CLIP_FRAMES}")
    if num_frames > MAX_CLIP_FRAMES:
        raise ValueError(f"the clip has {num_frames} frames: a build takes at most {MAX_CLIP_FRAMES} "
                         f"(time grows with the square of the clip); build from a frame range or a shorter clip")


@dataclasses.dataclass(frozen=True)
class Settings:
    """The build's settings; ``resolve_settings`` makes one from a dict, the generator
    file keeps them as a dict (``dataclasses.asdict``)."""

    tolerance_s: float = graph.TOLERANCE_SECONDS        # a smooth jump costs at most this much of the clip's motion
    candidates: int = graph.CANDIDATES                  # jumps kept per frame
    half_life_s: float = blend.HALF_LIFE_SECONDS        # how fast a jump's offset dies out
    mean_stretch_s: float = graph.MEAN_STRETCH_SECONDS  # mean play between a variation's jumps

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or (f.type is int and isinstance(value, float) and not value.is_integer()):
                raise ValueError(f"settings.{f.name} must be {f.type.__name__}, not {value!r}")
            try:
                object.__setattr__(self, f.name, f.type(value))
            except (TypeError, ValueError):
                raise ValueError(f"settings.{f.name} must be {f.type.__name__}, not {value!r}") from None
            if not getattr(self, f.name) > 0 or not np.isfinite(getattr(self, f.name)):
                raise ValueError(f"settings.{f.name} must be positive, not {value!r}")


SETTING_NAMES = tuple(f.name for f in dataclasses.fields(Settings))


class Cancelled(Exception):
    """The build was stopped by ``should_stop``."""


def resolve_settings(settings=None):
    """``Settings`` from a dict of overrides (None: the defaults; a ``Settings`` is returned
    as it is). Unknown keys and out-of-range values raise ValueError."""
    if isinstance(settings, Settings):
        return settings
    unknown = set(settings or {}) - set(SETTING_NAMES)
    if unknown:
        raise ValueError(f"unknown generator setting(s): {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(sorted(SETTING_NAMES))})")
    return Settings(**(settings or {}))


def clip_arrays(motion, layout):
    """The exact clip: pose rotations (F, J, 4) and the translations that move (root first)."""
    carried = [motion.skeleton.root] + list(layout.moving)
    return {"clip_rotations": motion.rotations.astype(np.float32),
            "clip_translations": motion.translations[:, carried].astype(np.float32),
            "joint_translations": motion.translations.mean(axis=0)}


def build_generator(motion, out_path, settings=None, progress=None, should_stop=None):
    """Build a generator on ``motion`` and save it to ``out_path`` (.mdna); returns a summary."""
    t0 = time.perf_counter()
    s = resolve_settings(settings)
    check_clip_length(motion.num_frames)
    motion.validate(min_frames=MIN_CLIP_FRAMES)
    metres_per_unit(motion.skeleton, motion.translations)  # a skeleton with no length: a clear message
    report = progress or (lambda fraction, message="", **fields: None)
    stop = should_stop or (lambda: False)

    report(0.0, "reading the clip")
    enc, layout = graph.encode_clip(motion)
    if stop():
        raise Cancelled("build cancelled")
    report(0.2, "finding where the clip can go on from where")
    feats = graph.matching_features(enc, layout, motion.skeleton, motion.fps, motion.translations)
    g = graph.build(feats, motion.fps, s.candidates, s.tolerance_s)
    if stop():
        raise Cancelled("build cancelled")
    arrays = clip_arrays(motion, layout)
    arrays.update(forward_local=enc.forward_local, jumps=g["jumps"], jump_costs=g["costs"])
    summary = dna.global_features(motion, enc, layout)
    summary.pop("mean_pose"), summary.pop("amplitude")
    info = dict(summary, effectors=dna.effector_joints(motion.skeleton, motion.translations),
                contacts=dna.contact_joints(motion), moving_joints=list(layout.moving),
                smooth_jumps=int(np.sum(g["costs"] <= g["tolerance"])))
    meta = {
        "skeleton": motion.skeleton.to_dict(), "fps": motion.fps, "num_frames": motion.num_frames,
        "source_name": motion.name, "source_hash": motion_hash(motion),
        "layout": {"num_joints": layout.num_joints, "moving": list(layout.moving)},
        "dna_info": info,
        "graph": {"tolerance": g["tolerance"], "half_life_s": s.half_life_s, "mean_stretch_s": s.mean_stretch_s},
        "settings": dataclasses.asdict(s),
        "build": {"build_seconds": time.perf_counter() - t0, "python": platform.python_version(),
                  "created": time.strftime("%Y-%m-%dT%H:%M:%S")},
    }
    generator_file.save(out_path, arrays, meta)
    report(1.0, "saved")
    return {"path": str(out_path), "build_seconds": meta["build"]["build_seconds"],
            "size_bytes": os.path.getsize(out_path), "smooth_jumps": info["smooth_jumps"],
            "total_seconds": time.perf_counter() - t0}
