"""The torch engine's mini-batch function (:func:`~brian_ep.engines.torch_engine.batch.ep_batch`)
must never read a device value on the host: on a GPU such a read waits for the device, and
inside a CUDA graph capture (``run.torch.cuda_graphs``) it invalidates the capture
(``cudaErrorStreamCaptureInvalidated``, seen on an H200 before this test existed: indexing
with an array scalar in ``divergence_summary``). Checked on the CPU by recording the aten
operations that do such reads on CUDA."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from conftest import load_module  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

from brian_ep.architecture import build_architecture  # noqa: E402
from brian_ep.engines.torch_engine.batch import make_batch_function  # noqa: E402
from brian_ep.engines.torch_engine.tensors import params_to_torch  # noqa: E402
from brian_ep.maths import initial_params  # noqa: E402
from brian_ep.spec import load_spec  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
#: aten operations that copy a device value to the host (or host data to the device) on CUDA
HOST_READS = {"_local_scalar_dense", "item", "nonzero", "masked_select", "is_nonzero", "equal", "lift_fresh", "_assert_async"}


TARGETS = load_module(REPO / "tests" / "brian" / "test_targets.py", "targets_for_sync")


class HostReads(TorchDispatchMode):
    """Records the host-reading operations dispatched while it is active."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.__name__.split(".")[0] in HOST_READS:
            self.seen.append(func.__name__)
        return func(*args, **(kwargs or {}))


def _host_reads(spec, signs=False):
    arch = build_architecture(spec)
    params = params_to_torch(initial_params(arch, 0), torch.float64)
    _, batch = make_batch_function(arch, spec.ep)
    gen = torch.Generator().manual_seed(0)
    n = 5
    x = torch.rand(n, arch.input.size, generator=gen, dtype=torch.float64)
    y = torch.eye(arch.output.size, dtype=torch.float64)[torch.randint(0, arch.output.size, (n,), generator=gen)]
    s = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0).double() if signs else None
    with HostReads() as spy:
        grads_W, _, out, summary = batch(params.W, params.b, x, y, s, None)
    assert out.shape == (n, arch.output.size) and summary.ndim == 3  # the batch really ran
    return spy.seen


@pytest.mark.parametrize("config", sorted(TARGETS.CONFIGS))
def test_mini_batch_reads_nothing_on_the_host(config):
    spec = TARGETS._spec(**TARGETS.CONFIGS[config])
    assert _host_reads(spec, signs=spec.ep.nudging == "random_sign") == []


def test_conv_mini_batch_reads_nothing_on_the_host():
    spec = load_spec(REPO / "network_specs" / "conv" / "fashion_crnn.yaml",
                     overrides={"run.dtype": "float64", "ep.free_steps": 3, "ep.nudged_steps": 2})
    assert _host_reads(spec) == []


def test_the_recorder_sees_a_host_read():
    """The check can fail: indexing with an array scalar (the bug it guards) is recorded."""
    v, i = torch.arange(4.0), torch.tensor(2)
    with HostReads() as spy:
        v[i].item()
    assert "_local_scalar_dense.default" in spy.seen
