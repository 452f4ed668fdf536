"""The training loop (numpy engine): metrics, learning, determinism, checkpoint/resume,
mini-batches with Adam and a cosine schedule, data checks and the validation split."""

from __future__ import annotations

import json
import re
import math
from pathlib import Path

import numpy as np
import pytest

import brian_ep.engines.numpy_batched as numpy_batched
from brian_ep.architecture import build_architecture
from brian_ep.data import load_digits
from brian_ep.maths.optim import init_optim_state
from brian_ep.rundir import RunDirectory
from brian_ep.session import run_device
from brian_ep.spec import load_spec
from brian_ep.errors import ArgumentError, DataError, Interrupted
from brian_ep.epochs import epoch_order, lr_factor
from brian_ep.splits import prepare_data
from brian_ep.train import accuracy, evaluate, train

from conftest import small_spec

REPO = Path(__file__).resolve().parents[1]
DIGITS_SPEC = REPO / "network_specs" / "digits.yaml"
TIMING = ("train_seconds", "ms_per_sample", "build_seconds", "eval_seconds", "peak_rss_mib")  # measurements: differ between runs


def tiny_digits(**over):
    """digits.yaml shrunk to 64-16-10 on 120/60 samples, numpy engine, short phases."""
    overrides = {
        "run.engine": "numpy",
        "model.hidden": [{"size": 16}],
        "data.n_train": 120,
        "data.n_test": 60,
        "run.epochs": 2,
        "run.chunk_size": 50,
        "ep.free_steps": 10,
        "ep.nudged_steps": 4,
    }
    overrides.update({k.replace("__", "."): v for k, v in over.items()})
    return load_spec(DIGITS_SPEC, overrides)


def weights_equal(a, b) -> bool:
    return (
        a.W.keys() == b.W.keys()
        and a.b.keys() == b.b.keys()
        and all(np.array_equal(a.W[k], b.W[k]) for k in a.W)
        and all(np.array_equal(a.b[k], b.b[k]) for k in a.b)
    )


def without_timing(rows):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


# -- metrics -------------------------------------------------------------------------------
def test_spiking_runs_report_spikes_per_sample_rate_runs_do_not(tmp_path):
    """The energy proxy: spikes per training sample (all phases), per layer and in total, in
    metrics.json and metrics.csv; rate networks keep the metrics they had."""
    spiking = train(tiny_digits(**{"run.epochs": 1, "model.neuron": {"model": "bernoulli"}}), out=tmp_path / "s", progress=False)
    row = spiking.metrics["epochs"][0]
    assert row["spikes_per_sample_h1"] > 0 and row["spikes_per_sample"] == row["spikes_per_sample_h1"]
    steps = 10 + 2 * 4
    assert row["spikes_per_sample_h1"] < 16 * steps  # at most one spike per neuron and step
    assert "spikes_per_sample_h1" in (tmp_path / "s" / "metrics.csv").read_text().splitlines()[0]
    rate = train(tiny_digits(**{"run.epochs": 1}), progress=False)
    assert not any(k.startswith("spikes") for k in rate.metrics["epochs"][0])


def test_ms_per_sample_leaves_out_the_engines_program_build(monkeypatch, tmp_path):
    """An engine that spends time building a program (Brian2 standalone compiles on its first
    chunk) reports it as ``build_seconds``: the epoch's ``train_seconds`` is the wall time with
    it, ``ms_per_sample`` the training time without it, ``build_seconds`` is a column of its
    own; a later epoch builds nothing."""
    import time as clock

    from brian_ep.engines.numpy_batched import NumpyEngine

    chunk = NumpyEngine.train_chunk

    def build_first(self, *args, **kwargs):
        if getattr(self, "build_seconds", 0.0) == 0.0:
            clock.sleep(0.3)
            self.build_seconds = 0.3
        return chunk(self, *args, **kwargs)

    monkeypatch.setattr(NumpyEngine, "train_chunk", build_first)
    rows = train(tiny_digits(run__epochs=2), out=tmp_path / "r", progress=False).metrics["epochs"]
    assert rows[0]["build_seconds"] == 0.3 and rows[1]["build_seconds"] == 0.0
    assert rows[0]["train_seconds"] >= 0.3
    for row in rows:
        assert row["ms_per_sample"] == pytest.approx(1e3 * (row["train_seconds"] - row["build_seconds"]) / 120)
    assert "build_seconds" in (tmp_path / "r" / "metrics.csv").read_text().splitlines()[0]


def test_metrics_csv_has_every_rows_columns(tmp_path):
    """A run resumed by a newer version may add a column to later rows: the CSV keeps them all."""
    from brian_ep.rundir import RunDirectory

    RunDirectory(tmp_path).write_metrics({"epochs": [{"epoch": 1, "a": 0.5}, {"epoch": 2, "a": 0.6, "b": 3}]})
    assert (tmp_path / "metrics.csv").read_text().splitlines() == ["epoch,a,b", "1,0.5,", "2,0.6,3"]


def test_metrics_rows_and_final_accuracy_matches_evaluate():
    spec = tiny_digits()
    result = train(spec, progress=False)
    rows = result.metrics["epochs"]
    assert [r["epoch"] for r in rows] == [1, 2]
    for r in rows:
        for key in ("train_accuracy", "test_accuracy"):
            assert 0.0 <= r[key] <= 1.0
        assert r["validation_accuracy"] is None
        assert np.isfinite(r["train_loss"]) and r["train_loss"] > 0
        assert r["train_seconds"] >= 0 and r["ms_per_sample"] >= 0 and r["eval_seconds"] >= 0
        # accuracies over 120 training and 60 test samples are multiples of 1/120, 1/60
        assert r["train_accuracy"] * 120 == pytest.approx(round(r["train_accuracy"] * 120))
        assert r["test_accuracy"] * 60 == pytest.approx(round(r["test_accuracy"] * 60))
    assert result.run_dir is None
    assert result.final_test_accuracy == rows[-1]["test_accuracy"]
    assert evaluate(spec, result.params) == rows[-1]["test_accuracy"]
    assert result.metrics["spec"] == "digits" and result.metrics["engine"] == "numpy"
    assert result.metrics["device"] == "cpu"  # not the Brian2 device key, which the numpy engine ignores


def test_evaluate_train_split_and_accuracy_helper():
    spec = tiny_digits(run__epochs=1)
    result = train(spec, progress=False)
    acc = evaluate(spec, result.params, split="train")
    assert 0.0 <= acc <= 1.0
    assert acc * 120 == pytest.approx(round(acc * 120))
    assert accuracy(np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]), np.array([1, 0, 0])) == pytest.approx(2 / 3)


def test_training_learns_digits():
    spec = tiny_digits(model__hidden=[{"size": 32}], data__n_train=400, data__n_test=100, run__epochs=3,
                       run__chunk_size=400)
    result = train(spec, progress=False)
    rows = result.metrics["epochs"]
    assert rows[-1]["test_accuracy"] > 0.5  # chance is 0.1
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    assert rows[-1]["train_accuracy"] > rows[0]["train_accuracy"]
    # training moved the weights away from their initialisation
    from brian_ep.maths.params import init_params

    init = init_params(build_architecture(spec), np.random.default_rng([spec.run.seed, 0]))
    assert result.params.max_abs_diff(init) > 1e-3


# -- determinism -----------------------------------------------------------------------------
def test_same_seed_same_weights_other_seed_other_weights():
    a = train(tiny_digits(run__epochs=1), progress=False)
    b = train(tiny_digits(run__epochs=1), progress=False)
    c = train(tiny_digits(run__epochs=1, run__seed=1), progress=False)
    assert weights_equal(a.params, b.params)
    assert without_timing(a.metrics["epochs"]) == without_timing(b.metrics["epochs"])
    assert a.params.W.keys() == c.params.W.keys() == {"input_h1", "h1_output"}
    for k in a.params.W:
        assert not np.array_equal(a.params.W[k], c.params.W[k]), k


# -- checkpoints and resume -----------------------------------------------------------------
def _interrupt_on_call(monkeypatch, n):
    """Make NumpyEngine.train_chunk raise KeyboardInterrupt on its n-th call (1-based)."""
    original = numpy_batched.NumpyEngine.train_chunk
    calls = {"n": 0}

    def wrapper(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(numpy_batched.NumpyEngine, "train_chunk", wrapper)
    return calls


RESUME_CONFIGS = {
    "sgd": {},
    "augment": {"data.augment": {"shift": 1, "flip": True}},
    "adam-batch-random-sign": {
        "optim.algorithm": "adam",
        "optim.batch_size": 8,
        "ep.nudging": "random_sign",
        "model.chain.lr": 0.002,
    },
    # Bernoulli spiking neurons and spike-encoded input: the noise of each chunk is drawn from
    # a stream seeded by its position in the run, so a resumed run draws the same numbers
    "spiking": {
        "model.neuron": {"model": "bernoulli", "read": "window", "window": 4},
        "model.input.encoding": "spikes",
        "ep.common_noise": True,
    },
}


@pytest.mark.parametrize("config", sorted(RESUME_CONFIGS))
@pytest.mark.parametrize(
    "interrupt_call",
    [
        2,  # mid epoch 1 (after its first chunk)
        4,  # at the first chunk of epoch 2: the last checkpoint is the epoch boundary
        5,  # after the first chunk of epoch 2
    ],
)
def test_kill_and_resume_equals_uninterrupted(tmp_path, monkeypatch, config, interrupt_call):
    over = {"run.epochs": 3, **RESUME_CONFIGS[config]}
    spec = tiny_digits(**over)
    # 120 samples in chunks of 50 (48 with batch size 8): 3 chunks per epoch
    dir_a, dir_b = tmp_path / "a", tmp_path / "b"
    result_a = train(spec, out=dir_a, progress=False)
    assert (dir_a / "COMPLETE").exists()

    with monkeypatch.context() as m:
        calls = _interrupt_on_call(m, interrupt_call)
        with pytest.raises(Interrupted, match="Continue with: brian_ep.train"):
            train(spec, out=dir_b, progress=False)
        assert calls["n"] == interrupt_call
    assert not (dir_b / "COMPLETE").exists()
    assert (dir_b / "checkpoint.npz").exists()
    assert not (dir_b / "weights.npz").exists()
    _, optim_state, position = RunDirectory(dir_b).load_checkpoint()
    completed_chunks = interrupt_call - 1
    assert position["epoch"] == completed_chunks // 3
    expected_sample = [0, 48 if spec.optim.batch_size == 8 else 50, 96 if spec.optim.batch_size == 8 else 100]
    assert position["sample"] == expected_sample[completed_chunks % 3]
    assert len(position["metrics"]["epochs"]) == completed_chunks // 3
    if spec.optim.algorithm == "adam":
        batches = {0: 0, 1: 6, 2: 12}[completed_chunks % 3] + 15 * (completed_chunks // 3)
        assert optim_state.t == batches

    result_b = train(spec, out=dir_b, resume=True, progress=False)
    assert (dir_b / "COMPLETE").exists()
    assert weights_equal(result_a.params, result_b.params)
    rows_a, rows_b = result_a.metrics["epochs"], result_b.metrics["epochs"]
    assert [r["epoch"] for r in rows_b] == [1, 2, 3]
    assert without_timing(rows_a) == without_timing(rows_b)
    # what is on disk agrees with what was returned
    saved = RunDirectory(dir_b).read_metrics()
    assert without_timing(saved["epochs"]) == without_timing(rows_b)
    from brian_ep.maths.params import Params

    assert weights_equal(Params.load(dir_b / "weights.npz"), result_b.params)
    assert weights_equal(Params.load(dir_a / "weights.npz"), Params.load(dir_b / "weights.npz"))


def test_resume_a_complete_run_changes_nothing(tmp_path):
    spec = tiny_digits(run__epochs=1)
    first = train(spec, out=tmp_path / "run", progress=False)
    again = train(spec, out=tmp_path / "run", resume=True, progress=False)
    assert weights_equal(first.params, again.params)
    assert without_timing(first.metrics["epochs"]) == without_timing(again.metrics["epochs"])


def test_fresh_run_into_old_directory_starts_over_only_with_overwrite(tmp_path):
    spec = tiny_digits(run__epochs=1)
    first = train(spec, out=tmp_path / "run", progress=False)
    before = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir() if p.is_file()}
    with pytest.raises(ArgumentError, match="already holds a finished run.*--overwrite"):
        train(spec, out=tmp_path / "run", progress=False)
    assert {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir() if p.is_file()} == before
    again = train(spec, out=tmp_path / "run", progress=False, overwrite=True)  # from scratch
    assert weights_equal(first.params, again.params)
    assert len(again.metrics["epochs"]) == 1
    assert len(json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs"]) == 1


def test_run_directory_contents(tmp_path):
    spec = tiny_digits(run__epochs=2)
    result = train(spec, out=tmp_path / "run", progress=False, command="brian-ep train x")
    d = tmp_path / "run"
    assert result.run_dir == d
    for name in ("spec.yaml", "environment.json", "metrics.json", "metrics.csv", "checkpoint.npz",
                 "weights.npz", "COMPLETE", "figures/learning_curves.png"):
        assert (d / name).is_file(), name
    assert json.loads((d / "environment.json").read_text())["command"] == "brian-ep train x"
    csv_lines = (d / "metrics.csv").read_text().strip().splitlines()
    assert csv_lines[0].startswith("epoch,") and len(csv_lines) == 3
    assert load_spec(d / "spec.yaml").run.epochs == 2


# -- mini-batches, Adam, cosine schedule ----------------------------------------------------
def test_minibatch_adam_cosine(tmp_path, monkeypatch):
    epochs, bs, n = 4, 7, 120
    spec = tiny_digits(
        run__epochs=epochs, optim__algorithm="adam", optim__batch_size=bs, optim__lr_schedule="cosine",
        model__chain__lr=0.002,
    )
    seen_factors = []
    original = numpy_batched.NumpyEngine.set_lr_factor

    def record(self, factor):
        seen_factors.append(factor)
        return original(self, factor)

    monkeypatch.setattr(numpy_batched.NumpyEngine, "set_lr_factor", record)
    result = train(spec, out=tmp_path / "run", progress=False)
    rows = result.metrics["epochs"]
    expected = [(1 + math.cos(math.pi * e / epochs)) / 2 for e in range(epochs)]
    assert [r["lr_factor"] for r in rows] == pytest.approx(expected, abs=1e-12)
    assert [r["lr_factor"] for r in rows] == pytest.approx([1.0, 0.5 + 0.5 * math.sqrt(0.5), 0.5, 0.5 - 0.5 * math.sqrt(0.5)])
    assert seen_factors == pytest.approx(expected, abs=1e-12)
    assert [lr_factor(spec, e) for e in range(epochs)] == pytest.approx(expected, abs=1e-12)
    assert lr_factor(tiny_digits(optim__lr_schedule="constant"), 1) == 1.0
    assert result.params.is_finite()
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    assert rows[-1]["test_accuracy"] > 0.2
    # Adam stepped once per mini-batch: ceil(120 / 7) = 18 per epoch
    _, optim_state, position = RunDirectory(tmp_path / "run").load_checkpoint()
    assert optim_state.t == epochs * math.ceil(n / bs)
    assert position["epoch"] == epochs and position["sample"] == 0
    assert any(np.any(v != 0) for v in optim_state.m.W.values())


def test_batch_size_changes_the_result():
    a = train(tiny_digits(run__epochs=1), progress=False)
    b = train(tiny_digits(run__epochs=1, optim__batch_size=10), progress=False)
    assert a.params.max_abs_diff(b.params) > 0


@pytest.mark.parametrize("n, bs", [(100, 10), (60, 4), (7, 1)])
def test_epoch_order_batches_keep_their_samples_and_change_their_order(n, bs):
    def batch_sets(order):
        return sorted(tuple(sorted(order[i : i + bs])) for i in range(0, n, bs))

    orders = [epoch_order(n, bs, seed=4, epoch=e, shuffle="batches") for e in range(3)]
    for order in orders:
        assert sorted(order) == list(range(n))  # every sample once
        assert batch_sets(order) == batch_sets(orders[0])  # the same batches every epoch
    assert not np.array_equal(orders[0], orders[1])  # presented in another order
    samples = [epoch_order(n, bs, seed=4, epoch=e) for e in range(2)]
    if bs > 1:
        assert batch_sets(samples[0]) != batch_sets(samples[1])  # 'samples' re-forms the batches


def test_epoch_order_batches_with_a_short_last_batch_is_a_permutation():
    for e in range(3):
        assert sorted(epoch_order(103, 10, seed=4, epoch=e, shuffle="batches")) == list(range(103))


def test_shuffle_batches_trains_differently_and_is_refused_when_unknown():
    a = train(tiny_digits(run__epochs=2, optim__batch_size=10), progress=False)
    b = train(tiny_digits(run__epochs=2, optim__batch_size=10, optim__shuffle="batches"), progress=False)
    assert a.params.max_abs_diff(b.params) > 0
    with pytest.raises(Exception, match="optim.shuffle"):
        tiny_digits(optim__shuffle="epochs")


# -- data checks ----------------------------------------------------------------------------
def test_prepare_data_input_size_mismatch():
    spec = small_spec()  # input size 6, the digits have 64 features
    with pytest.raises(DataError) as info:
        prepare_data(spec)
    msg = str(info.value)
    assert "model.input.size" in msg and "64" in msg and "6" in msg
    assert "set model.input.size: 64" in msg


def test_prepare_data_class_count_mismatch():
    spec = small_spec(model__input__size=64)  # 3 outputs, the digits have 10 classes
    with pytest.raises(DataError) as info:
        prepare_data(spec)
    msg = str(info.value)
    assert "model.output.size" in msg and "10 classes" in msg
    assert "set model.output.size: 10" in msg


def test_prepare_data_mismatch_is_reported_by_train_before_writing(tmp_path):
    with pytest.raises(DataError, match="model.input.size"):
        train(small_spec(), out=tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_prepare_data_sizes_and_given_dataset():
    spec = tiny_digits(data__validation=20)
    (x_tr, l_tr), (x_val, l_val), (x_te, l_te) = prepare_data(spec)
    assert x_tr.shape == (100, 64) and l_tr.shape == (100,)
    assert x_val.shape == (20, 64) and l_val.shape == (20,)
    assert x_te.shape == (60, 64) and l_te.shape == (60,)
    ds = load_digits()
    np.testing.assert_array_equal(x_val, ds.x_train[100:120])
    (x2, _), _, _ = prepare_data(spec, dataset=ds)
    np.testing.assert_array_equal(x2, x_tr)


# -- validation split -----------------------------------------------------------------------
def test_validation_accuracy_per_epoch():
    spec = tiny_digits(data__validation=50)
    result = train(spec, progress=False)
    rows = result.metrics["epochs"]
    assert len(rows) == 2
    for r in rows:
        assert r["validation_accuracy"] is not None
        assert 0.0 <= r["validation_accuracy"] <= 1.0
        assert r["validation_accuracy"] * 50 == pytest.approx(round(r["validation_accuracy"] * 50))
        # 70 training samples remain
        assert r["train_accuracy"] * 70 == pytest.approx(round(r["train_accuracy"] * 70))
    # the last row's validation accuracy is that of the final weights on the held-out samples
    _, (x_val, l_val), _ = prepare_data(spec)
    arch = build_architecture(spec)
    engine = numpy_batched.NumpyEngine(spec, arch, result.params, init_optim_state(result.params))
    assert accuracy(engine.predict(x_val), l_val) == rows[-1]["validation_accuracy"]


def test_progress_lines_printed(capsys):
    train(tiny_digits(run__epochs=1, data__validation=20), progress=True)
    out = capsys.readouterr().out
    assert "epoch   1/1" in out and "test " in out and "val " in out


# -- divergence -----------------------------------------------------------------------------
def test_divergence_names_layer_sample_epoch(tmp_path):
    from brian_ep.errors import DivergenceError

    spec = tiny_digits(model__chain__lr=1e6, ep__divergence_threshold=10)
    with pytest.raises(DivergenceError) as info:
        train(spec, out=tmp_path / "run", progress=False)
    msg = str(info.value)
    assert "layer 'h1'" in msg
    assert re.search(r"at sample 0 in the mini-batch that starts with training sample #\d+ of the data set", msg)
    assert "(epoch 1)" in msg
    # it diverged in the first chunk: there is no checkpoint to point at
    assert not (tmp_path / "run" / "checkpoint.npz").exists()
    assert "checkpoint" not in msg
    assert not (tmp_path / "run" / "COMPLETE").exists()


def test_divergence_after_a_checkpoint_points_to_it(tmp_path, monkeypatch):
    from brian_ep.errors import DivergenceError

    original = numpy_batched.NumpyEngine.train_chunk
    calls = {"n": 0}

    def wrapper(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:  # second chunk of epoch 2
            raise DivergenceError("the state of layer 'h1' diverged at sample 3")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(numpy_batched.NumpyEngine, "train_chunk", wrapper)
    with pytest.raises(DivergenceError) as info:
        train(tiny_digits(), out=tmp_path / "run", progress=False)
    msg = str(info.value)
    assert msg.startswith("the state of layer 'h1' diverged at sample 3 (epoch 2).")
    assert f"The last good checkpoint is in {tmp_path / 'run'}." in msg
    _, _, position = RunDirectory(tmp_path / "run").load_checkpoint()
    assert (position["epoch"], position["sample"]) == (1, 50)


def test_contradictory_api_arguments_are_refused(tmp_path):
    spec = tiny_digits(run__epochs=1)
    with pytest.raises(ArgumentError, match="resume needs the run directory"):
        train(spec, resume=True, progress=False)
    with pytest.raises(ArgumentError, match="give one of them"):
        train(spec, out=tmp_path / "r", resume=True, overwrite=True, progress=False)
    with pytest.raises(ArgumentError, match="only applies when resuming"):
        train(spec, out=tmp_path / "r", allow_changes=["run.epochs"], progress=False)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("over, device", [
    ({"run.engine": "brian2", "run.brian2.device": "cpp_standalone"}, "cpp_standalone"),
    ({"run.engine": "numpy", "run.brian2.device": "cpp_standalone"}, "cpu"),
    ({"run.engine": "torch", "run.torch": {"device": "cuda:1"}}, "cuda:1"),
])
def test_metrics_record_where_the_run_computes(over, device):
    assert run_device(load_spec(DIGITS_SPEC, overrides=over)) == device
