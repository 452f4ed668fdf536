"""Training speed of the MNIST 784-500-10 network on every Brian2 target, as ms/sample and as a
ratio to the batched numpy implementation of the same mathematics, run in the same process.

    BRIAN_EP_DATA=../shared/data python benchmarks/bench_targets.py            # ~4 min on 2 cores
    BRIAN_EP_DATA=../shared/data python benchmarks/bench_targets.py --quick    # ~1 min

Reference runs (same spec, same initial weights, same samples):
* ``numpy engine, batch 1``: the identical online-SGD computation, one sample at a time;
* ``numpy engine, batch 100``: the same maths on mini-batches of 100 (what a batched engine buys).

Each Brian2 row excludes the one-off build (C++ compile for standalone, Cython compile for
cython): the first chunk is run once untimed. Target from issue 2: cpp_standalone <= 1 ms/sample.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from brian_ep.architecture import build_architecture
from brian_ep.data import load_mnist, one_hot
from brian_ep.maths import init_optim_state, init_params
from brian_ep.spec import load_spec
from brian_ep.engines import make_engine

SPEC = "network_specs/mnist_784_500_10.yaml"


def time_engine(spec, x, y, n_warm, repeats=2):
    """ms per training sample, best of ``repeats`` after a warm-up chunk of ``n_warm`` samples."""
    arch = build_architecture(spec)
    params = init_params(arch, np.random.default_rng(0))
    engine = make_engine(spec, arch, params, init_optim_state(params))
    try:
        engine.train_chunk(x[:n_warm], y[:n_warm])  # build / compile / caches
        best = np.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            engine.train_chunk(x, y)
            best = min(best, (time.perf_counter() - t0) / x.shape[0])
        t0 = time.perf_counter()
        engine.predict(x)
        predict = (time.perf_counter() - t0) / x.shape[0]
    finally:
        engine.close()
    return 1e3 * best, 1e3 * predict


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    parser.add_argument("--spec", default=SPEC)
    args = parser.parse_args(argv)
    ds = load_mnist()
    scale = 0.25 if args.quick else 1.0
    rows = []
    # (label, overrides, samples timed)
    runs = [
        ("numpy engine, batch 1 (reference)", {"run.engine": "numpy"}, int(2000 * scale)),
        ("numpy engine, batch 100", {"run.engine": "numpy", "optim.batch_size": 100}, int(10000 * scale)),
        ("brian2 cpp_standalone", {"run.device": "cpp_standalone"}, int(10000 * scale)),
        ("brian2 runtime cython", {"run.device": "runtime", "run.target": "cython"}, int(200 * scale)),
        ("brian2 runtime numpy", {"run.device": "runtime", "run.target": "numpy"}, int(100 * scale)),
    ]
    for label, over, n in runs:
        spec = load_spec(args.spec, overrides={**over, "run.chunk_size": n})
        x, y = ds.x_train[:n], one_hot(ds.y_train[:n], 10)
        train_ms, predict_ms = time_engine(spec, x, y, n_warm=min(n, 100))
        rows.append((label, n, train_ms, predict_ms))
        print(f"  measured {label}: {train_ms:.3f} ms/sample", flush=True)
    ref = rows[0][2]
    batched = rows[1][2]
    print()
    print(f"MNIST 784-500-10, window {spec.ep.window_steps} steps ({spec.ep.free_steps} free + 2 x {spec.ep.nudged_steps} nudged)")
    print(f"{'engine / target':40s} {'samples':>8s} {'train ms/sample':>16s} {'predict ms/sample':>18s} {'vs numpy b=1':>13s} {'vs numpy b=100':>15s}")
    for label, n, train_ms, predict_ms in rows:
        print(f"{label:40s} {n:8d} {train_ms:16.3f} {predict_ms:18.3f} {train_ms / ref:13.2f} {train_ms / batched:15.2f}")
    sa = rows[2][2]
    print(f"\ncpp_standalone target <= 1 ms/sample: {'met' if sa <= 1.0 else 'NOT met'} ({sa:.3f} ms/sample)")


if __name__ == "__main__":
    main()
