"""Backprop (autograd) on the feed-forward network with the same layers as a spec: the
reference that EP is compared with in the depth table.

The network is ``input -> hidden layers (the spec's activation) -> output``; with a softmax
readout the loss is cross-entropy on ``softmax(r_top W_out)``, otherwise MSE on the output
layer's rates, as in the EP network. Same optimiser (SGD or Adam), learning rates, batch
size, schedule, epochs and data order as the spec; initial weights from the same
``init_params`` (so the first forward pass equals EP's free phase with gamma -> 0).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["BackpropResult", "train_backprop"]


@dataclass
class BackpropResult:
    test_accuracy: list = field(default_factory=list)  # per epoch
    train_loss: list = field(default_factory=list)
    seconds_per_epoch: list = field(default_factory=list)

    @property
    def final_test_accuracy(self) -> float:
        return self.test_accuracy[-1]


def train_backprop(spec, dataset=None, progress=False, threads=None) -> BackpropResult:
    """Train the feed-forward counterpart of ``spec`` with backprop (torch autograd).

    Only chain projections are used (a feed-forward MLP); skips are ignored.
    """
    import torch

    from ..architecture import build_architecture
    from ..data import one_hot
    from ..maths.params import init_params
    from ..train import lr_factor, prepare_data

    if threads:
        torch.set_num_threads(threads)
    arch = build_architecture(spec)
    (x_tr, l_tr), _, (x_te, l_te) = prepare_data(spec, dataset)
    params = init_params(arch, np.random.default_rng([spec.run.seed, 0]))
    chain = [p for p in arch.all_projections if p.kind in ("chain", "readout")]
    dtype = torch.float32 if spec.run.dtype == "float32" else torch.float64
    weights = [torch.tensor(params.W[p.name], dtype=dtype, requires_grad=True) for p in chain]
    biases = {
        layer.name: torch.tensor(params.b[layer.name], dtype=dtype, requires_grad=True)
        for layer in arch.free_layers
        if layer.bias
    }
    acts = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "hard_sigmoid": lambda u: torch.clamp(u, 0, 1)}
    layers = [arch.layer(p.post) for p in chain]
    groups = [{"params": [w], "lr": p.lr} for w, p in zip(weights, chain)]
    for layer in arch.free_layers:
        if layer.bias:
            into = next(p for p in chain if p.post == layer.name)
            groups.append({"params": [biases[layer.name]], "lr": into.lr})
    if spec.optim.algorithm == "adam":
        opt = torch.optim.Adam(groups, betas=spec.optim.adam_betas, eps=spec.optim.adam_eps)
    else:
        opt = torch.optim.SGD(groups)
    base_lrs = [g["lr"] for g in opt.param_groups]

    def forward(x):
        r = x
        for w, layer, p in zip(weights, layers, chain):
            h = r @ w
            if p.kind == "readout":
                return h  # logits
            if layer.bias:
                h = h + biases[layer.name]
            r = acts[layer.activation](h)
        return r

    def loss_fn(out, y):
        if arch.readout is not None:
            return -(y * torch.log_softmax(out, dim=1)).sum(dim=1).mean()
        return 0.5 * ((out - y) ** 2).sum(dim=1).mean()

    xt_te = torch.tensor(x_te, dtype=dtype)
    result = BackpropResult()
    n, bs = x_tr.shape[0], spec.optim.batch_size
    for epoch in range(spec.run.epochs):
        for g, lr in zip(opt.param_groups, base_lrs):
            g["lr"] = lr * lr_factor(spec, epoch)
        order = np.random.default_rng([spec.run.seed, 1, epoch]).permutation(n)
        t0 = time.perf_counter()
        total = 0.0
        for start in range(0, n, bs):
            idx = order[start : start + bs]
            x = torch.tensor(x_tr[idx], dtype=dtype)
            y = torch.tensor(one_hot(l_tr[idx], arch.output.size), dtype=dtype)
            opt.zero_grad()
            loss = loss_fn(forward(x), y)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        result.seconds_per_epoch.append(time.perf_counter() - t0)
        with torch.no_grad():
            pred = forward(xt_te).argmax(dim=1).numpy()
        result.test_accuracy.append(float(np.mean(pred == l_te)))
        result.train_loss.append(total / n)
        if progress:
            print(f"  BP epoch {epoch + 1}/{spec.run.epochs}: test {100 * result.test_accuracy[-1]:.2f}%", flush=True)
    return result
