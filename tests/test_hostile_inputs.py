"""The hostile cases of issue 17, one row each: broken specs, overrides, weights files and
checkpoints, changed resumes, runs into occupied directories, absurd sizes, divergence in
Brian2, and training that cannot learn.

Every refused command exits with status 2, prints one paragraph (no traceback, no Brian2 bug
banner) naming what is wrong, and leaves an existing run directory exactly as it was; the
warnings of runs that cannot learn are printed and recorded in the run's metrics."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from brian_ep.cli import main

REPO = Path(__file__).resolve().parents[1]
DIGITS = str(REPO / "network_specs" / "digits.yaml")
TINY = [
    "--engine", "numpy", "--set", "run.epochs=1", "--set", "data.n_train=100", "--set", "data.n_test=50",
    "--set", "run.chunk_size=50", "--set", "model.hidden=[{size: 16}]", "--set", "model.chain.lr=0.05",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One finished tiny run (numpy engine, 64-16-10) that the cases copy."""
    out = tmp_path_factory.mktemp("hostile") / "run"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["train", DIGITS, *TINY, "--quiet", "--out", str(out)]) == 0
    return out


def snapshot(directory: Path) -> dict:
    """Every file below ``directory`` with its bytes and modification time."""
    return {
        str(p.relative_to(directory)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(directory.rglob("*")) if p.is_file()
    }


def run_cli(argv, capsys):
    rc = main(argv)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def one_paragraph(err: str, prefix: str = "brian-ep: error: ") -> str:
    text = err.strip()
    assert text.startswith(prefix), err
    assert "Traceback" not in err and "Brian 2 encountered" not in err
    assert "\n\n" not in text
    return " ".join(text.split())


# -- files the cases write ---------------------------------------------------------------------
def weights_of(run: Path) -> dict:
    with np.load(run / "weights.npz") as data:
        return {k: data[k] for k in data.files}


def write_npz(path: Path, arrays: dict) -> Path:
    np.savez(path, **arrays)
    return path


def broken_file(kind: str, path: Path, good: Path) -> Path:
    """A weights or checkpoint file broken in one way."""
    if kind == "truncated":
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(3000))
    elif kind == "object":
        np.savez(path, **{"W:input_h1": np.array([{"a": 1}, None], dtype=object)})  # pickled objects
    elif kind == "npy":
        with open(path, "wb") as fh:
            np.save(fh, np.zeros((64, 16)))
    return path


@dataclass
class Case:
    """One hostile command: ``make(tmp, trained_run) -> argv``; the expected exit status, the
    words its message must contain, and whether a run directory (``tmp/run``) must stay as it was."""

    make: Callable
    needles: tuple
    rc: int = 2
    keeps_run: bool = False
    warning: bool = False
    refused: bool = True  # refused before anything is written (not a failure during training)


def _copy(tmp, run):
    shutil.copytree(run, tmp / "run")
    return tmp / "run"


def _resume_with(*args):
    return lambda tmp, run: ["train", DIGITS, *TINY, *args, "--quiet", "--resume", "--out", str(_copy(tmp, run))]


def _new_run_into(remove_complete=False):
    def make(tmp, run):
        out = _copy(tmp, run)
        if remove_complete:
            (out / "COMPLETE").unlink()
        return ["train", DIGITS, *TINY, "--quiet", "--out", str(out)]

    return make


def _with_weights(command, change):
    """``evaluate``/``analyze`` with the trained weights changed by ``change(dict)``."""

    def make(tmp, run):
        out = _copy(tmp, run)
        arrays = weights_of(run)
        change(arrays)
        path = write_npz(tmp / "w.npz", arrays)
        extra = ["--samples", "5", "--max-steps", "20", "--out", str(tmp)] if command == "analyze" else []
        return [command, str(out / "spec.yaml"), "--weights", str(path), *extra]

    return make


def _broken(kind, command):
    def make(tmp, run):
        out = _copy(tmp, run)
        if command == "resume":
            broken_file(kind, out / "checkpoint.npz", run / "checkpoint.npz")
            (out / "COMPLETE").unlink()
            return ["train", DIGITS, *TINY, "--quiet", "--resume", "--out", str(out)]
        path = broken_file(kind, tmp / "w.npz", run / "weights.npz")
        extra = ["--samples", "5", "--max-steps", "20", "--out", str(tmp)] if command == "analyze" else []
        return [command, str(out / "spec.yaml"), "--weights", str(path), *extra]

    return make


def _spec_text(text: bytes, *args):
    def make(tmp, run):
        (tmp / "bad.yaml").write_bytes(text)
        return ["train", str(tmp / "bad.yaml"), *args, "--quiet", "--out", str(tmp / "new")]

    return make


def _train(*args):
    return lambda tmp, run: ["train", DIGITS, *TINY, *args, "--quiet", "--out", str(tmp / "new")]


def _transpose(a):
    a["W:input_h1"] = a["W:input_h1"].T.copy()


def _nan(a):
    a["W:h1_output"][3, 2] = np.nan


def _rename(a):
    a["W:pixels_h1"] = a.pop("W:input_h1")


def _other_architecture(a):
    a["W:input_h1"], a["W:h1_output"], a["b:h1"] = np.zeros((64, 32)), np.zeros((32, 10)), np.zeros(32)


DUPLICATE_RUN = b"""name: dup
model: {input: {size: 64}, hidden: [{size: 8}], output: {size: 10}}
run: {engine: numpy, epochs: 5}
data: {dataset: digits}
run: {seed: 3}
"""
LATIN1 = "name: d\u00e9j\u00e0\nmodel: {input: {size: 64}, output: {size: 10}}\n".encode("latin-1")

CASES = {
    # silent or lossy before
    "resume-changed-lr": Case(_resume_with("--set", "model.chain.lr=0.1"), ("--resume", "model.chain.lr", "--allow-changes"), keeps_run=True),
    "resume-changed-seed": Case(_resume_with("--seed", "5"), ("run.seed: 0 -> 5",), keeps_run=True),
    "resume-changed-size": Case(_resume_with("--set", "model.hidden=[{size: 8}]"), ("model.hidden",), keeps_run=True),
    "new-run-into-finished-run": Case(_new_run_into(), ("finished run", "--overwrite", "--resume"), keeps_run=True),
    "new-run-into-interrupted-run": Case(_new_run_into(True), ("interrupted run", "--overwrite"), keeps_run=True),
    "evaluate-transposed-weights-standalone": Case(
        lambda tmp, run: _with_weights("evaluate", _transpose)(tmp, run) + ["--engine", "brian2", "--device", "cpp_standalone"],
        ("'W:input_h1'", "shape (16, 64)", "(64, 16)", "transposed"), keeps_run=True,
    ),
    "evaluate-nan-weights": Case(_with_weights("evaluate", _nan), ("'W:h1_output'", "non-finite"), keeps_run=True),
    "analyze-nan-weights": Case(_with_weights("analyze", _nan), ("'W:h1_output'", "non-finite"), keeps_run=True),
    "adam-betas-out-of-range": Case(_train("--set", "optim.algorithm=adam", "--set", "optim.adam_betas=[-3, 7]"), ("optim.adam_betas", "[0, 1)")),
    "duplicate-yaml-key": Case(_spec_text(DUPLICATE_RUN), ("key 'run'", "given twice", "lines 3 and 5")),
    "name-leaves-runs": Case(_train("--set", "name=../../x"), ("key 'name'", "must not leave")),
    "brian2-divergence-threshold": Case(
        _train("--engine", "brian2", "--device", "runtime", "--target", "numpy", "--set", "data.n_train=20",
               "--set", "ep.divergence_threshold=2", "--set", "model.chain.lr=5"),
        ("layer 'h1' diverged", "ep.divergence_threshold", "training sample #"), refused=False,
    ),
    # tracebacks before
    "spec-not-utf8": Case(_spec_text(LATIN1), ("bad.yaml", "not UTF-8", "line 1")),
    "set-value-not-yaml": Case(_train("--set", "model.chain.lr=[0.1"), ("--set model.chain.lr", "not valid YAML")),
    "weights-of-another-architecture": Case(_with_weights("evaluate", _other_architecture), ("'W:input_h1'", "(64, 32)", "(64, 16)")),
    "weights-with-other-projection-names": Case(_with_weights("evaluate", _rename), ("'W:pixels_h1'", "'W:input_h1'", "does not fit")),
    "layer-name-not-ascii": Case(_train("--set", "model.hidden=[{size: 4, name: \u0127idden}]"), ("model.hidden[0].name", "ASCII")),
    "layer-names-collide-when-joined": Case(
        _train("--set", "model.hidden=[{size: 4, name: a}, {size: 4, name: b_c}, {size: 4, name: a_b}, {size: 4, name: c}]"),
        ("'a_b_c'", "'a -> b_c'", "'a_b -> c'"),
    ),
    "layer-name-shadows-readout": Case(_train("--set", "model.hidden=[{size: 4, name: readout}]"), ("model.hidden[0].name", "'readout'")),
    "hidden-layer-of-1e9": Case(_train("--set", "model.hidden=[{size: 1000000000}]"), ("model.hidden[0].size", "GiB", "memory")),
    "chunk-size-1e9-standalone": Case(
        _train("--engine", "brian2", "--device", "cpp_standalone", "--set", "run.chunk_size=1000000000"), ("run.chunk_size", "GiB"),
    ),
    "batch-size-1e9-standalone": Case(
        _train("--engine", "brian2", "--device", "cpp_standalone", "--set", "optim.batch_size=1000000000"),
        ("optim.batch_size", "GiB"),
    ),
    "free-steps-1e9": Case(_train("--set", "ep.free_steps=1000000000"), ("ep.free_steps", "100,000")),
    "init-gain-inf": Case(_train("--set", "model.chain.init.gain=.inf"), ("model.chain.init.gain", "finite")),
    # training that cannot learn: a warning, and the run goes on
    "network-that-cannot-learn": Case(
        _train("--set", "model.hidden=[{size: 128}, {size: 64}]", "--set", "model.readout.kind=none",
               "--set", "model.chain.init={scheme: zeros}", "--set", "model.neuron.bias=false", "--set", "data.n_train=40"),
        ("loss has not moved", "'h1' (every rate 0)", "fan_in_uniform"), rc=0, warning=True,
    ),
    "free-phase-not-settled": Case(
        _train("--set", "ep.free_steps=2", "--set", "data.n_train=40"), ("not settled", "ep.free_steps = 2", "ep.free_steps: "),
        rc=0, warning=True,
    ),
}
for _kind in ("truncated", "empty", "random", "object", "npy"):
    for _command in ("resume", "evaluate", "analyze"):
        CASES[f"{_kind}-npz-{_command}"] = Case(
            _broken(_kind, _command), ("checkpoint" if _command == "resume" else "weights file",), keeps_run=True,
        )


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_case(name, trained, tmp_path, capsys):
    case = CASES[name]
    argv = case.make(tmp_path, trained)
    run = tmp_path / "run"
    before = snapshot(run) if case.keeps_run else None
    rc, out, err = run_cli(argv, capsys)
    assert rc == case.rc, (rc, out, err)
    if case.warning:
        assert "Traceback" not in err
        warnings = [line for line in err.split("brian-ep: warning: ") if line.strip()]
        text = " ".join(" ".join(w.split()) for w in warnings)
        metrics = json.loads((tmp_path / "new" / "metrics.json").read_text())
        assert any(all(n in " ".join(w.split()) for n in case.needles) for w in metrics["warnings"]), metrics["warnings"]
    else:
        text = one_paragraph(err)
    for needle in case.needles:
        assert needle in text, (needle, text)
    if before is not None:
        assert snapshot(run) == before
    if case.rc == 2 and case.refused:
        assert not (tmp_path / "new").exists()


def test_the_docs_network_learns_with_the_default_init_and_says_so_when_it_cannot(tmp_path, capsys):
    """64-128-64-10 with the output read directly (issue 17: chance with the old default,
    Glorot, and no warning). The default initialisation learns; Glorot's is at chance after
    the first epoch, and the warning says that the output is saturated."""
    common = ["train", DIGITS, "--engine", "numpy", "--set", "model.hidden=[{size: 128}, {size: 64}]",
              "--set", "model.readout.kind=none", "--set", "run.epochs=1", "--set", "data.n_train=300",
              "--set", "data.n_test=50", "--set", "optim.lr_schedule=constant", "--quiet"]
    results = {}
    for init in ("{}", "{init: {scheme: glorot_uniform}}"):  # {}: every chain key at its default
        out = tmp_path / str(len(results))
        rc, _, err = run_cli([*common, "--set", f"model.chain={init}", "--out", str(out)], capsys)
        assert rc == 0 and "Traceback" not in err
        results[init] = (json.loads((out / "metrics.json").read_text()), " ".join(err.split()))
    default, glorot = results["{}"], results["{init: {scheme: glorot_uniform}}"]
    assert default[0]["epochs"][0]["train_accuracy"] > 0.25 and "chance" not in default[1]
    assert glorot[0]["epochs"][0]["train_accuracy"] < 0.15
    assert "training accuracy is" in glorot[1] and "of the rates of layer 'output' sit where 'hard_sigmoid' is flat" in glorot[1]
    assert any("chance" in w for w in glorot[0]["warnings"])
