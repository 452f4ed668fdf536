"""Training and prediction cost of the compiled cpp_standalone programs (MNIST 784-500-10),
as wall-clock and as CPU time of the program's process, for comparing two versions of the code
on a shared machine (the CPU time of the process depends much less on the load than the wall
clock; run the versions alternately and compare ratios).

    BRIAN_EP_DATA=../shared/data python benchmarks/bench_standalone_cpu.py 2000            # ~2 min on 2 quiet cores
    PYTHONPATH=/path/to/other/checkout python benchmarks/bench_standalone_cpu.py 2000      # the other version
    python benchmarks/bench_standalone_cpu.py 2000 run.dtype=float32                      # spec overrides

Prints ``train X ms/sample (binary cpu Y) predict Z (binary cpu W)`` after a warm-up chunk and
a warm-up prediction (builds excluded).
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

from brian_ep.architecture import build_architecture
from brian_ep.data import load_mnist, one_hot
from brian_ep.engines import make_engine
from brian_ep.maths import init_optim_state, init_params
from brian_ep.spec import load_spec

SPEC = Path(__file__).resolve().parents[1] / "network_specs" / "mnist_784_500_10.yaml"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0]) if argv else 2000
    extra = dict(a.split("=", 1) for a in argv[1:])
    os.environ.setdefault("BRIAN_EP_DATA", str(SPEC.parents[2] / "shared" / "data"))
    spec = load_spec(SPEC, {"run.chunk_size": n, "run.brian2.device": "cpp_standalone", **extra})
    arch = build_architecture(spec)
    ds = load_mnist()
    x, y = ds.x_train[:n], one_hot(ds.y_train[:n], 10)
    params = init_params(arch, np.random.default_rng(0))
    engine = make_engine(spec, arch, params, init_optim_state(params))
    try:
        engine.train_chunk(x[:10], y[:10])
        engine.predict(x)
        t0, c0 = time.perf_counter(), _cpu()
        engine.train_chunk(x, y)
        train, train_cpu = (time.perf_counter() - t0) / n * 1e3, (_cpu() - c0) / n * 1e3
        t0, c0 = time.perf_counter(), _cpu()
        engine.predict(x)
        predict, predict_cpu = (time.perf_counter() - t0) / n * 1e3, (_cpu() - c0) / n * 1e3
    finally:
        engine.close()
    print(f"{argv} train {train:.3f} ms/sample (binary cpu {train_cpu:.3f}) predict {predict:.3f} (binary cpu {predict_cpu:.3f})", flush=True)


if __name__ == "__main__":
    main()
