"""Cost of the Bernoulli spiking neurons against the rate neurons: the same architecture,
schedule, optimiser and target, trained on the same samples in one run, as ms/sample and as a
ratio (both models take the same 50 time steps per sample, so the ratio is also per step).

    BRIAN_EP_DATA=../shared/data python benchmarks/bench_spiking.py            # ~5 min on 2 cores
    BRIAN_EP_DATA=../shared/data python benchmarks/bench_spiking.py --quick    # ~2 min
    BRIAN_EP_DATA=../shared/data python benchmarks/bench_spiking.py --cython   # adds the cython target (~10 min of compiling)

Reference: the rate model (``network_specs/mnist_784_500_10.yaml``: 784-500-10, 30 free + 2 x
10 nudged steps, online SGD). The spiking rows are the same spec with ``neuron: {model:
bernoulli}`` (spike counts over the last 10 / 20 steps of each phase), then with the -beta
phase reusing the +beta phase's random numbers (``ep.common_noise``), then with spike-encoded
input. Each Brian2 row excludes the one-off build (the first chunk is run untimed). The ratios
use CPU time (this process and the standalone program), which other jobs on the machine do
not inflate as they do wall time. Target from issue 16: spiking <= 2x rate per time step in
cpp_standalone.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np


from brian_ep.architecture import build_architecture
from brian_ep.data import load_mnist, one_hot
from brian_ep.engines import make_engine
from brian_ep.maths import init_optim_state, initial_params
from brian_ep.spec import load_spec

RATE = "network_specs/mnist_784_500_10.yaml"
SPIKING = {"model.neuron": {"model": "bernoulli", "activation": "hard_sigmoid", "tau": "1 ms", "read": "window",
                            "window": 10, "free_window": 20}}
MODELS = [
    ("rate", {}),
    ("spiking", SPIKING),
    ("spiking, common noise", {**SPIKING, "ep.common_noise": True}),
    ("spiking, spike input", {**SPIKING, "model.input.encoding": "spikes"}),
]


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the standalone program): unlike
    wall time, it does not grow when other jobs share the cores."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def time_engine(spec, x, y, n_warm, repeats=2):
    """Wall and CPU ms per training sample (best of ``repeats``, after an untimed warm-up chunk:
    builds and caches); spikes per sample."""
    arch = build_architecture(spec)
    params = initial_params(arch, 0)
    engine = make_engine(spec, arch, params, init_optim_state(params))
    try:
        engine.train_chunk(x[:n_warm], y[:n_warm])
        wall = cpu = np.inf
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), cpu_seconds()
            result = engine.train_chunk(x, y)
            wall = min(wall, 1e3 * (time.perf_counter() - t0) / x.shape[0])
            cpu = min(cpu, 1e3 * (cpu_seconds() - c0) / x.shape[0])
    finally:
        engine.close()
    spikes = sum(result.spikes.values()) / x.shape[0] if result.spikes else 0.0
    return wall, cpu, spikes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    parser.add_argument("--cython", action="store_true", help="also the runtime cython target")
    args = parser.parse_args(argv)
    ds = load_mnist()
    n_sa = 1000 if args.quick else 5000
    n_rt = 50 if args.quick else 200
    targets = [("cpp_standalone", {"run.brian2.device": "cpp_standalone"}, n_sa), ("numpy engine, batch 1", {"run.engine": "numpy"}, 4 * n_rt)]
    if args.cython:
        targets.append(("runtime cython", {"run.brian2.device": "runtime", "run.brian2.target": "cython"}, n_rt))
    rows = []
    for target, over, n in targets:
        x, y = ds.x_train[:n], one_hot(ds.y_train[:n], 10)
        for label, extra in MODELS:
            spec = load_spec(RATE, overrides={**over, **extra, "run.chunk_size": n})
            wall, cpu, spikes = time_engine(spec, x, y, n_warm=min(n, 100))
            rows.append((target, label, n, wall, cpu, spikes))
            print(f"  measured {target} / {label}: {wall:.3f} ms/sample wall, {cpu:.3f} CPU", flush=True)
    print(f"\nMNIST 784-500-10, {spec.ep.window_steps} steps per sample; ratios over the rate model on the same target")
    print(f"{'target':24s} {'model':24s} {'samples':>8s} {'wall ms':>9s} {'CPU ms':>8s} {'CPU vs rate':>12s} {'spikes/sample':>14s}")
    ref = {}
    for target, label, n, wall, cpu, spikes in rows:
        ref.setdefault(target, cpu)
        print(f"{target:24s} {label:24s} {n:8d} {wall:9.3f} {cpu:8.3f} {cpu / ref[target]:12.2f} {spikes:14.0f}")
    ratio = rows[1][4] / rows[0][4]
    print(f"\ncpp_standalone target spiking <= 2x rate per time step (CPU time): {'met' if ratio <= 2 else 'NOT met'} ({ratio:.2f}x)")


if __name__ == "__main__":
    main()
