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

from typing import Any

from ..errors import RegistrationError
from ..plugins import NEURON_GROUP, PluginGroup
from .base import NeuronModel
from .bernoulli import BernoulliNeuron
from .rate import RateNeuron

__all__ = ["NeuronModel", "RateNeuron", "BernoulliNeuron", "register_neuron_model", "unregister_neuron_model", "get_neuron_model",
           "neuron_model_names", "reload_plugins"]

_MODELS: dict[str, NeuronModel] = {}


def register_neuron_model(model: NeuronModel, replace: bool = False) -> NeuronModel:
    """Make ``model`` selectable as ``neuron.model: <model.name>`` in specs.

    Parameters
    ----------
    model : NeuronModel
        An instance; registering the same instance again changes nothing.
    replace : bool
        Replace another model registered under the same name (the same rule as
        :func:`brian_ep.engines.register_engine`).

    Raises
    ------
    RegistrationError
        If ``model`` is not a :class:`NeuronModel` instance, or another model already has
        that name and ``replace`` is false (also a ``ValueError``).
    """
    if not isinstance(model, NeuronModel):
        raise RegistrationError(f"register_neuron_model expects a NeuronModel instance, got {model!r}")
    old = _MODELS.get(model.name)
    if old is not None and old is not model and not replace:
        raise RegistrationError(
            f"a neuron model called {model.name!r} is already registered ({type(old).__name__}); choose another name, "
            "or pass replace=True to swap it"
        )
    _MODELS[model.name] = model
    return model


def _register_plugin(name: str, obj: Any) -> None:
    register_neuron_model(obj() if isinstance(obj, type) else obj)


_PLUGINS = PluginGroup(NEURON_GROUP, _register_plugin)


def _loaded() -> dict[str, NeuronModel]:
    """The registry, after the models of installed plug-ins were added (once per process)."""
    _PLUGINS.ensure_loaded()
    return _MODELS


def reload_plugins() -> None:
    """Read the entry point group ``brian_ep.neurons`` again (for tests that install one)."""
    _PLUGINS.reload()


def unregister_neuron_model(name: str) -> None:
    """Remove a registered model (for tests and plug-ins that are unloaded)."""
    _MODELS.pop(name, None)


def get_neuron_model(name: str) -> NeuronModel:
    """The registered model called ``name``."""
    models = _loaded()
    try:
        return models[name]
    except KeyError:
        raise ValueError(f"unknown neuron model {name!r}; registered: {', '.join(map(repr, models))}") from None


def neuron_model_names() -> tuple[str, ...]:
    """Names of the registered models (plug-ins included), in registration order."""
    return tuple(_loaded())


register_neuron_model(RateNeuron())
register_neuron_model(BernoulliNeuron())
