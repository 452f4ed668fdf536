"""Backprop on the feed-forward network with the same layers as a spec (``run.engine: bp``):
the reference that EP is compared with in the depth table.

The network is ``input -> hidden layers (each layer's activation) -> output`` (a convolutional
chain projection is the same convolution and average pooling as in EP); with a softmax
readout the loss is the cross-entropy of ``softmax(r_top W_out)``, otherwise the squared
error of the output layer's rates, as in the EP network (one definition:
:func:`brian_ep.maths.energy.output_loss`). Only chain projections are used (skips are
ignored). It runs through :func:`brian_ep.train` like any engine: same initial weights
(:func:`~brian_ep.maths.params.initial_params`, so the first forward pass equals EP's free
phase with gamma -> 0), same data order, mini-batches, learning rates, schedule and
optimiser (:func:`brian_ep.maths.optim.apply_update` on torch tensors), except where the
section ``run.bp.optim`` departs from them (:func:`baseline_optimiser`; the other baselines,
which subclass :class:`BackpropEngine`, read their own section). torch is imported when the
engine is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..engines.base import ChunkResult, Engine
from ..engines.torch_engine.tensors import optim_to_numpy, optim_to_torch, params_to_numpy, params_to_torch, torch_dtype
from ..errors import DivergenceError
from ..maths.activations import get_activation
from ..maths.dynamics import softmax
from ..maths.energy import output_loss
from ..maths.optim import OptimState, apply_update, learning_rates, scale_learning_rates
from ..maths.params import Params, constrain
from ..maths.projections import add_bias, feedforward

__all__ = ["BackpropEngine", "BackpropResult", "train_backprop", "baseline_optimiser"]


def baseline_optimiser(spec, arch):
    """``(optim, batch_size, lrs)`` a baseline trains with: the spec's optimiser, batch size
    and per-projection learning rates, except where its section ``run.<engine>.optim`` says
    otherwise (:class:`~brian_ep.baselines.options.BaselineOptim`)."""
    over = getattr(spec.run.engine_options(), "optim", None)
    optim, batch_size, lrs = spec.optim, spec.optim.batch_size, learning_rates(arch)
    if over is None:
        return optim, batch_size, lrs
    if over.algorithm is not None:
        optim = optim.model_copy(update={"algorithm": over.algorithm})
    if over.lr is not None:
        lrs = Params({k: over.lr for k in lrs.W}, {k: over.lr for k in lrs.b})
    return optim, over.batch_size or batch_size, lrs


class BackpropEngine(Engine):
    """Feed-forward backprop with torch autograd, behind the engine interface.

    Parameters
    ----------
    spec, arch, params, optim_state, workdir
        As for every :class:`~brian_ep.engines.base.Engine` (``workdir`` is unused).
    """

    def __init__(self, spec, arch, params, optim_state, workdir=None):
        import torch

        super().__init__(spec, arch, params, optim_state, workdir)
        self.torch = torch
        self.dtype = torch_dtype(spec.run.dtype)
        self.chain = [p for p in arch.all_projections if p.kind in ("chain", "readout")]
        self.optim, self.batch_size, self.lrs = baseline_optimiser(spec, arch)
        self.constrained = any(p.constrained for p in arch.all_projections)
        self._load(params, optim_state)

    # -- weights and optimiser state as torch tensors ----------------------------------------
    def _tensor(self, a):
        return self.torch.tensor(np.asarray(a), dtype=self.dtype)

    def _load(self, params, optim_state):
        self.weights = params_to_torch(params, self.dtype)
        self.state = optim_to_torch(optim_state, self.dtype)

    def get_params(self) -> Params:
        return params_to_numpy(self.weights)

    def set_params(self, params: Params) -> None:
        self.weights = params_to_torch(params, self.dtype)

    def get_optim_state(self) -> OptimState:
        return optim_to_numpy(self.state)

    def set_optim_state(self, state: OptimState) -> None:
        self.state = optim_to_torch(state, self.dtype)

    # -- the network ----------------------------------------------------------------------------
    def _forward(self, weights: Params, x):
        """The output: softmax probabilities under a softmax readout, else the output rates."""
        r = x
        for p in self.chain:
            h = feedforward(p, r, weights.W[p.name])
            if p.kind == "readout":
                return softmax(h)
            layer = self.arch.layer(p.post)
            if layer.bias:
                h = add_bias(layer, h, weights.b[layer.name])
            r = get_activation(layer.activation).rho(h)
        return r

    def _batch_loss(self, weights: Params, x, y):
        """The mean loss of a mini-batch (a torch scalar to backpropagate) and the outputs
        to report: :func:`~brian_ep.maths.energy.output_loss` of :meth:`_forward`."""
        out = self._forward(weights, x)
        return output_loss(self.arch, out, y).mean(), out

    def _step(self, x, y, first: int):
        """One mini-batch: forward, backprop, optimiser step; returns the outputs before it."""
        torch = self.torch
        live = Params({k: v.clone().requires_grad_(True) for k, v in self.weights.W.items()},
                      {k: v.clone().requires_grad_(True) for k, v in self.weights.b.items()})
        loss, out = self._batch_loss(live, x, y)
        loss.backward()
        grads = Params({k: _grad(v) for k, v in live.W.items()}, {k: _grad(v) for k, v in live.b.items()})
        lrs = scale_learning_rates(self.lrs, self.lr_factor)
        with torch.no_grad():
            apply_update(self.weights, grads, lrs, self.optim, self.state)
            if self.constrained:  # Dale's law and weight bounds, as the EP engines apply them
                constrain(self.arch, self.weights)
            finite = all(bool(torch.isfinite(v).all()) for v in list(self.weights.W.values()) + list(self.weights.b.values()))
        if not finite:
            raise DivergenceError(
                f"the weights became non-finite after the mini-batch that starts with {self.describe_sample(first)}; "
                "lower the learning rates (model.chain.lr)"
            )
        return out.detach()

    def train_chunk(self, x, y, signs=None):
        xt, yt = self._tensor(x), self._tensor(y)
        bs = self.batch_size
        outputs = [self._step(xt[s : s + bs], yt[s : s + bs], s) for s in range(0, xt.shape[0], bs)]
        self.samples_seen += x.shape[0]
        return ChunkResult(self.torch.cat(outputs).numpy().astype(np.float64))

    def predict(self, x):
        bs = self.spec.run.eval_batch_size
        with self.torch.no_grad():
            out = [self._forward(self.weights, self._tensor(x[s : s + bs])) for s in range(0, x.shape[0], bs)]
        return self.torch.cat(out).numpy().astype(np.float64)


def _grad(tensor):
    """The gradient autograd left on ``tensor`` (zeros where the loss does not depend on it,
    e.g. a layer that a short relaxation does not reach)."""
    return tensor.grad if tensor.grad is not None else tensor.detach() * 0


@dataclass
class BackpropResult:
    """Per-epoch results of :func:`train_backprop`."""

    test_accuracy: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    seconds_per_epoch: list = field(default_factory=list)

    @property
    def final_test_accuracy(self) -> float:
        return self.test_accuracy[-1]


def train_backprop(spec, dataset=None, progress=False, threads=None) -> BackpropResult:
    """Train the feed-forward counterpart of ``spec`` with backprop (``run.engine: bp``
    through :func:`brian_ep.train`); ``threads`` sets torch's CPU threads."""
    from ..train import train

    if threads:
        import torch

        torch.set_num_threads(threads)
    bp = spec.model_copy(update={"run": spec.run.model_copy(update={"engine": "bp"})})
    metrics = train(bp, progress=progress, dataset=dataset).metrics
    rows = metrics["epochs"]
    return BackpropResult(
        [r["test_accuracy"] for r in rows], [r["train_loss"] for r in rows], [r["train_seconds"] for r in rows]
    )
