"""Training speed of the torch engine on MNIST 784-500-10 at batch 1, 100 and 1,000, beside
the numpy engine and Brian2 cpp_standalone, as ms/sample and ratios measured in one run.

    BRIAN_EP_DATA=../shared/data OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
        python benchmarks/bench_torch_engine.py --threads 1            # CPU, ~10 min on 2 cores
    python benchmarks/bench_torch_engine.py --device cuda --no-brian   # GPU rows (benchmarks/gpu_check.sh)
    ... --scaling-ep DIR    # also time the public Scaling-EP code (a checkout in DIR) on the same device
    ... --conv              # also the conv CRNN of network_specs/conv/fashion_crnn.yaml (random images)

Rows per batch size: the numpy engine (the reference of that batch size), the torch engine
eager and with a compiled relaxation step (``run.torch.compile``), and on CUDA also replayed
from CUDA graphs and in float32. Brian2 cpp_standalone trains online (batch 1) and is the
reference of the last column. The engines of one batch size are warmed up (this includes
``torch.compile`` and the C++ build; its time is printed), then timed in turns for
``--rounds`` rounds on the same chunk, and each row reports its fastest round (the machine is
shared: the minimum is the least disturbed), in wall-clock and, on the CPU, in the process's
CPU time. Same spec (``network_specs/mnist_784_500_10.yaml``: 30 free + 2 x 10 nudged steps,
centered, softmax readout, SGD), initial weights and samples for every row. Results:
``docs/torch.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from brian_ep.architecture import build_architecture
from brian_ep.data import load_mnist, one_hot
from brian_ep.engines import make_engine
from brian_ep.maths import initial_params
from brian_ep.spec import load_spec

SPEC = "network_specs/mnist_784_500_10.yaml"
CONV_SPEC = "network_specs/conv/fashion_crnn.yaml"
#: samples timed per round at each batch size (scaled by --quick)
SAMPLES = {1: 200, 100: 2000, 1000: 5000, 10000: 50000}


def rows_of_batch(device: str, bs: int, brian: bool, compiled: bool = True):
    """(label, overrides) of the rows of one batch size."""
    rows = [("brian2 cpp_standalone", {"run.engine": "brian2", "run.brian2.device": "cpp_standalone"})] if brian and bs == 1 else []
    rows.append(("numpy engine", {"run.engine": "numpy"}))
    torch_rows = [("torch eager", {})] + ([("torch compiled step", {"compile": True})] if compiled else [])
    if device == "cuda":
        torch_rows += [("torch cuda graphs", {"cuda_graphs": True}), ("torch eager, float32", {"dtype": "float32"}),
                       ("torch cuda graphs, float32", {"cuda_graphs": True, "dtype": "float32"})]
    for label, opts in torch_rows:
        opts = dict(opts)
        dtype = opts.pop("dtype", "float64")
        rows.append((label, {"run.engine": "torch", "run.dtype": dtype, "run.torch": {"device": device, **opts}}))
    return rows


def time_batch(rows, bs, x, y, rounds, sync, spec_file=SPEC, net="784-500-10"):
    """Warm every row's engine up, then time them in turns; fastest round per row.

    A row whose engine fails to build or warm up is reported and left out (the others run)."""
    engines = []
    for label, over in rows:
        try:
            spec = load_spec(spec_file, overrides={**over, "optim.batch_size": bs, "run.chunk_size": x.shape[0]})
            arch = build_architecture(spec)
            engine = make_engine(spec, arch, initial_params(arch, 0))
            t0 = time.perf_counter()
            engine.train_chunk(x[: max(bs, 20)], y[: max(bs, 20)])
            sync()
        except Exception as exc:  # noqa: BLE001 - a benchmark row that cannot run is reported, not fatal
            print(f"  {net} {label}, batch {bs}: FAILED ({type(exc).__name__}: {str(exc)[:300]})", flush=True)
            continue
        engines.append((label, spec, engine, time.perf_counter() - t0))
        print(f"  {net} {label}, batch {bs}: warm-up {time.perf_counter() - t0:.1f} s", flush=True)
    best = {label: (float("inf"), float("inf")) for label, *_ in engines}
    for _ in range(rounds):
        for label, _, engine, _ in engines:
            w0, c0 = time.perf_counter(), time.process_time()
            engine.train_chunk(x, y)
            sync()
            wall, cpu = 1e3 * (time.perf_counter() - w0) / x.shape[0], 1e3 * (time.process_time() - c0) / x.shape[0]
            best[label] = (min(best[label][0], wall), min(best[label][1], cpu))
    out = []
    for label, spec, engine, warm in engines:
        print(f"  {net} {label}, batch {bs}: {best[label][0]:.5f} ms/sample", flush=True)
        engine.close()
        out.append({"net": net, "label": label, "batch": bs, "dtype": spec.run.dtype, "samples": x.shape[0], "train_ms": best[label][0],
                    "cpu_ms": best[label][1], "warmup_s": warm})
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--batches", default="1,100,1000", help="batch sizes, comma separated")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-brian", action="store_true", help="skip Brian2 cpp_standalone (C++ build)")
    parser.add_argument("--quick", action="store_true", help="a quarter of the samples")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--compile-at", default=None,
                        help="batch sizes with a compiled-step row, comma separated (default: all)")
    parser.add_argument("--conv", action="store_true", help="also the conv CRNN (fashion_crnn.yaml) at the same batches")
    parser.add_argument("--scaling-ep", metavar="DIR",
                        help="also time the public Scaling-EP code (checkout in DIR; benchmarks/scaling_ep_reference.py)")
    args = parser.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    ds = load_mnist()
    results = []
    batches = [int(b) for b in args.batches.split(",")]
    compile_at = batches if args.compile_at is None else [int(b) for b in args.compile_at.split(",") if b]
    for bs in batches:
        n = max(bs, int(SAMPLES.get(bs, 5 * bs) * (0.25 if args.quick else 1.0)) // bs * bs)
        x, y = ds.x_train[:n], one_hot(ds.y_train[:n], 10)
        results += time_batch(rows_of_batch(args.device, bs, not args.no_brian, bs in compile_at), bs, x, y, args.rounds, sync)
    if args.conv:
        results += _conv_rows(args, batches, sync)
    reference = None
    if args.scaling_ep:
        from scaling_ep_reference import time_scaling_ep

        reference = time_scaling_ep(args.scaling_ep, args.device, 50, 2000, args.rounds, ds.x_train, ds.y_train)
        print(f"  {reference['label']}, batch 50: {reference['ms_per_sample']:.4f} ms/sample", flush=True)
    _print_table(results, args, torch)
    if reference:
        _print_reference(results, reference)
    if args.json:
        info = {"device": args.device, "threads": torch.get_num_threads(), "rounds": args.rounds, "rows": results,
                "scaling_ep": reference}
        if args.device == "cuda":
            info["gpu"] = torch.cuda.get_device_name()
        Path(args.json).write_text(json.dumps(info, indent=2))


def _conv_rows(args, batches, sync):
    """The conv CRNN (1x28x28 -> 16x14x14 -> 32x7x7 -> 10, the spec's float32) at the same batch sizes."""
    out = []
    for bs in batches:
        n = max(bs, min(10 * bs, 2000 if args.device == "cpu" else 20000) // bs * bs)
        rng = np.random.default_rng(0)
        x, y = rng.random((n, 784)), one_hot(rng.integers(0, 10, n), 10)
        rows = [("numpy engine", {"run.engine": "numpy"})]
        rows.append(("torch eager, float32", {"run.engine": "torch", "run.dtype": "float32", "run.torch": {"device": args.device}}))
        out += time_batch(rows, bs, x, y, args.rounds, sync, CONV_SPEC, "conv 16-32")
    return out


def _print_reference(results, reference):
    ref = reference["ms_per_sample"]
    print(f"\nScaling-EP code, same device, batch 50, 30 + 10 steps: {ref:.4f} ms/sample")
    for r in results:
        if r["net"] == "784-500-10" and r["label"].startswith("torch") and r["batch"] >= 1000:
            print(f"  {r['label']:28s} batch {r['batch']:6d} {r['dtype']:>8s}: {r['train_ms']:.5f} ms/sample, "
                  f"{ref / r['train_ms']:8.1f}x faster")


def _print_table(results, args, torch):
    spec = load_spec(SPEC)
    numpy_ms = {(r["net"], r["batch"]): r for r in results if r["label"] == "numpy engine"}
    brian = next((r["train_ms"] for r in results if r["label"].startswith("brian2")), None)
    where = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {torch.get_num_threads()} torch thread(s)"
    print(f"\nMNIST 784-500-10, {spec.ep.free_steps} free + 2 x {spec.ep.nudged_steps} nudged steps, {where}; "
          f"fastest of {args.rounds} rounds")
    print(f"{'net':11s} {'engine':28s} {'batch':>6s} {'dtype':>8s} {'samples':>8s} {'ms/sample':>10s} {'cpu ms/sample':>14s} "
          f"{'numpy / this':>13s} {'(cpu)':>6s} {'cpp_standalone / this':>22s}")
    for r in results:
        ref = numpy_ms.get((r["net"], r["batch"]))
        ratio = f"{ref['train_ms'] / r['train_ms']:13.2f} {ref['cpu_ms'] / r['cpu_ms']:6.2f}" if ref else " " * 20
        vs_brian = f"{brian / r['train_ms']:22.1f}" if brian and r["net"] == "784-500-10" else ""
        print(f"{r['net']:11s} {r['label']:28s} {r['batch']:6d} {r['dtype']:>8s} {r['samples']:8d} {r['train_ms']:10.4f} {r['cpu_ms']:14.4f} "
              f"{ratio} {vs_brian}")
    for r in results:
        ref = numpy_ms.get(("784-500-10", 100))
        if r["net"] == "784-500-10" and r["label"].startswith("torch") and r["batch"] == 100 and r["dtype"] == "float64" and ref:
            verdict = "met" if r["train_ms"] <= ref["train_ms"] else "NOT met"
            print(f"target, {r['label']} at batch 100 no slower than numpy: {verdict} "
                  f"({r['train_ms']:.4f} vs {ref['train_ms']:.4f} ms/sample)")
    print("ratios > 1: the row is faster than the reference")


if __name__ == "__main__":
    main()
