"""The torch engine (``run.engine: torch``): the mathematics of :mod:`brian_ep.maths` on
torch tensors, a whole mini-batch per call, on the CPU or a CUDA device.

The same spec, initial weights, data order, nudging signs, learning rates and optimiser as
every engine (the trainer supplies them); in float64 on the CPU its trajectories and updates
equal the numpy engine's to rounding (``tests/engines/test_torch_equivalence.py``). Weights
move in and out as float64 numpy :class:`~brian_ep.maths.params.Params`, so run directories
are interchangeable between engines.

Per mini-batch the engine calls one function of tensors (:mod:`.batch`) and one optimiser
step; nothing is read back from the device until the end of a chunk, where the divergence
summaries of all its mini-batches are checked at once.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from ...errors import ArgumentError, DivergenceError
from ...maths.dynamics import output, raise_divergence, relax
from ...maths.optim import apply_update, learning_rates, scale_learning_rates
from ...maths.params import Params, constrain
from ...seeds import stream
from ..base import ChunkResult, Engine
from .batch import make_batch_function
from .distributed import DataParallel, launched_by_torchrun
from .noise import GeneratorNoise
from .tensors import optim_to_numpy, optim_to_torch, params_to_numpy, params_to_torch, torch_dtype

__all__ = ["TorchEngine", "select_device"]


def select_device(name: str, local_rank: int = 0):
    """The ``torch.device`` of ``run.torch.device``; ``cuda`` under ``torchrun`` is the GPU of
    the process's local rank. Raises :class:`~brian_ep.errors.ArgumentError` if CUDA is asked
    for and not available."""
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ArgumentError(
                f"run.torch.device is '{name}' but torch finds no CUDA device (torch {torch.__version__}); "
                "use run.torch.device: cpu, or install a CUDA build of torch on a machine with a GPU"
            )
        return torch.device(f"cuda:{local_rank}" if name == "cuda" else name)
    return torch.device("cpu")


def _same_layout(a: Params, b: Params) -> bool:
    """Whether ``a`` and ``b`` hold the same weights and biases with the same shapes."""
    return all(
        getattr(a, kind).keys() == getattr(b, kind).keys()
        and all(v.shape == getattr(b, kind)[k].shape for k, v in getattr(a, kind).items())
        for kind in ("W", "b")
    )


def _all_finite(params: Params):
    """Whether every weight and bias is finite, as a 0-d tensor (not read): the smallest and
    largest value of each are finite (``nan`` propagates through both)."""
    ends = [torch.aminmax(v) for v in list(params.W.values()) + list(params.b.values()) if v.numel()]
    return torch.isfinite(torch.stack([e for pair in ends for e in pair])).all()


class TorchEngine(Engine):
    """Batched EP on torch tensors (``run.engine: torch``; settings in ``run.torch``, see
    :class:`~brian_ep.engines.torch_engine.options.TorchOptions`).

    Parameters
    ----------
    spec, arch, params, optim_state, workdir
        As for every :class:`~brian_ep.engines.base.Engine` (``workdir`` is unused).

    Notes
    -----
    Under ``torchrun`` (and ``run.torch.distributed: auto``) the engine joins the process
    group; every mini-batch of ``optim.batch_size`` samples is split over the processes and
    their updates averaged (:mod:`.distributed`), so N processes train the same weights as one.
    Stochastic neuron models draw their noise from a ``torch.Generator`` seeded from
    ``run.seed`` (stream ``noise``), or from :meth:`set_noise`.
    """

    def __init__(self, spec, arch, params, optim_state, workdir=None):
        options = spec.run.engine_options("torch")
        if options.threads:
            torch.set_num_threads(options.threads)
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        device = select_device(options.device, local_rank)
        self.parallel = DataParallel(device) if options.distributed == "auto" and launched_by_torchrun() else None
        self.device, self.dtype, self.options = device, torch_dtype(spec.run.dtype), options
        super().__init__(spec, arch, params_to_torch(params, self.dtype, device), optim_to_torch(optim_state, self.dtype, device), workdir)
        self.lrs = learning_rates(arch)
        stochastic = any(layer.neuron.stochastic for layer in arch.free_layers)
        if stochastic and options.cuda_graphs:
            raise ArgumentError("run.torch.cuda_graphs cannot replay the noise of stochastic neuron models; set it to false")
        self.noise = GeneratorNoise(int(stream(spec.run.seed, "noise").integers(2**62)), device) if stochastic else None
        self.stepper, self.batch = make_batch_function(arch, spec.ep, options.compile, options.cuda_graphs)

    # -- state in and out (numpy float64, the run-directory format) -------------------------
    @property
    def is_main_process(self) -> bool:
        return self.parallel is None or self.parallel.rank == 0

    def get_params(self) -> Params:
        return params_to_numpy(self.params)

    def set_params(self, params: Params) -> None:
        new = params_to_torch(params, self.dtype, self.device)
        if _same_layout(new, self.params):  # in place: CUDA graphs read these tensors
            for kind in ("W", "b"):
                for k, v in getattr(new, kind).items():
                    getattr(self.params, kind)[k].copy_(v)
        else:
            self.params = new
            self.stepper, self.batch = make_batch_function(self.arch, self.spec.ep, self.options.compile, self.options.cuda_graphs)

    def get_optim_state(self):
        return optim_to_numpy(self.optim_state)

    def set_optim_state(self, state) -> None:
        self.optim_state = optim_to_torch(state, self.dtype, self.device)

    def set_noise(self, noise) -> None:
        """Use ``noise`` (a ``noise(layer, like)`` callable such as
        :class:`~brian_ep.engines.torch_engine.noise.SuppliedNoise`) for stochastic models."""
        self.noise = noise

    def _tensor(self, a, dtype=None):
        return torch.as_tensor(np.asarray(a), dtype=dtype or self.dtype, device=self.device)

    # -- training -----------------------------------------------------------------------------
    @torch.no_grad()
    def train_chunk(self, x, y, signs=None):
        X, Y = self._tensor(x), self._tensor(y)
        S = None if signs is None else self._tensor(signs, torch.float64)
        n, bs = X.shape[0], self.spec.optim.batch_size
        starts = list(range(0, n, bs))
        sizes = [min(bs, n - s) for s in starts]
        lrs = scale_learning_rates(self.lrs, self.lr_factor)
        outputs, summaries, finite = [], [], []
        for start, size in zip(starts, sizes):
            rows = self._rows(size)
            sl = slice(start + rows.start, start + rows.stop)
            grads, out, summary = self._mini_batch(X[sl], Y[sl], None if S is None else S[sl], size, rows)
            apply_update(self.params, grads, lrs, self.spec.optim, self.optim_state)
            constrain(self.arch, self.params)
            outputs.append(out)
            summaries.append(summary)
            finite.append(_all_finite(self.params))
        self._check(torch.stack(summaries), torch.stack(finite), starts, sizes)
        out = torch.cat(outputs)
        if self.parallel is not None:
            out = self.parallel.gather_rows(out, self.parallel.owned(starts, sizes), n)
        self.samples_seen += n
        return ChunkResult(out.to("cpu", torch.float64).numpy())

    def close(self) -> None:
        if self.parallel is not None:
            self.parallel.close()
            self.parallel = None

    def _rows(self, size: int) -> slice:
        return slice(0, size) if self.parallel is None else self.parallel.rows(size)

    def _mini_batch(self, x, y, signs, size, rows):
        """The (process-averaged) update, the outputs and the divergence summary of the
        share ``rows`` of a mini-batch of ``size`` samples."""
        if self.noise is not None and hasattr(self.noise, "set_rows"):
            self.noise.set_rows(size, rows)
        n_local = x.shape[0]
        if n_local:
            gW, gb, out, summary = self.batch(self.params.W, self.params.b, x, y, signs, self.noise)
            grads = Params(gW, gb)
        else:  # fewer samples than processes: this one contributes nothing
            grads = Params({k: torch.zeros_like(v) for k, v in self.params.W.items()}, {k: torch.zeros_like(v) for k, v in self.params.b.items()})
            out = torch.zeros((0, self.arch.output.size), dtype=self.dtype, device=self.device)
            phases = 3 if self.spec.ep.nudging == "centered" else 2
            summary = torch.zeros((phases, len(self.arch.free_layers), 3), dtype=self.dtype, device=self.device)
        if self.parallel is not None:
            grads = self.parallel.mean_update(grads, n_local, size)
        return grads, out, summary

    def _check(self, summaries, finite, starts, sizes) -> None:
        """Raise the numpy engine's divergence errors for the first mini-batch of the chunk
        whose states or weights diverged (one read from the device per chunk)."""
        summaries, finite = summaries.to("cpu", torch.float64).numpy(), finite.to("cpu").numpy()
        bad = bool(summaries[..., 0].any()) or not bool(finite.all())
        if self.parallel is not None and not self.parallel.any(bad):
            return
        if not bad:
            if self.parallel is not None:
                raise DivergenceError("the training diverged in another process (see its error); this process stops with it")
            return
        threshold = self.spec.ep.divergence_threshold
        for summary, ok, start, size in zip(summaries, finite, starts, sizes):
            where = f" in the mini-batch that starts with {self.describe_sample(start)}"
            summary[..., 1] += self._rows(size).start  # local sample -> sample of the mini-batch
            for phase in summary:
                raise_divergence(self.arch, phase, threshold, where)
            if not ok:
                raise DivergenceError(
                    f"the weights became non-finite after the mini-batch that starts with "
                    f"{self.describe_sample(start)}; lower the learning rates (model.chain.lr) or beta"
                )

    # -- evaluation ---------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, x):
        X = self._tensor(x)
        n = X.shape[0]
        rows = self._rows(n)
        local = X[rows]
        bs = self.spec.run.eval_batch_size
        if self.noise is not None and hasattr(self.noise, "set_rows"):
            self.noise.set_rows(None, slice(None))  # evaluation batches are this process's own
        outs = [torch.zeros((0, self.arch.output.size), dtype=self.dtype, device=self.device)]
        for start in range(0, local.shape[0], bs):
            u = relax(self.arch, self.params, local[start : start + bs], self.spec.ep.free_steps, noise=self.noise, stepper=self.stepper)
            outs.append(output(self.arch, self.params, u))
        out = torch.cat(outs)
        if self.parallel is not None:
            out = self.parallel.gather_rows(out, np.arange(rows.start, rows.stop), n)
        return out.to("cpu", torch.float64).numpy()
