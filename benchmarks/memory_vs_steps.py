"""Peak memory of one training step against the number of time steps T: EP (the batched
numpy engine running the MNIST spec's phases) keeps only the current state, BPTT (bptt_crnn,
bptt_snn) keeps every step for the backward pass.

    BRIAN_EP_DATA=../shared/data OMP_NUM_THREADS=1 nice -n 10 python benchmarks/memory_vs_steps.py

About 5 minutes on 2 cores (each point in a fresh process: 5 methods x 5 values of T x 2
repeats). Writes docs/compare/memory_vs_steps.{json,md,png} and prints, per T, the ratio of
each BPTT method's memory to EP's (the reference run).

One step = one mini-batch of the first 128 MNIST training samples through the engine's
``train_chunk`` (forward, gradient, Adam update), 784-500-10, float32. T is the free phase
of EP (nudged phases: 10 steps each, as in network_specs/mnist_784_500_10.yaml), the
relaxation bptt_crnn backpropagates through, and the steps of the snn (direct input). The
MNIST spec's network has no feedback loop (its free state is the hidden layer alone, the
softmax readout is outside), so its relaxation is a leaky integration of a constant current
and BPTT through it keeps almost nothing per step; ``, recurrent`` is the same network with
the output layer in the state (``model.readout.kind: none``: feedback h1 <-> output), where
every step enters the backward pass.
Measured in each process:

* ``step_peak_mib``: peak resident memory during the step minus the resident memory just
  before it (``VmHWM``, :func:`brian_ep.peak_memory.peak_rss_mib`, and ``/proc/self/statm``):
  everything the step needed, whatever allocated it. The processes run with glibc's mmap
  threshold fixed at 64 KiB (``MALLOC_MMAP_THRESHOLD_``), so that every array of a batch
  (128 x 500 float32 = 250 KiB) is returned to the system when freed; with glibc's default
  dynamic threshold the resident memory keeps freed buffers and grows with the allocator's
  history rather than with what is alive;
* ``saved_mib`` (torch methods): bytes of the tensors autograd keeps for the backward pass
  (``torch.autograd.graph.saved_tensors_hooks``, distinct storages): BPTT's activation memory;
* ``traced_mib`` (EP): peak of the numpy buffers during a second step (``tracemalloc``,
  whose own bookkeeping would inflate the resident memory of the first).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "compare"
STEPS = (25, 50, 100, 200, 400)
_EP = {"run.engine": "numpy", "optim.algorithm": "adam", "optim.batch_size": 128}
_LOOP = {"model.readout.kind": "none"}  # the output layer in the state: a feedback loop h1 <-> output
METHODS = {
    "ep": ("network_specs/mnist_784_500_10.yaml", _EP),
    "ep, recurrent": ("network_specs/mnist_784_500_10.yaml", {**_EP, **_LOOP}),
    "bptt_crnn": ("network_specs/compare/mnist_bptt_crnn.yaml", {}),
    "bptt_crnn, recurrent": ("network_specs/compare/mnist_bptt_crnn.yaml", _LOOP),
    "bptt_snn": ("network_specs/compare/mnist_bptt_snn.yaml", {}),
}
REPEATS = 2
#: glibc serves allocations from this size up with mmap and returns them when freed; fixing it
#: (glibc otherwise raises it as buffers are freed, and keeps later ones in its heap) makes the
#: resident memory follow the live arrays instead of the allocator's history
MMAP_THRESHOLD = 64 * 1024


def _rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _maxrss_mib() -> float:
    from brian_ep.peak_memory import peak_rss_mib

    return peak_rss_mib()


def _spec(method: str, steps: int):
    from brian_ep.spec import load_spec

    path, over = METHODS[method]
    key = {"ep": "ep.free_steps", "bptt_crnn": "run.bptt_crnn.steps", "bptt_snn": "run.bptt_snn.steps"}[method.split(",")[0]]
    return load_spec(REPO / path, {**over, "run.dtype": "float32", key: steps})


def _saved_tensor_counter(torch):
    """A hook pair that records the tensors autograd saves, and a function summing the
    distinct storages still alive."""
    import weakref

    saved = []

    def pack(t):
        saved.append(weakref.ref(t))
        return t

    def total():
        live = {}
        for ref in saved:
            t = ref()
            if t is not None:
                live[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return sum(live.values())

    return torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), total


def measure(method: str, steps: int, batch_file: str) -> dict:
    """One training step of ``method`` with ``steps`` time steps, in this process."""
    from brian_ep.architecture import build_architecture
    from brian_ep.engines import engine_class
    from brian_ep.maths.optim import init_optim_state
    from brian_ep.maths.params import initial_params

    spec = _spec(method, steps)
    arch = build_architecture(spec)
    params = initial_params(arch, 0)
    engine = engine_class(spec.run.engine)(spec, arch, params, init_optim_state(params))
    with np.load(batch_file) as data:
        x, y = data["x"], data["y"]
    row = {"method": method, "T": steps, "batch": int(x.shape[0])}
    if method.startswith("ep"):
        import tracemalloc

        row["rss_before_mib"] = _rss_mib()
        t0 = time.perf_counter()
        engine.train_chunk(x, y)
        row["step_seconds"] = time.perf_counter() - t0
        row["step_peak_mib"] = _maxrss_mib() - row["rss_before_mib"]
        tracemalloc.start()  # a second step: tracemalloc's own bookkeeping must not count above
        engine.train_chunk(x, y)
        row["traced_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        return row
    else:
        import torch

        torch.set_num_threads(1)
        hooks, saved_bytes = _saved_tensor_counter(torch)
        row["rss_before_mib"] = _rss_mib()
        t0 = time.perf_counter()
        with hooks:
            original = engine._batch_loss

            def measured(weights, xb, yb):
                loss, out = original(weights, xb, yb)
                row["saved_mib"] = saved_bytes() / 2**20
                return loss, out

            engine._batch_loss = measured
            engine.train_chunk(x, y)
        row["step_seconds"] = time.perf_counter() - t0
    row["step_peak_mib"] = _maxrss_mib() - row["rss_before_mib"]
    return row


def _batch_file(directory) -> str:
    from brian_ep.data import load_dataset, one_hot

    ds = load_dataset("mnist")
    path = os.path.join(directory, "mnist_batch128.npz")
    np.savez(path, x=ds.x_train[:128].astype(np.float32), y=one_hot(ds.y_train[:128], 10).astype(np.float32))
    return path


def sweep() -> list:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        batch = _batch_file(tmp)
        for method in METHODS:
            for steps in STEPS:
                for repeat in range(REPEATS):
                    cmd = [sys.executable, __file__, "--one", method, str(steps), batch]
                    env = dict(os.environ, PYTHONPATH=str(REPO), MALLOC_MMAP_THRESHOLD_=str(MMAP_THRESHOLD))
                    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=REPO, env=env).stdout
                    row = json.loads(out.strip().splitlines()[-1])
                    row["repeat"] = repeat
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    return rows


def _median(rows, method, steps, key):
    values = [r[key] for r in rows if r["method"] == method and r["T"] == steps and key in r]
    return float(np.median(values)) if values else None


def table(rows) -> str:
    lines = ["| method | quantity (MiB) | " + " | ".join(f"T = {t}" for t in STEPS) + " |", "|---|---|" + "---:|" * len(STEPS)]
    for key, what in (("step_peak_mib", "step peak RSS growth"), ("saved_mib", "kept for backward (autograd)"), ("traced_mib", "numpy buffers (tracemalloc)")):
        for method in METHODS:
            cells = [_median(rows, method, t, key) for t in STEPS]
            if all(c is None for c in cells):
                continue
            lines.append(f"| {method} | {what} | " + " | ".join("n/a" if c is None else f"{c:.1f}" for c in cells) + " |")
    return "\n".join(lines)


def plot(rows, path):
    from brian_ep.report import pyplot, save_figure

    from matplotlib.ticker import NullFormatter

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9.0, 4.0))
    for i, method in enumerate(METHODS):
        peak = [_median(rows, method, t, "step_peak_mib") for t in STEPS]
        peak = [v if v > 0 else np.nan for v in peak]  # log axis: a step whose peak was not above the RSS before it has no point
        ax.plot(STEPS, peak, "o-", color=f"C{i}", label=f"{method}: step peak RSS growth")
        saved = [_median(rows, method, t, "saved_mib") for t in STEPS]
        if all(s is not None for s in saved):
            ax.plot(STEPS, saved, "s--", color=f"C{i}", alpha=0.7, label=f"{method}: kept for backward")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(STEPS, [str(t) for t in STEPS])
    ax.xaxis.set_minor_formatter(NullFormatter())  # the labelled ticks are T itself
    ax.set_xlabel("time steps T per sample")
    ax.set_ylabel("memory of one training step (MiB)")
    ax.set_title("784-500-10, batch 128, float32, one thread (median of 2 processes)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))  # outside: the lines span the whole axes
    return save_figure(fig, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--one", nargs=3, metavar=("METHOD", "T", "BATCH_FILE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        method, steps, batch = args.one
        print(json.dumps(measure(method, int(steps), batch)))
        return
    rows = sweep()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "memory_vs_steps.json").write_text(json.dumps(rows, indent=1))
    text = table(rows)
    (OUT / "memory_vs_steps.md").write_text("# Memory against time steps\n\n" + text + "\n")
    plot(rows, OUT / "memory_vs_steps.png")
    print(text)
    for t in STEPS:
        ep = _median(rows, "ep", t, "step_peak_mib")
        ratios = ", ".join(f"{m} / ep = {_median(rows, m, t, 'step_peak_mib') / max(ep, 1.0):.1f}" for m in METHODS if not m.startswith("ep"))
        print(f"T = {t}: {ratios} (step peak RSS growth; ep {ep:.1f} MiB)")


if __name__ == "__main__":
    main()
