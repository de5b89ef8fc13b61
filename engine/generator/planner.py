"""Targets through the timeline: which moment of the clip plays when, and how fast, so
that a joint is where it is asked when it is asked.

A target "joint j at p at frame T" is met by the clip's own motion when the timeline
plays, at T, a source moment whose joint j is at p. At a decision the planner weighs
every plan of one transition: play on at a rate r (the clip a little faster or slower
until T), or play on to an exit within the next ``EXIT_SECONDS`` and jump there to a
landing of the motion graph, then play at a rate r. Each plan predicts where every
pending target's joint will be at its frame (the landing's motion carried on from where
the output stands: a jump keeps the root's heading and position and goes on with the
landing's steps) and costs

    JUMP_WEIGHT x jump cost + RATE_WEIGHT x |ln r| x the clip's typical motion x the
    seconds played at that rate + RESIDUAL_WEIGHT x the distance from each predicted
    joint to its target (m, span-scaled)

and the cheapest one is taken when it beats the current plan by ``SWITCH_MARGIN_M``
(no dithering between near-equal plans). Decisions repeat as the frames go by, so
a far target is reached by a sequence of jumps (the clip's own steps re-sequenced), and
a target revealed late by whatever transition is still possible. What a plan leaves is
closed by the refinement (offline) or the streaming IK.
"""
from dataclasses import dataclass

import numpy as np

from ..motion import features
from ..motion.metrics import metres_per_unit
from . import graph
from .playback import Transition

EXIT_SECONDS = 0.5         # how far ahead a jump may wait for its exit
MAX_EXITS = 16             # exits weighed per decision (spread over EXIT_SECONDS)
RATES = np.exp(np.linspace(np.log(0.7), np.log(1.4), 11))   # playback rates a plan may take
JUMP_WEIGHT = 1.0          # per metre of jump cost
RATE_WEIGHT = 1.0          # per unit |ln r| of the clip's typical motion, per second played at that rate
# Per metre of predicted distance to a target: what leaving it to the refinement costs. Its
# whole-body solve closes a limb's residual well (measured: a higher weight made ordinary
# edits' style worse than the refined source's); the root's it closes by sliding the body,
# and a stream's IK moves one chain only, so those weigh more.
RESIDUAL_WEIGHT = 0.5
ROOT_RESIDUAL_WEIGHT = 1.0
STREAM_RESIDUAL_WEIGHT = 1.0
TYPICAL_MOTION_SECONDS = 0.5  # the typical motion: joints' RMS displacement over this time
SWITCH_MARGIN_M = 0.01     # a new plan must be this much cheaper than the current one
LANDING_ROOM_SECONDS = 0.1  # a plan must leave the clip this much material after its target
MATCHED_FRAMES = 24        # moments of the clip matched to a target's place around the body
MATCHED_EXITS = 4          # exits from which a matched moment may be landed on


@dataclass
class PlanTarget:
    joint: int
    frame: int            # output frame
    position: np.ndarray  # (3,) skeleton units


@dataclass
class Plan:
    """One transition: at output frame ``frame``, play source ``position`` at ``rate``."""
    transition: Transition
    cost: float
    residual_m: float     # the predicted distance left to the targets (sum, m)


class Planner:
    def __init__(self, generator, playback):
        self.playback = playback
        self.jumps = generator.jumps
        self.jump_costs = generator.jump_costs
        self.tolerance = generator.tolerance
        self.fps = generator.fps
        self.positions = generator.enc.positions            # (F, J, 3) source world positions
        self.up = generator.skeleton.up_axis
        self.root = generator.skeleton.root
        self.metres = metres_per_unit(generator.skeleton, generator.source.translations)
        self.half_life = generator.half_life_s * generator.fps
        self.jump_half_lives = generator.jump_half_lives
        self.typical_m = self._typical_motion()
        self.room = max(1, int(round(LANDING_ROOM_SECONDS * self.fps)))
        lay = generator.layout
        self.root_columns = np.r_[np.arange(lay.vel.start, lay.vel.stop), lay.turn]   # ground step (2), turn
        self.root_states = generator.enc.states[:, self.root_columns]
        F, J = len(self.positions), generator.skeleton.num_joints
        # Joints around the root in its heading frame, up from the root: what a matched
        # landing looks for; the graph's matching features: what a jump costs.
        self.relative = generator.enc.states[:, lay.pos].reshape(F, J, 3)
        self.features = graph.matching_features(generator.enc, lay, generator.skeleton, generator.fps,
                                                generator.source.translations)

    def _typical_motion(self):
        P = self.positions * self.metres
        lag = max(1, int(round(TYPICAL_MOTION_SECONDS * self.fps)))
        if len(P) <= lag:
            return 0.0
        return float(np.median(np.sqrt(np.mean(np.sum((P[lag:] - P[:-lag]) ** 2, axis=-1), axis=1))))

    # ------------------------------------------------------------ predictions

    def _joint_at(self, positions, joints):
        """Source world positions (n, 3) of ``joints`` (n,) at fractional ``positions`` (n,)."""
        last = len(self.positions) - 1
        u = np.clip(positions, 0.0, last)
        lo = np.minimum(np.floor(u).astype(np.int64), max(last - 1, 0))
        w = (u - lo)[:, None]
        hi = np.minimum(lo + 1, last)
        return self.positions[lo, joints] * (1.0 - w) + self.positions[hi, joints] * w

    def _ground_pose(self, positions):
        last = len(self.positions) - 1
        u = np.clip(np.asarray(positions, float), 0.0, last)
        lo = np.minimum(np.floor(u).astype(np.int64), max(last - 1, 0))
        w = u - lo
        hi = np.minimum(lo + 1, last)
        pb = self.playback
        theta = pb.headings[lo] * (1.0 - w) + pb.headings[hi] * w
        ground = pb.ground[lo] * (1.0 - w)[:, None] + pb.ground[hi] * w[:, None]
        return theta, ground

    def _root_at(self, positions, rate):
        """The source root's ground step (n, 2) and turn (n,) at fractional positions, per
        output frame at ``rate``."""
        last = len(self.root_states) - 1
        u = np.clip(positions, 0.0, last)
        lo = np.minimum(np.floor(u).astype(np.int64), max(last - 1, 0))
        w = (u - lo)[:, None]
        hi = np.minimum(lo + 1, last)
        s = (self.root_states[lo] * (1.0 - w) + self.root_states[hi] * w) * np.asarray(rate, float)[:, None]
        return s

    def _spring_drift(self, exit_pos, start_pos, jumped, r, rate, jump_cost):
        """What each plan's transition spring adds to the root's heading (n,) and to its
        ground path (n, 2, in the landing's heading frame) once it has died out: the
        offset x0 a(n) on the step and turn channels (engine/generator/playback.py starts
        them with no velocity), summed over n."""
        n = len(exit_pos)
        old = self._root_at(exit_pos + r, np.full(n, r))      # what the old segment plays at the transition
        x0 = old - self._root_at(start_pos, rate)
        lives = np.where(jumped, self.jump_half_lives(jump_cost), self.half_life)
        y = 2.0 * np.log(2.0) / np.maximum(lives, 1e-6)
        q = np.exp(-y)
        a_sum = 1.0 / (1.0 - q) + y * q / (1.0 - q) ** 2      # sum over n of (1 + y n) q^n
        total = x0 * a_sum[:, None]
        return total[:, 2], total[:, :2]

    def _place(self, source_points, turn, pivot_source, pivot_output):
        """Source world points (n, 3) carried to the output: turned by ``turn`` (n,) about
        the up axis around ``pivot_source`` (n, 2), which lands on ``pivot_output`` (n, 2)."""
        a, b = features.ground_axes(self.up)
        g = np.stack([source_points[:, a], source_points[:, b]], axis=1) - pivot_source
        g = features.rotate_ground(g, turn) + pivot_output
        out = source_points.copy()
        out[:, a], out[:, b] = g[:, 0], g[:, 1]
        return out

    # ------------------------------------------------------------ decisions

    def candidates(self, cursor, targets):
        """Every plan of one transition from the cursor: (exit_after, landing, rate, jump
        cost) arrays. exit_after -1: no jump, a change of rate at the cursor's frame.
        Landings are the motion graph's, and the moments of the clip whose joint is where
        the first target asks (``_matched_landings``)."""
        t, u, r = cursor.frame, cursor.position, cursor.rate
        horizon = max(tg.frame for tg in targets) - t
        rows = [(np.full(len(RATES), -1), np.full(len(RATES), np.nan), RATES, np.zeros(len(RATES)))]
        n_exits = min(int(round(EXIT_SECONDS * self.fps)), horizon - 1)
        if n_exits >= 0:
            exits = np.unique(np.linspace(0, max(n_exits, 0), min(MAX_EXITS, n_exits + 1)).round().astype(np.int64))
            frames = np.floor(u + r * exits).astype(np.int64)
            ok = frames < len(self.jumps) - 1
            exits, frames = exits[ok], frames[ok]
            land, cost = self.jumps[frames], self.jump_costs[frames].astype(float)   # (E, K)
            good = np.isfinite(cost) & (cost <= self.tolerance * graph.REACH_TOLERANCES)
            e_idx, k_idx = np.nonzero(good)
            if len(e_idx):
                E = np.repeat(exits[e_idx], len(RATES))
                C = np.repeat(land[e_idx, k_idx].astype(float), len(RATES))
                R = np.tile(RATES, len(e_idx))
                J = np.repeat(cost[e_idx, k_idx], len(RATES))
                rows.append((E, C, R, J))
            rows.append(self._matched_landings(cursor, min(targets, key=lambda tg: tg.frame), exits))
        return tuple(np.concatenate(col) for col in zip(*rows))

    def _matched_landings(self, cursor, target, exits):
        """Jumps to the ``MATCHED_FRAMES`` moments of the clip whose joint is nearest where
        ``target`` asks it, relative to the body (as if the body plays on), each landed so
        that the moment plays at the target's frame; costed like the graph's jumps."""
        t, u, r = cursor.frame, cursor.position, cursor.rate
        exits = exits[np.linspace(0, len(exits) - 1, min(MATCHED_EXITS, len(exits))).round().astype(np.int64)]
        at = u + r * (target.frame - t)
        theta_now, ground_now = self._ground_pose([u - r])
        theta_at, ground_at = self._ground_pose([min(at, len(self.positions) - 1)])
        turn = cursor.theta - theta_now[0]
        root = features.rotate_ground(ground_at - ground_now, np.array([turn])) + cursor.ground
        heading = turn + theta_at[0]
        a, b = features.ground_axes(self.up)
        offset = np.asarray(target.position, float).copy()
        offset[a], offset[b] = offset[a] - root[0, 0], offset[b] - root[0, 1]
        g = features.rotate_ground(np.array([[offset[a], offset[b]]]), np.array([-heading]))[0]
        want = np.empty(3)
        want[a], want[b], want[self.up] = g[0], g[1], offset[self.up] - self._root_height(at)
        rel = self.relative[:, target.joint]
        # Stable: among equally near moments the earlier frames, on every CPU (and as the
        # ONNX planner's TopK takes them).
        moments = np.argsort(np.sum((rel - want) ** 2, axis=1), kind="stable")[:MATCHED_FRAMES]
        land = moments[None, :] - (target.frame - (t + exits[:, None] + 1))          # (E, M), at rate 1
        x = np.floor(u + r * exits).astype(np.int64)[:, None] + np.zeros_like(land)
        ok = (land >= 1) & (land < len(self.positions) - 1) & (x < len(self.positions) - 1)
        e_idx, m_idx = np.nonzero(ok)
        if not len(e_idx):
            return tuple(np.zeros(0) for _ in range(4))
        c, x = land[e_idx, m_idx], x[e_idx, m_idx]
        cost = np.sqrt(np.sum((self.features[x] - self.features[c - 1]) ** 2, axis=1))
        keep = cost <= self.tolerance * graph.REACH_TOLERANCES
        e_idx, c, cost = e_idx[keep], c[keep], cost[keep]
        n = len(RATES)
        return (np.repeat(exits[e_idx], n), np.repeat(c.astype(float), n), np.tile(RATES, len(c)), np.repeat(cost, n))

    def _root_height(self, position):
        last = len(self.positions) - 1
        u = float(np.clip(position, 0.0, last))
        lo = min(int(np.floor(u)), max(last - 1, 0))
        hi, w = min(lo + 1, last), u - lo
        return self.positions[lo, self.root, self.up] * (1.0 - w) + self.positions[hi, self.root, self.up] * w

    def plays_on(self, cursor, frame, after_frames=0):
        """True when the current segment has clip enough to play on to output ``frame``
        and ``after_frames`` more."""
        at = cursor.position + cursor.rate * (frame + after_frames - cursor.frame)
        return at <= len(self.positions) - 1 - self.room

    def decide(self, cursor, targets, current=None, residual_weight=RESIDUAL_WEIGHT, after_frames=0):
        """The plan to take now for ``targets`` (PlanTargets at frames after the cursor's),
        or None to play on as planned. ``current``: the Plan in force (its transition may
        lie ahead), weighed again against the new ones. ``residual_weight``: the cost of a
        metre left to whatever closes it after the timeline (a root target's is at least
        ``ROOT_RESIDUAL_WEIGHT``). ``after_frames``: how long the plan plays on past its
        last target (it must not run off the clip's end there either)."""
        targets = [tg for tg in targets if tg.frame >= cursor.frame]
        if not targets:
            return None
        exit_after, landing, rate, jump_cost = self.candidates(cursor, targets)
        # The incumbent: the pending jump of the plan in force, or playing on as now.
        pending = current is not None and current.transition.frame > cursor.frame
        if pending:
            tr = current.transition
            row = (tr.frame - cursor.frame - 1, tr.position, tr.rate, tr.cost)
        else:
            row = (-1, np.nan, cursor.rate, 0.0)
        exit_after, landing, rate, jump_cost = (np.append(a, v) for a, v in zip((exit_after, landing, rate, jump_cost), row))
        cost, residual, valid = self._score(cursor, targets, exit_after, landing, rate, jump_cost, residual_weight,
                                            after_frames)
        cost = np.where(valid, cost, np.inf)
        incumbent = len(cost) - 1
        best = int(np.argmin(cost))
        if not np.isfinite(cost[best]) or cost[best] > cost[incumbent] - SWITCH_MARGIN_M:
            return None
        return self._plan(cursor, exit_after[best], landing[best], rate[best], jump_cost[best], cost[best],
                          residual[best])

    def _plan(self, cursor, exit_after, landing, rate, jump_cost, cost, residual):
        if exit_after < 0:
            tr = Transition(cursor.frame, float(cursor.position), float(rate), self.half_life, 0.0)
        else:
            life = float(self.jump_half_lives([jump_cost])[0])
            tr = Transition(cursor.frame + int(exit_after) + 1, float(landing), float(rate), life, float(jump_cost))
        return Plan(tr, float(cost), float(residual))

    def _score(self, cursor, targets, exit_after, landing, rate, jump_cost, residual_weight=RESIDUAL_WEIGHT,
               after_frames=0):
        t, u, r = cursor.frame, cursor.position, cursor.rate
        n = len(exit_after)
        jumped = exit_after >= 0
        theta_now, ground_now = self._ground_pose([u - r])
        # Where each plan's segment starts: the exit's source position for a jump.
        exit_pos = np.where(jumped, u + r * np.maximum(exit_after, 0), u - r)
        start_frame = np.where(jumped, t + exit_after + 1, t)
        start_pos = np.where(jumped, landing, u)
        theta_x, ground_x = self._ground_pose(exit_pos)
        # The output root at the exit: the current output-from-source alignment carried on.
        turn_now = cursor.theta - theta_now[0]
        ground_exit = features.rotate_ground(ground_x - ground_now, np.full(n, turn_now)) + cursor.ground
        before_landing = np.where(jumped, start_pos - 1.0, exit_pos)
        theta_b, ground_b = self._ground_pose(before_landing)
        turn = turn_now + np.where(jumped, theta_x - theta_b, 0.0)
        # A transition's offset on the root's step and turn dies out over its spring, but
        # what it adds up to stays: the heading and the ground it shifts are carried on.
        drift_turn, drift_ground = self._spring_drift(exit_pos, start_pos, jumped, r, rate, jump_cost)
        turn_after = turn + drift_turn
        drift = features.rotate_ground(drift_ground, turn + theta_b)
        last = len(self.positions) - 1 - self.room
        valid = np.ones(n, dtype=bool)
        residual, weighted = np.zeros(n), np.zeros(n)
        for tg in targets:
            at = start_pos + rate * (tg.frame - start_frame)
            valid &= (at + rate * after_frames <= last) & (at >= 0) & (tg.frame >= start_frame)
            src = self._joint_at(at, np.full(n, tg.joint))
            pred = self._place(src, turn_after, ground_b, ground_exit + drift)
            left = np.linalg.norm(pred - tg.position, axis=1) * self.metres
            residual += left
            weighted += left * (max(residual_weight, ROOT_RESIDUAL_WEIGHT) if tg.joint == self.root else residual_weight)
        # A rate plays on until the last target: every second of it is motion the clip
        # does not have at that speed.
        seconds = np.maximum(max(tg.frame for tg in targets) - start_frame, 0) / self.fps
        off_rate = np.abs(np.log(rate)) * self.typical_m * np.maximum(seconds, 1.0)
        cost = JUMP_WEIGHT * jump_cost + RATE_WEIGHT * off_rate + weighted
        return cost, residual, valid
