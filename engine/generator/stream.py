"""Streaming: a generator stepped one frame at a time, steered by targets as they come.

    s = generator.stream(seed=0)
    s.set_targets([StreamTarget(joint, position, frame=s.frame + 20)])
    pose = s.step()          # Pose: local rotations (J, 4), translations (J, 3)

A stream knows only what has been set: with no target it plays the clip (``seed`` None:
from ``start`` to its end, then the walk of seed 0) or a seeded walk on the clip's motion
graph (engine/generator/graph.py), extended as it goes. A target at a frame ahead makes
the planner (engine/generator/planner.py) choose which moment of the clip plays then and
how fast; decisions repeat every ``DECIDE_SECONDS`` while it is pending. A target with
no frame holds "now and on". What the timeline leaves, a per-frame IK on the joint's
chain closes, faded in from when the target was set (at most ``IK_RAMP_SECONDS`` before
its frame) and out after it.

Frames are rendered a stretch at a time (engine/generator/playback.py), so a step is
mostly an array lookup; a new target re-renders from the current frame, never the
frames already returned. ``BatchStream`` steps several characters together.
"""
from dataclasses import dataclass

import numpy as np

from ..motion.skeleton import Motion
from ..refine import ik
from . import graph
from .planner import RESIDUAL_WEIGHT, STREAM_RESIDUAL_WEIGHT, Plan, PlanTarget
from .playback import Transition

CHUNK_SECONDS = 0.5         # frames rendered at once while nothing is pending
DECIDE_SECONDS = 0.2
WALK_SECONDS = 30.0         # how much walk is drawn at once
IK_RAMP_SECONDS = 0.4       # the IK fades in over at most this before a target's frame, and out after
IK_ITERATIONS = 12
IK_TOLERANCE_M = 0.002      # the two-bone solve is done when the joint is this close
LEAN_WEIGHT = 0.25          # per body joint above the limb, relative to the limb's main bones


@dataclass
class StreamTarget:
    """``joint`` at ``position`` (skeleton units) at step ``frame``; ``frame`` None: from
    the step it is set on, until it is replaced."""
    joint: int
    position: np.ndarray
    frame: int = None

    def __post_init__(self):
        self.joint = int(self.joint)
        self.position = np.asarray(self.position, dtype=np.float64).reshape(3)
        if not np.all(np.isfinite(self.position)):
            raise ValueError("a stream target's position is NaN or infinite")
        if self.frame is not None:
            if isinstance(self.frame, bool) or not float(self.frame).is_integer():
                raise ValueError(f"a stream target's frame is a whole step number, not {self.frame!r}")
            self.frame = int(self.frame)


@dataclass
class Pose:
    rotations: np.ndarray      # (J, 4) local, or (B, J, 4) for a batch
    translations: np.ndarray   # (J, 3), or (B, J, 3)


class Stream:
    def __init__(self, generator, seed=None, start=0, ik=True):
        self.generator = generator
        self.skeleton = generator.skeleton
        self.seed = seed
        self.ik = bool(ik)
        self.playback = generator.playback
        self.planner = generator.planner
        self.fps = generator.fps
        # What the timeline leaves, this stream's IK closes (one chain), or offline the
        # whole-body refinement that follows (``ik`` False).
        self._residual_weight = STREAM_RESIDUAL_WEIGHT if self.ik else RESIDUAL_WEIGHT
        self._reach_tolerance = IK_TOLERANCE_M / generator.planner.metres
        self._lean = {}
        self.cursor = self.playback.start(start, generator.half_life_s * generator.fps)
        self._transitions = []
        self._known_until = 0      # the timeline is planned up to this frame
        self._walks = 0
        self._targets = []         # (StreamTarget, step it was set on)
        self._plan = None
        self._next_decision = 0
        self._chunk = None         # (first frame, Rendered, rotations after IK, cursor before it)
        self._rotations, self._translations = [], []
        self.transitions = []      # every transition played: (frame, position, rate, cost)

    # ------------------------------------------------------------ public

    @property
    def frame(self):
        """Steps taken so far: the frame the next ``step`` returns."""
        return len(self._rotations)

    def set_targets(self, targets):
        """Replace the targets: StreamTargets whose frames are steps from now on (or None)."""
        targets = list(targets or ())
        for tg in targets:
            if not 0 <= tg.joint < self.skeleton.num_joints:
                raise ValueError(f"target joint index {tg.joint} is not in the skeleton")
            if tg.frame is not None and tg.frame < self.frame:
                raise ValueError(f"a target at step {tg.frame} is in the past (the stream is at step {self.frame})")
        self._rewind_to(self.frame)
        self._targets = [(tg, self.frame) for tg in targets]
        self._plan = None
        self._next_decision = self.frame

    def step(self):
        """The next frame's Pose."""
        if self._chunk is None or self.frame >= self._chunk[0] + len(self._chunk[2]):
            self._render_chunk()
        first, rendered, rotations = self._chunk[:3]
        k = self.frame - first
        self._rotations.append(rotations[k])
        self._translations.append(rendered.translations[k])
        return Pose(rotations[k], rendered.translations[k])

    def steps(self, count):
        """The next ``count`` frames as a Motion."""
        start = self.frame
        for _ in range(int(count)):
            self.step()
        return self.motion(start)

    def motion(self, start=0):
        """A Motion of the frames stepped so far (from step ``start``)."""
        if self.frame <= start:
            raise ValueError("no frames have been stepped yet")
        return Motion(self.skeleton, np.stack(self._rotations[start:]), np.stack(self._translations[start:]),
                      self.fps, "stream")

    # ------------------------------------------------------------ timeline

    def _pending(self, frame):
        return [PlanTarget(tg.joint, tg.frame, tg.position) for tg, _ in self._targets
                if tg.frame is not None and tg.frame >= frame]

    def _decide(self):
        t = self.cursor.frame
        pending = self._pending(t)
        if not pending:
            return
        last = max(p.frame for p in pending)
        current = self._plan if isinstance(self._plan, Plan) else None
        plan = self.planner.decide(self.cursor, pending, current, self._residual_weight)
        if plan is not None:
            self._plan = plan
            self._transitions = [plan.transition]
            self._known_until = plan.until + 1
        elif self._plan is None and self.planner.plays_on(self.cursor, last):
            # Playing on is the best plan: no jump of the walk may come before the targets.
            self._transitions = []
            self._known_until = last + 1
            self._plan = _Playing(last)

    def _extend(self):
        """Draw the walk on from the cursor: back to the clip's own speed, then the
        clip (seed None) or the seeded walk."""
        cur, gen = self.cursor, self.generator
        t, F = cur.frame, gen.num_frames
        start = int(np.clip(round(cur.position), 0, F - 1))
        if cur.rate != 1.0 or abs(cur.position - start) > 1e-9:
            self._transitions.append(Transition(t, float(start), 1.0, gen.half_life_s * gen.fps))
        frames = max(int(WALK_SECONDS * gen.fps), 2)
        if self._walks == 0:  # the first walk is the generator's own timeline of that seed
            idx, jumps, costs = gen.timeline(frames, self.seed, start)
        else:
            first = F - start if self.seed is None else None  # seed None: the clip plays on to its end
            seed = (0 if self.seed is None else int(self.seed)) * 1_000_003 + self._walks
            idx, jumps, costs = graph.random_walk(gen.jumps, gen.jump_costs, gen.tolerance, gen.fps, frames, seed,
                                                  start, gen.mean_stretch_s, first_stretch=first)
        lives = gen.jump_half_lives(costs) if len(costs) else []
        self._transitions += [Transition(t + int(k), float(idx[k]), 1.0, float(life), float(c))
                              for k, life, c in zip(jumps, lives, costs)]
        self._known_until = t + frames
        self._walks += 1
        self._plan = None

    def _render_chunk(self):
        t = self.cursor.frame
        pending = self._pending(t)
        if pending and t >= self._next_decision:
            self._decide()
            self._next_decision = t + max(1, int(round(DECIDE_SECONDS * self.fps)))
        if t >= self._known_until:
            self._extend()   # the plan is played out (or none was possible): the walk goes on
        stop = min(t + max(1, int(round(CHUNK_SECONDS * self.fps))), self._known_until)
        if pending:
            stop = min(stop, self._next_decision)
        stop = max(stop, t + 1)
        before = self.cursor.copy()
        due = [tr for tr in self._transitions if tr.frame < stop]
        rendered = self.playback.render(self.cursor, stop - t, due)
        self._transitions = [tr for tr in self._transitions if tr.frame >= stop]
        self.transitions += [(tr.frame, tr.position, tr.rate, tr.cost) for tr in due]
        rotations = self._reach(t, rendered) if self.ik else rendered.rotations
        self._chunk = (t, rendered, rotations, before, due)

    def _rewind_to(self, frame):
        """Drop what was rendered past ``frame`` (a new target changes it): the cursor goes
        back to the chunk's start and renders again up to ``frame``, exactly as before."""
        if self._chunk is None:
            return
        first, _, rotations, before, due = self._chunk
        self._chunk = None
        if frame >= first + len(rotations):
            return
        self.cursor = before
        kept = [tr for tr in due if tr.frame < frame]
        self._transitions = sorted([tr for tr in due if tr.frame >= frame] + self._transitions,
                                   key=lambda tr: tr.frame)
        del self.transitions[len(self.transitions) - len(due):]
        self.transitions += [(tr.frame, tr.position, tr.rate, tr.cost) for tr in kept]
        if frame > first:
            self.playback.render(self.cursor, frame - first, kept)

    # ------------------------------------------------------------ reaching

    def _weights(self, frames, target, set_on):
        """IK weight per frame (0-1) of one target."""
        ramp = max(1.0, IK_RAMP_SECONDS * self.fps)
        if target.frame is None:
            x = (frames - set_on + 1) / ramp
        else:
            lead = max(1.0, min(ramp, target.frame - set_on + 1))
            x = np.where(frames <= target.frame, 1.0 - (target.frame - frames) / lead,
                         1.0 - (frames - target.frame) / ramp)
        x = np.clip(x, 0.0, 1.0)
        return x * x * (3.0 - 2.0 * x)

    def _reach(self, first, rendered):
        if not self._targets:
            return rendered.rotations
        frames = first + np.arange(len(rendered.rotations))
        rots, trans = rendered.rotations.copy(), rendered.translations
        for target, set_on in self._targets:
            w = self._weights(frames, target, set_on)
            if not np.any(w > 0):
                continue
            on = np.flatnonzero(w > 0)
            j = target.joint
            if j == self.skeleton.root or self.skeleton.parents[j] < 0:
                here = trans[on, j]
                trans[on, j] = here + w[on, None] * (target.position - here)
                continue
            rots[on] = self._solve(rots[on], trans[on], j, target.position, w[on])
        return rots

    def _solve(self, rots, trans, joint, position, weight):
        """Rotations that take ``joint`` ``weight`` of the way to ``position``: the limb's
        two main bones analytically; where that falls short (out of the limb's reach), the
        chain with the body above it leaning (DLS, the spine joints weighted less)."""
        sk, chain = self.skeleton, self.generator.chain_of(joint)
        here = ik.effector_position(sk, rots, trans, joint)
        goal = here + weight[:, None] * (position - here)
        short = np.ones(len(rots), dtype=bool)
        if len(chain) >= 2:
            rots = ik.two_bone(sk, rots, trans, joint, goal, chain[0], chain[1])
            short = np.linalg.norm(ik.effector_position(sk, rots, trans, joint) - goal, axis=1) > self._reach_tolerance
        if short.any():
            lean, weights = self._lean_chain(joint)
            rots[short], _ = ik.solve_chain(sk, rots[short], trans[short], joint, goal[short], lean,
                                            iterations=IK_ITERATIONS, weights=weights)
        return rots

    def _lean_chain(self, joint):
        """The joint's limb chain and the body above it up to the root (child first), with
        DLS weights: the limb's, then ``LEAN_WEIGHT`` per body joint."""
        if joint not in self._lean:
            sk, chain = self.skeleton, list(self.generator.chain_of(joint))
            top = chain[-1] if chain else joint
            body = [j for j in sk.chain(int(sk.parents[top]))[:-1]] if sk.parents[top] >= 0 else []
            weights = np.concatenate([ik.default_weights(len(chain)), np.full(len(body), LEAN_WEIGHT)])
            self._lean[joint] = (chain + body, weights)
        return self._lean[joint]


class _Playing:
    """The plan "play on as the clip goes" (no transition) chosen for targets up to ``until``."""

    def __init__(self, until):
        self.until = until
        self.transition = Transition(-1, 0.0)


class BatchStream:
    """``count`` streams stepped together (a crowd): seeds ``seed``, ``seed`` + 1, ...;
    ``step`` returns a Pose of (B, J, 4) rotations and (B, J, 3) translations."""

    def __init__(self, generator, count, seed=None, start=0, ik=True):
        if isinstance(count, bool) or not float(count).is_integer() or count < 1:
            raise ValueError(f"a batch is a whole number of at least 1 character, not {count!r}")
        base = 0 if seed is None else int(seed)
        self.streams = [Stream(generator, None if seed is None and b == 0 else base + b, start, ik)
                        for b in range(int(count))]

    @property
    def frame(self):
        return self.streams[0].frame

    def set_targets(self, targets):
        """One list of StreamTargets per character (None: leave that one's as they are)."""
        if len(targets) != len(self.streams):
            raise ValueError(f"set_targets needs one list per character ({len(self.streams)}), not {len(targets)}")
        for s, tg in zip(self.streams, targets):
            if tg is not None:
                s.set_targets(tg)

    def step(self):
        poses = [s.step() for s in self.streams]
        return Pose(np.stack([p.rotations for p in poses]), np.stack([p.translations for p in poses]))
