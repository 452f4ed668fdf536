"""Spike rate of a refractory Bernoulli neuron against ``p / (1 + (n_ref - 1) p)`` (issue 29).

At a constant spike probability ``p`` per step, a neuron that cannot spike in the ``n_ref - 1``
steps after a spike fires ``p / (1 + (n_ref - 1) p)`` spikes per step (a renewal process:
:func:`brian_ep.neurons.bernoulli.refractory_rate`), not ``p``. This measures it with the
numpy engine's step (:meth:`BernoulliNeuron.advance`) and with a Brian2 ``NeuronGroup`` that
has the model's own threshold and ``refractory`` (runtime numpy target, ``rand()``)::

    PYTHONPATH=. python benchmarks/refractory_rate.py          # ~20 s on 2 cores

Each row: 20000 neurons, 200 counted steps after 30 steps of burn-in; ``+-`` one standard error.
"""

from __future__ import annotations

import numpy as np

from brian_ep.architecture import build_architecture
from brian_ep.maths.activations import get_activation
from brian_ep.neurons.bernoulli import refractory_rate
from brian_ep.spec import load_spec

N_SAMPLES, SIZE, BURN_IN, STEPS = 2500, 8, 30, 200
CASES = (({"refractory": 3}, 0.6), ({"refractory": 3}, 0.2), ({"refractory": "2.5 ms", "max_rate": "1 kHz"}, 0.8))


def _layer(neuron: dict):
    spec = load_spec({"model": {"input": {"size": 4}, "hidden": [{"size": SIZE}], "output": {"size": 2},
                                "neuron": {"model": "bernoulli", **neuron}},
                      "ep": {"dt": "0.5 ms", "free_steps": 30, "nudged_steps": 10}})
    return build_architecture(spec).layer("h1")


def numpy_rate(layer, u: float, seed: int = 4) -> tuple[float, float]:
    """Spikes per step (mean, standard error) of the model's own step at potential ``u``."""
    model, rng = layer.neuron, np.random.default_rng(seed)
    shape = (N_SAMPLES, SIZE)
    state = model.initial_state(layer, N_SAMPLES, np.zeros(1))._replace(u=np.full(shape, u))
    current, counts = np.full(shape, u), np.zeros(shape)
    for k in range(BURN_IN + STEPS):
        state = model.advance(layer, state, current, rng.random(shape))
        counts += state.s if k >= BURN_IN else 0.0
    return counts.mean() / STEPS, counts.std(ddof=1) / STEPS / np.sqrt(counts.size)


def brian_rate(layer, p: float, seed: int = 4) -> tuple[float, float]:
    """The same in Brian2: a group with the model's threshold and ``refractory`` at probability ``p``."""
    from brian2 import NeuronGroup, Network, SpikeMonitor, prefs, second, seed as brian_seed

    prefs.codegen.target = "numpy"
    options = layer.neuron.brian_group_options(layer)
    n, dt = N_SAMPLES * SIZE, layer.neuron.dt(layer) * second
    group = NeuronGroup(n, "p : 1", threshold=options["threshold"], refractory=options["refractory"], dt=dt)
    group.p = p
    brian_seed(seed)
    net = Network(group)
    net.run(BURN_IN * dt, namespace={})
    monitor = SpikeMonitor(group)
    net.add(monitor)
    net.run(STEPS * dt, namespace={})
    counts = np.bincount(np.asarray(monitor.i), minlength=n).astype(float)
    return counts.mean() / STEPS, counts.std(ddof=1) / STEPS / np.sqrt(n)


def main() -> None:
    print("| neuron | p per step | n_ref | p / (1 + (n_ref - 1) p) | numpy engine | Brian2 (runtime, rand()) |")
    print("|---|---|---|---|---|---|")
    for neuron, u in CASES:
        layer = _layer(neuron)
        model = layer.neuron
        p = model.q(layer) * float(get_activation(layer.activation).rho(np.array(u)))
        n_ref = model.n_ref(layer)
        (a, sa), (b, sb) = numpy_rate(layer, u), brian_rate(layer, p)
        print(f"| {neuron} | {p:.3f} | {n_ref} | {refractory_rate(p, n_ref):.4f} | {a:.4f} +- {sa:.4f} | {b:.4f} +- {sb:.4f} |")


if __name__ == "__main__":
    main()
