"""The methods ``brian-ep compare`` trains, and the spec each one trains from.

``ep`` is the spec as given; ``stochep`` the same spec with probabilistic spiking neurons
(``model.neuron.model: bernoulli``); a baseline (``bptt_snn``, ``bptt_crnn``, ``bp``, or any
registered engine) the same spec with ``run.engine`` set to it. ``METHOD=FILE`` trains a method
from a spec file of its own instead (its optimiser, epochs or steps may differ), which must
describe the same task: the same data and layer sizes. ``METHOD@SEEDS`` (``ep@0``,
``stochep=FILE@0+1``) trains that method with its own seeds instead of ``--seeds`` (a slow
method with one seed beside faster ones with several, in one report).
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ArgumentError

__all__ = ["METHODS", "DEFAULT_METHODS", "Method", "Unavailable", "parse_methods", "method_spec", "task_of", "check_same_task"]

#: The methods compare knows by name, with what each one is.
METHODS = {
    "ep": "Equilibrium Propagation, the spec as given",
    "stochep": "EP with probabilistic (Bernoulli) spiking neurons: the spec with model.neuron.model bernoulli",
    "bptt_snn": "snntorch LIF network of the same sizes, BPTT with a surrogate gradient",
    "bptt_crnn": "EP's recurrent network trained by backprop through its free phase",
    "bp": "feed-forward network of the same sizes trained with backprop",
}
DEFAULT_METHODS = tuple(METHODS)

#: The neuron model that makes ``stochep`` spiking.
STOCHASTIC_MODEL = "bernoulli"


@dataclass(frozen=True)
class Method:
    """One method to compare: its name and the spec file it comes from (``None``: derived
    from the compared spec); ``label`` tells apart two runs of the same method (``ep:rate``:
    the ``ep`` method with the label ``rate``, reported and stored as ``ep-rate``)."""

    name: str
    source: Path | None = None
    seeds: tuple | None = None  # None: the comparison's --seeds
    label: str | None = None

    @property
    def key(self) -> str:
        """What the report and the run directories call it: ``name`` or ``name-label``."""
        return self.name if self.label is None else f"{self.name}-{self.label}"


class Unavailable(Exception):
    """A method that cannot run here (a missing package or neuron model); its message says
    what is missing and how to get it. ``compare`` skips the method and reports why."""


def parse_methods(text: str | None) -> list:
    """``"ep@0,bptt_snn=specs/snn.yaml,bp"`` -> ``[Method("ep", None, (0,)), Method("bptt_snn", Path(...)), ...]``.

    ``METHOD:LABEL`` names a second run of a method under its own label (``ep:rate=FILE``:
    the ``ep`` method trained from ``FILE``, reported as ``ep-rate``), e.g. rate EP beside
    the spec's own spiking network in one report.

    Raises
    ------
    ArgumentError
        For an unknown method, a method named twice, a label that is not lower-case letters,
        digits and underscores, a spec file that does not exist, or seeds after ``@`` that
        are not integers joined by ``+``.
    """
    from ..engines import engine_names, get_engine_entry

    items = [t.strip() for t in (",".join(DEFAULT_METHODS) if text is None else str(text)).split(",") if t.strip()]
    known = list(METHODS) + [e for e in engine_names() if e not in METHODS and get_engine_entry(e).compare_method]
    methods = []
    for item in items:
        item, seeds = _method_seeds(item)
        name, _, path = item.partition("=")
        name, colon, label = (part.strip() for part in name.partition(":"))
        if name not in known:
            raise ArgumentError(f"--methods: unknown method '{name}'; known: {', '.join(known)} (optionally METHOD=SPEC_FILE)")
        if colon and not _LABEL.fullmatch(label):
            raise ArgumentError(f"--methods: '{item}': the label after ':' must be lower-case letters, digits and underscores, "
                                f"e.g. {name}:rate (got '{label}')")
        method = Method(name, Path(path.strip()) if path.strip() else None, seeds, label if colon else None)
        if any(m.key == method.key for m in methods):
            raise ArgumentError(f"--methods: '{method.key}' is named twice (give the second one a label: {name}:LABEL)")
        if method.source is not None and not method.source.is_file():
            raise ArgumentError(f"--methods: the spec file '{method.source}' given for '{method.key}' does not exist")
        methods.append(method)
    if not methods:
        raise ArgumentError("--methods: name at least one method, e.g. --methods ep,bptt_snn")
    return methods


#: A method's label (``ep:rate``).
_LABEL = re.compile(r"[a-z0-9_]+")


def _method_seeds(item: str):
    """``"ep=FILE@0+1"`` -> ``("ep=FILE", (0, 1))``; ``(item, None)`` without ``@``."""
    head, at, tail = item.rpartition("@")
    if not at:
        return item, None
    try:
        seeds = tuple(int(s) for s in tail.split("+"))
    except ValueError:
        raise ArgumentError(f"--methods: '{item}': the seeds after '@' must be integers joined by '+', e.g. ep@0 or ep@0+1+2") from None
    if len(set(seeds)) != len(seeds):
        raise ArgumentError(f"--methods: '{item}' names a seed twice")
    return head.strip(), seeds


def method_spec(base, method: Method, overrides: dict | None = None):
    """The spec ``method`` trains: derived from ``base`` (which already has the command's
    overrides) or read from its own file (with ``overrides`` applied), checked to be the
    same task as ``base``.

    Raises
    ------
    Unavailable
        If the method needs a neuron model or a package that is not there.
    SpecError, ArgumentError
        If its spec is invalid or describes another task.
    """
    from ..spec import load_spec

    if method.source is not None:
        spec = load_spec(method.source, overrides or {})
        if method.name not in ("ep", "stochep") and spec.run.engine != method.name:
            spec = load_spec(spec, {"run.engine": method.name})
        check_same_task(base, spec, f"the spec '{method.source}' of '{method.name}'")
    elif method.name == "ep":
        spec = base
    elif method.name == "stochep":
        spec = load_spec(base, {"model.neuron.model": _stochastic_model()})
    else:
        spec = load_spec(base, {"run.engine": method.name})
    _check_requirements(method.name, spec)
    return spec


def _stochastic_model() -> str:
    from ..neurons import neuron_model_names

    if STOCHASTIC_MODEL not in neuron_model_names():
        raise Unavailable(
            f"the probabilistic spiking neuron model '{STOCHASTIC_MODEL}' is not registered in this version of brian_ep "
            f"(registered: {', '.join(neuron_model_names())})"
        )
    return STOCHASTIC_MODEL


def _check_requirements(name: str, spec) -> None:
    """Raise :class:`Unavailable` if the engine of ``spec`` needs a module that is missing."""
    from ..engines import get_engine_entry

    entry = get_engine_entry(spec.run.engine)
    missing = [m for m in entry.requires if importlib.util.find_spec(m) is None]
    if missing:
        how = f"pip install 'brian_ep[{entry.extra}]'" if entry.extra else f"pip install {' '.join(missing)}"
        raise Unavailable(f"'{name}' needs {', '.join(missing)}, which is not installed; install it with {how}")


def task_of(spec) -> dict:
    """What makes two runs the same task: the data (for event streams also their binning,
    ``data.events`` without ``bin_steps`` and ``hold``, which say how EP presents the bins) and
    the layer sizes."""
    from ..architecture import build_architecture

    arch = build_architecture(spec)
    d = spec.data
    return {
        "data.dataset": d.dataset,
        "data.n_train": d.n_train,
        "data.n_test": d.n_test,
        "data.validation": d.validation,
        "data.events": None if d.events is None else d.events.model_dump(exclude={"bin_steps", "hold"}),
        "layer sizes": [layer.size for layer in arch.layers],
    }


def check_same_task(base, other, what: str) -> None:
    """Raise :class:`ArgumentError` naming the first difference if ``other`` trains another task."""
    a, b = task_of(base), task_of(other)
    for key, value in a.items():
        if b[key] != value:
            raise ArgumentError(f"{what} is not the same task as the compared spec: {key} is {b[key]!r}, not {value!r}")
