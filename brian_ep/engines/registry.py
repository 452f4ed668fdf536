"""The engine registry: the one list that the spec's ``run.engine``, the command line's
``--engine``, :func:`brian_ep.train`, the resource estimate and ``brian-ep compare`` read.

An entry names its class as ``"module:Class"`` (imported when first used, so that a spec can
name an engine whose heavy dependencies, Brian2 or torch, are not imported until it runs) or
gives the class itself; its options model and capability functions may be given the same way.
What other modules need to know about an engine (where it computes, whether it runs one
sample at a time, its memory, its steps per sample, whether it trains by EP) is asked of its
entry, never derived from its name. Adding an engine (or a baseline) is one module plus one
:func:`~brian_ep.engines.register_engine` call (the same rule as the neuron models: a name taken by another
engine is refused unless ``replace=True``); a third-party package registers its engines
through the entry point group ``brian_ep.engines`` (:mod:`brian_ep.plugins`).
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Callable, Optional

from ..errors import ArgumentError, RegistrationError
from ..plugins import ENGINE_GROUP, PluginGroup

__all__ = ["EngineEntry", "register_engine", "unregister_engine", "engine_names", "get_engine_entry", "engine_class",
           "resolve", "reload_plugins"]


#: A validated spec, :class:`brian_ep.spec.Spec` (typed ``Any`` here: the spec imports this
#: registry to validate ``run.engine``, so the registry cannot import the spec back).
Spec = Any


def resolve(target: Any) -> Any:
    """``"module:attribute"`` imported and looked up; anything else returned as it is."""
    if isinstance(target, str):
        module, _, attribute = target.partition(":")
        return getattr(importlib.import_module(module), attribute)
    return target


@dataclass(frozen=True)
class EngineEntry:
    """One registered engine: what it is and what it can do.

    Attributes
    ----------
    name : str
        The value of ``run.engine`` (and ``--engine``).
    target : str or type
        The :class:`~brian_ep.engines.base.Engine` subclass, or ``"module:Class"``.
    description : str
        One line for ``--help`` and error messages.
    options : pydantic model class, str or None
        Settings of the engine, read from the spec section ``run.<name>`` (or
        ``"module:Class"``, imported when a spec is validated).
    requires : tuple of str
        Modules it imports (checked before it runs, so that a missing one is named).
    extra : str or None
        The pip extra that installs ``requires`` (e.g. ``baselines``).
    refuses : mapping
        ``{feature: reason}`` of the network features this engine does not run (``"conv"``:
        convolutional projections; ``"events"``: event streams; a neuron model's feature named
        by :meth:`~brian_ep.neurons.NeuronModel.features`, e.g. ``"refractory"``); a spec that
        uses one is refused with the reason.
    device : callable, str or None
        ``device(spec) -> str``: where a run computes, as its metrics record it (Brian2: its
        device; torch: ``cpu``, ``cuda``...). ``None``: the ``device`` option of the
        engine's section where it has one, else ``"cpu"``.
    one_sample_at_a_time : bool
        The engine presents one sample at a time (Brian2: online, sample windows in time)
        rather than mini-batches; the resource estimate names ``run.chunk_size`` for it.
    memory : callable, str or None
        ``memory(spec, arch, n_samples) -> (state_bytes, chunk_bytes)``; ``None``: the
        estimate of a batched engine (``brian_ep.resources.estimate``).
    steps : callable, str or None
        ``steps(spec) -> int``: time steps simulated per training sample (for the comparison
        report); ``None``: EP's window (``ep.window_steps``) for an engine that trains by EP.
    trains_by_ep : bool
        It trains by Equilibrium Propagation (free and nudged phases), so EP's settling
        checks apply to it; ``False`` for the backprop baselines.
    compare_method : bool
        ``brian-ep compare --methods`` may name it (the EP engines ``brian2`` and ``numpy``
        are reached through the methods ``ep`` and ``stochep`` instead).
    """

    name: str
    target: str | type
    description: str = ""
    options: Any = None
    requires: tuple[str, ...] = ()
    extra: Optional[str] = None
    refuses: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    device: Any = None
    one_sample_at_a_time: bool = False
    memory: Any = None
    steps: Any = None
    trains_by_ep: bool = True
    compare_method: bool = True

    def options_model(self) -> Optional[type]:
        """The options model (imported if given as ``"module:Class"``), or ``None``."""
        return resolve(self.options)

    def computes_on(self, spec: Spec) -> str:
        """Where a run of ``spec`` on this engine computes (``cpp_standalone``, ``cuda``...)."""
        if self.device is not None:
            return str(resolve(self.device)(spec))
        return str(getattr(spec.run.engine_options(self.name), "device", "cpu"))

    def memory_estimate(self) -> Optional[Callable[..., tuple[int, int]]]:
        """The engine's own memory estimate ``(spec, arch, n_samples) -> (state, chunk)``,
        or ``None`` for the batched engines' estimate."""
        return resolve(self.memory)

    def steps_per_sample(self, spec: Spec) -> Optional[int]:
        """Time steps simulated per training sample, or ``None`` where that is unknown."""
        if self.steps is not None:
            return int(resolve(self.steps)(spec))
        return spec.ep.window_steps if self.trains_by_ep else None


_ENGINES: dict[str, EngineEntry] = {}


def register_engine(
    name: str,
    target: str | type,
    description: str = "",
    options: type | str | None = None,
    requires: Iterable[str] = (),
    extra: str | None = None,
    refuses: Mapping[str, str] | None = None,
    replace: bool = False,
    **capabilities: Any,
) -> EngineEntry:
    """Make an engine selectable as ``run.engine: <name>``; returns its entry.

    Parameters
    ----------
    name, target, description, options, requires, extra, refuses
        See :class:`EngineEntry`.
    replace : bool
        Replace an engine already registered under ``name`` (the same rule as
        :func:`brian_ep.neurons.register_neuron_model`).
    **capabilities
        ``device``, ``one_sample_at_a_time``, ``memory``, ``steps``, ``trains_by_ep``,
        ``compare_method`` (see :class:`EngineEntry`).

    Raises
    ------
    RegistrationError
        If ``name`` is taken by another engine and ``replace`` is false, or a capability is
        unknown.
    """
    unknown = set(capabilities) - {"device", "one_sample_at_a_time", "memory", "steps", "trains_by_ep", "compare_method"}
    if unknown:
        raise RegistrationError(f"register_engine: unknown capability {', '.join(sorted(unknown))} for engine {name!r}")
    entry = EngineEntry(name, target, description, options, tuple(requires), extra,
                        MappingProxyType(dict(refuses or {})), **capabilities)
    old = _ENGINES.get(name)
    if old is not None and old != entry and not replace:
        raise RegistrationError(
            f"an engine called {name!r} is already registered ({old.description or old.target}); choose another name, "
            "or pass replace=True to swap it"
        )
    _ENGINES[name] = entry
    return entry


def unregister_engine(name: str) -> None:
    """Remove a registered engine (for tests and plug-ins that are unloaded)."""
    _ENGINES.pop(name, None)




def _register_plugin(name: str, obj: Any) -> None:
    if not isinstance(obj, type):
        raise RegistrationError(f"the entry point '{name}' must name an Engine subclass or a function that registers engines")
    doc = (obj.__doc__ or "").strip().splitlines()
    register_engine(name, obj, doc[0] if doc else f"engine of the plug-in '{name}'", options=getattr(obj, "options", None))


_PLUGINS = PluginGroup(ENGINE_GROUP, _register_plugin)


def _loaded() -> dict[str, EngineEntry]:
    """The registry, after the engines of installed plug-ins were added (once per process)."""
    _PLUGINS.ensure_loaded()
    return _ENGINES


def reload_plugins() -> None:
    """Read the entry point group ``brian_ep.engines`` again (for tests that install one)."""
    _PLUGINS.reload()


def engine_names() -> tuple[str, ...]:
    """Names of the registered engines (plug-ins included), in registration order."""
    return tuple(_loaded())


def get_engine_entry(name: str) -> EngineEntry:
    """The registered entry called ``name``."""
    engines = _loaded()
    try:
        return engines[name]
    except KeyError:
        raise ArgumentError(f"unknown engine {name!r}; registered: {', '.join(map(repr, engines))}") from None


def engine_class(name: str) -> type:
    """The engine class called ``name``, importing its module (and checking its
    requirements) the first time."""
    entry = get_engine_entry(name)
    missing = [m for m in entry.requires if importlib.util.find_spec(m) is None]
    if missing:
        how = f"pip install 'brian_ep[{entry.extra}]'" if entry.extra else f"pip install {' '.join(missing)}"
        raise ArgumentError(f"the engine '{name}' needs {', '.join(missing)}, which is not installed; install it with {how}")
    cls: type = resolve(entry.target)
    return cls
