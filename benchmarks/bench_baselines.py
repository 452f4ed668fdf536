"""Training speed of the baselines against references run in the same process.

    BRIAN_EP_DATA=../shared/data OMP_NUM_THREADS=1 nice -n 10 python benchmarks/bench_baselines.py

About a minute on 2 cores. One thread; mini-batches of 128 MNIST training samples; each
timing is the fastest of 3 blocks of 10 mini-batches (the least disturbed on a shared
machine), after one warm-up mini-batch. Prints ms per training sample and two ratios:

* ``bptt_snn`` (network_specs/compare/mnist_bptt_snn.yaml: 784-500-10 LIF, 25 steps, direct
  input, Adam) against the same network written as a plain snntorch script (``nn.Linear``,
  ``snn.Leaky``, ``torch.optim.Adam``, the tutorial's loss): the cost of running it behind the
  engine interface (weights as the run directory's arrays, the project's Adam);
* ``bptt_crnn`` (network_specs/compare/mnist_bptt_crnn.yaml: 30 steps) against EP on the same
  network and batch (the batched numpy engine, 30 free + 2 x 10 nudged steps, float32).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BATCH, BLOCK, REPEATS = 128, 10, 3


def _data():
    from brian_ep.data import load_dataset, one_hot

    ds = load_dataset("mnist")
    n = BATCH * BLOCK
    return ds.x_train[:n].astype(np.float32), one_hot(ds.y_train[:n], 10).astype(np.float32)


def best_ms_per_sample(step, batches) -> float:
    """Fastest of REPEATS blocks of ``step(x, y)`` over ``batches``, in ms per sample."""
    step(*batches[0])
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        for xb, yb in batches:
            step(xb, yb)
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times) / (BATCH * len(batches))


def _engine(path, overrides=None):
    from brian_ep.architecture import build_architecture
    from brian_ep.engines import engine_class
    from brian_ep.maths.optim import init_optim_state
    from brian_ep.maths.params import initial_params
    from brian_ep.spec import load_spec

    spec = load_spec(REPO / path, overrides or {})
    arch = build_architecture(spec)
    params = initial_params(arch, 0)
    return engine_class(spec.run.engine)(spec, arch, params, init_optim_state(params))


def plain_snntorch_step():
    """The reference: tutorial-style snntorch, layer by layer over the steps."""
    import snntorch as snn
    import torch

    fc1, fc2 = torch.nn.Linear(784, 500), torch.nn.Linear(500, 10)
    lif1, lif2 = snn.Leaky(beta=0.95), snn.Leaky(beta=0.95)
    opt = torch.optim.Adam(list(fc1.parameters()) + list(fc2.parameters()), lr=2e-3)

    def run_layer(lif, current, steps, n):
        mem, spikes, mems = torch.zeros(n), [], []
        for t in range(steps):
            spk, mem = lif(current if current.ndim == 2 else current[t], mem)
            spikes.append(spk)
            mems.append(mem)
        return torch.stack(spikes), torch.stack(mems)

    def step(x, y):
        x, labels = torch.from_numpy(x), torch.from_numpy(y).argmax(1)
        spk1, _ = run_layer(lif1, fc1(x), 25, (x.shape[0], 500))
        _, mem2 = run_layer(lif2, fc2(spk1), 25, (x.shape[0], 10))
        loss = torch.nn.functional.cross_entropy(mem2.reshape(-1, 10), labels.repeat(25))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def main():
    import torch

    torch.set_num_threads(1)
    x, y = _data()
    batches = [(x[i : i + BATCH], y[i : i + BATCH]) for i in range(0, len(x), BATCH)]
    rows = {}
    rows["plain snntorch script (reference)"] = best_ms_per_sample(plain_snntorch_step(), batches)
    rows["bptt_snn engine"] = best_ms_per_sample(_engine("network_specs/compare/mnist_bptt_snn.yaml").train_chunk, batches)
    ep = _engine("network_specs/mnist_784_500_10.yaml", {"run.engine": "numpy", "run.dtype": "float32", "optim.algorithm": "adam",
                                                         "optim.batch_size": BATCH})
    rows["EP, numpy engine (reference)"] = best_ms_per_sample(ep.train_chunk, batches)
    rows["bptt_crnn engine"] = best_ms_per_sample(_engine("network_specs/compare/mnist_bptt_crnn.yaml").train_chunk, batches)
    for name, ms in rows.items():
        print(f"{name:40s} {ms:7.3f} ms/sample")
    snn = rows["bptt_snn engine"] / rows["plain snntorch script (reference)"]
    crnn = rows["bptt_crnn engine"] / rows["EP, numpy engine (reference)"]
    print(f"ratio bptt_snn engine / plain snntorch: {snn:.2f}")
    print(f"ratio bptt_crnn / EP (numpy, same network and batch): {crnn:.2f}")


if __name__ == "__main__":
    main()
