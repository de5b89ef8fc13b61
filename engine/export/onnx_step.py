"""The streaming step as ONNX: a generator that plays in any ONNX runtime, one frame a call.

``export(generator, "walk.onnx")`` writes two models built with ``onnx.helper`` (no
torch), each graph holding the clip's tables as initializers:

- ``walk.onnx``, the **step**: the packed cursor (``CursorLayout``) and a transition to
  start at this frame or none -> the frame's local joint rotations (J, 4) and
  translations (J, 3) and the next cursor, for a batch of characters at once (a leading
  axis B on each). The math of ``Playback.render`` for one frame:
  the clip's states at a fractional position with the root's steps scaled by the rate,
  the inertialization spring of the current segment, 6D -> quaternion, the root's heading
  and ground position integrated.
- ``walk.decide.onnx``, the **planner**: the cursor, up to ``MAX_TARGETS`` targets (joint,
  position, frames ahead, active) and the plan in force -> the transition to take, as
  ``Planner.decide``: the same candidates (play on at a rate of ``planner.RATES``, or
  jump to a motion-graph landing within ``planner.EXIT_SECONDS``, then play at a rate),
  costs, argmin and switch margin.

What steps the two (when to decide, what to play where the numpy stream walks the motion
graph) is a few lines of the caller: ``tools/onnx_player.py``, described in
docs/formats.md. The per-frame IK of the stream is not in the step: an engine closes the
last centimetres with its own IK.

onnx is imported by the builder (engine/export/onnx_graph.py) when an export runs, never
when this module is imported.
"""
import json
import os
from dataclasses import dataclass

import numpy as np

from ..generator import graph, planner, stream
from ..io import atomic
from .onnx_graph import GraphBuilder, left_matrix

MAX_TARGETS = 8         # target slots of the planner model
FORMAT = "motiondna.onnx_step"
FORMAT_VERSION = 1
NEVER = 1e30            # the planner's cost of a plan it may not take


@dataclass(frozen=True)
class CursorLayout:
    """Offsets in the packed cursor (one float vector): the source position this frame
    plays, the rate, frames since the segment started, its half-life, the root's heading
    and ground position at the last frame, the segment's start position, the parts of the
    heading and ground sums that float rounding has lost (compensated summation: a long
    session does not drift), the segment's spring offset and velocity, the last frame's
    state (the columns the step decodes, ``state_size``) and rotations (J, 4)."""
    state_size: int
    num_joints: int

    POSITION, RATE, SINCE, HALF_LIFE, THETA, GROUND, SEGMENT_START, THETA_CARRY, GROUND_CARRY = 0, 1, 2, 3, 4, 5, 7, 8, 9
    SPRING_X = 11

    @property
    def spring_v(self):
        return self.SPRING_X + self.state_size

    @property
    def last_state(self):
        return self.SPRING_X + 2 * self.state_size

    @property
    def last_rotations(self):
        return self.SPRING_X + 3 * self.state_size

    @property
    def size(self):
        return self.last_rotations + 4 * self.num_joints

    def as_dict(self):
        return {"size": self.size, "position": self.POSITION, "rate": self.RATE, "since": self.SINCE,
                "half_life": self.HALF_LIFE, "theta": self.THETA, "ground": self.GROUND,
                "segment_start": self.SEGMENT_START, "theta_carry": self.THETA_CARRY,
                "ground_carry": self.GROUND_CARRY, "spring_x": self.SPRING_X, "spring_v": self.spring_v,
                "last_state": self.last_state, "last_rotations": self.last_rotations, "state_size": self.state_size}


def step_columns(layout):
    """The state columns the step plays: rotations, height, ground step, turn and moving
    translations (the root-relative positions are for the motion graph only)."""
    return np.r_[np.arange(0, 6 * layout.num_joints + 4), np.arange(layout.trans.start, layout.trans.stop)]


def pack_cursor(cursor, columns):
    """A Playback Cursor as the packed vector of CursorLayout (float64)."""
    head = [cursor.position, cursor.rate, cursor.since, cursor.half_life, cursor.theta, *cursor.ground,
            cursor.position - cursor.rate * cursor.since, 0.0, 0.0, 0.0]
    return np.concatenate([np.asarray(head, float), cursor.spring_x[columns], cursor.spring_v[columns],
                           cursor.last_state[columns], cursor.last_rotations.ravel()])


# ------------------------------------------------------------------ the step


def build_step(generator, dtype=np.float32):
    """The step's graph builder: inputs ``cursor`` (B, C) and ``start`` (B, 4), outputs
    ``rotations`` (B, J, 4), ``translations`` (B, J, 3) and ``next_cursor`` (B, C), for a
    batch of B characters (any B, 1 for one) stepped in one call."""
    lay, sk = generator.layout, generator.skeleton
    J, cols = sk.num_joints, step_columns(lay)
    D = len(cols)
    cl = CursorLayout(D, J)
    g = GraphBuilder("motiondna_step", dtype)
    cursor = g.input("cursor", ["batch", cl.size])
    start = g.input("start", ["batch", 4])
    base = g.table(generator.enc.states[:, cols], "clip_states")
    last_frame = len(generator.enc.states) - 1
    parts = g.split(cursor, [1, 1, 1, 1, 1, 2, 1, 1, 2, D, D, D, 4 * J])            # CursorLayout's order, (B, width)
    u, r, since, life, theta, ground, seg_start, theta_carry, ground_carry, x, v, last, last_rot = parts
    carry = theta_carry, ground_carry
    last_rot = g.reshape(last_rot, [-1, J, 4])
    on, p, rn, hn = g.split(start, [1, 1, 1, 1])
    flag = g.op("Greater", on, g.const(0.5))
    # The current segment's frame, and the new segment's first frame and the one before it.
    rate_columns = np.zeros(D)
    rate_columns[[6 * J + 1, 6 * J + 2, 6 * J + 3]] = 1.0
    positions = g.concat([u, p, g.sub(p, rn)])                                       # (B, 3)
    rates = g.unsqueeze(g.concat([r, rn, rn]), [-1])                                 # (B, 3, 1)
    scale = g.add(g.const(1.0), g.mul(g.sub(rates, g.const(1.0)), g.const(rate_columns)))
    sampled = g.mul(g.interpolate(base, positions, last_frame), scale)               # (B, 3, D)
    row = lambda k: g.squeeze(g.cols(sampled, k, k + 1, axis=1), [1])
    seg, new0, new1 = row(0), row(1), row(2)
    s = g.add(seg, _spring(g, x, v, since, life))
    # A transition starts here: the offset keeps this frame where the old segment goes.
    x2 = g.where(flag, g.sub(s, new0), x)
    # The root's step and turn start with no velocity term (Playback.transition).
    v_new = g.mul(g.sub(g.sub(s, last), g.sub(new0, new1)), g.const(1.0 - rate_columns))
    v2 = g.where(flag, v_new, v)
    seg_start2, r2 = g.where(flag, p, seg_start), g.where(flag, rn, r)
    since2 = g.add(g.where(flag, g.const(0.0), since), g.const(1.0))
    life2 = g.where(flag, hn, life)
    (theta2, theta_carry), (ground2, ground_carry) = _integrate_root(g, s, J, theta, ground, carry)
    rotations = _rotations(g, generator, s, theta2, last_rot)
    translations = _translations(g, generator, s, ground2, cursor)
    # The next position from the segment's start: no sum of rate steps to drift.
    next_cursor = g.concat([g.add(seg_start2, g.mul(r2, since2)), r2, since2, life2, theta2, ground2, seg_start2,
                            theta_carry, ground_carry, x2, v2, s, g.reshape(rotations, [-1, 4 * J])])
    g.output(rotations, "rotations", ["batch", J, 4])
    g.output(translations, "translations", ["batch", J, 3])
    g.output(next_cursor, "next_cursor", ["batch", cl.size])
    return g, cl


def _spring(g, x, v, since, life):
    """blend.spring_curves at ``since`` applied to the offset (x, v); zero from
    blend.spring_frames on, as Playback._segment_states."""
    y = g.div(g.const(2.0 * np.log(2.0)), g.maximum(life, g.const(1e-6)))
    frames = g.add(g.op("Ceil", g.div(g.const(11.8), y)), g.const(1.0))
    e = g.op("Exp", g.op("Neg", g.mul(y, since)))
    a = g.mul(g.add(g.const(1.0), g.mul(y, since)), e)
    b = g.mul(since, e)
    offset = g.add(g.mul(a, x), g.mul(b, v))
    return g.where(g.op("Less", since, frames), offset, g.const(0.0))


def _integrate_root(g, s, J, theta, ground, carry):
    """The root's heading and ground position after this frame's turn and step, each a
    compensated (Kahan) sum: ((theta, its carry), (ground, its carry))."""
    turn = g.cols(s, 6 * J + 3, 6 * J + 4)
    step = g.turn_ground(g.cols(s, 6 * J + 1, 6 * J + 3), theta)
    return _kahan(g, theta, turn, carry[0]), _kahan(g, ground, step, carry[1])


def _kahan(g, total, term, carry):
    """total + term with the rounding lost so far (``carry``) put back: (sum, new carry)."""
    y = g.sub(term, carry)
    new = g.add(total, y)
    return new, g.sub(g.sub(new, total), y)


def _rotations(g, generator, s, theta, last_rot):
    """Local rotations (B, J, 4): each joint's 6D, the root's turned by its heading and put
    back under its rest rotation, in the hemisphere of the last frame's (quat.unroll)."""
    sk = generator.skeleton
    J, root = sk.num_joints, sk.root
    q = g.quat_from_6d(g.reshape(g.cols(s, 0, 6 * J), [-1, J, 6]))
    q_root = g.gather(q, g.ints([root]), axis=1)                                     # (B, 1, 4)
    axis = np.zeros(4)
    axis[1 + sk.up_axis] = 1.0
    half = g.unsqueeze(g.mul(theta, g.const(0.5)), [-1])                             # (B, 1, 1)
    world = g.add(g.mul(g.op("Cos", half), q_root), g.mul(g.op("Sin", half), g.left_multiply(left_matrix(axis), q_root)))
    rest_inverse = sk.rest_rotations[root] * np.array([1.0, -1.0, -1.0, -1.0])
    local_root = g.left_multiply(left_matrix(rest_inverse), world)
    order = np.arange(J)
    order[root] = J
    rots = g.gather(g.concat([q, local_root], axis=1), g.ints(order), axis=1)
    flip = g.op("Less", g.sum(g.mul(rots, last_rot), -1), g.const(0.0))
    return g.where(flip, g.op("Neg", rots), rots)


def _translations(g, generator, s, ground, cursor):
    """Local translations (B, J, 3): the constant bone offsets, the moving joints' from the
    state, the root's from its ground position and height."""
    sk, lay = generator.skeleton, generator.layout
    J, M = sk.num_joints, len(lay.moving)
    a, b = _ground_axes(sk.up_axis)
    height = g.cols(s, 6 * J, 6 * J + 1)
    parts = {a: g.cols(ground, 0, 1), b: g.cols(ground, 1, 2), sk.up_axis: height}
    root = g.unsqueeze(g.concat([parts[0], parts[1], parts[2]]), [1])                # (B, 1, 3)
    batch = g.cols(g.op("Shape", cursor), 0, 1)
    offsets = g.op("Expand", g.const(generator.source.translations[0]), g.concat([batch, g.ints([J, 3])], axis=0))
    rows = [offsets]
    order = np.arange(J)
    if M:
        rows.append(g.reshape(g.cols(s, 6 * J + 4, 6 * J + 4 + 3 * M), [-1, M, 3]))
        order[list(lay.moving)] = J + np.arange(M)
    rows.append(root)
    order[sk.root] = J + M
    return g.gather(g.concat(rows, axis=1), g.ints(order), axis=1)


def _ground_axes(up_axis):
    return {0: (1, 2), 1: (2, 0), 2: (0, 1)}[int(up_axis)]


# ------------------------------------------------------------------ the planner


def exit_table(fps):
    """Per horizon row n = -1 .. round(EXIT_SECONDS fps) (row n + 1): the exits
    Planner.candidates weighs (frames after the cursor) and which slots hold one."""
    most = int(round(planner.EXIT_SECONDS * fps))
    width = min(planner.MAX_EXITS, most + 1)
    exits, used = np.zeros((most + 2, width)), np.zeros((most + 2, width))
    for n in range(0, most + 1):
        e = np.unique(np.linspace(0, max(n, 0), min(planner.MAX_EXITS, n + 1)).round().astype(np.int64))
        exits[n + 1, :len(e)], used[n + 1, :len(e)] = e, 1.0
    return exits, used


def matched_exit_table(width):
    """Per count n = 0 .. ``width`` of usable exits (row n): which of them
    Planner._matched_landings lands from (indices into the usable exits, at most
    ``planner.MATCHED_EXITS``) and which slots hold one."""
    m = planner.MATCHED_EXITS
    index, used = np.zeros((width + 1, m), np.int64), np.zeros((width + 1, m))
    for n in range(width + 1):
        k = np.linspace(0, n - 1, min(m, n)).round().astype(np.int64)
        index[n, :len(k)], used[n, :len(k)] = k, 1.0
    return index, used


def build_decide(generator, dtype=np.float32, max_targets=MAX_TARGETS):
    """The planner's graph builder (inputs ``cursor``, ``target_joint``, ``target_position``,
    ``target_ahead``, ``target_active``, ``incumbent``, ``residual_weight``,
    ``after_frames``; output ``decision``)."""
    pl, sk = generator.planner, generator.skeleton
    J, N, F = sk.num_joints, int(max_targets), generator.num_frames
    cl = CursorLayout(len(step_columns(generator.layout)), J)
    g = GraphBuilder("motiondna_decide", dtype)
    cursor = g.input("cursor", [cl.size])
    joint = g.input("target_joint", [N], g.onnx.TensorProto.INT64)
    goal = g.input("target_position", [N, 3])
    ahead = g.input("target_ahead", [N])
    active = g.op("Greater", g.input("target_active", [N]), g.const(0.5))
    incumbent = g.input("incumbent", [4])
    residual_weight = g.input("residual_weight", [1])
    after = g.input("after_frames", [1])
    at = lambda offset, width=1: g.cols(cursor, offset, offset + width, axis=0)
    u, r, theta_c, ground_c = at(cl.POSITION), at(cl.RATE), at(cl.THETA), at(cl.GROUND, 2)
    horizon = g.op("ReduceMax", g.where(active, ahead, g.const(-1.0)), keepdims=1)   # (1,)
    # The first target (the earliest; the first slot of those at one frame): matched landings look for it.
    first = g.op("ArgMin", g.where(active, ahead, g.const(NEVER)), axis=0, keepdims=1)
    target = {"ahead": g.gather(ahead, first), "joint": g.gather(joint, first), "position": g.gather(goal, first)}
    rows = _candidates(g, generator, u, r, theta_c, ground_c, horizon, incumbent, target)
    cost, residual = _score(g, generator, rows, u, r, theta_c, ground_c, joint, goal, ahead, active, horizon,
                            residual_weight, after)
    best = g.op("ArgMin", cost, axis=0, keepdims=1)
    pick = lambda values: g.gather(values, best)
    best_cost, incumbent_cost = pick(cost), g.cols(cost, -1, 2 ** 62, axis=0)
    take = g.logical_and(g.op("Less", best_cost, g.const([NEVER / 2])),
                         g.op("LessOrEqual", best_cost, g.sub(incumbent_cost, g.const([planner.SWITCH_MARGIN_M]))))
    exit_after, landing, rate, jump_cost = (pick(rows[k]) for k in ("exit", "landing", "rate", "jump_cost"))
    plays = g.op("Less", exit_after, g.const([0.0]))
    position = g.where(plays, u, landing)
    half_life = _half_life(g, generator, jump_cost)
    plays_on = g.op("LessOrEqual", g.add(u, g.mul(r, g.add(horizon, after))), g.const([float(F - 1 - pl.room)]))
    decision = g.concat([g.to_float(take), exit_after, position, rate, half_life, jump_cost, pick(residual),
                         g.to_float(plays_on)], axis=0)
    g.output(decision, "decision", [8])
    return g, cl


def _half_life(g, generator, jump_cost):
    """Generator.jump_half_lives: a jump's blend in frames from its cost."""
    base_life = generator.half_life_s * generator.fps
    ratio = g.clip(g.div(jump_cost, g.const(max(generator.tolerance, 1e-12))), 1.0, graph.REACH_TOLERANCES)
    return g.mul(ratio, g.const(base_life))


def _spread(g, t, shape, full):
    """``t`` reshaped to ``shape`` and broadcast to ``full``, flattened."""
    return g.reshape(g.op("Expand", g.reshape(t, shape), g.ints(full)), [-1])


def _candidates(g, generator, u, r, theta_c, ground_c, horizon, incumbent, target):
    """Planner.candidates plus the incumbent as the last row, in its order: playing on
    at each rate, then every (exit, landing) x rate of the motion graph, then every
    (matched exit, matched moment) x rate, valid or not (``usable``)."""
    F = generator.num_frames
    exits_by_row, used_by_row = exit_table(generator.fps)
    most = exits_by_row.shape[0] - 2
    E, K, R = exits_by_row.shape[1], generator.jumps.shape[1], len(planner.RATES)
    row = g.to_int(g.add(g.clip(g.sub(horizon, g.const([1.0])), -1.0, float(most)), g.const([1.0])))
    exits = g.squeeze(g.gather(g.table(exits_by_row, "exits"), row), [0])           # (E,)
    used = g.op("Greater", g.squeeze(g.gather(g.table(used_by_row, "exit_used"), row), [0]), g.const(0.5))
    frames = g.op("Floor", g.add(u, g.mul(r, exits)))
    inside = g.logical_and(used, g.op("Less", frames, g.const(float(F - 1))))
    index = g.to_int(g.clip(frames, 0.0, float(F - 1)))
    costs = np.asarray(generator.jump_costs, float)
    smooth = np.isfinite(costs) & (costs <= generator.tolerance * graph.REACH_TOLERANCES)
    landing = g.gather(g.table(generator.jumps.astype(np.float64), "jump_landings"), index)      # (E, K)
    jump_cost = g.gather(g.table(np.where(smooth, costs, 0.0), "jump_costs"), index)
    ok = g.logical_and(g.unsqueeze(inside, [1]),
                       g.op("Greater", g.gather(g.table(smooth.astype(np.float64), "jump_smooth"), index), g.const(0.5)))
    matched = _matched_landings(g, generator, u, r, theta_c, ground_c, exits, inside, target)
    M = matched["moments"]
    spread = lambda t, shape: _spread(g, t, shape, [E, K, R])
    spread_m = lambda t, shape: _spread(g, t, shape, [planner.MATCHED_EXITS, M, R])
    rates = g.const(planner.RATES)
    inc_exit = g.cols(incumbent, 0, 1, axis=0)
    none = g.op("Less", inc_exit, g.const([0.0]))
    inc_rate = g.where(none, r, g.cols(incumbent, 2, 3, axis=0))
    inc_cost = g.where(none, g.const([0.0]), g.cols(incumbent, 3, 4, axis=0))
    zeros_r = g.const(np.zeros(R))
    true_r = g.op("Greater", g.const(np.ones(R)), g.const(0.5))
    m_shape = [planner.MATCHED_EXITS, M, 1]
    return {
        "exit": g.concat([g.const(-np.ones(R)), spread(exits, [E, 1, 1]),
                          spread_m(matched["exit"], [planner.MATCHED_EXITS, 1, 1]), inc_exit], axis=0),
        "landing": g.concat([zeros_r, spread(landing, [E, K, 1]), spread_m(matched["landing"], m_shape),
                             g.cols(incumbent, 1, 2, axis=0)], axis=0),
        "rate": g.concat([rates, spread(rates, [1, 1, R]), spread_m(rates, [1, 1, R]), inc_rate], axis=0),
        "jump_cost": g.concat([zeros_r, spread(jump_cost, [E, K, 1]), spread_m(matched["jump_cost"], m_shape),
                               inc_cost], axis=0),
        "usable": g.concat([true_r, spread(ok, [E, K, 1]), spread_m(matched["usable"], m_shape),
                            g.op("Greater", g.const([1.0]), g.const([0.5]))], axis=0),
    }


def _matched_landings(g, generator, u, r, theta_c, ground_c, exits, inside, target):
    """Planner._matched_landings: jumps from ``planner.MATCHED_EXITS`` of the usable exits
    to the ``planner.MATCHED_FRAMES`` moments whose joint, around the body, is nearest
    where the first target asks it (TopK: of equal distances the earlier frame first,
    where numpy's argsort may take either), landed so that the moment plays at the
    target's frame, costed by the graph's matching features. Per (exit, moment), (4, M):
    exit, landing, jump cost and usable."""
    pl, sk = generator.planner, generator.skeleton
    F, up = generator.num_frames, sk.up_axis
    last = F - 1
    M = min(planner.MATCHED_FRAMES, F)
    E = int(exit_table(generator.fps)[0].shape[1])
    index_by_count, used_by_count = matched_exit_table(E)
    count = g.to_int(g.op("ReduceSum", g.to_float(inside), keepdims=1))                 # (1,) usable exits
    chosen = g.squeeze(g.gather(g.table(index_by_count, "matched_exit_index"), count), [0])   # (4,)
    used = g.op("Greater", g.squeeze(g.gather(g.table(used_by_count, "matched_exit_used"), count), [0]), g.const(0.5))
    m_exits = g.gather(exits, chosen)                                                  # (4,)
    ahead = target["ahead"]
    when = g.add(u, g.mul(r, ahead))                                                    # (1,)
    theta_now, ground_now = _ground_pose(g, generator, g.sub(u, r), last)
    theta_at, ground_at = _ground_pose(g, generator, when, last)
    turn = g.sub(theta_c, theta_now)
    root = g.add(g.rotate_ground(g.sub(ground_at, ground_now), turn), ground_c)          # (1, 2)
    heading = g.add(turn, theta_at)
    a, b = _ground_axes(up)
    goal = target["position"]                                                           # (1, 3)
    offset = g.sub(g.concat([g.cols(goal, a, a + 1), g.cols(goal, b, b + 1)]), root)
    around = g.rotate_ground(offset, g.op("Neg", heading))                              # (1, 2)
    height = g.interpolate(g.const(generator.enc.positions[:, sk.root, up]), when, last, row_axes=0)
    parts = {a: g.cols(around, 0, 1), b: g.cols(around, 1, 2),
             up: g.sub(g.cols(goal, up, up + 1), g.unsqueeze(height, [-1]))}
    want = g.concat([parts[0], parts[1], parts[2]])                                    # (1, 3)
    relative = g.table(np.transpose(pl.relative, (1, 0, 2)), "relative_positions")    # (J, F, 3)
    rel = g.gather(relative, target["joint"])                                           # (1, F, 3)
    miss = g.sub(rel, g.unsqueeze(want, [1]))
    # (x^2 + y^2) + z^2 by elementwise adds, numpy's order: a ReduceSum's vector kernels
    # round rows by where they lie in memory, and exact ties would not stay ties.
    x2, y2, z2 = (g.mul(c, c) for c in g.split(miss, [1, 1, 1]))
    distance = g.squeeze(g.add(g.add(x2, y2), z2), [-1])                                # (1, F)
    nearest = g.multi("TopK", [distance, g.ints([M])], 2, axis=-1, largest=0, sorted=1)[1]   # (1, M)
    moments = g.to_float(g.squeeze(nearest, [0]))                                       # (M,)
    # The landing that plays the moment at the target's frame, at rate 1 from the exit.
    land = g.sub(g.unsqueeze(moments, [0]), g.unsqueeze(g.sub(g.sub(ahead, m_exits), g.const(1.0)), [1]))   # (4, M)
    x = g.op("Floor", g.add(u, g.mul(r, m_exits)))                                       # (4,)
    ok = g.logical_and(g.op("GreaterOrEqual", land, g.const(1.0)), g.op("Less", land, g.const(float(last))))
    ok = g.logical_and(ok, g.unsqueeze(g.logical_and(used, g.op("Less", x, g.const(float(last)))), [1]))
    exit_features = matching_features(g, generator, relative, g.clip(x, 0.0, float(last)), 1)       # (4, d)
    land_features = matching_features(g, generator, relative, g.clip(g.sub(land, g.const(1.0)), 0.0, float(last)), 2)
    cost = g.squeeze(g.norm(g.sub(g.unsqueeze(exit_features, [1]), land_features)), [-1])  # (4, M)
    keep = g.logical_and(ok, g.op("LessOrEqual", cost, g.const(generator.tolerance * graph.REACH_TOLERANCES)))
    return {"exit": m_exits, "landing": land, "jump_cost": g.where(keep, cost, g.const(0.0)), "usable": keep,
            "moments": M}


def matching_features(g, generator, relative, frames, rank):
    """graph.matching_features at whole ``frames`` (float, of ``rank`` axes P, in the clip):
    (*P, 6 J + 4), computed from the root-relative positions ``relative`` (J, F, 3) with
    numpy's operations in numpy's order (the same values to the bit in float64), so the
    model holds no second table of them; the root's 4 columns are a table."""
    pl, sk = generator.planner, generator.skeleton
    J, last = sk.num_joints, generator.num_frames - 1
    metres, root_sqrt = pl.metres, np.sqrt(J)

    def rows(at):   # (*P, 3 J) of the relative positions in metres at whole frames
        picked = g.gather(relative, g.to_int(at), axis=1)                               # (J, *P, 3)
        perm = list(range(1, rank + 1)) + [0, rank + 1]
        return g.mul(g.reshape(g.op("Transpose", picked, perm=perm), [0] * rank + [-1]), g.const(metres))

    lo = g.maximum(g.sub(frames, g.const(1.0)), g.const(0.0))
    hi = g.minimum(g.add(frames, g.const(1.0)), g.const(float(last)))
    # np.gradient: (f[i + 1] - f[i - 1]) / 2 inside, one-sided at the ends (/ 1).
    gradient = g.div(g.sub(rows(hi), rows(lo)), g.unsqueeze(g.sub(hi, lo), [-1]))
    velocity = g.mul(g.const(graph.VELOCITY_SECONDS), g.mul(gradient, g.const(float(generator.fps))))
    if "matching_root" not in {t.name for t in g.initializers}:
        g.table(pl.features[:, 6 * J:], "matching_root")
    root = g.gather("matching_root", g.to_int(frames))
    return g.concat([g.div(rows(frames), g.const(root_sqrt)), g.div(velocity, g.const(root_sqrt)), root])


def _ground_pose(g, generator, positions, last):
    """The source root's heading (n,) and ground position (n, 2) at fractional positions."""
    pb = generator.playback
    theta = g.interpolate(g.const(pb.headings), positions, last, row_axes=0)
    ground = g.interpolate(g.const(pb.ground), positions, last)
    return theta, ground


def _score(g, generator, rows, u, r, theta_c, ground_c, joint, goal, ahead, active, horizon, residual_weight, after):
    """Planner._score on every row: (cost with NEVER where a plan is not usable, residual)."""
    pl, sk = generator.planner, generator.skeleton
    F, J = generator.num_frames, sk.num_joints
    last = F - 1
    exit_after, landing, rate = rows["exit"], rows["landing"], rows["rate"]
    jumped = g.op("GreaterOrEqual", exit_after, g.const(0.0))
    theta_now, ground_now = _ground_pose(g, generator, g.sub(u, r), last)
    exit_pos = g.where(jumped, g.add(u, g.mul(r, g.maximum(exit_after, g.const(0.0)))), g.sub(u, r))
    start_rel = g.where(jumped, g.add(exit_after, g.const(1.0)), g.const(0.0))
    start_pos = g.where(jumped, landing, u)
    theta_x, ground_x = _ground_pose(g, generator, exit_pos, last)
    turn_now = g.sub(theta_c, theta_now)
    ground_exit = g.add(g.rotate_ground(g.sub(ground_x, ground_now), turn_now), ground_c)
    before = g.where(jumped, g.sub(start_pos, g.const(1.0)), exit_pos)
    theta_b, ground_b = _ground_pose(g, generator, before, last)
    turn = g.add(turn_now, g.where(jumped, g.sub(theta_x, theta_b), g.const(0.0)))
    # Planner._spring_drift: the transition's offset on the root's step and turn, summed.
    root_states = g.const(pl.root_states)
    old = g.mul(g.interpolate(root_states, g.add(exit_pos, r), last), r)
    new = g.mul(g.interpolate(root_states, start_pos, last), g.unsqueeze(rate, [-1]))
    lives = g.where(jumped, _half_life(g, generator, rows["jump_cost"]), g.const(generator.half_life_s * generator.fps))
    y = g.div(g.const(2.0 * np.log(2.0)), g.maximum(lives, g.const(1e-6)))
    q = g.op("Exp", g.op("Neg", y))
    one_q = g.sub(g.const(1.0), q)
    a_sum = g.add(g.div(g.const(1.0), one_q), g.div(g.mul(y, q), g.mul(one_q, one_q)))
    total = g.mul(g.sub(old, new), g.unsqueeze(a_sum, [-1]))                             # (n, 3)
    turn_after = g.add(turn, g.squeeze(g.cols(total, 2, 3), [-1]))
    drift = g.rotate_ground(g.cols(total, 0, 2), g.add(turn, theta_b))
    # Every target (N, n): where its joint is at its frame under each plan.
    ahead_n = g.unsqueeze(ahead, [1])
    when = g.add(g.unsqueeze(start_pos, [0]), g.mul(g.unsqueeze(rate, [0]), g.sub(ahead_n, g.unsqueeze(start_rel, [0]))))
    limit = float(last - pl.room)
    beyond = g.add(when, g.unsqueeze(g.mul(rate, after), [0]))
    fits = g.logical_and(g.logical_and(g.op("LessOrEqual", beyond, g.const(limit)), g.op("GreaterOrEqual", when, g.const(0.0))),
                         g.op("GreaterOrEqual", ahead_n, g.unsqueeze(start_rel, [0])))
    fits = g.op("Or", fits, g.unsqueeze(g.op("Not", active), [1]))
    valid = g.op("Greater", g.op("ReduceMin", g.to_float(fits), axes=[0], keepdims=0), g.const(0.5))
    lo, hi, w = g.bracket(when, last)
    table = g.const(generator.enc.positions.reshape(F * J, 3))
    joint_n = g.unsqueeze(joint, [1])
    flat = lambda frame: g.add(g.mul(frame, g.ints(J)), joint_n)
    src_lo, src_hi = g.gather(table, flat(lo)), g.gather(table, flat(hi))
    src = g.add(src_lo, g.mul(g.sub(src_hi, src_lo), g.unsqueeze(w, [-1])))           # (N, n, 3)
    a, b = _ground_axes(sk.up_axis)
    ground_src = g.concat([g.cols(src, a, a + 1), g.cols(src, b, b + 1)])
    placed = g.add(g.rotate_ground(g.sub(ground_src, ground_b), turn_after), g.add(ground_exit, drift))
    goal_n = g.unsqueeze(goal, [1])                                                   # (N, 1, 3)
    goal_ground = g.concat([g.cols(goal_n, a, a + 1), g.cols(goal_n, b, b + 1)])
    miss = g.concat([g.sub(placed, goal_ground), g.sub(g.cols(src, sk.up_axis, sk.up_axis + 1),
                                                       g.cols(goal_n, sk.up_axis, sk.up_axis + 1))])
    distance = g.mul(g.squeeze(g.norm(miss), [-1]), g.const(pl.metres))
    distance = g.where(g.unsqueeze(active, [1]), distance, g.const(0.0))
    residual = g.sum(distance, 0, keepdims=False)
    # A root target's metre weighs at least planner.ROOT_RESIDUAL_WEIGHT.
    root_weight = g.maximum(residual_weight, g.const([planner.ROOT_RESIDUAL_WEIGHT]))
    weight = g.where(g.op("Equal", joint, g.ints(sk.root)), root_weight, residual_weight)   # (N,)
    weighted = g.sum(g.mul(distance, g.unsqueeze(weight, [1])), 0, keepdims=False)
    # The rate's cost per second played at it, up to the last target (at least one).
    seconds = g.div(g.maximum(g.sub(horizon, start_rel), g.const(0.0)), g.const(float(generator.fps)))
    rate_cost = g.mul(g.mul(g.op("Abs", g.op("Log", rate)), g.const(planner.RATE_WEIGHT * pl.typical_m)),
                      g.maximum(seconds, g.const(1.0)))
    cost = g.add(g.add(g.mul(rows["jump_cost"], g.const(planner.JUMP_WEIGHT)), rate_cost), weighted)
    usable = g.logical_and(valid, rows["usable"])
    return g.where(usable, cost, g.const(NEVER)), residual


# ------------------------------------------------------------------ the file


def metadata(generator, layout, start=0, max_targets=MAX_TARGETS, dtype=np.float32):
    """What a player needs besides the graphs (JSON in the step model's metadata_props
    ``motiondna``): the start cursor, the end-of-clip jump, the stream's timing."""
    pb, sk = generator.playback, generator.skeleton
    life = generator.half_life_s * generator.fps
    cursor = pb.start(start, life)
    rules = stream.Stream(generator, ik=False)   # the stream whose rules the player follows
    landing, cost = int(generator.jumps[-1, 0]), float(generator.jump_costs[-1, 0])
    if not np.isfinite(cost):
        landing = 0  # no jump from the clip's end: it starts over, as the walk does
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "dtype": np.dtype(dtype).name,
        "fps": generator.fps, "num_frames": generator.num_frames, "joints": list(sk.names), "root": sk.root,
        "up_axis": sk.up_axis, "cursor": layout.as_dict(), "start_frame": int(start),
        "start_cursor": pack_cursor(cursor, step_columns(generator.layout)).tolist(),
        "end_jump": {"position": landing, "half_life": float(generator.jump_half_lives([cost])[0])},
        "rate_reset_half_life": life,
        "max_targets": int(max_targets),
        "decide_every": rules._decide_every,
        "residual_weight": float(rules._residual_weight),
        "after_frames": int(rules._fade_frames),
        "walk_frames": max(int(stream.WALK_SECONDS * generator.fps), 2),
    }


def decide_path(path):
    """The planner model's path beside the step's: walk.onnx -> walk.decide.onnx."""
    root, ext = os.path.splitext(os.fspath(path))
    return f"{root}.decide{ext or '.onnx'}"


def export(generator, path, start=0, dtype=np.float32, max_targets=MAX_TARGETS):
    """Write the step model to ``path`` and the planner model beside it (``decide_path``);
    returns {"step", "decide": paths, "step_bytes", "decide_bytes"}."""
    step, layout = build_step(generator, dtype)
    decide, _ = build_decide(generator, dtype, max_targets)
    meta = {"motiondna": json.dumps(metadata(generator, layout, start, max_targets, dtype))}
    paths = {"step": os.fspath(path), "decide": decide_path(path)}
    for key, builder in (("step", step), ("decide", decide)):
        data = builder.model(meta).SerializeToString()
        atomic.write_bytes(paths[key], data)
    return {**paths, "step_bytes": os.path.getsize(paths["step"]), "decide_bytes": os.path.getsize(paths["decide"])}

