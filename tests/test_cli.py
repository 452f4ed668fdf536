"""The ``brian-ep`` command line, called in-process: train, evaluate and the error paths."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from brian_ep.cli import main

REPO = Path(__file__).resolve().parents[1]
DIGITS = str(REPO / "network_specs" / "digits.yaml")
TINY = [
    "--engine", "numpy",
    "--set", "run.epochs=1",
    "--set", "data.n_train=100",
    "--set", "data.n_test=50",
    "--set", "run.chunk_size=50",
]


def assert_one_paragraph_error(err: str, *needles: str) -> str:
    """stderr holds one paragraph 'brian-ep: error: ...' and no traceback; returns it joined."""
    text = err.strip()
    assert text.startswith("brian-ep: error: "), err
    assert "Traceback" not in err
    assert "\n\n" not in text
    joined = " ".join(text.split())
    for needle in needles:
        assert needle in joined, (needle, joined)
    return joined


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One tiny training run through the command line (shared by the tests that read it)."""
    out = tmp_path_factory.mktemp("cli") / "run"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        rc = main(["train", DIGITS, *TINY, "--quiet", "--out", str(out)])
    return rc, stdout.getvalue(), out


def test_train_writes_run_directory(trained_run):
    rc, stdout, out = trained_run
    assert rc == 0
    for name in ("weights.npz", "metrics.json", "metrics.csv", "spec.yaml", "environment.json", "COMPLETE",
                 "figures/learning_curves.png"):
        assert (out / name).is_file(), name
    assert (out / "figures" / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["epochs"]) == 1 and metrics["engine"] == "numpy"
    final = metrics["epochs"][-1]["test_accuracy"]
    match = re.search(r"brian-ep: final test accuracy (\d+\.\d\d)% after 1 epochs", stdout)
    assert match, stdout
    assert match.group(1) == f"{100 * final:.2f}"
    assert f"run directory {out}" in stdout
    assert "training 'digits' (numpy" in stdout
    # --quiet: no per-epoch lines
    assert "epoch   1/1" not in stdout


def test_evaluate_run_directory_matches_metrics(trained_run, capsys):
    _, _, out = trained_run
    rc = main(["evaluate", str(out), "--engine", "numpy", "--set", "data.n_test=50"])
    assert rc == 0
    printed = capsys.readouterr().out.strip()
    final = json.loads((out / "metrics.json").read_text())["epochs"][-1]["test_accuracy"]
    assert printed == f"test accuracy: {100 * final:.2f}%"
    assert re.fullmatch(r"test accuracy: \d{1,3}\.\d\d%", printed)


def test_evaluate_with_spec_and_weights_train_split(trained_run, capsys):
    _, _, out = trained_run
    rc = main(["evaluate", str(out / "spec.yaml"), "--weights", str(out / "weights.npz"), "--split", "train"])
    assert rc == 0
    printed = capsys.readouterr().out.strip()
    assert re.fullmatch(r"train accuracy: \d{1,3}\.\d\d%", printed)
    assert 0.0 <= float(printed.split()[-1].rstrip("%")) <= 100.0


def test_train_resume_of_complete_run_keeps_result(trained_run, tmp_path, capsys):
    _, stdout, out = trained_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    rc = main(["train", DIGITS, *TINY, "--quiet", "--resume", "--out", str(copy)])
    assert rc == 0
    again = capsys.readouterr().out
    first = re.search(r"final test accuracy (\S+)%", stdout).group(1)
    assert re.search(r"final test accuracy (\S+)%", again).group(1) == first


# -- error paths: exit status 2, one paragraph, no traceback -----------------------------------------
def test_set_without_equals(tmp_path, capsys):
    rc = main(["train", DIGITS, "--engine", "numpy", "--quiet", "--set", "run.epochs", "--out", str(tmp_path / "r")])
    assert rc == 2
    captured = capsys.readouterr()
    assert_one_paragraph_error(captured.err, "--set expects KEY=VALUE", "'run.epochs'")
    assert not (tmp_path / "r").exists()


def test_resume_without_checkpoint(tmp_path, capsys):
    out = tmp_path / "empty"
    out.mkdir()
    rc = main(["train", DIGITS, *TINY, "--quiet", "--resume", "--out", str(out)])
    assert rc == 2
    assert_one_paragraph_error(capsys.readouterr().err, "--resume", "no checkpoint", str(out))
    assert list(out.iterdir()) == []


def test_evaluate_missing_weights_file(tmp_path, capsys):
    missing = tmp_path / "nope.npz"
    rc = main(["evaluate", DIGITS, "--engine", "numpy", "--weights", str(missing)])
    assert rc == 2
    assert_one_paragraph_error(capsys.readouterr().err, "weights file", str(missing), "not found")


def test_evaluate_run_directory_without_weights(tmp_path, capsys):
    rc = main(["evaluate", str(tmp_path), "--engine", "numpy"])
    assert rc == 2
    assert_one_paragraph_error(capsys.readouterr().err, str(tmp_path / "weights.npz"), "not found")


def test_evaluate_without_weights(capsys):
    rc = main(["evaluate", DIGITS, "--engine", "numpy"])
    assert rc == 2
    assert_one_paragraph_error(capsys.readouterr().err, "--weights")


@pytest.mark.parametrize("args,key", [
    (["--epochs", "1", "--set", "run.epochs=abc"], "run.epochs"),
    (["--epochs", "1", "--set", "run.epochs=3"], "run.epochs"),
    (["--seed", "0", "--set", "run.seed=abc"], "run.seed"),
    (["--engine", "numpy", "--set", "run.engine=bogus"], "run.engine"),
])
def test_a_flag_and_set_of_the_same_key_must_agree(tmp_path, capsys, args, key):
    """Issue 27: neither value is dropped without a word; nothing is written."""
    out = tmp_path / "r"
    rc = main(["train", DIGITS, "--quiet", *args, "--out", str(out)])
    assert rc == 2
    assert_one_paragraph_error(capsys.readouterr().err, f"'{key}' two different values", "give it once")
    assert not out.exists()


def test_a_flag_and_set_of_the_same_value_are_one(tmp_path, capsys):
    rc = main(["train", DIGITS, *TINY, "--epochs", "1", "--quiet", "--out", str(tmp_path / "r")])
    assert rc == 0, capsys.readouterr().err


def test_bad_spec_key(tmp_path, capsys):
    rc = main(["train", DIGITS, "--engine", "numpy", "--quiet", "--set", "run.epochs=-1", "--out", str(tmp_path / "r")])
    assert rc == 2
    assert_one_paragraph_error(capsys.readouterr().err, "run.epochs")


def test_divergent_run(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main([
        "train", DIGITS, *TINY, "--quiet", "--out", str(out),
        "--set", "model.chain.lr=1e6", "--set", "ep.divergence_threshold=10",
    ])
    assert rc == 2
    captured = capsys.readouterr()
    msg = assert_one_paragraph_error(captured.err, "diverged", "(epoch 1)")
    assert re.search(r"layer '(h1|output)'", msg), msg
    assert re.search(r"sample \d+", msg), msg
    assert not (out / "COMPLETE").exists()
    assert not (out / "weights.npz").exists()


# -- resume on purpose, argument combinations, bugs ----------------------------------------------
def test_resume_with_allowed_changes_continues_and_records_them(trained_run, tmp_path, capsys):
    _, _, out = trained_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    rc = main(["train", DIGITS, *TINY, "--set", "run.epochs=2", "--quiet", "--resume", "--out", str(copy),
               "--allow-changes", "run.epochs"])
    assert rc == 0, capsys.readouterr().err
    metrics = json.loads((copy / "metrics.json").read_text())
    assert [row["epoch"] for row in metrics["epochs"]] == [1, 2]
    history = json.loads((copy / "history.json").read_text())
    assert [h["event"] for h in history] == ["start", "resume"]
    assert history[-1]["changes"] == {"run.epochs": [1, 2]}
    assert "--allow-changes run.epochs" in history[-1]["command"]
    assert "epochs: 2" in (copy / "spec.yaml").read_text() and (copy / "COMPLETE").exists()


def test_resume_refuses_an_allowed_name_that_is_no_spec_key(trained_run, tmp_path, capsys):
    _, _, out = trained_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in copy.rglob("*") if p.is_file()}
    rc = main(["train", DIGITS, *TINY, "--quiet", "--resume", "--out", str(copy), "--allow-changes", "nosuch.key"])
    assert rc == 2
    assert_one_paragraph_error(capsys.readouterr().err, "'nosuch.key' is not a key or section of the spec", "run")
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in copy.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(
    "extra, needle",
    [(["--resume", "--overwrite"], "give one of them"), (["--allow-changes", "run.epochs"], "only applies with --resume")],
)
def test_contradictory_arguments(trained_run, extra, needle, capsys):
    _, _, out = trained_run
    rc = main(["train", DIGITS, *TINY, "--quiet", "--out", str(out), *extra])
    assert rc == 2
    assert_one_paragraph_error(capsys.readouterr().err, needle)


def test_a_bug_is_one_paragraph_without_traceback_unless_debug(monkeypatch, capsys, tmp_path):
    import importlib
    import sys

    def broken(*args, **kwargs):
        raise RuntimeError("something inside broke")

    monkeypatch.setattr(importlib.import_module("brian_ep.train"), "train", broken)
    def users_hook(*exc_info):  # e.g. Brian2's, or a script's own
        pass

    monkeypatch.setattr(sys, "excepthook", users_hook)
    argv = ["train", DIGITS, *TINY, "--quiet", "--out", str(tmp_path / "r")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("brian-ep: internal error: RuntimeError: something inside broke")
    assert "--debug" in err and "Traceback" not in err and "Brian 2" not in err
    assert sys.excepthook is users_hook  # main returned: the caller's hook is left as it was
    with pytest.raises(RuntimeError, match="something inside broke"):
        main(argv + ["--debug"])
    assert sys.excepthook is sys.__excepthook__  # the raised bug is printed without Brian2's banner


def test_main_leaves_the_excepthook_as_it_was(trained_run, monkeypatch, capsys):
    """After a finished command, an error and a refused argument, a script that called
    main() keeps its excepthook (Brian2's, say)."""
    import sys

    def users_hook(*exc_info):
        pass

    monkeypatch.setattr(sys, "excepthook", users_hook)
    _, _, out = trained_run
    assert main(["evaluate", str(out), "--engine", "numpy", "--set", "data.n_test=50"]) == 0
    assert sys.excepthook is users_hook
    assert main(["train", DIGITS, *TINY, "--quiet", "--out", str(out)]) == 2  # the run exists
    assert sys.excepthook is users_hook
    capsys.readouterr()
