"""Data-parallel training (issue 20, item 5): two CPU processes launched with ``torchrun``
(gloo) train the same weights as one process with the same global mini-batch (float64, to
1e-10), through the command line, and only one of them writes the run directory.

The spec makes the split uneven on purpose: mini-batches of 7 samples (4 + 3 per process),
a last mini-batch of 2 (1 + 1), Adam, random nudging signs and a cosine schedule, with
checkpoints between chunks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import brian_ep
from brian_ep.maths.params import Params
from brian_ep.spec import load_spec

pytest.importorskip("torch", reason="data-parallel training needs torch")
REPO = Path(__file__).resolve().parents[2]
OVERRIDES = {
    "run.engine": "torch", "run.dtype": "float64", "run.epochs": 2, "run.chunk_size": 14, "data.n_train": 30,
    "data.n_test": 20, "optim.batch_size": 7, "optim.algorithm": "adam", "optim.lr_schedule": "cosine",
    "ep.nudging": "random_sign", "ep.free_steps": 8, "ep.nudged_steps": 4, "model.hidden": [{"size": 16}],
}


def _torchrun(out: Path, nproc: int) -> subprocess.CompletedProcess:
    sets = [a for k, v in OVERRIDES.items() for a in ("--set", f"{k}={json.dumps(v)}")]
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
        "-m", "brian_ep.cli", "train", str(REPO / "network_specs" / "digits.yaml"), "--out", str(out), "--quiet", *sets,
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_two_processes_train_the_weights_of_one(tmp_path):
    two = _torchrun(tmp_path / "two", 2)
    assert two.returncode == 0, two.stderr[-3000:]
    assert two.stdout.count("final test accuracy") == 1  # one process reports
    one = brian_ep.train(load_spec(REPO / "network_specs" / "digits.yaml", OVERRIDES), out=tmp_path / "one", progress=False)
    got = Params.load(tmp_path / "two" / "weights.npz")
    initial = brian_ep.maths.initial_params(brian_ep.build_architecture(load_spec(REPO / "network_specs" / "digits.yaml", OVERRIDES)), 0)
    assert one.params.max_abs_diff(initial) > 1e-3  # it learned
    scale = max(float(np.max(np.abs(w))) for w in one.params.W.values())
    assert got.max_abs_diff(one.params) < 1e-10 * scale
    rows_two = json.loads((tmp_path / "two" / "metrics.json").read_text())["epochs"]
    for a, b in zip(rows_two, one.metrics["epochs"]):  # outputs gathered from both processes
        assert a["train_accuracy"] == b["train_accuracy"] and a["test_accuracy"] == b["test_accuracy"]
        assert abs(a["train_loss"] - b["train_loss"]) < 1e-10
    assert (tmp_path / "two" / "COMPLETE").exists()
