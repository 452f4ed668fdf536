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
from ..maths.energy import output_loss
from ..maths.params import Params
from .backprop import BackpropEngine, _grad
from .options import crnn_steps

__all__ = ["CrnnEngine", "crnn_steps", "bptt_gradient"]


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


def bptt_gradient(arch, params: Params, x, y, steps: int) -> Params:
    """The gradient of the mean loss after ``steps`` steps of the free phase from rest, by
    autograd through every step (what ``bptt_crnn`` descends), in float64.

    Parameters
    ----------
    arch : Architecture
    params : Params
        numpy weights and biases.
    x : ndarray, shape (n_samples, n_input)
    y : ndarray, shape (n_samples, n_output)
        One-hot targets.

    Returns
    -------
    Params
        numpy gradients, the layout of ``params`` (zeros where the loss does not depend on a
        parameter within ``steps`` steps).
    """
    import torch

    live = Params({k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.W.items()},
                  {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.b.items()})
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    output_loss(arch, output(arch, live, relax(arch, live, xt, steps)), yt).mean().backward()
    return Params({k: _grad(v).numpy() for k, v in live.W.items()}, {k: _grad(v).numpy() for k, v in live.b.items()})
