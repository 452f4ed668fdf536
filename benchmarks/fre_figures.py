"""All FRE-RNN figures from the results of ``benchmarks/fre_experiments.py``, in one command.

    python benchmarks/fre_figures.py     # reads docs/results/fre/*.json, writes docs/figures/fre_*.png

* ``fre_residual_vs_step.png``: median state change per free-phase step for each gamma
  (one panel per depth and mode), trained weights, MNIST test set;
* ``fre_radius_vs_gamma.png``: spectral radius of the step Jacobian at the fixed point and of
  the coupling matrix against gamma;
* ``fre_accuracy_vs_depth.png``: final test accuracy against depth, EP with and without
  residual skips and BP;
* ``fre_headline.png``: test accuracy per epoch of the 2 x 512 headline runs (seeds, variants).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def residual_figure(rows, path, tol=1e-6):
    groups = sorted({(r["hidden_layers"], r["mode"]) for r in rows if r["status"] == "ok"})
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.6), squeeze=False)
    for ax, (L, mode) in zip(axes[0], groups):
        longest = 1
        for r in rows:
            if (r["hidden_layers"], r["mode"]) != (L, mode) or r["status"] != "ok":
                continue
            curve = [max(c, 1e-300) for c in r["median_change"]]
            ax.semilogy(range(1, len(curve) + 1), curve, label=f"gamma {r['gamma']:g}")
            longest = max(longest, next((i + 1 for i, c in enumerate(curve) if c < 1e-12), len(curve)))
        ax.set_xlim(0, 1.1 * longest)
        ax.axhline(tol, color="k", ls=":", lw=1)
        ax.set_ylim(1e-12, 1e2)
        ax.set_title(f"{L} hidden, {mode.replace('_', '-')}", fontsize=9)
        ax.set_xlabel("free-phase step")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("median |u(t) - u(t-1)|")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def radius_figure(rows, path):
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    groups = sorted({(r["hidden_layers"], r["mode"]) for r in rows if r["status"] == "ok"})
    for k, (L, mode) in enumerate(groups):
        sel = sorted((r for r in rows if (r["hidden_layers"], r["mode"]) == (L, mode) and r["status"] == "ok"), key=lambda r: r["gamma"])
        g = [r["gamma"] for r in sel]
        ax.semilogx(g, [r["radius_J"] for r in sel], "o-", color=f"C{k}", label=f"{L} hidden, {mode.replace('_', '-')}: step Jacobian")
        ax.semilogx(g, [r["radius_M"] for r in sel], "s:", color=f"C{k}", alpha=0.6, label=f"{L} hidden, {mode.replace('_', '-')}: coupling")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xlabel("feedback factor gamma")
    ax.set_ylabel("spectral radius (trained weights)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=6.5)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def depth_figure(rows, path, variants=()):
    """Final-epoch accuracy against depth (the depth table), with the protocol variants of
    ``depth_variants.json`` as separate markers (mean +- std over their seeds)."""
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    methods = sorted({r["method"] for r in rows})
    for k, method in enumerate(methods):
        sel = sorted((r for r in rows if r["method"] == method and r["status"] == "ok"), key=lambda r: r["hidden_layers"])
        ax.plot([r["hidden_layers"] for r in sel], [100 * r["test_accuracy"] for r in sel], "o-", color=f"C{k}", label=method)
    markers = "sD^v<>"
    specs = [s for s in dict.fromkeys(r["spec"] for r in variants)
             if any(r["spec"] == s and r["ep_test_accuracy"] is not None for r in variants)]
    colours = plt.get_cmap("tab20b")(np.linspace(0, 1, max(len(specs), 2)))  # apart from the tab10 lines
    at_depth = {}
    for k, spec in enumerate(specs):
        sel = [r for r in variants if r["spec"] == spec and r["ep_test_accuracy"] is not None]
        depth = sel[0]["hidden_layers"]
        x = depth + 0.25 * at_depth.get(depth, 0)  # side by side where several variants share a depth
        at_depth[depth] = at_depth.get(depth, 0) + 1
        acc = 100 * np.array([r["ep_test_accuracy"] for r in sel])
        ax.errorbar(x, acc.mean(), yerr=acc.std(ddof=1) if len(acc) > 1 else None, fmt=markers[k % len(markers)],
                    color=colours[k], ms=5, capsize=3, label=f"EP, {Path(spec).stem} ({len(acc)} seed{'s' if len(acc) > 1 else ''}, {sel[0]['epochs']} ep)")
    ax.set_xlabel("hidden layers (64 neurons each)")
    ax.set_ylabel("final-epoch test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=5.5)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def headline_figure(rows, path):
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    lowest = 100.0
    for r in (r for r in rows if r["status"] == "ok"):
        curve = [100 * a for a in r["curve"]]
        lowest = min(lowest, min(curve))
        label = f"{Path(r['spec']).stem}, seed {r['seed']}: {curve[-1]:.2f}%"
        ax.plot(range(1, len(curve) + 1), curve, "o-", ms=2, lw=1, label=label)
    ax.axhline(98.2, color="k", ls=":", lw=1, label="target 98.2% (final epoch)")
    ax.set_ylim(max(90, lowest - 0.5), 99)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("FRE-RNN 784-512-512-10, authors' mode: final-epoch accuracy in the legend", fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6.5, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", default="docs/results/fre")
    parser.add_argument("--out", default="docs/figures")
    args = parser.parse_args(argv)
    res, out = Path(args.results), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    made = []
    if (res / "steps.json").exists():
        rows = json.loads((res / "steps.json").read_text())
        residual_figure(rows, out / "fre_residual_vs_step.png")
        radius_figure(rows, out / "fre_radius_vs_gamma.png")
        made += ["fre_residual_vs_step.png", "fre_radius_vs_gamma.png"]
    if (res / "depth.json").exists():
        variants = json.loads((res / "depth_variants.json").read_text()) if (res / "depth_variants.json").exists() else []
        depth_figure(json.loads((res / "depth.json").read_text()), out / "fre_accuracy_vs_depth.png", variants)
        made.append("fre_accuracy_vs_depth.png")
    if (res / "headline.json").exists():
        headline_figure(json.loads((res / "headline.json").read_text()), out / "fre_headline.png")
        made.append("fre_headline.png")
    for name in made:
        print(out / name)
    if not made:
        print(f"no results in {res}: run benchmarks/fre_experiments.py first")


if __name__ == "__main__":
    main()
