"""brian_ep: Equilibrium Propagation for Brian2.

Convergent recurrent networks of rate neurons, trained with Equilibrium Propagation through
local synaptic rules written as Brian2 equations; feedback regulation and residual
topologies (FRE-RNN); a batched numpy engine with the same mathematics.

Quick start::

    import brian_ep
    spec = brian_ep.load_spec("network_specs/digits.yaml")
    result = brian_ep.train(spec, out="runs/digits")          # Brian2, cpp_standalone
    net = brian_ep.build(spec, n_samples=10)                  # ordinary Brian2 objects

``import brian_ep`` changes no Brian2 device, clock or preference.
"""

from .api import build, example_run, make_spec
from .architecture import Architecture, Layer, Projection, build_architecture
from .data import Dataset, load_dataset, load_digits, load_fashion_mnist, load_mnist, one_hot
from .engines import Engine, register_engine
from .errors import ArgumentError, BrianEPError, DataError, DivergenceError, Interrupted, SpecError
from .maths.params import Params, init_params, initial_params
from .neurons import NeuronModel, register_neuron_model
from .spec import Spec, load_spec
from .train import TrainResult, evaluate, train
from .weights import load_weights

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "load_spec",
    "make_spec",
    "build",
    "train",
    "evaluate",
    "example_run",
    "build_architecture",
    "Architecture",
    "Layer",
    "Projection",
    "Params",
    "load_weights",
    "init_params",
    "initial_params",
    "NeuronModel",
    "register_neuron_model",
    "Engine",
    "register_engine",
    "Dataset",
    "load_dataset",
    "load_digits",
    "load_mnist",
    "load_fashion_mnist",
    "one_hot",
    "Spec",
    "TrainResult",
    "SpecError",
    "DataError",
    "DivergenceError",
    "BrianEPError",
    "ArgumentError",
    "Interrupted",
]
