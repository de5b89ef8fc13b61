"""The training's fast paths compute what the plain formulation does: the fused rollout
(train._rollout_loss) against stepping the network, the Gram-matrix principal directions
against an SVD."""
import dataclasses
import types

import numpy as np
import pytest

from motiondna.engine.generator import dna as dna_mod
from motiondna.engine.generator import train
from motiondna.engine.io.bvh import read_bvh

from conftest import CLIP, needs_torch

pytestmark = needs_torch


@pytest.fixture(scope="module")
def clip_data():
    clip = read_bvh(CLIP).to_motion()
    s = train.resolve_settings({"batch": 16})
    dna, info, layout, _ = dna_mod.build_dna(clip, s.code_tolerance_cm, s.max_codes)
    data = train._training_data(clip, dna, info, layout, dna_mod.baseline_states(dna, layout), s,
                                np.random.default_rng(0))
    return s, data


def _reference_loss(torch, net, b, K, T, data):
    """The rollout as Stepper.forward sees it: the full cond per step, recomputed from the
    state (train.target_features_torch), the losses summed step by step."""
    B, S, unit = len(b["c0"]), data["slots"], data["target_unit"]
    code = b["static"][..., :net.code_dim + 1]
    f = b["static"][..., net.code_dim + 1:].reshape(B, K, S, 5)
    want = b["want"].reshape(B, K, S, 3)
    hit = (b["reach_w"] * unit ** 2).reshape(B, K, S, 3)[..., 0]
    c, track, reach = b["c0"], 0.0, 0.0
    for k in range(K):
        cur = (c @ T["slot_map"]).view(B, S, 3)
        feats = train.target_features_torch(torch, cur, f[:, k, :, :3] * unit, f[:, k, :, 3], f[:, k, :, 4],
                                            unit, data["target_clamp"])
        c = net(c, torch.cat([code[:, k], feats], -1))
        track = track + torch.mean((c - b["teacher"][:, k]) ** 2)
        miss = ((c @ T["slot_map"]).view(B, S, 3) - want[:, k]) / unit
        reach = reach + torch.sum(hit[:, k, :, None] * miss ** 2) / (B * S)
    return track + reach


def test_training_rollout_is_stepping_the_network(clip_data):
    """Same loss and gradients as Stepper.forward."""
    import torch
    s, data = clip_data
    T = train._tables(torch, data)
    torch.manual_seed(0)
    net = train._network(torch, data, s)
    with torch.no_grad():  # a trained-looking network: nothing zero
        net.l3.weight.normal_(0, 0.05)
        net.l3.bias.normal_(0, 0.05)
    params = list(net.parameters())
    K = 4
    b = train._batch(torch, data, T, s, torch.Generator().manual_seed(3), K, 16)
    b["off_cols"] = train.target_offset_columns(torch, net.code_dim, data["slots"])
    assert float(b["reach_w"].sum()) > 0  # some effector loss in the batch
    track, reach, _ = train._rollout_loss(torch, net, b, K, T["slot_map"])
    fast = track + reach
    fast_grads = torch.autograd.grad(fast, params)
    slow = _reference_loss(torch, net, b, K, T, data)
    slow_grads = torch.autograd.grad(slow, params)
    np.testing.assert_allclose(float(fast.detach()), float(slow.detach()), rtol=1e-5)
    for a, g in zip(fast_grads, slow_grads):
        np.testing.assert_allclose(a.numpy(), g.numpy(), rtol=1e-4, atol=1e-6 * float(g.abs().max()))


def test_batches_made_together_are_whole_batches(clip_data):
    import torch
    s, data = clip_data
    T = train._tables(torch, data)
    chunk = train._batch_chunk(torch, data, T, s, torch.Generator().manual_seed(0), 8, 3)
    assert len(chunk) == 3
    for b in chunk:
        assert b["c0"].shape == (s.batch, data["clip_coords"].shape[1])
        assert b["teacher"].shape == (s.batch, 8, data["clip_coords"].shape[1])
        assert all(torch.isfinite(v).all() for v in b.values())
    assert not torch.equal(chunk[0]["c0"], chunk[1]["c0"])


def test_principal_directions_are_the_svd_directions():
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(2000, 40)) @ rng.normal(size=(40, 40))
    got = train.principal_directions(rows, 12)
    want = np.linalg.svd(rows, full_matrices=False)[2][:12]
    np.testing.assert_allclose(np.abs(np.sum(got * want, axis=1)), 1.0, atol=1e-9)
    assert np.all(got[np.arange(12), np.abs(got).argmax(axis=1)] > 0)


def _targeted_state(torch, net, data, s, P=12):
    """P states with active targets: the deviation c (P, m) and a function c -> the full
    cond (code, phase and target features recomputed from c, as the runtime does)."""
    T = train._tables(torch, data)
    b = train._batch(torch, data, T, dataclasses.replace(s, target_prob=1.0), torch.Generator().manual_seed(5), 4, P)
    S, unit, k = data["slots"], data["target_unit"], 2
    code = b["static"][:, k, :net.code_dim + 1]
    f = b["static"][:, k, net.code_dim + 1:].reshape(P, S, 5)

    def cond(c, rows=slice(None)):
        cur = (c @ T["slot_map"]).view(-1, S, 3)
        g = f[rows]
        feats = train.target_features_torch(torch, cur, g[..., :3] * unit, g[..., 3], g[..., 4], unit,
                                            data["target_clamp"])
        return torch.cat([code[rows], feats], -1)
    return b["c0"] + 0.5 * torch.randn(b["c0"].shape, generator=torch.Generator().manual_seed(6)), cond, f[..., 4], T


def test_step_stretch_is_the_jacobians_spectral_norm(clip_data):
    """The contraction term's stretch is the largest singular value of d next / d dev of
    Stepper.forward, target features included (autograd Jacobian, SVD)."""
    import torch
    s, data = clip_data
    torch.manual_seed(1)
    net = train._network(torch, data, s)
    with torch.no_grad():  # an expanding network, so the term has something to measure
        net.l3.weight.normal_(0, 0.3)
    c, cond, mask, T = _targeted_state(torch, net, data, s)
    assert float(mask.sum()) > 0
    m, unit = net.dev_dim, data["target_unit"]
    x = torch.cat([c, cond(c)], -1)
    pre1 = net.l1(x)
    pre2 = net.l2(torch.relu(pre1))
    off_cols = train.target_offset_columns(torch, net.code_dim, data["slots"])
    w_off = net.l1.weight[:, m:][:, off_cols].t()
    mu = (mask[..., None].expand(-1, -1, 3) / unit).reshape(len(c), -1)
    with torch.no_grad():
        got = train.step_stretch(torch, net, pre1, pre2, net.l1.weight[:, :m].t(), T["slot_map"], mu, w_off,
                                 iterations=200)
    want = []
    for i in range(len(c)):
        J = torch.autograd.functional.jacobian(lambda ci, i=i: net(ci[None], cond(ci[None], [i]))[0], c[i])
        want.append(float(torch.linalg.matrix_norm(J, ord=2)))
    assert max(want) > 1.0
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-4)


def _stretch_after_training(clip_data, contract_weight):
    """Largest per-step stretch at noisy rollout states of a network trained (300 steps)
    with the given contraction weight."""
    import torch
    _, data = clip_data
    s = train.resolve_settings({"contract_weight": contract_weight})
    torch.manual_seed(0)
    net, _, _ = train._fit(torch, "cpu", data, s, lambda *a, **k: None, lambda: False, 0.0)
    T = train._tables(torch, data)
    b = train._batch(torch, data, T, s, torch.Generator().manual_seed(9), 8, 256)
    b["off_cols"] = train.target_offset_columns(torch, net.code_dim, data["slots"])
    probe = torch.randn(256, net.dev_dim, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        _, _, stretch = train._rollout_loss(torch, net, b, 8, T["slot_map"], probe)
    return stretch.numpy()


def test_the_contraction_term_keeps_steps_from_stretching(clip_data):
    """Trained with the term (the default), a step stretches almost no direction of the
    deviation at states near the training rollouts; without it, a good share of them
    (the seed of a long run's growth under held targets)."""
    free = _stretch_after_training(clip_data, 0.0)
    held = _stretch_after_training(clip_data, train.Settings().contract_weight)
    assert np.mean(free > 1.0) > 0.2
    assert np.mean(held > 1.0) < 0.5 * np.mean(free > 1.0)
    assert np.percentile(held, 90) < np.percentile(free, 90) - 0.2


def _all_free(s):
    """``s`` with ``free_prob`` 1, which ``Settings`` refuses (a build needs samples with
    targets) but the batch maker takes: it reads the settings as attributes."""
    return types.SimpleNamespace(**dict(dataclasses.asdict(s), free_prob=1.0))


def test_free_samples_follow_the_clip_without_targets(clip_data):
    """``free_prob`` 1: no sample has a target or a variation, so the teacher is the clip's
    own DNA frame (zero deviation); with the default share, other samples do vary."""
    import torch
    s, data = clip_data
    T = train._tables(torch, data)
    gen = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    free = train._batch(torch, data, T, _all_free(s), gen(), 8, 16)
    assert float(free["reach_w"].sum()) == 0.0 and float(free["mu"].abs().sum()) == 0.0
    assert float(free["teacher"].abs().max()) == 0.0
    mixed = train._batch(torch, data, T, s, gen(), 8, 64)
    assert float(mixed["teacher"].abs().amax(dim=(1, 2)).max()) > 0.0 and float(mixed["reach_w"].sum()) > 0.0


def test_slot_clamps_are_a_percentile_of_the_offsets_trained_on():
    import torch
    asked = [[torch.arange(1.0, 51.0), torch.arange(51.0, 101.0)], [torch.tensor([1000.0])], []]
    out = train.slot_clamps(asked, 90.0, 500.0)
    assert out[0] == pytest.approx(np.percentile(np.arange(1.0, 101.0), 90.0))
    assert out[1] == 500.0  # never beyond the global clamp
    assert out[2] == 500.0  # a slot never asked: the global clamp


@pytest.mark.parametrize("bad", [{"slot_clamp_percentile": 0.0}, {"slot_clamp_percentile": 150.0},
                                 {"free_prob": 1.0}, {"free_prob": -0.1}])
def test_out_of_range_sampling_settings_are_refused_before_training(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        train.resolve_settings(bad)
