"""EP's update equals the loss gradient as beta -> 0, checked against two independent
computations: recurrent backprop (implicit differentiation at the fixed point, numpy) and
backprop through time (torch autograd through the same Euler dynamics).

Acceptance criteria: cos >= 0.99 for every projection (issue 2 item 1; issue 9 item 1 for
gamma in {1, 0.5, 0.2, 0.05} and a network with residual skips).
"""

import numpy as np
import pytest
from conftest import random_problem, small_spec

from brian_ep import maths
from brian_ep.maths.phases import run_phases

N_SAMPLES = 3
RELAX_STEPS = 2000  # free phase run far past convergence (residual < 1e-12)


def _setup(spec, seed=0):
    return random_problem(spec, seed, N_SAMPLES)


def _cos(a, b):
    return float(np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def _ep_estimate(spec, arch, params, x, y, beta):
    spec = spec.model_copy(update={"ep": spec.ep.model_copy(update={"beta": beta, "free_steps": RELAX_STEPS, "nudged_steps": RELAX_STEPS})})
    ph = run_phases(arch, params, x, y, spec.ep)
    return maths.ep_gradient(arch, params, x, y, ph.u_a, ph.u_b, ph.beta_a, ph.beta_b, u_free=ph.u_free), ph.u_free


def _assert_matches(g_ep, g_ref, min_cos=0.99, rtol_norm=0.05):
    for name in g_ref.W:
        c = _cos(g_ep.W[name], g_ref.W[name])
        ratio = np.linalg.norm(g_ep.W[name]) / np.linalg.norm(g_ref.W[name])
        assert c >= min_cos, f"projection {name}: cos {c:.5f} < {min_cos}"
        assert abs(ratio - 1) < rtol_norm, f"projection {name}: |EP| / |grad| = {ratio:.4f}"
    for name in g_ref.b:  # by value too: a bias update without its energy weight c_l has the right direction only
        c = _cos(g_ep.b[name], g_ref.b[name])
        ratio = np.linalg.norm(g_ep.b[name]) / np.linalg.norm(g_ref.b[name])
        assert c >= min_cos, f"bias {name}: cos {c:.5f} < {min_cos}"
        assert abs(ratio - 1) < rtol_norm, f"bias {name}: |EP| / |grad| = {ratio:.4f}"


@pytest.mark.parametrize("gamma", [1.0, 0.5, 0.2, 0.05])
@pytest.mark.parametrize("readout", ["none", "softmax"])
def test_centered_ep_matches_recurrent_backprop(gamma, readout):
    spec = small_spec(model__chain__gamma=gamma, model__readout={"kind": readout})
    arch, params, x, y = _setup(spec)
    g_ep, u_free = _ep_estimate(spec, arch, params, x, y, beta=1e-3)
    assert maths.fixed_point_residual(arch, params, u_free, x).max() < 1e-10
    g_rbp = maths.recurrent_backprop_gradient(arch, params, x, y, u_free)
    _assert_matches(g_ep, g_rbp)


def test_residual_network_matches_recurrent_backprop():
    spec = small_spec(
        model__hidden={"count": 5, "size": 4},
        model__chain__gamma=0.5,
        model__residual=[{"topology": "dense_every", "k": 2, "start": 1}],
    )
    arch, params, x, y = _setup(spec)
    assert any(p.kind == "residual" for p in arch.projections)
    g_ep, u_free = _ep_estimate(spec, arch, params, x, y, beta=1e-3)
    _assert_matches(g_ep, maths.recurrent_backprop_gradient(arch, params, x, y, u_free))


def test_energy_weights_set_the_gradient_scale_per_projection():
    """With gamma < 1 the nudge reaches layer l attenuated; without the factor c_post the
    update of each projection (and each bias, c_l) has the gradient's direction but is c_post times
    too small. The check can fail: the naive magnitudes are off by 25x and 5x here."""
    spec = small_spec(model__chain__gamma=0.2)
    arch, params, x, y = _setup(spec)
    assert arch.energy_weights == pytest.approx({"h1": 25.0, "h2": 5.0, "output": 1.0})
    g_ep, u_free = _ep_estimate(spec, arch, params, x, y, beta=1e-3)
    g_rbp = maths.recurrent_backprop_gradient(arch, params, x, y, u_free)
    for name, g in g_ep.W.items():
        c = arch.weight_scale(arch.projection(name))
        naive = g / c
        assert _cos(naive, g_rbp.W[name]) > 0.99
        ratio = np.linalg.norm(naive) / np.linalg.norm(g_rbp.W[name])
        assert ratio == pytest.approx(1.0 / c, rel=0.05), name
    assert set(g_ep.b) == {"h1", "h2", "output"}
    for name, g in g_ep.b.items():  # the biases carry the energy weight of their layer
        c = arch.energy_weights[name]
        np.testing.assert_allclose(g, g_rbp.b[name], rtol=0.05, atol=0.05 * np.abs(g_rbp.b[name]).max())
        naive = g / c
        ratio = np.linalg.norm(naive) / np.linalg.norm(g_rbp.b[name])
        assert ratio == pytest.approx(1.0 / c, rel=0.05), name


def test_one_sided_ep_converges_to_gradient_as_beta_shrinks():
    spec = small_spec(ep__nudging="positive", model__chain__gamma=0.5)
    arch, params, x, y = _setup(spec)
    errors = []
    for beta in (0.1, 0.01, 0.001):
        g_ep, u_free = _ep_estimate(spec, arch, params, x, y, beta)
        g_rbp = maths.recurrent_backprop_gradient(arch, params, x, y, u_free)
        errors.append(max(np.linalg.norm(g_ep.W[k] - g_rbp.W[k]) / np.linalg.norm(g_rbp.W[k]) for k in g_rbp.W))
    assert errors[0] > errors[1] > errors[2]  # O(beta) bias of the one-sided estimate
    assert errors[2] < 0.01


def test_centered_nudging_has_smaller_bias_than_one_sided():
    arch_c = None
    res = {}
    for nudging in ("positive", "centered"):
        spec = small_spec(ep__nudging=nudging)
        arch_c, params, x, y = _setup(spec)
        g_ep, u_free = _ep_estimate(spec, arch_c, params, x, y, beta=0.2)
        g_rbp = maths.recurrent_backprop_gradient(arch_c, params, x, y, u_free)
        res[nudging] = max(np.linalg.norm(g_ep.W[k] - g_rbp.W[k]) / np.linalg.norm(g_rbp.W[k]) for k in g_rbp.W)
    assert res["centered"] < 0.5 * res["positive"]


def _bptt_gradient(arch, params, x, y, n_steps):
    """Gradient of the loss after ``n_steps`` Euler steps from 0, by torch autograd (torch is an
    optional extra: these tests skip without it, the others in this module still run)."""
    torch = pytest.importorskip("torch", reason="torch provides the independent BPTT reference")
    T = torch.float64
    W = {k: torch.tensor(v, dtype=T, requires_grad=True) for k, v in params.W.items()}
    b = {k: torch.tensor(v, dtype=T, requires_grad=True) for k, v in params.b.items()}
    xt, yt = torch.tensor(x, dtype=T), torch.tensor(y, dtype=T)
    rho = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "hard_sigmoid": lambda u: torch.clamp(u, 0, 1)}
    u = {layer.name: torch.zeros(x.shape[0], layer.size, dtype=T) for layer in arch.free_layers}
    for _ in range(n_steps):
        r = {layer.name: rho[layer.activation](u[layer.name]) for layer in arch.free_layers}
        r[arch.input.name] = xt
        I = {layer.name: (b[layer.name] if layer.bias else 0) + torch.zeros_like(u[layer.name]) for layer in arch.free_layers}
        for p in arch.projections:
            I[p.post] = I[p.post] + r[p.pre] @ W[p.name]
            if p.pre != arch.input.name:
                I[p.pre] = I[p.pre] + p.gamma * (r[p.post] @ W[p.name].T)
        u = {layer.name: u[layer.name] + layer.eps * (I[layer.name] - u[layer.name]) for layer in arch.free_layers}
    r_top = rho[arch.top.activation](u[arch.top.name])
    if arch.readout is None:
        loss = 0.5 * ((r_top - yt) ** 2).sum(dim=1).mean()
    else:
        logits = r_top @ W[arch.readout.name]
        loss = -(yt * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
    loss.backward()
    return maths.Params({k: v.grad.numpy() for k, v in W.items()}, {k: v.grad.numpy() for k, v in b.items()})


@pytest.mark.parametrize("gamma", [1.0, 0.2])
@pytest.mark.parametrize("readout", ["none", "softmax"])
def test_centered_ep_matches_bptt(gamma, readout):
    spec = small_spec(model__chain__gamma=gamma, model__readout={"kind": readout})
    arch, params, x, y = _setup(spec)
    g_ep, _ = _ep_estimate(spec, arch, params, x, y, beta=1e-3)
    g_bptt = _bptt_gradient(arch, params, x, y, n_steps=300)
    _assert_matches(g_ep, g_bptt)


def test_bptt_and_recurrent_backprop_agree():
    """The two references agree with each other (a check of the checkers)."""
    spec = small_spec(model__chain__gamma=0.5)
    arch, params, x, y = _setup(spec)
    u_free = maths.relax(arch, params, x, RELAX_STEPS)
    g_rbp = maths.recurrent_backprop_gradient(arch, params, x, y, u_free)
    g_bptt = _bptt_gradient(arch, params, x, y, n_steps=400)
    for k in g_rbp.W:
        np.testing.assert_allclose(g_bptt.W[k], g_rbp.W[k], rtol=1e-6, atol=1e-10)
