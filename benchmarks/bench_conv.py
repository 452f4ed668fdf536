"""Convolutional projections: the cost of the projection operators (numpy and torch), the
training speed of the conv CRNN in the numpy engine, and a check that dense projections did
not slow down, each as a ratio to a reference run in the same process.

    BRIAN_EP_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/bench_conv.py   # ~2 min, 1 thread

1. Dense path: :func:`brian_ep.maths.dynamics.currents` of 784-500-10 against the same sums
   written inline (``r @ W``, ``gamma r W^T``): the operator dispatch must cost nothing
   (ratio ~1).
2. Operators of the Fashion-MNIST CRNN's second convolution (16x14x14 -> 32x7x7, 3x3,
   average pooling 2), batch 50: feedforward, feedback and kernel correlation, numpy
   against torch (``torch.nn.functional``, 1 thread), float32.
3. The numpy engine training the CRNN (``network_specs/conv/fashion_crnn.yaml``) at batch 50:
   ms/sample and minutes per 60,000-sample epoch, float32 against float64.

Times are process CPU seconds (``time.process_time``), so that other jobs on a shared machine
inflate them less than wall-clock times.
"""

from __future__ import annotations

import time

import numpy as np

from brian_ep.architecture import build_architecture
from brian_ep.data import load_fashion_mnist, one_hot
from brian_ep.engines.numpy_batched import NumpyEngine
from brian_ep.maths import currents, init_optim_state, initial_params, rates, relax
from brian_ep.maths.projections import correlation, feedback, feedforward
from brian_ep.spec import load_spec

CRNN = "network_specs/conv/fashion_crnn.yaml"


def cpu_seconds(fn, repeat):
    fn()
    t0 = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - t0) / repeat


def dense_path():
    spec = load_spec("network_specs/mnist_784_500_10.yaml", {"model.readout.kind": "none", "run.engine": "numpy"})
    arch = build_architecture(spec)
    params = initial_params(arch, 0)
    x = np.random.default_rng(0).random((100, 784))
    u = relax(arch, params, x, 5)
    r = rates(arch, u)

    def inline():
        out = {name: np.zeros_like(v) + params.b[name] for name, v in r.items()}
        for p in arch.projections[1:]:
            W = params.W[p.name]
            out[p.post] = out[p.post] + r[p.pre] @ W
            out[p.pre] = out[p.pre] + p.gamma * (r[p.post] @ W.T)
        return out

    ref = cpu_seconds(inline, 200)
    t = cpu_seconds(lambda: currents(arch, params, r, {}), 200)
    print(f"dense currents, 784-500-10, batch 100: inline {1e3 * ref:.3f} ms, maths {1e3 * t:.3f} ms, ratio {t / ref:.2f}")


def operators():
    import torch

    torch.set_num_threads(1)
    arch = build_architecture(load_spec(CRNN))
    p = arch.projection("c1_c2")
    params = initial_params(arch, 0, np.float32)
    rng = np.random.default_rng(0)
    r_pre = rng.random((50, arch.layer("c1").size), dtype=np.float32)
    r_post = rng.random((50, arch.layer("c2").size), dtype=np.float32)
    W = params.W[p.name]
    tp, tq, tW = torch.from_numpy(r_pre), torch.from_numpy(r_post), torch.from_numpy(W)
    print(f"{'c1 -> c2 (batch 50, float32)':32s} {'numpy ms':>9s} {'torch ms':>9s} {'numpy / torch':>14s}")
    for name, fn, args_np, args_t in (
        ("feedforward", feedforward, (p, r_pre, W), (p, tp, tW)),
        ("feedback", feedback, (p, r_post, W), (p, tq, tW)),
        ("correlation", correlation, (p, r_pre, r_post), (p, tp, tq)),
    ):
        a = cpu_seconds(lambda: fn(*args_np), 20)
        b = cpu_seconds(lambda: fn(*args_t), 20)
        print(f"{name:32s} {1e3 * a:9.2f} {1e3 * b:9.2f} {a / b:14.1f}")


def numpy_engine():
    ds = load_fashion_mnist()
    x, y = ds.x_train[:200], one_hot(ds.y_train[:200], 10)
    ref = None
    print(f"{'numpy engine, fashion_crnn':32s} {'ms/sample':>9s} {'min/epoch':>9s} {'vs float64':>11s}")
    for dtype in ("float64", "float32"):
        spec = load_spec(CRNN, {"run.dtype": dtype, "optim.batch_size": 50})
        arch = build_architecture(spec)
        params = initial_params(arch, 0)
        engine = NumpyEngine(spec, arch, params, init_optim_state(params))
        t = cpu_seconds(lambda: engine.train_chunk(x, y), 1) / x.shape[0]
        ref = ref or t
        print(f"{'batch 50, ' + dtype:32s} {1e3 * t:9.2f} {60000 * t / 60:9.1f} {ref / t:11.2f}")


if __name__ == "__main__":
    dense_path()
    operators()
    numpy_engine()
