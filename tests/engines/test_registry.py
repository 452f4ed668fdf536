"""The engine registry carries what other modules used to derive from an engine's name: where
it computes, one sample at a time or batched, its memory estimate, its steps per sample, whether
it trains by EP and whether ``compare`` may name it; checked against each engine's definition."""

from __future__ import annotations

from pathlib import Path

import pytest

from brian_ep.architecture import build_architecture
from brian_ep.compare.methods import parse_methods
from brian_ep.compare.report import steps_per_sample
from brian_ep.engines import engine_names, get_engine_entry
from brian_ep.engines.brian_options import MAX_THREADS, BrianOptions
from brian_ep.errors import ArgumentError, SpecError
from brian_ep.session import run_device
from brian_ep.spec import load_spec

pytestmark = pytest.mark.codegen_independent

DIGITS = Path(__file__).resolve().parents[2] / "network_specs" / "digits.yaml"


def spec(**over):
    return load_spec(DIGITS, {k.replace("__", "."): v for k, v in over.items()})


@pytest.mark.parametrize("over, where", [
    ({}, "cpp_standalone"),
    ({"run__brian2__device": "runtime"}, "runtime"),
    ({"run__engine": "numpy"}, "cpu"),
    ({"run__engine": "torch", "run__torch__device": "cuda:1"}, "cuda:1"),
    ({"run__engine": "bp"}, "cpu"),
])
def test_where_a_run_computes(over, where):
    s = spec(**over)
    assert get_engine_entry(s.run.engine).computes_on(s) == where == run_device(s)


def test_steps_per_sample_come_from_each_engine_entry():
    s = spec()
    window = s.ep.free_steps + 2 * s.ep.nudged_steps
    assert steps_per_sample(s) == window == steps_per_sample(spec(run__engine="numpy"))
    assert steps_per_sample(spec(run__engine="bp")) == 1
    assert steps_per_sample(spec(run__engine="bptt_snn")) == 25  # digits.yaml: run.bptt_snn.steps
    assert steps_per_sample(spec(run__engine="bptt_crnn")) == s.ep.free_steps
    assert steps_per_sample(spec(run__engine="bptt_crnn", run__bptt_crnn={"steps": 7})) == 7


def test_capabilities_of_the_built_in_engines():
    brian = get_engine_entry("brian2")
    assert brian.one_sample_at_a_time and brian.trains_by_ep and not brian.compare_method
    assert brian.options_model() is BrianOptions and brian.memory_estimate() is not None
    assert [n for n in engine_names() if get_engine_entry(n).one_sample_at_a_time] == ["brian2"]
    assert {n for n in ("bp", "bptt_crnn", "bptt_snn") if not get_engine_entry(n).trains_by_ep} == {"bp", "bptt_crnn", "bptt_snn"}
    assert get_engine_entry("numpy").memory_estimate() is None  # the batched estimate


def test_brian2_memory_estimate_by_hand():
    s = spec(run__chunk_size=100)
    arch = build_architecture(s)
    state, chunk = get_engine_entry("brian2").memory_estimate()(s, arch, 1000)
    n_weights = 64 * 256 + 256 * 10 + 256  # and h1's biases (the softmax readout's output layer is not free)
    assert state == 8 * (n_weights * 8 + (64 + 256 + 10) * 40)  # SGD: 8 floats per synapse, 40 per neuron
    assert chunk == 8 * 100 * (64 + 10 + 2) * 3  # standalone: the whole chunk's windows


def test_compare_methods_come_from_the_registry():
    assert [m.name for m in parse_methods("ep,torch,bp")] == ["ep", "torch", "bp"]
    for name in ("brian2", "numpy"):  # reached through ep / stochep
        with pytest.raises(ArgumentError, match=f"unknown method '{name}'"):
            parse_methods(name)


@pytest.mark.parametrize("key, value", [("run.device", "runtime"), ("run.target", "numpy"), ("run.threads", 2)])
def test_old_brian2_keys_name_their_replacements(key, value):
    with pytest.raises(SpecError) as info:
        load_spec(DIGITS, {key: value})
    message = str(info.value)
    assert info.value.key == key
    assert all(f"run.brian2.{k}" in message for k in ("device", "target", "threads")), message


def test_brian2_threads_are_bounded():
    assert spec(run__brian2__threads=MAX_THREADS).run.engine_options("brian2").threads == MAX_THREADS
    with pytest.raises(SpecError) as info:
        spec(run__brian2__threads=1_000_000)
    assert info.value.key == "run.brian2.threads" and f"at most {MAX_THREADS}" in str(info.value)
