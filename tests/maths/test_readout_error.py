"""Where the softmax readout reads its output error (``ep.readout_error``): at the free state,
its update is the exact cross-entropy gradient; at the nudged state, it is the FRE-RNN
authors' deep-network rule ``r_top^0 (softmax(r_top^beta W) - y)^T``."""

import numpy as np
import pytest
from conftest import random_problem, small_spec

from brian_ep.maths.activations import get_activation
from brian_ep.maths.phases import ep_phase_gradient
from brian_ep.spec import SpecError


def _problem(readout_error):
    spec = small_spec(
        ep__mode="vector_field", ep__nudging="positive", ep__nudge_force="accumulated", ep__readout_error=readout_error,
        model__readout={"kind": "softmax"}, model__neuron__activation="tanh",
    )
    arch, params, x, y = random_problem(spec, seed=5, n=6)
    return spec, arch, params, x, y


def _mean_cross_entropy(r_top, W, y):
    z = r_top @ W
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -np.mean(np.sum(y * logp, axis=1))


def test_free_readout_error_is_the_cross_entropy_gradient():
    """Central finite differences of the mean cross-entropy in the readout weights."""
    spec, arch, params, x, y = _problem("free")
    grads, ph = ep_phase_gradient(arch, params, x, y, spec.ep)
    r_top = get_activation(arch.top.activation).rho(ph.u_free[arch.top.name])
    W = params.W[arch.readout.name]
    numeric, h = np.zeros_like(W), 1e-6
    for idx in np.ndindex(*W.shape):
        Wp, Wm = W.copy(), W.copy()
        Wp[idx] += h
        Wm[idx] -= h
        numeric[idx] = (_mean_cross_entropy(r_top, Wp, y) - _mean_cross_entropy(r_top, Wm, y)) / (2 * h)
    np.testing.assert_allclose(grads.W[arch.readout.name], numeric, rtol=1e-6, atol=1e-9)


def test_nudged_readout_error_reads_the_output_at_the_nudged_state():
    """Written per sample: free top-layer rates times the error of the output computed from
    the nudged top-layer rates; the recurrent weights' updates do not change."""
    spec, arch, params, x, y = _problem("nudged")
    grads, ph = ep_phase_gradient(arch, params, x, y, spec.ep)
    rho = get_activation(arch.top.activation).rho
    W = params.W[arch.readout.name]
    want = np.zeros_like(W)
    for k in range(x.shape[0]):
        r0 = rho(ph.u_free[arch.top.name][k])
        rb = rho(ph.u_a[arch.top.name][k])
        e = np.exp(rb @ W - np.max(rb @ W))
        want += np.outer(r0, e / e.sum() - y[k]) / x.shape[0]
    np.testing.assert_allclose(grads.W[arch.readout.name], want, rtol=1e-12, atol=1e-14)

    spec_free, *_ = _problem("free")
    grads_free, _ = ep_phase_gradient(arch, params, x, y, spec_free.ep)
    assert np.max(np.abs(grads_free.W[arch.readout.name] - want)) > 1e-4
    for p in arch.projections:
        np.testing.assert_array_equal(grads.W[p.name], grads_free.W[p.name])


@pytest.mark.parametrize(
    "over, match",
    [
        ({"ep__mode": "exact", "ep__nudging": "positive"}, "readout_error 'nudged'.*vector_field.*mode 'exact'"),
        ({"ep__mode": "vector_field", "ep__nudging": "centered"}, "readout_error 'nudged'.*nudging: positive.*nudging 'centered'"),
    ],
)
def test_nudged_readout_error_is_refused_where_it_is_ill_defined(over, match):
    with pytest.raises(SpecError, match=match) as exc:
        small_spec(ep__readout_error="nudged", model__readout={"kind": "softmax"}, **over)
    assert "key 'ep'" in str(exc.value)


def test_readout_error_without_a_softmax_readout_names_the_key():
    with pytest.raises(SpecError, match="key 'ep.readout_error'.*no softmax readout") as exc:
        small_spec(ep__mode="vector_field", ep__nudging="positive", ep__readout_error="nudged")
    assert "model.readout" in str(exc.value)
