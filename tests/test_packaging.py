"""The wheel that ``pip`` builds from this checkout ships what users and type checkers need:
every module, ``py.typed`` (PEP 561), the bundled data set and the licence.

One wheel is built per test session (``pip wheel --no-deps --no-build-isolation``, with the
setuptools already installed, so no network is needed) from a copy of the sources in a
temporary folder, so that the build writes nothing into the checkout.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

pytestmark = pytest.mark.codegen_independent

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "brian_ep"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(PACKAGE, src / "brian_ep", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    (path,) = out.glob("brian_ep-*.whl")
    with zipfile.ZipFile(path) as zf:
        yield zf


def test_wheel_ships_py_typed(wheel):
    """PEP 561: without the marker, type checkers ignore the package's annotations."""
    assert (PACKAGE / "py.typed").is_file()
    assert "brian_ep/py.typed" in wheel.namelist()


def test_wheel_ships_the_bundled_digits(wheel):
    names = set(wheel.namelist())
    for data_file in sorted(p.relative_to(ROOT).as_posix() for p in (PACKAGE / "datasets").iterdir() if p.suffix in (".gz", ".md")):
        assert data_file in names
    # the bytes are the ones load_digits checks against its SHA-256
    assert wheel.read("brian_ep/datasets/digits.csv.gz") == (PACKAGE / "datasets" / "digits.csv.gz").read_bytes()


def test_wheel_ships_every_module(wheel):
    """Every module of the checkout is in the wheel (a subpackage that packaging missed
    would import in the checkout and fail after pip install)."""
    source = {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    assert source - set(wheel.namelist()) == set()


def test_wheel_metadata_licence_and_extras(wheel):
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    meta = Parser().parsestr(wheel.read(metadata).decode())
    assert meta["Name"] == "brian_ep"
    assert {"docs", "typecheck", "test"} <= set(meta.get_all("Provides-Extra"))
    assert not any("example.invalid" in url for url in meta.get_all("Project-URL") or [])
    licences = [n for n in wheel.namelist() if ".dist-info/" in n and Path(n).name.startswith("LICENSE")]
    assert licences, "the LICENSE file is not in the wheel's metadata"
    assert "MIT License" in wheel.read(licences[0]).decode()
