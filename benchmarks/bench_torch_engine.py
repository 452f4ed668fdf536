"""Training speed of the torch engine on MNIST 784-500-10 at batch 1, 100 and 1,000, beside
the numpy engine and Brian2 cpp_standalone, as ms/sample and ratios measured in one run.

    BRIAN_EP_DATA=../shared/data OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
        python benchmarks/bench_torch_engine.py --threads 1            # CPU, ~6 min on 2 cores
    python benchmarks/bench_torch_engine.py --device cuda --no-brian   # GPU rows (benchmarks/gpu_check.sh)

Rows: the numpy engine (reference at every batch size), the torch engine eager, with a
compiled relaxation step (``run.torch.compile``), and on CUDA also with CUDA graphs and in
float32; Brian2 cpp_standalone trains online (batch 1) and is the reference of the last
column. Each row is timed best of two chunks after a warm-up chunk (which includes
``torch.compile`` and the C++ build); the warm-up time is printed separately. Same spec
(``network_specs/mnist_784_500_10.yaml``: 30 free + 2 x 10 nudged steps, centered, softmax
readout, SGD), same initial weights and samples for every row. Results: ``docs/torch.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_targets import time_engine  # noqa: E402

from brian_ep.data import load_mnist, one_hot  # noqa: E402
from brian_ep.spec import load_spec  # noqa: E402

SPEC = "network_specs/mnist_784_500_10.yaml"
#: samples timed per chunk at each batch size (scaled by --quick)
SAMPLES = {1: 300, 100: 3000, 1000: 6000}


def rows_to_run(device: str, batches, brian: bool):
    """(label, batch, overrides) of every row."""
    rows = []
    if brian:
        rows.append(("brian2 cpp_standalone", 1, {"run.engine": "brian2", "run.device": "cpp_standalone"}))
    for bs in batches:
        rows.append(("numpy engine", bs, {"run.engine": "numpy"}))
        torch_rows = [("torch eager", {}), ("torch compiled step", {"compile": True})]
        if device == "cuda":
            torch_rows += [("torch cuda graphs", {"cuda_graphs": True}),
                           ("torch cuda graphs, float32", {"cuda_graphs": True, "dtype": "float32"}),
                           ("torch eager, float32", {"dtype": "float32"})]
        for label, opts in torch_rows:
            dtype = opts.pop("dtype", "float64")
            rows.append((label, bs, {"run.engine": "torch", "run.dtype": dtype, "run.torch": {"device": device, **opts}}))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--batches", default="1,100,1000", help="batch sizes, comma separated")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--no-brian", action="store_true", help="skip Brian2 cpp_standalone (C++ build)")
    parser.add_argument("--quick", action="store_true", help="a quarter of the samples")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    batches = [int(b) for b in args.batches.split(",")]
    ds = load_mnist()
    results = []
    for label, bs, over in rows_to_run(args.device, batches, not args.no_brian):
        n = max(bs, int(SAMPLES.get(bs, 10 * bs) * (0.25 if args.quick else 1.0)) // bs * bs)
        spec = load_spec(SPEC, overrides={**over, "optim.batch_size": bs, "run.chunk_size": n})
        x, y = ds.x_train[:n], one_hot(ds.y_train[:n], 10)
        t0 = time.perf_counter()
        train_ms, predict_ms = time_engine(spec, x, y, n_warm=bs if bs > 1 else 20)
        total = time.perf_counter() - t0
        results.append({"label": label, "batch": bs, "dtype": spec.run.dtype, "samples": n, "train_ms": train_ms,
                        "predict_ms": predict_ms, "seconds": total})
        print(f"  measured {label}, batch {bs}: {train_ms:.4f} ms/sample ({total:.0f} s in all)", flush=True)
    _print_table(results, args, torch)
    if args.json:
        Path(args.json).write_text(json.dumps({"device": args.device, "threads": torch.get_num_threads(), "rows": results}, indent=2))


def _print_table(results, args, torch):
    spec = load_spec(SPEC)
    numpy_ms = {r["batch"]: r["train_ms"] for r in results if r["label"] == "numpy engine"}
    brian = next((r["train_ms"] for r in results if r["label"].startswith("brian2")), None)
    where = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {torch.get_num_threads()} torch thread(s)"
    print(f"\nMNIST 784-500-10, {spec.ep.free_steps} free + 2 x {spec.ep.nudged_steps} nudged steps, {where}")
    print(f"{'engine':30s} {'batch':>6s} {'dtype':>8s} {'samples':>8s} {'train ms/sample':>16s} {'numpy / this':>13s} {'cpp_standalone / this':>22s}")
    for r in results:
        ref = numpy_ms.get(r["batch"])
        vs_numpy = f"{ref / r['train_ms']:13.2f}" if ref else f"{'':13s}"
        vs_brian = f"{brian / r['train_ms']:22.1f}" if brian else f"{'':22s}"
        print(f"{r['label']:30s} {r['batch']:6d} {r['dtype']:>8s} {r['samples']:8d} {r['train_ms']:16.4f} {vs_numpy} {vs_brian}")
    torch_100 = [r for r in results if r["label"].startswith("torch") and r["batch"] == 100 and r["dtype"] == "float64"]
    if torch_100 and 100 in numpy_ms:
        for r in torch_100:
            verdict = "met" if r["train_ms"] <= numpy_ms[100] else "NOT met"
            print(f"target: {r['label']} at batch 100 no slower than numpy: {verdict} "
                  f"({r['train_ms']:.4f} vs {numpy_ms[100]:.4f} ms/sample)")
    print("ratios > 1: the row is faster than the reference")


if __name__ == "__main__":
    main()
