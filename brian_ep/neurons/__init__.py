"""Neuron models, one module each, and the registry that the spec's ``neuron.model`` reads.

Adding a model is one new module plus one :func:`register_neuron_model` call (see
``docs/design.md``)::

    from brian_ep.neurons import NeuronModel, register_neuron_model

    class MyNeuron(NeuronModel):
        name = "my_neuron"
        ...

    register_neuron_model(MyNeuron())
"""

from __future__ import annotations

from .base import NeuronModel
from .bernoulli import BernoulliNeuron
from .rate import RateNeuron

__all__ = ["NeuronModel", "RateNeuron", "BernoulliNeuron", "register_neuron_model", "unregister_neuron_model", "get_neuron_model",
           "neuron_model_names"]

_MODELS: dict[str, NeuronModel] = {}


def register_neuron_model(model: NeuronModel, replace: bool = False) -> NeuronModel:
    """Make ``model`` selectable as ``neuron.model: <model.name>`` in specs.

    Raises
    ------
    ValueError
        If another model already has that name (pass ``replace=True`` to swap it).
    """
    if not isinstance(model, NeuronModel):
        raise TypeError(f"expected a NeuronModel instance, got {model!r}")
    if model.name in _MODELS and not replace and _MODELS[model.name] is not model:
        raise ValueError(f"a neuron model called {model.name!r} is already registered")
    _MODELS[model.name] = model
    return model


def unregister_neuron_model(name: str) -> None:
    """Remove a registered model (for tests and plug-ins that are unloaded)."""
    _MODELS.pop(name, None)


def get_neuron_model(name: str) -> NeuronModel:
    """The registered model called ``name``."""
    try:
        return _MODELS[name]
    except KeyError:
        raise ValueError(f"unknown neuron model {name!r}; registered: {', '.join(map(repr, _MODELS))}") from None


def neuron_model_names() -> tuple[str, ...]:
    """Names of the registered models, in registration order."""
    return tuple(_MODELS)


register_neuron_model(RateNeuron())
register_neuron_model(BernoulliNeuron())
