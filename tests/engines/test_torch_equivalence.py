"""The torch engine computes the numpy engine's mathematics (issue 20, item 1): in float64 on
the CPU its trajectories, EP updates, trained weights, outputs and predictions equal the
numpy engine's to 1e-10 (relative to the largest weight), for every spec the numpy engine
runs in ``tests/`` (the target configurations of ``tests/brian/test_targets.py``, the small
spec of ``tests/conftest.py``, the plug-in toy model of ``tests/test_plugins.py``) and for
every spec in ``network_specs/``.

Nothing here restates an equation: the reference is the numpy engine on the same inputs.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml
torch = pytest.importorskip("torch", reason="the torch engine needs torch")
from conftest import load_module, random_problem, small_spec

from brian_ep.architecture import build_architecture
from brian_ep.engines.numpy_batched import NumpyEngine
from brian_ep.engines.torch_engine.engine import TorchEngine
from brian_ep.engines.torch_engine.tensors import params_to_torch
from brian_ep.maths import init_optim_state, initial_params
from brian_ep.maths.dynamics import relax
from brian_ep.maths.noise import noise_layers
from brian_ep.maths.phases import ep_phase_gradient
from brian_ep.spec import load_spec
from brian_ep.spec.load import spec_to_dict

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
RTOL = 1e-10


TARGETS = load_module(TESTS / "brian" / "test_targets.py", "targets_for_torch_equivalence")
#: shipped specs too slow for the default run (cifar10_crnn: ~85 s on one core), marked ``long``
LONG_SPECS = {"conv/cifar10_crnn.yaml", "conv/fashion_crnn_c64_128.yaml"}
#: a number with or without a unit ("1 ms", "0.5"): a size, a rate, a step, not a feature
QUANTITY = re.compile(r"^\s*-?[\d.]+(e-?\d+)?\s*[a-zA-Z]*\s*$")
#: keys that the tests below override (run, data, the optimiser: SGD on random inputs) or that
#: name and describe a spec
NOT_FEATURES = ("name", "description", "data.", "run.", "optim.algorithm", "optim.batch_size", "optim.shuffle")


def _flat(tree, prefix=""):
    """(dotted key, value) of a YAML tree; list positions are written ``#``."""
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _flat(v, f"{prefix}{k}.")
    elif isinstance(tree, list):
        for v in tree:
            yield from _flat(v, f"{prefix}#.")
    else:
        yield prefix[:-1], tree


def spec_features(path: Path) -> tuple:
    """What a shipped spec asks of the engines' mathematics, as written in its file: every
    non-numeric setting (mode, nudging, nudge force, readout kind and error, neuron model,
    activation, bias, read-out windows, input encoding, init scheme, schedule, each residual
    topology and each convolution's pooling, counted), whether the chain has ``gamma == 1``
    (energy weights all 1) and whether there is more than one hidden layer. Sizes, depths
    beyond 2, steps, rates and seeds are numbers and left out: two specs that differ only in
    those run the same code on other shapes."""
    raw = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    out = []
    for key, value in _flat(raw):
        if key.startswith(NOT_FEATURES):
            continue
        if key == "model.chain.gamma":
            out.append((key + " == 1", float(value) == 1.0))
        elif isinstance(value, bool) or (isinstance(value, str) and not QUANTITY.match(value)):
            out.append((key, value))
    hidden = raw["model"]["hidden"]
    out.append(("deep", (hidden.get("count", 1) if isinstance(hidden, dict) else len(hidden)) > 1))
    return tuple(sorted(out, key=repr))


def _representatives(paths):
    """One spec per distinct :func:`spec_features`, the one with the fewest parameters."""
    groups = {}
    for path in paths:
        groups.setdefault(spec_features(path), []).append(path)

    def n_params(path):
        return build_architecture(load_spec(path, overrides={"run.engine": "numpy", "run.torch": {}})).n_params()

    return {group[0] if len(group) == 1 else min(group, key=lambda p: (n_params(p), str(p))) for group in groups.values()}


def _torch_runs(path) -> bool:
    """Whether the torch engine takes the spec (it refuses event streams: their numpy / Brian2
    equality is tests/brian/test_event_input.py's)."""
    data = (yaml.safe_load(path.read_text()) or {}).get("data") or {}
    return "events" not in data and data.get("dataset") not in ("event-mnist", "events")


ALL_SPECS = [p for p in sorted((REPO / "network_specs").rglob("*.yaml")) if _torch_runs(p)]
#: the default run checks one shipped spec per distinct set of features (32 of 74); the others
#: repeat those features at other sizes or depths (fre/examples' L2..L20 of one kind, mnist and
#: fashion of one network) and run under ``-m long``, as do the LONG_SPECS
DEFAULT_SPECS = _representatives(ALL_SPECS)
SPEC_FILES = [
    p if p in DEFAULT_SPECS and str(p.relative_to(REPO / "network_specs")) not in LONG_SPECS
    else pytest.param(p, marks=pytest.mark.long)
    for p in ALL_SPECS
]


#: where the torch engine is compared: the CPU, and a GPU (eager, CUDA graphs) where there is one
RUNS = [("cpu", {})] + ([("cuda", {}), ("cuda", {"cuda_graphs": True})] if torch.cuda.is_available() else [])
#: tolerance (relative to the largest weight) per device in float64: a GPU sums in another order
TOLERANCE = {"cpu": RTOL, "cuda": 1e-9}


def _torch_spec(spec, device="cpu", **options):
    """``spec`` on the torch engine in float64 on ``device``."""
    overrides = {"run.engine": "torch", "run.dtype": "float64", "run.torch": {"device": device, **options}}
    return load_spec(spec_to_dict(spec), overrides=overrides)


def assert_close(got, want, scale, what, rtol=RTOL):
    if isinstance(want, tuple):  # a neuron model's state of several arrays (named fields)
        for name, a, b in zip(getattr(want, "_fields", range(len(want))), got, want):
            assert_close(a, b, scale, f"{what}.{name}", rtol)
        return
    got = got.detach().cpu().numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    np.testing.assert_allclose(got, want, rtol=0, atol=rtol * max(scale, 1.0), err_msg=what)


def assert_same_params(got, want, what="", rtol=RTOL):
    scale = max(float(np.max(np.abs(v))) for v in want.W.values())
    for kind in ("W", "b"):
        a, b = getattr(got, kind), getattr(want, kind)
        assert a.keys() == b.keys()
        for k in b:
            assert_close(a[k], b[k], scale, f"{what} {kind}:{k}", rtol)


def _phases_agree(spec, arch, params, x, y, signs, noise=lambda: None):
    """Free trajectory step by step, the phases' final states and the EP update; ``noise()``
    makes a fresh noise source for each engine (the same numbers), for stochastic models."""
    tp = params_to_torch(params, torch.float64)
    tx, ty = torch.tensor(x), torch.tensor(y)
    _, traj_np = relax(arch, params, x, spec.ep.free_steps, trajectory=True, noise=noise())
    _, traj_t = relax(arch, tp, tx, spec.ep.free_steps, trajectory=True, noise=noise())
    for t, (a, b) in enumerate(zip(traj_t, traj_np)):
        for k in b:
            assert_close(a[k], b[k], 1.0, f"free step {t + 1}, layer {k}")
    g_np, ph_np = ep_phase_gradient(arch, params, x, y, spec.ep, signs, noise())
    g_t, ph_t = ep_phase_gradient(arch, tp, tx, ty, spec.ep, None if signs is None else torch.tensor(signs), noise())
    for phase in ("u_free", "u_a", "u_b"):
        for k, v in getattr(ph_np, phase).items():
            assert_close(getattr(ph_t, phase)[k], v, 1.0, f"{phase} {k}")
    assert_same_params(g_t, g_np, "EP update")
    assert max(float(np.max(np.abs(v))) for v in g_np.W.values()) > 1e-6  # a real update is compared


class HostNoise:
    """Uniform numbers from one numpy generator, handed to numpy or torch alike (the same
    numbers for both engines' maths)."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def __call__(self, layer, like):
        draw = self.rng.random(tuple(like.shape))
        return torch.from_numpy(draw) if isinstance(like, torch.Tensor) else draw


def _train_both(spec, x, y, signs, x_test, chunks=(60,), learned=1e-3, device="cpu", **options):
    """The numpy and the torch engine from the same weights, over the same chunks."""
    arch = build_architecture(spec)
    params = initial_params(arch, 0)
    results = []
    rtol = TOLERANCE[device]
    for engine_cls, s in ((NumpyEngine, spec), (TorchEngine, _torch_spec(spec, device, **options))):
        engine = engine_cls(s, arch, params, init_optim_state(params))
        bounds = [0, *chunks, x.shape[0]]
        outs = [engine.train_chunk(x[a:b], y[a:b], None if signs is None else signs[a:b]).outputs for a, b in zip(bounds, bounds[1:])]
        results.append((engine.get_params(), np.concatenate(outs), engine.predict(x_test)))
    (p_np, o_np, pred_np), (p_t, o_t, pred_t) = results
    assert p_np.max_abs_diff(params) > learned, "the network did not learn: the comparison would be vacuous"
    assert_same_params(p_t, p_np, "trained", rtol)
    np.testing.assert_allclose(o_t, o_np, rtol=0, atol=rtol)
    np.testing.assert_allclose(pred_t, pred_np, rtol=0, atol=rtol)


@pytest.fixture(scope="module")
def digits():
    return TARGETS._data()


@pytest.mark.parametrize("config", sorted(TARGETS.CONFIGS))
def test_target_configs_trajectories_and_updates(config, digits):
    spec = TARGETS._spec(**TARGETS.CONFIGS[config])
    arch = build_architecture(spec)
    x, y, signs, _ = digits
    _phases_agree(spec, arch, initial_params(arch, 0), x[:9], y[:9], signs[:9])


@pytest.mark.parametrize("where", RUNS, ids=lambda w: "-".join([w[0], *w[1]]))
@pytest.mark.parametrize("config", sorted(TARGETS.CONFIGS))
def test_target_configs_train_alike(config, where, digits):
    """100 digits in two chunks (as in the Brian2 target tests): same weights, outputs,
    predictions; on a GPU also replayed from CUDA graphs."""
    x, y, signs, x_test = digits
    device, options = where
    _train_both(TARGETS._spec(**TARGETS.CONFIGS[config]), x[:100], y[:100], signs[:100], x_test[:20], device=device,
                **options)


@pytest.mark.parametrize("over", [{}, {"ep__nudging": "positive"}, {"ep__mode": "vector_field", "model__chain__gamma": 0.5}])
def test_conftest_small_spec(over):
    spec = small_spec(**over)
    arch, params, x, y = random_problem(spec, seed=5, n=6)
    _phases_agree(spec, arch, params, x, y, None)


def test_plugin_toy_neuron_model():
    plugins = load_module(TESTS / "test_plugins.py", "plugins_for_torch_equivalence")
    from brian_ep.neurons import register_neuron_model, unregister_neuron_model

    model = register_neuron_model(plugins.LeakySoftsign())
    try:
        spec = plugins.tiny(**{"optim.batch_size": 4})
        x, y, _, x_test = TARGETS._data()
        _train_both(spec, x[:40], y[:40], None, x_test[:10], chunks=(20,))
    finally:
        unregister_neuron_model(model.name)


def _spec_case(path):
    """A shipped spec as the tests below run it (float64, mini-batches of at most 4, shorter
    phases unless the spec is stochastic), two mini-batches of random inputs, and whether it is
    stochastic."""
    spec = load_spec(path, overrides={"run.engine": "numpy", "run.torch": {}})
    bs = min(spec.optim.batch_size, 4)
    stochastic = bool(noise_layers(build_architecture(spec)))
    overrides = {"run.engine": "numpy", "run.dtype": "float64", "optim.batch_size": bs, "run.torch": {}}
    if not stochastic:  # spiking specs keep their phases: their counting windows fill them
        overrides.update({"ep.free_steps": 6, "ep.nudged_steps": 3})
    spec = load_spec(path, overrides=overrides)
    arch = build_architecture(spec)
    n = 2 * bs
    rng = np.random.default_rng(1)
    x = rng.random((n, arch.input.size))
    y = np.eye(arch.output.size)[rng.integers(0, arch.output.size, n)]
    signs = rng.choice([-1.0, 1.0], n)
    return spec, overrides, x, y, signs, stochastic


def _train_spec_both(path, overrides, x, y, signs, device="cpu"):
    """Two mini-batches of SGD training of the spec on the numpy and the torch engine."""
    sgd = load_spec(path, overrides={**overrides, "optim.algorithm": "sgd", "optim.lr_scale": 10.0, "run.torch": {}})
    _train_both(sgd, x, y, signs, x[:3], chunks=(), learned=1e-6, device=device)


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: str(p.relative_to(REPO / "network_specs")))
def test_network_specs(path):
    """Every shipped spec (its layers, projections, modes, nudging; shorter phases and
    mini-batches of at most 4, in float64) on random inputs: the phases and the EP update of
    one mini-batch, then two mini-batches of training. The training uses SGD: Adam's first
    step divides the update by its own size (``g / (|g| + 1e-8)``), which turns a rounding
    difference of 1e-17 in a near-zero update into 1e-12 of weight; Adam itself is compared
    in the target configurations above."""
    spec, overrides, x, y, signs, stochastic = _spec_case(path)
    bs, arch = spec.optim.batch_size, build_architecture(spec)
    _phases_agree(spec, arch, initial_params(arch, 0), x[:bs], y[:bs], signs[:bs], lambda: HostNoise(7) if stochastic else None)
    if stochastic:  # engines draw from generators of their own; same-noise training: test_torch_engine.py
        return
    _train_spec_both(path, overrides, x, y, signs)


def _deterministic(path) -> bool:
    return not noise_layers(build_architecture(load_spec(path, overrides={"run.engine": "numpy", "run.torch": {}})))


#: the deterministic shipped specs again on a GPU, where there is one (stochastic specs: the
#: engines draw from generators of their own; without a GPU the list is empty, one skip)
CUDA_SPEC_FILES = [p for p in SPEC_FILES if isinstance(p, Path) and _deterministic(p)] if torch.cuda.is_available() else []


@pytest.mark.parametrize("path", CUDA_SPEC_FILES, ids=lambda p: str(p.relative_to(REPO / "network_specs")))
def test_network_specs_on_cuda(path):
    """Two mini-batches of training of every deterministic shipped spec (as above) on CUDA in
    float64 against the numpy engine, to the GPU's tolerance (another summation order)."""
    _, overrides, x, y, signs, _ = _spec_case(path)
    _train_spec_both(path, overrides, x, y, signs, device="cuda")
