"""The mathematics of EP as pure functions: the ground truth that the Brian2 equations and
the batched engines are tested against.

Arrays are batched: states ``u[layer]`` have shape ``(n_samples, n_layer)``; weights
``W[projection]`` have shape ``(n_pre, n_post)``. Everything is dimensionless; time enters
only through ``eps = dt / tau`` of each layer. The functions take the array namespace of
their inputs (:mod:`brian_ep.maths.arrays`: numpy, or torch through the array API), and each
layer's neuron model (:mod:`brian_ep.neurons`) through its ``Layer``; the linear-algebra
references (recurrent backprop, spectral radius) are numpy only.
"""

from .activations import ACTIVATIONS, Activation, get_activation
from .convergence import coupling_spectral_radius, settling_steps, spectral_radius, step_jacobian
from .dynamics import (
    NUDGE_FORCES,
    InputSpikes,
    check_state,
    currents,
    initial_state,
    input_drive,
    nudge_current,
    output,
    phase_rates,
    rates,
    readout_output,
    relax,
    relax_step,
    signals,
    softmax,
    spike_counts,
    step,
)
from .energy import cost, energy, fixed_point_residual, output_loss, total_energy
from .noise import ArrayNoise, SeededNoise, noise_layers
from .gradients import coupling_matrix, ep_gradient, readout_gradient, recurrent_backprop_gradient, state_index
from .optim import OptimState, apply_update, init_optim_state, learning_rates
from .params import Params, init_params, initial_params

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "get_activation",
    "Params",
    "init_params",
    "initial_params",
    "NUDGE_FORCES",
    "initial_state",
    "rates",
    "phase_rates",
    "spike_counts",
    "InputSpikes",
    "SeededNoise",
    "ArrayNoise",
    "noise_layers",
    "signals",
    "output",
    "output_loss",
    "input_drive",
    "currents",
    "softmax",
    "readout_output",
    "nudge_current",
    "step",
    "relax",
    "relax_step",
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
    "OptimState",
    "init_optim_state",
    "apply_update",
    "learning_rates",
]
