"""The batched numpy engine: the mathematics of :mod:`brian_ep.maths` applied to whole
mini-batches at once. Same spec, same initial weights, same updates as the Brian2 engine
(the tests hold them to the same trajectories); much faster for sweeps on full data sets.
"""

from __future__ import annotations

import numpy as np

from ..errors import DivergenceError
from ..maths.dynamics import check_state, output, relax
from ..maths.optim import apply_update, learning_rates
from ..maths.params import constrain
from ..maths.params import Params
from ..maths.phases import ep_phase_gradient
from .base import ChunkResult, Engine

__all__ = ["NumpyEngine"]


class NumpyEngine(Engine):
    """Batched EP in numpy (``run.engine: numpy``).

    Parameters
    ----------
    spec : Spec
    arch : Architecture
    params : Params
        Initial weights (copied).
    optim_state : OptimState
    workdir : path, optional
        Unused (the numpy engine writes no files).
    """

    def __init__(self, spec, arch, params, optim_state, workdir=None):
        self.dtype = np.float32 if spec.run.dtype == "float32" else np.float64
        super().__init__(spec, arch, params.astype(self.dtype), optim_state, workdir)
        self.lrs = learning_rates(arch)

    def set_params(self, params):
        self.params = params.astype(self.dtype)

    def train_chunk(self, x, y, signs=None):
        x = np.asarray(x, dtype=self.dtype)
        y = np.asarray(y, dtype=self.dtype)
        ep, bs = self.spec.ep, self.spec.optim.batch_size
        f = self.lr_factor
        lrs = Params({k: v * f for k, v in self.lrs.W.items()}, {k: v * f for k, v in self.lrs.b.items()})
        outputs = np.empty((x.shape[0], y.shape[1]))
        for start in range(0, x.shape[0], bs):
            sl = slice(start, start + bs)
            grads, ph = ep_phase_gradient(
                self.arch, self.params, x[sl], y[sl], ep, None if signs is None else signs[sl]
            )
            where = f" in the mini-batch that starts with {self.describe_sample(start)}"
            for u in (ph.u_free, ph.u_a, ph.u_b):
                check_state(self.arch, u, ep.divergence_threshold, where)
            outputs[sl] = output(self.arch, self.params, ph.u_free)
            apply_update(self.params, grads, lrs, self.spec.optim, self.optim_state)
            constrain(self.arch, self.params)
            if not self.params.is_finite():
                raise DivergenceError(
                    f"the weights became non-finite after the mini-batch that starts with "
                    f"{self.describe_sample(start)}; lower the learning rates (model.chain.lr) or beta"
                )
        self.samples_seen += x.shape[0]
        return ChunkResult(outputs)

    def predict(self, x):
        x = np.asarray(x, dtype=self.dtype)
        out = []
        bs = self.spec.run.eval_batch_size
        for start in range(0, x.shape[0], bs):
            u = relax(self.arch, self.params, x[start : start + bs], self.spec.ep.free_steps)
            out.append(output(self.arch, self.params, u))
        return np.concatenate(out, axis=0)
