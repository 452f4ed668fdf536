"""On a tiny convolutional network, EP's update (the correlation of pre- and post-synaptic
rates at the two nudged states, summed over positions) equals the loss gradient, computed
three other ways: recurrent backprop (implicit differentiation with the convolutions as dense
matrices), finite differences of the loss at the free fixed point (numpy, no adjoint code at
all), and backprop through time with torch's own convolution and pooling, the feedback taken
by autograd from the interaction energy (no transposed-convolution code of ours).
"""

import numpy as np
import pytest
from conftest import conv_spec, random_problem

from brian_ep import maths
from brian_ep.maths.phases import run_phases

RELAX_STEPS = 200  # past convergence for these weights (residual < 1e-12, asserted)


def _cos(a, b):
    return float(np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def _ep(spec, arch, params, x, y, beta=1e-3):
    ep = spec.ep.model_copy(update={"beta": beta, "free_steps": RELAX_STEPS, "nudged_steps": RELAX_STEPS})
    ph = run_phases(arch, params, x, y, ep)
    g = maths.ep_gradient(arch, params, x, y, ph.u_a, ph.u_b, ph.beta_a, ph.beta_b, u_free=ph.u_free)
    return g, ph.u_free


def _assert_matches(g_ep, g_ref, names=None):
    for name in names or g_ref.W:
        c = _cos(g_ep.W[name], g_ref.W[name])
        ratio = np.linalg.norm(g_ep.W[name]) / np.linalg.norm(g_ref.W[name])
        assert c >= 0.99, f"{name}: cos {c:.5f}"
        assert abs(ratio - 1) < 0.05, f"{name}: |EP| / |grad| = {ratio:.4f}"
    for name in g_ref.b if names is None else ():
        assert _cos(g_ep.b[name], g_ref.b[name]) >= 0.99, f"bias {name}"


@pytest.mark.parametrize("gamma", [1.0, 0.5])
@pytest.mark.parametrize("readout", ["none", "softmax"])
def test_conv_ep_matches_recurrent_backprop(gamma, readout):
    spec = conv_spec(model__chain__gamma=gamma, model__readout={"kind": readout})
    arch, params, x, y = random_problem(spec, seed=0, n=3)
    g_ep, u_free = _ep(spec, arch, params, x, y)
    assert maths.fixed_point_residual(arch, params, u_free, x).max() < 1e-12
    _assert_matches(g_ep, maths.recurrent_backprop_gradient(arch, params, x, y, u_free))


def _fixed_point_loss(arch, params, x, y):
    u = maths.relax(arch, params, x, RELAX_STEPS)
    return float(np.mean(maths.cost(arch, params, u, y)))


def test_conv_ep_matches_finite_differences_of_the_loss():
    """Each checked kernel entry: central difference of the mean loss at the relaxed free
    state, with the kernel entry moved by +-h (the relaxation uses only the convolution)."""
    spec = conv_spec(model__chain__gamma=0.5)
    arch, params, x, y = random_problem(spec, seed=1, n=3)
    g_ep, _ = _ep(spec, arch, params, x, y)
    h = 1e-5
    for name in ("input_c1", "c1_c2"):
        W = params.W[name]
        flat = np.random.default_rng(2).choice(W.size, size=3, replace=False)
        fd, ep = [], []
        for i in flat:
            idx = np.unravel_index(i, W.shape)
            plus, minus = params.copy(), params.copy()
            plus.W[name][idx] += h
            minus.W[name][idx] -= h
            fd.append((_fixed_point_loss(arch, plus, x, y) - _fixed_point_loss(arch, minus, x, y)) / (2 * h))
            ep.append(g_ep.W[name][idx])
        np.testing.assert_allclose(ep, fd, rtol=2e-3, atol=1e-6 * np.max(np.abs(fd)))


@pytest.fixture
def torch():
    """torch with one thread (autograd through many small steps is slowed down, not sped
    up, by threads on a shared machine)."""
    torch = pytest.importorskip("torch", reason="torch provides the independent BPTT reference")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(n)


def _bptt_gradient(torch, arch, params, x, y, n_steps):
    """Gradient of the loss after ``n_steps`` Euler steps from 0 by torch autograd. Currents:
    ``I_post += pool(conv2d(r_pre))`` by torch, and the feedback ``gamma d/dr_pre [r_post .
    A(r_pre)]`` by autograd (``create_graph``), so no adjoint of ours is used."""
    F, T = torch.nn.functional, torch.float64
    W = {k: torch.tensor(v, dtype=T, requires_grad=True) for k, v in params.W.items()}
    b = {k: torch.tensor(v, dtype=T, requires_grad=True) for k, v in params.b.items()}
    xt, yt = torch.tensor(x, dtype=T), torch.tensor(y, dtype=T)
    n = x.shape[0]

    def A(p, r):
        if p.conv is None:
            return r @ W[p.name]
        c = p.conv
        out = F.conv2d(r.reshape((n,) + c.pre_shape), W[p.name], padding=c.padding)
        return (F.avg_pool2d(out, c.pool) if c.pool > 1 else out).reshape(n, -1)

    def bias(layer):
        if not layer.bias:
            return 0.0
        return b[layer.name].repeat_interleave(layer.size // layer.bias_size)

    u = {layer.name: torch.zeros(n, layer.size, dtype=T) for layer in arch.free_layers}
    for _ in range(n_steps):
        r = {name: torch.sigmoid(v) for name, v in u.items()}
        I = {layer.name: bias(layer) + torch.zeros_like(u[layer.name]) for layer in arch.free_layers}
        for p in arch.projections:
            pre = xt if p.pre == arch.input.name else r[p.pre]
            I[p.post] = I[p.post] + A(p, pre)
            if p.pre != arch.input.name:
                probe = pre.detach().requires_grad_(True)
                (fb,) = torch.autograd.grad((A(p, probe) * r[p.post]).sum(), probe, create_graph=True)
                I[p.pre] = I[p.pre] + p.gamma * fb
        u = {layer.name: u[layer.name] + layer.eps * (I[layer.name] - u[layer.name]) for layer in arch.free_layers}
    r_top = torch.sigmoid(u[arch.top.name])
    if arch.readout is None:
        loss = 0.5 * ((r_top - yt) ** 2).sum(dim=1).mean()
    else:
        loss = -(yt * torch.log_softmax(r_top @ W[arch.readout.name], dim=1)).sum(dim=1).mean()
    loss.backward()
    return maths.Params({k: v.grad.numpy() for k, v in W.items()}, {k: v.grad.numpy() for k, v in b.items()})


def test_conv_ep_matches_bptt_with_torch_convolutions(torch):
    spec = conv_spec(model__chain__gamma=0.5, model__readout={"kind": "softmax"})
    arch, params, x, y = random_problem(spec, seed=3, n=3)
    g_ep, _ = _ep(spec, arch, params, x, y)
    _assert_matches(g_ep, _bptt_gradient(torch, arch, params, x, y, n_steps=120))
