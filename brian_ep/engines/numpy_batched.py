"""The batched numpy engine: the mathematics of :mod:`brian_ep.maths` applied to whole
mini-batches at once. Same spec, same initial weights, same updates as the Brian2 engine
(the tests hold them to the same trajectories); much faster for sweeps on full data sets.
"""

from __future__ import annotations

import numpy as np

from ..errors import DivergenceError
from ..maths.dynamics import check_state, output, relax, spike_counts
from ..maths.noise import ArrayNoise, SeededNoise
from ..maths.optim import apply_update, learning_rates, scale_learning_rates
from ..maths.params import constrain
from ..maths.phases import ep_phase_gradient, free_phase_input
from ..maths.stream import stream_of
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
        self.stream = stream_of(spec)  # None: static input; else event bins, presented in order

    def set_params(self, params):
        self.params = params.astype(self.dtype)

    def set_noise(self, arrays):
        super().set_noise(arrays)
        self._array_noise = None if arrays is None else ArrayNoise(self.supplied_noise, self.spec.ep.window_steps)

    def _noise(self):
        """The noise of the next chunk: the supplied arrays (read on from where the last chunk
        stopped) or a generator seeded by the chunk's position in the run."""
        if self.supplied_noise is not None:
            return self._array_noise
        return SeededNoise(self.noise_seed())

    def train_chunk(self, x, y, signs=None):
        x = np.asarray(x, dtype=self.dtype)
        y = np.asarray(y, dtype=self.dtype)
        ep, bs = self.spec.ep, self.spec.optim.batch_size
        lrs = scale_learning_rates(self.lrs, self.lr_factor)
        outputs = np.empty((x.shape[0], y.shape[1]))
        noise = self._noise()
        spikes = {}
        for start in range(0, x.shape[0], bs):
            sl = slice(start, start + bs)
            grads, ph = ep_phase_gradient(
                self.arch, self.params, x[sl], y[sl], ep, None if signs is None else signs[sl], noise, stream=self.stream
            )
            where = f" in the mini-batch that starts with {self.describe_sample(start)}"
            for u in (ph.u_free, ph.u_a, ph.u_b):
                check_state(self.arch, u, ep.divergence_threshold, where)
            _add_spikes(spikes, self.arch, ph)
            outputs[sl] = output(self.arch, self.params, ph.u_free)
            apply_update(self.params, grads, lrs, self.spec.optim, self.optim_state)
            constrain(self.arch, self.params)
            if not self.params.is_finite():
                raise DivergenceError(
                    f"the weights became non-finite after the mini-batch that starts with "
                    f"{self.describe_sample(start)}; lower the learning rates (model.chain.lr) or beta"
                )
        self.samples_seen += x.shape[0]
        return ChunkResult(outputs, spikes or None)

    def predict(self, x):
        x = np.asarray(x, dtype=self.dtype)
        out = []
        bs = self.spec.run.eval_batch_size
        noise = SeededNoise(self.noise_seed(predict=True))
        for start in range(0, x.shape[0], bs):
            steps = self.spec.ep.free_steps
            held, drive, drives = free_phase_input(self.arch, self.params, x[start : start + bs], steps, self.stream)
            u = relax(self.arch, self.params, held, steps, x_drive=drive, drives=drives, noise=noise)
            out.append(output(self.arch, self.params, u))
        return np.concatenate(out, axis=0)


def _add_spikes(totals: dict, arch, phases) -> None:
    """Add the spikes of one presentation (free phase and both nudged phases, which restart
    from the free state and so count its spikes once each) to ``totals``."""
    free = spike_counts(arch, phases.u_free)
    a, b = spike_counts(arch, phases.u_a), spike_counts(arch, phases.u_b)
    for name, n_free in free.items():
        totals[name] = totals.get(name, 0.0) + float(np.sum(a[name] + b[name] - n_free))
