"""Time-varying input in the maths and the numpy engine: bins presented in order through the
free phase, the nudged phases and the EP rule on the held input (brian_ep.maths.stream)."""

import numpy as np
import pytest
from conftest import small_spec

import brian_ep
from brian_ep.architecture import build_architecture
from brian_ep.data import Dataset, one_hot
from brian_ep.errors import DataError, SpecError
from brian_ep.events import make_events
from brian_ep.events.dataset import EventSet, binned_dataset
from brian_ep.maths.dynamics import input_drive, relax
from brian_ep.maths.gradients import ep_gradient
from brian_ep.maths.params import initial_params
from brian_ep.maths.phases import ep_phase_gradient, run_phases
from brian_ep.maths.stream import Stream, stream_of
from brian_ep.splits import prepare_data

pytestmark = pytest.mark.codegen_independent

BINS, BIN_STEPS, FREE = 3, 4, 20


def stream_spec(**over):
    events = {"bins": BINS, "bin_steps": BIN_STEPS, **over.pop("events", {})}
    return small_spec(data__dataset="events", data__events=events, ep__free_steps=FREE, ep__nudging="centered", **over)


def problem(spec, n=4, seed=0):
    arch = build_architecture(spec)
    rng = np.random.default_rng(seed)
    x = rng.random((n, BINS * arch.input.size))
    y = np.eye(arch.output.size)[rng.integers(0, arch.output.size, n)]
    return arch, initial_params(arch, seed), x, y


def test_stream_of_the_spec_and_its_step_bins():
    s = stream_of(stream_spec())
    assert s == Stream(BINS, BIN_STEPS, "last")
    assert s.step_bins(FREE) == [0] * 4 + [1] * 4 + [2] * 4 + [None] * 8
    assert stream_of(stream_spec(events={"bin_steps": None})).bin_steps == FREE // BINS
    assert stream_of(small_spec()) is None


@pytest.mark.parametrize("hold", ["last", "mean"])
def test_free_phase_is_the_bins_relaxed_in_order_then_the_held_input(hold):
    spec = stream_spec(events={"hold": hold})
    arch, params, x, y = problem(spec)
    stream = stream_of(spec)
    frames = x.reshape(len(x), BINS, -1)
    held = frames[:, -1] if hold == "last" else frames.mean(axis=1)
    u = None
    for b in range(BINS):  # by hand: one relaxation per bin, each from where the last stopped
        u = relax(arch, params, frames[:, b], BIN_STEPS, u0=u)
    u = relax(arch, params, held, FREE - BINS * BIN_STEPS, u0=u)
    ph = run_phases(arch, params, x, y, spec.ep, stream=stream)
    for name in u:
        np.testing.assert_allclose(ph.u_free[name], u[name], rtol=0, atol=1e-12)
    # the nudged phases start from the free state and hold the held input
    u_a = relax(arch, params, held, spec.ep.nudged_steps, u0=ph.u_free, y=y, beta=spec.ep.beta)
    for name in u:
        np.testing.assert_allclose(ph.u_a[name], u_a[name], rtol=0, atol=1e-12)
    # the EP rule of the input projection reads the held input
    grads, _ = ep_phase_gradient(arch, params, x, y, spec.ep, stream=stream)
    expected = ep_gradient(arch, params, held, y, ph.u_a, ph.u_b, ph.beta_a, ph.beta_b, u_free=ph.u_free)
    for name in grads.W:
        np.testing.assert_allclose(grads.W[name], expected.W[name], rtol=0, atol=1e-12)


def test_the_bins_change_the_free_state_and_one_bin_is_the_static_input():
    spec = stream_spec()
    arch, params, x, y = problem(spec)
    frames = x.reshape(len(x), BINS, -1)
    streamed = run_phases(arch, params, x, y, spec.ep, stream=stream_of(spec)).u_free
    held_only = relax(arch, params, frames[:, -1], FREE)
    assert not np.allclose(streamed["h1"], held_only["h1"], atol=1e-6)  # the earlier bins left a trace
    static = run_phases(arch, params, frames[:, 0], y, spec.ep)
    one_bin = run_phases(arch, params, frames[:, 0], y, spec.ep, stream=Stream(1, FREE, "last"))
    for name in static.u_free:
        np.testing.assert_array_equal(one_bin.u_free[name], static.u_free[name])
        np.testing.assert_array_equal(one_bin.u_a[name], static.u_a[name])


def test_drives_are_one_input_current_per_step():
    spec = stream_spec()
    arch, params, x, _ = problem(spec)
    from brian_ep.maths.phases import free_phase_input

    held, _, drives = free_phase_input(arch, params, x, FREE, stream_of(spec))
    frames = x.reshape(len(x), BINS, -1)
    for k, drive in enumerate(drives):
        source = frames[:, k // BIN_STEPS] if k < BINS * BIN_STEPS else held
        np.testing.assert_array_equal(drive["h1"], input_drive(arch, params, source)["h1"])
    with pytest.raises(ValueError, match="drives has"):
        relax(arch, params, held, FREE + 1, drives=drives)


def test_spec_errors_name_the_key():
    with pytest.raises(SpecError, match=r"data\.events\.bin_steps.*at most 6"):
        stream_spec(events={"bin_steps": 7})
    with pytest.raises(SpecError, match="run.engine"):
        stream_spec(run__engine="bp")
    with pytest.raises(SpecError, match="model.input.encoding"):
        stream_spec(model__input__encoding="spikes")
    with pytest.raises(SpecError, match="data.events"):
        small_spec(data__events={"bins": 2})
    with pytest.raises(SpecError, match="data.augment"):
        stream_spec(data__augment={"shift": 1})


def synthetic_events(n, seed):
    """Class c lights pixel (c % 3, c // 3) of a 3x2 sensor (ON) in every bin, with random other events."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    samples = []
    for c in labels:
        k = 12
        x = np.concatenate([np.full(k, c % 3), rng.integers(0, 3, 6)])
        y = np.concatenate([np.full(k, c // 3), rng.integers(0, 2, 6)])
        t = rng.integers(0, 30_000, k + 6)
        order = np.argsort(t, kind="stable")
        p = np.concatenate([np.ones(k), rng.integers(0, 2, 6)])
        samples.append(make_events(x[order], y[order], t[order], p[order]))
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in samples])])
    return np.concatenate(samples), offsets, labels


def test_numpy_engine_trains_on_your_own_events(tmp_path):
    train_split, test_split = synthetic_events(90, 1), synthetic_events(30, 2)
    events = EventSet("toy-events", train_split, test_split, (3, 2, 2), 30_000, 3, "test")
    ds = binned_dataset(events, bins=BINS, bin_us=10_000, scale=0.25)
    assert ds.x_train.shape == (90, BINS * 12)
    spec = stream_spec(
        model__input__size=12, model__hidden=[{"size": 12}], model__readout={"kind": "softmax"}, run__engine="numpy",
        run__epochs=2, optim__batch_size=5, run__chunk_size=90, model__chain__lr=0.2,
    )
    with pytest.raises(DataError, match="model.input.size: 12"):
        prepare_data(stream_spec(), dataset=ds)
    result = brian_ep.train(spec, dataset=ds, out=tmp_path / "run", progress=False)
    assert result.metrics["epochs"][-1]["test_accuracy"] > 0.8  # chance: 1/3
    with pytest.raises(DataError, match="no data set was passed"):
        prepare_data(spec)


def test_dataset_rows_hold_the_bins_one_after_the_other():
    ev = make_events([0, 1], [0, 0], [5, 15], [1, 0])
    events = EventSet("e", (ev, np.array([0, 2]), np.array([1])), (ev, np.array([0, 2]), np.array([0])), (2, 1, 2), 20, 2, "x")
    ds = binned_dataset(events, bins=2, bin_us=10)
    assert isinstance(ds, Dataset)
    np.testing.assert_array_equal(ds.x_train, [[0, 0, 1, 0, 0, 1, 0, 0]])  # bin 0: ON (0,0); bin 1: OFF (1,0)
    assert one_hot(ds.y_train, 2).shape == (1, 2)


def test_the_snn_baseline_gets_the_bins_in_order_step_by_step():
    """bptt_snn on the same events: step t of its T steps receives bin floor(t * bins / T), the
    stream in order, not one collapsed frame."""
    pytest.importorskip("snntorch")
    import torch

    from brian_ep.baselines.snn import SnnEngine
    from brian_ep.maths.optim import init_optim_state

    spec = stream_spec(run__engine="bptt_snn", run__bptt_snn={"steps": 7})
    arch, params, x, _ = problem(spec, n=2)
    engine = SnnEngine(spec, arch, params, init_optim_state(params))
    steps = engine.step_bins(torch.as_tensor(x))
    bins = x.reshape(2, BINS, arch.input.size)
    assert steps.shape == (7, 2, arch.input.size)
    for t, b in enumerate([0, 0, 0, 1, 1, 2, 2]):  # floor(t * 3 / 7)
        np.testing.assert_array_equal(steps[t].numpy(), bins[:, b])
    with pytest.raises(SpecError) as info:
        SnnEngine(stream_spec(run__engine="bptt_snn", run__bptt_snn={"steps": 2}), arch, params, init_optim_state(params))
    assert info.value.key == "run.bptt_snn.steps"


def test_the_snn_baseline_trains_on_your_own_events(tmp_path):
    pytest.importorskip("snntorch")
    train_split, test_split = synthetic_events(90, 1), synthetic_events(30, 2)
    events = EventSet("toy-events", train_split, test_split, (3, 2, 2), 30_000, 3, "test")
    ds = binned_dataset(events, bins=BINS, bin_us=10_000, scale=0.25)
    spec = stream_spec(
        model__input__size=12, model__hidden=[{"size": 12}], run__engine="bptt_snn", run__epochs=3, run__chunk_size=90,
        run__bptt_snn={"steps": 12, "optim": {"algorithm": "adam", "batch_size": 10, "lr": 0.01}},
    )
    result = brian_ep.train(spec, dataset=ds, out=tmp_path / "run", progress=False)
    assert result.metrics["epochs"][-1]["test_accuracy"] > 0.6  # chance: 1/3
