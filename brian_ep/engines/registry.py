"""The engine registry: the one list that the spec's ``run.engine``, the command line's
``--engine`` and :func:`brian_ep.train` read.

An entry names its class as ``"module:Class"`` (imported when first used, so that a spec can
name an engine whose heavy dependencies, Brian2 or torch, are not imported until it runs) or
gives the class itself. Adding an engine (or a baseline) is one module plus one
:func:`~brian_ep.engines.register_engine` call.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from ..errors import ArgumentError

__all__ = ["EngineEntry", "register_engine", "unregister_engine", "engine_names", "get_engine_entry", "engine_class"]


@dataclass(frozen=True)
class EngineEntry:
    """One registered engine.

    Attributes
    ----------
    name : str
        The value of ``run.engine`` (and ``--engine``).
    target : str or type
        The :class:`~brian_ep.engines.base.Engine` subclass, or ``"module:Class"``.
    description : str
        One line for ``--help`` and error messages.
    options : pydantic model class or None
        Settings of the engine, read from the spec section ``run.<name>``.
    requires : tuple of str
        Modules it imports (checked before it runs, so that a missing one is named).
    extra : str or None
        The pip extra that installs ``requires`` (e.g. ``baselines``).
    refuses : mapping
        ``{feature: reason}`` of the network features this engine does not run (``"conv"``:
        convolutional projections); a spec that uses one is refused with the reason.
    """

    name: str
    target: str | type
    description: str = ""
    options: type | None = None
    requires: tuple[str, ...] = ()
    extra: str | None = None
    refuses: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


_ENGINES: dict[str, EngineEntry] = {}


def register_engine(
    name: str,
    target: str | type,
    description: str = "",
    options: type | None = None,
    requires: Iterable[str] = (),
    extra: str | None = None,
    refuses: Mapping[str, str] | None = None,
) -> EngineEntry:
    """Make an engine selectable as ``run.engine: <name>``; returns its entry (``refuses``:
    ``{feature: reason}``, see :class:`EngineEntry`)."""
    entry = EngineEntry(name, target, description, options, tuple(requires), extra, MappingProxyType(dict(refuses or {})))
    _ENGINES[name] = entry
    return entry


def unregister_engine(name: str) -> None:
    """Remove a registered engine (for tests and plug-ins that are unloaded)."""
    _ENGINES.pop(name, None)


def engine_names() -> tuple[str, ...]:
    """Names of the registered engines, in registration order."""
    return tuple(_ENGINES)


def get_engine_entry(name: str) -> EngineEntry:
    """The registered entry called ``name``."""
    try:
        return _ENGINES[name]
    except KeyError:
        raise ArgumentError(f"unknown engine {name!r}; registered: {', '.join(map(repr, _ENGINES))}") from None


def engine_class(name: str) -> type:
    """The engine class called ``name``, importing its module (and checking its
    requirements) the first time."""
    entry = get_engine_entry(name)
    missing = [m for m in entry.requires if importlib.util.find_spec(m) is None]
    if missing:
        how = f"pip install 'brian_ep[{entry.extra}]'" if entry.extra else f"pip install {' '.join(missing)}"
        raise ArgumentError(f"the engine '{name}' needs {', '.join(missing)}, which is not installed; install it with {how}")
    if isinstance(entry.target, str):
        module, _, cls = entry.target.partition(":")
        return getattr(importlib.import_module(module), cls)
    return entry.target
