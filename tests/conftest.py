"""Shared fixtures: small specs, the Brian2 device switch, and the data location.

Device markers (declared in ``pyproject.toml``), as in Brian2's own suite: a test marked
``standalone_compatible`` runs twice, under Brian2's runtime device and under
``cpp_standalone``; one marked ``standalone_only`` runs under ``cpp_standalone`` only. The
autouse fixture :func:`brian_device` selects the device before the test and resets it
afterwards, so the test body itself never calls ``set_device``.

The ``compiles`` marker: the ``cpp_standalone`` cases of those tests get it here; a test that
compiles in another way (the Cython target, a spec with ``run.device: cpp_standalone``,
``torch.compile``) is marked by hand, and one that compiles without the marker fails
(:mod:`compile_guard`). ``python -m pytest -m "not compiles"`` is the fast inner loop.

Compiled programs: the session's tests share one program cache (:func:`program_cache`), so
tests whose programs differ only in run arguments compile once."""

# ruff: noqa: E402  (the thread variables below are set before numpy and torch are imported)
from __future__ import annotations

import copy
import importlib.util
import os

# One thread for torch's intra-op pool and OpenMP/BLAS, unless the caller chose: the tests'
# tensors are tiny, and on 2 shared cores a second thread spins while it waits (issue 30: a
# torch-equivalence case took 4 s of CPU with 2 threads, 0.08 s with 1). Set before numpy and
# torch are imported; training child processes inherit it (compare's already use 1).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
import re
from pathlib import Path

import compile_guard
import numpy as np
import pytest

from brian_ep.architecture import build_architecture
from brian_ep.spec import load_spec

DEVICES = {"standalone_compatible": ("runtime", "cpp_standalone"), "standalone_only": ("cpp_standalone",)}

#: the most pytest-xdist workers ``-n auto`` starts (:func:`pytest_xdist_auto_num_workers`)
MAX_WORKERS = 8
REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def real_data_dir(name: str):
    """The folder holding the real IDX files of data set ``name`` ($BRIAN_EP_DATA, then
    ../shared/data), or None where neither has them (the tests that need them are skipped)."""
    from brian_ep.data import DATA_ENV_VAR, find_data_dir
    from brian_ep.errors import DataError

    env = os.environ.get(DATA_ENV_VAR)
    for place in [*(env.split(os.pathsep) if env else []), SHARED_DATA]:
        try:
            find_data_dir(name, directory=place)
            return Path(place)
        except DataError:
            pass
    return None


def small_spec(**over):
    """A small network spec; keyword arguments are dotted overrides (``ep__beta=0.1``)."""
    base = {
        "name": "small",
        "model": {
            "input": {"size": 6},
            "hidden": [{"size": 5}, {"size": 4}],
            "output": {"size": 3},
            "neuron": {"activation": "sigmoid", "tau": "1 ms"},
            "chain": {"gamma": 1.0, "lr": 0.05, "init": {"scheme": "glorot_uniform", "gain": 1.5}},
        },
        "ep": {"dt": "0.5 ms", "free_steps": 20, "nudged_steps": 8, "beta": 0.2},
        "data": {"dataset": "digits"},
    }
    return load_spec(base, overrides={k.replace("__", "."): v for k, v in over.items()})


def conv_spec(**over):
    """A tiny convolutional network: a 1x6x6 image, a 3x3 convolution with average pooling
    into 2x3x3, a 3x3 convolution into 3x3x3, a dense output of 3 (numpy engine); keyword
    arguments are dotted overrides as for :func:`small_spec`."""
    base = {
        "name": "tiny_conv",
        "model": {
            "input": {"shape": [1, 6, 6]},
            "hidden": [{"name": "c1", "shape": [2, 3, 3]}, {"name": "c2", "shape": [3, 3, 3]}],
            "output": {"size": 3},
            "neuron": {"activation": "sigmoid", "tau": "1 ms"},
            "chain": {"gamma": 1.0, "lr": 0.05, "init": {"gain": 1.5}},
            "projections": [
                {"pre": "input", "post": "c1", "conv": {"kernel": 3, "padding": 1, "pool": "avg"}},
                {"pre": "c1", "post": "c2", "conv": {"kernel": 3, "padding": 1}},
            ],
        },
        "ep": {"dt": "0.5 ms", "free_steps": 20, "nudged_steps": 8, "beta": 0.2},
        "data": {"dataset": "digits"},
        "run": {"engine": "numpy"},
    }
    return load_spec(base, overrides={k.replace("__", "."): v for k, v in over.items()})


def spiking_spec(neuron=None, ep=None, **model):
    """A 10-8-4 network of Bernoulli spiking neurons (MSE output), 30 free and 2 x 10 nudged
    steps; ``neuron``, ``ep`` and ``model`` keys replace the defaults."""
    m = {
        "input": {"size": 10}, "hidden": [{"size": 8}], "output": {"size": 4},
        "neuron": {"model": "bernoulli", **(neuron or {})}, "chain": {"init": {"scheme": "glorot_uniform", "gain": 0.5}},
    }
    m.update(model)
    return load_spec({"model": m, "ep": {"dt": "0.5 ms", "free_steps": 30, "nudged_steps": 10, "beta": 0.5, **(ep or {})}})


def fuzz_examples(full: int, fast: int) -> int:
    """Hypothesis examples of a fuzz test: ``fast`` in the default run (the fast loop), ``full``
    under ``-m long`` or with ``HYPOTHESIS_PROFILE=long`` (set here by :func:`pytest_configure`
    when ``-m`` names ``long``). Read when a test module is imported (its ``@settings``)."""
    return full if os.environ.get("HYPOTHESIS_PROFILE") == "long" else fast


def pytest_configure(config):
    """``-m long`` also runs the fuzz tests at their full number of examples (:func:`fuzz_examples`)."""
    if re.search(r"(?<!not )\blong\b", config.option.markexpr or ""):  # -m long, not -m "not long"
        os.environ.setdefault("HYPOTHESIS_PROFILE", "long")
    if os.environ.get("HYPOTHESIS_PROFILE") == "long":
        from hypothesis import settings

        settings.register_profile("long", deadline=None)
        settings.load_profile("long")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def load_module(path: Path, name: str):
    """A module loaded from its file (a test module of another folder, an example: the
    test directories are not packages)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def arch_of(spec):
    return build_architecture(spec)


def random_problem(spec, seed=0, n=3):
    """Architecture, random weights and biases, inputs in [0, 1) and one-hot targets."""
    from brian_ep import maths

    arch = build_architecture(spec)
    rng = np.random.default_rng(seed)
    params = maths.init_params(arch, rng)
    for k in params.b:
        params.b[k] = rng.normal(0, 0.3, size=params.b[k].shape)
    x = rng.random((n, arch.input.size))
    y = np.eye(arch.output.size)[rng.integers(0, arch.output.size, n)]
    return arch, params, x, y


@pytest.fixture(scope="session")
def data_dir():
    """Where MNIST / Fashion-MNIST live, if anywhere: $BRIAN_EP_DATA or ../shared/data."""
    env = os.environ.get("BRIAN_EP_DATA")
    if env and Path(env).exists():
        return Path(env)
    if SHARED_DATA.exists():
        return SHARED_DATA
    return None


@pytest.fixture(scope="session", autouse=True)
def program_cache(tmp_path_factory):
    """The compiled-program cache of this test session (``BRIAN_EP_CACHE``): a folder of the
    session, shared by its pytest-xdist workers (the cache is safe under concurrent use, so a
    program two workers need is compiled once), or ``$BRIAN_EP_TEST_CACHE`` to keep the
    programs between sessions (a faster inner loop; the cache's own tests use folders of
    their own)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # each worker's base is a folder of the session's
        base = base.parent
    folder = os.environ.get("BRIAN_EP_TEST_CACHE") or str(base / "programs")
    Path(folder).mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BRIAN_EP_CACHE", folder)
        yield Path(folder)


def pytest_xdist_auto_num_workers(config):
    """The number of pytest-xdist workers of ``-n auto`` (``addopts`` in ``pyproject.toml``).

    ``$PYTEST_XDIST_AUTO_NUM_WORKERS`` if set. Else none (``-n 0``: the tests run in the main
    process) when the command names test files only (``python -m pytest tests/x.py -x``: a
    worker would spend more time importing Brian2 and torch than it saves) or this process
    may use one core; else one per core, at most :data:`MAX_WORKERS` (each worker imports
    Brian2 and torch, about 1 GB; the slowest tests, which compile, bound the wall time beyond
    that). ``-n N`` on the command line asks for ``N`` workers whatever is named."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS", "").strip():
        return int(os.environ["PYTEST_XDIST_AUTO_NUM_WORKERS"])
    here = config.invocation_params.dir
    named = [here / arg.split("::")[0] for arg in config.args]
    if named and all(path.is_file() for path in named):
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 0 if cores < 2 else min(cores, MAX_WORKERS)


def pytest_report_header(config):
    """The versions a run tested (Python is in pytest's own header), so that each ``.ci/run``
    job's log says what it ran on: brian2, numpy, and torch and brian2cuda where installed."""
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in ("brian2", "numpy", "torch", "brian2cuda"):
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} absent")
    return "brian_ep versions: " + ", ".join(found)


def pytest_generate_tests(metafunc):
    """Run device-marked tests under each device their marker allows; a case under a
    standalone device is marked ``compiles``."""
    for marker, devices in DEVICES.items():
        if metafunc.definition.get_closest_marker(marker) is not None:
            cases = [pytest.param(d, marks=() if d == "runtime" else pytest.mark.compiles) for d in devices]
            metafunc.parametrize("brian_device", cases, indirect=True)
            return


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's worker reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    """``long`` tests stay out of every run whose ``-m`` expression does not name them (the
    default run, and ``-m "not compiles"`` too: a ``-m`` option replaces the one in addopts).
    The tests of a module with a module-scoped fixture share one pytest-xdist worker
    (:func:`_group_shared_fixtures`)."""
    _group_shared_fixtures(items)
    _heavy_first(items)
    if "long" in (config.option.markexpr or ""):
        return
    long = [item for item in items if item.get_closest_marker("long") is not None]
    if long:
        config.hook.pytest_deselected(items=long)
        items[:] = [item for item in items if item.get_closest_marker("long") is None]


#: test files whose tests start processes or run examples (seconds each): scheduled early
HEAVY_FILES = ("test_examples.py", "test_torch_distributed.py", "test_entry_points.py", "test_interrupts.py")


def _heavy_first(items) -> None:
    """Put the long work units first: the compiling tests, then the groups that share a
    module-scoped fixture, then the files of :data:`HEAVY_FILES`, then the rest, each in its
    collection order (a stable sort). pytest-xdist hands out work units in this order, so the
    short tests fill the end of the run on both workers instead of one worker finishing a
    long unit alone (longest first). The order changes no result: the tests are independent
    (``tests/test_workers.py``)."""
    def rank(item) -> int:
        if item.get_closest_marker("compiles") is not None:
            return 0
        if item.get_closest_marker("xdist_group") is not None:
            return 1
        return 2 if item.path.name in HEAVY_FILES else 3

    items.sort(key=rank)


def _group_shared_fixtures(items) -> None:
    """Mark the tests that use a module- or class-scoped fixture ``xdist_group(<their file>)``,
    so that under ``--dist loadgroup`` (``pyproject.toml``) one worker runs them all and the
    fixture (a comparison, a compiled program, a trained run) is made once, not once per
    worker. The other tests are spread over the workers one by one."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        defs = getattr(info, "name2fixturedefs", {}) if info is not None else {}
        if any(d.scope in ("module", "class", "package") for fixture in defs.values() for d in fixture):
            item.add_marker(pytest.mark.xdist_group(item.path.name))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    """Fixtures (a module-scoped one on its first test) that compile need the marker too."""
    compile_guard.install_if_loaded()
    before = compile_guard.compilations()
    result = yield
    compile_guard.check(item, before, "setup")
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A test that generates or compiles code without the ``compiles`` marker fails."""
    before = compile_guard.compilations()
    result = yield
    compile_guard.check(item, before, "call")
    return result


@pytest.fixture(autouse=True)
def brian_prefs():
    """Brian2's preferences (``prefs.codegen.target`` and the rest) as they were before the
    test, restored after it: a test that sets one does not change the tests that follow it,
    whichever they are (pytest-xdist runs each worker's share of the suite in its own order)."""
    from brian2 import prefs

    saved = {name: copy.copy(value) for name, value in prefs.prefs.items()}
    yield
    prefs.prefs.update(saved)


@pytest.fixture(autouse=True)
def brian_device(request, tmp_path):
    """The Brian2 device of this test: ``"runtime"`` (nothing changes) or ``"cpp_standalone"``,
    set with ``build_on_run=False`` in a temporary directory and reset after the test."""
    name = getattr(request, "param", "runtime")
    if name == "runtime":
        yield name
        return
    from brian2 import device, set_device
    from brian2.devices.device import reset_device

    set_device("cpp_standalone", build_on_run=False, directory=str(tmp_path / "standalone"))
    try:
        yield name
    finally:
        device.reinit()
        reset_device("runtime")
