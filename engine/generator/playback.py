"""Playback: the output states of a timeline of segments, rendered a stretch at a time.

A *segment* plays the clip from a source position (in frames, fractional) at a rate (source
frames per output frame): 1 is the clip's own speed, 1.2 a fifth faster. A *transition*
starts a new segment at an output frame: a jump elsewhere in the clip, a change of rate,
or both. Through a transition the output stays continuous in pose and velocity: an
offset, the difference between where the old segment was going and where the new one
starts, dies out as a critically damped spring (Bollo 2016, *Inertialization*; the
offset is reset at each transition from the output itself, as in Holden's
Motion-Matching code, so transitions may follow each other at any pace).

``Cursor`` holds where a playback stands (the last frame's state and velocity, the
root's heading and ground position, the current segment and its spring); ``render``
advances it by any number of frames, vectorised within each segment. The streaming
runtime and the offline generation with targets both render through it.
"""
from dataclasses import dataclass, replace

import numpy as np

from ..motion import features
from . import blend


@dataclass(frozen=True)
class Transition:
    frame: int            # output frame where the new segment starts
    position: float       # source position it plays there (frames)
    rate: float = 1.0     # source frames per output frame from there on
    half_life: float = 1.0  # frames: how fast the offset from the old segment dies out
    cost: float = 0.0     # the jump's cost (m), for reports


@dataclass
class Cursor:
    frame: int                 # the next output frame to render
    position: float            # the source position that frame plays, in the current segment
    rate: float
    last_state: np.ndarray     # (D,) the output state of frame - 1
    last_velocity: np.ndarray  # (D,) its change from frame - 2
    theta: float               # the root's heading at frame - 1
    ground: np.ndarray         # (2,) its ground position at frame - 1
    spring_x: np.ndarray       # (D,) the offset at the current segment's start ...
    spring_v: np.ndarray       # ... and its velocity
    since: int                 # frames since the current segment started
    half_life: float
    last_rotations: np.ndarray  # (J, 4) frame - 1's rotations (sign continuity)

    def copy(self):
        return replace(self, last_state=self.last_state.copy(), last_velocity=self.last_velocity.copy(),
                       ground=self.ground.copy(), spring_x=self.spring_x.copy(), spring_v=self.spring_v.copy(),
                       last_rotations=self.last_rotations.copy())


@dataclass
class Rendered:
    """Frames a render produced: states (n, D), source positions and rates (n,), root
    heading (n,) and ground position (n, 2), rotations (n, J, 4), translations (n, J, 3)."""
    states: np.ndarray
    positions: np.ndarray
    rates: np.ndarray
    theta: np.ndarray
    ground: np.ndarray
    rotations: np.ndarray
    translations: np.ndarray


class Playback:
    """The clip's states and what decoding them needs, shared by every cursor."""

    def __init__(self, generator):
        self.base = generator.enc.states
        self.layout = generator.layout
        self.skeleton = generator.skeleton
        self.headings = generator.enc.headings
        self.ground = generator.enc.ground
        self.source_rotations = generator.source.rotations
        self.joint_translations = generator.source.translations[0]
        self.fps = generator.fps
        self.last = len(self.base) - 1
        self._rate_columns = np.zeros(self.layout.size)
        self._rate_columns[self.layout.vel] = 1.0
        self._rate_columns[self.layout.turn] = 1.0

    # ------------------------------------------------------------ source sampling

    def states_at(self, positions, rates):
        """Source states at fractional positions (n,), the root's per-frame ground step
        and turn scaled by the rate (a faster playback covers more ground per frame)."""
        u = np.clip(np.asarray(positions, float), 0.0, self.last)
        lo = np.minimum(np.floor(u).astype(np.int64), max(self.last - 1, 0))
        w = (u - lo)[:, None]
        hi = np.minimum(lo + 1, self.last)
        s = self.base[lo] * (1.0 - w) + self.base[hi] * w
        scale = 1.0 + (np.asarray(rates, float)[:, None] - 1.0) * self._rate_columns
        return s * scale

    def heading_ground_at(self, position):
        """The source root's heading and ground position at a fractional position."""
        u = float(np.clip(position, 0.0, self.last))
        lo = min(int(np.floor(u)), max(self.last - 1, 0))
        hi, w = min(lo + 1, self.last), u - lo
        theta = self.headings[lo] * (1.0 - w) + self.headings[hi] * w
        return float(theta), self.ground[lo] * (1.0 - w) + self.ground[hi] * w

    # ------------------------------------------------------------ cursors

    def start(self, position, half_life):
        """A cursor about to play source ``position`` as output frame 0."""
        u = float(position)
        s0 = self.states_at([u], [1.0])[0]
        prev = self.states_at([max(u - 1.0, 0.0)], [1.0])[0]
        theta, ground = self.heading_ground_at(u)
        # Frame -1 is where the clip was a frame before: frame 0 then integrates to the
        # source's own root, and the first transition sees the clip's own velocity.
        D = self.layout.size
        cur = Cursor(0, u, 1.0, prev, s0 - prev, theta, ground, np.zeros(D), np.zeros(D), 0, float(half_life),
                     self.source_rotations[int(round(u))].copy())
        cur.theta, cur.ground = self._root_before(s0, theta, ground)
        return cur

    def _root_before(self, state, theta, ground):
        """Heading and ground one frame before a frame with ``state`` at (theta, ground)."""
        lay = self.layout
        back = theta - state[lay.turn]
        step = features.rotate_ground(state[lay.vel][None], np.array([back]))[0]
        return float(back), np.asarray(ground, float) - step

    def transition(self, cursor, tr):
        """Start segment ``tr`` at the cursor's frame: the offset keeps the output where the
        old segment was going, with its velocity."""
        old = self._segment_states(cursor, 1)[0]
        u, r = float(tr.position), float(tr.rate)
        new = self.states_at([u, u - r], [r, r])
        cursor.spring_x = old - new[0]
        cursor.spring_v = (old - cursor.last_state) - (new[0] - new[1])
        # The root's step and turn are velocities already: their offset starts at the
        # change of speed and turn alone. Carrying their change of *acceleration* too would
        # add up, over the spring, to a heading and a path the clip never took.
        cursor.spring_v[self._rate_columns > 0] = 0.0
        cursor.position, cursor.rate, cursor.since, cursor.half_life = u, r, 0, float(tr.half_life)

    def _segment_states(self, cursor, count):
        n = np.arange(count)
        u = cursor.position + cursor.rate * n
        s = self.states_at(u, np.full(count, cursor.rate))
        since = cursor.since + n
        frames = blend.spring_frames(cursor.half_life)
        live = since < frames
        if live.any() and (np.any(cursor.spring_x) or np.any(cursor.spring_v)):
            a, b = blend.spring_curves(frames, cursor.half_life)
            k = since[live]
            s[live] += a[k, None] * cursor.spring_x + b[k, None] * cursor.spring_v
        return s

    def render(self, cursor, count, transitions=()):
        """Advance ``cursor`` (in place) by ``count`` frames, starting each transition whose
        frame comes up; returns the Rendered frames."""
        parts, t, end = [], cursor.frame, cursor.frame + int(count)
        pending = sorted((tr for tr in transitions if t <= tr.frame < end), key=lambda tr: tr.frame)
        while t < end:
            if pending and pending[0].frame == t:
                self.transition(cursor, pending.pop(0))
            stop = pending[0].frame if pending else end
            n = stop - t
            s = self._segment_states(cursor, n)
            u = cursor.position + cursor.rate * np.arange(n)
            parts.append((s, u, np.full(n, cursor.rate)))
            cursor.last_velocity = s[-1] - (s[-2] if n > 1 else cursor.last_state)
            cursor.last_state = s[-1]
            cursor.position += cursor.rate * n
            cursor.since += n
            t = stop
        cursor.frame = end
        states = np.concatenate([p[0] for p in parts])
        positions = np.concatenate([p[1] for p in parts])
        rates = np.concatenate([p[2] for p in parts])
        return self._decode(cursor, states, positions, rates)

    def _decode(self, cursor, states, positions, rates):
        lay, sk = self.layout, self.skeleton
        turn = states[:, lay.turn]
        theta = cursor.theta + np.cumsum(turn)
        before = np.concatenate([[cursor.theta], theta[:-1]])
        steps = features.rotate_ground(states[:, lay.vel], before)
        ground = cursor.ground + np.cumsum(steps, axis=0)
        n, J = len(states), sk.num_joints
        exact = (np.abs(positions - np.round(positions)) < 1e-9) & (rates == 1.0)
        six = states[:, lay.rot].reshape(n, J, 6)
        frames = np.clip(np.round(positions).astype(np.int64), 0, self.last)
        replayed = exact[:, None] & np.all(np.abs(six - self.base[frames, lay.rot].reshape(n, J, 6)) < 1e-12, axis=2)
        motion = features.decode_states(states, lay, sk, None, None, self.joint_translations, self.fps,
                                        known=(self.source_rotations[frames], replayed), root_path=(theta, ground))
        rots, trans = motion.rotations, motion.translations
        rots[:, np.sum(rots[0] * cursor.last_rotations, axis=-1) < 0] *= -1.0   # sign continuity with the last frame
        cursor.theta, cursor.ground, cursor.last_rotations = float(theta[-1]), ground[-1].copy(), rots[-1].copy()
        return Rendered(states, positions, rates, theta, ground, rots, trans)
