"""Torch-free runtime: load a ``.mdna`` generator and generate motion with numpy.

``Generator.generate`` builds the output in three vectorised steps:

1. timeline: which source frame plays at each output frame. Without a seed it is the
   clip itself (an edit: the source, frame for frame; past the clip's end the walk of
   seed 0 goes on); with a seed, a random walk on the clip's motion graph
   (engine/generator/graph.py): other orders, repetitions and transitions of the clip's
   own material, any length;
2. states: the exact source states along the timeline, with inertialization offsets that
   hide each jump (engine/generator/blend.py), and optional seams toward a given end pose
   or, for a loop, toward the first frame; decoded to a Motion (engine/motion/features.py),
   the feet kept planted and above the floor through the blends (engine/refine/planting.py);
3. refine: for each target, an IK correction (engine/refine/) at its frames, blended in
   and out over ``refine_window_s``; frames outside every target's window are untouched.
"""
import os

import numpy as np

from ..export import onnx_step
from ..io import generator_file
from ..motion import features
from ..motion.skeleton import Motion, Skeleton
from ..refine import ik
from ..refine.planting import FootPlanter
from ..refine.refinement import refine_targets
from . import blend, graph
from .planner import Planner
from .playback import Playback
from .stream import BatchStream, Stream, StreamTarget

# The longest output: its states take T x (9 J + 4) doubles (200,000 frames of a 100-joint
# rig: 1.4 GB), about 1.9 hours at 30 fps.
MAX_FRAMES = 200_000
# Offline, a target is known from the start, but the planner weighs it from this long
# before its frame: the timeline changes near the target, not from the first frame.
PLAN_LEAD_SECONDS = 5.0
PLAN_DECIDE_SECONDS = 0.5   # offline, the planner looks again this often (a stream: stream.DECIDE_SECONDS)


class Generator:
    def __init__(self, arrays, meta):
        self.meta = meta
        self.skeleton = Skeleton.from_dict(meta["skeleton"])
        self.fps = float(meta["fps"])
        self.num_frames = int(meta["num_frames"])
        lay = meta["layout"]
        self.layout = features.Layout(int(lay["num_joints"]), tuple(lay.get("moving", ())))
        self.source = self._source_motion(arrays)
        self.enc = features.encode(self.source, arrays["forward_local"], self.layout)
        self.jumps = np.asarray(arrays["jumps"], dtype=np.int64)
        self.jump_costs = np.asarray(arrays["jump_costs"], dtype=np.float64)
        g = meta["graph"]
        self.tolerance = float(g["tolerance"])
        self.half_life_s = float(g["half_life_s"])
        self.mean_stretch_s = float(g["mean_stretch_s"])
        self._planter = None
        self._playback = self._planner = None
        self._chains = {}

    @classmethod
    def load(cls, path):
        """The generator in a ``.mdna`` file; FormatError (a ValueError) naming the file
        when it cannot be played."""
        arrays, meta = generator_file.load(path)
        try:
            return cls(arrays, meta)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
            # Metadata that passed the file checks but does not fit together (a crafted file).
            name = os.path.basename(os.fspath(path))
            raise generator_file.fileformat.FormatError(
                f"{name}: inconsistent generator file ({type(e).__name__}: {e}); rebuild it") from None

    def _source_motion(self, arrays):
        F = self.num_frames
        trans = np.broadcast_to(np.asarray(arrays["joint_translations"], float), (F, self.skeleton.num_joints, 3)).copy()
        carried = [self.skeleton.root] + list(self.layout.moving)
        trans[:, carried] = arrays["clip_translations"]
        rots = np.asarray(arrays["clip_rotations"], dtype=np.float64)
        return Motion(self.skeleton, rots, trans, self.fps, self.meta.get("source_name", "source"))

    # ------------------------------------------------------------ timeline

    def timeline(self, num_frames, seed=None, start=0):
        """Source frame per output frame (T,), the output frames where it jumps, and the
        jumps' costs (m). ``seed`` None: the clip as it is, then the walk of seed 0."""
        F, start = self.num_frames, int(start) % self.num_frames
        if seed is None and start + num_frames <= F:
            return np.arange(start, start + num_frames), [], []
        return graph.random_walk(self.jumps, self.jump_costs, self.tolerance, self.fps, num_frames,
                                 0 if seed is None else int(seed), start, self.mean_stretch_s,
                                 first_stretch=F - start if seed is None else None)

    def jump_half_lives(self, costs):
        """Frames per jump: a dearer jump (toward material the walk lacks) blends longer."""
        ratio = np.clip(np.asarray(costs, float) / max(self.tolerance, 1e-12), 1.0, graph.REACH_TOLERANCES)
        return self.half_life_s * self.fps * ratio

    # ------------------------------------------------------------ generation

    def generate(self, targets=(), num_frames=None, start=None, seed=None, loop=False, end_frame=None,
                 refine=True, refine_window_s=0.5, progress=None, plan=True):
        """The clip (``seed`` None) or a variation (an int ``seed``) of ``num_frames`` frames
        (default: the clip's length) under ``targets``; returns a Motion.

        ``start``: the source frame output frame 0 plays (default 0: the clip's first pose).
        ``loop``: the last frame flows into the first (a cycle for games);
        ``end_frame``: the last frame settles into that source frame's pose instead.
        ``progress(fraction)``: called as the refinement, the part whose time grows with
        the targets, solves each group of them (fraction 0-1).
        ``plan``: targets of one frame steer the timeline (engine/generator/planner.py:
        which moment of the clip plays when, and how fast) before the refinement; False:
        the timeline ignores them and the refinement alone reaches them.
        """
        T = self.num_frames if num_frames is None else num_frames
        if not _whole(T, minimum=1) or T > MAX_FRAMES:
            raise ValueError(f"num_frames must be a whole number from 1 to {MAX_FRAMES}, not {num_frames!r}")
        T = int(T)
        if seed is not None and not _whole(seed, minimum=0):
            raise ValueError(f"seed must be a whole number of at least 0, not {seed!r}")
        if loop and end_frame is not None:
            raise ValueError("a variation either loops or ends in a given pose, not both")
        start = 0 if start is None else self._frame(start, "start")
        targets = list(targets or ())
        self._check_targets(targets, T)
        events = [tg for tg in targets if len(tg.frames) == 1] if plan else []
        if events and not loop and end_frame is None:
            motion = self.planned(events, T, seed, start)
        else:
            idx, jumps, costs = self.timeline(T, seed, start)
            motion = self.play(idx, jumps, costs, loop=loop, end_frame=end_frame)
        if refine and targets:
            motion = refine_targets(motion, targets, window_s=refine_window_s, progress=progress)
        return motion

    def planned(self, targets, num_frames, seed=None, start=0):
        """The Motion of a stream that learns each one-frame target ``PLAN_LEAD_SECONDS``
        before its frame and plans the timeline for it, looking again every
        ``PLAN_DECIDE_SECONDS`` (no IK: the refinement follows)."""
        lead = int(round(PLAN_LEAD_SECONDS * self.fps))
        reveals = {}
        for tg in targets:
            frame = int(tg.frames[0])
            reveals.setdefault(max(0, frame - lead), []).append((tg.joint, tg.positions[0], frame))
        # Without a seed, the clip plays as it is up to the first reveal: the stream starts there.
        skip = min(reveals) if seed is None else 0
        skip = min(skip, self.num_frames - 1 - start, num_frames - 1)
        s = Stream(self, seed, start + skip, ik=False, decide_seconds=PLAN_DECIDE_SECONDS)
        known = []
        for t in range(skip, num_frames):
            if t in reveals:
                known = [tg for tg in known if tg.frame >= t - skip]
                known += [StreamTarget(j, p, frame - skip) for j, p, frame in reveals[t]]
                s.set_targets(known)
            s.step()
        motion = s.motion()
        if skip:
            head = self.source.slice(start, start + skip)
            motion = Motion(self.skeleton, np.concatenate([head.rotations, motion.rotations]),
                            np.concatenate([head.translations, motion.translations]), self.fps)
        motion.name = "generated"
        return motion

    def stream(self, seed=None, start=0, batch=None, ik=True):
        """A Stream (engine/generator/stream.py) stepped one frame at a time; ``batch``: a
        BatchStream of that many characters."""
        if seed is not None and not _whole(seed, minimum=0):
            raise ValueError(f"seed must be a whole number of at least 0, not {seed!r}")
        start = self._frame(start, "start")
        if batch is not None:
            return BatchStream(self, batch, seed, start, ik)
        return Stream(self, seed, start, ik)

    def export_onnx(self, path, start=0, dtype=np.float32):
        """The streaming step and its planner as ONNX models (engine/export/onnx_step.py):
        ``path`` and ``path`` with .decide.onnx; needs the onnx package."""
        return onnx_step.export(self, path, start=start, dtype=dtype)

    @property
    def playback(self):
        if self._playback is None:
            self._playback = Playback(self)
        return self._playback

    @property
    def planner(self):
        if self._planner is None:
            self._planner = Planner(self, self.playback)
        return self._planner

    def chain_of(self, joint):
        """The IK chain of a target's joint (engine/refine/ik.py effector_chain), cached."""
        if joint not in self._chains:
            self._chains[joint] = ik.effector_chain(self.skeleton, joint)
        return self._chains[joint]

    def play(self, idx, jumps, costs, loop=False, end_frame=None, inertialize=True):
        """The Motion of a timeline (``timeline``'s three lists): the source's states along
        it, its jumps inertialized (``inertialize`` False: cut, the benchmark's ablation),
        the seam of ``loop`` or ``end_frame``, and the feet carried through the blends."""
        T, base = len(idx), self.enc.states
        offsets = np.zeros((T, base.shape[1]))
        if inertialize:
            offsets = blend.jump_offsets(base, idx, jumps, self.jump_half_lives(costs))
        if loop or end_frame is not None:
            offsets += self._seam(base[idx] + offsets, idx, loop, end_frame)
        replayed = ~np.any(offsets[:, self.layout.rot].reshape(T, -1, 6) != 0.0, axis=2)
        states = base[idx] + offsets
        motion = self._decode(states, idx, replayed)
        blended = ~replayed.all(axis=1)
        if blended.any():  # the feet through the blends (engine/refine/planting.py)
            # The planted feet change only the root's ground steps: its path is integrated
            # again, the rotations stand.
            states = self.planter.root_steps(motion, states, self.layout, idx, blended)
            theta, ground = features.integrate_root(states, self.layout, self.enc.headings[idx[0]], self.enc.ground[idx[0]])
            motion.translations[:, self.skeleton.root] = features.root_world(states, self.layout, theta, ground,
                                                                             self.skeleton.up_axis)
            motion = self.planter.lift_above_floor(motion, blended)
        return motion

    def _decode(self, states, idx, replayed):
        return features.decode_states(states, self.layout, self.skeleton, self.enc.headings[idx[0]],
                                      self.enc.ground[idx[0]], self.source.translations[0], self.fps, "generated",
                                      known=(self.source.rotations[idx], replayed))

    @property
    def planter(self):
        if self._planter is None:  # made on the first variation: edits do not need it
            self._planter = FootPlanter(self.source, self.enc.forward_local)
        return self._planter

    def _frame(self, value, what):
        if not _whole(value, minimum=0) or int(value) >= self.num_frames:
            raise ValueError(f"{what} must be a source frame 0..{self.num_frames - 1}, not {value!r}")
        return int(value)

    def _check_targets(self, targets, T):
        for tg in targets:
            if not (0 <= tg.joint < self.skeleton.num_joints):
                raise ValueError(f"target joint index {tg.joint} is not in the skeleton")
            if tg.frames.min() < 0 or tg.frames.max() >= T:
                raise ValueError(f"target on '{self.skeleton.names[tg.joint]}' has frames outside 0..{T - 1}")

    def _seam(self, states, idx, loop, end_frame):
        """Offsets that carry the last frame into the loop's first frame or the end pose."""
        base = self.enc.states
        j = int(idx[0]) if loop else self._frame(end_frame, "end_frame")
        after = base[min(j + 1, len(base) - 1)] - base[j] if j == 0 else base[j] - base[j - 1]
        # A loop's last frame flows into its first; an end frame is the last frame itself,
        # so the seam leads into the frame after it.
        target = states[0] if loop else base[j] + after
        return blend.seam_offsets(states, target, after, 2.0 * self.half_life_s * self.fps)


def _whole(value, minimum):
    """True for a whole number (int, or a float like 3.0; not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return False
    return bool(np.isfinite(value)) and float(value).is_integer() and value >= minimum
