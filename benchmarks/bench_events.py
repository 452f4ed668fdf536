"""Cost per sample of an event stream against static input (issue 26): the Event-MNIST network
of ``network_specs/events/event_mnist_578_500_10.yaml`` (6 bins of 5 steps, then 10 held steps,
10 + 10 nudged steps) trained on the same samples (a) as the stream, bin by bin, and (b) as one
static input (the mean of the bins: a frame collapse; the same spec without ``data.events``), in the numpy
engine (batch 16) and in Brian2's runtime numpy target (one sample at a time).

    BRIAN_EP_DATA=../shared/data python benchmarks/bench_events.py      # ~5 min on 2 busy cores

Prints ms/sample and the ratio stream / static for each engine.
"""

from __future__ import annotations

import time


from brian_ep.architecture import build_architecture
from brian_ep.data import one_hot
from brian_ep.engines.brian import BrianEngine
from brian_ep.engines.numpy_batched import NumpyEngine
from brian_ep.maths import init_optim_state, initial_params
from brian_ep.spec import load_spec
from brian_ep.splits import prepare_data

SPEC = "network_specs/events/event_mnist_578_500_10.yaml"


def ms_per_sample(engine_class, spec, x, y, warm: int) -> float:
    arch = build_architecture(spec)
    params = initial_params(arch, 0)
    engine = engine_class(spec, arch, params, init_optim_state(params))
    try:
        engine.train_chunk(x[:warm], y[:warm])  # warm-up (and Brian2's code generation)
        t0 = time.perf_counter()
        engine.train_chunk(x[warm:], y[warm:])
        return 1e3 * (time.perf_counter() - t0) / (x.shape[0] - warm)
    finally:
        if hasattr(engine, "close"):
            engine.close()


def main():
    stream_spec = load_spec(SPEC)
    (x, labels), _, _ = prepare_data(stream_spec)
    y = one_hot(labels, 10)
    bins = stream_spec.data.events.bins
    static = x.reshape(len(x), bins, -1).mean(axis=1)
    static_spec = load_spec(SPEC, overrides={"data": {"dataset": "digits"}})  # no data.events: static input
    brian = {"run.engine": "brian2", "run.brian2": {"device": "runtime", "target": "numpy"}, "run.chunk_size": 10}
    print(f"{'engine':>8s} {'samples':>8s} {'stream ms/sample':>17s} {'static ms/sample':>17s} {'ratio':>6s}")
    for name, cls, n, warm, over in (("numpy", NumpyEngine, 512, 32, {}), ("brian2", BrianEngine, 12, 2, brian)):
        a = ms_per_sample(cls, load_spec(stream_spec, overrides=over), x[:n], y[:n], warm)
        b = ms_per_sample(cls, load_spec(static_spec, overrides=over), static[:n], y[:n], warm)
        print(f"{name:>8s} {n - warm:8d} {a:17.2f} {b:17.2f} {a / b:6.2f}", flush=True)


if __name__ == "__main__":
    main()
