"""``brian-ep compare``: a tiny comparison of every method end to end (each run trained by
``brian-ep train`` in its own process), finished runs read instead of retrained, foreign
run directories refused, missing packages skipped with the extra to install, and the report's
numbers recomputed from the runs' metrics."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from brian_ep.cli import main
from brian_ep.compare import Method, compare_methods, method_spec, parse_methods, summarise
from brian_ep.compare.runner import RunRecord
from brian_ep.errors import ArgumentError
from brian_ep.neurons import neuron_model_names
from brian_ep.spec import dump_spec, load_spec

pytestmark = pytest.mark.codegen_independent
pytest.importorskip("snntorch", reason="the comparison trains the snntorch baseline")

REPO = Path(__file__).resolve().parents[2]
DIGITS = str(REPO / "network_specs" / "digits.yaml")
TINY = ["--epochs", "1", "--set", "data.n_train=96", "--set", "data.n_test=64", "--set", "run.engine=numpy",
        "--set", "run.chunk_size=96", "--set", "ep.free_steps=10", "--set", "ep.nudged_steps=4",
        "--set", "run.bptt_snn.steps=5", "--quiet"]
TRAINED = ("ep", "bptt_snn", "bp")  # bptt_crnn trains through train() in its own tests


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare") / "digits"
    rc, stdout, stderr = _run("compare", DIGITS, *TINY, "--methods", "ep,stochep,bptt_snn,bp", "--out", str(out))
    return rc, stdout, stderr, out


def test_compare_trains_every_method_and_writes_the_report(comparison):
    rc, stdout, stderr, out = comparison
    assert rc == 0, stderr
    for name in ("report.md", "report.csv", "runs.csv"):
        assert (out / name).is_file(), name
    for name in ("learning_curves.png", "accuracy_vs_time.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    rows = {r["method"]: r for r in csv.DictReader(io.StringIO((out / "report.csv").read_text()))}
    for method in TRAINED:
        run = out / "runs" / f"{method}-s0"
        assert (run / "COMPLETE").is_file() and (run / "weights.npz").is_file(), method
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["engine"] == (method if method != "ep" else "numpy")
        assert float(rows[method]["test_accuracy_mean"]) == metrics["epochs"][-1]["test_accuracy"]
        assert float(rows[method]["peak_rss_mb"]) > 50  # measured on the training process
        assert f"| {method} |" in (out / "report.md").read_text()
    machine = next(line for line in (out / "report.md").read_text().splitlines() if "machine:" in line)
    assert "the runs this command trains one at a time" in machine and "read from earlier" not in machine
    assert rows["bptt_snn"]["steps_per_sample"] == "5" and rows["ep"]["steps_per_sample"] == str(10 + 2 * 4)
    assert "adam, batch 32, lr 0.002" in rows["bptt_snn"]["optimiser"]
    if "bernoulli" in neuron_model_names():
        assert (out / "runs" / "stochep-s0" / "COMPLETE").is_file()
    else:
        assert "skipping stochep: the probabilistic spiking neuron model 'bernoulli' is not registered" in stdout
        assert "stochep" not in rows and "**stochep**: the probabilistic spiking" in (out / "report.md").read_text()


def test_finished_runs_are_read_not_trained_again(comparison):
    _, _, _, out = comparison
    before = {m: (out / "runs" / f"{m}-s0" / "weights.npz").stat().st_mtime_ns for m in TRAINED}
    rc, stdout, stderr = _run("compare", DIGITS, *TINY, "--methods", ",".join(TRAINED), "--out", str(out))
    assert rc == 0, stderr
    assert stdout.count("reading the finished run") == len(TRAINED)
    # their times were measured by an earlier command, perhaps beside other trainings: the report says so
    assert f"{len(TRAINED)} of {len(TRAINED)} runs were read from earlier commands" in (out / "report.md").read_text()
    assert before == {m: (out / "runs" / f"{m}-s0" / "weights.npz").stat().st_mtime_ns for m in TRAINED}


def test_a_run_of_another_spec_is_refused_and_kept(comparison):
    _, _, _, out = comparison
    before = (out / "runs" / "bp-s0" / "metrics.json").read_bytes()
    rc, _, stderr = _run("compare", DIGITS, *TINY, "--set", "optim.batch_size=2", "--methods", "bp", "--out", str(out))
    assert rc == 2
    text = " ".join(stderr.split())
    assert text.startswith("brian-ep: error:") and "bp-s0" in text and "optim.batch_size is 1 there, 2 here" in text
    assert "Traceback" not in stderr
    assert (out / "runs" / "bp-s0" / "metrics.json").read_bytes() == before


def test_without_torch_compare_says_which_extra_and_runs_ep(comparison, tmp_path, monkeypatch):
    _, _, _, done = comparison
    shutil.copytree(done / "runs" / "ep-s0", tmp_path / "runs" / "ep-s0")  # read, not trained again
    for module in ("torch", "snntorch"):
        monkeypatch.setitem(sys.modules, module, None)  # importlib.util.find_spec now says "not installed"
    rc, stdout, stderr = _run("compare", DIGITS, *TINY, "--methods", "ep,bptt_snn,bp", "--out", str(tmp_path))
    assert rc == 0, stderr
    assert "skipping bptt_snn: 'bptt_snn' needs torch, snntorch, which is not installed; install it with pip install 'brian_ep[baselines]'" in stdout
    assert "skipping bp: 'bp' needs torch" in stdout
    assert [r["method"] for r in csv.DictReader(io.StringIO((tmp_path / "report.csv").read_text()))] == ["ep"]
    rc, _, stderr = _run("compare", DIGITS, *TINY, "--methods", "bptt_snn", "--out", str(tmp_path / "none"))
    assert rc == 2 and "none of the methods can run here" in stderr


def test_method_spec_files_must_be_the_same_task(tmp_path):
    base = load_spec(DIGITS)
    other = tmp_path / "snn.yaml"
    dump_spec(load_spec(base, {"model.hidden": [{"size": 128}], "optim.batch_size": 64}), other)
    with pytest.raises(ArgumentError, match=r"is not the same task as the compared spec: layer sizes is \[64, 128, 10\], not \[64, 256, 10\]"):
        method_spec(base, Method("bptt_snn", other))
    dump_spec(load_spec(base, {"optim.batch_size": 64}), other)
    spec = method_spec(base, Method("bptt_snn", other))
    assert spec.run.engine == "bptt_snn" and spec.optim.batch_size == 64


@pytest.mark.parametrize("text,message", [
    ("ep,backprop", "unknown method 'backprop'"),
    ("ep,bp,ep", "'ep' is named twice"),
    ("ep,bp=missing.yaml", "the spec file 'missing.yaml' given for 'bp' does not exist"),
    ("", "name at least one method"),  # issue 27: an empty list is not the default list
    (" , ", "name at least one method"),
])
def test_bad_method_lists(text, message):
    with pytest.raises(ArgumentError, match=message):
        parse_methods(text)


def test_a_method_can_have_its_own_seeds(tmp_path):
    """``METHOD@SEEDS``: a slow method with one seed beside others with --seeds, in one report."""
    bp = REPO / "network_specs" / "compare" / "mnist_bp.yaml"
    assert parse_methods(f"ep@0,bp={bp}@1+2,stochep") == [Method("ep", None, (0,)), Method("bp", bp, (1, 2)), Method("stochep")]
    for bad, message in (("ep@x", "integers joined by '+'"), ("ep@0+0", "names a seed twice"), ("ep@", "integers")):
        with pytest.raises(ArgumentError, match=re.escape(message)):
            parse_methods(bad)
    report = compare_methods(DIGITS, "ep@0,bp", seeds=[1, 2], out=tmp_path, train=False, say=lambda text: None)
    text = report.read_text()
    assert "* seeds: 1, 2 (ep: 0)" in text
    assert "not finished (not in the tables): bp seed 1, bp seed 2, ep seed 0" in text  # no ep seed 1 or 2


def test_a_labelled_method_is_a_second_run_of_that_method(tmp_path):
    """``METHOD:LABEL``: rate EP beside the spec's own (spiking) network in one report, each with
    its own spec, seeds, run directories and row."""
    assert parse_methods(f"ep@0,ep:rate={DIGITS}@1+2") == [Method("ep", None, (0,)), Method("ep", Path(DIGITS), (1, 2), "rate")]
    assert Method("ep", None, None, "rate").key == "ep-rate" and Method("ep").key == "ep"
    for bad, message in (("ep:Rate", "lower-case letters, digits and underscores"), ("ep:", "lower-case letters"),
                         (f"ep:a,ep:a={DIGITS}", "'ep-a' is named twice"), ("ep,ep", "give the second one a label")):
        with pytest.raises(ArgumentError, match=re.escape(message)):
            parse_methods(bad)
    report = compare_methods(DIGITS, f"ep@0,ep:rate={DIGITS}@1", out=tmp_path, train=False, say=lambda text: None)
    text = report.read_text()
    assert "* seeds: 0 (ep: 0; ep-rate: 1)" in text
    assert "not finished (not in the tables): ep seed 0, ep-rate seed 1" in text


def test_summary_is_mean_and_sample_std_of_final_epochs():
    spec = load_spec(DIGITS)

    def record(seed, finals, seconds):
        epochs = [{"epoch": i + 1, "test_accuracy": a, "train_seconds": s, "eval_seconds": 1.0, "ms_per_sample": 2.0 * s}
                  for i, (a, s) in enumerate(zip(finals, seconds))]
        return RunRecord("ep", seed, Path("."), spec, {"epochs": epochs}, peak_rss_mb=100.0 + seed)

    rows = summarise({"ep": [record(0, [0.5, 0.90], [3.0, 5.0]), record(1, [0.99, 0.80], [4.0, 4.0])]}, spec)
    (row,) = rows
    assert row["test_accuracy_mean"] == pytest.approx(0.85)  # the final epochs, not the best ones
    assert row["test_accuracy_std"] == pytest.approx(np.std([0.9, 0.8], ddof=1))
    assert row["wall_seconds_per_epoch"] == pytest.approx(5.0) and row["train_seconds_per_epoch"] == pytest.approx(4.0)
    assert row["peak_rss_mb"] == 101.0 and row["seeds"] == "0 1"
    assert row["steps_per_sample"] == spec.ep.free_steps + 2 * spec.ep.nudged_steps


def test_threads_and_seeds_are_checked(tmp_path):
    with pytest.raises(ArgumentError, match="--threads"):
        compare_methods(DIGITS, "ep", threads=0, out=tmp_path)
    rc, _, stderr = _run("compare", DIGITS, "--seeds", "0,x", "--out", str(tmp_path))
    assert rc == 2 and "--seeds expects integers" in stderr


def test_report_only_reads_what_is_finished(comparison, tmp_path):
    _, _, _, done = comparison
    shutil.copytree(done / "runs" / "bp-s0", tmp_path / "runs" / "bp-s0")
    rc, stdout, stderr = _run("compare", DIGITS, *TINY, "--methods", "bp", "--seeds", "0,1", "--report-only", "--out", str(tmp_path))
    assert rc == 0, stderr
    assert not (tmp_path / "runs" / "bp-s1").exists()
    report = (tmp_path / "report.md").read_text()
    assert "not finished (not in the tables): bp seed 1" in report and "| bp | bp | 0 |" in report


# -- issue 27: compare's own error path, Ctrl-C, folders it did not create -------------------------


def test_an_unexpected_error_in_compare_is_one_paragraph_not_a_namespace_error(tmp_path, monkeypatch):
    import brian_ep.compare as compare_package

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(compare_package, "compare_methods", broken)
    rc, _, stderr = _run("compare", DIGITS, "--out", str(tmp_path / "c"))
    assert rc == 1
    assert "internal error: RuntimeError: boom" in stderr
    assert "Namespace" not in stderr and "Traceback" not in stderr and "Brian" not in stderr


@pytest.mark.parametrize("report_only", [False, True])
def test_a_train_run_directory_is_refused_as_out_and_left_unchanged(tmp_path, report_only):
    run = tmp_path / "run"
    rc, _, stderr = _run("train", DIGITS, "--engine", "numpy", "--epochs", "1", "--set", "data.n_train=40",
                         "--set", "data.n_test=20", "--set", "run.chunk_size=40", "--quiet", "--out", str(run))
    assert rc == 0, stderr
    before = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    rc, _, stderr = _run("compare", DIGITS, *TINY, "--methods", "bp", "--out", str(run),
                         *(["--report-only"] if report_only else []))
    assert rc == 2
    assert "is a brian-ep train run directory" in " ".join(stderr.split()) and "nothing was written" in stderr
    assert {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_a_folder_of_other_files_is_refused_and_a_comparison_folder_is_marked(tmp_path):
    from brian_ep.compare.run import MARKER, claim_out

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ArgumentError, match="holds files compare did not write \\(notes.txt\\)"):
        claim_out(tmp_path)
    assert not (tmp_path / MARKER).exists()
    claim_out(tmp_path / "new")
    assert (tmp_path / "new" / MARKER).is_file()
    (tmp_path / "new" / "anything").write_text("compare's folder")
    claim_out(tmp_path / "new")  # compare's own folder is accepted whatever it holds


def test_ctrl_c_stops_compare_as_it_stops_train(tmp_path):
    """Ctrl-C to compare's process group (as a terminal sends it), with SIGINT ignored when the
    process started (a background job; Brian2's handler then fails with 'Handlers' object is
    not callable): the training child finishes its chunk and keeps its checkpoint, compare exits
    with 130 and prints the command that continues (which resumes that checkpoint: prepare_run)."""
    import signal
    import subprocess
    import time

    out = tmp_path / "c"
    args = [sys.executable, "-m", "brian_ep.cli", "compare", DIGITS, "--methods", "ep", "--epochs", "40",
            "--set", "data.n_train=400", "--set", "data.n_test=40", "--set", "run.engine=numpy",
            "--set", "run.chunk_size=40", "--set", "model.hidden=[{size: 8}]", "--quiet", "--out", str(out)]

    def ignore_sigint():
        os.setsid()
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=ignore_sigint)
    run = out / "runs" / "ep-s0"
    deadline = time.monotonic() + 120
    while not (run / "checkpoint.npz").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "Handlers" not in stderr
    text = " ".join(stderr.split())
    assert "brian-ep: stopped: compare stopped by Ctrl-C" in text and "kept its last checkpoint" in text
    assert f"Continue with: brian-ep compare {DIGITS}" in text
    assert (run / "checkpoint.npz").exists() and not (run / "COMPLETE").exists()
    epochs_done = json.loads((run / "metrics.json").read_text())["epochs"] if (run / "metrics.json").exists() else []
    assert len(epochs_done) < 40


def test_report_only_into_a_missing_folder_says_so(tmp_path, capsys):
    """--report-only reads an earlier compare's folder: a folder that does not exist is a
    one-paragraph error naming it (was an internal error on a temporary report file)."""
    missing = tmp_path / "no-such-compare"
    assert main(["compare", DIGITS, "--methods", "bp", "--report-only", "--out", str(missing)]) != 0
    err = " ".join(capsys.readouterr().err.split())
    assert f"--out '{missing}' does not exist" in err and "internal error" not in err
    assert not missing.exists()
