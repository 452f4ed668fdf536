"""Convergence analysis of the free phase: how many steps it needs and why (spectral radius),
for the spec's feedback factors and for others, from given (trained) weights.

Used by ``brian-ep analyze SPEC --weights W`` (:mod:`brian_ep.cli`); the figures plot the
state change per step against the step for each gamma.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .architecture import build_architecture, with_gamma
from .maths.convergence import coupling_spectral_radius, settling_steps, spectral_radius
from .report import pyplot, save_figure

__all__ = ["ConvergenceRow", "with_gamma", "convergence_rows", "recommend_free_steps", "plot_residuals", "plot_radius_vs_gamma"]


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


def convergence_rows(spec, params, x, gammas, tol=1e-6, max_steps=500, n_radius=20):
    """One :class:`ConvergenceRow` per gamma, from the same weights ``params`` and inputs ``x``
    (for a network of stochastic neurons: of its mean field, the rate network)."""
    from .meanfield import mean_field_architecture

    rows = []
    for gamma in gammas:
        arch = mean_field_architecture(build_architecture(with_gamma(spec, gamma)))
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


def plot_residuals(rows, path, tol=1e-6, title="") -> Path:
    """Median state change per step against the step, one line per gamma (log scale)."""
    plt = pyplot()
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
    plt = pyplot()
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
