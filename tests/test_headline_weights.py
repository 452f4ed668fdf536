"""The committed weights of the headline spiking runs re-evaluate to their reported accuracy.

``docs/results/stochep/headline.json`` lists each headline run: its spec and overrides, the
committed weights file with its SHA-256, the final-epoch test accuracy the run reported, and
the accuracy of the same weights on the first ``slice.n_test`` test samples, measured when the
weights were committed with the command the entry names. Evaluation of a spiking network
draws its spikes from the spec's seed, so it is reproducible; the tolerance allows for
floating-point differences between numpy builds (float32 sums in another order can flip a
spike), not for another model.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from conftest import real_data_dir

from brian_ep.data import DATA_ENV_VAR

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "docs" / "results" / "stochep" / "headline.json"
TOLERANCE = 0.005  # 5 of 1,000 samples


def _runs():
    return json.loads(MANIFEST.read_text())["runs"]


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_the_manifest_names_committed_weights_with_their_checksums():
    runs = _runs()
    assert runs, "no headline run listed"
    for run in runs:
        weights = ROOT / run["weights"]
        assert weights.is_file(), f"{run['name']}: {run['weights']} is not committed"
        assert _sha256(weights) == run["sha256"], f"{run['name']}: {run['weights']} changed since it was recorded"
        assert (ROOT / run["spec"]).is_file()
        assert 0.0 < run["slice"]["accuracy"] <= 1.0 and 0.0 < run["test_accuracy"] <= 1.0
        assert run["weights"] in run["command"] and run["spec"] in run["command"]


def _marks(run):
    """Skip where the data set is missing; mark ``compiles`` a run that re-evaluates in a
    compiled Brian2 program (a ``cpp_standalone`` training is re-evaluated where it trained)."""
    from brian_ep.spec import load_spec

    marks = [pytest.mark.skipif(
        real_data_dir(run["dataset"]) is None,
        reason=f"{run['dataset']} IDX files not found in ${DATA_ENV_VAR} or ../shared/data")]
    spec = load_spec(ROOT / run["spec"], overrides=run["overrides"])
    if spec.run.engine == "brian2" and spec.run.engine_options().device != "runtime":
        marks.append(pytest.mark.compiles)
    return marks


@pytest.mark.parametrize("run", [pytest.param(run, id=run["name"], marks=_marks(run)) for run in _runs()])
def test_committed_weights_re_evaluate_to_the_recorded_accuracy(run, monkeypatch):
    from brian_ep.spec import load_spec
    from brian_ep.train import evaluate

    monkeypatch.setenv(DATA_ENV_VAR, str(real_data_dir(run["dataset"])))
    n = run["slice"]["n_test"]
    spec = load_spec(ROOT / run["spec"], overrides={**run["overrides"], "data.n_test": n})
    accuracy = evaluate(spec, ROOT / run["weights"])
    assert abs(accuracy - run["slice"]["accuracy"]) <= TOLERANCE, (
        f"{run['name']}: {accuracy:.4f} on the first {n} test samples, recorded {run['slice']['accuracy']:.4f}")
