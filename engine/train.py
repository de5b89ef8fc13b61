"""Build a per-clip generator: DNA, clip-like training variations, a few seconds of training.

Training data comes from the one clip (hindsight relabelling): copies of the clip with one
smooth windowed variation each — a cross-fade to a similar moment, a time-warp, or a
linearised rotation layer along an effector chain — are each a valid "targets -> motion"
example, the targets being where the variation puts the effectors. The network is trained
on short rollouts of its own steps (truncated BPTT) toward those sequences, with a loss on
the effectors at the target frames; input noise keeps long rollouts stable. torch is
imported lazily. See docs/engine.md.
"""
import os
import platform
import time

import numpy as np

from . import dna as dna_mod
from . import features, generator_file, ik, quat
from .fileformat import motion_hash

DEFAULTS = {
    "seed": 0, "steps": 300, "batch": 64, "lr": 3e-3, "hidden": 128, "device": "auto",
    "threads": 1, "dev_dims": 48, "noise": 0.2, "rollout": 8, "effector_weight": 1.0,
    "target_prob": 0.6, "move_prob": 0.25, "crossfade_prob": 0.5, "warp_prob": 0.2,
    "horizon_s": 1.0, "half_life_s": 0.15, "offset_half_life_s": 0.12, "layer_angle": 0.3,
    "target_clamp": 0.3, "pull": False, "code_tolerance_cm": 0.3, "max_codes": 64,
}


class Cancelled(Exception):
    """The build was stopped by ``should_stop``."""


def resolve_settings(settings):
    s = dict(DEFAULTS)
    unknown = set(settings or {}) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown generator setting(s): {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(sorted(DEFAULTS))})")
    s.update(settings or {})
    if int(s["steps"]) < 1:
        raise ValueError("settings.steps must be at least 1")
    return s


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
    motion.validate(min_frames=4)
    import torch
    t_torch = time.perf_counter() - t_start
    torch.manual_seed(int(s["seed"]))
    torch.set_num_threads(max(1, int(s["threads"])))
    device = _device(torch, s["device"])
    rng = np.random.default_rng(int(s["seed"]))
    stop = should_stop or (lambda: False)
    report = progress or (lambda fraction, message="", **fields: None)

    report(0.0, "reading the clip's DNA")
    t_train0 = time.perf_counter()
    dna, info, layout, enc = dna_mod.build_dna(motion, s["code_tolerance_cm"], s["max_codes"])
    base = dna_mod.baseline_states(dna, layout)
    if stop():
        raise Cancelled("build cancelled")
    report(0.02, "making training variations")
    data = _training_data(motion, dna, info, layout, base, s, rng)
    if stop():
        raise Cancelled("build cancelled")
    net, loss = _fit(torch, device, data, s, report, stop, t_train0)
    train_seconds = time.perf_counter() - t_train0

    arrays = dict(dna)
    arrays["dev_basis"] = data["dev_basis"]
    arrays.update(net.to_arrays())
    meta = {
        "skeleton": motion.skeleton.to_dict(), "fps": motion.fps, "num_frames": motion.num_frames,
        "source_name": motion.name, "source_hash": motion_hash(motion),
        "layout": {"num_joints": layout.num_joints, "moving": list(layout.moving)},
        "dna_info": info,
        "network": {"decay": data["decay"], "hidden": int(s["hidden"]), "slots": info["effectors"],
                    "target_unit": data["target_unit"], "horizon": data["horizon"],
                    "target_clamp": data["target_clamp"],
                    "offset_decay": _decay(s["offset_half_life_s"], motion.fps)},
        "settings": s,
        "build": {"train_seconds": train_seconds, "torch_import_seconds": t_torch, "device": device,
                  "steps": int(s["steps"]), "final_loss": loss, "torch": torch.__version__,
                  "python": platform.python_version(), "created": time.strftime("%Y-%m-%dT%H:%M:%S")},
    }
    generator_file.save(out_path, arrays, meta)
    report(1.0, "saved", step=int(s["steps"]), total=int(s["steps"]), loss=loss, eta_s=0.0)
    return {"path": str(out_path), "train_seconds": train_seconds, "torch_import_seconds": t_torch,
            "size_bytes": os.path.getsize(out_path), "steps": int(s["steps"]), "final_loss": loss,
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


def _atoms(motion, enc, layout, dna, effectors, eps=0.1):
    """State atoms (E, 9, F, D): normalised state change per radian of a local rotation."""
    sk, F = motion.skeleton, motion.num_frames
    events = _event_joints(sk, effectors)
    state_atoms = np.zeros((len(events), ATOMS_PER_EVENT, F, layout.size))
    for e, joints in enumerate(events):
        for i, j in enumerate(joints):
            for ax in range(3):
                vec = np.zeros(3)
                vec[ax] = eps
                rots = motion.rotations.copy()
                rots[:, j] = quat.mul(rots[:, j], quat.from_scaled_axis(vec))
                pert = type(motion)(sk, rots, motion.translations, motion.fps, motion.name)
                pe = features.encode(pert, forward_local=dna["forward_local"], layout=layout)
                state_atoms[e, 3 * i + ax] = (pe.states - enc.states) / eps / dna["scale"]
    return state_atoms


def pose_neighbours(codes, fps, count=NEIGHBOURS, min_gap_s=0.25):
    """(F, count) frames whose DNA code is nearest each frame's, at least ``min_gap_s``
    away in time (so a cross-fade goes to a *different* moment); falls back to random
    frames for clips too short to have any."""
    F = len(codes)
    gap = max(1, int(round(min_gap_s * fps)))
    sq = np.einsum("ij,ij->i", codes, codes)
    out = np.empty((F, count), dtype=np.int64)
    for s in range(0, F, 512):
        d = sq[s:s + 512, None] + sq[None] - 2.0 * codes[s:s + 512] @ codes.T
        rows = np.arange(s, min(s + 512, F))
        near = np.abs(rows[:, None] - np.arange(F)[None]) < gap
        d[near] = np.inf
        if F - 2 * gap + 1 < count:
            out[rows] = (rows[:, None] + gap + np.arange(count)[None]) % F
            continue
        out[rows] = np.argpartition(d, count - 1, axis=1)[:, :count]
    return out


def _training_data(motion, dna, info, layout, base, s, rng):
    sk, F = motion.skeleton, motion.num_frames
    effectors = info["effectors"]
    enc = features.encode(motion, forward_local=dna["forward_local"], layout=layout)
    state_atoms = _atoms(motion, enc, layout, dna, effectors)
    E = len(state_atoms)
    keep_root = dna_mod.trajectory_columns(layout)
    norm = enc.states / dna["scale"]
    norm[:, keep_root] = 0.0                       # variations never touch the root trajectory
    neighbours = pose_neighbours(dna["codes"], motion.fps)
    # Deviation basis: principal directions of the variations the network will see (pose
    # differences to neighbouring moments, atom layers), plus the clip's own DNA residual.
    i = rng.integers(0, F, 3000)
    pairs = norm[neighbours[i, rng.integers(0, NEIGHBOURS, len(i))]] - norm[i]
    atoms = state_atoms.reshape(-1, layout.size)
    atoms = atoms[rng.permutation(len(atoms))[:3000]] * float(s["layer_angle"])
    residual_full = (enc.states - base) / dna["scale"]
    pool = np.concatenate([pairs, atoms, residual_full[rng.integers(0, F, 500)]])
    _, _, vt = np.linalg.svd(pool, full_matrices=False)
    m = int(min(s["dev_dims"], vt.shape[0]))
    basis = vt[:m]
    cols = np.concatenate([layout.pos_index(j) for j in effectors]) if effectors else np.zeros(0, int)
    slot_basis = basis[:, cols] * dna["scale"][cols]                  # (m, 3S) deviation -> slot offsets
    coords = pool @ basis.T
    pull_gain = least_change_gain(coords.T @ coords / len(coords), slot_basis)
    if not s["pull"]:
        pull_gain = np.zeros_like(pull_gain)
    cond_code = np.concatenate([dna["codes"], dna["phase"][:, None]], axis=1)
    f32 = np.float32
    return {
        # (E, F, 9 m): one gather per batch picks every atom of an event at every frame.
        "atom_table": np.ascontiguousarray((state_atoms @ basis.T).transpose(0, 2, 1, 3)).reshape(E, F, -1).astype(f32),
        "clip_coords": (norm @ basis.T).astype(f32),                 # (F, m) pose part of each frame
        "neighbours": neighbours, "residual": (residual_full @ basis.T).astype(f32),
        "cond_code": cond_code.astype(f32),
        "basis_pos": basis[:, cols].astype(f32), "scale_pos": dna["scale"][cols].astype(f32),
        "slot_basis": slot_basis.astype(f32), "pull_gain": pull_gain.astype(f32),
        "dev_basis": basis.astype(f32), "num_events": E, "frames": F,
        "decay": _decay(s["half_life_s"], motion.fps), "target_unit": 0.1 * sk.span(),
        "target_clamp": float(s["target_clamp"]) * sk.span(),
        "horizon": max(2.0, s["horizon_s"] * motion.fps), "slots": len(effectors), "fps": motion.fps,
    }


def least_change_gain(cov, slot_basis, ridge=1e-3):
    """(3S, m): for slot offsets y, the deviation c = y @ G with slot_basis^T c = y that is
    most likely under a Gaussian with the variations' covariance ``cov`` (m, m):
    G^T = cov P (P^T cov P)^-1. The deviation that reaches a target is thus made of the
    clip's own co-variations (other moments' poses), and keeps the other slots still."""
    P = slot_basis
    a = P.T @ cov @ P
    a = a + ridge * np.trace(a) / max(len(a), 1) * np.eye(len(a))
    return np.linalg.solve(a, (cov @ P).T)


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
    return table[i0] * (1 - a) + table[i1] * a


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
    fade_kind = kind < float(s["crossfade_prob"])
    pick = torch.randint(0, NEIGHBOURS, (B,), generator=gen)
    j = torch.where(fade_kind, T["neighbours"][frames[:, 0], pick], frames[:, 0]).float()
    warp = torch.where(fade_kind, 0.1, 0.2)
    speed = 1.0 + warp * (2 * torch.rand(B, generator=gen) - 1)
    src = j[:, None] + speed[:, None] * (frames.float() - t0[:, None])
    fade = _lerp_rows(torch, T["clip_coords"], src) - T["clip_coords"][frames]
    is_atom = (kind >= float(s["crossfade_prob"]) + float(s["warp_prob"])).float()[:, None, None]
    dev = (1 - is_atom) * w[..., None] * fade + is_atom * _atom_layer(torch, data, T, frames, w, s, gen)
    # A second, independent atom layer on some samples: combined edits.
    w2 = _window(torch, frames, t0 - width + torch.rand(B, generator=gen) * (2 * width + H), width)
    w2 = w2 * (torch.rand(B, 1, generator=gen) < 0.3).float()
    return dev + w2[..., None] * _atom_layer(torch, data, T, frames, torch.ones_like(w2), s, gen)


def _atom_layer(torch, data, T, frames, w, s, gen):
    B = frames.shape[0]
    ev = torch.randint(0, data["num_events"], (B,), generator=gen)
    amp = torch.randn(B, ATOMS_PER_EVENT, generator=gen) * float(s["layer_angle"])
    amp = amp * (torch.rand(B, 1, generator=gen) < 0.8).float()
    A = T["atom_table"][ev[:, None], frames]                            # (B, n, 9 m)
    return w[..., None] * torch.einsum("ba,bnam->bnm", amp, A.view(B, frames.shape[1], ATOMS_PER_EVENT, -1))


# ---------------------------------------------------------------- fitting

def target_features_torch(torch, cur_dev, want_dev, tau, mask, unit, clamp):
    """Per-slot target features (..., S*5): the deviation from the clip that the target
    asks for at its frame (heading frame; its length clamped to ``clamp`` so a far target
    pulls hard but never out of the trained range) minus the slot joint's current
    deviation; time to target; mask. Comparing deviations (not raw positions) makes the
    feature independent of where the clip itself moves the joint meanwhile."""
    norm = want_dev.norm(dim=-1, keepdim=True)
    want_dev = want_dev * torch.clamp(clamp / torch.clamp(norm, min=1e-9), max=1.0)
    off = (want_dev - cur_dev) / unit * mask[..., None]
    return torch.cat([off, tau[..., None] * mask[..., None], mask[..., None]], dim=-1).flatten(-2)


def _batch(torch, data, T, s, gen, K):
    """One batch of rollout material: frames (B, K+1), teacher deviations (B, K+1, m), and
    per step the slot targets (want (B, K, S, 3), tau, mask) and where the effector loss
    applies (hit). Static targets sit half inside the rollout (the loss sees them reached),
    half up to the horizon ahead; a share of the samples follow a moving target (one on
    every frame, time to target 0) instead."""
    F, S, H, B = data["frames"], data["slots"], data["horizon"], int(s["batch"])
    ti = torch.randint(0, max(F - K, 1), (B,), generator=gen)
    frames = torch.clamp(ti[:, None] + torch.arange(K + 1)[None], max=F - 1)
    near = 1 + (torch.rand(B, S, generator=gen) * K).long()
    far = 1 + (torch.rand(B, S, generator=gen) * H).long()
    tt = torch.clamp(ti[:, None] + torch.where(torch.rand(B, S, generator=gen) < 0.5, near, far), max=F - 1)
    teach_frames = torch.cat([frames, tt], dim=1)
    dev = _sample_variations(torch, data, T, teach_frames, s, gen) + T["residual"][teach_frames]
    pos = ((dev @ T["basis_pos"]) * T["scale_pos"]).view(B, -1, S, 3)  # slot deviations
    teacher = dev[:, :K + 1]
    want_static = pos[:, K + 1:][:, torch.arange(S), torch.arange(S)]   # (B, S, 3): slot k at tt_k
    nxt = frames[:, 1:]                                                  # frame each step predicts
    mask = (torch.rand(B, S, generator=gen) < float(s["target_prob"])).float()
    moving = (torch.rand(B, 1, generator=gen) < float(s["move_prob"])).float()[..., None]
    live = (nxt[:, :, None] <= tt[:, None]).float()                      # target still ahead
    tau = (tt[:, None] - nxt[:, :, None]).float().clamp(min=0) / H * (1 - moving)
    want = moving[..., None] * pos[:, 1:K + 1] + (1 - moving[..., None]) * want_static[:, None]
    step_mask = mask[:, None] * (moving + (1 - moving) * live)
    hit = step_mask * (moving + (1 - moving) * (nxt[:, :, None] == tt[:, None]).float())
    return frames, teacher, want, tau, step_mask, hit


def _fit(torch, device, data, s, report, stop, t0):
    from .model import Stepper
    T = {k: torch.from_numpy(v) for k, v in data.items() if isinstance(v, np.ndarray)}
    m, S = data["clip_coords"].shape[-1], data["slots"]
    net = Stepper(m, data["cond_code"].shape[1] - 1, S, int(s["hidden"]), data["decay"], data["slot_basis"],
                  data["pull_gain"], data["target_unit"], data["horizon"]).to(device)
    net.pull_gain.requires_grad_(bool(s["pull"]))
    opt = torch.optim.Adam(net.parameters(), lr=float(s["lr"]))
    steps, K = int(s["steps"]), max(1, int(s["rollout"]))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=float(s["lr"]), total_steps=steps, pct_start=0.15)
    gen = torch.Generator(device="cpu").manual_seed(int(s["seed"]))
    unit, clamp = data["target_unit"], data["target_clamp"]
    bp, sp = T["basis_pos"].to(device), T["scale_pos"].to(device)
    loss_val, every = float("nan"), max(1, steps // 50)
    for step in range(steps):
        if stop():
            raise Cancelled("build cancelled")
        frames, teacher, want, tau, mask, hit = (x.to(device) for x in _batch(torch, data, T, s, gen, K))
        B = len(frames)
        cond_all = T["cond_code"].to(device)[frames[:, 1:]]
        c = teacher[:, 0] + float(s["noise"]) * torch.randn(B, m, generator=gen).to(device)
        track, reach = 0.0, 0.0
        for k in range(K):
            cond = cond_all[:, k]
            if S:
                cur = ((c @ bp) * sp).view(B, S, 3)
                cond = torch.cat([cond, target_features_torch(torch, cur, want[:, k], tau[:, k], mask[:, k], unit, clamp)], -1)
            c = net(c, cond)
            track = track + torch.mean((c - teacher[:, k + 1]) ** 2)
            if S:
                miss = (((c @ bp) * sp).view(B, S, 3) - want[:, k]) / unit
                reach = reach + torch.sum(hit[:, k, :, None] * miss ** 2) / (B * S)
        loss = (track + float(s["effector_weight"]) * reach) / K
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % every == 0 or step == steps - 1:
            loss_val = float(loss.detach())
            el = time.perf_counter() - t0
            report(0.05 + 0.9 * (step + 1) / steps, "training", step=step + 1, total=steps, loss=loss_val,
                   eta_s=el / (step + 1) * (steps - step - 1))
    return net.cpu(), loss_val
