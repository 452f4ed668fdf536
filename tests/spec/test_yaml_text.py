"""Strict YAML reading: duplicate keys at any depth, UTF-8, aliases, deep nesting."""

from __future__ import annotations

import pytest

from brian_ep.errors import SpecError
from brian_ep.spec.yaml_text import parse_yaml, read_yaml_file

pytestmark = pytest.mark.codegen_independent


@pytest.mark.parametrize(
    "text, key, lines",
    [
        ("run: {epochs: 1}\nrun: {seed: 2}\n", "run", "lines 1 and 2"),
        ("model:\n  hidden:\n    - {size: 3, size: 4}\n", "model.hidden[0].size", "lines 3 and 3"),
        ("ep:\n  beta: 0.1\n  dt: 1 ms\n  beta: 0.2\n", "ep.beta", "lines 2 and 4"),
    ],
)
def test_duplicate_keys_are_refused_with_their_path(text, key, lines):
    with pytest.raises(SpecError) as info:
        parse_yaml(text, "s.yaml")
    assert info.value.key == key and lines in str(info.value) and "given twice" in str(info.value)


def test_aliases_and_merge_keys_are_not_duplicates():
    data = parse_yaml("base: &b {size: 3}\nother: *b\nthird:\n  <<: *b\n  size: 4\n", "s")
    assert data == {"base": {"size": 3}, "other": {"size": 3}, "third": {"size": 4}}


def test_alias_bombs_and_deep_nesting_end_quickly():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi")
    )
    parse_yaml(bomb, "bomb.yaml")  # the duplicate check walks each node once
    with pytest.raises(SpecError, match="nested too deeply|not valid YAML"):
        parse_yaml("[" * 5000 + "]" * 5000, "deep.yaml")


def test_files_must_be_utf8(tmp_path):
    (tmp_path / "s.yaml").write_bytes("name: x\ndescription: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(SpecError, match=r"not UTF-8 text \(byte 0xe9 at line 2\)"):
        read_yaml_file(tmp_path / "s.yaml")
    (tmp_path / "ok.yaml").write_bytes("description: caf\u00e9\n".encode())
    assert read_yaml_file(tmp_path / "ok.yaml") == {"description": "caf\u00e9"}
