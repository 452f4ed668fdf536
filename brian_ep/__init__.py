"""brian_ep: Equilibrium Propagation for Brian2.

Convergent recurrent networks of rate neurons, trained with Equilibrium Propagation through
local synaptic rules written as Brian2 equations; feedback regulation and residual
topologies (FRE-RNN); a batched numpy engine with the same mathematics.

Quick start::

    import brian_ep
    spec = brian_ep.load_spec("network_specs/digits.yaml")
    result = brian_ep.train(spec, out="runs/digits")          # Brian2, cpp_standalone
    net = brian_ep.build(spec, n_samples=10)                  # ordinary Brian2 objects

``import brian_ep`` changes no Brian2 device, clock or preference, and imports neither Brian2
nor torch: each public name is imported when first used (PEP 562), so ``brian-ep --help`` and
``import brian_ep.maths`` stay light.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Each public name and the module that defines it (imported on first use).
_PUBLIC = {
    "load_spec": "spec", "Spec": "spec",
    "make_spec": "api", "build": "api", "example_run": "api",
    "train": "train", "evaluate": "train", "TrainResult": "train",
    "build_architecture": "architecture", "Architecture": "architecture", "Layer": "architecture",
    "Projection": "architecture",
    "Params": "maths.params", "init_params": "maths.params", "initial_params": "maths.params",
    "load_weights": "weights",
    "NeuronModel": "neurons", "register_neuron_model": "neurons",
    "Engine": "engines", "register_engine": "engines",
    "Dataset": "data", "load_dataset": "data", "load_digits": "data", "load_mnist": "data",
    "load_fashion_mnist": "data", "one_hot": "data",
    "SpecError": "errors", "DataError": "errors", "DivergenceError": "errors", "BrianEPError": "errors",
    "ArgumentError": "errors", "RegistrationError": "errors", "Interrupted": "errors",
}

__all__ = [
    "__version__", "load_spec", "Spec", "make_spec", "build", "example_run", "train", "evaluate",
    "TrainResult", "build_architecture", "Architecture", "Layer", "Projection", "Params", "init_params",
    "initial_params", "load_weights", "NeuronModel", "register_neuron_model", "Engine", "register_engine",
    "Dataset", "load_dataset", "load_digits", "load_mnist", "load_fashion_mnist", "one_hot", "SpecError",
    "DataError", "DivergenceError", "BrianEPError", "ArgumentError", "RegistrationError", "Interrupted",
]

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time the names load lazily
    from .api import build, example_run, make_spec
    from .architecture import Architecture, Layer, Projection, build_architecture
    from .data import Dataset, load_dataset, load_digits, load_fashion_mnist, load_mnist, one_hot
    from .engines import Engine, register_engine
    from .errors import ArgumentError, BrianEPError, DataError, DivergenceError, Interrupted, RegistrationError, SpecError
    from .maths.params import Params, init_params, initial_params
    from .neurons import NeuronModel, register_neuron_model
    from .spec import Spec, load_spec
    from .train import TrainResult, evaluate, train
    from .weights import load_weights


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'brian_ep' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_PUBLIC))


class _Package(types.ModuleType):
    """The package module: importing the submodule :mod:`brian_ep.train` must not replace the
    public function ``brian_ep.train`` by the module (as an eager ``from .train import train``
    used to guarantee)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _PUBLIC.get(name) == name:
            return  # a submodule that shares its name with a public function: keep the function
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
