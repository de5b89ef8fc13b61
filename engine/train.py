"""Build a per-clip generator: DNA, augmented training data, a few seconds of training.

Training data comes from the one clip (hindsight relabelling): copies of the clip with
smooth random additive layers (windowed rotation offsets along the effector chains and the
spine, windowed root offsets) are each a valid "targets -> motion" example, where the
targets are the copy's own future effector positions. The network sees the copy's
deviation from the DNA frame, the DNA code of the next frame and, per effector slot, the
target offset in the heading frame plus time-to-target; it predicts the next deviation.
Input noise (denoising) keeps long rollouts stable. torch is imported lazily.
"""
import os
import platform
import time

import numpy as np

from . import dna as dna_mod
from . import features, generator_file, ik, quat
from .fileformat import motion_hash
from .skeleton import forward_kinematics

DEFAULTS = {
    "seed": 0, "steps": 600, "batch": 256, "lr": 3e-3, "hidden": 128, "device": "auto",
    "threads": 2, "dev_dims": 48, "noise": 0.2, "slot_weight": 0.0, "target_prob": 0.5,
    "horizon_s": 1.0, "half_life_s": 0.15, "offset_half_life_s": 0.12,
    "layer_angle": 0.3,
    "code_tolerance_cm": 0.3, "max_codes": 64,
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
# Augmentation by *linearised atoms*: for every joint of every effector chain (and the
# spine) and every rotation axis, the change of the whole state sequence per radian of a
# local rotation offset (finite difference, one encode per atom). A random smooth additive
# layer — a windowed combination of one chain's atoms — is then a few multiply-adds, so
# every training sample gets a fresh layer (no memorising a fixed set of copies) and the
# hindsight target (where the layer puts the effector at the target frame) comes with it.

ATOMS_PER_EVENT = 9  # up to 3 joints x 3 axes


def _event_joints(skeleton, effectors):
    events = [ik.effector_chain(skeleton, e)[:3] for e in effectors]
    if effectors:
        spine = [j for j in skeleton.chain(effectors[-1]) if skeleton.parents[j] >= 0]
        spine = [j for j in spine if j != effectors[-1]][1:4]
        if spine:
            events.append(spine)
    return [e for e in events if e]


def _atoms(motion, enc, layout, dna, base, effectors, eps=0.1):
    """State atoms (E, 9, F, D) normalised, and slot-offset atoms (E, 9, F, S, 3)."""
    sk, F = motion.skeleton, motion.num_frames
    events = _event_joints(sk, effectors)
    D, S = layout.size, len(effectors)
    state_atoms = np.zeros((len(events), ATOMS_PER_EVENT, F, D))
    slot_atoms = np.zeros((len(events), ATOMS_PER_EVENT, F, S, 3))
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
                off = pe.positions[:, effectors] - enc.positions[:, effectors]
                slot_atoms[e, 3 * i + ax] = features.heading_frame_offsets(off, enc.headings[:, None], sk.up_axis) / eps
    return state_atoms, slot_atoms, events


def _training_data(motion, dna, info, layout, base, s, rng):
    sk, F = motion.skeleton, motion.num_frames
    effectors = info["effectors"]
    enc = features.encode(motion, forward_local=dna["forward_local"], layout=layout)
    state_atoms, slot_atoms, events = _atoms(motion, enc, layout, dna, base, effectors)
    E = len(events)
    # Deviation basis: principal directions of the atoms (whole-body coordination of the
    # layers) plus the clip's own DNA-vs-state residual, so the network works in m dims.
    flat = state_atoms.reshape(-1, layout.size)
    _, _, vt = np.linalg.svd(flat[rng.permutation(len(flat))[:4000]] if len(flat) > 4000 else flat,
                             full_matrices=False)
    m = int(min(s["dev_dims"], vt.shape[0]))
    basis = vt[:m]
    atom_coords = state_atoms @ basis.T                                   # (E, 9, F, m)
    residual = ((enc.states - base) / dna["scale"]) @ basis.T             # (F, m): the clip itself
    cols = np.concatenate([layout.pos_index(j) for j in effectors]) if effectors else np.zeros(0, int)
    cond_code = np.concatenate([dna["codes"], dna["phase"][:, None]], axis=1)
    return {
        "atom_coords": atom_coords.astype(np.float32), "slot_atoms": slot_atoms.astype(np.float32),
        "residual": residual.astype(np.float32), "cond_code": cond_code.astype(np.float32),
        "basis_pos": basis[:, cols].astype(np.float32), "scale_pos": dna["scale"][cols].astype(np.float32),
        "dev_basis": basis.astype(np.float32), "num_events": E, "frames": F,
        "decay": _decay(s["half_life_s"], motion.fps), "target_unit": 0.1 * sk.span(),
        "horizon": max(2.0, s["horizon_s"] * motion.fps), "slots": len(effectors), "fps": motion.fps,
    }


def _sample_layers(torch, data, T, ti, tt, s, gen):
    """Random windowed layers for a batch: deviation coords at frames ti and ti+1, and the
    slot offsets they cause at the target frames tt (B, S)."""
    B = len(ti)
    fps, H = data["fps"], data["horizon"]
    x = torch.zeros(B, data["atom_coords"].shape[-1])
    y = torch.zeros_like(x)
    want = torch.zeros(B, data["slots"], 3)
    for _ in range(2):  # up to two overlapping events
        ev = torch.randint(0, data["num_events"], (B,), generator=gen)
        amp = torch.randn(B, ATOMS_PER_EVENT, generator=gen) * float(s["layer_angle"])
        amp = amp * (torch.rand(B, 1, generator=gen) < 0.8).float()
        width = (0.25 + 0.55 * torch.rand(B, generator=gen)) * fps
        centre = ti.float() - width + torch.rand(B, generator=gen) * (2 * width + H)

        def w(f):
            c_, w_ = (centre, width) if f.dim() == 1 else (centre[:, None], width[:, None])
            d = (f.float() - c_) / w_
            return torch.where(d.abs() < 1, 0.5 * (1 + torch.cos(torch.pi * d)), torch.zeros_like(d))

        A = T["atom_coords"]
        x = x + w(ti)[:, None] * torch.einsum("ba,bam->bm", amp, A[ev, :, ti])
        y = y + w(ti + 1)[:, None] * torch.einsum("ba,bam->bm", amp, A[ev, :, ti + 1])
        wt = w(tt)                                                         # (B, S)
        for k in range(data["slots"]):
            SA = T["slot_atoms"][ev, :, tt[:, k], k]                       # (B, 9, 3)
            want[:, k] += wt[:, k, None] * torch.einsum("ba,bak->bk", amp, SA)
    return x, y, want


# ---------------------------------------------------------------- fitting

def target_features_torch(torch, cur_dev, want_dev, tau, mask, unit):
    """Per-slot target features (B, S*5): the deviation from the clip that the target asks
    for at its frame (heading frame) minus the slot joint's current deviation; time to
    target; mask. Comparing deviations (not raw positions) makes the feature independent
    of where the clip itself moves the joint meanwhile."""
    off = (want_dev - cur_dev) / unit * mask[..., None]
    return torch.cat([off, tau[..., None] * mask[..., None], mask[..., None]], dim=-1).flatten(1)


def _fit(torch, device, data, s, report, stop, t0):
    from .model import Stepper
    T = {k: torch.from_numpy(v) for k, v in data.items() if isinstance(v, np.ndarray)}
    F, m = data["frames"], data["atom_coords"].shape[-1]
    S = data["slots"]
    net = Stepper(m, data["cond_code"].shape[1] - 1, S, int(s["hidden"]), data["decay"]).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=float(s["lr"]))
    steps, B = int(s["steps"]), int(s["batch"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=float(s["lr"]), total_steps=steps, pct_start=0.15)
    gen = torch.Generator(device="cpu").manual_seed(int(s["seed"]))
    H, unit = data["horizon"], data["target_unit"]
    noise_sd = float(s["noise"])
    loss_val, every = float("nan"), max(1, steps // 50)
    for step in range(steps):
        if stop():
            raise Cancelled("build cancelled")
        ti = torch.randint(0, F - 1, (B,), generator=gen)
        tt = torch.clamp(ti[:, None] + 1 + (torch.rand(B, max(S, 1), generator=gen) * H).long(), max=F - 1)[:, :S]
        x, y, want = _sample_layers(torch, data, T, ti, tt, s, gen)
        x = x + T["residual"][ti] + noise_sd * torch.randn(B, m, generator=gen)
        y = y + T["residual"][ti + 1]
        cond = T["cond_code"][ti + 1]
        if S:
            mask = (torch.rand(B, S, generator=gen) < float(s["target_prob"])).float()
            tau = (tt - (ti[:, None] + 1)).float() / H
            cur = ((x @ T["basis_pos"]) * T["scale_pos"]).view(B, S, 3)
            cond = torch.cat([cond, target_features_torch(torch, cur, want, tau, mask, unit)], dim=-1)
        pred = net(x.to(device), cond.to(device))
        err = pred - y.to(device)
        loss = torch.mean(err ** 2)
        if S and float(s["slot_weight"]) > 0:
            # The effectors' own next positions matter most: that is where targets act.
            slot_err = (err @ T["basis_pos"].to(device)) * T["scale_pos"].to(device) / unit
            loss = loss + float(s["slot_weight"]) * torch.mean(slot_err ** 2)
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
