"""The dependency markers of ``pyproject.toml`` say what works where, and this environment
obeys them: one Brian2 and one numpy requirement for each Python, the ``cuda`` extra only where
brian2cuda's pinned Brian2 is allowed, and the installed brian2 and numpy inside the range
that the markers give this interpreter (so each ``.ci/run`` job tests what it claims)."""

from __future__ import annotations

import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

PROJECT = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
PYTHONS = [f"3.{minor}" for minor in range(10, 16)]  # requires-python >= 3.10, and some to come
BRIAN2CUDA_BRIAN2 = Version("2.10.1")  # brian2cuda 1.0b1 pins brian2==2.10.1, which needs Python >= 3.12


def _applying(requirements, name: str, python: str) -> list[Requirement]:
    """The requirements on ``name`` whose marker holds on Python ``python``."""
    env = {"python_version": python, "python_full_version": f"{python}.0", "extra": ""}
    found = [Requirement(text) for text in requirements]
    return [r for r in found if r.name == name and (r.marker is None or r.marker.evaluate(env))]


@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("name", ["brian2", "numpy"])
def test_one_requirement_per_python(name, python):
    assert len(_applying(PROJECT["dependencies"], name, python)) == 1


@pytest.mark.parametrize("python", PYTHONS)
def test_cuda_extra_only_where_its_brian2_is_allowed(python):
    """brian2cuda pins brian2 2.10.1 (Python >= 3.12): the ``cuda`` extra installs brian2cuda
    exactly where the core brian2 requirement admits 2.10.1 and brian2 2.10.1 installs, or pip
    cannot resolve ``brian_ep[cuda]`` (or leaves out a Python where it could)."""
    cuda = _applying(PROJECT["optional-dependencies"]["cuda"], "brian2cuda", python)
    (brian2,) = _applying(PROJECT["dependencies"], "brian2", python)
    installable = brian2.specifier.contains(BRIAN2CUDA_BRIAN2) and Version(python) >= Version("3.12")
    assert bool(cuda) == installable, python


def test_cuda_extra_exists_on_python_3_12():
    assert _applying(PROJECT["optional-dependencies"]["cuda"], "brian2cuda", "3.12")


@pytest.mark.parametrize("name", ["brian2", "numpy"])
def test_installed_versions_obey_the_markers(name):
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    (requirement,) = _applying(PROJECT["dependencies"], name, python)
    assert requirement.specifier.contains(version(name), prereleases=True), (
        f"{name} {version(name)} is installed on Python {python}, but pyproject.toml asks for {requirement}"
    )
