"""The runnable example of docs/brian.md (your own device, equations, monitors and weights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import load_module

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name):
    return load_module(EXAMPLES / f"{name}.py", name)


def test_own_brian2_script_example_runs(tmp_path):
    from brian2 import prefs

    previous = prefs.codegen.target
    try:
        net, rates, drive = _load("06_own_brian2_script").main(["--samples", "6", "--out", str(tmp_path)])
    finally:
        prefs.codegen.target = previous
    assert "0.5 * lr" in net.code["input_h1.learn"]
    assert rates.shape == (3, int(round(float(net.duration / net.dt))))
    assert np.all(np.isfinite(drive)) and np.any(drive != 0)
    assert (tmp_path / "hidden_rates.png").read_bytes()[:4] == b"\x89PNG"


def test_brunel_network_drives_an_ep_network_that_learns(tmp_path):
    """examples/07: Brunel's E population as the learned input; online accuracy well above
    chance (25%) after 200 windows (deterministic: Brian2's and numpy's seeds)."""
    first, last = _load("07_brunel_to_ep").main(["--windows", "200", "--out", str(tmp_path)])
    assert last > 50 and last > first
    assert (tmp_path / "brunel_to_ep.png").stat().st_size > 10_000


def test_physiological_raster_example_runs(tmp_path):
    """examples/08: one digit through the physiological StochEP spec in Brian2 (initial
    weights); every hidden layer spikes in every phase, below its 100 Hz bound."""
    from brian2 import prefs

    previous = prefs.codegen.target
    try:
        rates = _load("08_stochep_physiological").main(["--out", str(tmp_path / "raster.png")])
    finally:
        prefs.codegen.target = previous
    assert set(rates) == {(name, phase) for name in ("h1", "h2") for phase in ("free", "+beta", "-beta")}
    assert all(n > 0 and 0.0 < hz <= 100.0 for n, hz in rates.values()), rates
    assert (tmp_path / "raster.png").stat().st_size > 10_000
