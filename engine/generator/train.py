"""Build a per-clip generator: DNA, clip-like training variations, a few seconds of training.

Training data comes from the one clip (hindsight relabelling): copies of the clip with one
smooth windowed variation each — a cross-fade to a similar moment, a time-warp, or a
linearised rotation layer along an effector chain — are each a valid "targets -> motion"
example, the targets being where the variation puts the effectors. The network is trained
on short rollouts of its own steps (truncated BPTT) toward those sequences, with a loss on
the effectors at the target frames; input noise keeps long rollouts stable. torch is
imported lazily. See docs/engine.md.
"""
import dataclasses
import os
import platform
import time

import numpy as np

from ..io import generator_file
from ..io.fileformat import motion_hash
from ..motion import features, quat
from ..motion.skeleton import forward_kinematics
from ..refine import ik
from . import dna as dna_mod


@dataclasses.dataclass(frozen=True)
class Settings:
    """The build's settings (docs/engine.md, API). ``resolve_settings`` makes one from a
    dict; the generator file keeps them as a dict (``dataclasses.asdict``)."""

    seed: int = 0                    # seeds numpy's and torch's random streams: a build is repeatable
    steps: int = 300                 # training steps (at least 1)
    batch: int = 64                  # rollouts per training step
    lr: float = 3e-3                 # peak learning rate of Adam's one-cycle schedule
    hidden: int = 128                # units in each of the network's two hidden layers
    device: str = "auto"             # torch device: "auto" picks CUDA when present, else the CPU
    threads: int = 1                 # torch CPU threads (the matrices are small)
    dev_dims: int = 48               # dimensions of the deviation subspace (at most)
    noise: float = 0.2               # noise added to each rollout's start: the network learns to recover
    rollout: int = 8                 # steps per training rollout (truncated BPTT)
    effector_weight: float = 1.0     # weight of the slot joints' miss at target frames in the loss
    target_prob: float = 0.6         # chance that a slot carries a target in a varied sample
    move_prob: float = 0.25          # share of samples whose targets move with the variation every frame
    crossfade_prob: float = 0.5      # share of variations that cross-fade to a similar moment
    warp_prob: float = 0.2           # share of variations that time-warp this moment (the rest: atom layers)
    horizon_s: float = 1.0           # how far ahead a target is seen (s): time to target is scaled by it
    half_life_s: float = 0.15        # half-life of the network's fixed decay toward the clip (s)
    offset_half_life_s: float = 0.12  # half-life of the offsets that hide timeline jumps (s)
    layer_angle: float = 0.3         # spread of an atom layer's rotations (radians)
    target_clamp: float = 0.3        # longest offset any slot is asked for (spans)
    contract_weight: float = 1.0     # weight of the contraction term (a step's stretch above 1)
    contract_noise: float = 1.0      # spread of the states the contraction term probes around the rollouts
    code_tolerance_cm: float = dna_mod.CODE_TOLERANCE_CM  # the DNA rebuilds joint positions within this
    max_codes: int = dna_mod.MAX_CODES  # most DNA codes per frame
    free_prob: float = 0.4           # share of samples with no variation and no target: the clip replays
    slot_clamp_percentile: float = 90.0  # a slot is asked at most this percentile of its trained offsets
    target_unit: float = 0.1         # unit of the target features (spans; the effector loss keeps 0.1)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            try:
                object.__setattr__(self, f.name, f.type(value))  # field types are int, float, str
            except (TypeError, ValueError):
                raise ValueError(f"settings.{f.name} must be {f.type.__name__}, not {value!r}") from None
        for name in ("steps", "batch", "hidden", "threads", "dev_dims", "rollout", "max_codes"):
            if getattr(self, name) < 1:
                raise ValueError(f"settings.{name} must be at least 1, not {getattr(self, name)}")
        if self.seed < 0:
            raise ValueError(f"settings.seed must be 0 or more, not {self.seed}")
        for name in ("lr", "horizon_s", "half_life_s", "offset_half_life_s", "target_clamp", "code_tolerance_cm",
                     "target_unit"):
            if not getattr(self, name) > 0.0:
                raise ValueError(f"settings.{name} must be positive, not {getattr(self, name)}")
        if not 0.0 < self.slot_clamp_percentile <= 100.0:
            raise ValueError("settings.slot_clamp_percentile must be in (0, 100]")
        if not 0.0 <= self.free_prob < 1.0:
            raise ValueError("settings.free_prob must be in [0, 1): some samples must carry targets")


SETTING_NAMES = tuple(f.name for f in dataclasses.fields(Settings))
MIN_CLIP_FRAMES = 4  # the shortest clip a generator learns from (the Blender side checks it too)
# The longest: a build's memory and time grow linearly with the clip (on a 31-joint rig
# about 25 KB and 2 s a 1000 frames in the worker; docs/engine.md, Known limits), and this
# keeps a build within a few GB and a few minutes on a 2-core machine.
MAX_CLIP_FRAMES = 50_000


def check_clip_length(num_frames):
    """ValueError, one line, unless a generator can learn from a clip of ``num_frames``."""
    if num_frames < MIN_CLIP_FRAMES:
        raise ValueError(f"the clip has {num_frames} frame(s): a generator learns motion, it needs at "
                         f"least {MIN_CLIP_FRAMES}")
    if num_frames > MAX_CLIP_FRAMES:
        raise ValueError(f"the clip has {num_frames} frames: a build learns from at most {MAX_CLIP_FRAMES} "
                         f"(memory and time grow with the clip); build from a frame range or a shorter clip")


class Cancelled(Exception):
    """The build was stopped by ``should_stop``."""


def resolve_settings(settings=None):
    """``Settings`` from a dict of overrides (None: the defaults; a ``Settings`` is returned
    as it is). Unknown keys and out-of-range values raise ValueError."""
    if isinstance(settings, Settings):
        return settings
    unknown = set(settings or {}) - set(SETTING_NAMES)
    if unknown:
        raise ValueError(f"unknown generator setting(s): {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(sorted(SETTING_NAMES))})")
    return Settings(**(settings or {}))


def import_torch():
    """torch, plus the module its optimizers import on their first use (``torch._dynamo``:
    about a second on a 2-core CPU). That import happens once per process; done here it
    is counted with the torch import (``torch_import_seconds``), not as the first build's
    training time. The worker calls this at start."""
    import torch
    try:
        import torch._dynamo  # noqa: F401
    except ImportError:  # a torch without it: nothing to preload
        pass
    return torch


def _device(torch, name):
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("settings.device asks for CUDA but no CUDA device is available")
    return name


def build_generator(motion, out_path, settings=None, progress=None, should_stop=None):
    """Train a generator on ``motion`` and save it to ``out_path`` (.mdna); returns a summary."""
    t_start = time.perf_counter()
    s = resolve_settings(settings)
    motion.validate(min_frames=MIN_CLIP_FRAMES)
    check_clip_length(motion.num_frames)
    torch = import_torch()
    t_torch = time.perf_counter() - t_start
    torch.manual_seed(s.seed)
    torch.set_num_threads(max(1, s.threads))
    device = _device(torch, s.device)
    rng = np.random.default_rng(s.seed)
    stop = should_stop or (lambda: False)
    report = progress or (lambda fraction, message="", **fields: None)

    report(0.0, "reading the clip's DNA")
    t_train0 = time.perf_counter()
    dna, info, layout, enc = dna_mod.build_dna(motion, s.code_tolerance_cm, s.max_codes)
    base = dna_mod.baseline_states(dna, layout)
    if stop():
        raise Cancelled("build cancelled")
    report(0.02, "making training variations")
    data = _training_data(motion, dna, info, layout, base, s, rng)
    if stop():
        raise Cancelled("build cancelled")
    net, loss, slot_clamp = _fit(torch, device, data, s, report, stop, t_train0)
    train_seconds = time.perf_counter() - t_train0

    arrays = dict(dna)
    arrays["dev_basis"] = data["dev_basis"]
    arrays.update(net.to_arrays())
    meta = {
        "skeleton": motion.skeleton.to_dict(), "fps": motion.fps, "num_frames": motion.num_frames,
        "source_name": motion.name, "source_hash": motion_hash(motion),
        "layout": {"num_joints": layout.num_joints, "moving": list(layout.moving)},
        "dna_info": info,
        "network": {"decay": data["decay"], "hidden": s.hidden, "slots": info["effectors"],
                    "target_unit": data["target_unit"], "horizon": data["horizon"],
                    "target_clamp": data["target_clamp"], "slot_clamp": slot_clamp,
                    "offset_decay": _decay(s.offset_half_life_s, motion.fps)},
        "settings": dataclasses.asdict(s),
        "build": {"train_seconds": train_seconds, "torch_import_seconds": t_torch, "device": device,
                  "steps": s.steps, "final_loss": loss, "torch": torch.__version__,
                  "python": platform.python_version(), "created": time.strftime("%Y-%m-%dT%H:%M:%S")},
    }
    generator_file.save(out_path, arrays, meta)
    report(1.0, "saved", step=s.steps, total=s.steps, loss=loss, eta_s=0.0)
    return {"path": str(out_path), "train_seconds": train_seconds, "torch_import_seconds": t_torch,
            "size_bytes": os.path.getsize(out_path), "steps": s.steps, "final_loss": loss,
            "device": device, "num_codes": info["num_codes"], "code_error_cm": info["code_error_cm"],
            "total_seconds": time.perf_counter() - t_start}


def _decay(half_life_s, fps):
    return float(0.5 ** (1.0 / max(half_life_s * fps, 1e-6)))


# ---------------------------------------------------------------- training data
#
# Training sequences are copies of the clip with one smooth, windowed *variation* each;
# the hindsight targets are where the variation puts the effectors. Three kinds:
# - cross-fade: blend toward another moment of the clip whose pose is close to this one
#   (nearest frames in DNA-code space, away from the current frame), played on at
#   +-10 % speed — the deviation is a pose the clip itself contains;
# - time-warp: blend toward this same moment played 20 % faster or slower;
# - atom layer: a random rotation layer along one effector chain or the spine, linearised
#   per joint and axis (finite differences), for reaches the clip never shows.
# The root trajectory (height, ground velocity, turn) is never varied: the root path stays
# the clip's, so long runs cannot drift.

ATOMS_PER_EVENT = 9  # up to 3 joints x 3 axes
NEIGHBOURS = 8


def _event_joints(skeleton, effectors):
    events = [ik.effector_chain(skeleton, e)[:3] for e in effectors]
    if effectors:
        spine = [j for j in skeleton.chain(effectors[-1]) if skeleton.parents[j] >= 0]
        spine = [j for j in spine if j != effectors[-1]][1:4]
        if spine:
            events.append(spine)
    return [e for e in events if e]


class _PoseAt:
    """The clip at some frames, ready to have one event joint rotated at a time (``atom``).

    An atom is the normalised state change per radian of one joint's local rotation about
    one axis, as encoding the rotated clip would give it, bit for bit: an event joint is
    never a root (``ik.effector_chain``), so the heading, the root path and every joint
    outside the rotated one's subtree keep their state, and only the joint's rotation and
    its subtree's positions are recomputed, with the operations ``features.encode`` uses.
    Working on a few frames at a time keeps the atoms of a long clip out of memory."""

    def __init__(self, motion, enc, headings_q, frames):
        self.skeleton = motion.skeleton
        self.rots, self.trans = motion.rotations[frames], motion.translations[frames]
        self.world_rot, self.world_pos = forward_kinematics(self.skeleton, self.rots, self.trans)
        self.headings_q = headings_q[frames][:, None]
        self.states = enc.states[frames]

    def atom(self, layout, scale, joint, axis, eps=0.1):
        """(n, D): the state change per radian of ``joint`` rotated about ``axis``, over ``scale``."""
        sk, rest = self.skeleton, self.skeleton.rest_rotations
        vec = np.zeros(3)
        vec[axis] = eps
        rotated = quat.mul(self.rots[:, joint], quat.from_scaled_axis(vec))
        subtree = [joint] + sk.descendants(joint)  # parents before their children
        world_rot, world_pos = {}, {}
        for k in subtree:
            p = sk.parents[k]
            parent_rot = world_rot[p] if p in world_rot else self.world_rot[:, p]
            parent_pos = world_pos[p] if p in world_pos else self.world_pos[:, p]
            world_rot[k] = quat.mul(parent_rot, quat.mul(rest[k], rotated if k == joint else self.rots[:, k]))
            world_pos[k] = parent_pos + quat.mul_vec(parent_rot, self.trans[:, k])
        offsets = np.stack([world_pos[k] for k in subtree], axis=1) - self.world_pos[:, sk.root][:, None]
        rot_cols = np.arange(6 * joint, 6 * joint + 6)
        pos_cols = np.concatenate([layout.pos_index(k) for k in subtree])
        out = np.zeros((len(self.states), layout.size))
        out[:, rot_cols] = (quat.to_6d(rotated) - self.states[:, rot_cols]) / eps / scale[rot_cols]
        rel = quat.inv_mul_vec(self.headings_q, offsets).reshape(len(out), -1)
        out[:, pos_cols] = (rel - self.states[:, pos_cols]) / eps / scale[pos_cols]
        return out


ATOM_CHUNK_FRAMES = 256  # frames whose atoms exist at a time: (9 E, 256, D) float64, ~40 MB on 100 joints


def _atom_sample(motion, enc, layout, dna, events, flat_rows, headings_q):
    """The atoms at ``flat_rows`` of the (E, 9, F) atom table, (len, D), computed for
    just those frames (each event joint and axis at once over its rows)."""
    F = motion.num_frames
    out = np.zeros((len(flat_rows), layout.size))
    which, frames = np.divmod(flat_rows, F)
    for w in np.unique(which):
        e, a = divmod(int(w), ATOMS_PER_EVENT)
        i, axis = divmod(a, 3)
        if i < len(events[e]):  # events with fewer than 3 joints have zero atoms there
            rows = np.flatnonzero(which == w)
            pose = _PoseAt(motion, enc, headings_q, frames[rows])
            out[rows] = pose.atom(layout, dna["scale"], events[e][i], axis)
    return out


def _atom_table(motion, enc, layout, dna, events, basis, headings_q):
    """(E, F, 9 m) float32: every frame's atoms projected on the deviation basis, made
    ATOM_CHUNK_FRAMES frames at a time (the full (E, 9, F, D) table of a 10,000-frame clip
    would be over 1 GB)."""
    F, m = motion.num_frames, len(basis)
    table = np.zeros((len(events), F, ATOMS_PER_EVENT * m), dtype=np.float32)
    for start in range(0, F, ATOM_CHUNK_FRAMES):
        frames = np.arange(start, min(start + ATOM_CHUNK_FRAMES, F))
        pose = _PoseAt(motion, enc, headings_q, frames)
        for e, joints in enumerate(events):
            for i, j in enumerate(joints):
                for axis in range(3):
                    a = 3 * i + axis
                    table[e, frames, a * m:(a + 1) * m] = pose.atom(layout, dna["scale"], j, axis) @ basis.T
    return table


# Most frames one frame's neighbours are searched among: longer clips search every n-th
# frame, so the search stays O(F x NEIGHBOUR_CANDIDATES), not O(F^2) (a 30,000-frame
# clip: 20 s of a build otherwise).
NEIGHBOUR_CANDIDATES = 8192
NEIGHBOUR_ROWS = 512  # frames searched at a time: a (512, candidates) distance table


def pose_neighbours(codes, fps, count=NEIGHBOURS, min_gap_s=0.25):
    """(F, count) frames whose DNA code is nearest each frame's, at least ``min_gap_s``
    away in time (so a cross-fade goes to a *different* moment), among every frame or,
    past NEIGHBOUR_CANDIDATES frames, every n-th; falls back to random frames for clips
    too short to have any."""
    F = len(codes)
    gap = max(1, int(round(min_gap_s * fps)))
    stride = -(-F // NEIGHBOUR_CANDIDATES)
    cand = np.arange(0, F, stride)
    cand_codes = codes if stride == 1 else codes[cand]
    sq = np.einsum("ij,ij->i", codes, codes)
    cand_sq = sq if stride == 1 else sq[cand]
    out = np.empty((F, count), dtype=np.int64)
    for s in range(0, F, NEIGHBOUR_ROWS):
        d = sq[s:s + NEIGHBOUR_ROWS, None] + cand_sq[None] - 2.0 * codes[s:s + NEIGHBOUR_ROWS] @ cand_codes.T
        rows = np.arange(s, min(s + NEIGHBOUR_ROWS, F))
        near = np.abs(rows[:, None] - cand[None]) < gap
        d[near] = np.inf
        if F - 2 * gap + 1 < count:
            out[rows] = (rows[:, None] + gap + np.arange(count)[None]) % F
            continue
        out[rows] = cand[np.argpartition(d, count - 1, axis=1)[:, :count]]
    return out


def _training_data(motion, dna, info, layout, base, s, rng):
    sk, F = motion.skeleton, motion.num_frames
    span = sk.span(motion.translations)  # a moving root offset is not a bone (metrics.metres_per_unit)
    effectors = info["effectors"]
    enc = features.encode(motion, forward_local=dna["forward_local"], layout=layout)
    headings_q = features.heading_quat(enc.headings, sk.up_axis)  # as encode computes it
    events = _event_joints(sk, effectors)
    E = len(events)
    keep_root = dna_mod.trajectory_columns(layout)
    norm = enc.states / dna["scale"]
    norm[:, keep_root] = 0.0                       # variations never touch the root trajectory
    neighbours = pose_neighbours(dna["codes"], motion.fps)
    # Deviation basis: principal directions of the variations the network will see (pose
    # differences to neighbouring moments, atom layers), plus the clip's own DNA residual.
    i = rng.integers(0, F, 3000)
    pairs = norm[neighbours[i, rng.integers(0, NEIGHBOURS, len(i))]] - norm[i]
    picked = rng.permutation(E * ATOMS_PER_EVENT * F)[:3000]
    atoms = _atom_sample(motion, enc, layout, dna, events, picked, headings_q) * s.layer_angle
    residual_full = (enc.states - base) / dna["scale"]
    pool = np.concatenate([pairs, atoms, residual_full[rng.integers(0, F, 500)]])
    basis = principal_directions(pool, int(min(s.dev_dims, *pool.shape)))
    cols = np.concatenate([layout.pos_index(j) for j in effectors]) if effectors else np.zeros(0, int)
    cond_code = np.concatenate([dna["codes"], dna["phase"][:, None]], axis=1)
    f32 = np.float32
    return {
        # (E, F, 9 m): one gather per batch picks every atom of an event at every frame.
        "atom_table": _atom_table(motion, enc, layout, dna, events, basis, headings_q),
        "clip_coords": (norm @ basis.T).astype(f32),                 # (F, m) pose part of each frame
        "neighbours": neighbours,
        "cond_code": cond_code.astype(f32),
        "basis_pos": basis[:, cols].astype(f32), "scale_pos": dna["scale"][cols].astype(f32),
        "dev_basis": basis.astype(f32), "num_events": E, "frames": F,
        "decay": _decay(s.half_life_s, motion.fps), "target_unit": s.target_unit * span,
        "reach_unit": REACH_UNIT * span, "target_clamp": s.target_clamp * span,
        "horizon": max(2.0, s.horizon_s * motion.fps), "slots": len(effectors), "fps": motion.fps,
    }


def principal_directions(rows, count):
    """(count, D): the ``count`` leading right singular vectors of ``rows`` (N, D), N >> D,
    from the eigenvectors of the D x D Gram matrix (several times faster than an SVD of the
    tall matrix); each with its largest-magnitude entry positive, so the signs are fixed."""
    values, vectors = np.linalg.eigh(rows.T @ rows)
    basis = vectors[:, np.argsort(values)[::-1][:count]].T
    return basis * np.sign(basis[np.arange(len(basis)), np.abs(basis).argmax(axis=1)])[:, None]


def _rows(torch, table, idx):
    """``table[idx]`` for a 2-D table: an embedding lookup, which copies whole rows (several
    times faster than advanced indexing)."""
    return torch.nn.functional.embedding(idx, table)


def _window(torch, frames, centre, width):
    """Raised-cosine weights (B, n) of frames (B, n) for windows centre/width (B,)."""
    d = (frames.float() - centre[:, None]) / width[:, None]
    return torch.where(d.abs() < 1, 0.5 * (1 + torch.cos(torch.pi * d)), torch.zeros_like(d))


def _lerp_rows(torch, table, idx):
    """table (F, m) at fractional row indices idx (...), clamped to the clip."""
    idx = idx.clamp(0, table.shape[0] - 1)
    i0 = idx.floor().long().clamp(max=table.shape[0] - 2) if table.shape[0] > 1 else idx.long()
    a = (idx - i0.float()).unsqueeze(-1)
    i1 = (i0 + 1).clamp(max=table.shape[0] - 1)
    return _rows(torch, table, i0) * (1 - a) + _rows(torch, table, i1) * a


def _sample_variations(torch, data, T, frames, s, gen):
    """Teacher deviation coords (B, n, m) at ``frames`` (B, n): one windowed variation per
    sample (cross-fade, time-warp or atom layer) plus, sometimes, a second atom layer."""
    B, n = frames.shape
    fps, H = data["fps"], data["horizon"]
    t0 = frames[:, 0].float()
    width = (0.25 + 0.55 * torch.rand(B, generator=gen)) * fps
    centre = t0 - width + torch.rand(B, generator=gen) * (2 * width + H)
    w = _window(torch, frames, centre, width)
    # Cross-fade / time-warp: the pose of moment src(t) = j + speed * (t - t0).
    kind = torch.rand(B, generator=gen)
    fade_kind = kind < s.crossfade_prob
    pick = torch.randint(0, NEIGHBOURS, (B,), generator=gen)
    j = torch.where(fade_kind, T["neighbours"][frames[:, 0], pick], frames[:, 0]).float()
    warp = torch.where(fade_kind, 0.1, 0.2)
    speed = 1.0 + warp * (2 * torch.rand(B, generator=gen) - 1)
    src = j[:, None] + speed[:, None] * (frames.float() - t0[:, None])
    fade = _lerp_rows(torch, T["clip_coords"], src) - _rows(torch, T["clip_coords"], frames)
    is_atom = kind >= s.crossfade_prob + s.warp_prob
    dev = torch.where(is_atom[:, None, None], 0.0, w[..., None] * fade)
    rows, layer = _atom_layer(torch, data, T, frames, is_atom, s, gen)
    dev[rows] = w[rows, :, None] * layer
    # A second, independent atom layer on some samples: combined edits.
    w2 = _window(torch, frames, t0 - width + torch.rand(B, generator=gen) * (2 * width + H), width)
    rows, layer = _atom_layer(torch, data, T, frames, torch.rand(B, generator=gen) < 0.3, s, gen)
    dev[rows] += w2[rows, :, None] * layer
    return dev


def _atom_layer(torch, data, T, frames, wanted, s, gen):
    """A random rotation layer along one event's chain, (b, n, m), for the samples ``rows``
    (indices) among the ``wanted`` (B,) whose layer is on; the others' layers are zero and
    are not computed (the atom table gather is the costliest part of a batch)."""
    B, n = frames.shape
    ev = torch.randint(0, data["num_events"], (B,), generator=gen)
    amp = torch.randn(B, ATOMS_PER_EVENT, generator=gen) * s.layer_angle
    rows = (wanted & (torch.rand(B, generator=gen) < 0.8)).nonzero().squeeze(1)
    table = T["atom_table"]
    A = _rows(torch, table.view(-1, table.shape[-1]), ev[rows, None] * table.shape[1] + frames[rows])  # (b, n, 9 m)
    A = A.view(len(rows), n, ATOMS_PER_EVENT, -1)
    return rows, torch.matmul(amp[rows, None, None, :], A).squeeze(2)


# ---------------------------------------------------------------- fitting

def target_features_torch(torch, cur_dev, want_dev, tau, mask, unit, clamp):
    """Per-slot target features (..., S*5): the deviation from the clip that the target
    asks for at its frame (heading frame; its length clamped to ``clamp`` so a far target
    asks much but never beyond the trained range) minus the slot joint's current
    deviation; time to target; mask. Comparing deviations (not raw positions) makes the
    feature independent of where the clip itself moves the joint meanwhile."""
    norm = want_dev.norm(dim=-1, keepdim=True)
    want_dev = want_dev * torch.clamp(clamp / torch.clamp(norm, min=1e-9), max=1.0)
    off = (want_dev - cur_dev) / unit * mask[..., None]
    return torch.cat([off, tau[..., None] * mask[..., None], mask[..., None]], dim=-1).flatten(-2)


REACH_UNIT = 0.1  # spans: the effector loss is the slot joint's squared miss in this unit
CHUNK_STEPS = 50  # batches made together: one set of large tensor ops instead of 50 small sets
DEV_LIMIT_MARGIN = 1.5  # the rollout's bound, relative to the largest deviation trained on


def _batch(torch, data, T, s, gen, K, B):
    """``B`` samples of rollout material, as a dict of tensors with leading dimension B:

    - ``c0`` (m,): the noisy rollout start, ``teacher`` (K, m): the sequence to follow;
    - ``static`` (K, C): the first-layer input per step that does not depend on the rollout
      (the next frame's DNA code and phase, and per slot the target features with the
      current deviation left out: clamped wanted deviation / unit * mask, tau * mask, mask);
    - ``mu`` (K, 3S): mask / unit per slot coordinate, the factor of the current slot
      deviation in the target features (see ``target_features_torch``);
    - ``want`` (K, 3S) and ``reach_w`` (K, 3S): where the slots should be and the weight of
      the squared miss in the loss (the effector loss applies at the target frame, every
      frame for moving targets).

    Static targets sit half inside the rollout (the loss sees them reached), half up to the
    horizon ahead; a share of the samples follow a moving target (one on every frame, time
    to target 0) instead."""
    F, S, H = data["frames"], data["slots"], data["horizon"]
    unit, clamp, reach_unit = data["target_unit"], data["target_clamp"], data["reach_unit"]
    ti = torch.randint(0, max(F - K, 1), (B,), generator=gen)
    frames = torch.clamp(ti[:, None] + torch.arange(K + 1)[None], max=F - 1)
    near = 1 + (torch.rand(B, S, generator=gen) * K).long()
    far = 1 + (torch.rand(B, S, generator=gen) * H).long()
    tt = torch.clamp(ti[:, None] + torch.where(torch.rand(B, S, generator=gen) < 0.5, near, far), max=F - 1)
    teach_frames = torch.cat([frames, tt], dim=1)
    dev = _sample_variations(torch, data, T, teach_frames, s, gen)
    varied = torch.ones(B)
    if s.free_prob > 0:  # the clip itself, nothing asked
        varied = (torch.rand(B, generator=gen) >= s.free_prob).float()
        dev = dev * varied[:, None, None]
    pos = (dev @ T["slot_map"]).view(B, -1, S, 3)                      # slot deviations
    want_static = pos[:, K + 1:][:, torch.arange(S), torch.arange(S)]   # (B, S, 3): slot k at tt_k
    nxt = frames[:, 1:]                                                  # frame each step predicts
    mask = (torch.rand(B, S, generator=gen) < s.target_prob).float() * varied[:, None]
    moving = (torch.rand(B, 1, generator=gen) < s.move_prob).float()[..., None]
    noise = torch.randn(B, dev.shape[-1], generator=gen)
    live = (nxt[:, :, None] <= tt[:, None]).float()                      # target still ahead
    tau = (tt[:, None] - nxt[:, :, None]).float().clamp(min=0) / H * (1 - moving)
    want = moving[..., None] * pos[:, 1:K + 1] + (1 - moving[..., None]) * want_static[:, None]
    step_mask = mask[:, None] * (moving + (1 - moving) * live)           # (B, K, S)
    hit = step_mask * (moving + (1 - moving) * (nxt[:, :, None] == tt[:, None]).float())
    # The target features (target_features_torch) without the current deviation's part.
    norm = want.norm(dim=-1, keepdim=True)
    want_c = want * torch.clamp(clamp / torch.clamp(norm, min=1e-9), max=1.0)
    m3 = step_mask[..., None].expand(B, K, S, 3)
    feats = torch.cat([want_c / unit * m3, (tau * step_mask)[..., None], step_mask[..., None]], dim=-1)
    return {
        "c0": dev[:, 0] + s.noise * noise, "teacher": dev[:, 1:K + 1],
        "static": torch.cat([_rows(torch, T["cond_code"], nxt), feats.flatten(-2)], dim=-1),
        "mu": (m3 / unit).reshape(B, K, 3 * S), "want": want.reshape(B, K, 3 * S),
        "reach_w": (hit[..., None].expand(B, K, S, 3) / reach_unit ** 2).reshape(B, K, 3 * S),
    }


def _batch_chunk(torch, data, T, s, gen, K, count):
    """``count`` batches made at once (the samples are independent, so one large draw is
    ``count`` batches' worth): a list of per-step dicts of ``_batch``."""
    B = s.batch
    big = _batch(torch, data, T, s, gen, K, B * count)
    return [{k: v[i * B:(i + 1) * B] for k, v in big.items()} for i in range(count)]


def target_offset_columns(torch, code_dim, slots):
    """Positions of the slots' target offsets (3 per slot) in the network's ``cond`` input."""
    from .model import TARGET_FEATURES  # the model imports torch: only when training runs
    return code_dim + 1 + torch.arange(slots * TARGET_FEATURES).view(-1, TARGET_FEATURES)[:, :3].reshape(-1)


def _rollout_loss(torch, net, b, K, slot_map, probe=None):
    """The training loss of one batch: K steps of ``net`` (Stepper.forward) from ``c0``
    toward ``teacher`` (mean squared coordinate error per step) plus the weighted squared
    misses of the slot joints (``reach_w``), over K.

    Same function and gradients as calling ``net(c, cond)`` with the full per-step input
    ``cond = [static | target_features_torch(...)]`` (tests/test_train_rollout.py checks it),
    arranged for fewer, larger ops: the first layer's part that does not depend on the
    rollout is one matmul for all K steps, the current slot deviation enters through the
    first-layer columns of the target offsets, and one matmul per step gives both the
    first layer's deviation part and the slot deviations (which the next step's target
    features and the effector loss share).

    With ``probe`` (P, m) noise, also the step map's largest stretch (P,) at the first P
    samples' last states moved by that noise, under that step's targets (see
    ``step_stretch``); else None."""
    import torch.nn.functional as fn  # torch is imported by import_torch, when training runs
    c, B = b["c0"], len(b["c0"])
    m, H = net.dev_dim, net.l1.out_features
    w1 = net.l1.weight                                                   # (H, m + C)
    S3 = 3 * net.slots
    # The first layer's rollout-independent part, padded with zeros for the slot columns
    # of ``project`` (unbind, split: their backward is one stack / cat, where indexing's
    # would fill a zero tensor of the whole input per use).
    static = fn.pad(fn.linear(b["static"], w1[:, m:], net.l1.bias), (0, S3)).unbind(1)  # K x (B, H + 3S)
    proj = torch.cat([w1[:, :m].t(), slot_map], dim=1) if S3 else w1[:, :m].t()         # (m, H + 3S)
    w_off = w1[:, m:][:, b["off_cols"]].t() if S3 else None                             # (3S, H)
    mu = b["mu"].unbind(1)
    w2, w3 = net.l2.weight.t(), net.l3.weight.t()

    def project(c, k):
        """(step k's first-layer input without the slot offsets (B, H), slot deviations
        (B, 3S) or None)."""
        z = torch.addmm(static[k], c, proj)
        return z.split([H, S3], dim=1) if S3 else (z, None)

    pre, cur = project(c, 0)
    devs, slots = [], []
    for k in range(K):
        if S3:  # the slot offsets' part: -(cur * mask / unit) @ w_off
            pre = torch.addmm(pre, cur * mu[k], w_off, alpha=-1)
        h = torch.relu_(torch.addmm(net.l2.bias, torch.relu_(pre), w2))
        c = torch.addmm(c, h, w3, beta=net.decay) + net.l3.bias          # decay * c + l3(h)
        devs.append(c)
        if k < K - 1:
            pre, cur = project(c, k + 1)
        elif S3:
            cur = c @ slot_map
        slots.append(cur)
    track = torch.sum((torch.stack(devs, 1) - b["teacher"]) ** 2) / (B * m)
    reach = 0.0
    if S3:
        reach = torch.sum(b["reach_w"] * (torch.stack(slots, 1) - b["want"]) ** 2) / (B * net.slots)
    if probe is None:
        return track, reach, None
    k, P = K - 1, len(probe)
    c = (devs[k - 1] if K > 1 else b["c0"])[:P].detach() + probe
    z = torch.addmm(static[k][:P], c, proj)
    pre, cur = z.split([H, S3], dim=1) if S3 else (z, None)
    if S3:
        pre = pre - (cur * mu[k][:P]) @ w_off
    stretch = step_stretch(torch, net, pre, torch.addmm(net.l2.bias, torch.relu(pre), w2), proj[:, :H],
                           proj[:, H:] if S3 else None, mu[k][:P] if S3 else None, w_off)
    return track, reach, stretch


# The contraction term (``contract_weight``): a step that stretches some direction of the
# deviation (spectral norm of its Jacobian > 1) lets a long run grow along it, under a
# target held out of reach for seconds as far as overflow (docs/decisions.md). Penalising
# the stretch at noisy states near the training rollouts, under their targets, teaches
# steps that do not stretch there.
POWER_ITERATIONS = 4
PROBES = 16  # states per batch: the stretch needs few, and each one costs build time


def step_stretch(torch, net, pre1, pre2, w1_dev, slot_map, mu, w_off, iterations=POWER_ITERATIONS):
    """(B,) the largest stretch of one step's map dev -> next dev at each sample's state,
    i.e. the spectral norm of its Jacobian decay * I + W1' D1 W2 D2 W3 (row vectors; W1'
    includes the target offsets' dependence on the deviation: ``slot_map`` (m, 3S), ``mu``
    (B, 3S) mask / unit, ``w_off`` (3S, H); D the ReLU gates of the pre-activations
    ``pre1``, ``pre2`` (B, H)), by power iteration: the vector is found without gradients,
    the norm of its image has them."""
    d1, d2 = (pre1 > 0).to(pre1.dtype), (pre2 > 0).to(pre2.dtype)
    w2, w3 = net.l2.weight.t(), net.l3.weight.t()

    def forward(u):
        a = u @ w1_dev
        if slot_map is not None:
            a = a - ((u @ slot_map) * mu) @ w_off
        return net.decay * u + ((a * d1) @ w2 * d2) @ w3

    def backward(v):
        x = ((v @ w3.t()) * d2 @ w2.t()) * d1
        out = x @ w1_dev.t()
        if slot_map is not None:
            out = out - ((x @ w_off.t()) * mu) @ slot_map.t()
        return net.decay * v + out

    with torch.no_grad():
        u = torch.ones(pre1.shape[0], w1_dev.shape[0], dtype=pre1.dtype, device=pre1.device)
        for _ in range(iterations):
            u = backward(forward(u))
            u = u / u.norm(dim=1, keepdim=True).clamp(min=1e-12)
    return forward(u).norm(dim=1)


def _tables(torch, data):
    """The training data's arrays as tensors, plus ``slot_map`` (m, 3S): deviation -> slot offsets."""
    T = {k: torch.from_numpy(v) for k, v in data.items() if isinstance(v, np.ndarray)}
    T["slot_map"] = T["basis_pos"] * T["scale_pos"]
    return T


def _network(torch, data, s):
    from .model import Stepper  # the model imports torch: only when training runs
    return Stepper(data["clip_coords"].shape[-1], data["cond_code"].shape[1] - 1, data["slots"], s.hidden, data["decay"])


def _fit(torch, device, data, s, report, stop, t0):
    T = _tables(torch, data)
    S = data["slots"]
    net = _network(torch, data, s).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=s.lr)
    steps, K = s.steps, max(1, s.rollout)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s.lr, total_steps=steps, pct_start=0.15)
    gen = torch.Generator(device="cpu").manual_seed(s.seed)
    slot_map = T["slot_map"].to(device)
    off_cols = target_offset_columns(torch, net.code_dim, S).to(device)
    ew, cw = s.effector_weight, s.contract_weight
    loss_val, every = float("nan"), max(1, steps // 50)
    batches = []
    seen = torch.zeros(net.dev_dim)  # per coordinate, the largest deviation trained on
    asked = [[] for _ in range(S)]    # per slot, the offsets asked at target frames
    for step in range(steps):
        if stop():
            raise Cancelled("build cancelled")
        if not batches:
            batches = _batch_chunk(torch, data, T, s, gen, K, min(CHUNK_STEPS, steps - step))[::-1]
        b = batches.pop()
        seen = torch.maximum(seen, torch.maximum(b["teacher"].abs().amax(dim=(0, 1)), b["c0"].abs().amax(dim=0)))
        if S:
            lengths = b["want"].view(*b["want"].shape[:2], S, 3).norm(dim=-1)
            hit = b["reach_w"].view(*b["want"].shape[:2], S, 3)[..., 0] > 0
            for k in range(S):
                asked[k].append(lengths[..., k][hit[..., k]])
        b = {k: v.to(device) for k, v in b.items()}
        b["off_cols"] = off_cols
        probe = s.contract_noise * torch.randn(PROBES, net.dev_dim, generator=gen).to(device) if cw > 0 else None
        track, reach, stretch = _rollout_loss(torch, net, b, K, slot_map, probe)
        loss = (track + ew * reach) / K
        if stretch is not None:
            loss = loss + cw * torch.relu(stretch - 1.0).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % every == 0 or step == steps - 1:
            loss_val = float(loss.detach())
            el = time.perf_counter() - t0
            report(0.05 + 0.9 * (step + 1) / steps, "training", step=step + 1, total=steps, loss=loss_val,
                   eta_s=el / (step + 1) * (steps - step - 1))
    net = net.cpu()
    # The rollout never leaves the range it was trained on: a closed loop through the
    # target features that amplifies itself (long moving-target runs) stays bounded.
    net.dev_limit.copy_(DEV_LIMIT_MARGIN * seen)
    return net, loss_val, slot_clamps(asked, s.slot_clamp_percentile, data["target_clamp"])


def slot_clamps(asked, percentile, clamp):
    """Per slot, the longest offset the runtime asks of the network (skeleton units): the
    ``percentile`` of the offsets it was trained to reach there, at most ``clamp``."""
    out = []
    for parts in asked:
        lengths = np.concatenate([p.detach().cpu().numpy().ravel() for p in parts]) if parts else np.zeros(0)
        out.append(float(min(clamp, np.percentile(lengths, percentile))) if len(lengths) else float(clamp))
    return out
