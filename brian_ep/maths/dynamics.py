"""The network dynamics, batched: input currents, one Euler step, relaxation.

Every free layer ``l`` (all but the clamped input, and the output under a softmax readout)
has a state ``u_l`` of shape ``(n_samples, n_l)`` (dimensionless) and rates
``r_l = rho_l(u_l)``. One step of length ``dt`` is the Euler step of
``tau_l du_l/dt = -u_l + I_l`` with ``eps_l = dt / tau_l``::

    I_l = b_l + sum_{p: a -> l} r_a W_p + sum_{p: l -> b} gamma_p r_b W_p^T + nudge_l

All layers are updated synchronously from the rates at the start of the step, which is
what Brian2 does (summed variables are computed just before each group's state update).
"""

from __future__ import annotations

import numpy as np

from ..spec.errors import DivergenceError
from .activations import get_activation

__all__ = [
    "zero_state",
    "rates",
    "input_drive",
    "currents",
    "softmax",
    "readout_output",
    "nudge_current",
    "step",
    "relax",
    "check_state",
]


def zero_state(arch, n_samples: int, dtype=np.float64) -> dict:
    """All free-layer states at 0, shape ``(n_samples, n_l)``."""
    return {layer.name: np.zeros((n_samples, layer.size), dtype=dtype) for layer in arch.free_layers}


def rates(arch, u: dict) -> dict:
    """``r_l = rho_l(u_l)`` for every free layer."""
    return {layer.name: get_activation(layer.activation).rho(u[layer.name]) for layer in arch.free_layers}


def input_drive(arch, params, x: np.ndarray) -> dict:
    """The constant currents from the clamped input, ``x W_p`` for each projection out of it.

    Parameters
    ----------
    x : ndarray, shape (n_samples, n_input)
    """
    name = arch.input.name
    drive = {}
    for p in arch.projections:
        if p.pre == name:
            term = x @ params.W[p.name]
            drive[p.post] = drive[p.post] + term if p.post in drive else term
    return drive


def currents(arch, params, r: dict, x_drive: dict) -> dict:
    """Synaptic plus bias current ``I_l`` of every free layer (without the nudge)."""
    inp = arch.input.name
    out = {}
    for layer in arch.free_layers:
        name = layer.name
        total = x_drive.get(name)
        total = np.zeros_like(r[name]) if total is None else total.copy()
        if layer.bias:
            total += params.b[name]
        out[name] = total
    for p in arch.projections:
        if p.pre == inp:
            continue
        W = params.W[p.name]
        out[p.post] += r[p.pre] @ W
        out[p.pre] += p.gamma * (r[p.post] @ W.T)
    return out


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def readout_output(arch, params, r_top: np.ndarray) -> np.ndarray:
    """The network's output: ``softmax(r_top W_out)`` under a softmax readout, else the rates
    of the output layer (``r_top`` itself)."""
    if arch.readout is None:
        return r_top
    return softmax(r_top @ params.W[arch.readout.name])


def nudge_current(arch, params, r_top: np.ndarray, y: np.ndarray, beta) -> np.ndarray:
    """The nudging current ``-beta dC/dr_top`` into the top layer (``c_top = 1``).

    MSE (no readout): ``beta (y - r_out)``. Softmax readout with cross-entropy:
    ``-beta (softmax(r_top W_out) - y) W_out^T``.

    Parameters
    ----------
    beta : float or ndarray, shape (n_samples,)
        Nudging strength, per sample where signs differ.
    """
    beta = np.asarray(beta, dtype=r_top.dtype)
    if beta.ndim == 1:
        beta = beta[:, None]
    if arch.readout is None:
        return beta * (y - r_top)
    W = params.W[arch.readout.name]
    return -beta * ((softmax(r_top @ W) - y) @ W.T)


def step(arch, params, u: dict, x_drive: dict, nudge=None) -> dict:
    """One synchronous Euler step; returns the new state (inputs are not modified).

    Parameters
    ----------
    nudge : ndarray, optional
        Extra current into the top layer (see :func:`nudge_current`).
    """
    r = rates(arch, u)
    I = currents(arch, params, r, x_drive)
    if nudge is not None:
        I[arch.top.name] = I[arch.top.name] + nudge
    return {layer.name: u[layer.name] + layer.eps * (I[layer.name] - u[layer.name]) for layer in arch.free_layers}


def relax(
    arch,
    params,
    x: np.ndarray,
    n_steps: int,
    u0: dict | None = None,
    y: np.ndarray | None = None,
    beta=0.0,
    nudge_force: str = "recomputed",
    x_drive: dict | None = None,
    trajectory: bool = False,
):
    """Run ``n_steps`` Euler steps from ``u0`` (zeros by default).

    Parameters
    ----------
    x : ndarray, shape (n_samples, n_input)
        Clamped input.
    y : ndarray, shape (n_samples, n_output), optional
        Targets (one-hot); needed when ``beta`` is nonzero.
    beta : float or ndarray
        Nudging strength (0: free phase).
    nudge_force : {"recomputed", "constant", "accumulated"}
        The nudging current at each step (``ep.nudge_force``): recomputed from the current
        state; computed at the first step (from ``u0``, the free fixed point) and held, as in
        the FRE-RNN authors' shallow-network code; or the running sum of the recomputed
        currents, which grows while the output error persists (their deep-network code,
        ``models_LN_G.py``).
    trajectory : bool
        Also return the list of states after each step.

    Returns
    -------
    u : dict
        Final state.
    traj : list of dict
        Only when ``trajectory`` is true.
    """
    if x_drive is None:
        x_drive = input_drive(arch, params, x)
    u = zero_state(arch, x.shape[0], x.dtype) if u0 is None else {k: v.copy() for k, v in u0.items()}
    nudged = y is not None and np.any(np.asarray(beta) != 0)
    top = arch.top
    act_top = get_activation(top.activation)
    if nudge_force not in ("recomputed", "constant", "accumulated"):
        raise ValueError(f"unknown nudge_force {nudge_force!r}: use 'recomputed', 'constant' or 'accumulated'")
    traj = []
    nudge = None
    for _ in range(n_steps):
        if nudged and (nudge is None or nudge_force != "constant"):
            now = nudge_current(arch, params, act_top.rho(u[top.name]), y, beta)
            nudge = nudge + now if (nudge is not None and nudge_force == "accumulated") else now
        u = step(arch, params, u, x_drive, nudge)
        if trajectory:
            traj.append(u)
    return (u, traj) if trajectory else u


def check_state(u: dict, threshold: float, where: str = "") -> None:
    """Raise :class:`DivergenceError` naming the layer and sample if a state is not finite
    or exceeds ``threshold`` in magnitude."""
    for name, v in u.items():
        bad = ~np.isfinite(v) | (np.abs(v) > threshold)
        if np.any(bad):
            sample = int(np.argwhere(bad)[0][0])
            value = v[np.unravel_index(np.argmax(np.where(np.isfinite(v), np.abs(v), np.inf)), v.shape)]
            raise DivergenceError(
                f"the state of layer '{name}' diverged ({'non-finite' if not np.isfinite(value) else f'|u| = {abs(value):.3g}'}"
                f" > {threshold:g}) at sample {sample}{where}. Likely causes: a learning rate that is too "
                "large, beta too large, or feedback (gamma) so strong that the dynamics do not contract; "
                "lower them in the spec"
            )
