"""The ``compiles`` marker (``tests/conftest.py``, ``tests/compile_guard.py``): the standalone
cases of device-marked tests carry it and their runtime cases do not, ``-m "not compiles"``
leaves them and the ``long`` tests out, and a test that compiles without it fails."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import compile_guard
import pytest

TESTS = Path(__file__).resolve().parent
TARGETS = TESTS / "brian" / "test_targets.py"


class _Collected:
    """A plugin that keeps the node ids and marker names of the items a session selected."""

    def __init__(self):
        self.items = {}

    def pytest_collection_finish(self, session):
        self.items = {item.nodeid.split("::", 1)[1]: {m.name for m in item.iter_markers()} for item in session.items}


def _collect(*args) -> dict:
    plugin = _Collected()
    code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "-n", "0", "--rootdir", str(TESTS.parent), *args],
                       plugins=[plugin])
    assert code == 0, f"collection failed with exit code {code}"
    return plugin.items


@pytest.fixture(scope="module")
def collected():
    """The items of two Brian2 test files, in the default run and in the fast loop."""
    files = [str(TESTS / "brian" / "test_targets.py"), str(TESTS / "brian" / "test_spiking.py")]
    return _collect(*files), _collect("-m", "not compiles", *files)


def test_standalone_cases_carry_the_marker_and_runtime_cases_do_not(collected):
    items = collected[0]
    standalone = [k for k in items if k.startswith("test_brian2_equals_maths[") and "cpp_standalone" in k]
    runtime = [k for k in items if k.startswith("test_brian2_equals_maths[") and "runtime" in k]
    assert standalone and len(standalone) == len(runtime), sorted(items)
    assert all("compiles" in items[k] and "standalone_compatible" in items[k] for k in standalone)
    assert not any("compiles" in items[k] for k in runtime)
    only = [k for k in items if k.startswith("test_standalone_respects_a_device_chosen_by_the_user")]
    assert only and all("compiles" in items[k] for k in only)  # standalone_only: its one case compiles
    assert "compiles" in items["test_every_target_equals_maths_and_the_others"]  # marked by hand
    assert not any("compiles" in items[k] for k in items if k.startswith("test_runtime_numpy_target_equals_maths"))


def test_the_fast_loop_leaves_out_compiling_and_long_tests(collected):
    every, fast = collected
    assert fast and set(fast) < set(every)
    assert set(every) - set(fast) == {k for k, marks in every.items() if "compiles" in marks}
    # test_spiking.py has long tests: the default run leaves them out, and so does -m "not compiles"
    assert not any("long" in marks for marks in every.values())
    assert not any("compiles" in marks or "long" in marks for marks in fast.values())


def test_a_test_that_compiles_without_the_marker_fails():
    import brian2  # noqa: F401  (the guard counts once Brian2 is loaded)
    from brian2.codegen.runtime.cython_rt.extension_manager import CythonExtensionManager
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    compile_guard.install_if_loaded()
    assert CPPStandaloneDevice.build._counted and CythonExtensionManager.create_extension._counted
    before = compile_guard.compilations()
    after = {**before, "brian2 standalone build": before["brian2 standalone build"] + 1}
    plain = SimpleNamespace(nodeid="tests/x.py::test_x", get_closest_marker=lambda name: None)
    with pytest.raises(AssertionError, match=r"tests/x.py::test_x generated or compiled code in its call "
                                             r"\(brian2 standalone build \(\+1\)\) but is not marked 'compiles'"):
        compile_guard.check(plain, before, "call", now=after)
    marked = SimpleNamespace(nodeid="tests/x.py::test_y", get_closest_marker=lambda name: name == "compiles" or None)
    compile_guard.check(marked, before, "call", now=after)  # marked: allowed
    compile_guard.check(plain, after, "call", now=after)  # nothing new compiled: allowed
