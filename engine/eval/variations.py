"""docs/evaluation.md variation protocol: seeds 0-3, no targets, 3 x L and 10 x L frames from the
clip's first pose, scored against the source.

A *maker* is ``fn(num_frames, seed) -> Motion`` (or ``(Motion, seconds)`` when it knows
its own generation time better than the wall clock, as GenMM's process does). ``score_maker`` runs one over the
seeds and lengths and returns, per length: the mean over seeds of style distance,
coverage, foot skate, jitter ratio, stable share and replayed stretch, the
inter-variation distance over the seeds, the MBench measures (engine/eval/mbench.py)
beside the source's, and the median seconds per generation. The makers here are the
generator, its ablations (hard cuts instead of inertialization; a walk that does not
seek coverage) and the looped source; engine/eval/genmm.py adds GenMM's.
"""
import time

import numpy as np

from ..generator import graph
from ..motion import metrics
from . import mbench

FACTORS = (3, 10)
SEEDS = (0, 1, 2, 3)
ROWS = ("style_distance_cm", "coverage", "foot_skate_delta", "jitter_ratio", "stable", "replayed_stretch_s")


def score_maker(ref, maker, factors=FACTORS, seeds=SEEDS, footing=None):
    """{"3x": {...}, "10x": {...}} for one maker on one clip (``ref``: metrics.Reference)."""
    footing = footing or mbench.footing(ref.motion)
    source_quality = mbench.quality_on(ref.motion, footing)
    out = {}
    for factor in factors:
        n = int(factor * ref.motion.num_frames)
        runs, points, seconds, quality = [], [], [], []
        for seed in seeds:
            t0 = time.perf_counter()
            motion = maker(n, seed)
            took = time.perf_counter() - t0
            if isinstance(motion, tuple):
                motion, took = motion
            seconds.append(took)
            trk = ref.track_of(motion)
            if not np.all(np.isfinite(trk.positions)):
                runs.append({"finite": False, "stable": False})
                continue
            p = metrics.style_points(trk)
            row = ref.long_run_metrics(motion)
            row["replayed_stretch_s"] = ref.replayed_stretch_seconds(trk, p)
            runs.append(row)
            points.append(p)
            quality.append(mbench.quality_on(motion, footing))
        summary = {k: _mean([float(r.get(k, np.nan)) for r in runs]) for k in ROWS}
        summary.update(finite_share=_mean([float(r.get("finite", False)) for r in runs]),
                       inter_variation_cm=metrics.inter_variation_cm(points) if len(points) > 1 else float("nan"),
                       seconds=float(np.median(seconds)), frames=n,
                       mbench={k: [_mean([q[k] for q in quality]), source_quality[k]] for k in mbench.NAMES})
        out[f"{factor}x"] = summary
    return out


def replayed_goal_s(motion):
    """docs/evaluation.md goal on the mean replayed stretch: min(2 s, a third of the clip)."""
    return min(2.0, motion.num_frames / motion.fps / 3.0)


def generator_maker(gen):
    return lambda n, seed: gen.generate(num_frames=n, seed=seed)


def hard_cut_maker(gen):
    """Ablation: the generator's walk with its jumps cut, not inertialized."""
    return lambda n, seed: gen.play(*gen.timeline(n, seed), inertialize=False)


def no_coverage_maker(gen):
    """Ablation: a walk that takes any smooth jump alike (no preference for unseen material)."""
    def make(n, seed):
        timeline = graph.random_walk(gen.jumps, gen.jump_costs, gen.tolerance, gen.fps, n, seed,
                                     mean_stretch_s=gen.mean_stretch_s, seek_coverage=False)
        return gen.play(*timeline)
    return make


def _mean(values):
    values = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")
