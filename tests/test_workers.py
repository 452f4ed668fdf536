"""The test harness under pytest-xdist (``tests/conftest.py``): how many workers ``-n auto``
starts, the tests that share a module-scoped fixture kept on one worker (the fixture made
once), and Brian2's preferences restored after each test, so that no test depends on the ones
that ran before it on its worker."""

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



def test_a_module_scoped_fixture_is_made_once_on_two_workers(tmp_path):
    """Two workers, ``--dist loadgroup``: four of eight tests of a file use a module-scoped
    fixture (as in ``tests/compare/test_compare.py``); it is made once, so those four ran on
    one worker. Without the ``xdist_group`` marks, or with them added after pytest-xdist's
    worker has read them (as at first), it is made on both workers."""
    (tmp_path / "conftest.py").write_text(textwrap.dedent(f"""
        import importlib.util, sys
        sys.path.insert(0, {str(TESTS)!r})
        spec = importlib.util.spec_from_file_location("tests_conftest", {str(TESTS / "conftest.py")!r})
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        globals().update({{k: v for k, v in vars(module).items() if not k.startswith("__")}})
    """))
    log = tmp_path / "setups.log"
    tests = "".join(f"def test_{i}({'shared' if i < 4 else ''}):\n    time.sleep(0.05)\n\n" for i in range(8))
    (tmp_path / "test_shared.py").write_text(
        "import os, time\nimport pytest\n\n@pytest.fixture(scope='module')\ndef shared():\n"
        f"    with open({str(log)!r}, 'a') as f:\n        f.write(str(os.getpid()) + '\\n')\n\n" + tests
    )
    code = pytest.main([str(tmp_path), "-q", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider",
                        "--rootdir", str(tmp_path)])
    assert code == 0
    assert len(log.read_text().splitlines()) == 1
