"""Read a spec from YAML (or a dict) and validate it, turning every failure into a
:class:`~brian_ep.errors.SpecError` that names the file, the key and the fix.

Validation has two halves: the schema (:mod:`brian_ep.spec.schema`) and the checks that
need the whole spec resolved (the network graph, the feedback factors), which the modules
that resolve it register with :func:`register_spec_check`. The spec package itself imports
none of them.
"""

from __future__ import annotations

import difflib
import os
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import ArgumentError, SpecError
from .schema import KeyedValueError, Spec
from .yaml_text import read_yaml_file

__all__ = ["load_spec", "spec_from_dict", "spec_to_dict", "dump_spec", "apply_overrides", "register_spec_check",
           "REMOVED_KEYS", "section_keys", "is_spec_key"]

#: Keys that older versions accepted, with the reason they are gone (a spec that still has
#: one is refused with this reason instead of "unknown key").
_MOVED_TO_BRIAN2 = (
    "moved: Brian2's settings have their own section, so run.device, run.target and run.threads are now "
    "run.brian2.device, run.brian2.target and run.brian2.threads; write e.g. run: {brian2: {device: cpp_standalone, "
    "threads: 2}} (on the command line: --device, --target or --set run.brian2.threads=2). Every engine's settings "
    "live in run.<engine>, as torch's in run.torch"
)

REMOVED_KEYS = {
    ("run", "device"): _MOVED_TO_BRIAN2,
    ("run", "target"): _MOVED_TO_BRIAN2,
    ("run", "threads"): _MOVED_TO_BRIAN2,
    ("ep", "loss"): (
        "was removed: the loss follows from model.readout (kind 'none': squared error of the output layer; "
        "'softmax': cross-entropy of the readout), so a separate key could only contradict it. Delete the key"
    ),
}

_CHECKS: list[Callable[[Spec], object]] = []


def register_spec_check(check: Callable[[Spec], object]) -> None:
    """Run ``check(spec)`` on every spec after its schema validates; it raises
    :class:`~brian_ep.errors.SpecError` (the file name is added) for specs that cannot work."""
    if check not in _CHECKS:
        _CHECKS.append(check)


def load_spec(source: str | os.PathLike[str] | Mapping[str, Any] | Spec, overrides: Mapping[str, Any] | None = None) -> Spec:
    """Load and validate a network spec.

    Parameters
    ----------
    source : {str, os.PathLike, dict, Spec}
        A YAML file, a mapping with the same structure, or an existing spec.
    overrides : dict, optional
        Dotted keys to replace after reading, e.g. ``{"run.epochs": 2}``.

    Returns
    -------
    Spec
        The validated, immutable spec.

    Raises
    ------
    SpecError
        If the file is missing or not YAML, or a key is unknown, of the wrong type or out
        of range; the message names the file and the key.
    ArgumentError
        If ``source`` is none of the above (e.g. ``42``), or ``overrides`` is not a mapping of
        dotted keys (e.g. a list of pairs).
    """
    _check_source(source)
    _check_overrides(overrides)
    if isinstance(source, Spec):
        data, name = spec_to_dict(source), "<spec>"
    elif isinstance(source, Mapping):
        data, name = dict(source), "<dict>"
    else:
        name = str(Path(os.fspath(source)))
        raw = read_yaml_file(name)
        if not isinstance(raw, dict):
            raise SpecError(
                f"must be a YAML mapping with the sections model, ep, optim, data, run "
                f"(got {type(raw).__name__})",
                source=name,
            )
        data = raw
    if overrides:
        data = apply_overrides(data, overrides, source=name)
    return spec_from_dict(data, source=name)


def _check_source(source: object) -> None:
    if not isinstance(source, (Spec, Mapping, str, os.PathLike)):
        raise ArgumentError(
            f"load_spec: the spec must be a YAML file's path (str or pathlib.Path), a mapping with the sections "
            f"model, ep, optim, data, run, or a Spec (got {type(source).__name__} {_short(source)})"
        )


def _check_overrides(overrides: object) -> None:
    if overrides is None:
        return
    if not isinstance(overrides, Mapping):
        raise ArgumentError(
            f"load_spec: overrides must be a mapping of dotted keys to values, e.g. {{'run.epochs': 2}} "
            f"(got {type(overrides).__name__} {_short(overrides)}); for pairs, pass dict(pairs)"
        )
    for key in overrides:
        if not isinstance(key, str) or not key.strip() or any(not part for part in key.split(".")):
            raise ArgumentError(f"load_spec: override key {key!r} is not a dotted spec key such as 'run.epochs'")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def spec_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> Spec:
    """Validate a mapping into a :class:`Spec` (see :func:`brian_ep.load_spec`)."""
    _refuse_removed_keys(data, source)
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        raise _to_spec_error(exc, data, source) from None
    try:
        for check in _CHECKS:
            check(spec)
    except SpecError as exc:
        raise exc.with_source(source) from None
    return spec


def _refuse_removed_keys(data: Mapping[str, Any], source: str) -> None:
    for path, why in REMOVED_KEYS.items():
        if _has_path(data, path):
            raise SpecError(why, key=".".join(path), source=source)


def _has_path(data: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    node = data
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def spec_to_dict(spec: Spec) -> dict[str, Any]:
    """The spec as plain YAML-ready data (times as ``"0.5 ms"`` text)."""
    return spec.model_dump(mode="json", exclude_none=True)


def dump_spec(spec: Spec, path: str | os.PathLike[str]) -> None:
    """Write ``spec`` as YAML to ``path``."""
    Path(path).write_text(yaml.safe_dump(spec_to_dict(spec), sort_keys=False))


def apply_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any], source: str = "<dict>") -> dict[str, Any]:
    """Return a copy of ``data`` with dotted keys (``"run.epochs"``) replaced."""
    import copy

    result: dict[str, Any] = copy.deepcopy(dict(data))
    for dotted, value in overrides.items():
        node = result
        parts = dotted.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise SpecError(f"cannot set '{dotted}': '{part}' is not a section", key=dotted, source=source)
            node = child
        node[parts[-1]] = value
    return result


# ---------------------------------------------------------------------------------------
# pydantic errors -> one paragraph


def _to_spec_error(exc: ValidationError, data: Mapping[str, Any], source: str) -> SpecError:
    errors = exc.errors(include_url=False)
    # A union (e.g. a list of layers or a layer stack) reports "wrong type" for the members
    # that did not match; those are noise once a member reported something specific.
    specific = [e for e in errors if e["type"] not in ("model_type", "dict_type", "list_type")]
    errors = specific or errors
    # Union members each report an error; keep the most specific (deepest) ones.
    errors.sort(key=lambda e: -len(e["loc"]))
    seen: set[str] = set()
    parts: list[str] = []
    first_key: str | None = None
    first_allowed: str | None = None
    for err in errors:
        key = _key(err)
        if key in seen:
            continue
        seen.add(key)
        message, allowed = _describe(err, data)
        if first_key is None:
            first_key, first_allowed = key, allowed
            parts.append(message)
        else:
            parts.append(f"also key '{key}': {message}")
        if len(parts) == 3:
            break
    more = len({_key(e) for e in errors}) - len(parts)
    message = "; ".join(parts)
    if more > 0:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return SpecError(message, key=first_key or None, source=source, allowed=first_allowed)


def _is_branch_tag(part: object) -> bool:
    return isinstance(part, str) and (
        "[" in part or part[:1].isupper() or part.startswith("function-") or part in {"float", "int", "str", "bool"}
        or part.startswith("literal")
    )


def _dotted(loc: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for part in loc:
        if _is_branch_tag(part):
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _key(err: Any) -> str:
    loc = tuple(err["loc"]) + _extra_loc(err)
    if err["type"] == "extra_forbidden" and loc:
        # the last part is the user's key itself: never a union branch tag, even if it
        # looks like one ("Model", "float")
        head = _dotted(loc[:-1])
        return f"{head}.{loc[-1]}" if head else str(loc[-1])
    return _dotted(loc)


def _extra_loc(err: Any) -> tuple[Any, ...]:
    """The sub-location a :class:`~brian_ep.spec.schema.KeyedValueError` carries."""
    inner = (err.get("ctx") or {}).get("error")
    return inner.loc if isinstance(inner, KeyedValueError) else ()


def _describe(err: Any, data: Mapping[str, Any]) -> tuple[str, str | None]:
    kind, msg = err["type"], err["msg"]
    full = tuple(err["loc"]) + _extra_loc(err)
    loc = [p for p in full if not _is_branch_tag(p)]
    if kind == "extra_forbidden":
        loc = [p for p in err["loc"][:-1] if not _is_branch_tag(p)] + [err["loc"][-1]]
    got = err.get("input")
    if kind == "extra_forbidden":
        allowed_keys = _allowed_keys(loc[:-1])
        hint = ""
        close = difflib.get_close_matches(str(loc[-1]), allowed_keys, n=1)
        if close:
            hint = f"; did you mean '{close[0]}'?"
        return f"unknown key{hint}", ", ".join(allowed_keys) if allowed_keys else None
    if kind == "missing":
        return "is required but missing", None
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected")
        return f"{got!r} is not one of the supported values", expected
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, KeyedValueError) and inner.allowed:
            return msg, inner.allowed
    if isinstance(got, (dict, list)) or "(got " in msg:
        return msg, None
    return f"{msg} (got {got!r})", None


def section_keys(section: str = "") -> list[str]:
    """The keys that section ``section`` of the schema accepts (a dotted name such as
    ``"model.chain"``; ``""``: the top level), sorted; ``[]`` where it names no section.
    Options that a neuron model or an engine adds are not included."""
    return _allowed_keys([part for part in section.split(".") if part])


def is_spec_key(dotted: str) -> bool:
    """Whether ``dotted`` (``"run.epochs"``, or a section such as ``"run"``) is a key or
    section of the schema."""
    parts = dotted.split(".")
    return all(part in _allowed_keys(parts[:i]) for i, part in enumerate(parts))


def _allowed_keys(loc: list[Any]) -> list[str]:
    """The keys a section accepts, found by walking the schema along ``loc``."""
    model: Any = Spec
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", {})
        if part not in fields:
            return []
        model = _model_in(fields[part].annotation)
        if model is None:
            return []
    return sorted(getattr(model, "model_fields", {}))


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model class inside an annotation such as ``Optional[list[X]]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
