"""Like-for-like training speed of brian_ep and Scaling-EP on the same network and steps (issue 28).

    # CPU, one thread each (~3 min on 2 shared cores):
    BRIAN_EP_DATA=../shared/data nice -n 10 python benchmarks/bench_scaling_ep_equal.py --rounds 5 \\
        --json docs/results/torch/scaling_ep_equal_cpu.json | tee docs/results/torch/scaling_ep_equal_cpu.txt
    # GPU (benchmarks/gpu_round28.sh; adds CUDA-graph rows and their own code from .gpu/scaling_ep):
    python benchmarks/bench_scaling_ep_equal.py --device cuda --code .gpu/scaling_ep --json OUT.json

Both sides train MNIST 784-512-10 with the output layer in the state (brian_ep:
``model.readout.kind: none``; Scaling-EP: ``P_MLP``), the squared-error nudge
``-beta (s_out - y)``, ``hard_sigmoid`` = ``clip(u, 0, 1)`` on every layer, biases, the
fixed-point step ``s <- rho(dPhi/ds)`` (brian_ep: ``dt = tau``, so the Euler step is that
map), ``T1 = 30`` free and ``T2 = 10`` nudged steps and ``beta = 0.1`` (Scaling-EP's
``check/train_mnist.sh``), one-sided nudging (``--nudging centered``: a third phase at
``-beta`` on both sides, their ``--thirdphase``), plain SGD at 0.05 for every tensor, float32,
mini-batches of 50 and 1,000, the same initial weights and samples, in one process. Rows:
brian_ep's torch engine (eager; on CUDA also replayed from CUDA graphs), brian_ep's numpy
engine (on the CPU), Scaling-EP's training step re-implemented from their code
(``benchmarks/scaling_ep_pmlp.py``, commit 93660ed6c5b0) and, with ``--code``, their own
``P_MLP`` class. Before timing, one check trains 2 mini-batches of 8 samples on every side from
the same weights and prints the largest weight difference (float64: rounding; their own class
runs in float32): the same computation, so the timings compare equal work.

Rows are timed in turns on the same chunk for ``--rounds`` rounds after a warm-up mini-batch;
the table gives the fastest, median and slowest round and the ratio Scaling-EP / row of the
fastest rounds (> 1: brian_ep faster) within this run. The thread variables of OpenMP, MKL
and OpenBLAS default to 1 (set before numpy is imported) and torch gets ``--threads`` (1).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402 - after the thread variables
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling_ep_pmlp import PMLP, copy_neurons, hard_sigmoid, load_weights, train_pmlp  # noqa: E402

__all__ = ["SETTINGS", "equal_spec", "check_equal", "make_rows", "time_rows", "main"]

#: the shared settings (Scaling-EP's check/train_mnist.sh: 784-512-10, T1 30, T2 10, betas (0, 0.1), mbs 50)
SETTINGS = {"sizes": [784, 512, 10], "T1": 30, "T2": 10, "beta": 0.1, "lr": 0.05, "activation": "hard_sigmoid"}
#: samples per timed round at each batch size (scaled by --scale)
SAMPLES = {"cpu": {50: 1000, 1000: 2000}, "cuda": {50: 2000, 1000: 20000}}

DIFFERENCES = [
    "autograd vs closed form (the point of the comparison): every P_MLP step evaluates Phi, which recomputes the "
    "input product x W1^T (784 x 512), and differentiates it by autograd; brian_ep computes x W1 + b1 once per "
    "mini-batch (the input is clamped) and each step's currents in closed form",
    "the EP update: P_MLP by autograd of (Phi_2 - Phi_1) / (beta_1 - beta_2); brian_ep in closed form, "
    "the input projection's update as one product x^T (r_a - r_b)",
    "precision of the update: brian_ep accumulates the EP update of a float32 network in float64 (the per-sample "
    "factor 1 / (beta_a - beta_b) is float64, brian_ep.maths.projections.correlation), so its update products "
    "(the input one 784 x batch x 512) run in float64; P_MLP's run in float32: more work on brian_ep's side",
    "data: P_MLP moves each mini-batch from host tensors to the device and reads its running accuracy "
    "(.item(), one host sync per mini-batch), as their train() does (a CPU DataLoader there, slices here); "
    "brian_ep's engines take the chunk as a numpy array (the torch engine copies it to the device once per "
    "chunk) and read the device once per chunk (divergence check)",
    "activation: hard_sigmoid on both sides (their check/train_mnist.sh uses 'mysig', an elementwise "
    "function of the same cost order); optimiser: plain SGD on both (theirs: Adam, one elementwise pass "
    "over the weights per mini-batch)",
]


def equal_spec(batch, engine="torch", device="cpu", dtype="float32", nudging="positive", cuda_graphs=False, sizes=None,
               settings=SETTINGS):
    """The brian_ep spec of the shared network (see the module docstring).

    Parameters
    ----------
    batch : int
        Mini-batch size (``optim.batch_size``).
    engine : {"torch", "numpy"}
    device : str
        ``run.torch.device`` (``cpu``, ``cuda``).
    dtype : {"float32", "float64"}
    nudging : {"positive", "centered"}
    sizes : list of int, optional
        Layer sizes from the input (default ``settings["sizes"]``).
    """
    from brian_ep.spec import load_spec

    sizes = sizes or settings["sizes"]
    torch_opts = {"device": device, "cuda_graphs": cuda_graphs} if engine == "torch" else None
    data = {
        "name": "scaling_ep_equal",
        "model": {"input": {"size": sizes[0]}, "hidden": [{"size": s} for s in sizes[1:-1]], "output": {"size": sizes[-1]},
                  "neuron": {"model": "rate", "activation": settings["activation"], "tau": "1 ms"},
                  "chain": {"gamma": 1.0, "lr": [settings["lr"]] * (len(sizes) - 1)}, "readout": {"kind": "none"}},
        "ep": {"mode": "exact", "dt": "1 ms", "free_steps": settings["T1"], "nudged_steps": settings["T2"],
               "beta": settings["beta"], "nudging": nudging},
        "optim": {"algorithm": "sgd", "batch_size": batch},
        "data": {"dataset": "mnist"},
        "run": {"engine": engine, "dtype": dtype, "epochs": 1, "seed": 0},
    }
    if torch_opts:
        data["run"]["torch"] = torch_opts
    return load_spec(data)


def _engine(spec, params):
    from brian_ep.architecture import build_architecture
    from brian_ep.engines import make_engine

    return make_engine(spec, build_architecture(spec), params)


def _initial(sizes, seed=0):
    from brian_ep.architecture import build_architecture
    from brian_ep.maths import initial_params

    arch = build_architecture(equal_spec(1, "numpy", sizes=sizes))
    names = [(p.name, p.post) for p in arch.projections]
    return initial_params(arch, seed), names


def _pmlp(sizes, params, names, device, dtype, code=None):
    """A P_MLP (ours, or theirs from ``code``) with the brian_ep weights, its SGD and copy."""
    import torch

    if code:
        mu = _their_code(code)
        model, copy = mu.P_MLP(list(sizes), activation=mu.hard_sigmoid), mu.copy
    else:
        model, copy = PMLP(list(sizes), activation=hard_sigmoid), copy_neurons
    model = model.to(device=device, dtype=dtype)
    load_weights(model, params, names)
    optimizer = torch.optim.SGD([{"params": s.parameters(), "lr": SETTINGS["lr"]} for s in model.synapses])
    return model, optimizer, copy


def _their_code(code):
    """Their ``model_utils`` module. It imports ``torchvision`` (used only by their data
    loaders, never by ``P_MLP``): where torch has no torchvision, an empty module stands in."""
    import types

    try:
        import torchvision  # noqa: F401 - their model_utils imports it
    except ImportError:
        print("  (no torchvision here: an empty module stands in for their import of it)", flush=True)
        sys.modules["torchvision"] = types.ModuleType("torchvision")
    sys.path.insert(0, str(Path(code).resolve()))
    import model_utils  # their public code

    return model_utils


def _betas(nudging):
    return (0.0, SETTINGS["beta"]), nudging == "centered"


def check_equal(x, labels, device="cpu", nudging="positive", sizes=None, code=None, batch=8, n=16):
    """Train ``n`` samples in mini-batches of ``batch`` on every side from the same weights.

    Returns
    -------
    dict
        ``{label: largest |W - W_numpy| / largest |W_numpy|}`` over all weights and biases,
        against the numpy engine in float64 (their own class: float32).
    """
    import torch

    from brian_ep.data import one_hot

    sizes = sizes or SETTINGS["sizes"]
    params, names = _initial(sizes)
    x, labels = np.asarray(x[:n], dtype=np.float64), np.asarray(labels[:n])
    y = one_hot(labels, sizes[-1])
    ref = _engine(equal_spec(batch, "numpy", dtype="float64", nudging=nudging, sizes=sizes), params)
    ref.train_chunk(x, y)
    ref_flat = ref.get_params().to_flat()
    scale = max(float(np.abs(v).max()) for v in ref_flat.values())
    out = {}
    torch_engine = _engine(equal_spec(batch, "torch", device, "float64", nudging, sizes=sizes), params)
    torch_engine.train_chunk(x, y)
    sides = [(f"brian_ep torch engine ({device}, float64)", torch_engine.get_params())]
    betas, third = _betas(nudging)
    pmlps = [("Scaling-EP step, re-implemented", torch.float64, None)] + ([("Scaling-EP code", torch.float32, code)] if code else [])
    for label, dtype, src in pmlps:
        model, opt, copy = _pmlp(sizes, params, names, device, dtype, src)
        xs, ys = torch.as_tensor(x, dtype=dtype), torch.as_tensor(labels, dtype=torch.int64)
        train_pmlp(model, opt, xs, ys, batch, SETTINGS["T1"], SETTINGS["T2"], betas, device, third, copy, dtype)
        sides.append((f"{label} ({device}, {str(dtype).removeprefix('torch.')})", _params_of(model, names)))
    for label, p in sides:
        flat = p.to_flat()
        out[label] = max(float(np.abs(np.asarray(flat[k], dtype=np.float64) - v).max()) for k, v in ref_flat.items()) / scale
    moved = max(float(np.abs(ref_flat[k] - v).max()) for k, v in params.to_flat().items()) / scale
    out["(weight change in this check, for scale)"] = moved
    return out


def _params_of(model, names):
    from brian_ep.maths import Params

    W = {proj: s.weight.detach().cpu().double().numpy().T for s, (proj, _) in zip(model.synapses, names)}
    b = {post: s.bias.detach().cpu().double().numpy() for s, (_, post) in zip(model.synapses, names)}
    return Params(W, b)


def make_rows(batch, device, nudging, code=None, numpy_row=True):
    """``(label, train)`` of every row at one batch size, all from the same initial weights;
    ``train(x, y, xs, ys)`` trains one chunk: numpy images ``x`` and one-hot targets ``y`` for
    the engines, host tensors ``xs`` and integer labels ``ys`` for P_MLP."""
    import torch

    params, names = _initial(SETTINGS["sizes"])
    rows = []
    variants = [("brian_ep torch engine", "torch", False)]
    if device == "cuda":
        variants.append(("brian_ep torch engine, CUDA graphs", "torch", True))
    if numpy_row:
        variants.append(("brian_ep numpy engine (CPU)", "numpy", False))
    for label, engine, graphs in variants:
        eng = _engine(equal_spec(batch, engine, device, "float32", nudging, graphs), params)
        rows.append((label, lambda x, y, xs, ys, e=eng: e.train_chunk(x, y)))
    betas, third = _betas(nudging)
    pmlps = [("Scaling-EP step (re-implemented)", None)] + ([("Scaling-EP code (their P_MLP)", code)] if code else [])
    for label, src in pmlps:
        model, opt, copy = _pmlp(SETTINGS["sizes"], params, names, device, torch.float32, src)
        rows.append((label, lambda x, y, xs, ys, m=model, o=opt, c=copy: train_pmlp(
            m, o, xs, ys, batch, SETTINGS["T1"], SETTINGS["T2"], betas, device, third, c)))
    return rows


def time_rows(rows, batch, x, y, xs, ys, rounds, sync):
    """Warm every row up on one mini-batch, then time them in turns; ms per sample of each round."""
    for _, train in rows:
        train(x[:batch], y[:batch], xs[:batch], ys[:batch])
    sync()
    times = {label: [] for label, _ in rows}
    for _ in range(rounds):
        for label, train in rows:
            t0 = time.perf_counter()
            train(x, y, xs, ys)
            sync()
            times[label].append(1e3 * (time.perf_counter() - t0) / x.shape[0])
    return times


def _summary(label, batch, n, times, ref):
    best = min(times)
    row = {"label": label, "batch": batch, "samples": n, "ms_per_sample": best, "median": statistics.median(times),
           "slowest": max(times), "rounds_ms": times}
    if ref is not None:
        row["scaling_ep_over_this"] = ref / best
        row["this_over_scaling_ep"] = best / ref
    return row


def _data(kind, n):
    if kind == "random":
        rng = np.random.default_rng(0)
        return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)
    from brian_ep.data import load_mnist

    ds = load_mnist()
    return np.asarray(ds.x_train[:n], dtype=np.float32), np.asarray(ds.y_train[:n])


def _print_table(info):
    print(f"\n784-512-10, {info['settings']['T1']} free + {info['settings']['T2']} nudged steps ({info['nudging']}), "
          f"beta {info['settings']['beta']}, float32, {info['where']}; {info['rounds']} rounds timed in turns")
    print(f"{'row':36s} {'batch':>6s} {'samples':>8s} {'fastest':>9s} {'median':>9s} {'slowest':>9s} "
          f"{'Scaling-EP/this':>16s} {'this/Scaling-EP':>16s}   (ms per training sample)")
    for r in info["rows"]:
        ratio = (f"{r['scaling_ep_over_this']:16.2f} {r['this_over_scaling_ep']:16.4f}"
                 if "scaling_ep_over_this" in r else " " * 33)
        print(f"{r['label']:36s} {r['batch']:6d} {r['samples']:8d} {r['ms_per_sample']:9.4f} {r['median']:9.4f} "
              f"{r['slowest']:9.4f} {ratio}")
    print("ratios: the fastest rounds, against the re-implemented Scaling-EP step at the same batch in this run; "
          "> 1 in 'Scaling-EP/this': brian_ep faster")
    print("what still differs:")
    for d in info["differences"]:
        print(f"  - {d}")


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--batches", default="50,1000", help="batch sizes, comma separated")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--nudging", default="positive", choices=["positive", "centered"])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the samples per round (0.05: a smoke test)")
    parser.add_argument("--data", default="mnist", choices=["mnist", "random"])
    parser.add_argument("--code", help="a checkout of Laborieux-Axel/Equilibrium-Propagation (model_utils.py): also time theirs")
    parser.add_argument("--no-numpy", action="store_true", help="leave out the numpy engine's row (CPU only; on a GPU run)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.code and not (Path(args.code) / "model_utils.py").is_file():
        parser.error(f"--code {args.code}: no model_utils.py there (a checkout of Laborieux-Axel/Equilibrium-Propagation)")
    return args


def main(argv=None):
    args = _parse(argv)
    import torch

    torch.set_num_threads(args.threads)
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    batches = [int(b) for b in args.batches.split(",")]
    counts = {b: max(b, int(SAMPLES[args.device].get(b, 20 * b) * args.scale) // b * b) for b in batches}
    x_all, labels_all = _data(args.data, max(max(counts.values()), 16))
    check = check_equal(x_all, labels_all, args.device, args.nudging, code=args.code)
    print("check, 2 mini-batches of 8 from the same weights, largest weight difference / largest weight "
          "against the numpy engine (float64):", flush=True)
    for label, d in check.items():
        print(f"  {label}: {d:.2e}", flush=True)
    rows = []
    for bs in batches:
        n = counts[bs]
        x, labels = x_all[:n], labels_all[:n]
        y = np.eye(10, dtype=np.float32)[labels]
        xs, ys = torch.as_tensor(x), torch.as_tensor(labels, dtype=torch.int64)
        times = time_rows(make_rows(bs, args.device, args.nudging, args.code, not args.no_numpy), bs, x, y, xs, ys, args.rounds, sync)
        ref = min(times["Scaling-EP step (re-implemented)"])
        rows += [_summary(label, bs, n, t, ref) for label, t in times.items()]
        print(f"  batch {bs}: done", flush=True)
    where = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {torch.get_num_threads()} torch thread(s)"
    info = {"settings": SETTINGS, "nudging": args.nudging, "device": args.device, "where": where, "rounds": args.rounds,
            "threads": torch.get_num_threads(), "env_threads": {v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
            "torch": torch.__version__, "numpy": np.__version__, "data": args.data, "scaling_ep_commit": "93660ed6c5b0",
            "check_max_rel_weight_difference": check, "rows": rows, "differences": DIFFERENCES,
            "command": " ".join(["benchmarks/bench_scaling_ep_equal.py", *(sys.argv[1:] if argv is None else argv)])}
    _print_table(info)
    if args.json:
        Path(args.json).write_text(json.dumps(info, indent=2))
    return info


if __name__ == "__main__":
    main()
