"""Code generation for ``cuda_standalone`` (brian2cuda; Python 3.12 with brian2 2.10.1),
without a GPU or nvcc: the projects are generated with ``compile=False`` and their sources
checked. brian2cuda's synapse template refers to ``defaultclock`` in every pathway that needs
atomics, which does not compile when the network does not use the default clock; brian_ep's
input therefore reaches its layers without a synaptic pathway under this device (a summed
variable and a per-window update), and nvcc and the host compiler get ``-std=c++17`` (CUDA 13's
Thrust refuses older standards, also in the host pass)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("brian2cuda")
pytestmark = pytest.mark.compiles  # writes cuda_standalone projects (code generation, no compiler)

from brian2 import prefs  # noqa: E402

from brian_ep.architecture import build_architecture  # noqa: E402
from brian_ep.brian.builder import build_network  # noqa: E402
from brian_ep.brian.program import StandaloneProgram, standalone_device  # noqa: E402
from brian_ep.spec import load_spec  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
GPU_PREFS = {  # no GPU to detect on a CPU machine: name one
    "devices.cuda_standalone.cuda_backend.detect_gpus": False,
    "devices.cuda_standalone.cuda_backend.gpu_id": 0,
    "devices.cuda_standalone.cuda_backend.compute_capability": 9.0,
}


@pytest.fixture
def no_gpu_prefs():
    previous = {key: prefs[key] for key in GPU_PREFS}
    for key, value in GPU_PREFS.items():
        prefs[key] = value
    yield
    for key, value in previous.items():
        prefs[key] = value


@pytest.mark.parametrize("kind", ["train", "predict"])
def test_cuda_project_generates_without_default_clock_references(kind, no_gpu_prefs, tmp_path):
    spec = load_spec(REPO / "network_specs" / "digits.yaml", {"model.hidden": [{"size": 8}], "run.brian2.device": "cuda_standalone"})
    arch = build_architecture(spec)
    device_class, _ = standalone_device(spec.run.engine_options("brian2").device)
    assert device_class.__name__ == "CUDAStandaloneDevice"
    program = StandaloneProgram(device_class, kind, tmp_path)
    net = program.build(lambda: build_network(arch, spec.ep, spec.optim, 4, predict=kind == "predict"), compile=False)
    assert "deliver" not in net.code.get("input_h1.deliver", "")  # no input pathway under CUDA
    project = Path(program.directory)
    sources = sorted((project / "code_objects").glob("*.cu"))
    assert any("input_h1_summed_variable_I_in_post" in s.name for s in sources)
    assert not [s.name for s in sources if "push_spikes" in s.name or "_deliver" in s.name or "_learn" in s.name]
    offenders = [s.name for s in sources if "defaultclock" in s.read_text()]
    assert offenders == []
    nvcc_flags = next(line for line in (project / "makefile").read_text().splitlines() if line.startswith("NVCCFLAGS"))
    assert "-std=c++17" in nvcc_flags
    host = nvcc_flags.split("-Xcompiler", 1)[1]  # the flags nvcc hands to the host compiler
    assert "-std=c++17" in host and "-std=c++11" not in host
    if kind == "train":
        assert any("input_h1_ep_codeobject" in s.name for s in sources)  # the input's EP update, once a window
