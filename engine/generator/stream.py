"""Streaming: a generator stepped one frame at a time, steered by targets as they come.

    s = generator.stream(seed=0)
    s.set_targets([StreamTarget(joint, position, frame=s.frame + 20)])
    pose = s.step()          # Pose: local rotations (J, 4), translations (J, 3)

A stream knows only what has been set: with no target it plays the clip (``seed`` None:
from ``start`` to its end, then the walk of seed 0) or a seeded walk on the clip's motion
graph (engine/generator/graph.py), extended as it goes. A target at a frame ahead makes
the planner (engine/generator/planner.py) choose which moment of the clip plays then and
how fast; decisions repeat every ``DECIDE_SECONDS`` while it is pending. What the plan
leaves, the offline refinement closes, looked ahead over the frames the plan will play
(``_look_ahead``); after that the plan holds. A target with no frame holds "now and on":
a per-frame IK on the joint's chain closes it, faded in over ``IK_RAMP_SECONDS``.

Frames are rendered a stretch at a time (engine/generator/playback.py), so a step is
mostly an array lookup; a new target re-renders from the current frame, never the
frames already returned. ``BatchStream`` steps several characters together.
"""
from dataclasses import dataclass

import numpy as np

from ..motion import quat
from ..motion.skeleton import Motion
from ..motion.targets import Target
from ..refine import ik, refinement
from . import blend, graph
from .planner import RESIDUAL_WEIGHT, STREAM_RESIDUAL_WEIGHT, Plan, PlanTarget
from .playback import Transition

CHUNK_SECONDS = 0.5         # frames rendered at once while nothing is pending
DECIDE_SECONDS = 0.2
WALK_SECONDS = 30.0         # how much walk is drawn at once
IK_RAMP_SECONDS = 0.4       # a held target's IK fades in over this (and a jumping one glides over it)
FOLLOW_SPEED = 1.5          # body spans per second: a held target moved less per step is followed at once
REFINE_WINDOW_SECONDS = 0.5  # the look-ahead refinement's window, at most (as offline)
CARRY_HALF_LIFE_SECONDS = 0.08  # a replaced look-ahead's correction dies out with this half-life
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
class _Chunk:
    """Frames rendered at once: from step ``first``, the poses the stream returns, and
    what re-rendering them from their start needs (a new target mid-chunk)."""
    first: int
    rotations: np.ndarray
    translations: np.ndarray
    cursor_before: object
    transitions: list
    rendered: object = None    # the playback's frames before the IK (to reach them again)

    @property
    def stop(self):
        return self.first + len(self.rotations)


@dataclass
class Pose:
    rotations: np.ndarray      # (J, 4) local, or (B, J, 4) for a batch
    translations: np.ndarray   # (J, 3), or (B, J, 3)


class Stream:
    """One character stepped frame by frame (the module docstring); ``ik`` False: the
    timeline only, as offline generation uses it before its refinement."""

    def __init__(self, generator, seed=None, start=0, ik=True, decide_seconds=DECIDE_SECONDS):
        self.generator = generator
        self.skeleton = generator.skeleton
        self.seed = seed
        self.ik = bool(ik)
        self.playback = generator.playback
        self.planner = generator.planner
        self.fps = generator.fps
        self._decide_every = max(1, int(round(decide_seconds * self.fps)))
        # What the timeline leaves, this stream's IK closes (one chain), or offline the
        # whole-body refinement that follows (``ik`` False).
        self._residual_weight = STREAM_RESIDUAL_WEIGHT if self.ik else RESIDUAL_WEIGHT
        self._reach_tolerance = IK_TOLERANCE_M / generator.planner.metres
        self._lean = {}
        self._layer = None           # the refinement looked ahead: (first frame, rotations, translations, input)
        self._carry = None           # a replaced layer dying out: (first frame, rotation deltas and speed, translation deltas and speed)
        self._fade_frames = int(np.ceil((REFINE_WINDOW_SECONDS * refinement.BODY_WINDOW_SCALE
                                         + refinement.contacts.RELEASE_S) * self.fps)) + 2
        self.cursor = self.playback.start(start, generator.half_life_s * generator.fps)
        self._transitions = []
        self._known_until = 0      # the timeline is planned up to this frame
        self._walks = 0
        self._targets = []         # (StreamTarget, step it was set on)
        self._plan = None
        self._next_decision = 0
        self._chunk = None         # the _Chunk being stepped through
        self._glides = {}          # joint -> (position, step): a held target that jumped glides from there
        self._follow = None        # how far a held target may move in one step and be followed at once
        self._rotations, self._translations = [], []
        self.transitions = []      # every transition played: (frame, position, rate, cost)

    # ------------------------------------------------------------ public

    @property
    def frame(self):
        """Steps taken so far: the frame the next ``step`` returns."""
        return len(self._rotations)

    def set_targets(self, targets):
        """Replace the targets: StreamTargets whose frames are steps from now on (or None).

        A target on the joint and frame of one set before is that target moved: its IK
        fade goes on from when it was first set instead of starting again (a target
        that follows a moving object is given again every frame). A held target moved
        less than ``FOLLOW_SPEED`` allows in one step is followed at once; a longer jump
        glides there from where it was over ``IK_RAMP_SECONDS``. When only held targets
        change, the timeline and the look-ahead stand: only the IK of the frames
        rendered ahead is solved again."""
        targets = list(targets or ())
        for tg in targets:
            if not 0 <= tg.joint < self.skeleton.num_joints:
                raise ValueError(f"target joint index {tg.joint} is not in the skeleton")
            if tg.frame is not None and tg.frame < self.frame:
                raise ValueError(f"a target at step {tg.frame} is in the past (the stream is at step {self.frame})")
        set_on = {(tg.joint, tg.frame): step for tg, step in self._targets}
        replanned = _planned(targets) != _planned(tg for tg, _ in self._targets)
        self._glides = self._glides_after(targets)
        self._targets = [(tg, set_on.get((tg.joint, tg.frame), self.frame)) for tg in targets]
        if not replanned and self._chunk is not None and self._chunk.rendered is not None:
            self._reach_again()
            return
        self._rewind_to(self.frame)
        self._plan = None
        self._carry = self._correction_at(self.frame)
        self._layer = None
        self._next_decision = self.frame

    def step(self):
        """The next frame's Pose."""
        if self._chunk is None or self.frame >= self._chunk.stop:
            self._render_chunk()
        chunk = self._chunk
        k = self.frame - chunk.first
        self._rotations.append(chunk.rotations[k])
        self._translations.append(chunk.translations[k])
        return Pose(chunk.rotations[k], chunk.translations[k])

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
        plan = self.planner.decide(self.cursor, pending, current, self._residual_weight, self._fade_frames)
        # The plan holds on past its targets while their corrections fade out.
        until = last + 1 + self._fade_frames
        if plan is not None:
            self._plan = plan
            self._transitions = [plan.transition]
            self._known_until = until
            self._layer = None
        elif self._plan is None and self.planner.plays_on(self.cursor, last, self._fade_frames):
            # Playing on is the best plan: no jump of the walk may come before the targets.
            self._transitions = []
            self._known_until = until
            self._plan = _Playing()
            self._layer = None

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
        # Once the refinement has looked ahead the plan holds (a new plan would jump away
        # from the corrected frames); new targets plan again.
        if pending and t >= self._next_decision and self._layer is None:
            self._decide()
            self._next_decision = t + self._decide_every
        if t >= self._known_until:
            self._extend()   # the plan is played out (or none was possible): the walk goes on
        stop = min(t + max(1, int(round(CHUNK_SECONDS * self.fps))), self._known_until)
        if pending:
            stop = min(stop, self._next_decision)
        stop = max(stop, t + 1)
        if self.ik and pending and self._layer is None:
            self._layer = self._look_ahead(t, pending)
        before = self.cursor.copy()
        due = [tr for tr in self._transitions if tr.frame < stop]
        rendered = self.playback.render(self.cursor, stop - t, due)
        self._transitions = [tr for tr in self._transitions if tr.frame >= stop]
        self.transitions += [(tr.frame, tr.position, tr.rate, tr.cost) for tr in due]
        rotations, translations = self._reach(t, rendered) if self.ik else (rendered.rotations, rendered.translations)
        self._chunk = _Chunk(t, rotations, translations, before, due, rendered if self.ik else None)

    def _rewind_to(self, frame):
        """Drop what was rendered past ``frame`` (a new target changes it): the cursor goes
        back to the chunk's start and renders again up to ``frame``, exactly as before."""
        chunk, self._chunk = self._chunk, None
        if chunk is None or frame >= chunk.stop:
            return
        first, due = chunk.first, chunk.transitions
        self.cursor = chunk.cursor_before
        kept = [tr for tr in due if tr.frame < frame]
        self._transitions = sorted([tr for tr in due if tr.frame >= frame] + self._transitions,
                                   key=lambda tr: tr.frame)
        del self.transitions[len(self.transitions) - len(due):]
        self.transitions += [(tr.frame, tr.position, tr.rate, tr.cost) for tr in kept]
        if frame > first:
            self.playback.render(self.cursor, frame - first, kept)

    # ------------------------------------------------------------ reaching

    def _glides_after(self, targets):
        """The glides of the held targets in ``targets`` replacing the current ones: a
        jump starts one from where the joint's goal is now, a small move ends it."""
        if self._follow is None:
            self._follow = FOLLOW_SPEED * float(self.skeleton.span(self.generator.source.translations)) / self.fps
        now = np.array([self.frame])
        held = {tg.joint: tg for tg, _ in self._targets if tg.frame is None}
        glides = {}
        for tg in targets:
            if tg.frame is not None or tg.joint not in held:
                continue
            if tg.joint in self._glides and np.linalg.norm(tg.position - held[tg.joint].position) <= self._follow:
                glides[tg.joint] = self._glides[tg.joint]   # a small move while gliding: the glide goes on
                continue
            goal = self._held_goals(now, held[tg.joint])[0]
            if np.linalg.norm(tg.position - goal) > self._follow:
                glides[tg.joint] = (goal, self.frame)
        return glides

    def _held_goals(self, frames, target):
        """Where a held target asks its joint to be at each of ``frames`` (F, 3)."""
        goal = np.broadcast_to(target.position, (len(frames), 3))
        if target.joint not in self._glides:
            return goal
        origin, moved_on = self._glides[target.joint]
        x = np.clip((frames - moved_on + 1) / max(1.0, IK_RAMP_SECONDS * self.fps), 0.0, 1.0)
        return origin + (x * x * (3.0 - 2.0 * x))[:, None] * (goal - origin)

    def _reach_again(self):
        """The frames rendered ahead, from the current one, reached for the targets as
        they are now (the timeline and the look-ahead stand)."""
        chunk = self._chunk
        k = self.frame - chunk.first
        if k >= len(chunk.rotations):
            return
        rest = _Frames(chunk.rendered.rotations[k:], chunk.rendered.translations[k:])
        rots, trans = self._reach(self.frame, rest)
        chunk.rotations = np.concatenate([chunk.rotations[:k], rots])
        chunk.translations = np.concatenate([chunk.translations[:k], trans])

    def _hold_weights(self, frames, set_on):
        """IK weight per frame (0-1) of a target held from step ``set_on``: faded in."""
        x = np.clip((frames - set_on + 1) / max(1.0, IK_RAMP_SECONDS * self.fps), 0.0, 1.0)
        return x * x * (3.0 - 2.0 * x)

    def _look_ahead(self, t, pending):
        """The frames from ``t`` to the pending targets' fade-out as the plan plays them,
        through the offline refinement (whole body, feet locked) with the targets at their
        frames: the stream plays these frames while the plan holds. The fade fits the time
        left before the first target, so frame ``t`` is unchanged."""
        stop = min(self._known_until, max(p.frame for p in pending) + 1 + self._fade_frames)
        if stop <= t + 1:
            return None
        cursor = self.cursor.copy()
        ahead = self.playback.render(cursor, stop - t, [tr for tr in self._transitions if tr.frame < stop])
        rots, trans = self._carried(t, ahead.rotations, ahead.translations)
        self._carry = None
        motion = Motion(self.skeleton, rots, trans, self.fps, "look-ahead")
        lead_s = (min(p.frame for p in pending) - t) / self.fps
        window = float(np.clip(lead_s / refinement.BODY_WINDOW_SCALE - 2.0 / self.fps,
                               1.0 / self.fps, REFINE_WINDOW_SECONDS))
        targets = [Target(p.joint, [p.frame - t], p.position[None]) for p in pending if p.frame < stop]
        refined = refinement.refine_targets(motion, targets, window_s=window)
        return t, refined.rotations, refined.translations, ahead.rotations, ahead.translations

    def _correction_at(self, frame):
        """The look-ahead's correction at ``frame`` and how fast it was changing there (a
        replaced layer's, to die out from there): rotation deltas as scaled axes and
        translation deltas, each (J, 3), and their change per frame; None if none."""
        if self._layer is None:
            return None
        start, rot, trans, raw_rot, raw_trans = self._layer
        k = frame - start
        if not 0 <= k < len(rot):
            return None
        prev = max(k - 1, 0)
        d_rot = quat.to_scaled_axis(quat.inv_mul(raw_rot[[prev, k]], rot[[prev, k]]))
        d_trans = trans[[prev, k]] - raw_trans[[prev, k]]
        return frame, d_rot[1], d_rot[1] - d_rot[0], d_trans[1], d_trans[1] - d_trans[0]

    def _carried(self, first, rots, trans):
        """``rots``/``trans`` of frames from ``first`` with the replaced layer's correction
        dying out as a critically damped spring from its value and its speed where it was
        left (no jump in pose or velocity at a new target)."""
        if self._carry is None:
            return rots, trans
        start, d_rot, v_rot, d_trans, v_trans = self._carry
        life = CARRY_HALF_LIFE_SECONDS * self.fps
        n = np.arange(first, first + len(rots)) - start
        live = n < blend.spring_frames(life)
        if not live.any():
            return rots, trans
        a, b = blend.spring_curves(blend.spring_frames(life), life)
        k = n[live]
        rots, trans = rots.copy(), trans.copy()
        axis = a[k, None, None] * d_rot + b[k, None, None] * v_rot
        rots[live] = quat.mul(rots[live], quat.from_scaled_axis(axis))
        trans[live] += a[k, None, None] * d_trans + b[k, None, None] * v_trans
        return rots, trans

    def _reach(self, first, rendered):
        """The chunk's rotations and translations: the look-ahead's where it covers them,
        and the per-frame IK for targets held "now and on"."""
        rots, trans = self._carried(first, rendered.rotations, rendered.translations)
        if self._layer is not None:
            start, layer_rot, layer_trans = self._layer[:3]
            lo, hi = max(first, start), min(first + len(rots), start + len(layer_rot))
            if lo < hi:
                rots, trans = rots.copy(), trans.copy()
                rots[lo - first:hi - first] = layer_rot[lo - start:hi - start]
                trans[lo - first:hi - first] = layer_trans[lo - start:hi - start]
        held = [(tg, on) for tg, on in self._targets if tg.frame is None]
        if not held:
            return rots, trans
        frames = first + np.arange(len(rots))
        rots, trans = rots.copy(), trans.copy()
        for target, set_on in held:
            w = self._hold_weights(frames, set_on)
            on = np.flatnonzero(w > 0)
            if not len(on):
                continue
            j, goals = target.joint, self._held_goals(frames[on], target)
            if j == self.skeleton.root or self.skeleton.parents[j] < 0:
                here = trans[on, j]
                trans[on, j] = here + w[on, None] * (goals - here)
                continue
            rots[on] = self._solve(rots[on], trans[on], j, goals, w[on])
        return rots, trans

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
    """The plan "play on as the clip goes" (no transition): the walk's jumps are dropped
    until the targets have passed."""


@dataclass
class _Frames:
    """Rotations and translations of some frames (what ``_reach`` reads of a render)."""
    rotations: np.ndarray
    translations: np.ndarray


def _planned(targets):
    """What the timeline is planned for: the targets with a frame, as comparable values."""
    return sorted((tg.joint, tg.frame, tuple(tg.position)) for tg in targets if tg.frame is not None)


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
