"""The backprop baseline of the depth table (torch autograd)."""

import numpy as np
import pytest

from brian_ep.spec import load_spec

torch = pytest.importorskip("torch", reason="the backprop baseline needs torch")

from brian_ep.baselines import train_backprop  # noqa: E402


def _spec(**over):
    base = {
        "model": {
            "input": {"size": 64},
            "hidden": {"count": 2, "size": 32},
            "output": {"size": 10},
            "neuron": {"activation": "tanh", "bias": False},
            "chain": {"lr": 0.003},
            "readout": {"kind": "softmax"},
        },
        "optim": {"algorithm": "adam", "batch_size": 32},
        "data": {"dataset": "digits", "n_train": 600},
        "run": {"epochs": 4, "seed": 3},
    }
    return load_spec(base, overrides=over)


@pytest.fixture(scope="module")
def seed3():
    """One training of the default spec (seed 3), shared by the tests that read it."""
    return train_backprop(_spec())


def test_backprop_learns_digits(seed3):
    result = seed3
    assert len(result.test_accuracy) == 4
    assert result.final_test_accuracy > 0.85
    assert result.train_loss[-1] < result.train_loss[0]


def test_backprop_is_deterministic_for_a_seed():
    """Two trainings with one seed agree, another seed differs (one epoch of 200 samples: the
    determinism does not depend on the length of the training)."""
    short = {"run.epochs": 1, "data.n_train": 200}
    a = train_backprop(_spec(**short))
    b = train_backprop(_spec(**short))
    c = train_backprop(_spec(**short, **{"run.seed": 4}))
    assert a.test_accuracy == b.test_accuracy and a.train_loss == b.train_loss
    assert a.train_loss != c.train_loss


def test_backprop_with_mse_output_layer():
    result = train_backprop(_spec(**{"model.readout": {"kind": "none"}, "model.neuron": {"activation": "tanh"},
                                     "optim.algorithm": "sgd", "optim.batch_size": 8, "model.chain.lr": 0.1}))
    assert result.final_test_accuracy > 0.8
    assert np.isfinite(result.train_loss).all()
