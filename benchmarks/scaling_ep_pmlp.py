"""Scaling-EP's ``P_MLP`` training step, re-implemented in torch for the like-for-like speed
benchmark (``benchmarks/bench_scaling_ep_equal.py``).

Laborieux et al. 2021, github.com/Laborieux-Axel/Equilibrium-Propagation, commit
93660ed6c5b0 (``model_utils.py``: ``P_MLP.Phi``, ``P_MLP.forward``, ``P_MLP.init_neurons``,
``P_MLP.compute_syn_grads``, ``copy``; the EP branch of ``train()``). This module is our own
code written from that reading; it performs the same tensor operations in the same order:

* ``Phi(x, y, s) = sum_l sum(Linear_l(s_{l-1}) * s_l, dim=1) - beta * 0.5 * sum((s_out - y)^2, dim=1)``
  per sample (the MSE nudge only when ``beta != 0``; the label is one-hot encoded inside
  ``Phi`` on every call, as theirs does);
* one step of ``forward``: ``s_l <- sigma(dPhi/ds_l)`` for every layer at once, the gradient
  taken by ``torch.autograd.grad`` with a vector of ones built from a Python list on every
  step (theirs: ``torch.tensor([1 for i in range(mbs)], ...)``), every new state made a leaf
  that requires grad;
* ``compute_syn_grads``: ``((Phi_2.mean() - Phi_1.mean()) / (beta_1 - beta_2)).backward()``,
  then the optimiser step;
* per mini-batch in ``train()``: the batch moved to the device, ``T1`` free steps from zero
  states, a copy of the state, the running accuracy read on the host (``.item()``), ``T2``
  nudged steps, a copy; with ``thirdphase`` ``T2`` steps at ``-beta`` from the free state and
  the update from the two nudged states.

Departures (none changes the arithmetic of float32 runs): states and the MSE term stay in the
working dtype (theirs casts the output layer and the label with ``.float()``, which is the
identity in float32 and lets the float64 check agree to rounding); the optimiser and the
activation are passed in. :func:`train_pmlp` also drives their own ``P_MLP`` class (``--code``
in the benchmark), whose ``copy`` then replaces ours.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["PMLP", "copy_neurons", "hard_sigmoid", "train_pmlp", "load_weights"]


def hard_sigmoid(x):
    """Scaling-EP's ``hard_sigmoid``: ``(1 + hardtanh(2x - 1)) / 2``, which is ``clip(x, 0, 1)``
    (brian_ep's ``hard_sigmoid``)."""
    return (1 + F.hardtanh(2 * x - 1)) * 0.5


def copy_neurons(neurons):
    """Their ``copy``: a detached copy of every state tensor, each a leaf that requires grad."""
    return [torch.empty_like(n).copy_(n.data).requires_grad_() for n in neurons]


class PMLP(torch.nn.Module):
    """The ``P_MLP`` of Scaling-EP (symmetric weights, output layer in the state, MSE nudge).

    Parameters
    ----------
    archi : list of int
        Layer sizes from the input, e.g. ``[784, 512, 10]``.
    activation : callable
        ``sigma``, elementwise (e.g. :func:`hard_sigmoid`).
    """

    def __init__(self, archi, activation=hard_sigmoid):
        super().__init__()
        self.activation, self.archi, self.nc = activation, list(archi), archi[-1]
        self.softmax = False
        self.synapses = torch.nn.ModuleList(torch.nn.Linear(a, b, bias=True) for a, b in zip(archi[:-1], archi[1:]))

    def Phi(self, x, y, neurons, beta, criterion):  # noqa: N802 - their name
        """The primitive function, one value per sample, shape ``(n,)``."""
        x = x.view(x.size(0), -1)
        layers = [x] + neurons
        phi = 0.0
        for idx in range(len(self.synapses)):
            phi += torch.sum(self.synapses[idx](layers[idx]) * layers[idx + 1], dim=1).squeeze()
        if beta != 0.0:
            y = F.one_hot(y, num_classes=self.nc)
            L = 0.5 * criterion(layers[-1], y.to(layers[-1].dtype)).sum(dim=1).squeeze()
            phi -= beta * L
        return phi

    def forward(self, x, y, neurons, T, beta=0.0, criterion=None):
        """``T`` steps of ``s <- sigma(dPhi/ds)``; returns the new list of states."""
        mbs, device = x.size(0), x.device
        for _ in range(T):
            phi = self.Phi(x, y, neurons, beta, criterion)
            init_grads = torch.tensor([1 for i in range(mbs)], dtype=phi.dtype, device=device, requires_grad=True)
            grads = torch.autograd.grad(phi, neurons, grad_outputs=init_grads, create_graph=False)
            for idx in range(len(neurons)):
                neurons[idx] = self.activation(grads[idx])
                neurons[idx].requires_grad = True
        return neurons

    def init_neurons(self, mbs, device, dtype=torch.float32):
        """Zero states of every non-input layer, each requiring grad."""
        return [torch.zeros((mbs, size), requires_grad=True, device=device, dtype=dtype) for size in self.archi[1:]]

    def compute_syn_grads(self, x, y, neurons_1, neurons_2, betas, criterion):
        """``p.grad`` of ``(Phi_2 - Phi_1) / (beta_1 - beta_2)`` (batch means): the EP estimate
        of the loss gradient."""
        beta_1, beta_2 = betas
        self.zero_grad()
        phi_1 = self.Phi(x, y, neurons_1, beta_1, criterion).mean()
        phi_2 = self.Phi(x, y, neurons_2, beta_2, criterion).mean()
        delta_phi = (phi_2 - phi_1) / (beta_1 - beta_2)
        delta_phi.backward()


def load_weights(model, params, names):
    """Copy brian_ep weights into ``model.synapses`` (``W`` of shape (n_pre, n_post) is the
    transpose of ``Linear.weight``).

    Parameters
    ----------
    params : brian_ep.maths.Params
        float64 numpy weights and biases.
    names : list of (str, str)
        ``(projection, post layer)`` per synapse, from the input up.
    """
    with torch.no_grad():
        for syn, (proj, post) in zip(model.synapses, names):
            syn.weight.copy_(torch.as_tensor(params.W[proj].T))
            syn.bias.copy_(torch.as_tensor(params.b[post]))


def train_pmlp(model, optimizer, xs, ys, batch, T1, T2, betas, device, thirdphase=False, copy=copy_neurons, dtype=torch.float32):
    """The EP branch of their ``train()`` over ``xs`` in mini-batches of ``batch``.

    Parameters
    ----------
    xs : torch.Tensor, shape (n, 784)
        Images, on the host (each mini-batch is moved to ``device``, as theirs does).
    ys : torch.Tensor of int64, shape (n,)
        Labels.
    betas : (float, float)
        ``(beta_1, beta_2)``; ``beta_1 = 0`` for one-sided nudging.
    thirdphase : bool
        Centered: a third phase at ``-beta_2`` and the update from the two nudged states.

    Returns
    -------
    int
        Correct free-phase predictions (their running accuracy).
    """
    criterion = torch.nn.MSELoss(reduction="none").to(device)
    beta_1, beta_2 = betas
    correct = 0
    model.train()
    for start in range(0, xs.size(0), batch):
        x, y = xs[start : start + batch].to(device), ys[start : start + batch].to(device)
        neurons = model.init_neurons(x.size(0), device) if dtype == torch.float32 else model.init_neurons(x.size(0), device, dtype)
        neurons = model(x, y, neurons, T1, beta=beta_1, criterion=criterion)
        neurons_1 = copy(neurons)
        with torch.no_grad():
            correct += (y == torch.argmax(neurons[-1], dim=1).squeeze()).sum().item()
        neurons = model(x, y, neurons, T2, beta=beta_2, criterion=criterion)
        neurons_2 = copy(neurons)
        if thirdphase:
            neurons = copy(neurons_1)
            neurons = model(x, y, neurons, T2, beta=-beta_2, criterion=criterion)
            neurons_3 = copy(neurons)
            model.compute_syn_grads(x, y, neurons_2, neurons_3, (beta_2, -beta_2), criterion)
        else:
            model.compute_syn_grads(x, y, neurons_1, neurons_2, betas, criterion)
        optimizer.step()
    return correct
