"""The snntorch baseline (``run.engine: bptt_snn``): the LIF recurrence and the surrogate
derivative recomputed by hand, the loss against snntorch's own, seeded rate coding, learning
through :func:`brian_ep.train` and an ordinary run directory."""

from __future__ import annotations

import math

import numpy as np
import pytest

from brian_ep.architecture import build_architecture
from brian_ep.maths.optim import init_optim_state
from brian_ep.maths.params import Params, initial_params
from brian_ep.spec import load_spec

torch = pytest.importorskip("torch", reason="the snn baseline needs torch")
pytest.importorskip("snntorch", reason="the snn baseline needs snntorch")

from brian_ep.baselines.snn import SnnEngine  # noqa: E402

pytestmark = pytest.mark.codegen_independent


def _spec(sizes=(6, 5, 3), **over):
    base = {
        "model": {
            "input": {"size": sizes[0]},
            "hidden": [{"size": s} for s in sizes[1:-1]],
            "output": {"size": sizes[-1]},
            "chain": {"lr": 0.002},
            "readout": {"kind": "softmax"},
        },
        "optim": {"algorithm": "adam", "batch_size": 16},
        "data": {"dataset": "digits", "n_train": 320, "n_test": 200},
        "run": {"engine": "bptt_snn", "epochs": 2, "seed": 1, "bptt_snn": {"steps": 7}},
    }
    return load_spec(base, overrides=over)


def _engine(spec, params=None):
    arch = build_architecture(spec)
    params = initial_params(arch, spec.run.seed) if params is None else params
    return SnnEngine(spec, arch, params, init_optim_state(params))


def _lif_by_hand(current, beta, theta, steps):
    """``U[t] = beta U[t-1] + I[t] - theta S[t-1]``, ``S[t] = U[t] > theta``, from U = 0;
    ``current`` is ``(n_samples, n)`` (the same at every step) or ``(steps, n_samples, n)``."""
    u = np.zeros(current.shape[-2:])
    s = np.zeros_like(u)
    spikes, mems = [], []
    for t in range(steps):
        i_t = current if current.ndim == 2 else current[t]
        u = beta * u + i_t - theta * s
        s = (u > theta).astype(float)
        spikes.append(s)
        mems.append(u)
    return np.array(spikes), np.array(mems)


def test_lif_layers_follow_the_recurrence_by_hand():
    spec = _spec(**{"run.dtype": "float64", "run.bptt_snn": {"steps": 9, "beta": 0.8, "threshold": 0.7}})
    rng = np.random.default_rng(0)
    arch = build_architecture(spec)
    params = initial_params(arch, 0)
    params = Params({k: rng.uniform(-0.4, 0.6, v.shape) for k, v in params.W.items()}, {k: rng.normal(0, 0.3, v.shape) for k, v in params.b.items()})
    x = rng.random((4, 6))
    engine = _engine(spec, params)
    spk, mem = engine._simulate(engine.weights, torch.tensor(x), None)
    s1, _ = _lif_by_hand(x @ params.W["input_h1"] + params.b["h1"], 0.8, 0.7, 9)
    out_name = [p.name for p in arch.all_projections if p.kind == "readout"][0]
    s2, u2 = _lif_by_hand(s1 @ params.W[out_name], 0.8, 0.7, 9)
    assert 0 < s1.sum() < s1.size and 0 < s2.sum() < s2.size  # the check needs spikes and silences
    np.testing.assert_array_equal(spk.numpy(), s2)
    np.testing.assert_allclose(mem.numpy(), u2, rtol=0, atol=1e-6)  # snntorch keeps beta in float32


@pytest.mark.parametrize("surrogate,slope", [("atan", 3.0), ("fast_sigmoid", 10.0)])
def test_surrogate_derivative_is_the_options(surrogate, slope):
    """One step, one layer: dS/dW_ij = x_i * g'(U_j - theta) with the surrogate's formula."""
    spec = _spec(sizes=(4, 3), **{"model.readout.kind": "none", "run.dtype": "float64", "run.bptt_snn": {"steps": 1, "surrogate": surrogate, "slope": slope, "threshold": 0.5}})
    engine = _engine(spec)
    x = torch.tensor([[0.2, 0.9, 0.4, 0.7]], dtype=torch.float64)
    W = engine.weights.W["input_output"].clone().requires_grad_(True)
    spk, _ = engine._simulate(Params({"input_output": W}, {}), x, None)
    spk.sum().backward()
    u = (x @ W).detach().numpy()[0] - 0.5
    if surrogate == "atan":
        d = (slope / 2) / (1 + (math.pi / 2 * slope * u) ** 2)
    else:
        d = 1.0 / (slope * np.abs(u) + 1.0) ** 2
    np.testing.assert_allclose(W.grad.numpy(), np.outer(x.numpy()[0], d), rtol=1e-12)


def test_rate_loss_is_snntorchs():
    import snntorch.functional as SF

    spec = _spec(**{"run.dtype": "float64", "run.bptt_snn": {"steps": 5, "loss": "rate_ce"}})
    engine = _engine(spec)
    rng = np.random.default_rng(2)
    x, labels = torch.tensor(rng.random((8, 6)) * 3), torch.tensor(rng.integers(0, 3, 8))
    loss, _ = engine._batch_loss(engine.weights, x, torch.eye(3, dtype=torch.float64)[labels])
    spk, _ = engine._simulate(engine.weights, x, None)
    assert float(loss) == pytest.approx(float(SF.ce_rate_loss()(spk, labels)), rel=1e-6)


def test_rate_coding_is_seeded_and_counted():
    spec = _spec(**{"run.bptt_snn": {"steps": 20, "input": "rate"}})
    rng = np.random.default_rng(3)
    x = rng.random((32, 6))
    y = np.eye(3)[rng.integers(0, 3, 32)]
    runs = {}
    for seed in (1, 1, 2):
        engine = _engine(load_spec(spec, {"run.seed": seed}))
        result = engine.train_chunk(x, y)
        runs.setdefault(seed, []).append((engine.get_params(), result.spikes))
    (p_a, spikes_a), (p_b, _) = runs[1]
    assert p_a.max_abs_diff(p_b) == 0.0
    assert runs[2][0][0].max_abs_diff(p_a) > 0
    expected = 20 * x.sum()  # Bernoulli spikes of probability x at each of 20 steps
    assert abs(spikes_a["input"] - expected) < 4 * math.sqrt(expected)
    assert set(spikes_a) == {"input", "h1", "output"}


def test_learns_digits_and_writes_an_ordinary_run_directory(tmp_path):
    from brian_ep.train import evaluate, train

    spec = _spec(sizes=(64, 64, 10), **{"run.dtype": "float32", "model.chain.lr": 0.01, "model.chain.init": {"scheme": "fan_in_uniform"}})
    result = train(spec, out=tmp_path / "run", progress=False)
    rows = result.metrics["epochs"]
    assert rows[-1]["test_accuracy"] > 0.7
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    saved = Params.load(tmp_path / "run" / "weights.npz")
    init = initial_params(build_architecture(spec), spec.run.seed)
    assert {k: v.shape for k, v in saved.W.items()} == {k: v.shape for k, v in init.W.items()}
    assert set(saved.b) == set(init.b)
    assert evaluate(load_spec(tmp_path / "run" / "spec.yaml"), saved) == pytest.approx(rows[-1]["test_accuracy"])
