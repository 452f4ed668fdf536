"""What a projection does with its weights, dense or convolutional, on flat batched signals.

A projection ``p: pre -> post`` is a linear operator ``A_W`` from the pre-synaptic signal to
the post-synaptic current, and the same weights carry the feedback through its adjoint:

============================  =========================  ====================================
                              dense (``W: (n_pre, n_post)``)  conv (``p.conv``, kernel ``W``)
============================  =========================  ====================================
:func:`feedforward`  ``A_W r``  ``r W``                    ``pool(conv(r, W))``
:func:`feedback`  ``A_W^T s``   ``s W^T``                  ``conv^T(unpool(s), W)``
:func:`correlation`             ``r^T s``                  ``corr(r, unpool(s))``
============================  =========================  ====================================

``correlation(p, r, s) = d/dW sum_k s_k . A_W(r_k)``: the gradient of the interaction
energy ``-r_post . A_W r_pre`` in the weights, i.e. the Hebbian product of pre- and
post-synaptic activity that the EP rule takes at two nudged states; for a convolution it is
summed over positions. Signals are flat, shape ``(n_samples, size)``; an image layer stores
its ``(channels, height, width)`` in this order. Dense projections take the plain matrix
products, so a network without convolutions computes exactly what it did before they existed.
"""

from __future__ import annotations

import numpy as np

from .arrays import namespace
from .conv import pool_conv, pool_conv_transpose, pool_conv_weight

__all__ = [
    "feedforward",
    "feedback",
    "correlation",
    "operator_matrix",
    "add_bias",
    "bias_sum",
    "bias_energy",
]


def _image(xp, r, shape):
    return xp.reshape(r, (r.shape[0],) + tuple(shape))


def _flat(xp, v):
    return xp.reshape(v, (v.shape[0], -1))


def feedforward(p, r_pre, W):
    """``A_W r_pre``: the current that ``r_pre`` sends into ``p.post``, shape ``(n, n_post)``."""
    c = p.conv
    if c is None:
        return r_pre @ W
    xp = namespace(r_pre)
    return _flat(xp, pool_conv(_image(xp, r_pre, c.pre_shape), W, c.padding, c.pool))


def feedback(p, r_post, W):
    """``A_W^T r_post``: the current (before ``gamma``) that ``r_post`` sends back into
    ``p.pre``, shape ``(n, n_pre)``."""
    c = p.conv
    if c is None:
        return r_post @ W.T
    xp = namespace(r_post)
    return _flat(xp, pool_conv_transpose(_image(xp, r_post, c.post_shape), W, c.padding, c.pool))


def correlation(p, r_pre, r_post):
    """``sum_k d/dW [r_post,k . A_W r_pre,k]``, shaped like the weights: ``r_pre^T r_post``
    for a dense projection, the kernel correlation summed over positions for a convolution.

    Computed in the promoted dtype of the two (the EP rule weights the post-synaptic rates
    per sample in float64, so a float32 network accumulates its update in float64; numpy's
    ``@`` promotes by itself, torch's does not)."""
    xp = namespace(r_pre, r_post)
    dtype = xp.result_type(r_pre, r_post)
    r_pre, r_post = xp.astype(r_pre, dtype, copy=False), xp.astype(r_post, dtype, copy=False)
    c = p.conv
    if c is None:
        return r_pre.T @ r_post
    return pool_conv_weight(_image(xp, r_pre, c.pre_shape), _image(xp, r_post, c.post_shape), c.kernel, c.padding, c.pool)


def operator_matrix(p, W) -> np.ndarray:
    """The dense matrix ``M`` of shape ``(n_pre, n_post)`` with ``r M = A_W r`` (``W`` itself
    for a dense projection): for references that need the coupling as a matrix (numpy)."""
    if p.conv is None:
        return W
    n_pre = int(np.prod(p.conv.pre_shape))
    return feedforward(p, np.eye(n_pre, dtype=W.dtype), W)


# -- biases: one per neuron, or one per channel of an image layer ------------------------------
def add_bias(layer, current, b):
    """``current + b`` with the bias broadcast over the positions of an image layer."""
    if not layer.shape:
        return current + b
    xp = namespace(current)
    c, h, w = layer.shape
    return xp.reshape(xp.reshape(current, (-1, c, h * w)) + b[:, None], current.shape)


def bias_sum(layer, v):
    """``sum_k d/db [v_k . bias current]``: ``v`` summed over samples (and over the positions
    of each channel of an image layer), shape ``(layer.bias_size,)``."""
    xp = namespace(v)
    if not layer.shape:
        return xp.sum(v, axis=0)
    c, h, w = layer.shape
    return xp.sum(xp.reshape(v, (-1, c, h * w)), axis=(0, 2))


def bias_energy(layer, r, b):
    """``r . bias current`` per sample, shape ``(n,)``."""
    if not layer.shape:
        return r @ b
    xp = namespace(r)
    c, h, w = layer.shape
    return xp.reshape(xp.sum(xp.reshape(r, (-1, c, h * w)), axis=2), (-1, c)) @ b
