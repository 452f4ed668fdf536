"""Training speed of the MNIST 784-500-10 network on every Brian2 target, as ms/sample and as a
ratio to the batched numpy implementation of the same mathematics, run in the same process.

    BRIAN_EP_DATA=../shared/data python benchmarks/bench_targets.py            # ~4 min on 2 cores
    BRIAN_EP_DATA=../shared/data python benchmarks/bench_targets.py --quick    # ~1 min

Reference runs (same spec, same initial weights, same samples):
* ``numpy engine, batch 1``: the identical online-SGD computation, one sample at a time;
* ``numpy engine, batch 100``: the same maths on mini-batches of 100 (what a batched engine buys).

Each Brian2 row excludes the one-off builds (C++ compile of the training and the prediction
programs for standalone, Cython compile for cython): a first chunk and a first prediction run
untimed. Prediction runs the free phase only. Targets (issue 19): cpp_standalone training
<= 0.5 ms/sample, prediction <= 0.3 ms/sample. On a shared machine the wall-clock time of a
compiled program depends on the load; the CPU time of the program's process (``cpu`` columns,
from ``getrusage(RUSAGE_CHILDREN)``) does much less, so both are printed for standalone rows.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from brian_ep.architecture import build_architecture
from brian_ep.data import load_mnist, one_hot
from brian_ep.maths import init_optim_state, init_params
from brian_ep.spec import load_spec
from brian_ep.engines import make_engine

SPEC = "network_specs/mnist_784_500_10.yaml"


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(function, n):
    """(wall ms, child-process CPU ms) per sample of ``function()``."""
    t0, c0 = time.perf_counter(), _child_cpu()
    function()
    return 1e3 * (time.perf_counter() - t0) / n, 1e3 * (_child_cpu() - c0) / n


def time_engine(spec, x, y, n_warm, repeats=2):
    """ms per sample (wall, and CPU of a compiled program's process) for training (best of
    ``repeats`` after a warm-up chunk of ``n_warm`` samples) and prediction (after a warm-up)."""
    arch = build_architecture(spec)
    params = init_params(arch, np.random.default_rng(0))
    engine = make_engine(spec, arch, params, init_optim_state(params))
    n = x.shape[0]
    try:
        engine.train_chunk(x[:n_warm], y[:n_warm])  # build / compile / caches
        engine.predict(x)  # the prediction program is built for n samples
        train = min((_timed(lambda: engine.train_chunk(x, y), n) for _ in range(repeats)), key=lambda t: t[0])
        predict = _timed(lambda: engine.predict(x), n)
    finally:
        engine.close()
    return train, predict


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
        ("brian2 cpp_standalone", {"run.brian2.device": "cpp_standalone"}, int(10000 * scale)),
        ("brian2 cpp_standalone, float32", {"run.brian2.device": "cpp_standalone", "run.dtype": "float32"}, int(10000 * scale)),
        ("brian2 runtime cython", {"run.brian2.device": "runtime", "run.brian2.target": "cython"}, int(200 * scale)),
        ("brian2 runtime numpy", {"run.brian2.device": "runtime", "run.brian2.target": "numpy"}, int(100 * scale)),
    ]
    for label, over, n in runs:
        spec = load_spec(args.spec, overrides={**over, "run.chunk_size": n})
        x, y = ds.x_train[:n], one_hot(ds.y_train[:n], 10)
        train, predict = time_engine(spec, x, y, n_warm=min(n, 100))
        rows.append((label, n, train, predict))
        print(f"  measured {label}: train {train[0]:.3f} ms/sample, predict {predict[0]:.3f} ms/sample", flush=True)
    ref = rows[0][2][0]
    batched = rows[1][2][0]
    print()
    print(f"MNIST 784-500-10, window {spec.ep.window_steps} steps ({spec.ep.free_steps} free + 2 x {spec.ep.nudged_steps} nudged)")
    print(f"{'engine / target':34s} {'samples':>8s} {'train ms':>9s} {'cpu':>7s} {'predict ms':>11s} {'cpu':>7s} {'vs numpy b=1':>13s} {'vs numpy b=100':>15s}")
    for label, n, (train, train_cpu), (predict, predict_cpu) in rows:
        cpus = (f"{train_cpu:7.3f}", f"{predict_cpu:7.3f}") if "standalone" in label else ("      -", "      -")
        print(f"{label:34s} {n:8d} {train:9.3f} {cpus[0]} {predict:11.3f} {cpus[1]} {train / ref:13.2f} {train / batched:15.2f}")
    (train, train_cpu), (predict, predict_cpu) = rows[2][2], rows[2][3]
    for what, wall, cpu, target in (("training", train, train_cpu, 0.5), ("prediction", predict, predict_cpu, 0.3)):
        verdict = "met" if min(wall, cpu) <= target else "NOT met"
        print(f"cpp_standalone {what} target <= {target} ms/sample: {verdict} (wall {wall:.3f}, program CPU {cpu:.3f} ms/sample)")


if __name__ == "__main__":
    main()
