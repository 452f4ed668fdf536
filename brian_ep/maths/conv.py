"""Convolution, its two adjoints and average pooling on image batches, each one function
that picks a numpy or a torch implementation by the array type of its input.

Images have shape ``(n_samples, channels, height, width)``; kernels ``(C_out, C_in, k, k)``
(the layout of ``torch.nn.functional.conv2d``). The convolution is a cross-correlation with
``padding`` zeros on each side and a ``stride``::

    conv(x, W)[n, o, h, w] = sum_{i, a, b} W[o, i, a, b] x_pad[n, i, stride h + a, stride w + b]

Three maps share the kernel, and EP needs all three:

* :func:`conv2d`, the feedforward current ``conv(x, W)``;
* :func:`conv2d_transpose`, its adjoint in ``x`` (``<conv(x, W), y> = <x, conv^T(y, W)>``),
  the feedback current;
* :func:`conv2d_weight`, its adjoint in ``W`` (``<conv(x, W), y> = <W, corr(x, y)>``): the
  correlation of pre- and post-synaptic activity summed over positions and samples, which is
  the EP update of a kernel (the dense layer's ``x^T y``).

:func:`avg_pool` averages ``s x s`` windows with stride ``s``; :func:`avg_unpool` is its
adjoint (each value spread over its window, divided by ``s^2``).

A convolution followed by average pooling is computed as one strided convolution:
``avg_pool(conv(x, W), s) = conv_s(x, K) / s^2`` with the pooled kernel ``K = W * box_s`` of
size ``k + s - 1`` (:func:`pooled_kernel`), which needs ``(k + s - 1)^2 / (k s)^2`` of the
products (0.44 for ``k = 3``, ``s = 2``); :func:`pool_conv`, :func:`pool_conv_transpose` and
:func:`pool_conv_weight` are the three maps of ``A_W = avg_pool o conv_W`` computed this way.

The numpy implementations gather the windows with
:func:`numpy.lib.stride_tricks.sliding_window_view` and contract them with one matrix product
(BLAS); the torch ones call ``torch.nn.functional`` and ``torch.nn.grad`` (CPU or CUDA). They
agree to rounding (``tests/maths/test_conv.py``: 1e-12 in float64).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "conv2d",
    "conv2d_transpose",
    "conv2d_weight",
    "avg_pool",
    "avg_unpool",
    "pooled_kernel",
    "pool_conv",
    "pool_conv_transpose",
    "pool_conv_weight",
]


def _is_numpy(x) -> bool:
    return isinstance(x, np.ndarray)


_TORCH = []


def _F():
    """``torch.nn.functional``, imported on first use and kept, so that a traced or compiled
    torch function does not import anything."""
    if not _TORCH:
        import torch.nn.grad

        _TORCH.extend((torch.nn.functional, torch.nn.grad))
    return _TORCH[0]


def _grad():
    """``torch.nn.grad`` (the adjoints of the convolution in its input and its kernel)."""
    _F()
    return _TORCH[1]


# -- numpy ------------------------------------------------------------------------------------
def _np_columns(x, k: int, padding: int, stride: int):
    """The ``k x k`` windows of ``x`` as columns: shape ``(C_in * k * k, n * H_out * W_out)``
    (the transposed "im2col" matrix; image rows stay contiguous runs, so the copy is fast),
    and ``(H_out, W_out)``."""
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]  # (n, C, h, w, k, k)
    n, c, h, w = win.shape[:4]
    return win.transpose(1, 4, 5, 0, 2, 3).reshape(c * k * k, n * h * w), (h, w)


def _np_conv2d(x, W, padding, stride):
    cols, (h, w) = _np_columns(x, W.shape[-1], padding, stride)
    out = W.reshape(W.shape[0], -1) @ cols  # (C_out, n * h * w)
    return out.reshape(W.shape[0], x.shape[0], h, w).transpose(1, 0, 2, 3)


def _np_conv2d_weight(x, y, kernel, padding, stride):
    cols, _ = _np_columns(x, kernel, padding, stride)
    ys = y.transpose(1, 0, 2, 3).reshape(y.shape[1], -1)  # (C_out, n * h * w)
    return (ys @ cols.T).reshape(y.shape[1], x.shape[1], kernel, kernel)


def _np_conv2d_transpose(y, W, padding, stride):
    """``col2im``: one product ``W^T y`` gives every kernel offset's contribution, which ``k^2``
    shifted (strided) additions place; cheaper than a convolution of ``y``, which has more
    channels."""
    c_out, c_in, k, _ = W.shape
    n, _, h, w = y.shape
    ys = y.transpose(1, 0, 2, 3).reshape(c_out, n * h * w)
    parts = (W.reshape(c_out, c_in * k * k).T @ ys).reshape(c_in, k, k, n, h, w)
    full_h, full_w = stride * (h - 1) + k, stride * (w - 1) + k
    full = np.zeros((c_in, n, full_h, full_w), dtype=parts.dtype)
    for a in range(k):
        for b in range(k):
            full[:, :, a : a + stride * h : stride, b : b + stride * w : stride] += parts[:, a, b]
    out = full[:, :, padding : full_h - padding, padding : full_w - padding]
    return out.transpose(1, 0, 2, 3)


def _np_avg_pool(x, size):
    v = x.reshape(x.shape[0], x.shape[1], x.shape[2] // size, size, x.shape[3] // size, size)
    total = v[:, :, :, 0, :, 0]
    for i in range(size):
        for j in range(size):
            if i or j:
                total = total + v[:, :, :, i, :, j]  # size^2 strided sums (faster than mean over axes)
    return total * (1.0 / (size * size))


# -- dispatch ---------------------------------------------------------------------------------
def conv2d(x, W, padding: int = 0, stride: int = 1):
    """``conv(x, W)``: shape ``(n, C_out, (H + 2 padding - k) // stride + 1, ...)``.

    Parameters
    ----------
    x : array, shape (n, C_in, H, W)
    W : array, shape (C_out, C_in, k, k)
    padding : int
        Zeros added on each side of both spatial axes.
    stride : int
    """
    if _is_numpy(x):
        return _np_conv2d(x, W, padding, stride)
    return _F().conv2d(x, W, padding=padding, stride=stride)


def conv2d_transpose(y, W, padding: int = 0, stride: int = 1):
    """The adjoint of :func:`conv2d` in its input, shape ``(n, C_in, stride (h - 1) + k - 2
    padding, ...)`` for ``y`` of shape ``(n, C_out, h, w)`` (the input shape when the
    convolution used every row and column; ``padding <= k - 1``)."""
    if padding > W.shape[-1] - 1:
        raise ValueError(f"padding {padding} exceeds kernel - 1 = {W.shape[-1] - 1}")
    if _is_numpy(y):
        return _np_conv2d_transpose(y, W, padding, stride)
    return _F().conv_transpose2d(y, W, padding=padding, stride=stride)


def conv2d_weight(x, y, kernel: int, padding: int = 0, stride: int = 1):
    """The adjoint of :func:`conv2d` in its kernel: ``sum_n sum_{h,w} y[n, o, h, w]
    x_pad[n, i, stride h + a, stride w + b]``, shape ``(C_out, C_in, kernel, kernel)``.

    Parameters
    ----------
    x : array, shape (n, C_in, H, W)
        Pre-synaptic activity.
    y : array, shape (n, C_out, H_out, W_out)
        Post-synaptic activity (or error) at the convolution's output positions.
    """
    if _is_numpy(x):
        return _np_conv2d_weight(x, y, kernel, padding, stride)
    shape = (y.shape[1], x.shape[1], kernel, kernel)
    return _grad().conv2d_weight(x, shape, y, padding=padding, stride=stride)


def avg_pool(x, size: int):
    """Mean over ``size x size`` windows with stride ``size``; ``x`` of shape
    ``(n, C, H, W)`` with ``H`` and ``W`` divisible by ``size``."""
    if size == 1:
        return x
    if _is_numpy(x):
        return _np_avg_pool(x, size)
    return _F().avg_pool2d(x, size)


def avg_unpool(y, size: int):
    """The adjoint of :func:`avg_pool`: each value spread over its ``size x size`` window,
    divided by ``size^2``; shape ``(n, C, h size, w size)``."""
    if size == 1:
        return y
    n, c, h, w = y.shape
    scaled = y * (1.0 / (size * size))
    if _is_numpy(y):
        spread = np.broadcast_to(scaled[:, :, :, None, :, None], (n, c, h, size, w, size))
    else:
        spread = scaled[:, :, :, None, :, None].expand(n, c, h, size, w, size)
    return spread.reshape(n, c, h * size, w * size)


# -- convolution then average pooling, as one strided convolution ---------------------------------
def pooled_kernel(W, pool: int):
    """``K[o, i, c, d] = sum_{a + u = c, b + v = d, 0 <= u, v < pool} W[o, i, a, b] / pool^2``:
    the kernel of size ``k + pool - 1`` with ``avg_pool(conv(x, W), pool) = conv_pool(x, K)``
    (stride ``pool``)."""
    k, scale = W.shape[-1], 1.0 / (pool * pool)
    size = k + pool - 1
    if _is_numpy(W):
        K = np.zeros(W.shape[:2] + (size, size), dtype=W.dtype)
        for u in range(pool):
            for v in range(pool):
                K[:, :, u : u + k, v : v + k] += W
        return K * scale
    F = _F()
    K = sum(F.pad(W, (v, pool - 1 - v, u, pool - 1 - u)) for u in range(pool) for v in range(pool))
    return K * scale


def _unpool_kernel(G, kernel: int, pool: int):
    """The adjoint of :func:`pooled_kernel`: ``dW[a, b] = sum_{u, v} G[a + u, b + v] / pool^2``."""
    total = sum(G[:, :, u : u + kernel, v : v + kernel] for u in range(pool) for v in range(pool))
    return total * (1.0 / (pool * pool))


def pool_conv(x, W, padding: int, pool: int):
    """``avg_pool(conv2d(x, W, padding), pool)`` (stride 1 convolution, then ``pool x pool``
    averages), computed as one strided convolution with :func:`pooled_kernel`."""
    if pool == 1:
        return conv2d(x, W, padding)
    return conv2d(x, pooled_kernel(W, pool), padding, pool)


def pool_conv_transpose(y, W, padding: int, pool: int):
    """The adjoint of :func:`pool_conv` in ``x`` (``conv^T(unpool(y), W)``): the feedback of a
    convolutional projection with pooling; ``y`` at the pooled resolution."""
    if pool == 1:
        return conv2d_transpose(y, W, padding)
    return conv2d_transpose(y, pooled_kernel(W, pool), padding, pool)


def pool_conv_weight(x, y, kernel: int, padding: int, pool: int):
    """The adjoint of :func:`pool_conv` in ``W`` (``corr(x, unpool(y))``): the EP product of a
    convolutional projection with pooling, shape ``(C_out, C_in, kernel, kernel)``."""
    if pool == 1:
        return conv2d_weight(x, y, kernel, padding)
    G = conv2d_weight(x, y, kernel + pool - 1, padding, pool)
    return _unpool_kernel(G, kernel, pool)
