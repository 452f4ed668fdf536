"""The like-for-like benchmark against Scaling-EP (``benchmarks/bench_scaling_ep_equal.py``)
times equal work: its re-implementation of their ``P_MLP`` training step trains the same
weights as brian_ep's numpy and torch engines on the spec it builds, and its output holds the
ratios it claims."""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    """The benchmark module, imported without leaving its thread variables or torch's thread
    count changed in this process."""
    env, threads = dict(os.environ), torch.get_num_threads()
    sys.path.insert(0, str(BENCH))
    try:
        yield importlib.import_module("bench_scaling_ep_equal")
    finally:
        sys.path.remove(str(BENCH))
        os.environ.clear()
        os.environ.update(env)
        torch.set_num_threads(threads)


def _data(n=16, size=12, classes=4):
    rng = np.random.default_rng(3)
    return rng.random((n, size)), rng.integers(0, classes, n)


@pytest.mark.parametrize("nudging", ["positive", "centered"])
def test_pmlp_step_trains_the_engines_weights(bench, nudging):
    x, labels = _data()
    diffs = bench.check_equal(x, labels, nudging=nudging, sizes=[12, 9, 4])
    moved = diffs.pop("(weight change in this check, for scale)")
    assert moved > 1e-3  # the two mini-batches changed the weights: the comparison has something to compare
    assert set(diffs) == {"brian_ep torch engine (cpu, float64)", "Scaling-EP step, re-implemented (cpu, float64)"}
    for label, d in diffs.items():
        assert d < 1e-12, (label, d)


def test_check_sees_a_different_computation(bench, monkeypatch):
    """The check can fail: P_MLP with another activation does not train the same weights."""
    monkeypatch.setattr(bench, "hard_sigmoid", torch.sigmoid)
    x, labels = _data()
    diffs = bench.check_equal(x, labels, sizes=[12, 9, 4])
    assert diffs["Scaling-EP step, re-implemented (cpu, float64)"] > 1e-3


def test_spec_is_the_shared_network(bench):
    from brian_ep.architecture import build_architecture

    spec = bench.equal_spec(1000, "torch", "cpu", "float32", "centered")
    arch = build_architecture(spec)
    assert [p.name for p in arch.projections] == ["input_h1", "h1_output"]
    assert arch.readout is None and all(layer.eps == 1.0 and layer.bias for layer in arch.free_layers)
    assert (spec.ep.free_steps, spec.ep.nudged_steps, spec.ep.beta, spec.ep.nudging) == (30, 10, 0.1, "centered")
    assert (spec.optim.batch_size, spec.run.dtype, spec.optim.algorithm) == (1000, "float32", "sgd")


def test_main_writes_rows_with_their_ratios(bench, tmp_path):
    out = tmp_path / "equal.json"
    bench.main(["--batches", "50", "--scale", "0.001", "--rounds", "2", "--data", "random", "--json", str(out)])
    info = json.loads(out.read_text())
    rows = {r["label"]: r for r in info["rows"]}
    assert set(rows) == {"brian_ep torch engine", "brian_ep numpy engine (CPU)", "Scaling-EP step (re-implemented)"}
    ref = rows["Scaling-EP step (re-implemented)"]["ms_per_sample"]
    for r in rows.values():
        assert r["batch"] == 50 and r["samples"] == 50 and len(r["rounds_ms"]) == 2
        assert r["ms_per_sample"] == min(r["rounds_ms"]) <= r["median"] <= r["slowest"] == max(r["rounds_ms"])
        assert r["scaling_ep_over_this"] == pytest.approx(ref / r["ms_per_sample"])
        assert r["this_over_scaling_ep"] == pytest.approx(r["ms_per_sample"] / ref)
    checked = info["check_max_rel_weight_difference"]
    assert max(v for k, v in checked.items() if not k.startswith("(")) < 1e-12
    assert info["threads"] == 1 and info["settings"]["sizes"] == [784, 512, 10]
