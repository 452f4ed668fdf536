"""Gradient alignment: for the same weights and the same batch, the cosine between the EP
update and the BPTT gradient of the same recurrent network, per projection and bias.

    BRIAN_EP_DATA=../shared/data OMP_NUM_THREADS=1 nice -n 10 python benchmarks/gradient_alignment.py \\
        [--weights RUN_DIR/weights.npz]

About two minutes on 2 cores. Writes docs/compare/gradient_alignment.{json,md}.

Batch: the first 128 MNIST training samples; float64. Networks (exact EP, hard sigmoid,
dt/tau 0.5, the spec's initial weights of seed 0, or ``--weights`` for the first):

* ``mnist_784_500_10``: network_specs/mnist_784_500_10.yaml as it is (softmax readout of one
  hidden layer: the free state is that layer alone, so there is no feedback loop);
* ``recurrent 784-500-10``: the same with ``model.readout.kind: none`` (the output layer is part
  of the state, with feedback gamma 1 from it; squared-error loss);
* ``recurrent 784-256-256-10``: two hidden layers under the softmax readout (h1 <-> h2 feedback);
* the two recurrent networks again with initial weights of half the scale (``init.gain: 0.5``),
  whose free phase converges faster.

For each T: the EP update of :func:`brian_ep.maths.phases.ep_phase_gradient` with the spec's
phases (``free_steps`` T, centered nudging, ``nudged_steps`` 10, beta 0.5), with beta 0.01, and
with beta 0.01 and nudged phases of T steps;
the BPTT gradient through the same T steps from rest (:func:`brian_ep.baselines.crnn.bptt_gradient`,
what ``bptt_crnn`` descends); and, as the reference both estimate, the recurrent-backprop
gradient at the fixed point (:func:`brian_ep.maths.gradients.recurrent_backprop_gradient` after
2000 steps). The readout weights are left out (EP and BPTT both use the exact cross-entropy
gradient at the final free state). The reference run of the ratio printed last is BPTT.

Stochastic spiking EP (when the ``bernoulli`` neuron model is registered):
network_specs/stochep/mnist_784_500_10.yaml as it is, its EP update (its own phases and rate
estimates) averaged over K independent noise draws, against the BPTT gradient of its mean
field, the same spec with rate neurons (same weights, batch, dt and free phase).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "compare"
STEPS = (30, 100, 400)
#: (beta, nudged steps): the spec's phases, a small beta, a small beta with nudged phases as long as the free one
VARIANTS = ((0.5, 10), (0.01, 10), (0.01, None))


def _networks():
    base = REPO / "network_specs" / "mnist_784_500_10.yaml"
    mse = {"model.readout.kind": "none"}
    deep = {"model.hidden": [{"size": 256}, {"size": 256}], "model.chain.lr": 0.01}
    return {
        "mnist_784_500_10": (base, {}),
        "recurrent 784-500-10": (base, mse),
        "recurrent 784-500-10, gain 0.5": (base, {**mse, "model.chain.init.gain": 0.5}),
        "recurrent 784-256-256-10": (base, deep),
        "recurrent 784-256-256-10, gain 0.5": (base, {**deep, "model.chain.init.gain": 0.5}),
    }


def cosine(a, b) -> float:
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _flat(params, arch) -> dict:
    """Gradients per projection and bias, the readout left out."""
    out = {f"W {p.name}": params.W[p.name] for p in arch.projections}
    out.update({f"b {name}": v for name, v in params.b.items()})
    return out


def _batch():
    from brian_ep.data import load_dataset, one_hot

    ds = load_dataset("mnist")
    return ds.x_train[:128].astype(np.float64), one_hot(ds.y_train[:128], 10).astype(np.float64)


def rows_for(label, spec, params, x, y) -> list:
    """One row per (T, beta, parameter): cosines and norm ratios."""
    from brian_ep.architecture import build_architecture
    from brian_ep.baselines.crnn import bptt_gradient
    from brian_ep.maths.dynamics import relax
    from brian_ep.maths.gradients import recurrent_backprop_gradient
    from brian_ep.maths.phases import ep_phase_gradient

    arch = build_architecture(spec)
    reference = _flat(recurrent_backprop_gradient(arch, params, x, y, relax(arch, params, x, 2000)), arch)
    rows = []
    for steps in STEPS:
        bptt = _flat(bptt_gradient(arch, params, x, y, steps), arch)
        u = relax(arch, params, x, steps)
        residual = float(np.max([np.max(np.abs(relax(arch, params, x, 1, u0=u)[k] - u[k])) for k in u]))
        for beta, nudged in VARIANTS:
            ep = spec.ep.model_copy(update={"free_steps": steps, "beta": beta, "nudged_steps": nudged or steps})
            g_ep = _flat(ep_phase_gradient(arch, params, x, y, ep)[0], arch)
            for name in bptt:
                rows.append({
                    "network": label, "T": steps, "beta": beta, "nudged": nudged or steps, "variant": (beta, nudged),
                    "parameter": name, "residual": residual,
                    "cos_ep_bptt": cosine(g_ep[name], bptt[name]),
                    "norm_ep_over_bptt": float(np.linalg.norm(g_ep[name]) / np.linalg.norm(bptt[name])),
                    "cos_ep_fixed_point": cosine(g_ep[name], reference[name]),
                    "cos_bptt_fixed_point": cosine(bptt[name], reference[name]),
                })
    return rows


STOCHEP_SPEC = REPO / "network_specs" / "stochep" / "mnist_784_500_10.yaml"
DRAWS = (1, 4, 16, 64)


def _mean_field(spec):
    """The same spec with rate neurons (the bernoulli model's own keys dropped)."""
    from brian_ep.spec import load_spec, spec_to_dict

    neuron = {k: v for k, v in spec_to_dict(spec)["model"]["neuron"].items() if k in ("activation", "tau", "bias")}
    return load_spec(spec, {"model.neuron": {**neuron, "model": "rate"}})


def stochastic_rows(x, y) -> list:
    """cos(mean of K stochastic EP updates, BPTT of the mean-field network) per parameter."""
    from brian_ep.architecture import build_architecture
    from brian_ep.baselines.crnn import bptt_gradient
    from brian_ep.maths.noise import SeededNoise
    from brian_ep.maths.params import initial_params
    from brian_ep.maths.phases import ep_phase_gradient
    from brian_ep.spec import load_spec

    spec = load_spec(STOCHEP_SPEC)
    arch, rate_arch = build_architecture(spec), build_architecture(_mean_field(spec))
    params = initial_params(arch, 0)
    bptt = _flat(bptt_gradient(rate_arch, params, x, y, spec.ep.free_steps), rate_arch)
    rate_ep = _flat(ep_phase_gradient(rate_arch, params, x, y, spec.ep)[0], rate_arch)
    draws = [_flat(ep_phase_gradient(arch, params, x, y, spec.ep, noise=SeededNoise([0, k]))[0], arch) for k in range(max(DRAWS))]
    rows = []
    for k in DRAWS:
        for name in bptt:
            mean = np.mean([d[name] for d in draws[:k]], axis=0)
            rows.append({
                "network": f"stochep {spec.name}", "draws": k, "parameter": name,
                "cos_ep_bptt": cosine(mean, bptt[name]), "norm_ep_over_bptt": float(np.linalg.norm(mean) / np.linalg.norm(bptt[name])),
                "cos_ep_rate_ep": cosine(mean, rate_ep[name]), "cos_rate_ep_bptt": cosine(rate_ep[name], bptt[name]),
            })
    return rows


def stochastic_table(rows) -> str:
    lines = [
        "| network | parameter | noise draws K | cos(mean of K StochEP updates, BPTT of the mean field) | norm ratio "
        "| cos(StochEP, rate EP, same phases) | cos(rate EP, BPTT) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['network']} | {r['parameter']} | {r['draws']} | {r['cos_ep_bptt']:.4f} | {r['norm_ep_over_bptt']:.3f} "
            f"| {r['cos_ep_rate_ep']:.4f} | {r['cos_rate_ep_bptt']:.4f} |"
        )
    return "\n".join(lines)


def table(rows) -> str:
    lines = [
        "| network | parameter | T | max \\|u_T+1 - u_T\\| | cos(EP, BPTT): beta 0.5, 10 nudged | beta 0.01, 10 nudged "
        "| beta 0.01, T nudged | \\|EP\\| / \\|BPTT\\| (beta 0.01, T nudged) | cos(BPTT, fixed point) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    keyed = {(r["network"], r["parameter"], r["T"], tuple(r["variant"])): r for r in rows}
    for network, parameter, steps in dict.fromkeys((r["network"], r["parameter"], r["T"]) for r in rows):
        spec_phases, small, long_nudge = (keyed[network, parameter, steps, v] for v in VARIANTS)
        lines.append(
            f"| {network} | {parameter} | {steps} | {spec_phases['residual']:.1e} | {spec_phases['cos_ep_bptt']:.4f} "
            f"| {small['cos_ep_bptt']:.4f} | {long_nudge['cos_ep_bptt']:.4f} | {long_nudge['norm_ep_over_bptt']:.3f} "
            f"| {long_nudge['cos_bptt_fixed_point']:.4f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    from brian_ep.architecture import build_architecture
    from brian_ep.maths.params import Params, initial_params
    from brian_ep.spec import load_spec

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", help="weights.npz of an EP run of mnist_784_500_10 (default: its initial weights)")
    args = ap.parse_args(argv)
    x, y = _batch()
    rows = []
    for label, (path, over) in _networks().items():
        spec = load_spec(path, over)
        params = initial_params(build_architecture(spec), 0)
        if args.weights and label == "mnist_784_500_10":
            params, label = Params.load(args.weights), f"{label} (trained: {args.weights})"
        rows += rows_for(label, spec, params, x, y)
        print(table([r for r in rows if r["network"] == label]), flush=True)
    from brian_ep.neurons import neuron_model_names

    if "bernoulli" in neuron_model_names() and STOCHEP_SPEC.exists():
        spiking = stochastic_rows(x, y)
        text = table(rows) + "\n\n" + stochastic_table(spiking) + "\n"
    else:
        spiking = []
        text = table(rows) + "\n\n(stochastic spiking EP: the bernoulli neuron model is not registered in this brian_ep)\n"
    print(text.split("\n\n")[-1], flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "gradient_alignment.json").write_text(json.dumps({"rate": rows, "stochastic": spiking}, indent=1))
    (OUT / "gradient_alignment.md").write_text("# Gradient alignment: EP against BPTT\n\n" + text)
    worst = min(r["cos_ep_bptt"] for r in rows if tuple(r["variant"]) == VARIANTS[-1] and r["T"] == STEPS[-1])
    print(f"smallest cos(EP beta 0.01 with T nudged steps, BPTT) at T = {STEPS[-1]} over all parameters: {worst:.4f} (BPTT = 1)")


if __name__ == "__main__":
    main()
