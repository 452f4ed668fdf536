"""Convergence analysis: steps to tolerance, spectral radius, and `brian-ep analyze`."""

import numpy as np
import pytest
from conftest import small_spec

from brian_ep import maths
from brian_ep.analysis import convergence_rows, recommend_free_steps, with_gamma
from brian_ep.architecture import build_architecture
from brian_ep.cli import main


def _problem(gamma=1.0, n=20, mode="exact", **over):
    spec = small_spec(model__chain__gamma=gamma, ep__mode=mode, ep__dt="1 ms", model__chain__init={"gain": 2.5}, **over)
    arch = build_architecture(spec)
    rng = np.random.default_rng(0)
    params = maths.init_params(arch, rng)
    x = rng.random((n, arch.input.size))
    return spec, arch, params, x


def test_settling_steps_match_the_spectral_radius():
    """Near the fixed point the change per step shrinks by rho(J) per step."""
    spec, arch, params, x = _problem(gamma=0.5)
    steps, change, u = maths.settling_steps(arch, params, x, tol=1e-10, max_steps=2000)
    assert np.all(steps <= 2000)
    radius = maths.spectral_radius(arch, params, u)
    k = 0
    tail = change[steps[k] - 20 : steps[k] - 5, k]
    observed = np.exp(np.mean(np.diff(np.log(tail))))
    assert observed == pytest.approx(radius[k], rel=0.02)


def test_smaller_gamma_settles_in_fewer_steps():
    spec, _, params, x = _problem()
    rows = convergence_rows(spec, params, x, gammas=[1.0, 0.5, 0.1, 0.01])
    steps = [r.median_steps for r in rows]
    radii = [r.radius for r in rows]
    assert steps == sorted(steps, reverse=True) and steps[0] > steps[-1]
    assert radii == sorted(radii, reverse=True)
    assert all(r.converged == 1.0 for r in rows[1:])
    assert recommend_free_steps(rows[-1]) == int(np.ceil(1.2 * rows[-1].p90_steps))


def test_with_gamma_keeps_exact_skips_consistent():
    spec = small_spec(
        model__hidden={"count": 4, "size": 3},
        model__chain__gamma=0.5,
        model__residual=[{"topology": "dense_every", "k": 3}],
    )
    arch = build_architecture(with_gamma(spec, 0.2))
    skip = arch.projection("h1_h4")
    assert skip.gamma == pytest.approx(0.2**3)
    vf = build_architecture(with_gamma(small_spec(ep__mode="vector_field", model__hidden={"count": 4, "size": 3},
                                                  model__residual=[{"topology": "dense_every", "k": 3}]), 0.2))
    assert vf.projection("h1_h4").gamma == pytest.approx(0.2)


def test_analyze_command_prints_table_recommends_and_plots(tmp_path, capsys):
    spec_file = tmp_path / "net.yaml"
    spec_file.write_text(
        """
name: tiny
model:
  input: {size: 64}
  hidden: [{size: 12}, {size: 12}]
  output: {size: 10}
  neuron: {activation: sigmoid, tau: 1 ms}
  chain: {gamma: 0.5, init: {gain: 2.0}}
ep: {dt: 1 ms, free_steps: 30, nudged_steps: 5}
data: {dataset: digits}
"""
    )
    assert main(["analyze", str(spec_file), "--samples", "20", "--gammas", "1,0.1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "median steps" in out and "rho(J)" in out
    assert "recommendation: ep.free_steps:" in out
    lines = [line.split() for line in out.splitlines() if line.strip() and line.split()[0] in ("1", "0.5", "0.1")]
    assert [float(parts[0]) for parts in lines] == [1.0, 0.5, 0.1]  # the spec's own gamma is added
    for name in ("tiny_residuals.png", "tiny_radius.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_analyze_rejects_bad_arguments(tmp_path, capsys):
    assert main(["analyze", "network_specs/digits.yaml", "--gammas", "1,abc"]) == 2
    assert "--gammas" in capsys.readouterr().err
    assert main(["analyze", "network_specs/digits.yaml", "--weights", str(tmp_path / "none.npz")]) == 2
    assert "not found" in capsys.readouterr().err
