"""Training speed of the public Scaling-EP code (Laborieux et al. 2021,
github.com/Laborieux-Axel/Equilibrium-Propagation, commit 93660ed) on MNIST 784-512-10: the
reference that the torch engine's GPU speed is compared with (issue 20: >= 100x faster).

    python benchmarks/scaling_ep_reference.py --code PATH/TO/Equilibrium-Propagation --device cuda

The code is not part of this project and is not copied into it: ``--code`` names a checkout of
that repository (its ``model_utils.py``). The timed loop is the EP branch of its ``train()``,
with the settings of its ``check/train_mnist.sh``: ``P_MLP([784, 512, 10])``, ``my_sigmoid``,
MSE loss, Adam 5e-4, betas (0, 0.1), T1 = 30 free and T2 = 10 nudged steps, mini-batches of 50
moved to the device one by one from a CPU ``DataLoader``, as its ``train()`` does. Prints
ms per training sample (fastest of ``--rounds`` rounds after one warm-up mini-batch).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def time_scaling_ep(code: str, device: str = "cuda", batch: int = 50, samples: int = 2000, rounds: int = 2,
                    x=None, labels=None) -> dict:
    """Time the Scaling-EP training loop; returns ``{"ms_per_sample", "batch", "samples", ...}``.

    Parameters
    ----------
    code : str
        Directory holding the repository's ``model_utils.py`` (and ``data_utils.py``).
    device : str
        ``"cuda"`` or ``"cpu"``.
    batch, samples, rounds : int
        Mini-batch size, samples per timed round, rounds (the fastest is reported).
    x, labels : array, optional
        Images (n, 784) in [0, 1] and integer labels; random ones if not given (speed only).
    """
    import numpy as np
    import torch

    sys.path.insert(0, str(Path(code).resolve()))
    import model_utils as mu  # the public code

    torch.manual_seed(0)
    if x is None:
        rng = np.random.default_rng(0)
        x, labels = rng.random((samples, 784), dtype=np.float32), rng.integers(0, 10, samples)
    xs = torch.as_tensor(np.asarray(x[:samples], dtype=np.float32)).view(-1, 1, 28, 28)
    ys = torch.as_tensor(np.asarray(labels[:samples], dtype=np.int64))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xs, ys), batch_size=batch, shuffle=False)
    dev = torch.device(device)
    model = mu.P_MLP([784, 512, 10], activation=mu.my_sigmoid).to(dev)
    optimizer = torch.optim.Adam([{"params": s.parameters(), "lr": 5e-4} for s in model.synapses])
    criterion = torch.nn.MSELoss(reduction="none").to(dev)
    betas = (0.0, 0.1)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    def one_batch(xb, yb):
        xb, yb = xb.to(dev), yb.to(dev)
        neurons = model.init_neurons(xb.size(0), dev)
        neurons = model(xb, yb, neurons, 30, beta=betas[0], criterion=criterion)
        neurons_1 = mu.copy(neurons)
        with torch.no_grad():
            (yb == torch.argmax(neurons[-1], dim=1).squeeze()).sum().item()  # train() reads its running accuracy
        neurons = model(xb, yb, neurons, 10, beta=betas[1], criterion=criterion)
        neurons_2 = mu.copy(neurons)
        model.compute_syn_grads(xb, yb, neurons_1, neurons_2, betas, criterion)
        optimizer.step()

    model.train()
    one_batch(*next(iter(loader)))  # warm-up
    sync()
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for xb, yb in loader:
            one_batch(xb, yb)
        sync()
        best = min(best, 1e3 * (time.perf_counter() - t0) / len(xs))
    return {"label": "Scaling-EP code (P_MLP 784-512-10)", "batch": batch, "samples": len(xs), "ms_per_sample": best,
            "steps": "30 free + 10 nudged", "device": device}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", required=True, help="checkout of Laborieux-Axel/Equilibrium-Propagation")
    parser.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args(argv)
    if not (Path(args.code) / "model_utils.py").is_file():
        parser.error(f"--code {args.code}: no model_utils.py there (a checkout of Laborieux-Axel/Equilibrium-Propagation)")
    r = time_scaling_ep(args.code, args.device, args.batch, args.samples, args.rounds)
    print(f"{r['label']}, batch {r['batch']}, {r['steps']}, {args.device}: {r['ms_per_sample']:.4f} ms/sample")
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
