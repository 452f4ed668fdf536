"""The mathematics of EP as pure numpy functions: the ground truth that the Brian2 equations
and the batched engine are tested against.

Arrays are batched: states ``u[layer]`` have shape ``(n_samples, n_layer)``; weights
``W[projection]`` have shape ``(n_pre, n_post)``. Everything is dimensionless; time enters
only through ``eps = dt / tau`` of each layer.
"""

from .activations import ACTIVATIONS, Activation, get_activation
from .convergence import coupling_spectral_radius, predicted_steps, settling_steps, spectral_radius, step_jacobian
from .dynamics import (
    check_state,
    currents,
    input_drive,
    nudge_current,
    rates,
    readout_output,
    relax,
    softmax,
    step,
    zero_state,
)
from .energy import cost, energy, fixed_point_residual, total_energy
from .gradients import coupling_matrix, ep_gradient, readout_gradient, recurrent_backprop_gradient, state_index
from .optim import OptimState, apply_update, init_optim_state, learning_rates
from .params import Params, init_params

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "get_activation",
    "Params",
    "init_params",
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
    "energy",
    "cost",
    "total_energy",
    "fixed_point_residual",
    "ep_gradient",
    "readout_gradient",
    "recurrent_backprop_gradient",
    "coupling_matrix",
    "state_index",
    "step_jacobian",
    "spectral_radius",
    "coupling_spectral_radius",
    "settling_steps",
    "predicted_steps",
    "OptimState",
    "init_optim_state",
    "apply_update",
    "learning_rates",
]
