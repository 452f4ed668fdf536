"""The test harness under pytest-xdist (``tests/conftest.py``): how many workers ``-n auto``
starts, and Brian2's preferences restored after each test, so that no test depends on the
ones that ran before it on its worker."""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import SimpleNamespace

import conftest
import pytest

pytestmark = pytest.mark.codegen_independent

TESTS = Path(__file__).resolve().parent


def _config(*args, here=TESTS.parent):
    return SimpleNamespace(args=list(args), invocation_params=SimpleNamespace(dir=here))


def test_auto_starts_no_worker_for_named_files_and_one_per_core_for_folders(monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_AUTO_NUM_WORKERS", raising=False)
    monkeypatch.setattr(conftest.os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    auto = conftest.pytest_xdist_auto_num_workers
    assert auto(_config("tests/test_readme.py", "tests/brian/test_devices.py::test_user_device_and_directory_are_used_and_training_repeats")) == 0
    assert auto(_config("tests")) == conftest.MAX_WORKERS == 8
    assert auto(_config("tests/test_readme.py", "tests/brian")) == 8  # a folder among the files
    monkeypatch.setattr(conftest.os, "sched_getaffinity", lambda pid: {0, 1})
    assert auto(_config("tests")) == 2
    monkeypatch.setattr(conftest.os, "sched_getaffinity", lambda pid: {0})
    assert auto(_config("tests")) == 0  # one core: the main process, no worker
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", "3")
    assert auto(_config("tests/test_readme.py")) == 3


class _Outcomes:
    """A plugin that keeps each test's outcome of a session."""

    def __init__(self):
        self.outcomes = {}

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.outcome != "passed":
            self.outcomes[report.nodeid.split("::")[-1]] = report.outcome


def test_a_preference_set_by_one_test_is_restored_for_the_next(tmp_path):
    """Two tests in one process, in this order: the first sets Brian2's target and a list
    preference in place; the second sees the values from before the first."""
    from brian2 import prefs

    before = (prefs.codegen.target, list(prefs.codegen.cpp.extra_compile_args_gcc))
    (tmp_path / "test_two.py").write_text(textwrap.dedent(f"""
        from brian2 import prefs

        def test_1_sets():
            prefs.codegen.target = "cython" if prefs.codegen.target != "cython" else "numpy"
            prefs.codegen.cpp.extra_compile_args_gcc.append("-O0")

        def test_2_sees_the_values_of_before():
            assert (prefs.codegen.target, list(prefs.codegen.cpp.extra_compile_args_gcc)) == {before!r}
    """))
    plugin = _Outcomes()
    code = pytest.main([str(tmp_path / "test_two.py"), "-q", "-n", "0", "-p", "no:cacheprovider", "-p", "conftest",
                        "--rootdir", str(tmp_path)], plugins=[plugin])
    assert plugin.outcomes == {"test_1_sets": "passed", "test_2_sees_the_values_of_before": "passed"}, plugin.outcomes
    assert code == 0
    assert (prefs.codegen.target, list(prefs.codegen.cpp.extra_compile_args_gcc)) == before
