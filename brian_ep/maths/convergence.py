"""How fast the free phase converges: Jacobian and spectral radius at the fixed point, and
the number of steps until the state stops changing.

One Euler step is the map ``u -> u + eps (I(rho(u)) - u)``; at a fixed point its Jacobian is
``J = (1 - eps) + eps M D`` with ``M = dI/dr`` (:func:`~brian_ep.maths.gradients.coupling_matrix`)
and ``D = diag(rho'(u*))``. The distance to the fixed point shrinks roughly like
``rho(J)^t``, so about ``log(tol) / log(rho(J))`` steps reach a tolerance ``tol``.
Feedback regulation (``gamma < 1``) scales the feedback blocks of ``M`` and so ``rho(J)``.
"""

from __future__ import annotations

import numpy as np

from .activations import get_activation
from .dynamics import initial_state, input_drive, nudge_current, rates, step
from .gradients import coupling_matrix, state_index

__all__ = ["step_jacobian", "spectral_radius", "coupling_spectral_radius", "settling_steps"]


def step_jacobian(arch, params, u: dict, k: int = 0, M: np.ndarray | None = None) -> np.ndarray:
    """Jacobian of one Euler step at the state of sample ``k``, shape ``(n_free, n_free)``."""
    M = coupling_matrix(arch, params) if M is None else M
    idx = state_index(arch)
    n = M.shape[0]
    d = np.zeros(n)
    eps = np.zeros(n)
    for layer in arch.free_layers:
        d[idx[layer.name]] = get_activation(layer.activation).rho_prime(u[layer.name][k])
        eps[idx[layer.name]] = layer.eps
    return np.diag(1.0 - eps) + eps[:, None] * (M * d[None, :])


def spectral_radius(arch, params, u: dict, samples=None) -> np.ndarray:
    """Spectral radius of :func:`step_jacobian` for each sample in ``samples`` (default all)."""
    M = coupling_matrix(arch, params)
    n_samples = next(iter(u.values())).shape[0]
    samples = range(n_samples) if samples is None else samples
    return np.array([np.max(np.abs(np.linalg.eigvals(step_jacobian(arch, params, u, k, M)))) for k in samples])


def coupling_spectral_radius(arch, params) -> float:
    """Spectral radius of the coupling matrix ``M`` alone (weights and gammas, no state):
    the quantity Liu & Chen report."""
    return float(np.max(np.abs(np.linalg.eigvals(coupling_matrix(arch, params)))))


def settling_steps(arch, params, x, tol: float = 1e-6, max_steps: int = 500, y=None, beta=0.0, u0=None):
    """Run the dynamics until the state change per step falls below ``tol``.

    The change at step ``t`` is the Euclidean norm, over all free neurons of a sample, of
    ``u(t) - u(t-1)`` (as in Liu & Chen's code).

    Returns
    -------
    steps : ndarray of int, shape (n_samples,)
        First step whose change is below ``tol`` (``max_steps + 1`` if never).
    change : ndarray, shape (n_steps_run, n_samples)
        The change after every step, for plotting the residual against steps.
    u : dict
        The final state.
    """
    x_drive = input_drive(arch, params, x)
    n = x.shape[0]
    u = initial_state(arch, x) if u0 is None else dict(u0)
    steps = np.full(n, max_steps + 1, dtype=int)
    history = []
    top = arch.top
    for t in range(1, max_steps + 1):
        nudge = None
        if y is not None and np.any(np.asarray(beta) != 0):
            nudge = nudge_current(arch, params, rates(arch, u)[top.name], y, beta)
        new = step(arch, params, u, x_drive, nudge)
        change = np.sqrt(sum(np.sum((new[k] - u[k]) ** 2, axis=1) for k in u))
        history.append(change)
        u = new
        fresh = (steps > max_steps) & (change < tol)
        steps[fresh] = t
        if np.all(steps <= max_steps):
            break
    return steps, np.array(history), u

