"""What the Brian2 engine reads out of a runtime network outlives the network.

Under brian2 2.10 a ``Synapses`` (or ``StateMonitor``) variable read with ``[:]`` on a runtime
target is a view of memory owned by a C++ dynamic array, and the view does not keep that array
alive: weights kept as such views read freed memory once the network is garbage-collected
(seen as NaN weights in the prediction run after training, ``DivergenceError``). The engine
copies; this test frees the network, reuses the memory and checks the weights and outputs
are unchanged."""

from __future__ import annotations

import gc

import numpy as np
from conftest import arch_of

from brian_ep.engines.brian import BrianEngine
from brian_ep.maths import init_optim_state, init_params
from brian_ep.spec import load_spec


def test_weights_and_outputs_outlive_the_runtime_network():
    spec = load_spec(
        {
            "model": {"input": {"size": 12}, "hidden": [{"size": 8}], "output": {"size": 3}, "chain": {"lr": 0.05}},
            "ep": {"dt": "0.5 ms", "free_steps": 4, "nudged_steps": 2, "beta": 0.5},
            "run": {"brian2": {"target": "numpy"}},
        }
    )
    arch = arch_of(spec)
    params = init_params(arch, np.random.default_rng(0))
    eng = BrianEngine(spec, arch, params, init_optim_state(params))
    rng = np.random.default_rng(1)
    outputs = eng.train_chunk(rng.random((4, 12)), np.eye(3)[rng.integers(0, 3, 4)]).outputs
    weights = {k: v.copy() for k, v in eng.params.W.items()}
    kept = {k: v for k, v in eng.params.W.items()}
    seen = outputs.copy()
    gc.collect()  # the training network is gone; its memory is handed out again
    filler = [np.full(n, np.nan) for n in (*[v.size for v in weights.values()], outputs.size) for _ in range(50)]
    assert all(np.all(np.isnan(f)) for f in filler)
    for k, w in kept.items():
        np.testing.assert_array_equal(w, weights[k], err_msg=k)
    np.testing.assert_array_equal(outputs, seen)
    eng.close()
