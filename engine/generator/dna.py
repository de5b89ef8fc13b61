"""Motion DNA: an explicit, saved, inspectable description of one clip.

Per timestep (what the character does at each moment):
- ``codes`` (F, k): the frame's state (pose, root motion, joint positions; see
  engine/features.py) normalised and projected on the clip's own principal components.
  ``k`` is chosen per clip: the fewest components that rebuild the clip's joint positions
  within ``code_tolerance_cm``. ``basis`` (k, D) and ``mean``/``scale`` (D,) decode them.
- ``trajectory`` (F, 4): root height, ground velocity (2) and turn rate, kept exact so the
  root path does not drift however few components the pose needs.
- ``phase`` (F,): progress through the clip in [0, 1].

Global (the clip as a whole):
- speed: mean / 95th-percentile root ground speed (m/s, span-scaled);
- rhythm: dominant period (s) of the summed joint speeds (autocorrelation peak), 0 if none;
- style: mean root-relative pose and per-joint amplitude (m) — how far each joint roams;
- ``loop_to``: the frame the timeline continues from after the last frame (motion-matching
  style best match of the last third of a second, so pose and velocity both continue),
  so a long run keeps playing the clip's material;
- ``restart_to``/``restart_blend_s``: where every other cycle restarts instead, when the
  loop skips the clip's beginning (an idle pose before a wave), and the half-life of the
  longer blend that needs: a long run then replays *all* of the clip's material.

Everything here is numpy; the runtime uses these arrays directly.
"""
import re

import numpy as np

from ..motion import features
from ..motion.filters import gaussian_filter1d
from ..motion.metrics import mean_acceleration, metres_per_unit
from ..motion.skeleton import forward_kinematics

# The fewest codes that rebuild joint positions within CODE_TOLERANCE_CM (body-span
# centimetres, docs/evaluation.md), at most MAX_CODES (docs/decisions.md: the finer DNA).
CODE_TOLERANCE_CM = 0.15
MAX_CODES = 96


def state_scale(layout, states, span):
    """Per-dimension normalisation: the clip's own spread, floored per feature type so
    near-constant channels (a finger that never moves) do not blow up noise."""
    sd = states.std(axis=0)
    floor = np.empty(layout.size)
    floor[layout.rot] = 0.05
    floor[layout.height] = 0.02 * span
    floor[layout.vel] = 0.002 * span
    floor[layout.turn] = 0.002
    floor[layout.pos] = 0.02 * span
    if layout.moving:
        floor[layout.trans] = 0.01 * span
    return np.maximum(sd, floor)


def trajectory_columns(layout):
    return np.array([layout.height, layout.vel.start, layout.vel.start + 1, layout.turn])


def fit_codes(motion, enc, layout, joint_translations, tolerance_cm=CODE_TOLERANCE_CM, max_codes=MAX_CODES):
    """PCA of the normalised states with the fewest components that rebuild the clip."""
    sk = motion.skeleton
    span = sk.span(motion.translations)
    mean = enc.states.mean(axis=0)
    scale = state_scale(layout, enc.states, span)
    x = (enc.states - mean) / scale
    _, sv, vt = np.linalg.svd(x, full_matrices=False)
    limit = int(min(max_codes, len(sv)))
    cm = 100.0 * metres_per_unit(sk, motion.translations)
    traj = trajectory_columns(layout)
    k, err = limit, None
    for k in _candidate_sizes(limit):
        rebuilt = decode_codes(x @ vt[:k].T, vt[:k], mean, scale)
        rebuilt[:, traj] = enc.states[:, traj]
        err = _position_error(rebuilt, enc, layout, sk, joint_translations) * cm
        if err <= tolerance_cm:
            break
    return {"mean": mean, "scale": scale, "basis": vt[:k].copy(), "codes": x @ vt[:k].T,
            "code_error_cm": float(err)}


CODE_SMOOTH_GRID_S = (0.0, 0.009, 0.018, 0.027, 0.036, 0.045, 0.054)  # low-pass candidates (s)


def smooth_codes(codes, fps, sigma_s):
    """Low-pass the per-frame codes in time (zero-phase Gaussian, ``sigma_s`` seconds).

    A truncated PCA pose drops small components that, through the chain of joint
    rotations, cancel each other's frame-to-frame wobble in the source; without them the
    rebuilt pose shakes (jitter 1.3-2x the source on 120 fps clips). Smoothing the codes
    removes that shake without moving the pose (reconstruction unchanged at ~0.25 cm)."""
    sigma = sigma_s * fps
    if sigma < 0.25 or len(codes) < 3:
        return codes
    return gaussian_filter1d(codes, sigma, axis=0)


def replay_positions(fit, enc, layout, skeleton, joint_translations, fps, sigma_s):
    """World joint positions (F, J, 3) of the clip as the codes low-passed over ``sigma_s``
    rebuild it (exact root trajectory)."""
    states = decode_codes(smooth_codes(fit["codes"], fps, sigma_s), fit["basis"], fit["mean"], fit["scale"])
    traj = trajectory_columns(layout)
    states[:, traj] = enc.states[:, traj]
    m = features.decode_states(states, layout, skeleton, enc.headings[0], enc.ground[0], joint_translations, fps)
    return forward_kinematics(skeleton, m.rotations, m.translations)[1]


def fit_smoothing(fit, enc, layout, skeleton, joint_translations, fps):
    """The codes' low-pass (seconds, from CODE_SMOOTH_GRID_S) whose replay is as smooth as
    the source: jitter (docs/evaluation.md: mean |acceleration| of the joints) closest to the
    source's in ratio. Too little leaves the truncation's shake, too much blunts the
    clip's own sharp moments; how much is right depends on the clip (its frame rate,
    how much the dropped components wobble, how crisp the capture is)."""
    if len(enc.positions) < 3:
        return 0.0
    source = mean_acceleration(enc.positions, fps)
    if not source > 0.0:
        return 0.0
    best, best_score = 0.0, np.inf
    for sigma_s in CODE_SMOOTH_GRID_S:
        pos = replay_positions(fit, enc, layout, skeleton, joint_translations, fps, sigma_s)
        ratio = mean_acceleration(pos, fps) / source
        if abs(np.log(ratio)) < best_score:
            best, best_score = sigma_s, abs(np.log(ratio))
        if ratio <= 1.0:  # smoother from here on: more would only blunt the clip
            break
    return best


def _candidate_sizes(limit):
    sizes = [s for s in (4, 8, 12, 16, 24, 32, 48, 64, 96, 128) if s < limit]
    return sizes + [limit]


def decode_codes(codes, basis, mean, scale):
    return (codes @ basis) * scale + mean


def _position_error(states, enc, layout, skeleton, joint_translations):
    m = features.decode_states(states, layout, skeleton, enc.headings[0], enc.ground[0], joint_translations, 1.0)
    pos = forward_kinematics(skeleton, m.rotations, m.translations)[1]
    return float(np.linalg.norm(pos - enc.positions, axis=-1).mean())


def global_features(motion, enc, layout):
    ms = metres_per_unit(motion.skeleton, motion.translations)
    fps = motion.fps
    speed = np.linalg.norm(enc.states[:, layout.vel], axis=-1) * ms * fps
    rel = enc.states[:, layout.pos].reshape(len(enc.states), -1, 3) * ms
    return {
        "speed_mean": float(speed.mean()), "speed_p95": float(np.percentile(speed, 95)),
        "rhythm_period_s": rhythm_period(enc.positions * ms, fps),
        "mean_pose": rel.mean(axis=0), "amplitude": np.linalg.norm(rel.std(axis=0), axis=-1),
    }


def rhythm_period(positions, fps):
    """Dominant period (s) from the autocorrelation of the summed joint speeds; 0 if none."""
    if len(positions) < 8:
        return 0.0
    speed = np.linalg.norm(np.diff(positions, axis=0), axis=-1).sum(axis=1)
    speed = speed - speed.mean()
    ac = np.correlate(speed, speed, mode="full")[len(speed) - 1:]
    if ac[0] <= 0:
        return 0.0
    ac = ac / ac[0]
    lo = max(2, int(0.2 * fps))
    peaks = [i for i in range(lo, len(ac) - 1) if ac[i] > ac[i - 1] and ac[i] >= ac[i + 1] and ac[i] > 0.2]
    return float(peaks[0] / fps) if peaks else 0.0


LOOP_MATCH_S = 1.0 / 3.0  # how much of the lead-in to the last frame a loop must match


def transition_gaps(codes, window):
    """gap[j - 1] for each candidate frame j = 1..F-1: the RMS code distance between the
    ``window`` + 1 frames leading to j (j - 1, j - 2, ...) and the ones leading to the last
    frame. Matching the lead-in, not one frame, matches velocity too: a pose passed on the
    way up does not stand in for the same pose on the way down."""
    F = len(codes)
    window = min(int(window), F - 2)
    pred = np.arange(F - 1)                              # j - 1 for j = 1..F-1
    total, count = np.zeros(F - 1), np.zeros(F - 1)
    for k in range(window + 1):
        ok = pred - k >= 0
        d = np.linalg.norm(codes[np.maximum(pred - k, 0)] - codes[F - 1 - k], axis=-1)
        total += np.where(ok, d * d, 0.0)
        count += ok
    return np.sqrt(total / np.maximum(count, 1))


def loop_target(codes, min_gap, window=0):
    """Frame to continue from after the last frame: the frame whose lead-in (its
    predecessor and ``window`` frames before it) best matches the last frame's, searched in
    the first half of the clip so a long run replays most of the clip's material."""
    F = len(codes)
    if F < 4:
        return 0
    hi = max(2, min(F // 2, F - min_gap))
    return int(np.argmin(transition_gaps(codes, window)[:hi - 1]) + 1)


# Leave a cycle before the last frame only when that seam is this many times cleaner than
# the last frame's (skipped material counted in): jumping_jacks' last frame is 9 cm from
# anything in its first half, a 4 cm style spike at every loop (docs/benchmark.md, note 1).
EARLY_EXIT_GAIN = 2.5
EARLY_EXIT_SKIP_CM = 4.0  # seam centimetres one whole clip of skipped material is worth


def pose_points(states, layout, fps, metres_per_unit):
    """docs/evaluation.md's style points per frame, flattened (F, 3P), in cm: joint positions relative to
    the root in its heading frame, root height, and its ground displacement over 0.1 s."""
    F, J = len(states), layout.num_joints
    cm = 100.0 * metres_per_unit
    root = np.zeros((F, 2, 3))
    root[:, 0, 0] = states[:, layout.height]
    root[:, 1, :2] = states[:, layout.vel] * 0.1 * fps
    pts = np.concatenate([states[:, layout.pos].reshape(F, J, 3), root], axis=1)
    return pts.reshape(F, -1) * cm


def seam_gaps(points, exits, window, entries=None):
    """Seam gap (cm) from each exit frame e to each entry frame j < ``entries`` (default
    all), (E, entries): the RMS point distance of the frame jumped from to the entry's
    predecessor, combined with that of their lead-ins (e - k against j - 1 - k,
    k <= window) so velocity matches too. Both count: the pose gap is what the blend must
    hide, the lead-in how the motion was moving into it. Entry 0 (no predecessor): inf."""
    F, P = len(points), points.shape[1] // 3
    C = F if entries is None else int(min(entries, F))
    exits = np.asarray(exits)
    lo = max(int(exits.min()) - window, 0)
    pts = points.astype(np.float32)  # float32: a 2400-frame clip's tables stay near 25 MB each
    sq = (pts ** 2).sum(axis=1)
    d2 = np.maximum(sq[lo:, None] + sq[None, :C] - 2.0 * pts[lo:] @ pts[:C].T, 0.0) / P  # (R, C) a vs b
    e, j = exits - lo, np.arange(1, C)
    pose2 = d2[e[:, None], j[None, :] - 1]
    # Diagonal running sums, in place: cum[a, b] = sum over k >= 0 of d2[a - k, b - k].
    cum = d2
    for r in range(1, len(cum)):
        cum[r, 1:] += cum[r - 1, :-1]
    n = np.minimum(window + 1, np.minimum(j[None, :], exits[:, None] + 1))            # terms in the lead-in
    back_r, back_c = e[:, None] - n, j[None, :] - 1 - n
    behind = np.where((back_r >= 0) & (back_c >= 0), cum[np.maximum(back_r, 0), np.maximum(back_c, 0)], 0.0)
    lead2 = (cum[e[:, None], j[None, :] - 1] - behind) / n
    out = np.full((len(exits), C), np.inf)
    out[:, 1:] = np.sqrt(np.maximum(pose2 + lead2, 0.0))
    return out


EARLY_EXIT_MAX_FRAMES = 4800  # longer clips keep the last frame's loop: the search is O(F^2)


def early_exit(points, loop_to, min_gap, window):
    """(loop_from, loop_to): where later cycles leave the clip and re-enter it. The last
    frame and ``loop_to`` unless a pair (exit in the second half, entry in the first)
    has a seam EARLY_EXIT_GAIN times cleaner, skipped material counted in; a clip whose
    ending is no place to loop (it winds down, or stops mid-gesture) then loops its
    cleanest stretch, and its ending plays once, in the first pass."""
    F = len(points)
    last = F - 1
    if F < 4 * max(min_gap, 2) or F > EARLY_EXIT_MAX_FRAMES:
        return last, int(loop_to)
    exits = np.arange(F // 2, last)
    end_gap = seam_gaps(points, [last], window, loop_to + 1)[0, loop_to]
    gaps = seam_gaps(points, exits, window, F // 2 + 1)                      # entries 0..F // 2
    cols = np.arange(gaps.shape[1])
    allowed = (cols[None, :] >= 1) & (cols[None, :] <= exits[:, None] - min_gap)
    cost = np.where(allowed, gaps, np.inf) + EARLY_EXIT_SKIP_CM * (last - exits[:, None]) / F
    e, j = np.unravel_index(int(np.argmin(cost)), cost.shape)
    if not cost[e, j] * EARLY_EXIT_GAIN <= end_gap:
        return last, int(loop_to)
    return int(exits[e]), int(j)


RESTART_MAX_BLEND_S = 1.0


def restart_target(x, fps, loop_to, exit_frame=None):
    """Frame before ``loop_to`` that every other cycle restarts from after ``exit_frame``
    (default the last frame), and the blend half-life (s) that jump needs; (loop_to, 0)
    when the loop skips under 0.5 s. ``x``: per-frame features (DNA codes, or pose points).

    Each candidate j costs seconds: the blend (the pose gap crossed at the clip's median
    pose speed) plus the share of the clip it still skips (frames before j); the blend's
    half-life makes its starting speed the clip's median speed. The gap is the exit
    frame's alone: the long blend hides a velocity mismatch (docs/decisions.md, "Long runs
    loop on a matched lead-in")."""
    if loop_to < max(2, int(0.5 * fps)):
        return int(loop_to), 0.0
    exit_frame = len(x) - 1 if exit_frame is None else int(exit_frame)
    gap = np.linalg.norm(x[:loop_to - 1] - x[exit_frame], axis=-1)      # gap[j - 1]: restart at j
    speed = max(float(np.median(np.linalg.norm(np.diff(x, axis=0), axis=-1))) * fps, 1e-9)
    j = int(np.argmin(gap / speed + np.arange(1, loop_to) / len(x)))
    return j + 1, float(min(gap[j] * np.log(2.0) / speed, RESTART_MAX_BLEND_S))


_SIDE_LEFT = re.compile(r"(left|^l[A-Z_]|_l$|_l_|^l_|\.l$|_L$|_L_)")
_SIDE_RIGHT = re.compile(r"(right|^r[A-Z_]|_r$|_r_|^r_|\.r$|_R$|_R_)")


def _side(name):
    if re.search("left", name, re.I) or _SIDE_LEFT.search(name):
        return "L"
    if re.search("right", name, re.I) or _SIDE_RIGHT.search(name):
        return "R"
    return ""


def effector_joints(skeleton, max_slots=5):
    """The main end effectors (hands, feet, head) by name; the network gets one target
    slot for each. Per side and part, the matching joint closest to the root (LeftHand,
    not LeftHandIndex1). Rigs with other names fall back to the leaves farthest from the
    root."""
    depth = np.array([len(skeleton.chain(j)) for j in range(skeleton.num_joints)])
    parts = [("L", r"hand|wrist"), ("R", r"hand|wrist"), ("L", r"foot|ankle"), ("R", r"foot|ankle"), ("", r"head")]
    out = []
    for side, pat in parts:
        hits = [j for j, n in enumerate(skeleton.names)
                if re.search(pat, n, re.I) and (_side(n) == side or (side == "" and True))
                and not re.search(r"end|top|site", n, re.I)]
        if hits:
            out.append(int(min(hits, key=lambda j: (depth[j], j))))
    out = list(dict.fromkeys(out))
    if len(out) < 3:
        rest = skeleton.rest_positions()
        root = skeleton.root
        leaves = [j for j in range(skeleton.num_joints) if not skeleton.children(j) and j != root]
        leaves.sort(key=lambda j: -np.linalg.norm(rest[j] - rest[root]))
        out = list(dict.fromkeys(out + leaves))
    return [j for j in out if j != skeleton.root][:max_slots]


def build_dna(motion, tolerance_cm=CODE_TOLERANCE_CM, max_codes=MAX_CODES):
    """Everything the generator knows about the clip, plus the encoding used to train."""
    # First: a skeleton with no length cannot be measured (a clear message, not an SVD error).
    metres = metres_per_unit(motion.skeleton, motion.translations)
    layout = features.Layout(motion.skeleton.num_joints, features.moving_joints(motion))
    enc = features.encode(motion, layout=layout)
    joint_translations = motion.translations.mean(axis=0)
    fit = fit_codes(motion, enc, layout, joint_translations, tolerance_cm, max_codes)
    # float32: far finer than the code tolerance (0.15 cm), and half the file (codes grow with
    # the clip: 2400 frames x 48 codes is most of a long clip's generator).
    smooth_s = fit_smoothing(fit, enc, layout, motion.skeleton, joint_translations, motion.fps)
    fit["codes"] = smooth_codes(fit["codes"], motion.fps, smooth_s).astype(np.float32)
    fit["basis"] = fit["basis"].astype(np.float32)
    F = motion.num_frames
    dna = {
        "codes": fit["codes"], "basis": fit["basis"], "mean": fit["mean"], "scale": fit["scale"],
        "trajectory": enc.states[:, trajectory_columns(layout)],
        "phase": np.linspace(0.0, 1.0, F) if F > 1 else np.zeros(1),
        "joint_translations": joint_translations,
        "forward_local": enc.forward_local,
        "first_state": enc.states[0], "first_heading": np.array([enc.headings[0]]),
        "first_ground": enc.ground[0],
    }
    glob = global_features(motion, enc, layout)
    dna["mean_pose"], dna["amplitude"] = glob.pop("mean_pose"), glob.pop("amplitude")
    loops = loop_plan(dna, layout, motion.fps, metres)
    info = dict(glob, code_error_cm=fit["code_error_cm"], num_codes=int(fit["basis"].shape[0]), code_smooth_s=smooth_s,
                **loops,
                effectors=effector_joints(motion.skeleton), moving_joints=list(layout.moving))
    return dna, info, layout, enc


def loop_plan(dna, layout, fps, metres_per_unit):
    """How a long run continues past the clip (engine/runtime.py ``timeline``): the first
    pass ends at the last frame and goes on at ``end_to``; later cycles leave at
    ``loop_from`` for ``loop_to``, and every other time for ``restart_to``."""
    codes = dna["codes"]
    min_gap, window = max(2, int(0.5 * fps)), int(round(LOOP_MATCH_S * fps))
    end_to = loop_target(codes, min_gap, window)
    points = pose_points(baseline_states(dna, layout), layout, fps, metres_per_unit)
    loop_from, loop_to = early_exit(points, end_to, min_gap, window)
    if loop_from == len(codes) - 1:
        restart_to, restart_blend = restart_target(codes, fps, loop_to)
    else:
        # Gaps mid-clip measured in the codes sent jumping_jacks back to its first frame,
        # a 12 cm jump (normalised codes weigh still joints like moving ones); the pose
        # points weigh them as docs/evaluation.md does.
        restart_to, restart_blend = restart_target(points, fps, loop_to, loop_from)
    return {"end_to": int(end_to), "loop_from": int(loop_from), "loop_to": int(loop_to),
            "restart_to": int(restart_to), "restart_blend_s": float(restart_blend)}


def baseline_states(dna, layout):
    """The clip's states as the DNA describes them (PCA pose + exact trajectory), (F, D)."""
    s = decode_codes(dna["codes"], dna["basis"], dna["mean"], dna["scale"])
    s[:, trajectory_columns(layout)] = dna["trajectory"]
    return s
