"""StochEP bias in a deep recurrent spiking network: the mean of K stochastic EP updates against
the deterministic EP update of the mean-field network, against the steps per sample.

    PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 10 python benchmarks/stochep_bias.py [--quick]

About ten minutes on a shared 2-core machine (``--quick``: two schedules, one minute). Writes
``docs/results/stochep/bias_tradeoff.json`` and ``docs/figures/stochep_bias_tradeoff.png``.

The network and the reference are those of ``tests/neurons/test_spiking_bias.py``: 64-32-32-10,
every free layer Bernoulli spiking (spikes both ways between spiking layers), MSE output,
centered EP with common noise, 16 samples; the reference is the centered EP update of the rate
network at its fixed points, written from the equations. For each schedule (free steps F,
nudged steps N: F + 2N steps per sample), two estimators:

* ``old``: the nudge reads a 5 ms trace (``dt/trace_tau = 0.2``), spike counts over the last
  N - 1 steps of each nudged phase (the settings of the one-layer specs: 11 / 6, window 5);
* ``new``: the nudge reads the last step's spikes (``trace_tau`` = ``dt``, the default), spike
  counts over the last N / 2 steps of each nudged phase (a burn-in of N / 2; the deep specs:
  11 / 8, window 4).

Two regimes: ``linear`` (weights 0.2 x Glorot, beta 0.2: fewer than 1% of the potentials beyond
the kinks of ``hard_sigmoid``) and ``kinks`` (weights 0.5 x Glorot, beta 0.5: 15-60% of some
layer's potentials beyond the kinks in a nudged phase), gamma 1 and 0.5.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT_JSON = REPO / "docs" / "results" / "stochep" / "bias_tradeoff.json"
OUT_PNG = REPO / "docs" / "figures" / "stochep_bias_tradeoff.png"
SCHEDULES = ((8, 4), (11, 6), (11, 8), (15, 10), (20, 14), (30, 20), (60, 40))
QUICK = ((11, 6), (11, 8))
DRAWS = (1, 4, 16, 64, 256)
REGIMES = {"linear": (0.2, 0.2), "kinks": (0.5, 0.5)}  # (weight scale, beta)


def _reference_module():
    """``tests/neurons/test_spiking_bias.py``: the network, the problem and the reference."""
    path = REPO / "tests" / "neurons" / "test_spiking_bias.py"
    spec = importlib.util.spec_from_file_location("test_spiking_bias", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def estimator(name: str, free: int, nudged: int) -> dict:
    """The neuron and EP keys of estimator ``name`` for a schedule of ``free`` / ``nudged`` steps."""
    window = nudged - 1 if name == "old" else nudged - nudged // 2
    neuron = {"window": window, "free_window": free - 1, "trace_tau": "5 ms" if name == "old" else None}
    return {"neuron": neuron, "ep": {"free_steps": free, "nudged_steps": nudged}}


def _rows(state: dict, m: int) -> dict:
    """The first ``m`` samples of every layer's state."""
    return {k: s._replace(**{f: v[:m] for f, v in s._asdict().items() if hasattr(v, "shape")}) for k, s in state.items()}


def measure(ref_mod, gamma, regime, name, free, nudged, seed=1) -> dict:
    """Cosine and norm ratio for every K in ``DRAWS`` (one noise stream), and the fraction of
    potentials beyond the kinks."""
    from brian_ep.architecture import build_architecture
    from brian_ep.maths import SeededNoise
    from brian_ep.maths.gradients import ep_gradient
    from brian_ep.maths.phases import run_phases
    from brian_ep.meanfield import flat_update

    scale, beta = REGIMES[regime]
    keys = estimator(name, free, nudged)
    spec = ref_mod.deep_spiking_spec(gamma, neuron=keys["neuron"], ep={**keys["ep"], "beta": beta})
    arch = build_architecture(spec)
    params, x, y = ref_mod.linear_range_problem(arch, scale=scale)
    n, k_max = x.shape[0], max(DRAWS)
    X, Y = np.tile(x, (k_max, 1)), np.tile(y, (k_max, 1))
    ph = run_phases(arch, params, X, Y, spec.ep, noise=SeededNoise(seed))
    W = [params.W[p.name] for p in arch.projections]
    b = [params.b[layer.name] for layer in arch.free_layers]
    ref = ref_mod.deterministic_ep_update(W, b, gamma, x, y, beta)
    cos, ratio = [], []
    for k in DRAWS:
        m = k * n
        g = ep_gradient(arch, params, X[:m], Y[:m], _rows(ph.u_a, m), _rows(ph.u_b, m), ph.beta_a[:m], ph.beta_b[:m])
        f = flat_update(arch, g)
        cos.append(float(f @ ref / np.linalg.norm(f) / np.linalg.norm(ref)))
        ratio.append(float(np.linalg.norm(f) / np.linalg.norm(ref)))
    return {
        "gamma": gamma, "regime": regime, "estimator": name, "free_steps": free, "nudged_steps": nudged,
        "steps_per_sample": free + 2 * nudged, "draws": list(DRAWS), "cosine": cos, "norm_ratio": ratio,
        "beyond_kinks": float(ref_mod.beyond_kinks(spec, params, x, y)),
    }


def plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5))
    k64 = DRAWS.index(64)
    for i, regime in enumerate(REGIMES):
        for name, style in (("old", "--"), ("new", "-")):
            for gamma, color in ((1.0, "C0"), (0.5, "C3")):
                sel = [r for r in rows if (r["regime"], r["estimator"], r["gamma"]) == (regime, name, gamma)]
                steps = [r["steps_per_sample"] for r in sel]
                label = f"{name}, gamma {gamma:g}"
                axes[i, 0].plot(steps, [r["cosine"][k64] for r in sel], style, color=color, marker="o", label=label)
                axes[i, 1].plot(steps, [r["norm_ratio"][k64] for r in sel], style, color=color, marker="o", label=label)
                at = [r for r in sel if (r["free_steps"], r["nudged_steps"]) == ((11, 6) if name == "old" else (11, 8))]
                if at:
                    axes[i, 2].semilogx(DRAWS, at[0]["cosine"], style, color=color, marker="o", label=f"{label} ({at[0]['steps_per_sample']} steps)")
        axes[i, 0].axhline(0.99, color="grey", lw=0.8)
        axes[i, 1].axhspan(0.95, 1.05, color="grey", alpha=0.2)
        axes[i, 0].set_ylabel(f"{regime}: cosine (K = 64)")
        axes[i, 1].set_ylabel(f"{regime}: norm ratio (K = 64)")
        axes[i, 2].set_ylabel(f"{regime}: cosine")
        for ax in axes[i, :2]:
            ax.set_xlabel("steps per sample (free + 2 nudged)")
        axes[i, 2].set_xlabel("noise draws K")
    axes[0, 2].legend(fontsize=7)
    axes[0, 1].legend(fontsize=7)
    fig.suptitle("StochEP, 64-32-32-10 all spiking: mean of K stochastic updates vs the deterministic EP update of the mean field")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="two schedules only (11/6 and 11/8)")
    args = ap.parse_args(argv)
    ref_mod = _reference_module()
    rows = []
    for regime in REGIMES:
        for gamma in (1.0, 0.5):
            for name in ("old", "new"):
                for free, nudged in QUICK if args.quick else SCHEDULES:
                    t = time.time()
                    rows.append(measure(ref_mod, gamma, regime, name, free, nudged))
                    r = rows[-1]
                    print(
                        f"{regime:6s} gamma {gamma:g} {name} {free:2d}/{nudged:2d} ({r['steps_per_sample']:3d} steps): "
                        + " ".join(f"K{k} {c:.4f}/{q:.3f}" for k, c, q in zip(DRAWS, r["cosine"], r["norm_ratio"]))
                        + f"  beyond kinks {r['beyond_kinks']:.3f}  ({time.time() - t:.0f} s)", flush=True,
                    )
    OUT_JSON.parent.mkdir(parents=True, exist_ok=True)
    OUT_JSON.write_text(json.dumps({"command": "PYTHONPATH=. python benchmarks/stochep_bias.py" + (" --quick" if args.quick else ""), "rows": rows}, indent=1))
    plot(rows, OUT_PNG)
    print(f"wrote {OUT_JSON.relative_to(REPO)} and {OUT_PNG.relative_to(REPO)}")


if __name__ == "__main__":
    main()
