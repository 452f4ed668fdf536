"""Weights checked against the network before use: names, shapes, finiteness."""

from __future__ import annotations

import numpy as np
import pytest

from brian_ep.architecture import build_architecture
from brian_ep.errors import DataError
from brian_ep.maths.params import Params, initial_params
from brian_ep.spec import load_spec
from brian_ep.weights import check_params, expected_shapes, load_weights, params_from_arrays

pytestmark = pytest.mark.codegen_independent

SPEC = load_spec({"model": {"input": {"size": 6}, "hidden": [{"size": 5}], "output": {"size": 3}}})
ARCH = build_architecture(SPEC)


def test_expected_shapes():
    assert expected_shapes(ARCH) == {"W:input_h1": (6, 5), "W:h1_output": (5, 3), "b:h1": (5,), "b:output": (3,)}


def test_good_weights_pass_and_round_trip(tmp_path):
    params = initial_params(ARCH, 0)
    params.save(tmp_path / "w.npz")
    assert load_weights(tmp_path / "w.npz", SPEC).max_abs_diff(params) == 0.0
    assert check_params(params, ARCH) is params


@pytest.mark.parametrize(
    "change, needles",
    [
        (lambda p: p.W.update({"input_h1": p.W["input_h1"].T}), ("'W:input_h1'", "(5, 6)", "(6, 5)", "transposed")),
        (lambda p: p.W.update({"input_h1": p.W["input_h1"].ravel()}), ("flattened",)),
        (lambda p: p.W.pop("h1_output"), ("no array(s) 'W:h1_output'",)),
        (lambda p: p.b.update({"h7": np.zeros(2)}), ("'b:h7' that this network does not have",)),
        (lambda p: p.b["h1"].__setitem__(2, np.inf), ("'b:h1'", "1 non-finite value(s)")),
    ],
)
def test_bad_weights_name_the_array(change, needles):
    params = initial_params(ARCH, 0)
    change(params)
    with pytest.raises(DataError) as info:
        check_params(params, ARCH, "weights file 'w.npz'")
    for needle in needles:
        assert needle in str(info.value)
    assert str(info.value).startswith("weights file 'w.npz'")


def test_arrays_that_are_not_weights():
    with pytest.raises(DataError, match="'position' are not weights"):
        params_from_arrays({"position": np.zeros(3), "W:input_h1": np.zeros((6, 5))}, "x.npz")
    assert params_from_arrays({"W:a": np.ones((1, 1), dtype=np.int64)}, "x").W["a"].dtype == np.float64


def test_params_load_of_a_broken_file_is_a_data_error(tmp_path):
    (tmp_path / "w.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="cannot be read as a .npz archive"):
        Params.load(tmp_path / "w.npz")
    with pytest.raises(DataError, match="not found"):
        Params.load(tmp_path / "missing.npz")
