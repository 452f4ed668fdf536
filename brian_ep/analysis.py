"""Convergence analysis of the free phase: how many steps it needs and why (spectral radius),
for the spec's feedback factors and for others, from given (trained) weights.

Used by ``brian-ep analyze SPEC --weights W``; the figures plot the state change per step
against the step for each gamma.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .architecture import build_architecture
from .maths.convergence import coupling_spectral_radius, settling_steps, spectral_radius
from .report import save_figure

__all__ = ["ConvergenceRow", "with_gamma", "convergence_rows", "recommend_free_steps", "plot_residuals", "plot_radius_vs_gamma", "analyze_command"]


@dataclass
class ConvergenceRow:
    """Convergence of the free phase for one gamma."""

    gamma: float
    median_steps: float
    p90_steps: float
    converged: float  # fraction of samples that reached the tolerance
    radius: float  # median spectral radius of the one-step Jacobian at the end state
    coupling_radius: float  # spectral radius of the coupling matrix (weights and gammas only)
    median_change: np.ndarray  # median state change per step (for plotting)

    def as_dict(self):
        d = dict(self.__dict__)
        d.pop("median_change")
        return d


def with_gamma(spec, gamma: float):
    """The same spec with every feedback factor set from ``gamma``: the chain gets ``gamma``;
    skips get ``auto`` in exact mode (the consistent value) and ``gamma`` in vector-field mode."""
    from .spec.load import load_spec, spec_to_dict

    data = spec_to_dict(spec)
    data["model"]["chain"]["gamma"] = float(gamma)
    exact = spec.ep.mode == "exact"
    for res in data["model"].get("residual", []):
        res["gamma"] = "auto" if exact else float(gamma)
    for proj in data["model"].get("projections", []):
        proj["gamma"] = "auto" if exact else float(gamma)
    return load_spec(data)


def convergence_rows(spec, params, x, gammas, tol=1e-6, max_steps=500, n_radius=20):
    """One :class:`ConvergenceRow` per gamma, from the same weights ``params`` and inputs ``x``."""
    rows = []
    for gamma in gammas:
        arch = build_architecture(with_gamma(spec, gamma))
        steps, change, u = settling_steps(arch, params, x, tol=tol, max_steps=max_steps)
        done = steps <= max_steps
        radius = spectral_radius(arch, params, u, samples=range(min(n_radius, x.shape[0])))
        rows.append(
            ConvergenceRow(
                gamma=float(gamma),
                median_steps=float(np.median(steps)),
                p90_steps=float(np.percentile(steps, 90)),
                converged=float(np.mean(done)),
                radius=float(np.median(radius)),
                coupling_radius=coupling_spectral_radius(arch, params),
                median_change=np.median(change, axis=1),
            )
        )
    return rows


def recommend_free_steps(row: ConvergenceRow, margin: float = 1.2) -> int | None:
    """A free-phase length that lets 90% of samples reach the tolerance, with a margin."""
    if row.converged < 0.9:
        return None
    return int(math.ceil(margin * row.p90_steps))


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_residuals(rows, path, tol=1e-6, title="") -> Path:
    """Median state change per step against the step, one line per gamma (log scale)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for row in rows:
        ax.semilogy(np.arange(1, len(row.median_change) + 1), np.maximum(row.median_change, 1e-300), label=f"gamma = {row.gamma:g}")
    ax.axhline(tol, color="k", ls=":", lw=1, label=f"tolerance {tol:g}")
    ax.set_xlabel("free-phase step")
    ax.set_ylabel("median |u(t) - u(t-1)|")
    ax.set_ylim(bottom=max(1e-16, tol * 1e-4))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def plot_radius_vs_gamma(rows, path, title="") -> Path:
    """Spectral radius of the step Jacobian and of the coupling matrix against gamma."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    g = [r.gamma for r in rows]
    ax.semilogx(g, [r.radius for r in rows], "o-", label="step Jacobian at the fixed point")
    ax.semilogx(g, [r.coupling_radius for r in rows], "s--", label="coupling matrix (weights x gamma)")
    ax.axhline(1.0, color="k", lw=0.8, ls=":")
    ax.set_xlabel("feedback factor gamma")
    ax.set_ylabel("spectral radius")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def analyze_command(args) -> int:
    """``brian-ep analyze``: print spectral radius and steps to tolerance per gamma, recommend a
    free-phase length for the spec's gamma, and plot the residuals."""
    from .cli import _ArgumentError, _overrides
    from .maths.params import Params, init_params
    from .spec import load_spec
    from .train import prepare_data

    spec = load_spec(args.spec, _overrides(args))
    arch = build_architecture(spec)
    if args.weights:
        if not Path(args.weights).is_file():
            raise _ArgumentError(f"weights file '{args.weights}' not found")
        params = Params.load(args.weights)
        missing = sorted({p.name for p in arch.all_projections} - set(params.W))
        if missing:
            raise _ArgumentError(f"weights file '{args.weights}' has no weights for projection(s) {', '.join(missing)} of this spec")
        source = args.weights
    else:
        params = init_params(arch, np.random.default_rng([spec.run.seed, 0]))
        source = f"initial weights (seed {spec.run.seed})"
    try:
        gammas = [float(g) for g in args.gammas.split(",") if g.strip()]
    except ValueError:
        raise _ArgumentError(f"--gammas expects numbers separated by commas, got '{args.gammas}'") from None
    if any(not (0 < g <= 1) for g in gammas):
        raise _ArgumentError(f"--gammas must lie in (0, 1], got '{args.gammas}'")
    _, _, (x_test, _) = prepare_data(spec)
    x = x_test[: args.samples]
    spec_gamma = arch.projections[-1].gamma if arch.projections else 1.0
    if spec_gamma not in gammas:
        gammas = sorted(set(gammas + [spec_gamma]), reverse=True)
    rows = convergence_rows(spec, params, x, gammas, tol=args.tol, max_steps=args.max_steps)
    print(f"{spec.name}: {spec.ep.mode} mode, {source}, {x.shape[0]} test samples, tolerance {args.tol:g}")
    print(f"{'gamma':>8s} {'median steps':>13s} {'90% steps':>10s} {'converged':>10s} {'rho(J)':>8s} {'rho(M)':>8s}")
    for r in rows:
        print(f"{r.gamma:8g} {r.median_steps:13.0f} {r.p90_steps:10.0f} {100 * r.converged:9.1f}% {r.radius:8.4f} {r.coupling_radius:8.3f}")
    mine = next(r for r in rows if r.gamma == spec_gamma)
    rec = recommend_free_steps(mine)
    if rec is None:
        print(f"recommendation: with gamma = {spec_gamma:g} fewer than 90% of samples converge within {args.max_steps} steps; lower gamma or the learning rates")
    else:
        print(f"recommendation: ep.free_steps: {rec} (spec has {spec.ep.free_steps}) for gamma = {spec_gamma:g}")
    out = Path(args.out) if args.out else Path(".")
    fig = plot_residuals(rows, out / f"{spec.name}_residuals.png", tol=args.tol, title=f"{spec.name} ({spec.ep.mode})")
    plot_radius_vs_gamma(rows, out / f"{spec.name}_radius.png", title=f"{spec.name} ({spec.ep.mode})")
    print(f"figures: {fig} and {out / f'{spec.name}_radius.png'}")
    return 0
