"""Resource estimates: the arithmetic of the estimate, and refusals that name the key."""

from __future__ import annotations

import pytest

from brian_ep.architecture import build_architecture
from brian_ep.errors import SpecError
from brian_ep.resources import MAX_STEPS_PER_SAMPLE, check_resources, estimate, format_bytes, machine_memory
from brian_ep.spec import load_spec

pytestmark = pytest.mark.codegen_independent


def spec(**over):
    base = {"model": {"input": {"size": 64}, "hidden": [{"size": 100}], "output": {"size": 10}}, "data": {"dataset": "digits"}}
    return load_spec(base, {k.replace("__", "."): v for k, v in over.items()})


def test_estimate_counts_weights_state_and_chunks_by_hand():
    s = spec(run__engine="numpy", optim__batch_size=10, run__eval_batch_size=20)
    est = estimate(s, build_architecture(s), n_samples=500)
    n_w = 64 * 100 + 100 * 10 + 100 + 10  # weights and biases
    assert est.weights == 8 * n_w * 4  # four copies, SGD
    assert est.state == 8 * 20 * (64 + 100 + 10) * 12  # the larger batch, every neuron, 12 arrays
    assert est.chunk == 8 * 500 * (64 + 10)
    assert est.steps_per_sample == 20 + 2 * 10
    adam = spec(run__engine="numpy", optim__algorithm="adam")
    assert estimate(adam, build_architecture(adam), 500).weights == 8 * n_w * 6


def test_standalone_chunk_arrays_grow_with_the_chunk_not_the_data():
    s = spec(run__engine="brian2", run__brian2__device="cpp_standalone", run__chunk_size=1000)
    small = estimate(s, build_architecture(s), n_samples=10)
    big = spec(run__engine="brian2", run__brian2__device="cpp_standalone", run__chunk_size=100_000)
    assert estimate(big, build_architecture(big), 10).chunk - small.chunk == 8 * 99_000 * (64 + 10 + 2) * 3


def test_refusals_name_the_key_and_carry_the_estimate():
    s = spec(model__hidden=[{"size": 10**8}])
    with pytest.raises(SpecError) as info:
        check_resources(s, build_architecture(s), 1000, available=2**34)
    assert info.value.key == "model.hidden[0].size" and "GiB" in str(info.value) and "16.0 GiB" in str(info.value)
    check_resources(s, build_architecture(s), 1000, available=None)  # no memory check asked for
    ok = spec()
    assert check_resources(ok, build_architecture(ok), 1000, available=2**34).total < 2**34
    steps = spec(ep__free_steps=MAX_STEPS_PER_SAMPLE)
    with pytest.raises(SpecError) as info:
        check_resources(steps, build_architecture(steps), 10, available=None)
    assert info.value.key == "ep.free_steps" and "100,020" in str(info.value)


def test_format_bytes_and_machine_memory():
    assert format_bytes(512) == "512 B" and format_bytes(1536) == "1.5 KiB" and format_bytes(3 * 2**40) == "3.0 TiB"
    memory = machine_memory()
    assert memory is None or memory > 2**26
