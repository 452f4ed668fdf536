"""YAML text of specs and ``--set`` values, read strictly: UTF-8 only, and a key given twice
in one mapping is an error (PyYAML would silently keep the last one, so a second ``run:``
section would replace the first without a word)."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..errors import SpecError

__all__ = ["read_yaml_file", "parse_yaml"]


def read_yaml_file(path) -> object:
    """The YAML data of the file ``path``.

    Raises
    ------
    SpecError
        If the file is missing, not UTF-8, not YAML, or repeats a key in a mapping.
    """
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise SpecError(
            "file not found" + (" (it is a directory)" if path.is_dir() else ""),
            source=name,
            allowed="a YAML file such as network_specs/digits.yaml",
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SpecError(
            f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} at line {line}); save the file as UTF-8",
            source=name,
        ) from None
    return parse_yaml(text, name)


def parse_yaml(text: str, source: str) -> object:
    """Parse YAML ``text`` (from ``source``, for messages), refusing duplicate keys."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            _refuse_duplicates(node, "", source, set())
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"is not valid YAML{where}: {problem}", source=source) from None
    except RecursionError:
        raise SpecError("is nested too deeply to be a spec", source=source) from None


def _refuse_duplicates(node, path: str, source: str, visited: set) -> None:
    """Walk the composed YAML tree; a mapping that repeats a key is a :class:`SpecError`.
    A node reached again through an alias is walked once (``visited``)."""
    if id(node) in visited:
        return
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is not None and key != "<<":
                dotted = f"{path}.{key}" if path else str(key)
                if key in seen:
                    raise SpecError(
                        f"is given twice (lines {seen[key] + 1} and {key_node.start_mark.line + 1}); YAML would keep "
                        "only the last one and silently drop the first. Merge the two into one",
                        key=dotted,
                        source=source,
                    )
                seen[key] = key_node.start_mark.line
                _refuse_duplicates(value_node, dotted, source, visited)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _refuse_duplicates(item, f"{path}[{i}]", source, visited)
