"""Motion graph over the clip's own frames: where the clip can go on from where.

A *jump* i -> j plays frame j next instead of i + 1. It is good when frame j - 1 looks like
frame i, so that j follows i as it follows j - 1: the same root-relative joint positions
(heading frame), the same joint velocities, the same root speed, turn and height. The
cost of a jump is that mismatch as an RMS over the joints in metres (span-scaled, so a
centimetre rig and a CMU rig compare alike), velocities weighted by ``VELOCITY_SECONDS``
(a velocity mismatch costs what it would move a joint in that time).

A clip's graph keeps, per frame, its ``CANDIDATES`` cheapest jumps at least
``MIN_JUMP_SECONDS`` away (shorter skips or repeats are the clip itself), the cheapest of
each stretch of the clip (``CANDIDATE_BLOCKS``: candidates spread over the clip), none
into its last half second (a landing must have room to play), and a tolerance: jumps no
dearer than ``TOLERANCE_SECONDS`` of the clip's own typical motion (or
``TOLERANCE_FLOOR_M`` for a near-still clip) are the smooth ones a variation takes.

``random_walk`` turns a seed into a timeline: play a drawn stretch, then jump at the exit
it picks among the next mean stretch's (cheap jumps and the least-visited material
likelier, so a run covers the clip), and jump when the clip ends. Kovar et al. 2002,
*Motion Graphs*; the matching features follow Holden et al. 2020, *Learned Motion
Matching*.
"""
import numpy as np

from ..motion import features
from ..motion.metrics import metres_per_unit

CANDIDATES = 12                 # jumps kept per frame
MIN_JUMP_SECONDS = 0.25         # a shorter skip or repeat is the clip itself
VELOCITY_SECONDS = 0.1          # a velocity mismatch costs what it moves a joint in this time
TOLERANCE_SECONDS = 0.05        # a smooth jump costs at most this much of the clip's typical motion
TOLERANCE_FLOOR_M = 0.01        # ... and at least this (a near-still clip)
REACH_TOLERANCES = 5.0          # a jump to unseen material may cost this many tolerances
CANDIDATE_BLOCKS = 24           # candidates come from this many stretches of the clip (or 0.25 s ones)
MEAN_STRETCH_SECONDS = 1.0      # mean play between jumps, at most a fifth of the clip
MIN_STRETCH_SHARE = 0.4         # of the mean: the shortest stretch
NOVELTY_SECONDS = 1.0           # how far ahead of a landing frame the walk counts visits
JUMP_SHARPNESS = 2.0            # how much likelier a cheaper jump is (per squared tolerance)
LOOKAHEAD_SHARE = 1.0           # of the mean stretch: how far past a stretch's end the walk looks for its exit
CHUNK_ELEMENTS = 2 ** 22        # distances computed at once: rows x frames (32 MB of float64)


def matching_features(enc, layout, skeleton, fps, translations):
    """(F, d) per-frame features whose Euclidean distance / sqrt(J) is the jump cost (m)."""
    F, J = len(enc.states), skeleton.num_joints
    m = metres_per_unit(skeleton, translations)
    rel = enc.states[:, layout.pos].reshape(F, J, 3) * m
    vel = np.gradient(rel, axis=0) * fps if F > 1 else np.zeros_like(rel)
    ground = enc.states[:, layout.vel] * m * fps
    turn = enc.states[:, [layout.turn]] * fps * 0.5 * skeleton.span(translations) * m
    height = enc.states[:, [layout.height]] * m
    root = np.concatenate([VELOCITY_SECONDS * ground, VELOCITY_SECONDS * turn, height], axis=1)
    return np.concatenate([rel.reshape(F, -1), VELOCITY_SECONDS * vel.reshape(F, -1), root], axis=1) / np.sqrt(J)


def _distances(a, b, sq_a, sq_b):
    return np.sqrt(np.maximum(sq_a[:, None] + sq_b[None] - 2.0 * (a @ b.T), 0.0))


def build(feats, fps, count=CANDIDATES, tolerance_s=TOLERANCE_SECONDS):
    """The clip's graph: ``jumps`` (F, K) int32 landing frames, ``costs`` (F, K) float32 (m)
    cheapest first, and ``tolerance`` (m). Memory is O(F * K) plus a bounded block of
    distances (``CHUNK_ELEMENTS``), not O(F^2); time is O(F^2)."""
    F = len(feats)
    if F < 3:
        raise ValueError(f"a clip of {F} frames is too short to recombine")
    gap = max(2, int(round(MIN_JUMP_SECONDS * fps)))
    count = max(1, min(count, F - 2))
    room = min(2 * gap, F // 4)
    block = int(np.clip(F // CANDIDATE_BLOCKS, gap, max(gap, int(fps))))
    sq = np.einsum("ij,ij->i", feats, feats)
    pred, sq_pred = feats[:-1], sq[:-1]           # frame j - 1 for landings j = 1..F-1
    landing = np.arange(1, F)
    jumps = np.zeros((F, count), dtype=np.int32)
    costs = np.full((F, count), np.inf, dtype=np.float32)
    chunk = max(16, CHUNK_ELEMENTS // F)
    for lo in range(0, F, chunk):
        rows = np.arange(lo, min(F, lo + chunk))
        d = _distances(feats[rows], pred, sq[rows], sq_pred)        # (R, F - 1)
        d[np.abs(landing[None] - (rows[:, None] + 1)) < gap] = np.inf  # the clip itself
        d[:, landing > F - 1 - room] = np.inf                         # no room to play on
        best, bc = _best_per_stretch(d, block, count)
        jumps[rows] = landing[best]
        costs[rows] = bc
    step = np.sqrt(np.sum((feats[1:] - feats[:-1]) ** 2, axis=1)) * fps   # feature speed, m/s
    tolerance = max(tolerance_s * float(np.median(step)), TOLERANCE_FLOOR_M)
    return {"jumps": jumps, "costs": costs, "tolerance": float(tolerance)}


def _best_per_stretch(d, width, count):
    """Per row, the cheapest landing in each stretch of ``width`` frames, then the ``count``
    cheapest of those: candidates spread over the clip instead of crowding one place (a held
    pose would otherwise offer only itself)."""
    R, n = d.shape
    pad = (-n) % width
    blocks = np.concatenate([d, np.full((R, pad), np.inf)], axis=1).reshape(R, -1, width)
    inner = np.argmin(blocks, axis=2)                              # (R, B)
    block_cost = np.take_along_axis(blocks, inner[..., None], axis=2)[..., 0]
    k = min(count, block_cost.shape[1])
    pick = np.argsort(block_cost, axis=1)[:, :k]
    cost = np.take_along_axis(block_cost, pick, axis=1)
    at = np.minimum(pick * width + np.take_along_axis(inner, pick, axis=1), n - 1)
    if k < count:
        at = np.pad(at, ((0, 0), (0, count - k)), mode="edge")
        cost = np.pad(cost, ((0, 0), (0, count - k)), constant_values=np.inf)
    return at, cost


def stretch_frames(num_frames, fps, mean_stretch_s=MEAN_STRETCH_SECONDS):
    """(shortest, mean) frames a variation plays between jumps."""
    mean = max(2.0, min(mean_stretch_s * fps, num_frames / 5.0))
    return max(1, int(round(MIN_STRETCH_SHARE * mean))), mean


def random_walk(jumps, costs, tolerance, fps, num_frames, seed, start=0, mean_stretch_s=MEAN_STRETCH_SECONDS,
                first_stretch=None, seek_coverage=True):
    """Source frame per output frame (T,), the output frames where the walk jumps and
    each jump's cost (m). ``first_stretch``: frames played from ``start`` before the
    first jump may come (default: drawn like every other stretch); ``seek_coverage``
    False: every smooth jump alike (the ablation).

    When a drawn stretch has played, the walk picks its next jump among the exits of the
    next ``LOOKAHEAD_SHARE`` mean stretches of the clip (so it can wait a moment for a
    cheap one), plays on to that exit and jumps there; at the clip's end with no jump
    from it (a clip too short to recombine) it starts over."""
    F = len(jumps)
    rng = np.random.default_rng(seed)
    shortest, mean = stretch_frames(F, fps, mean_stretch_s)
    ahead = max(1, int(round(NOVELTY_SECONDS * fps)))
    window = max(1, int(round(LOOKAHEAD_SHARE * mean)))
    visits = np.zeros(F)
    idx = np.empty(num_frames, dtype=np.int64)
    out_jumps, out_costs = [], []
    i = int(start) % F
    left = _draw_stretch(rng, shortest, mean) if first_stretch is None else int(first_stretch)
    plan = None  # (exit frame, landing frame, cost)
    for t in range(num_frames):
        idx[t] = i
        visits[i] += 1.0
        left -= 1
        if plan is None and (left <= 0 or i >= F - 1):
            plan = _plan_jump(jumps, costs, i, window, tolerance, visits if seek_coverage else None, ahead, rng)
        if plan is not None and plan[0] == i:
            out_jumps.append(t + 1)
            out_costs.append(plan[2])
            i, plan = plan[1], None
            left = _draw_stretch(rng, shortest, mean)
        elif i < F - 1:
            i += 1
        else:  # the clip's end and no jump from it: start over
            out_jumps.append(t + 1)
            out_costs.append(float("inf"))
            i, plan = 0, None
    keep = [n for n, t in enumerate(out_jumps) if t < num_frames]
    return idx, [out_jumps[n] for n in keep], [out_costs[n] for n in keep]


def _draw_stretch(rng, shortest, mean):
    return int(rng.integers(shortest, max(shortest + 1, int(round(2 * mean - shortest)) + 1)))


def _plan_jump(jumps, costs, i, window, tolerance, visits, ahead, rng):
    """(exit, landing, cost) among the exits i..i+window: smooth jumps likelier, and the more
    the material after a landing lags behind the walk's average visits, the likelier (a
    run covers the whole clip); a dearer jump (up to REACH_TOLERANCES) only toward material
    that lags. At the clip's end the cheapest jump is taken; None: play on, ask again."""
    F = len(jumps)
    exits = np.arange(i, min(i + window, F - 1) + 1)
    cands, cost = jumps[exits], costs[exits]                      # (E, K)
    if visits is None:
        seen = lag = np.zeros(cands.shape)
    else:
        total = np.concatenate([[0.0], np.cumsum(visits)])
        seen = (total[np.minimum(cands + ahead, F)] - total[cands]) / ahead
        mean = visits.sum() / F
        lag = np.maximum(mean - seen, 0.0) / max(mean, 1e-9)      # 0..1
    finite = np.isfinite(cost)
    ok = finite & (cost <= tolerance * (1.0 + (REACH_TOLERANCES - 1.0) * lag))
    if not ok.any():
        if exits[-1] < F - 1 or not finite[-1].any():
            return None
        ok = np.zeros_like(finite)
        ok[-1] = finite[-1] & (cost[-1] <= cost[-1][finite[-1]].min() * 1.5)
    score = np.where(ok, -JUMP_SHARPNESS * (cost / max(tolerance, 1e-9)) ** 2 + 4.0 * lag - np.log1p(seen), -np.inf)
    weight = np.exp(score - score.max())
    pick = int(rng.choice(weight.size, p=(weight / weight.sum()).ravel()))
    e, k = divmod(pick, cands.shape[1])
    return int(exits[e]), int(cands[e, k]), float(cost[e, k])


def encode_clip(motion, forward_local=None):
    """(Encoding, Layout) of the source clip: the exact states a timeline plays."""
    lay = features.Layout(motion.skeleton.num_joints, features.moving_joints(motion))
    return features.encode(motion, forward_local, lay), lay
