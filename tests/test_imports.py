"""Lazy imports: the package root, the maths and ``brian-ep --help`` load neither Brian2 nor
torch (``import brian_ep`` used to take 6 s, all of it Brian2 and matplotlib); the public
names still resolve, and the public function ``brian_ep.train`` is not replaced by its module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.codegen_independent

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("brian2", "torch", "matplotlib", "snntorch")


def _loaded_after(code: str) -> list:
    """The heavy modules a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.split()


@pytest.mark.parametrize("code", ["import brian_ep", "import brian_ep.maths", "import brian_ep.errors",
                                  "from brian_ep.cli import main\nimport contextlib, io\n"
                                  "with contextlib.redirect_stdout(io.StringIO()):\n"
                                  "    try:\n        main(['--help'])\n    except SystemExit:\n        pass"])
def test_light_imports_load_neither_brian2_nor_torch(code):
    assert _loaded_after(code) == []


def test_the_probe_sees_a_heavy_import():
    assert "brian2" in _loaded_after("import brian_ep\nbrian_ep.make_spec")


def test_public_names_resolve_and_train_stays_a_function():
    import brian_ep
    import brian_ep.train  # noqa: F401  (the submodule of the same name)

    assert callable(brian_ep.train) and brian_ep.train.__module__ == "brian_ep.train"
    assert set(brian_ep.__all__) == {"__version__", *brian_ep._PUBLIC} and set(brian_ep.__all__) <= set(dir(brian_ep))
    for name in brian_ep.__all__:
        assert getattr(brian_ep, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        brian_ep.nothing_here  # noqa: B018
