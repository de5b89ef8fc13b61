"""Torch-free runtime: load a ``.mdna`` generator and generate motion with numpy.

``Generator.generate`` rolls the per-step network out frame by frame (the only Python
loop), then converts all states to a Motion at once, then refines targets:

1. timeline: which DNA frame drives each output frame (the clip, then jumps to the loop
   frame for runs longer than the clip); discontinuities (a jump, or the exact source
   first pose) become a decaying offset (inertialization), precomputed for all frames;
2. rollout: deviation c_t in the learned deviation subspace; per step two small matmuls
   plus, only when targets are active, the target features from the state's own
   root-relative joint positions (no forward kinematics inside the loop);
3. decode: states -> Motion, vectorised (engine/motion/features.py);
4. refine: for each target, an IK correction (engine/refine/ik.py) at its frames, blended in and
   out smoothly over ``refine_window_s`` — small, because the network already moved the
   body toward the target, and exact at the target frames.
"""
import os

import numpy as np

from ..io import generator_file
from ..motion import features, quat
from ..motion.skeleton import Skeleton
from ..refine.refinement import refine_targets
from .dna import baseline_states

TARGET_FEATURES = 5


class Generator:
    def __init__(self, arrays, meta):
        self.meta = meta
        self.skeleton = Skeleton.from_dict(meta["skeleton"])
        self.fps = float(meta["fps"])
        self.num_frames = int(meta["num_frames"])
        lay = meta["layout"]
        self.layout = features.Layout(int(lay["num_joints"]), tuple(lay.get("moving", ())))
        dna_keys = ("codes", "basis", "mean", "scale", "trajectory", "phase", "joint_translations",
                    "forward_local", "first_state", "first_heading", "first_ground", "mean_pose", "amplitude")
        self.dna = {k: arrays[k] for k in dna_keys if k in arrays}
        net = meta["network"]
        self.slots = [int(j) for j in net["slots"]]
        self.decay = np.float32(net["decay"])
        self.offset_decay = float(net["offset_decay"])
        self.target_unit = float(net["target_unit"])
        self.horizon = float(net["horizon"])
        self.target_clamp = float(net.get("target_clamp", np.inf))  # longest offset a slot is asked for
        # Per slot (S, 1), the longest offset trained on there; files without it: target_clamp.
        clamps = net.get("slot_clamp", [self.target_clamp] * len(self.slots))
        self.slot_clamp = np.minimum(self.target_clamp, np.asarray(clamps, dtype=np.float64)).reshape(-1, 1)
        self.weights = {k: np.ascontiguousarray(arrays[k], dtype=np.float32)
                        for k in generator_file.NETWORK_WEIGHTS}
        # Per coordinate bound on the deviation (the trained range); a file without it: none.
        m = self.weights["w1_dev"].shape[0]
        self.dev_limit = np.ascontiguousarray(arrays.get("dev_limit", np.full(m, np.inf)), dtype=np.float32)
        self.dev_basis = arrays["dev_basis"].astype(np.float64)
        self.scale = self.dna["scale"]
        self._prepare()

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

    def _prepare(self):
        self.base = baseline_states(self.dna, self.layout)               # (F, D) the clip per its DNA
        w = self.weights
        cond = np.concatenate([self.dna["codes"], self.dna["phase"][:, None]], axis=1)
        self.code_proj = (cond @ w["w1_code"] + w["b1"]).astype(np.float32)  # (F, H) per DNA frame
        info = self.meta["dna_info"]
        self.loop_to = int(info.get("loop_to", 0))
        # Cycles after the first leave at loop_from (files without it: the last frame).
        self.loop_from = int(info.get("loop_from", self.num_frames - 1))
        # Every other cycle restarts earlier (files without it: always the loop).
        self.restart_to = int(info.get("restart_to", self.loop_to))
        half_life = max(float(info.get("restart_blend_s", 0.0)) * self.fps, 1e-6)
        self.restart_decay = max(self.offset_decay, float(0.5 ** (1.0 / half_life)))
        # The first pass plays the whole clip; from its last frame it continues at end_to.
        self.end_to = int(info.get("end_to", self.loop_to))
        lay = self.layout
        # Rows of the deviation basis (denormalised) for what the loop needs.
        self.dev_state = (self.dev_basis * self.scale).astype(np.float64)      # (m, D)
        self.slot_cols = np.concatenate([lay.pos_index(j) for j in self.slots]) if self.slots else np.zeros(0, int)
        self.root_cols = np.array([lay.turn, lay.vel.start, lay.vel.start + 1, lay.height])

    @property
    def source_first_pose(self):
        """The source clip's first frame (Motion of one frame)."""
        return self._decode(self.dna["first_state"][None], self.dna["first_heading"][0], self.dna["first_ground"])

    @property
    def source_first_state(self):
        return self.dna["first_state"]

    # ------------------------------------------------------------ timeline

    def timeline(self, num_frames, start=0):
        """DNA frame index per output frame, and the frames where the timeline jumps.

        The first pass plays on to the clip's last frame and continues at ``end_to``;
        later cycles leave at ``loop_from`` (the last frame too, unless the clip's ending is
        no place to loop) for ``loop_to`` (the seamless loop), and every other time for
        ``restart_to`` (more of the clip's material recurs)."""
        F = self.num_frames
        idx = np.empty(num_frames, dtype=np.int64)
        jumps = []
        i = int(start) % F
        for t in range(num_frames):
            idx[t] = i
            i += 1
            if i >= F and not jumps:
                i = self.end_to
                jumps.append(t + 1)
            elif i >= F or (jumps and i > self.loop_from):
                i = self.restart_to if len(jumps) % 2 else self.loop_to
                jumps.append(t + 1)
        return idx, [j for j in jumps if j < num_frames]

    def _offsets(self, idx, jumps, start_state):
        """Decaying state offsets (T, D) that hide timeline discontinuities (inertialization);
        a restart (a bigger jump) fades over its own, longer half-life."""
        T, D = len(idx), self.base.shape[1]
        offsets = np.zeros((T, D))
        kicks = [(0, start_state - self.base[idx[0]], self.offset_decay)]
        for t in jumps:
            # Align the new stretch so its predecessor is the frame we jumped from.
            restart = idx[t] == self.restart_to != self.loop_to and idx[t - 1] == self.loop_from
            decay = self.restart_decay if restart else self.offset_decay
            kicks.append((t, self.base[idx[t - 1]] - self.base[max(idx[t] - 1, 0)], decay))
        traj = [self.layout.turn, self.layout.vel.start, self.layout.vel.start + 1]
        for t0, kick, decay in kicks:
            kick = kick.copy()
            kick[traj] = 0.0  # velocities continue from the new frame; no extra drift
            n = T - t0
            fall = decay ** np.arange(n)
            cut = int(np.searchsorted(-fall, -1e-4))  # ignore the negligible tail
            offsets[t0:t0 + cut] += fall[:cut, None] * kick
        return offsets

    # ------------------------------------------------------------ rollout

    def generate(self, targets=(), num_frames=None, start=None, seed=0, refine=True, refine_window_s=0.5,
                 progress=None):
        """Regenerate the clip (or ``num_frames`` frames) under ``targets``; returns a Motion.

        ``start``: DNA frame to start from (default 0, the clip's first frame; output frame
        0 is then the source's first pose). ``seed`` is accepted for API stability; the
        rollout is deterministic. ``progress(fraction)``: called as the refinement, the
        part whose time grows with the targets, solves each group of them (fraction 0-1).
        """
        T = self.num_frames if num_frames is None else int(num_frames)
        if T < 1:
            raise ValueError("num_frames must be at least 1")
        start = 0 if start is None else int(start)
        targets = list(targets or ())
        for tg in targets:
            if not (0 <= tg.joint < self.skeleton.num_joints):
                raise ValueError(f"target joint index {tg.joint} is not in the skeleton")
            if tg.frames.min() < 0 or tg.frames.max() >= T:
                raise ValueError(f"target on '{self.skeleton.names[tg.joint]}' has frames outside 0..{T - 1}")
        idx, jumps = self.timeline(T, start)
        start_state = self.dna["first_state"] if start == 0 else self.base[idx[0]]
        base = self.base[idx] + self._offsets(idx, jumps, start_state)
        slot_plan = self._slot_plan(targets, T)
        theta0 = self.dna["first_heading"][0] if start == 0 else 0.0
        ground0 = self.dna["first_ground"] if start == 0 else np.zeros(2)
        if slot_plan is None:
            coords = self._rollout_free(idx)
        else:
            coords = self._rollout_targets(idx, base, slot_plan, theta0, ground0)
        states = base + coords @ self.dev_state
        motion = self._decode(states, theta0, ground0)
        if refine and targets:
            motion = refine_targets(motion, targets, window_s=refine_window_s, progress=progress)
        return motion

    def _decode(self, states, theta0, ground0):
        return features.decode_states(states, self.layout, self.skeleton, theta0, ground0,
                                      self.dna["joint_translations"], self.fps, "generated")

    def _rollout_free(self, idx):
        w = self.weights
        proj = self.code_proj[idx]
        W1, W2, b2, W3, b3, dec = w["w1_dev"], w["w2"], w["b2"], w["w3"], w["b3"], self.decay
        hi, lo = self.dev_limit, -self.dev_limit
        out = np.zeros((len(idx), W1.shape[0]), dtype=np.float32)
        c = out[0]
        relu = np.maximum
        for t in range(1, len(idx)):
            h = relu(c @ W1 + proj[t], 0.0)
            h = relu(h @ W2 + b2, 0.0)
            c = dec * c + (h @ W3 + b3)
            np.maximum(np.minimum(c, hi, out=c), lo, out=c)  # in place: half np.clip's cost
            out[t] = c
        return out.astype(np.float64)

    def _slot_plan(self, targets, T):
        """Per slot: frames (T,) of the next target key at or after each frame (-1: none) and
        the target positions; None when no target uses a slot (free rollout)."""
        plan = {}
        for tg in targets:
            if tg.joint not in self.slots:
                continue  # joints without a slot are handled by refinement alone
            s = self.slots.index(tg.joint)
            nxt = np.full(T, -1, dtype=np.int64)
            pos = np.zeros((T, 3))
            k = np.searchsorted(tg.frames, np.arange(T), side="left")
            has = k < len(tg.frames)
            nxt[has] = tg.frames[k[has]]
            pos[has] = tg.positions[k[has]]
            if s in plan:  # two targets on one joint: keep the nearest key per frame
                old_n, old_p = plan[s]
                use_old = (old_n >= 0) & ((nxt < 0) | (old_n < nxt))
                nxt = np.where(use_old, old_n, nxt)
                pos = np.where(use_old[:, None], old_p, pos)
            plan[s] = (nxt, pos)
        return plan or None

    def _rollout_targets(self, idx, base, plan, theta0, ground0):
        """Rollout with targets. The target features are affine in the deviation c, so
        their effect on the first layer folds into a per-frame bias plus one of a few
        weight matrices (one per pattern of active slots): the loop costs what the free
        rollout costs."""
        w = self.weights
        T, S = len(idx), len(self.slots)
        up = self.skeleton.up_axis
        theta_b, world_b = self.slot_world(base, theta0, ground0)
        want = np.zeros((T, S, 3))
        tau = np.zeros((T, S))
        mask = np.zeros((T, S))
        for s_, (nxt, tpos) in plan.items():
            on = nxt >= 0
            k = nxt[on]
            want[on, s_] = features.heading_frame_offsets(tpos[on] - world_b[k, s_], theta_b[k], up)
            tau[on, s_] = np.clip((k - np.flatnonzero(on)) / self.horizon, 0.0, 1.0)
            mask[on, s_] = 1.0
        # A far target (or one left behind by a loop jump) asks at most the slot's clamp:
        # the network is never driven outside the offsets it was trained on.
        length = np.linalg.norm(want, axis=-1, keepdims=True)
        want *= np.minimum(1.0, self.slot_clamp / np.maximum(length, 1e-12))
        feats = np.concatenate([want / self.target_unit * mask[..., None], (tau * mask)[..., None], mask[..., None]], axis=-1)
        W1t = w["w1_target"].astype(np.float64)                                   # (S*5, H)
        bias = (self.code_proj[idx] + feats.reshape(T, -1) @ W1t).astype(np.float32)
        off_rows = W1t.reshape(S, TARGET_FEATURES, -1)[:, :3]                    # (S, 3, H)
        dev_slot = self.dev_state[:, self.slot_cols].reshape(-1, S, 3)            # (m, S, 3)
        patterns, pat_index = np.unique(mask > 0, axis=0, return_inverse=True)
        W1s = []
        for p in patterns:
            fold = -np.einsum("msk,skh->mh", dev_slot * p[None, :, None], off_rows) / self.target_unit
            W1s.append((w["w1_dev"] + fold).astype(np.float32))
        W2, b2, W3, b3, dec = w["w2"], w["b2"], w["w3"], w["b3"], self.decay
        pat_index = pat_index.reshape(-1)
        hi, lo = self.dev_limit, -self.dev_limit
        out = np.zeros((T, w["w1_dev"].shape[0]), dtype=np.float32)
        c = out[0]
        for t in range(1, T):
            h = np.maximum(c @ W1s[pat_index[t]] + bias[t], 0.0)
            h = np.maximum(h @ W2 + b2, 0.0)
            c = dec * c + (h @ W3 + b3)
            np.maximum(np.minimum(c, hi, out=c), lo, out=c)
            out[t] = c
        return out.astype(np.float64)

    def slot_world(self, base, theta0, ground0):
        """Heading (T,) and world positions (T, S, 3) of the slot joints in the states
        ``base`` (T, D): where a target's offset is measured from."""
        T, lay, up = len(base), self.layout, self.skeleton.up_axis
        theta_b, ground_b = features.integrate_root(base, lay, theta0, ground0)
        root_b = features.root_world(base, lay, theta_b, ground_b, up)
        rel_b = base[:, self.slot_cols].reshape(T, len(self.slots), 3)
        return theta_b, root_b[:, None] + quat.mul_vec(features.heading_quat(theta_b, up)[:, None], rel_b)

    def step(self, dev, cond):
        """One network step, exactly what the ONNX export computes: ``dev`` (B, m) deviation,
        ``cond`` (B, k + 1 + 5 S) = DNA code and phase of the next frame, then per slot the
        target features (offset / target_unit (3), time to target, mask)."""
        w = self.weights
        k1 = w["w1_code"].shape[0]
        dev, cond = np.asarray(dev, np.float32), np.asarray(cond, np.float32)
        h = np.maximum(dev @ w["w1_dev"] + cond[..., :k1] @ w["w1_code"] + cond[..., k1:] @ w["w1_target"] + w["b1"], 0.0)
        h = np.maximum(h @ w["w2"] + w["b2"], 0.0)
        nxt = self.decay * dev + (h @ w["w3"] + w["b3"])
        return np.clip(nxt, -self.dev_limit, self.dev_limit)

