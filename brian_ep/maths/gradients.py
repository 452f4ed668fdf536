"""Gradient estimators with one signature: EP (from two nudged states) and recurrent
backprop (implicit differentiation at the free fixed point), so the gradient check
compares two calls.

All return a :class:`~brian_ep.maths.params.Params` of gradients of the mean loss over the
batch (descend with ``params -= lr * grad``).
"""

from __future__ import annotations

import numpy as np

from .activations import get_activation
from .arrays import device_of, namespace, on_host
from .dynamics import phase_rates, rates, readout_output
from .params import Params
from .projections import bias_sum, correlation, operator_matrix

__all__ = ["ep_gradient", "readout_gradient", "recurrent_backprop_gradient", "coupling_matrix", "state_index"]


def _per_sample(beta, n, like):
    xp = namespace(like)
    beta = xp.asarray(beta, dtype=xp.float64, device=device_of(like))
    return xp.broadcast_to(beta, (n,)) if beta.ndim == 0 else beta


def readout_gradient(arch, params, u_free: dict, y: np.ndarray, u_error: dict | None = None) -> np.ndarray:
    """Update of the softmax readout weights, ``mean_k r_top^0 (softmax(r_top^e W) - y)^T``,
    with the free top-layer rates ``r_top^0`` and the output error read at the state ``u_error``.

    With ``u_error`` the free state (the default) this is the exact cross-entropy gradient.
    With the nudged state it is the FRE-RNN authors' deep-network rule (``models_LN_G.py``).
    For a spiking top layer, ``r_top^0`` and the rates at a nudged ``u_error`` are the
    estimates latched at the phase ends (``phase_rate``); the output at the free state is the
    network's output there (from the trace), as in Brian2.
    """
    top = arch.top
    r_top = top.neuron.phase_rate(top, u_free[top.name])
    if u_error is None:
        r_err = top.neuron.rate(top, u_free[top.name])
    else:
        r_err = top.neuron.phase_rate(top, u_error[top.name])
    return r_top.T @ (readout_output(arch, params, r_err) - y) / y.shape[0]


def ep_gradient(
    arch, params, x, y, u_a: dict, u_b: dict, beta_a, beta_b, u_free: dict | None = None, readout_error: str = "free"
) -> Params:
    """The EP estimate of the loss gradient from the states after nudging with ``beta_a``
    and ``beta_b`` (``beta_b = 0`` with ``u_b`` the free state for one-sided nudging;
    ``+beta, -beta`` for centered nudging).

    Exact mode::

        grad W_p = -c_post / (beta_a - beta_b) * mean_k [ r_pre^a (r_post^a)^T - r_pre^b (r_post^b)^T ]

    (for a convolution, each product is the correlation of pre- and post-synaptic activity
    summed over positions, :func:`~brian_ep.maths.projections.correlation`; the bias of an
    image layer sums over the positions of its channel)
        grad b_l = -c_l   / (beta_a - beta_b) * mean_k [ r_l^a - r_l^b ]

    Vector-field mode (Liu & Chen): ``grad W_p = -s * mean_k r_pre^0 (r_post^a - r_post^b)^T``
    with the free rates ``r^0`` presynaptically and ``s = |beta| / (beta_a - beta_b)``
    (1 for one-sided nudging), no energy weights.

    ``r`` are the rate estimates at the phase ends (``phase_rates``: the rates of rate
    neurons; the trace or windowed spike count of spiking neurons).

    Parameters
    ----------
    beta_a, beta_b : float or ndarray, shape (n_samples,)
    u_free : dict, optional
        The free fixed point; needed in vector-field mode and for a softmax readout.
    readout_error : {"free", "nudged"}
        Where the softmax readout reads its output error: at ``u_free`` (the exact gradient)
        or at ``u_a`` (see :func:`readout_gradient`).
    """
    n = x.shape[0]
    xp = namespace(x)
    ba, bb = _per_sample(beta_a, n, x), _per_sample(beta_b, n, x)
    denom = ba - bb
    if on_host(denom) and bool(np.any(denom == 0)):  # checked where reading it is free
        raise ValueError("beta_a and beta_b must differ for every sample")
    ra, rb = phase_rates(arch, u_a), phase_rates(arch, u_b)
    inp = arch.input.name
    ra[inp] = rb[inp] = x
    grads_W, grads_b = {}, {}
    if arch.mode == "exact":
        w = (1.0 / denom)[:, None] / n
        # the factors scale the per-sample rates (n rows), not the products (weight-sized)
        for p in arch.projections:
            wc = -arch.weight_scale(p) * w
            if p.pre == inp:  # the clamped input, the same in both states: one product (linear in r_post)
                grads_W[p.name] = correlation(p, ra[p.pre], (ra[p.post] - rb[p.post]) * wc)
            else:
                grads_W[p.name] = correlation(p, ra[p.pre], ra[p.post] * wc) - correlation(p, rb[p.pre], rb[p.post] * wc)
        for layer in arch.free_layers:
            if layer.bias:
                wc = -arch.energy_weights[layer.name] * w
                grads_b[layer.name] = bias_sum(layer, (ra[layer.name] - rb[layer.name]) * wc)
    else:
        if u_free is None:
            raise ValueError("the vector-field update needs the free state u_free")
        r0 = phase_rates(arch, u_free)
        r0[inp] = x
        scale = (xp.abs(ba) / denom)[:, None] / n
        for p in arch.projections:
            grads_W[p.name] = -correlation(p, r0[p.pre], (ra[p.post] - rb[p.post]) * scale)
        for layer in arch.free_layers:
            if layer.bias:
                grads_b[layer.name] = -bias_sum(layer, (ra[layer.name] - rb[layer.name]) * scale)
    if arch.readout is not None:
        if u_free is None:
            raise ValueError("a softmax readout needs the free state u_free")
        if readout_error not in ("free", "nudged"):
            raise ValueError(f"readout_error must be 'free' or 'nudged', not {readout_error!r}")
        u_error = u_a if readout_error == "nudged" else None
        grads_W[arch.readout.name] = readout_gradient(arch, params, u_free, y, u_error)
    return Params(grads_W, grads_b)


# ---------------------------------------------------------------------------------------
# recurrent backprop (implicit differentiation), the reference for the gradient check


def state_index(arch) -> dict:
    """Slices of each free layer in the concatenated state vector."""
    index, start = {}, 0
    for layer in arch.free_layers:
        index[layer.name] = slice(start, start + layer.size)
        start += layer.size
    return index


def coupling_matrix(arch, params) -> np.ndarray:
    """``M = dI/dr`` over the concatenated free state (feedforward ``W^T``, feedback
    ``gamma W``; a convolution as its dense :func:`~brian_ep.maths.projections.operator_matrix`),
    shape ``(n_free, n_free)``."""
    idx = state_index(arch)
    n = sum(layer.size for layer in arch.free_layers)
    M = np.zeros((n, n))
    for p in arch.projections:
        if p.pre == arch.input.name:
            continue
        W = operator_matrix(p, params.W[p.name])
        M[idx[p.post], idx[p.pre]] += W.T
        M[idx[p.pre], idx[p.post]] += p.gamma * W
    return M


def recurrent_backprop_gradient(arch, params, x, y, u_free: dict) -> Params:
    """The exact gradient of the mean loss ``C(u*)`` at the free fixed point ``u*``.

    At ``u* = I(r(u*))``, with ``D = diag(rho'(u*))`` and ``M`` the coupling matrix, the
    adjoint ``lambda = (1 - D M^T)^{-1} dC/du`` gives ``dC/dW_p[i, j] = lambda_post,j r_pre,i +
    gamma_p lambda_pre,i r_post,j`` and ``dC/db_l = lambda_l`` (for a convolution, the same
    products as kernel correlations, and channel sums for the bias of an image layer). This uses only the fixed-point
    equations (no energy, no nudging), so it checks EP independently. One linear solve per
    sample; meant for small networks (numpy arrays, rate neurons: the mean field).
    """

    idx = state_index(arch)
    M = coupling_matrix(arch, params)
    n_free = M.shape[0]
    n = x.shape[0]
    inp = arch.input.name
    r = rates(arch, u_free)
    top = arch.top
    grads_W = {p.name: np.zeros_like(params.W[p.name]) for p in arch.all_projections}
    grads_b = {name: np.zeros_like(v) for name, v in params.b.items()}
    for k in range(n):
        d = np.zeros(n_free)
        for layer in arch.free_layers:
            d[idx[layer.name]] = get_activation(layer.activation).rho_prime(layer.neuron.potential(layer, u_free[layer.name])[k])
        dC_dr = np.zeros(n_free)
        r_top = r[top.name][k : k + 1]
        if arch.readout is None:
            dC_dr[idx[top.name]] = (r_top - y[k : k + 1])[0]
        else:
            W = params.W[arch.readout.name]
            dC_dr[idx[top.name]] = ((readout_output(arch, params, r_top) - y[k : k + 1]) @ W.T)[0]
        lam = np.linalg.solve(np.eye(n_free) - d[:, None] * M.T, d * dC_dr)
        rk = {name: v[k : k + 1] for name, v in r.items()}
        rk[inp] = x[k : k + 1]
        lk = {name: lam[None, sl] for name, sl in idx.items()}
        for p in arch.projections:
            g = correlation(p, rk[p.pre], lk[p.post])
            if p.pre != inp:
                g += p.gamma * correlation(p, lk[p.pre], rk[p.post])
            grads_W[p.name] += g / n
        for name in grads_b:
            grads_b[name] += bias_sum(arch.layer(name), lk[name]) / n
    if arch.readout is not None:
        grads_W[arch.readout.name] = readout_gradient(arch, params, u_free, y)
    return Params(grads_W, grads_b)
