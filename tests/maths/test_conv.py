"""The convolution maths against its definition: the numpy convolution equals the sum that
defines it, the transposed convolution and the kernel correlation are its adjoints (inner-product
identities), average unpooling is the adjoint of pooling, numpy and torch agree to 1e-12 in
float64, and the conv EP rule's product is the energy's derivative in the kernel."""

import numpy as np
import pytest
from conftest import conv_spec, random_problem

from brian_ep import maths
from brian_ep.maths.phases import run_phases
from brian_ep.maths.conv import (
    avg_pool,
    avg_unpool,
    conv2d,
    conv2d_transpose,
    conv2d_weight,
    pool_conv,
    pool_conv_transpose,
    pool_conv_weight,
    pooled_kernel,
)
from brian_ep.maths.projections import add_bias, bias_energy, bias_sum, correlation, feedback, feedforward, operator_matrix

GEOMETRIES = [  # (C_in, C_out, H, W, kernel, padding)
    (1, 2, 6, 6, 3, 1),
    (2, 3, 5, 7, 3, 0),
    (3, 2, 4, 4, 1, 0),
    (2, 2, 6, 5, 5, 2),
    (1, 1, 3, 3, 3, 2),
]


def _inner(a, b):
    return float(np.sum(a * b))


def _conv_by_definition(x, W, padding):
    """``sum_{i,a,b} W[o,i,a,b] x_pad[n,i,h+a,w+b]`` written out as loops."""
    n, _, H, Wd = x.shape
    co, ci, k, _ = W.shape
    xp = np.zeros((n, ci, H + 2 * padding, Wd + 2 * padding))
    xp[:, :, padding : padding + H, padding : padding + Wd] = x
    ho, wo = H + 2 * padding - k + 1, Wd + 2 * padding - k + 1
    out = np.zeros((n, co, ho, wo))
    for s in range(n):
        for o in range(co):
            for h in range(ho):
                for w in range(wo):
                    out[s, o, h, w] = np.sum(W[o] * xp[s, :, h : h + k, w : w + k])
    return out


@pytest.mark.parametrize("geom", GEOMETRIES)
def test_numpy_conv_is_the_defining_sum(geom):
    ci, co, H, Wd, k, pad = geom
    rng = np.random.default_rng(1)
    x, W = rng.normal(size=(2, ci, H, Wd)), rng.normal(size=(co, ci, k, k))
    np.testing.assert_allclose(conv2d(x, W, pad), _conv_by_definition(x, W, pad), rtol=0, atol=1e-12)


@pytest.mark.parametrize("geom", GEOMETRIES)
def test_transposed_conv_and_kernel_correlation_are_adjoints(geom):
    """<conv(x, W), y> = <x, conv^T(y, W)> = <W, corr(x, y)> for random x, y, W."""
    ci, co, H, Wd, k, pad = geom
    rng = np.random.default_rng(2)
    x, W = rng.normal(size=(3, ci, H, Wd)), rng.normal(size=(co, ci, k, k))
    y = rng.normal(size=conv2d(x, W, pad).shape)
    lhs = _inner(conv2d(x, W, pad), y)
    assert conv2d_transpose(y, W, pad).shape == x.shape
    assert _inner(x, conv2d_transpose(y, W, pad)) == pytest.approx(lhs, rel=1e-12, abs=1e-12)
    assert _inner(W, conv2d_weight(x, y, k, pad)) == pytest.approx(lhs, rel=1e-12, abs=1e-12)


def test_adjoint_check_can_fail():
    """The identity separates the adjoint from a wrong map (the unflipped kernel)."""
    rng = np.random.default_rng(3)
    x, W = rng.normal(size=(2, 2, 5, 5)), rng.normal(size=(3, 2, 3, 3))
    y = rng.normal(size=conv2d(x, W, 1).shape)
    wrong = conv2d(y, np.ascontiguousarray(W.transpose(1, 0, 2, 3)), 1)
    assert abs(_inner(x, wrong) - _inner(conv2d(x, W, 1), y)) > 1e-3


@pytest.mark.parametrize("size", [1, 2, 3])
def test_average_unpooling_is_the_adjoint_of_pooling(size):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 3, 6, 12))
    pooled = avg_pool(x, size)
    assert pooled.shape == (2, 3, 6 // size, 12 // size)
    np.testing.assert_allclose(pooled[0, 1, 0, 1], x[0, 1, :size, size : 2 * size].mean(), atol=1e-15)
    y = rng.normal(size=pooled.shape)
    assert _inner(pooled, y) == pytest.approx(_inner(x, avg_unpool(y, size)), rel=1e-12)


@pytest.mark.parametrize(
    "geom, pool",
    [((2, 3, 6, 6, 3, 1), 2), ((2, 3, 6, 6, 3, 1), 3), ((1, 2, 7, 5, 2, 0), 2), ((2, 2, 9, 9, 5, 2), 3)],
)
def test_pooled_convolution_is_conv_then_pooling_and_its_adjoints(geom, pool):
    """The strided convolution with the pooled kernel equals convolution then average pooling,
    and its transpose and kernel correlation equal the unpooled ones (and are adjoints)."""
    ci, co, H, Wd, k, pad = geom
    rng = np.random.default_rng(9)
    x, W = rng.normal(size=(2, ci, H, Wd)), rng.normal(size=(co, ci, k, k))
    full = conv2d(x, W, pad)
    assert pooled_kernel(W, pool).shape == (co, ci, k + pool - 1, k + pool - 1)
    pooled = pool_conv(x, W, pad, pool)
    np.testing.assert_allclose(pooled, avg_pool(full, pool), atol=1e-12)
    y = rng.normal(size=pooled.shape)
    np.testing.assert_allclose(pool_conv_transpose(y, W, pad, pool), conv2d_transpose(avg_unpool(y, pool), W, pad), atol=1e-12)
    np.testing.assert_allclose(pool_conv_weight(x, y, k, pad, pool), conv2d_weight(x, avg_unpool(y, pool), k, pad), atol=1e-12)
    lhs = _inner(pooled, y)
    assert _inner(x, pool_conv_transpose(y, W, pad, pool)) == pytest.approx(lhs, rel=1e-12)
    assert _inner(W, pool_conv_weight(x, y, k, pad, pool)) == pytest.approx(lhs, rel=1e-12)


def test_projection_operator_feedback_and_correlation_are_consistent():
    """At the projection level (conv then pooling, flat signals): ``feedback`` is the transpose
    of the dense operator matrix and ``correlation`` the derivative of ``s . A_W r`` in ``W``."""
    arch, params, x, _ = random_problem(conv_spec(), seed=0, n=2)
    rng = np.random.default_rng(5)
    for p in arch.projections:
        if p.conv is None:
            continue
        W = params.W[p.name]
        n_pre, n_post = arch.layer(p.pre).size, arch.layer(p.post).size
        M = operator_matrix(p, W)
        assert M.shape == (n_pre, n_post)
        r, s = rng.normal(size=(2, n_pre)), rng.normal(size=(2, n_post))
        np.testing.assert_allclose(feedforward(p, r, W), r @ M, atol=1e-12)
        np.testing.assert_allclose(feedback(p, s, W), s @ M.T, atol=1e-12)
        # s . A_W r is linear in W, so its central difference is exact up to rounding
        g = correlation(p, r, s)
        for idx in [(0, 0, 0, 0), (1, 0, 2, 1), tuple(np.array(W.shape) - 1)]:
            d = np.zeros_like(W)
            d[idx] = 1e-3
            fd = (np.sum(s * feedforward(p, r, W + d)) - np.sum(s * feedforward(p, r, W - d))) / 2e-3
            assert g[idx] == pytest.approx(fd, rel=1e-9, abs=1e-12)


def test_channel_bias_helpers_agree():
    arch, params, x, _ = random_problem(conv_spec(), seed=1, n=2)
    layer = arch.layer("c1")
    assert layer.bias_size == 2 and params.b["c1"].shape == (2,)
    b = params.b["c1"]
    current = add_bias(layer, np.zeros((2, layer.size)), b)
    np.testing.assert_array_equal(current.reshape(2, 2, 9), np.broadcast_to(b[None, :, None], (2, 2, 9)))
    r = np.random.default_rng(6).normal(size=(2, layer.size))
    np.testing.assert_allclose(bias_energy(layer, r, b), np.sum(r * current, axis=1), atol=1e-12)
    np.testing.assert_allclose(bias_sum(layer, r), r.reshape(2, 2, 9).sum(axis=(0, 2)), atol=1e-12)


def test_conv_ep_product_is_the_energy_derivative_in_the_kernel():
    """``-c_post * correlation`` of the rates at a state is ``dE/dW`` there (central finite
    differences of :func:`~brian_ep.maths.energy`, exact because E is linear in W)."""
    spec = conv_spec(model__chain__gamma=0.5)
    arch, params, x, _ = random_problem(spec, seed=2, n=3)
    u = maths.relax(arch, params, x, 7)  # any state
    r = maths.rates(arch, u)
    r[arch.input.name] = x
    for p in arch.projections:
        if p.conv is None:
            continue
        analytic = -arch.weight_scale(p) * correlation(p, r[p.pre], r[p.post])
        rng = np.random.default_rng(7)
        for _ in range(4):
            idx = tuple(int(rng.integers(0, n)) for n in params.W[p.name].shape)
            plus, minus = params.copy(), params.copy()
            plus.W[p.name][idx] += 1e-4
            minus.W[p.name][idx] -= 1e-4
            fd = np.sum(maths.energy(arch, plus, u, x) - maths.energy(arch, minus, u, x)) / 2e-4
            assert analytic[idx] == pytest.approx(fd, rel=1e-7, abs=1e-10), (p.name, idx)


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _t(a):
    import torch

    return torch.tensor(a, dtype=torch.float64)


@pytest.mark.parametrize("geom", GEOMETRIES)
def test_numpy_and_torch_conv_maths_agree_in_float64(geom, torch):
    ci, co, H, Wd, k, pad = geom
    rng = np.random.default_rng(8)
    x, W = rng.normal(size=(3, ci, H, Wd)), rng.normal(size=(co, ci, k, k))
    y = rng.normal(size=conv2d(x, W, pad).shape)
    pairs = [
        (conv2d(x, W, pad), conv2d(_t(x), _t(W), pad)),
        (conv2d_transpose(y, W, pad), conv2d_transpose(_t(y), _t(W), pad)),
        (conv2d_weight(x, y, k, pad), conv2d_weight(_t(x), _t(y), k, pad)),
    ]
    if H % 2 == 0 and Wd % 2 == 0:
        pairs += [(avg_pool(x, 2), avg_pool(_t(x), 2)), (avg_unpool(x, 2), avg_unpool(_t(x), 2))]
    if y.shape[2] % 2 == 0 and y.shape[3] % 2 == 0:
        z = rng.normal(size=y.shape[:2] + (y.shape[2] // 2, y.shape[3] // 2))
        pairs += [
            (pooled_kernel(W, 2), pooled_kernel(_t(W), 2)),
            (pool_conv(x, W, pad, 2), pool_conv(_t(x), _t(W), pad, 2)),
            (pool_conv_transpose(z, W, pad, 2), pool_conv_transpose(_t(z), _t(W), pad, 2)),
            (pool_conv_weight(x, z, k, pad, 2), pool_conv_weight(_t(x), _t(z), k, pad, 2)),
        ]
    for a, b in pairs:
        assert isinstance(b, torch.Tensor)
        np.testing.assert_allclose(b.numpy(), a, rtol=0, atol=1e-12)


def test_numpy_and_torch_network_maths_agree_in_float64(torch):
    """A whole conv network through the shared maths: currents after a relaxation and the
    EP gradient, once with numpy arrays and once with torch tensors."""
    spec = conv_spec(model__chain__gamma=0.5)
    arch, params, x, y = random_problem(spec, seed=3, n=4)
    ph_np = run_phases(arch, params, x, y, spec.ep)
    g_np = maths.ep_gradient(arch, params, x, y, ph_np.u_a, ph_np.u_b, ph_np.beta_a, ph_np.beta_b, u_free=ph_np.u_free)
    tp = maths.Params({k: _t(v) for k, v in params.W.items()}, {k: _t(v) for k, v in params.b.items()})
    ph_t = run_phases(arch, tp, _t(x), _t(y), spec.ep)
    g_t = maths.ep_gradient(arch, tp, _t(x), _t(y), ph_t.u_a, ph_t.u_b, ph_t.beta_a, ph_t.beta_b, u_free=ph_t.u_free)
    for name in ph_np.u_free:
        np.testing.assert_allclose(ph_t.u_a[name].numpy(), ph_np.u_a[name], rtol=0, atol=1e-12)
    for name in g_np.W:
        np.testing.assert_allclose(g_t.W[name].numpy(), g_np.W[name], rtol=0, atol=1e-12)
    for name in g_np.b:
        np.testing.assert_allclose(g_t.b[name].numpy(), g_np.b[name], rtol=0, atol=1e-12)
