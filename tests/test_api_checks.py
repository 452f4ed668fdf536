"""The Python API's argument checks (issue 27): wrong kinds and values are one paragraph in a
type of brian_ep.errors, the same as the command line's; paths are accepted where a spec or
weights are expected; evaluate scores only the splits that exist; build has train's bounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from brian2 import DimensionMismatchError, ms

import brian_ep
from brian_ep.api_checks import UnitError, keys_argument
from brian_ep.architecture import build_architecture
from brian_ep.cli import main
from brian_ep.engines import make_engine
from brian_ep.errors import ArgumentError, DataError, SpecError
from brian_ep.splits import prepare_data
from brian_ep.train import accuracy

REPO = Path(__file__).resolve().parents[1]
DIGITS = str(REPO / "network_specs" / "digits.yaml")
SMALL = {"run.engine": "numpy", "data.n_train": 120, "data.n_test": 40, "run.epochs": 1, "model.hidden": [{"size": 16}],
         "ep.free_steps": 8, "ep.nudged_steps": 3}


@pytest.fixture(scope="module")
def small():
    spec = brian_ep.load_spec(DIGITS, SMALL)
    arch = build_architecture(spec)
    return spec, arch, brian_ep.initial_params(arch, 0)


@pytest.mark.parametrize("call,kind,needle", [
    (lambda: brian_ep.load_spec(42), ArgumentError, "got int 42"),
    (lambda: brian_ep.load_spec(DIGITS, [("run.epochs", 2)]), ArgumentError, "overrides must be a mapping"),
    (lambda: brian_ep.make_spec([64]), ArgumentError, "at least an input and an output"),
    (lambda: brian_ep.make_spec("abc"), ArgumentError, "'sizes' must be a list"),
    (lambda: brian_ep.make_spec([4, 2], dt=0.5), UnitError, "dt=0.5*ms"),
    (lambda: brian_ep.make_spec([4, 2], tau=3), UnitError, "'tau' must be a time"),
    (lambda: brian_ep.make_spec([4, 2], beta=0.5 * ms), UnitError, "'beta' must be dimensionless"),
    (lambda: brian_ep.build(None, 3), ArgumentError, "'spec' must be a Spec"),
    (lambda: brian_ep.build(brian_ep.make_spec([4, 2]), 0), ArgumentError, "'n_samples' must be a whole number >= 1"),
    (lambda: brian_ep.build(brian_ep.make_spec([4, 2]), 2, params=7), ArgumentError, "params must be brian_ep.Params"),
    (lambda: brian_ep.build(brian_ep.make_spec([4, 2]), 2, params="nosuch.npz"), DataError, "'nosuch.npz' not found"),
    (lambda: brian_ep.train(42), ArgumentError, "'spec' must be a Spec"),
    (lambda: brian_ep.evaluate([1], {}), ArgumentError, "'spec' must be a Spec"),
])
def test_wrong_kinds_are_one_paragraph_of_the_packages_types(call, kind, needle):
    with pytest.raises(kind) as info:
        call()
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_a_unit_error_is_also_brian2s():
    with pytest.raises(DimensionMismatchError):
        brian_ep.make_spec([4, 2], dt=0.5)


def test_a_string_of_allowed_changes_is_one_key_not_its_characters():
    assert keys_argument("run", "allow_changes", "train") == ("run",)
    assert keys_argument(["run.epochs", "optim"], "allow_changes", "train") == ("run.epochs", "optim")
    with pytest.raises(ArgumentError, match="'allow_changes' must be a spec key"):
        keys_argument(5, "allow_changes", "train")
    with pytest.raises(ArgumentError, match="'allow_changes' must be a spec key"):
        brian_ep.train(brian_ep.load_spec(DIGITS, SMALL), allow_changes=[1, 2])


def test_train_and_evaluate_accept_a_path_and_a_mapping(tmp_path, small):
    spec, arch, params = small
    path = tmp_path / "s.yaml"
    brian_ep.spec.dump_spec(spec, path)
    a = brian_ep.train(str(path), progress=False)
    b = brian_ep.train(brian_ep.spec.spec_to_dict(spec), progress=False)
    assert a.params.max_abs_diff(b.params) == 0.0
    flat = a.params.to_flat()
    weights = tmp_path / "w.npz"
    np.savez(weights, **flat)
    by_path, by_dict, by_params = (brian_ep.evaluate(spec, w) for w in (str(weights), flat, a.params))
    assert by_path == by_dict == by_params == a.final_test_accuracy


def test_plain_dicts_of_weights_are_checked(small):
    spec, arch, params = small
    flat = params.to_flat()
    nan = dict(flat, **{"W:input_h1": np.full_like(flat["W:input_h1"], np.nan)})
    with pytest.raises(DataError, match="'W:input_h1' has .* non-finite"):
        brian_ep.evaluate(spec, nan)
    transposed = dict(flat, **{"W:input_h1": flat["W:input_h1"].T})
    with pytest.raises(DataError, match="looks transposed"):
        brian_ep.build(spec, 2, params=transposed)
    with pytest.raises(DataError, match="has no array"):
        brian_ep.evaluate(spec, {"W": {}, "b": {}})


def test_api_and_cli_give_the_same_message_for_bad_weights(tmp_path, small, capsys):
    spec, arch, params = small
    path = tmp_path / "t.npz"
    np.savez(path, **dict(params.to_flat(), **{"W:input_h1": params.W["input_h1"].T}))
    with pytest.raises(DataError) as info:
        brian_ep.evaluate(spec, str(path))
    args = [f"{k}={v}" for k, v in SMALL.items() if k != "model.hidden"] + ["model.hidden=[{size: 16}]"]
    rc = main(["evaluate", DIGITS, "--weights", str(path), *[a for item in args for a in ("--set", item)]])
    assert rc == 2
    assert " ".join(str(info.value).split()) in " ".join(capsys.readouterr().err.split())


def test_evaluate_scores_the_split_it_names_and_refuses_others(small):
    spec, arch, params = small
    with pytest.raises(ArgumentError, match="split 'tset' does not exist; the splits are train, test"):
        brian_ep.evaluate(spec, params, split="tset")
    with pytest.raises(ArgumentError, match="no validation split"):
        brian_ep.evaluate(spec, params, split="validation")
    with_val = brian_ep.load_spec(spec, {"data.validation": 30})
    (x_tr, l_tr), (x_val, l_val), (x_te, l_te) = prepare_data(with_val)
    engine = make_engine(with_val, arch, params)
    expected = {"train": accuracy(engine.predict(x_tr), l_tr), "validation": accuracy(engine.predict(x_val), l_val),
                "test": accuracy(engine.predict(x_te), l_te)}
    engine.close()
    for split, value in expected.items():
        assert brian_ep.evaluate(with_val, params, split=split) == value
    assert x_val.shape[0] == 30


def test_build_refuses_non_finite_inputs_and_what_train_refuses():
    spec = brian_ep.make_spec([4, 3, 2])
    x = np.zeros((2, 4))
    x[1, 2] = np.nan
    with pytest.raises(DataError, match=r"'x' has 1 non-finite value.*index \(1, 2\)"):
        brian_ep.build(spec, 2, x=x)
    with pytest.raises(DataError, match="looks transposed"):
        brian_ep.build(spec, 3, y=np.zeros((2, 3)))
    with pytest.raises(SpecError, match="ep.free_steps"):
        brian_ep.build(brian_ep.make_spec([4, 3, 2], free_steps=10**9), 2)
    with pytest.raises(SpecError, match=r"model.hidden\[0\].size.*memory"):
        brian_ep.build(brian_ep.make_spec([784, 10**7, 10]), 2)
