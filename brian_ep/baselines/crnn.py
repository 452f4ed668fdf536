"""Backprop through time in the convergent recurrent network itself (``run.engine:
bptt_crnn``): the network EP trains, the same layers, projections, feedback factors and
dynamics, trained by differentiating the loss at the end of the free phase through every
step of the relaxation (torch autograd).

The dynamics are not written again: :func:`brian_ep.maths.dynamics.relax` runs on torch
tensors (the maths takes its array namespace from its inputs), so the forward pass is,
number for number, EP's free phase; its gradient tends to the recurrent-backprop gradient at
the fixed point (:func:`brian_ep.maths.gradients.recurrent_backprop_gradient`) as the free
phase converges. Everything else (initial weights, data order, mini-batches, learning rates,
optimiser, run directory) is the :class:`~brian_ep.baselines.backprop.BackpropEngine`'s, i.e.
EP's.
"""

from __future__ import annotations

from ..errors import SpecError
from ..maths.dynamics import check_state, output, relax
from ..maths.params import Params
from .backprop import BackpropEngine

__all__ = ["CrnnEngine", "crnn_steps"]


def crnn_steps(spec) -> int:
    """Steps of the free phase that ``bptt_crnn`` backpropagates through: ``run.bptt_crnn.steps``
    or, by default, the spec's ``ep.free_steps``."""
    steps = spec.run.engine_options("bptt_crnn").steps
    return spec.ep.free_steps if steps is None else steps


class CrnnEngine(BackpropEngine):
    """BPTT through the free phase of the EP network, behind the engine interface.

    Parameters
    ----------
    spec, arch, params, optim_state, workdir
        As for every :class:`~brian_ep.engines.base.Engine` (``workdir`` is unused).

    Raises
    ------
    SpecError
        If a layer's neuron model is stochastic (there is no gradient through random spikes;
        use ``bptt_snn`` with a surrogate for spiking networks).
    """

    def __init__(self, spec, arch, params, optim_state, workdir=None):
        stochastic = [layer for layer in arch.free_layers if layer.neuron.stochastic]
        if stochastic:
            layer = stochastic[0]
            raise SpecError(
                f"bptt_crnn backpropagates through deterministic dynamics, but layer '{layer.name}' uses the "
                f"stochastic neuron model '{layer.neuron.name}'",
                key="run.engine",
                allowed="a spec with rate neurons, or run.engine bptt_snn (surrogate gradients) for spiking networks",
            )
        super().__init__(spec, arch, params, optim_state, workdir)
        self.steps = crnn_steps(spec)

    def _forward(self, weights: Params, x):
        """The output after ``steps`` steps of the free phase from rest (the prediction EP
        makes), differentiable with respect to ``weights``."""
        u = relax(self.arch, weights, x, self.steps)
        check_state(self.arch, {k: v.detach() for k, v in u.items()}, self.spec.ep.divergence_threshold, " (bptt_crnn)")
        return output(self.arch, weights, u)
