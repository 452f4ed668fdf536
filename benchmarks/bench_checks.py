"""What the reliability checks of a training run cost: ``train()`` with its checks (the
probe loss before training, the settling check after the first chunk of each epoch, the
at-chance check after the first epoch, finite outputs and weights after every chunk) against
the same ``train()`` with those checks replaced by no-ops, in the same process, on the
digits spec with the numpy engine (batch 1, the Brian2 engine's arithmetic) and with chunks
of the default size and of 50 samples.

    BRIAN_EP_DATA=../shared/data python benchmarks/bench_checks.py      # ~1 min on 2 cores

The Brian2 engine's own check (``<layer>_divergence``) runs once a sample window, a few
operations per neuron, against every time step's state update and latch of the window
(``docs/reliability.md``), so it is not timed here.
"""

from __future__ import annotations

import importlib
import time
from contextlib import contextmanager

from brian_ep import health
from brian_ep.spec import load_spec

TRAIN = importlib.import_module("brian_ep.train")  # the module (brian_ep.train is also the function)
SPEC = "network_specs/digits.yaml"


@contextmanager
def checks_off():
    """Replace the checks with no-ops."""
    saved = (health.probe_loss, health.settling, health.stalled, health.at_chance, TRAIN._check_finite)
    health.probe_loss = lambda *a, **k: 0.0
    health.settling = health.stalled = health.at_chance = lambda *a, **k: None
    TRAIN._check_finite = lambda *a, **k: None
    try:
        yield
    finally:
        health.probe_loss, health.settling, health.stalled, health.at_chance, TRAIN._check_finite = saved


def seconds(spec, repeats=3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        TRAIN.train(spec, progress=False)
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    for chunk in (2000, 50):
        spec = load_spec(SPEC, {"run.engine": "numpy", "run.epochs": 1, "run.chunk_size": chunk, "data.n_test": 100})
        with_checks = seconds(spec)
        with checks_off():
            without = seconds(spec)
        print(
            f"chunk_size {chunk:5d}: train() {with_checks:6.2f} s with checks, {without:6.2f} s without; "
            f"ratio {with_checks / without:.3f}"
        )


if __name__ == "__main__":
    main()
