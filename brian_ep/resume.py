"""What may change when a run is resumed: the spec (and the package version) a checkpoint was
written with, compared key by key with the spec of the command that resumes it.

A resumed run continues the weights, optimiser state and position of its checkpoint; if the
spec differs (a learning rate, a seed, a size), the run directory would no longer record
what ran. :func:`check_resume` refuses every difference the user has not allowed by name
(``--allow-changes run.epochs``), and returns the allowed ones so that the run's history
records them.
"""

from __future__ import annotations

import difflib
import json

from .errors import ArgumentError
from .spec import is_spec_key, section_keys

__all__ = ["VERSION_KEY", "flatten", "spec_differences", "check_resume"]

#: The name under which a package-version difference is reported and allowed.
VERSION_KEY = "brian_ep_version"


def flatten(data, prefix: str = "") -> dict:
    """Nested dicts as ``{"model.chain.lr": [0.05, 0.02], ...}`` (a list is one value, as a
    spec key that holds a list is changed as a whole)."""
    out = {}
    if isinstance(data, dict):
        if not data and prefix:
            out[prefix] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    else:
        out[prefix] = data
    return out


def spec_differences(old: dict, new: dict) -> dict:
    """``{dotted key: (old value, new value)}`` of every leaf that differs (``None`` where a
    key is absent on one side)."""
    a, b = flatten(old), flatten(new)
    keys = sorted(set(a) | set(b))
    return {k: (a.get(k), b.get(k)) for k in keys if json.dumps(a.get(k)) != json.dumps(b.get(k))}


def _allowed(key: str, allow) -> bool:
    """``key`` is covered by an allowed key: itself or a section above it (``run`` allows
    ``run.epochs``)."""
    return any(key == a or key.startswith(a + ".") for a in allow)


def check_resume(old_spec: dict, old_version, new_spec: dict, new_version, allow=(), where: str = "the run") -> dict:
    """Refuse to resume with a spec or package version other than the checkpoint's.

    Parameters
    ----------
    old_spec, new_spec : dict
        The checkpoint's spec and the command's (as :func:`~brian_ep.spec.spec_to_dict` writes them).
    old_version, new_version : str or None
        ``brian_ep.__version__`` then and now (``None``: not recorded).
    allow : iterable of str
        Dotted keys (or sections) that may differ, and :data:`VERSION_KEY`.
    where : str
        The run directory, for the message.

    Returns
    -------
    dict
        The allowed differences, ``{key: [old, new]}``.

    Raises
    ------
    ArgumentError
        Naming every difference that is not allowed, with the command to allow them; or
        naming an allowed name that is no key or section of the spec (a typo would
        otherwise allow nothing without a word), with the keys it could have meant.
    """
    allow = tuple(allow)
    differences = spec_differences(old_spec, new_spec)
    _check_allowed_names(allow, old_spec, new_spec, differences)
    if old_version is not None and old_version != new_version:
        differences[VERSION_KEY] = (old_version, new_version)
    refused = {k: v for k, v in differences.items() if not _allowed(k, allow)}
    if refused:
        shown = "; ".join(f"{k}: {_show(a)} -> {_show(b)}" for k, (a, b) in list(refused.items())[:8])
        more = f" (and {len(refused) - 8} more)" if len(refused) > 8 else ""
        keys = " ".join(refused)
        raise ArgumentError(
            f"--resume: the spec differs from the one {where} was started with: {shown}{more}. A resumed run "
            "continues the checkpoint's weights, so it must run the same spec. Resume with the original spec, start "
            f"a new run (another --out), or allow the change on purpose with --allow-changes {keys} "
            "(it is recorded in the run's history.json)"
        )
    return {k: [a, b] for k, (a, b) in differences.items()}


def _names_in(spec: dict) -> set:
    """Every key and section of a spec as data (``run``, ``run.epochs``, ...): with the
    schema's, they cover the options a neuron model or an engine adds."""
    names = set()
    for key in flatten(spec):
        parts = key.split(".")
        names.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return names


def _keys_of(section: str, known: set) -> list:
    """The dotted keys one level inside ``section`` (``""``: the top level), from the schema
    and from ``known``; ``[]`` where ``section`` is not a section."""
    depth = section.count(".") + 1 if section else 0
    below = {k for k in known if k.count(".") == depth and k.startswith(f"{section}.")} if section else set()
    return sorted(below | {f"{section}.{k}" if section else k for k in section_keys(section)})


def _check_allowed_names(allow, old_spec: dict, new_spec: dict, differences: dict) -> None:
    """Refuse the first name in ``allow`` that is neither :data:`VERSION_KEY` nor a key or
    section of the schema or of either spec, naming the keys of the section it is in."""
    known = {VERSION_KEY} | _names_in(old_spec) | _names_in(new_spec)
    for name in allow:
        if name in known or is_spec_key(name):
            continue
        parts = name.split(".")
        sections = [".".join(parts[:i]) for i in range(len(parts))]
        section = [s for s in sections if not s or _keys_of(s, known)][-1]
        keys = _keys_of(section, known)
        close = difflib.get_close_matches(name, sorted(known) + keys, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        where = f"the keys of '{section}' are" if section else "the spec's top-level keys are"
        top = "" if section else f", and {VERSION_KEY} allows another package version"
        raise ArgumentError(
            f"--allow-changes: '{name}' is not a key or section of the spec{hint}; {where} {', '.join(keys)}{top}. "
            f"A section allows every key in it. The keys that differ from the checkpoint's now: "
            f"{', '.join(differences) or 'none'}"
        )


def _show(value) -> str:
    return "(absent)" if value is None else json.dumps(value)
