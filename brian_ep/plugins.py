"""Third-party neuron models and engines, found through entry points.

A distribution that provides models or engines declares them in its ``pyproject.toml``::

    [project.entry-points."brian_ep.neurons"]
    adaptive_lif = "my_package.neurons:AdaptiveLIF"       # a NeuronModel subclass or instance

    [project.entry-points."brian_ep.engines"]
    my_engine = "my_package.engines:MyEngine"             # an Engine subclass, or
    more = "my_package.engines:register"                  # a function that registers

Each registry reads its own group, once, the first time it is asked for a name
(:func:`brian_ep.neurons.get_neuron_model`, :func:`brian_ep.engines.get_engine_entry`...):

* ``brian_ep.neurons``: a :class:`~brian_ep.neurons.NeuronModel` subclass (instantiated) or
  instance is registered under its ``name``;
* ``brian_ep.engines``: an :class:`~brian_ep.engines.Engine` subclass is registered under the
  entry point's name, with its docstring's first line as description and its ``options``
  attribute (a pydantic model) as the ``run.<name>`` section;
* in either group, any other callable is called with no arguments and registers what it
  provides with :func:`~brian_ep.neurons.register_neuron_model` /
  :func:`~brian_ep.engines.register_engine` (the way to register an engine lazily, as
  ``"module:Class"``, with its capabilities).

A plug-in that fails to load is left out with a warning naming it, so that one broken package
does not stop every command. This module imports nothing of the package: the registries call it.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import Callable, Iterator

__all__ = ["NEURON_GROUP", "ENGINE_GROUP", "load_group", "PluginGroup"]

#: The entry point groups of neuron models and of engines.
NEURON_GROUP = "brian_ep.neurons"
ENGINE_GROUP = "brian_ep.engines"

_LOG = logging.getLogger("brian_ep.plugins")


def _points(group: str) -> Iterator:
    yield from entry_points(group=group)


def load_group(group: str, register: Callable[[str, object], None]) -> int:
    """Load every entry point of ``group`` and pass ``(name, object)`` to ``register``; a
    callable that is not a class is called instead (it registers itself). Returns how many
    loaded; failures are logged as warnings naming the plug-in and skipped."""
    loaded = 0
    for point in _points(group):
        try:
            obj = point.load()
            if callable(obj) and not isinstance(obj, type):
                obj()
            else:
                register(point.name, obj)
            loaded += 1
        except Exception as exc:  # noqa: BLE001 - a broken plug-in is reported, not fatal
            _LOG.warning(
                "the plug-in '%s' (%s, entry point group %s) could not be loaded and is left out: %s: %s",
                point.name, point.value, group, type(exc).__name__, exc,
            )
    return loaded


class PluginGroup:
    """An entry point group read once, the first time a registry needs its names.

    Parameters
    ----------
    group : str
        The entry point group (``NEURON_GROUP`` or ``ENGINE_GROUP``).
    register : callable
        ``register(name, object)`` for each entry point's object (see :func:`load_group`).
    """

    def __init__(self, group: str, register: Callable[[str, object], None]) -> None:
        self.group = group
        self.register = register
        self.loaded = False

    def ensure_loaded(self) -> None:
        """Load the group's plug-ins unless done already in this process."""
        if not self.loaded:
            self.loaded = True  # first: a plug-in that asks the registry must not recurse
            load_group(self.group, self.register)

    def reload(self) -> None:
        """Read the group again at the next :meth:`ensure_loaded` (for tests that install one)."""
        self.loaded = False

