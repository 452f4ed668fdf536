"""Training speed of the batched numpy engine (the FRE sweeps' hot path) by batch size and
precision, as ms/sample and as a ratio to a reference run (batch 1, float64) in the same process.

    BRIAN_EP_DATA=../shared/data python benchmarks/bench_numpy_engine.py      # ~2 min on 2 cores

Networks: the FRE headline 784-512-512-10 (10 free + 5 nudged steps) and the 10 x 64 depth
network (100 free + 50 nudged steps), both in the authors' vector-field mode with Adam.
"""

from __future__ import annotations

import time

import numpy as np

from brian_ep.architecture import build_architecture
from brian_ep.data import load_mnist, one_hot
from brian_ep.engines.numpy_batched import NumpyEngine
from brian_ep.maths import init_optim_state, init_params
from brian_ep.spec import load_spec


def ms_per_sample(spec, x, y):
    arch = build_architecture(spec)
    params = init_params(arch, np.random.default_rng(0))
    engine = NumpyEngine(spec, arch, params, init_optim_state(params))
    engine.train_chunk(x[: spec.optim.batch_size], y[: spec.optim.batch_size])  # warm-up
    t0 = time.perf_counter()
    engine.train_chunk(x, y)
    return 1e3 * (time.perf_counter() - t0) / x.shape[0]


def main():
    ds = load_mnist()
    for path in ("network_specs/fre/mnist_2x512_vf.yaml", "network_specs/fre/depth_L10x64_vf.yaml"):
        print(path)
        print(f"  {'batch':>6s} {'dtype':>8s} {'samples':>8s} {'ms/sample':>10s} {'speed-up vs batch 1, float64':>30s}")
        ref = None
        for bs, dtype, n in ((1, "float64", 100), (100, "float64", 2000), (500, "float64", 4000), (500, "float32", 4000)):
            spec = load_spec(path, overrides={"optim.batch_size": bs, "run.dtype": dtype})
            x, y = ds.x_train[:n], one_hot(ds.y_train[:n], 10)
            t = ms_per_sample(spec, x, y)
            ref = ref or t
            print(f"  {bs:6d} {dtype:>8s} {n:8d} {t:10.3f} {ref / t:30.1f}", flush=True)


if __name__ == "__main__":
    main()
