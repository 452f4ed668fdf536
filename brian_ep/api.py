"""The entry points for use inside your own Brian2 script: a spec from plain arguments, and
the Brian2 objects of a network with its weights loaded.

>>> import brian_ep
>>> from brian2 import ms
>>> spec = brian_ep.make_spec([64, 32, 10], tau=1 * ms, dt=0.5 * ms)
>>> net = brian_ep.build(spec, n_samples=5)
>>> sorted(net.groups)
['h1', 'input', 'output']
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from brian2 import Quantity, check_units, second

from .architecture import build_architecture
from .maths.params import Params, initial_params
from .spec.load import load_spec
from .spec.schema import Spec
from .weights import check_params

if TYPE_CHECKING:
    from .brian.network import EPNetwork

__all__ = ["make_spec", "build", "example_run"]


@check_units(tau=second, dt=second, beta=1)
def make_spec(
    sizes: Sequence[int],
    activation: str = "hard_sigmoid",
    tau: Quantity | None = None,
    dt: Quantity | None = None,
    gamma: float | Sequence[float] = 1.0,
    lr: float | Sequence[float] = 0.05,
    beta: float = 0.5,
    free_steps: int = 20,
    nudged_steps: int = 10,
    nudging: str = "centered",
    mode: str = "exact",
    readout: str = "none",
    dataset: str = "digits",
    name: str = "ep",
    **sections: Any,
) -> Spec:
    """A network spec from arguments, for networks built in Python rather than from a file.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes from input to output, e.g. ``[64, 256, 10]``.
    activation : str
        Rate function of every non-input layer (``hard_sigmoid``, ``sigmoid``, ``tanh``).
    tau : Quantity, optional
        Membrane time constant, e.g. ``1*ms`` (default 1 ms).
    dt : Quantity, optional
        Integration step, e.g. ``0.5*ms`` (default 0.5 ms); ``dt / tau`` must be <= 1.
    gamma : float or list of float
        Feedback regulation factor(s) of the chain, in (0, 1].
    lr : float or list of float
        Learning rate(s) of the chain projections.
    beta : float
        Nudging strength (dimensionless; a ``Quantity`` with units is refused, as are units on
        ``gamma`` and ``lr``).
    free_steps, nudged_steps : int
        Phase lengths in steps of ``dt``.
    nudging, mode, readout : str
        See :class:`brian_ep.spec.EPSpec` and :class:`brian_ep.spec.ReadoutSpec`.
    dataset : str
        Data set the spec names (``digits``, ``mnist``, ``fashion-mnist``).
    **sections
        Further top-level sections to merge (``optim={...}``, ``run={...}``).

    Returns
    -------
    Spec
    """
    from .spec.quantities import format_time

    gamma, lr, beta = _dimensionless("gamma", gamma), _dimensionless("lr", lr), float(beta)
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output size (got {sizes})")
    data = {
        "name": name,
        "model": {
            "input": {"size": sizes[0]},
            "hidden": [{"size": s} for s in sizes[1:-1]],
            "output": {"size": sizes[-1]},
            "neuron": {"activation": activation, "tau": format_time(tau) if tau is not None else "1 ms"},
            "chain": {"gamma": gamma, "lr": lr},
            "readout": {"kind": readout},
        },
        "ep": {
            "mode": mode,
            "dt": format_time(dt) if dt is not None else "0.5 ms",
            "free_steps": free_steps,
            "nudged_steps": nudged_steps,
            "beta": beta,
            "nudging": nudging,
        },
        "data": {"dataset": dataset},
    }
    for key, value in sections.items():
        data[key] = value
    return load_spec(data)


def _dimensionless(key: str, value: Any) -> float | list[float]:
    """``value`` (a number or a list of numbers) as float(s); a ``Quantity`` with units raises
    ``DimensionMismatchError`` naming ``key``."""
    from brian2.units.fundamentalunits import fail_for_dimension_mismatch

    values = list(value) if isinstance(value, (list, tuple)) else [value]
    for v in values:
        fail_for_dimension_mismatch(v, error_message=f"make_spec: '{key}' must be dimensionless")
    return [float(v) for v in values] if isinstance(value, (list, tuple)) else float(value)


def build(
    spec: Spec | str | os.PathLike[str] | Mapping[str, Any],
    n_samples: int,
    x: np.ndarray | None = None,
    y: np.ndarray | None = None,
    params: Params | None = None,
    seed: int | None = None,
    name: str = "ep",
    modify_equations: Callable[[str, str], str] | None = None,
) -> EPNetwork:
    """The Brian2 objects of the network ``spec`` describes, with weights loaded.

    Parameters
    ----------
    spec : {Spec, str, dict}
        A spec or a spec file.
    n_samples : int
        Number of sample windows the objects present (the size of the ``TimedArray`` inputs).
    x : ndarray, shape (n_samples, n_input), optional
        Inputs in [0, 1] (zeros if omitted).
    y : ndarray, shape (n_samples, n_output), optional
        One-hot targets (zeros if omitted: no learning signal).
    params : Params, optional
        Weights; default: the initial weights of ``seed`` (or ``spec.run.seed``). Checked
        against the network (names, shapes, finite values; a
        :class:`~brian_ep.errors.DataError` names the array).
    modify_equations : callable, optional
        ``f(name, text) -> text``, applied to each layer's and projection's equations.

    Returns
    -------
    EPNetwork
        ``groups`` (``NeuronGroup`` per layer), ``synapses`` (``Synapses`` per projection),
        ``timed_arrays``, ``monitor``, ``equations`` and ``network`` (a ``Network`` to
        ``run(net.duration)``); add your own monitors with ``net.network.add(...)``.

    Notes
    -----
    Each sample window lasts ``spec.ep.window_steps * spec.ep.dt``; learning happens in the
    synapses at the end of each window (the weights change during ``run``).
    """
    from .brian.builder import build_network

    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    arch = build_architecture(spec)
    n_in, n_out = arch.input.size, arch.output.size
    x = np.zeros((n_samples, n_in)) if x is None else np.asarray(x, dtype=float)
    y = np.zeros((n_samples, n_out)) if y is None else np.asarray(y, dtype=float)
    if x.shape != (n_samples, n_in) or y.shape != (n_samples, n_out):
        raise ValueError(
            f"x must have shape {(n_samples, n_in)} and y {(n_samples, n_out)} (got {x.shape} and {y.shape})"
        )
    if params is None:
        params = initial_params(arch, spec.run.seed if seed is None else seed)
    check_params(params, arch, "params")
    data = {"x": x, "y": y, "mask": np.ones(n_samples), "signs": np.ones(n_samples)}
    net = build_network(arch, spec.ep, spec.optim, n_samples, data, name=name, modify_equations=modify_equations)
    net.set_params(params)
    for key, G in list(net.groups.items()) + list(net.relays.items()):
        if key != arch.input.name:
            G.n_real = n_samples
    return net


def example_run(n_samples: int = 20, verbose: bool = True) -> float:
    """Train a small network on a few bundled digits with Brian2 (runtime numpy target) and
    check the weights against the mathematics (``brian_ep.maths``).

    Returns
    -------
    float
        The largest absolute weight difference between Brian2 and the mathematics (~1e-16).
    """
    from brian2 import prefs

    from .data import load_digits, one_hot
    from .engines.numpy_batched import NumpyEngine
    from .maths.optim import init_optim_state

    spec = make_spec([64, 16, 10], free_steps=10, nudged_steps=4)
    ds = load_digits()
    x, y = ds.x_train[:n_samples], one_hot(ds.y_train[:n_samples], 10)
    arch = build_architecture(spec)
    params = initial_params(arch, spec.run.seed)
    reference = NumpyEngine(spec, arch, params, init_optim_state(params))
    reference.train_chunk(x, y)
    previous = prefs.codegen.target
    prefs.codegen.target = "numpy"
    try:
        net = build(spec, n_samples, x, y, params)
        net.network.run(net.duration, namespace={})
    finally:
        prefs.codegen.target = previous
    diff = net.get_params().max_abs_diff(reference.get_params())
    if verbose:
        print(f"brian_ep example: {n_samples} digits learned in Brian2; max |W_brian2 - W_maths| = {diff:.2e}")
    return diff
