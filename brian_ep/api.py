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

import numbers
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from brian2 import Quantity, second
from brian2.units.fundamentalunits import get_dimensions

from .api_checks import UnitError, array_argument, params_argument, samples_argument, spec_argument
from .architecture import Architecture, build_architecture
from .errors import ArgumentError
from .maths.params import Params, initial_params
from .maths.stream import stream_of
from .resources import check_resources
from .spec.load import load_spec
from .spec.schema import Spec

if TYPE_CHECKING:
    from .brian.network import EPNetwork

__all__ = ["make_spec", "build", "example_run"]


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

    Raises
    ------
    ArgumentError
        If ``sizes`` is not a list of at least two whole numbers >= 1 (a string, ``[64]``).
    UnitError
        If ``tau`` or ``dt`` is not a time (a bare ``0.5`` instead of ``0.5*ms``), or ``beta``,
        ``gamma`` or ``lr`` carries units (also a Brian2 ``DimensionMismatchError``).
    SpecError
        If a value is out of range (the message names the spec key).
    """
    gammas, lrs, nudge = _dimensionless("gamma", gamma), _dimensionless("lr", lr), _dimensionless("beta", beta)
    layer_sizes = _sizes(sizes)
    tau, dt = _time("tau", tau), _time("dt", dt)
    data = _spec_data(layer_sizes, activation, tau, dt, gammas, lrs, nudge, free_steps, nudged_steps, nudging, mode, readout,
                      dataset, name)
    for key, value in sections.items():
        data[key] = value
    return load_spec(data)


def _spec_data(sizes: list[int], activation: str, tau: Quantity | None, dt: Quantity | None, gamma: Any, lr: Any,
               beta: Any, free_steps: int, nudged_steps: int, nudging: str, mode: str, readout: str, dataset: str,
               name: str) -> dict[str, Any]:
    """The spec mapping of :func:`make_spec`'s arguments (checked already)."""
    from .spec.quantities import format_time

    return {
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


def _sizes(sizes: Any) -> list[int]:
    """``sizes`` as a list of at least two ints >= 1."""
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise ArgumentError(f"make_spec: 'sizes' must be a list of layer sizes from input to output, e.g. [64, 256, 10] (got {sizes!r})")
    if len(sizes) < 2 or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and int(s) >= 1 for s in sizes):
        raise ArgumentError(
            f"make_spec: 'sizes' needs at least an input and an output size, each a whole number >= 1, e.g. "
            f"[64, 256, 10] (got {list(sizes)!r})"
        )
    return [int(s) for s in sizes]


def _time(key: str, value: Any) -> Quantity | None:
    """``value`` unless it is not a time (``None`` stays ``None``)."""
    if value is None:
        return None
    if not isinstance(value, Quantity) or get_dimensions(value) != get_dimensions(second) or np.ndim(value) != 0:
        raise UnitError(
            f"make_spec: '{key}' must be a time with units, e.g. {key}=0.5*ms (from brian2 import ms), "
            f"got {value!r}; a bare number has no unit"
        )
    return value


def _dimensionless(key: str, value: Any) -> float | list[float]:
    """``value`` (a number or a list of numbers) as float(s); units raise :class:`UnitError`
    naming ``key``."""
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    for v in values:
        if isinstance(v, Quantity) and not get_dimensions(v).is_dimensionless:
            raise UnitError(f"make_spec: '{key}' must be dimensionless (a plain number), got {v!r}")
        if isinstance(v, bool) or not isinstance(v, (numbers.Real, Quantity)):
            raise ArgumentError(f"make_spec: '{key}' must be a number (got {v!r})")
    return [float(v) for v in values] if isinstance(value, (list, tuple)) else float(value)


def build(
    spec: Spec | str | os.PathLike[str] | Mapping[str, Any],
    n_samples: int,
    x: np.ndarray | None = None,
    y: np.ndarray | None = None,
    params: Params | str | os.PathLike[str] | Mapping[str, Any] | None = None,
    seed: int | None = None,
    name: str = "ep",
    modify_equations: Callable[[str, str], str] | None = None,
    input: Any = None,  # noqa: A002 - the input layer's source, named as in the spec
    input_rate: Any = None,
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
    params : {Params, str, dict}, optional
        Weights (a :class:`Params`, a weights file's path, or a mapping of arrays as in the
        file: ``{"W:<projection>": ..., "b:<layer>": ...}``); default: the initial weights of
        ``seed`` (or ``spec.run.seed``). Checked against the network.
    modify_equations : callable, optional
        ``f(name, text) -> text``, applied to each layer's and projection's equations.
    input : SpikeSource, optional
        Your own Brian2 group that spikes, one neuron per input neuron, as the learned input
        instead of ``x``: its spike count per window over ``window * input_rate`` is the next
        window's ``x`` (``brian_ep.brian.source``); it is added to ``net.network``.
    input_rate : Quantity, optional
        The rate that counts as input 1 (default ``100*Hz``).

    Returns
    -------
    EPNetwork
        ``groups`` (``NeuronGroup`` per layer), ``synapses`` (``Synapses`` per projection),
        ``timed_arrays``, ``monitor``, ``equations`` and ``network`` (a ``Network`` to
        ``run(net.duration)``); add your own monitors with ``net.network.add(...)``.

    Raises
    ------
    ArgumentError
        If ``spec`` is not a spec, a spec file or a mapping, ``n_samples`` is not a whole number
        >= 1, ``params`` is of another kind, or ``input`` cannot be the input layer (no spikes,
        another size, given with ``x``).
    DataError
        If ``x`` or ``y`` has another shape or non-finite values, or the weights do not fit
        the network (names, shapes, finite values) or their file cannot be read.
    SpecError
        If the network would need more memory than this machine has, or more time steps per
        sample than ``brian_ep.resources.MAX_STEPS_PER_SAMPLE`` (the bounds ``train`` has).

    Notes
    -----
    Each sample window lasts ``spec.ep.window_steps * spec.ep.dt``; learning happens in the
    synapses at the end of each window (the weights change during ``run``).
    """
    from .brian.builder import build_network
    from .brian.source import connect_source

    spec = spec_argument(spec, "build")
    n_samples = samples_argument(n_samples, "build")
    arch = build_architecture(spec)
    stream = stream_of(spec)  # an event stream: x holds each sample's bins, one after the other
    check_resources(spec, arch, n_samples, engine="brian2")
    if input is not None:
        input, modify_equations = _source(spec, arch, stream, input, input_rate, x is not None, modify_equations)
    data = _window_data(arch, n_samples, x, y, stream)
    params = params_argument(params, arch, "build")
    net = build_network(arch, spec.ep, spec.optim, n_samples, data, name=name, modify_equations=modify_equations, stream=stream)
    if input is not None:
        connect_source(net, input, name)
    net.set_params(initial_params(arch, spec.run.seed if seed is None else seed) if params is None else params)
    _count_real_samples(net, n_samples)
    return net


def _count_real_samples(net: EPNetwork, n_samples: int) -> None:
    """Every sample window of a ``build`` network is real (no padding)."""
    for key, G in list(net.groups.items()) + list(net.relays.items()):
        if key != net.arch.input.name:
            G.n_real = n_samples


def _window_data(arch: Architecture, n_samples: int, x: Any, y: Any, stream: Any) -> dict[str, np.ndarray]:
    """The per-window arrays of ``build`` (inputs, targets, mask, signs), checked."""
    x = array_argument(x, (n_samples, arch.input.size * (1 if stream is None else stream.bins)), "x", "build")
    y = array_argument(y, (n_samples, arch.output.size), "y", "build")
    return {"x": x, "y": y, "mask": np.ones(n_samples), "signs": np.ones(n_samples)}


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


def _source(spec: Spec, arch: Architecture, stream: Any, group: Any, rate: Any, x_given: bool,
            modify_equations: Callable[[str, str], str] | None) -> tuple[Any, Callable[[str, str], str]]:
    """The user's spiking group as the input of ``build`` and the hook that makes the input
    layer count its spikes (``brian_ep.brian.source``)."""
    from brian2 import Hz

    from .brian.source import source_hook, spike_source

    if x_given:
        raise ArgumentError("build: give either x (a stimulus per window) or input (your spiking group), not both")
    source = spike_source(group, 100 * Hz if rate is None else rate, arch, stream)
    window = spec.ep.window_steps * float(spec.ep.dt)
    return source, source_hook(modify_equations, arch.input.name, 1.0 / (window * float(source.rate)))
