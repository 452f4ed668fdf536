"""brian_ep on a GPU: the digits spec trained under ``cuda_standalone`` beside
``cpp_standalone`` (same seed, same epochs: final-epoch test accuracy, which must agree within
noise), and MNIST 784-500-10 training and prediction speed on both devices, in one process.

    python benchmarks/bench_cuda.py                         # ~6-10 min on one H100 (nvcc builds included)
    python benchmarks/bench_cuda.py --epochs 3 --mnist 2000 --out docs/results/bench_cuda.txt

Needs Python >= 3.12, brian2 2.10.1, brian2cuda (``pip install -e '.[cuda]'``), nvcc (CUDA 13)
and an NVIDIA GPU; MNIST from ``$BRIAN_EP_DATA`` (skipped if absent). Prints a table and, with
``--out``, writes it there. The GPU is detected by brian2cuda; nvcc is found through
``$CUDA_PATH`` / ``PATH`` as brian2cuda does.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from brian_ep.architecture import build_architecture  # noqa: E402
from brian_ep.engines import make_engine  # noqa: E402
from brian_ep.maths import init_optim_state, initial_params  # noqa: E402
from brian_ep.spec import load_spec  # noqa: E402
from brian_ep.train import train  # noqa: E402


def digits_row(device, epochs, seed):
    spec = load_spec(REPO / "network_specs" / "digits.yaml", {"run.brian2.device": device, "run.epochs": epochs, "run.seed": seed})
    t0 = time.perf_counter()
    result = train(spec, progress=False)
    wall = time.perf_counter() - t0
    last = result.metrics["epochs"][-1]
    train_ms = np.mean([row["ms_per_sample"] for row in result.metrics["epochs"][1:]] or [last["ms_per_sample"]])
    return {"device": device, "test": last["test_accuracy"], "train_ms": train_ms, "wall": wall}


def mnist_row(device, n):
    from brian_ep.data import load_mnist, one_hot

    spec = load_spec(REPO / "network_specs" / "mnist_784_500_10.yaml", {"run.brian2.device": device, "run.chunk_size": n})
    ds = load_mnist()
    x, y = ds.x_train[:n], one_hot(ds.y_train[:n], 10)
    arch = build_architecture(spec)
    params = initial_params(arch, 0)
    engine = make_engine(spec, arch, params, init_optim_state(params))
    try:
        engine.train_chunk(x[:100], y[:100])  # build, compile
        engine.predict(x)
        t0 = time.perf_counter()
        engine.train_chunk(x, y)
        train_ms = 1e3 * (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        engine.predict(x)
        predict_ms = 1e3 * (time.perf_counter() - t0) / n
    finally:
        engine.close()
    return {"device": device, "train_ms": train_ms, "predict_ms": predict_ms}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mnist", type=int, default=2000, help="MNIST samples timed (0: skip)")
    parser.add_argument("--out", help="also write the table to this file")
    args = parser.parse_args(argv)
    gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"], capture_output=True, text=True)
    lines = [f"GPU: {gpu.stdout.strip() or 'not found'}; Python {sys.version.split()[0]}"]
    import brian2

    lines.append(f"brian2 {brian2.__version__}; digits, {args.epochs} epochs, seed {args.seed}")
    lines.append(f"{'device':18s} {'final test acc':>15s} {'train ms/sample':>16s} {'wall s (builds incl.)':>22s}")
    for device in ("cpp_standalone", "cuda_standalone"):
        r = digits_row(device, args.epochs, args.seed)
        lines.append(f"{device:18s} {100 * r['test']:14.2f}% {r['train_ms']:16.3f} {r['wall']:22.1f}")
        print(lines[-1], flush=True)
    have_mnist = args.mnist > 0 and os.environ.get("BRIAN_EP_DATA")
    if have_mnist:
        lines.append(f"MNIST 784-500-10, {args.mnist} samples")
        lines.append(f"{'device':18s} {'train ms/sample':>16s} {'predict ms/sample':>18s}")
        for device in ("cpp_standalone", "cuda_standalone"):
            r = mnist_row(device, args.mnist)
            lines.append(f"{device:18s} {r['train_ms']:16.3f} {r['predict_ms']:18.3f}")
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
